"""Bulk API 2.0 jobs in the sandbox: their state, how they are processed, and faults on demand.

Lifecycle (Bulk API 2.0 and Bulk API Developer Guide, "Get Information About an Ingest Job",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_info.htm):
an ingest job is Open until its data is uploaded and it is closed (UploadComplete), then
InProgress, then JobComplete or Failed; Aborted from Open, UploadComplete or InProgress. A query
job starts at UploadComplete. Jobs are processed in a background thread of their own that takes
the sandbox lock for one chunk of rows at a time, so API calls interleave with the processing and
a client polling the job sees InProgress and the counters grow.

Records go through `record_writes`, the code sObject Collections uses: the same validation,
upsert matching and per-record errors; Bulk only changes the error's shape into an `sf__Error`
cell (`CODE:message:fields --`, as the Bulk API's result files carry it, e.g. the "Batch
results" example `REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`).
Ingest data is processed in internal batches of 10,000 records ("How Requests Are Processed"),
each counted against `DailyBulkApiBatches` in `/limits`; an external id given twice within one
internal batch fails both rows. Assignment rules run only when the job names an
`assignmentRuleId` (Bulk API runs none otherwise; the sandbox has one rule, the seed's
`leadAssignmentOwner`, which any id names).

Faults (`add_fault`): a job stuck InProgress until the faults are cleared or the job aborted; a
job that fails after N records, the rest left unprocessed; `UNABLE_TO_LOCK_ROW` for chosen rows;
sessions that expire on a result download.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.ids import to18
from connector.sandbox.salesforce import record_writes, soql
from connector.sandbox.salesforce.bulk2_csv import NULL, CsvError, Table, parse, write
from connector.sandbox.salesforce.org import (
    Org,
    RecordError,
    RequestError,
    SfError,
    coerce,
    now_stamp,
)
from connector.sandbox.salesforce.rest_describe import id_lookup
from connector.sandbox.salesforce.schema import Field, SObject

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
#: Salesforce processes ingest data in internal batches of this many records.
INTERNAL_BATCH = 10_000
#: Rows written per hold of the sandbox lock: API calls wait at most this long for a job.
CHUNK = 500
FAULT_KINDS = ("stuck", "fail", "lock_rows", "expire_session")

Lock = AbstractContextManager[Any]
_XSD = {
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "int": "int",
    "double": "double",
    "currency": "double",
    "percent": "double",
}


@dataclass
class JobFault:
    """A misbehaviour for the next `times` jobs it applies to (or for job `job_id`).

    `stuck`: the job stays InProgress after `after` records until the faults are cleared or it
    is aborted. `fail`: the job fails after `after` records, the rest unprocessed. `lock_rows`:
    the data rows numbered in `rows` (1-based), or every `every`-th row, fail
    UNABLE_TO_LOCK_ROW. `expire_session`: once `after` result downloads of the job have been
    answered, the next one finds every session expired (401 INVALID_SESSION_ID).
    """

    kind: str
    job_id: str | None = None
    times: int = 1
    after: int = 0
    rows: list[int] = field(default_factory=list)
    every: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            msg = f"kind must be one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        if self.kind == "lock_rows" and not self.rows and self.every < 1:
            msg = "lock_rows needs rows (1-based row numbers) or every (N)"
            raise ValueError(msg)
        if self.times < 1 or self.after < 0:
            msg = "times must be at least 1 and after at least 0"
            raise ValueError(msg)

    def locks(self, number: int) -> bool:
        return number in self.rows or (self.every > 0 and number % self.every == 0)


@dataclass
class Outcome:
    """What became of one data row: its record id (maybe empty) and created flag, or an error."""

    sf_id: str
    created: bool = False
    error: str | None = None


@dataclass
class Job:
    """What ingest and query jobs share."""

    id: str
    org: Org
    operation: str
    object: str
    created_by: str
    api_version: str
    column_delimiter: str
    line_ending: str
    state: str
    created_date: str
    modstamp: str
    error_message: str | None = None
    processed: int = 0
    failed: int = 0
    retries: int = 0
    total_ms: int = 0
    active_ms: int = 0
    faults: list[JobFault] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    downloads: int = 0
    deleted: bool = False
    #: Every state the job has been in, in order (the sandbox's admin API shows it).
    history: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.history.append(self.state)

    @property
    def kind(self) -> str:
        return "ingest"

    def set_state(self, state: str) -> None:
        self.state = state
        self.history.append(state)
        self.modstamp = now_stamp()

    def fail(self, message: str) -> None:
        self.error_message = message
        self.set_state("Failed")

    def fault(self, kind: str) -> JobFault | None:
        return next((f for f in self.faults if f.kind == kind), None)


@dataclass
class IngestJob(Job):
    """An ingest job: its settings, the uploaded data, and one outcome per processed row."""

    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    data: bytes | None = None
    table: Table | None = None
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class QueryJob(Job):
    """A query job: its SOQL and, once complete, the result rows as CSV cells."""

    query: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "query"


class Bulk:
    """The Bulk API 2.0 jobs of one org, and the faults waiting for jobs."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.faults: list[JobFault] = []
        self.serial = 0
        self.query_bytes = 0

    def new_id(self) -> str:
        self.serial += 1
        return to18(f"750Kb{self.serial:010d}")

    def add_fault(self, fault: JobFault) -> None:
        """Arm a fault: on its job at once when it names one that exists, else on the next
        jobs that reach processing."""
        job = self.jobs.get(fault.job_id) if fault.job_id else None
        if job is not None:
            attach(job, fault)
        else:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        """Forget waiting faults and let every stuck job go on."""
        self.faults.clear()
        for job in self.jobs.values():
            job.faults = [f for f in job.faults if f.kind != "stuck"]
            job.released.set()

    def bind_faults(self, job: Job) -> None:
        """Give a job the waiting faults meant for it (its id, or the next jobs of its kind)."""
        for fault in list(self.faults):
            if fault.kind == "lock_rows" and job.kind != "ingest":
                continue
            if fault.job_id not in (None, job.id):
                continue
            attach(job, fault)
            fault.times -= 1
            if fault.times <= 0 or fault.job_id is not None:
                self.faults.remove(fault)


