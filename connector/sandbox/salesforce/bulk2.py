"""Bulk API 2.0 over HTTP: ingest jobs under `/services/data/vXX.X/jobs/ingest`, query jobs under
`/jobs/query`, and the sandbox's own `/_sandbox/bulk2/...` endpoints (faults, a job's history).

Resources and payloads follow the Bulk API 2.0 and Bulk API Developer Guide
(https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/):

- Create a Job (`POST /jobs/ingest`): `object`, `operation`, `externalIdFieldName`,
  `contentType` (CSV only), `columnDelimiter`, `lineEnding`, `assignmentRuleId`; answers the job
  with `id` (750…), `state` Open and a relative `contentUrl`
  (`services/data/vXX.X/jobs/ingest/{id}/batches`). A multipart request (parts `job` and
  `content`) creates the job with its data, UploadComplete ("Bulk Insert with a Multipart
  Request").
- Upload Job Data (`PUT …/batches`, text/csv): 201 with no body; at most 150 MB once base64
  encoded (about 100 MB raw); only while the job is Open; one upload per job.
- Close or Abort a Job (`PATCH {"state": "UploadComplete" | "Aborted"}`), Delete a Job
  (`DELETE`, 204; not while Open or InProgress), Get Information About an Ingest Job (`GET`,
  with numberRecordsProcessed, numberRecordsFailed, retries, totalProcessingTime,
  apiActiveProcessingTime, apexProcessingTime, errorMessage when Failed), Get Information About
  All Ingest Jobs (`GET /jobs/ingest`: `done`, `records`, `nextRecordsUrl`, 1,000 a page).
- Get Job Successful / Failed / Unprocessed Record Results: CSV with `sf__Id`, `sf__Created` /
  `sf__Id`, `sf__Error` before the uploaded columns; unprocessed rows as uploaded.
- Query jobs (API 47.0+): `POST /jobs/query` {`operation` query|queryAll, `query`,
  `columnDelimiter`, `lineEnding`} starts at UploadComplete; Get Results for a Query Job
  (`GET …/results?locator=&maxRecords=`) answers CSV with `Sforce-Locator` (the string "null"
  on the last set) and `Sforce-NumberOfRecords`; results of a job not complete answer the
  documented 412 `JOB_NOT_COMPLETE`.

Every call checks the session and counts against the daily API budget (`begin_call`, as REST
calls do) and carries `Sforce-Limit-Info`. Unknown jobs answer the REST API's 404 NOT_FOUND.

Error codes the documentation does not show, chosen to read like Salesforce's and marked as the
sandbox's own: 409 `INVALIDJOBSTATE` for an action the job's state forbids (409 Conflict is the
status the guide gives for "a conflict with the current state of the resource"), 400
`INVALIDJOB` for a job request that does not make sense, 400 `INVALIDENTITY` for an object the
org does not have, 415 `INVALIDCONTENTTYPE` for an upload that is not text/csv, 400
`CLIENT_INPUT_ERROR` for an upload over the size bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response, parse_json, read_json
from connector.sandbox.salesforce import bulk2_csv, bulk2_jobs, soql
from connector.sandbox.salesforce.bulk2_jobs import (
    INGEST_OPERATIONS,
    QUERY_OPERATIONS,
    TERMINAL,
    IngestJob,
    Job,
    JobFault,
    QueryJob,
    bulk_of,
)
from connector.sandbox.salesforce.common import begin_call, version_ok, with_limit_info
from connector.sandbox.salesforce.oauth import invalid_session
from connector.sandbox.salesforce.org import RequestError, now_stamp
from connector.sandbox.salesforce.rest_call import DATA, NOT_FOUND_MESSAGE
from connector.sandbox.salesforce.schema import WRITABLE

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox

#: The upload bound: "CSV data that does not in total exceed 150 MB of base64 encoded content"
#: (Upload Job Data). Tests lower it.
MAX_UPLOAD_BASE64_BYTES = 150 * 1024 * 1024
#: Jobs per page of Get All Jobs ("returns up to 1000 result rows per request").
JOBS_PAGE = 1000
#: Records per query result set when the request gives no `maxRecords` (the service's default
#: is unstated; simple-salesforce asks for 50,000).
DEFAULT_MAX_RECORDS = 50_000
INGEST_MIN_VERSION = 41.0
QUERY_MIN_VERSION = 47.0
RESULT_KINDS = {
    "successfulresults": "successfulResults",
    "failedresults": "failedResults",
    "unprocessedrecords": "unprocessedrecords",
}
_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class BulkError(Exception):
    """A refused Bulk request: status and `[{"errorCode", "message"}]`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Inner = Callable[..., Response]


