"""Bulk API 2.0 ingest: Lead upserts by external id as jobs, for backfills above a threshold.

simple-salesforce's `bulk2` builds a whole CSV with an unordered column set, aborts the job on
any client error and never refreshes auth in its calls; this module uses the gateway's own call
path instead (every call admitted by the budget guard, retried, classified, a new login once on
an expired session, read anew each attempt) and keeps to the job's lifecycle:

- a job per chunk of records (`open_upsert`, one `upload`, `close`); the CSV has a fixed column
  order (the external id first, then the fields in the order given), UTF-8, LF line endings,
  comma delimited, and an explicit `#N/A` for an intended null (an empty cell would leave the
  field unchanged);
- the caller records the job id before the upload (`open_upsert` returns it), so a resumed run
  polls the recorded job instead of uploading again;
- `wait` polls until the job is JobComplete, Failed or Aborted, and never aborts it: a timeout
  or a dropped connection is retried, and on the next run the recorded job is polled again. It
  polls at the pace the job shows (`next_poll`): a job of known size is polled again about when
  its rate so far says it ends, so a job costs two or three polls whatever its length;
- `results` reads the successful, failed and unprocessed rows with the job's own delimiter and
  line ending, one `BulkRow` per record by its external id (`sf__Error` kept for the failed,
  "not processed" for the unprocessed); a set the job's counters say is empty is not
  downloaded (a record missing from the results is written again by the caller).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import structlog

from connector.errors import ApiError, FatalApiError, LeadbridgeError
from connector.model import FieldError, LeadUpsert, WriteResult
from connector.salesforce.soql import soql

log = structlog.get_logger(__name__)

#: Seconds before the first poll of a job just closed, and the least between two polls (a poll
#: is one API call).
POLL_SECONDS = 2.0
#: The most time between two polls, in `poll_seconds` (30 s by default).
MAX_POLL_FACTOR = 15
#: The value that sets a field to null in a Bulk API 2.0 CSV.
NULL = "#N/A"
#: How long a run polls one job before it stops (the job id kept: the next run polls it again).
MAX_WAIT_SECONDS = 3600.0
#: The job states after which nothing changes.
FINAL = ("JobComplete", "Failed", "Aborted")
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}

Call = Callable[..., Any]


class JobPending(LeadbridgeError):
    """A Bulk API 2.0 job is still running after the wait: nothing is wrong, the next run
    polls it again (never aborted)."""

    def __init__(self, job_id: str, state: str, waited: float) -> None:
        super().__init__(
            f"Salesforce Bulk API 2.0 job {job_id} is still {state} after {waited:g} s: it "
            "goes on in Salesforce; run the same command again later to read its results"
        )
        self.job_id = job_id


def csv_cell(value: Any) -> str:
    """A value as a Bulk API 2.0 cell: `#N/A` for an intended null, booleans as true/false."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text != "" else NULL


def csv_body(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The upload: `columns` as the header, in that order, each row's values under them; a
    field a row does not carry is an empty cell (left as it is: a conflict rule kept it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[name]) if name in row else "" for name in columns])
    return out.getvalue().encode("utf-8")


def error_of(text: str) -> FieldError:
    """`sf__Error` (`CODE:message:Field1,Field2 --`) as a FieldError."""
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:
        message, fields = rest, ""
    names = tuple(f.strip() for f in fields.replace("--", "").split(",") if f.strip())
    return FieldError(code=code.strip() or "UNKNOWN", message=message.strip(), fields=names)


def parse_rows(text: str, delimiter: str, line_ending: str) -> Iterator[dict[str, str]]:
    """A results CSV read with the job's own delimiter and line ending."""
    body = text.replace(LINE_ENDINGS.get(line_ending, "\n"), "\n")
    yield from csv.DictReader(io.StringIO(body), delimiter=DELIMITERS.get(delimiter, ","))