def attach(job: Job, fault: JobFault) -> None:
    job.faults.append(fault)
    if fault.kind == "stuck":
        job.released.clear()


#: Bulk state lives with its org: a sandbox reset makes a new org and so forgets every job.
_STATES: weakref.WeakKeyDictionary[Org, Bulk] = weakref.WeakKeyDictionary()


def bulk_of(org: Org) -> Bulk:
    state = _STATES.get(org)
    if state is None:
        state = _STATES[org] = Bulk()
    return state


def start(job: Job, lock: Lock) -> None:
    """Process a job (UploadComplete) in a thread of its own."""
    run: Callable[[Any, Lock], None] = _run_ingest if isinstance(job, IngestJob) else _run_query
    threading.Thread(target=run, args=(job, lock), name=f"bulk2-{job.id}", daemon=True).start()


# -- ingest -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Column:
    """One header column: a field of the job's object, or a relationship by an indexed field
    (`Owner.Username`, `Account.Ext_Id__c`, polymorphic `Group:Owner.Name`)."""

    number: int  # 1-based, as Salesforce's messages count columns
    field: Field | None = None
    reference: Field | None = None
    targets: tuple[str, ...] = ()
    index_field: str = ""


def _not_found(name: str) -> CsvError:
    return CsvError(f"InvalidBatch : Field name not found : {name}")