def _api(inner: Inner, min_version: float, *, results: bool = False) -> Handler:
    """The HTTP handler of a Bulk resource: session check and API count first (after a result
    download's session-expiry fault, which answers before anything is counted), the version
    check, the documented error shapes, `Sforce-Limit-Info` on the answer."""

    def handler(sb: Sandbox, request: Request, version: str, **url_args: str) -> Response:
        if results:
            expired = _expire_on_download(sb, url_args["job_id"])
            if expired is not None:
                return expired
        user = begin_call(sb, request)
        if isinstance(user, Response):
            return user
        if not version_ok(version) or float(version) < min_version:
            return _error(sb, BulkError(404, "NOT_FOUND", NOT_FOUND_MESSAGE))
        try:
            response = inner(sb, request, user, version, **url_args)
        except BulkError as exc:
            return _error(sb, exc)
        return with_limit_info(sb, response)

    handler.__name__ = inner.__name__
    handler.__doc__ = inner.__doc__
    return handler


def _error(sb: Sandbox, exc: BulkError) -> Response:
    return with_limit_info(
        sb, json_response([{"errorCode": exc.code, "message": exc.message}], exc.status)
    )


def _not_found() -> BulkError:
    return BulkError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = read_json(request)
    except ValueError as exc:
        raise BulkError(
            400, "JSON_PARSER_ERROR", f"Invalid JSON in the request body: {exc}"
        ) from None
    if not isinstance(body, dict):
        raise BulkError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _dialect(body: dict[str, Any]) -> tuple[str, str]:
    delimiter = body.get("columnDelimiter") or "COMMA"
    line_ending = body.get("lineEnding") or "LF"
    if delimiter not in bulk2_csv.DELIMITERS:
        allowed = ", ".join(bulk2_csv.DELIMITERS)
        raise BulkError(400, "INVALIDJOB", f"columnDelimiter must be one of {allowed}")
    if line_ending not in bulk2_csv.LINE_ENDINGS:
        raise BulkError(400, "INVALIDJOB", "lineEnding must be LF or CRLF")
    return delimiter, line_ending


def _job(sb: Sandbox, job_id: str, kind: type[Job]) -> Any:
    job = bulk_of(sb.org).jobs.get(job_id)
    if not isinstance(job, kind) or job.deleted:
        raise _not_found()
    return job


# -- job info ---------------------------------------------------------------------------------
def _head(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": job.created_by,
        "createdDate": job.created_date,
        "systemModstamp": job.modstamp,
        "state": job.state,
    }


def content_url(job: Job) -> str:
    return f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches"


def ingest_summary(job: IngestJob, *, job_type: bool = False) -> dict[str, Any]:
    """The job as Create a Job and Close or Abort a Job answer it (with `jobType`, as Get All
    Jobs lists it); `contentUrl` only while the job is Open, the only time it is valid."""
    body = _head(job)
    if job.external_id_field:
        body["externalIdFieldName"] = job.external_id_field
    if job.assignment_rule_id:
        body["assignmentRuleId"] = job.assignment_rule_id
    body["concurrencyMode"] = "Parallel"
    body["contentType"] = "CSV"
    body["apiVersion"] = float(job.api_version)
    if job_type:
        body["jobType"] = "V2Ingest"
    if job.state == "Open":
        body["contentUrl"] = content_url(job)
    body["lineEnding"] = job.line_ending
    body["columnDelimiter"] = job.column_delimiter
    return body


def ingest_info(job: IngestJob) -> dict[str, Any]:
    """Get Information About an Ingest Job: the summary and the processing counters."""
    body = ingest_summary(job, job_type=True)
    body.update(
        numberRecordsProcessed=job.processed,
        numberRecordsFailed=job.failed,
        retries=job.retries,
        totalProcessingTime=job.total_ms,
        apiActiveProcessingTime=job.active_ms,
        apexProcessingTime=0,
    )
    if job.error_message:
        body["errorMessage"] = job.error_message
    return body


def query_summary(job: QueryJob, *, job_type: bool = False) -> dict[str, Any]:
    """A query job as Create a Query Job answers it (with `jobType` in lists)."""
    body = _head(job)
    body.update(concurrencyMode="Parallel", contentType="CSV", apiVersion=float(job.api_version))
    if job_type:
        body["jobType"] = "V2Query"
    body.update(lineEnding=job.line_ending, columnDelimiter=job.column_delimiter)
    return body