class BulkIngest:
    """Bulk API 2.0 ingest jobs over a gateway's call path (`call(method, path, **kwargs)`
    answers a `requests.Response`, every failure classified as the gateway's are)."""

    def __init__(
        self,
        call: Call,
        *,
        poll_seconds: float = POLL_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._call = call
        self.poll_seconds = poll_seconds
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock

    def now(self) -> float:
        """This ingest's clock (`wait`'s `closed_at`)."""
        return self._clock()

    def open_upsert(self, sobject: str, external_id_field: str) -> str:
        """A new upsert job (Open); its id, to record before the upload."""
        soql("{:literal} {:literal}", sobject, external_id_field)  # names, never anything else
        body = {
            "object": sobject,
            "operation": "upsert",
            "externalIdFieldName": external_id_field,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        job = self._call("POST", "jobs/ingest", json=body).json()
        log.info("salesforce.bulk.opened", job=job["id"], object=sobject)
        return str(job["id"])

    def upload(self, job_id: str, data: bytes) -> None:
        """The job's one upload (201)."""
        self._call(
            "PUT",
            f"jobs/ingest/{_job(job_id)}/batches",
            data=data,
            headers={"Content-Type": "text/csv"},
        )

    def close(self, job_id: str) -> None:
        """UploadComplete: Salesforce processes the job."""
        self._call("PATCH", f"jobs/ingest/{_job(job_id)}", json={"state": "UploadComplete"})

    def info(self, job_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", f"jobs/ingest/{_job(job_id)}").json()
        return answer

    def wait(
        self, job_id: str, *, records: int | None = None, closed_at: float | None = None
    ) -> dict[str, Any]:
        """Poll until the job is final; never abort it. A failed poll raises after the
        gateway's retries, a job still running after `max_wait` raises `JobPending`: the job
        goes on, and the next run polls the recorded job again. A job this process closed at
        `closed_at` (its clock) with `records` records is first polled after `poll_seconds`,
        then at its pace (`next_poll`); any other is polled at once."""
        deadline = self._clock() + self.max_wait
        polls = 0
        if closed_at is not None:
            self._sleep(max(self.poll_seconds - (self._clock() - closed_at), 0.0))
        started = closed_at if closed_at is not None else self._clock()
        while True:
            info = self.info(job_id)
            polls += 1
            if info.get("state") in FINAL:
                log.info(
                    "salesforce.bulk.done",
                    job=job_id,
                    state=info.get("state"),
                    processed=info.get("numberRecordsProcessed"),
                    failed=info.get("numberRecordsFailed"),
                )
                return info
            now = self._clock()
            if now >= deadline:
                raise JobPending(job_id, str(info.get("state")), self.max_wait)
            processed = int(info.get("numberRecordsProcessed") or 0)
            pause = next_poll(
                now - started,
                processed,
                records if closed_at is not None else None,
                least=self.poll_seconds,
                most=self.poll_seconds * MAX_POLL_FACTOR,
                polls=polls,
            )
            self._sleep(min(pause, max(deadline - now, 0.0)))

    def results(self, job_id: str, key: str, info: Mapping[str, Any]) -> dict[str, WriteResult]:
        """Every record of a final job by its `key` column (the external id)."""
        if info.get("state") == "Aborted":
            msg = f"Salesforce Bulk API 2.0 job {job_id} was aborted: its records are not written"
            raise FatalApiError(msg, code="JOB_ABORTED")
        delimiter = str(info.get("columnDelimiter") or "COMMA")
        ending = str(info.get("lineEnding") or "LF")
        found: dict[str, WriteResult] = {}
        for kind in _sets(info):
            answer = self._call("GET", f"jobs/ingest/{_job(job_id)}/{kind}/")
            answer.encoding = "utf-8"
            for row in parse_rows(answer.text, delimiter, ending):
                record = row.get(key) or ""
                if kind == "successfulResults":
                    found[record] = WriteResult(
                        record,
                        success=True,
                        salesforce_id=row.get("sf__Id") or None,
                        created=(row.get("sf__Created") or "").lower() == "true",
                    )
                elif kind == "failedResults":
                    error = error_of(row.get("sf__Error") or "UNKNOWN:failed")
                    found[record] = WriteResult(record, success=False, errors=(error,))
                else:
                    error = FieldError("NOT_PROCESSED", "the job ended before this record")
                    found.setdefault(record, WriteResult(record, success=False, errors=(error,)))
        return found


def next_poll(
    waited: float,
    processed: int,
    records: int | None,
    *,
    least: float = POLL_SECONDS,
    most: float = POLL_SECONDS * MAX_POLL_FACTOR,
    polls: int = 1,
) -> float:
    """Seconds until the next poll of a job in progress, `waited` seconds after it was closed,
    `processed` of its `records` done: when its rate so far says it ends (a tenth more), or,
    without a rate, twice as long as last time; always between `least` and `most`."""
    if records and processed > 0 and waited > 0:
        left = max(records - processed, 0) * waited / processed
        return min(max(left * 1.1, least), most)
    return min(least * 2 ** max(polls - 1, 0), most)


def _sets(info: Mapping[str, Any]) -> list[str]:
    """The result sets of a final job worth downloading: its counters say the others are
    empty (a complete job left nothing unprocessed)."""
    processed = _count(info, "numberRecordsProcessed")
    failed = _count(info, "numberRecordsFailed")
    sets = []
    if processed is None or failed is None or processed > failed:
        sets.append("successfulResults")
    if failed is None or failed > 0:
        sets.append("failedResults")
    if info.get("state") != "JobComplete":
        sets.append("unprocessedrecords")
    return sets


def _count(info: Mapping[str, Any], name: str) -> int | None:
    value = info.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _job(job_id: str) -> str:
    if not (job_id.isascii() and job_id.isalnum()):
        msg = f"not a Bulk API job id: {job_id!r}"
        raise ValueError(msg)
    return job_id


class BulkLeads:
    """Lead upserts by external id as Bulk API 2.0 jobs: what a backfill's bulk path calls
    (`start` records nothing; the caller records the id before `send`)."""

    def __init__(self, ingest: BulkIngest, external_id_field: str) -> None:
        self.ingest = ingest
        self.ext = external_id_field
        # Jobs this process closed: (records, when), so `finish` need not ask their state and
        # polls them at their pace.
        self._closed: dict[str, tuple[int, float]] = {}

    def start(self) -> str:
        return self.ingest.open_upsert("Lead", self.ext)

    def send(self, job_id: str, upserts: Sequence[LeadUpsert]) -> None:
        """Upload the job's records (a fixed column order: the external id, then every field
        any record carries, sorted) and close it."""
        names = sorted({k for u in upserts for k in u.fields if k not in ("attributes", self.ext)})
        rows = [{**u.fields, self.ext: u.hubspot_id} for u in upserts]
        self.ingest.upload(job_id, csv_body([self.ext, *names], rows))
        self.ingest.close(job_id)
        self._closed[job_id] = (len(rows), self.ingest.now())

    def finish(self, job_id: str) -> dict[str, WriteResult]:
        """Wait for the job (never aborting it) and read every record's outcome, by HubSpot
        contact id. A job a stopped run left Open (its upload may or may not have landed) is
        closed first; one that cannot be closed, or was aborted, answers nothing: its records
        go up again by external id (an upsert twice is the same upsert)."""
        closed = self._closed.pop(job_id, None)
        if closed is not None:
            info = self.ingest.wait(job_id, records=closed[0], closed_at=closed[1])
        else:
            if self.ingest.info(job_id).get("state") == "Open":
                try:
                    self.ingest.close(job_id)
                except ApiError as exc:
                    log.warning("salesforce.bulk.unclosed", job=job_id, code=exc.code)
                    return {}
            info = self.ingest.wait(job_id)
        if info.get("state") == "Aborted":
            return {}
        return self.ingest.results(job_id, self.ext, info)