def _relationship_column(org: Org, obj: SObject, number: int, name: str) -> _Column:
    """`RelationshipName.IndexedFieldName` ("Relationship Fields in a Header Row (2.0)"): one
    level, child to parent, the parent identified by an indexed field (idLookup)."""
    path, _, index_name = name.partition(".")
    kind, _, relationship = path.rpartition(":")
    ref = obj.relationship(relationship)
    if ref is None or not index_name or "." in index_name:
        raise _not_found(name)
    targets = ref.reference_to
    if kind:
        targets = tuple(t for t in targets if t.lower() == kind.lower())
    usable = tuple(
        t
        for t in targets
        if t in org.schema
        and (f := org.schema[t].field(index_name)) is not None
        and id_lookup(org.schema[t], f)
    )
    if not usable:
        raise _not_found(name)
    return _Column(number, reference=ref, targets=usable, index_field=index_name)


def _columns(job: IngestJob, obj: SObject, header: list[str]) -> list[_Column]:
    if job.operation in ("delete", "hardDelete") and [h.lower() for h in header] != ["id"]:
        msg = f"InvalidBatch : The '{job.operation}' batch must contain only 'Id'"
        raise CsvError(msg)
    columns = []
    for number, name in enumerate(header, start=1):
        f = obj.field(name)
        if f is not None:
            columns.append(_Column(number, field=f))
        elif "." in name:
            columns.append(_relationship_column(job.org, obj, number, name))
        else:
            raise _not_found(name)
    return columns


def _cell_value(column: _Column, cell: str) -> object:
    """A cell as the field's stored value, through the REST path's own conversion; a value that
    does not convert fails the record as the Bulk API reports it."""
    assert column.field is not None
    f = column.field
    text = cell[:-1] if f.type == "date" and cell.endswith("Z") else cell  # "1940-06-07Z"
    try:
        return coerce(f, text)
    except RequestError:
        message = (
            f"Failed to deserialize field at col {column.number}. Due to, '{cell}' is not a "
            f"valid value for the type xsd:{_XSD.get(f.type, 'string')}"
        )
        raise RecordError(SfError("INVALID_FIELD", message, [f.name])) from None


def _values(org: Org, columns: list[_Column], row: list[str]) -> dict[str, Any]:
    """A row as field values: an empty cell leaves its field out, `#N/A` sets it to null, a
    relationship cell becomes the parent's id."""
    values: dict[str, Any] = {}
    for column, cell in zip(columns, row, strict=True):
        if cell == "":
            continue
        if column.field is not None:
            values[column.field.name] = None if cell == NULL else _cell_value(column, cell)
        elif column.reference is not None:
            parent = (
                None
                if cell == NULL
                else org.resolve_parent(column.targets, column.index_field, cell)
            )
            values[column.reference.name] = parent
    return values


def error_cell(error: SfError) -> str:
    """An `sf__Error` value: `CODE:message:fields --`, or `CODE:message:--` when the error names
    no field (as result files show `ENTITY_IS_DELETED:entity is deleted:--`)."""
    if not error.fields:
        return f"{error.code}:{error.message}:--"
    return f"{error.code}:{error.message}:{','.join(error.fields)} --"