def query_info(job: QueryJob) -> dict[str, Any]:
    """Get Information About a Query Job (the documented example's keys)."""
    body = query_summary(job, job_type=True)
    body.update(
        numberRecordsProcessed=job.processed, retries=job.retries, totalProcessingTime=job.total_ms
    )
    if job.error_message:
        body["errorMessage"] = job.error_message
    return body


# -- ingest -----------------------------------------------------------------------------------
def _new_ingest(sb: Sandbox, user: str, version: str, body: dict[str, Any]) -> IngestJob:
    operation = body.get("operation")
    if operation not in INGEST_OPERATIONS:
        allowed = ", ".join(INGEST_OPERATIONS)
        raise BulkError(400, "INVALIDJOB", f"operation must be one of {allowed}")
    name = body.get("object")
    if not isinstance(name, str) or not name:
        raise BulkError(400, "INVALIDJOB", "object is required")
    if body.get("contentType", "CSV") != "CSV":
        raise BulkError(400, "INVALIDJOB", "contentType must be CSV, the only one supported")
    try:
        obj = sb.org.sobject(name)
    except RequestError:
        obj = None
    if obj is None or obj.name not in WRITABLE:
        raise BulkError(400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")
    external = None
    if operation == "upsert":
        given = body.get("externalIdFieldName")
        if not isinstance(given, str) or not given:
            raise BulkError(400, "INVALIDJOB", "externalIdFieldName is required for upsert")
        try:
            external = sb.org.external_id_field(obj, given)
        except RequestError as exc:
            raise BulkError(400, "INVALIDJOB", exc.error.message) from None
    rule = body.get("assignmentRuleId")
    delimiter, line_ending = _dialect(body)
    bulk = bulk_of(sb.org)
    stamp = now_stamp()
    job = IngestJob(
        id=bulk.new_id(),
        org=sb.org,
        operation=operation,
        object=obj.name,
        created_by=user,
        api_version=version,
        column_delimiter=delimiter,
        line_ending=line_ending,
        state="Open",
        created_date=stamp,
        modstamp=stamp,
        external_id_field=external,
        assignment_rule_id=rule if isinstance(rule, str) and rule else None,
    )
    bulk.jobs[job.id] = job
    return job


def _close(sb: Sandbox, job: IngestJob) -> None:
    job.set_state("UploadComplete")
    bulk_of(sb.org).bind_faults(job)
    bulk2_jobs.start(job, sb.lock)


def _store_upload(job: IngestJob, data: bytes) -> None:
    if math.ceil(len(data) / 3) * 4 > MAX_UPLOAD_BASE64_BYTES:
        raise BulkError(
            400,
            "CLIENT_INPUT_ERROR",
            f"Failed to read request. Exceeded max size limit of {MAX_UPLOAD_BASE64_BYTES} "
            "bytes (base64 encoded)",
        )
    job.data = data


def create_ingest(sb: Sandbox, request: Request, user: str, version: str) -> Response:
    """`POST /jobs/ingest`: a new job, Open (or, multipart with its data, UploadComplete)."""
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("job")
        content = request.files.get("content")
        if raw is None or content is None:
            raise BulkError(
                400, "INVALIDJOB", "a multipart request needs the parts job and content"
            )
        try:
            body = parse_json(raw.encode("utf-8"))
        except ValueError as exc:
            raise BulkError(
                400, "JSON_PARSER_ERROR", f"Invalid JSON in the job part: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise BulkError(400, "JSON_PARSER_ERROR", "The job part must be a JSON object")
        job = _new_ingest(sb, user, version, body)
        _store_upload(job, content.read())
        _close(sb, job)
        return json_response(ingest_summary(job))
    job = _new_ingest(sb, user, version, _body(request))
    return json_response(ingest_summary(job))


def upload(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`PUT /jobs/ingest/{id}/batches`: the job's CSV, 201 with no body."""
    job: IngestJob = _job(sb, job_id, IngestJob)
    if request.mimetype != "text/csv":
        raise BulkError(
            415,
            "INVALIDCONTENTTYPE",
            f"Content-Type header specified in HTTP request is not supported: {request.mimetype}",
        )
    if job.state != "Open":
        raise BulkError(
            409,
            "INVALIDJOBSTATE",
            f"Job {job.id} is {job.state}: data can be uploaded only while it is Open",
        )
    if job.data is not None:
        raise BulkError(
            409, "INVALIDJOBSTATE", f"Job {job.id} already has its data: one upload per job"
        )
    _store_upload(job, request.get_data())
    return Response(status=201)


def _patch_state(request: Request) -> str:
    state = _body(request).get("state")
    if state not in ("UploadComplete", "Aborted"):
        raise BulkError(400, "INVALIDJOBSTATE", "state must be UploadComplete or Aborted")
    return state


def _abort(job: Job) -> None:
    if job.state in TERMINAL:
        raise BulkError(
            409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: it cannot be aborted"
        )
    job.set_state("Aborted")
    job.released.set()


def patch_ingest(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`PATCH /jobs/ingest/{id}` {"state": "UploadComplete" | "Aborted"}: close or abort."""
    job: IngestJob = _job(sb, job_id, IngestJob)
    state = _patch_state(request)
    if state == "Aborted":
        _abort(job)
    elif job.state != "Open":
        raise BulkError(
            409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: only an Open job can be closed"
        )
    else:
        _close(sb, job)
    return json_response(ingest_summary(job))


def _delete(sb: Sandbox, job: Job) -> Response:
    if job.state in ("Open", "InProgress") or (
        job.kind == "query" and job.state == "UploadComplete"
    ):
        raise BulkError(
            409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: it cannot be deleted now"
        )
    job.deleted = True
    del bulk_of(sb.org).jobs[job.id]
    return Response(status=204)


def delete_ingest(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`DELETE /jobs/ingest/{id}`: 204; a job Open or InProgress cannot be deleted."""
    return _delete(sb, _job(sb, job_id, IngestJob))


def get_ingest(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`GET /jobs/ingest/{id}`: the job and its counters."""
    return json_response(ingest_info(_job(sb, job_id, IngestJob)))


def _list(sb: Sandbox, request: Request, version: str, kind: type[Job], job_type: str) -> Response:
    path = "ingest" if kind is IngestJob else "query"
    jobs = [j for j in bulk_of(sb.org).jobs.values() if isinstance(j, kind)]
    wanted = request.args.get("jobType")
    if (wanted and wanted != job_type) or request.args.get("isPkChunkingEnabled") == "true":
        jobs = []
    start = 0
    given = request.args.get("queryLocator")
    if given:
        offset = bulk2_jobs.offset_of(given)
        if offset is None:
            raise BulkError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = offset
    page = jobs[start : start + JOBS_PAGE]
    done = start + JOBS_PAGE >= len(jobs)
    records = [
        ingest_summary(j, job_type=True)
        if isinstance(j, IngestJob)
        else query_summary(j, job_type=True)
        if isinstance(j, QueryJob)
        else {}
        for j in page
    ]
    next_url = (
        None
        if done
        else f"{DATA}/v{version}/jobs/{path}?queryLocator={bulk2_jobs.locator(start + JOBS_PAGE)}"
    )
    return json_response({"done": done, "records": records, "nextRecordsUrl": next_url})


def list_ingest(sb: Sandbox, request: Request, user: str, version: str) -> Response:
    """`GET /jobs/ingest`: every ingest job of the org, 1,000 a page."""
    return _list(sb, request, version, IngestJob, "V2Ingest")


def _not_complete(job: Job) -> BulkError:
    status = {
        "Open": "OPEN",
        "UploadComplete": "UPLOAD_COMPLETE",
        "InProgress": "IN_PROGRESS",
        "Aborted": "ABORTED",
        "Failed": "FAILED",
    }.get(job.state, job.state.upper())
    return BulkError(
        412,
        "JOB_NOT_COMPLETE",
        "can only download query results of successfully completed bulk job with status: "
        f"JOB_COMPLETE. Current status: {status}",
    )


def _csv(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        text.encode("utf-8"), status=200, headers=headers, content_type="text/csv; charset=UTF-8"
    )


def ingest_results(
    sb: Sandbox, request: Request, user: str, version: str, job_id: str, kind: str
) -> Response:
    """`GET /jobs/ingest/{id}/successfulResults/` (and `failedResults/`,
    `unprocessedrecords/`): CSV in the job's delimiter and line ending, once the job is done."""
    job: IngestJob = _job(sb, job_id, IngestJob)
    which = RESULT_KINDS.get(kind.lower())
    if which is None:
        raise _not_found()
    if job.state not in TERMINAL:
        raise _not_complete(job)
    job.downloads += 1
    table = job.table
    if table is None:
        # never parsed (no data, or data that could not be read): unprocessed is the upload
        raw = job.data.decode("utf-8", "replace") if job.data else ""
        return _csv(raw if which == "unprocessedrecords" else "")
    pairs = list(zip(job.outcomes, table.rows, strict=False))
    if which == "successfulResults":
        header = ["sf__Id", "sf__Created", *table.header]
        rows = [
            [o.sf_id, "true" if o.created else "false", *row] for o, row in pairs if o.error is None
        ]
    elif which == "failedResults":
        header = ["sf__Id", "sf__Error", *table.header]
        rows = [[o.sf_id, o.error or "", *row] for o, row in pairs if o.error is not None]
    else:
        header = table.header
        rows = table.rows[len(job.outcomes) :]
    return _csv(bulk2_csv.write(header, rows, job.column_delimiter, job.line_ending))


# -- query ------------------------------------------------------------------------------------
def create_query(sb: Sandbox, request: Request, user: str, version: str) -> Response:
    """`POST /jobs/query`: a query job, UploadComplete; a query the org refuses answers 400."""
    body = _body(request)
    operation = body.get("operation")
    if operation not in QUERY_OPERATIONS:
        raise BulkError(400, "INVALIDJOB", "operation must be query or queryAll")
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise BulkError(400, "INVALIDJOB", "query is required")
    delimiter, line_ending = _dialect(body)
    bulk = bulk_of(sb.org)
    stamp = now_stamp()
    job = QueryJob(
        id=bulk.new_id(),
        org=sb.org,
        operation=operation,
        object="",
        created_by=user,
        api_version=version,
        column_delimiter=delimiter,
        line_ending=line_ending,
        state="UploadComplete",
        created_date=stamp,
        modstamp=stamp,
        query=text,
    )
    try:
        bulk2_jobs.check_query(sb.org, job)
    except soql.SoqlError as exc:
        raise BulkError(
            400, "INVALIDJOB", f"Failed to process query: {exc.code}: {exc.message}"
        ) from None
    except (ValueError, RequestError) as exc:
        raise BulkError(400, "INVALIDJOB", f"Failed to process query: {exc}") from None
    bulk.jobs[job.id] = job
    sb.org.usage["DailyBulkV2QueryJobs"] = sb.org.usage.get("DailyBulkV2QueryJobs", 0) + 1
    bulk.bind_faults(job)
    bulk2_jobs.start(job, sb.lock)
    return json_response(query_summary(job))


def get_query(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`GET /jobs/query/{id}`."""
    return json_response(query_info(_job(sb, job_id, QueryJob)))


def patch_query(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`PATCH /jobs/query/{id}` {"state": "Aborted"}."""
    job: QueryJob = _job(sb, job_id, QueryJob)
    if _patch_state(request) != "Aborted":
        raise BulkError(400, "INVALIDJOBSTATE", "a query job can only be Aborted")
    _abort(job)
    return json_response(query_summary(job))


def delete_query(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`DELETE /jobs/query/{id}`: 204 once the job is JobComplete, Aborted or Failed."""
    return _delete(sb, _job(sb, job_id, QueryJob))


def list_query(sb: Sandbox, request: Request, user: str, version: str) -> Response:
    """`GET /jobs/query`: every query job of the org."""
    return _list(sb, request, version, QueryJob, "V2Query")


def query_results(sb: Sandbox, request: Request, user: str, version: str, job_id: str) -> Response:
    """`GET /jobs/query/{id}/results?locator=&maxRecords=`: one result set as CSV."""
    job: QueryJob = _job(sb, job_id, QueryJob)
    if job.state != "JobComplete":
        raise _not_complete(job)
    start = 0
    given = request.args.get("locator")
    if given and given != "null":
        offset = bulk2_jobs.offset_of(given)
        if offset is None or offset > len(job.rows):
            raise BulkError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = offset
    raw = request.args.get("maxRecords")
    try:
        size = DEFAULT_MAX_RECORDS if raw is None else int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise BulkError(400, "INVALID_PARAMETER_VALUE", "maxRecords must be a positive integer")
    rows = job.rows[start : start + size]
    end = start + len(rows)
    job.downloads += 1
    headers = {
        "Sforce-Locator": bulk2_jobs.locator(end) if end < len(job.rows) else "null",
        "Sforce-NumberOfRecords": str(len(rows)),
    }
    return _csv(bulk2_csv.write(job.columns, rows, job.column_delimiter, job.line_ending), headers)


def _expire_on_download(sb: Sandbox, job_id: str) -> Response | None:
    """The session-expiry fault: once its job's `after` downloads are answered, the next
    finds every session expired (the fault fires once)."""
    job = bulk_of(sb.org).jobs.get(job_id)
    fault = job.fault("expire_session") if job is not None else None
    if job is None or fault is None or job.downloads < fault.after:
        return None
    job.faults.remove(fault)
    sb.org.sessions.clear()
    return invalid_session()


# -- the sandbox's own endpoints --------------------------------------------------------------
def add_fault(sb: Sandbox, request: Request) -> Response:
    """`POST /_sandbox/bulk2/faults` {"kind": "stuck" | "fail" | "lock_rows" |
    "expire_session", "job_id", "times", "after", "rows", "every"}: misbehave (see
    `bulk2_jobs.JobFault`)."""
    try:
        spec = read_json(request)
        if not isinstance(spec, dict):
            msg = "the body must be a JSON object"
            raise TypeError(msg)
        fault = JobFault(**spec)
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"bad fault: {exc}"}, 400)
    bulk = bulk_of(sb.org)
    bulk.add_fault(fault)
    return json_response({"faults": len(bulk.faults)}, 201)


def clear_faults(sb: Sandbox, request: Request) -> Response:
    """`DELETE /_sandbox/bulk2/faults`: forget waiting faults; stuck jobs go on."""
    bulk_of(sb.org).clear_faults()
    return json_response(None, 204)


def job_history(sb: Sandbox, request: Request, job_id: str) -> Response:
    """`GET /_sandbox/bulk2/jobs/{id}`: a job's states in order, counters and faults."""
    job = bulk_of(sb.org).jobs.get(job_id)
    if job is None:
        return json_response({"error": f"no job {job_id}"}, 404)
    return json_response(
        {
            "id": job.id,
            "kind": job.kind,
            "states": job.history,
            "processed": job.processed,
            "failed": job.failed,
            "faults": [asdict(f) for f in job.faults],
        }
    )


def _not_allowed(allowed: list[str]) -> Handler:
    def handler(sb: Sandbox, request: Request, version: str, **url_args: str) -> Response:
        user = begin_call(sb, request)
        if isinstance(user, Response):
            return user
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}"
        return _error(sb, BulkError(405, "METHOD_NOT_ALLOWED", message))

    return handler


def routes() -> list[tuple[str, list[str], Handler]]:
    base = f"{DATA}/v<version>/jobs"
    resources: list[tuple[str, dict[str, Handler]]] = [
        (
            f"{base}/ingest",
            {
                "POST": _api(create_ingest, INGEST_MIN_VERSION),
                "GET": _api(list_ingest, INGEST_MIN_VERSION),
            },
        ),
        (
            f"{base}/ingest/<job_id>",
            {
                "GET": _api(get_ingest, INGEST_MIN_VERSION),
                "PATCH": _api(patch_ingest, INGEST_MIN_VERSION),
                "DELETE": _api(delete_ingest, INGEST_MIN_VERSION),
            },
        ),
        (f"{base}/ingest/<job_id>/batches", {"PUT": _api(upload, INGEST_MIN_VERSION)}),
        (
            f"{base}/ingest/<job_id>/<kind>",
            {"GET": _api(ingest_results, INGEST_MIN_VERSION, results=True)},
        ),
        (
            f"{base}/query",
            {
                "POST": _api(create_query, QUERY_MIN_VERSION),
                "GET": _api(list_query, QUERY_MIN_VERSION),
            },
        ),
        (
            f"{base}/query/<job_id>",
            {
                "GET": _api(get_query, QUERY_MIN_VERSION),
                "PATCH": _api(patch_query, QUERY_MIN_VERSION),
                "DELETE": _api(delete_query, QUERY_MIN_VERSION),
            },
        ),
        (
            f"{base}/query/<job_id>/results",
            {"GET": _api(query_results, QUERY_MIN_VERSION, results=True)},
        ),
    ]
    out: list[tuple[str, list[str], Handler]] = []
    for number, (path, handlers) in enumerate(resources):
        for method, handler in handlers.items():
            out.append((path, [method], handler))
        others = [m for m in _ALL_METHODS if m not in handlers]
        refuse = _not_allowed(sorted(handlers))
        refuse.__name__ = f"not_allowed_{number}"
        out.append((path, others, refuse))
    out += [
        ("/_sandbox/bulk2/faults", ["POST"], add_fault),
        ("/_sandbox/bulk2/faults", ["DELETE"], clear_faults),
        ("/_sandbox/bulk2/jobs/<job_id>", ["GET"], job_history),
    ]
    return out