class _Writer:
    """Applies an ingest job's rows to the org, one `Outcome` per row."""

    def __init__(self, job: IngestJob, obj: SObject, columns: list[_Column]) -> None:
        self.job = job
        self.org = job.org
        self.obj = obj
        self.columns = columns
        self.auto_assign = job.assignment_rule_id is not None
        key = (job.external_id_field if job.operation == "upsert" else "Id") or "Id"
        #: The column holding the row's key: its external id (upsert) or its Id (update, delete).
        self.key_index = next(
            (
                i
                for i, c in enumerate(columns)
                if c.field is not None and c.field.name.lower() == key.lower()
            ),
            None,
        )
        self.lock_fault = job.fault("lock_rows")

    def key(self, row: list[str]) -> str | None:
        """The row's external id (upsert) or Id (update, delete) as given; None when empty."""
        if self.key_index is None:
            return None
        cell = row[self.key_index]
        return None if cell in ("", NULL) else cell

    def apply(self, number: int, row: list[str], twice: set[str]) -> Outcome:
        """Write one row; its outcome names the record's id when one is known, failed or not."""
        op = self.job.operation
        value = self.key(row)
        known = ""
        try:
            if op == "upsert" and value is not None:
                known = self._match(value)
            elif op != "insert":
                known = value or ""
            values = _values(self.org, self.columns, row)
            if op == "upsert" and value is not None and value.lower() in twice:
                raise RecordError(
                    SfError(
                        "DUPLICATE_VALUE",
                        f"Duplicate external id specified: {value}",
                        [self.job.external_id_field or ""],
                    )
                )
            if self.lock_fault is not None and self.lock_fault.locks(number):
                target = f": {known}" if known else ""
                raise RecordError(
                    SfError(
                        "UNABLE_TO_LOCK_ROW",
                        f"unable to obtain exclusive access to this record or 1 records{target}",
                    )
                )
            return self._write(op, values, value, known)
        except RecordError as exc:
            return Outcome(known, error=error_cell(exc.errors[0]))
        except RequestError as exc:
            return Outcome(known, error=error_cell(exc.error))

    def _match(self, value: str) -> str:
        field_name = self.org.external_id_field(self.obj, self.job.external_id_field or "Id")
        hits = self.org.find_by_field(self.obj.name, field_name, value)
        return hits[0] if hits else ""

    def _write(self, op: str, values: dict[str, Any], value: str | None, known: str) -> Outcome:
        org, obj, user = self.org, self.obj, self.job.created_by
        if op == "insert":
            saved = record_writes.insert(org, obj, values, user, auto_assign=self.auto_assign)
            return Outcome(saved["Id"], created=True)
        if op == "update":
            saved = record_writes.update(org, obj, values, user)
            return Outcome(saved["Id"])
        if op == "upsert":
            field_name = org.external_id_field(obj, self.job.external_id_field or "Id")
            saved, created = record_writes.upsert(
                org, obj, field_name, value, values, user, auto_assign=self.auto_assign
            )
            return Outcome(saved["Id"], created=created)
        saved = record_writes.delete(org, known, hard=op == "hardDelete")
        return Outcome(saved["Id"])


def _prepare(job: IngestJob) -> _Writer:
    if job.data is None:
        msg = "InvalidBatch : No data was uploaded for this job"
        raise CsvError(msg)
    job.table = parse(job.data, job.column_delimiter, job.line_ending)
    obj = job.org.sobject(job.object)
    return _Writer(job, obj, _columns(job, obj, job.table.header))


def _stuck(job: Job) -> bool:
    """A stuck fault holds the job here: it has processed its `after` records."""
    fault = job.fault("stuck")
    return fault is not None and not job.released.is_set() and job.processed >= fault.after


def _failing(job: Job) -> bool:
    fault = job.fault("fail")
    return fault is not None and job.processed >= fault.after


def _fail_midway(job: Job) -> None:
    job.fail(
        "InternalServerError : An unexpected error occurred while processing the job "
        f"(sandbox fault after {job.processed} records)"
    )


def _run_ingest(job: IngestJob, lock: Lock) -> None:
    started = time.perf_counter()
    with lock:
        if job.deleted or job.state != "UploadComplete":
            return
        job.set_state("InProgress")
        try:
            writer = _prepare(job)
        except CsvError as exc:
            job.fail(str(exc))
            return
    assert job.table is not None
    rows = job.table.rows
    org = job.org
    index = batch_end = 0
    twice: set[str] = set()
    while index < len(rows):
        if index >= batch_end:
            batch_end = min(index + INTERNAL_BATCH, len(rows))
            if job.operation == "upsert":
                twice = record_writes.duplicated(writer.key(r) for r in rows[index:batch_end])
            with lock:
                org.usage["DailyBulkApiBatches"] = org.usage.get("DailyBulkApiBatches", 0) + 1
                fault = writer.lock_fault
                if fault is not None and any(
                    fault.locks(n) for n in range(index + 1, batch_end + 1)
                ):
                    job.retries += 1  # the platform retries a batch that met lock contention
        if _stuck(job):
            job.released.wait()
        tick = time.perf_counter()
        with lock:
            if job.state != "InProgress":
                return  # aborted
            stop = min(index + CHUNK, batch_end)
            while index < stop and not _stuck(job):
                if _failing(job):
                    _fail_midway(job)
                    return
                outcome = writer.apply(index + 1, rows[index], twice)
                job.outcomes.append(outcome)
                job.processed += 1
                job.failed += outcome.error is not None
                index += 1
            job.active_ms += round((time.perf_counter() - tick) * 1000)
            job.total_ms = round((time.perf_counter() - started) * 1000)
            job.modstamp = now_stamp()
    if _stuck(job):
        job.released.wait()
    with lock:
        job.total_ms = round((time.perf_counter() - started) * 1000)
        if job.state != "InProgress":
            return
        if _failing(job):
            _fail_midway(job)
        else:
            job.set_state("JobComplete")


# -- query ------------------------------------------------------------------------------------
_SELECT = re.compile(r"^\s*select\s+(.*?)\s+from\s", re.IGNORECASE | re.DOTALL)


def check_query(org: Org, job: QueryJob) -> None:
    """Run the job's SOQL once (the engine REST uses), keeping its records; raises
    `soql.SoqlError`, or `ValueError` for what Bulk API 2.0 query does not support."""
    text = job.query
    if re.match(r"^\s*select\s+count\s*\(", text, re.IGNORECASE):
        msg = "COUNT() is not supported by Bulk API 2.0 query"
        raise ValueError(msg)
    if re.search(r"\soffset\s+\d+\s*$", text, re.IGNORECASE):
        msg = "OFFSET is not supported by Bulk API 2.0 query"
        raise ValueError(msg)
    result = soql.run(org, text, job.api_version, include_deleted=job.operation == "queryAll")
    job.records = result.records
    match = _SELECT.match(text)
    job.columns = [c.strip() for c in match.group(1).split(",")] if match else []
    sobject = re.search(r"\sfrom\s+([A-Za-z0-9_]+)", text, re.IGNORECASE)
    if sobject:
        job.object = org.sobject(sobject.group(1)).name


def _cell(record: dict[str, Any], path: str) -> str:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _run_query(job: QueryJob, lock: Lock) -> None:
    started = time.perf_counter()
    with lock:
        if job.deleted or job.state != "UploadComplete":
            return
        job.set_state("InProgress")
    if _stuck(job):
        job.released.wait()
    with lock:
        if job.state != "InProgress":
            return
        if _failing(job):
            _fail_midway(job)
            return
        job.rows = [[_cell(r, c) for c in job.columns] for r in job.records]
        job.records = []
        job.processed = len(job.rows)
        org = job.org
        size = len(write(job.columns, job.rows, job.column_delimiter, job.line_ending).encode())
        bulk_of(org).query_bytes += size
        used = math.ceil(bulk_of(org).query_bytes / 1_048_576)
        org.usage["DailyBulkV2QueryFileStorageMB"] = used
        job.total_ms = round((time.perf_counter() - started) * 1000)
        job.active_ms = job.total_ms
        job.set_state("JobComplete")


def locator(offset: int) -> str:
    """The `Sforce-Locator` of the result set starting at `offset`: an opaque string (the
    documented example is `MTAwMDA`, which is base64 for 10000)."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def offset_of(value: str) -> int | None:
    """The offset a locator stands for; None when it is not one the sandbox gave."""
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
        offset = int(text)
    except ValueError:
        return None
    return offset if offset >= 0 and locator(offset) == value else None
