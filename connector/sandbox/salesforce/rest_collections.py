"""sObject Collections (`/composite/sobjects`): create, update, upsert by external id, delete and
retrieve up to 200 records in one call.

A well-formed request answers 200 with one result per record, in request order, even when some
records fail; only a malformed request (too many records, an unknown field, a value that does not
deserialize) answers 400, with nothing written.

With a fault profile's `row_lock`, a record may find its row locked by another transaction: it
fails alone with `UNABLE_TO_LOCK_ROW` ("unable to obtain exclusive access to this record", with
" or 1 records: <id>" when the record exists, as recorded in developerforce/Force.com-JavaScript-
REST-Toolkit#68 and roblesterjr04/EloquentSalesForce#59), the others are written.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from connector.sandbox.ids import is_valid_id
from connector.sandbox.salesforce import record_writes
from connector.sandbox.salesforce.org import RecordError, RequestError, SfError
from connector.sandbox.salesforce.rest_call import Call, Reply
from connector.sandbox.salesforce.rest_records import field_names, record_body

if TYPE_CHECKING:
    from connector.sandbox.salesforce.schema import SObject

LIMIT = 200
ROLLED_BACK = SfError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)


def _too_many() -> RequestError:
    return RequestError(
        400,
        SfError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {LIMIT} records into this call",
        ),
    )


def _locked(call: Call, record_id: str | None) -> None:
    """Refuse this record with UNABLE_TO_LOCK_ROW when the fault profile says its row is held
    (checked just before the write, after the request's own checks)."""
    if call.sb.injector.row_locked():
        message = "unable to obtain exclusive access to this record"
        if record_id:
            message += f" or 1 records: {record_id}"
        raise RecordError(SfError("UNABLE_TO_LOCK_ROW", message))


def _records(call: Call) -> tuple[list[Any], bool]:
    """The body's `records` and `allOrNone`."""
    body = call.object_body()
    records = body.get("records")
    if not isinstance(records, list):
        raise RequestError(
            400, SfError("JSON_PARSER_ERROR", "records: expected an array of sObjects")
        )
    if len(records) > LIMIT:
        raise _too_many()
    return records, body.get("allOrNone") is True or call.all_or_none


def _record_type(call: Call, record: Any) -> SObject:
    """The sObject a record names in `attributes.type`; a per-record error when it does not."""
    attributes = record.get("attributes") if isinstance(record, dict) else None
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(kind, str) or not kind:
        raise RecordError(SfError("INVALID_TYPE", "Must send a concrete entity type."))
    try:
        return call.org.sobject(kind)
    except RequestError:
        raise RecordError(
            SfError("INVALID_TYPE", f"sObject type '{kind}' is not supported.")
        ) from None


def _save_all(
    call: Call,
    items: list[Any],
    all_or_none: bool,
    save: Callable[[Any], dict[str, Any]],
    *,
    upsert: bool = False,
) -> Reply:
    """Run `save` per item, in order; Save/UpsertResults, HTTP 200 even with failures.

    A request-level error answers 400 with nothing written; with allOrNone any failure rolls
    back the others, which then report ALL_OR_NONE_OPERATION_ROLLED_BACK. Failed results carry
    no `id`, as in the documented examples.
    """
    results: list[dict[str, Any]] = []
    with call.org.transaction() as tx:
        try:
            for item in items:
                try:
                    results.append(save(item))
                except RecordError as exc:
                    errors = [e.collection() for e in exc.errors]
                    results.append({"success": False, "errors": errors})
        except RequestError:
            tx.rollback()
            raise
        if all_or_none and not all(r["success"] for r in results):
            tx.rollback()
            rolled_back = [ROLLED_BACK.collection()]
            results = [
                {"success": False, "errors": rolled_back} if r["success"] else r for r in results
            ]
    if upsert:
        for result in results:
            result.setdefault("created", False)
    return Reply(200, results, partial_failure=not all(r["success"] for r in results))


def create(call: Call) -> Reply:
    """`POST /composite/sobjects`: create up to 200 records, of any types."""
    records, all_or_none = _records(call)
    auto_assign = call.auto_assign()

    def save(record: Any) -> dict[str, Any]:
        obj = _record_type(call, record)
        saved = record_writes.insert(
            call.org,
            obj,
            record,
            call.user_id,
            auto_assign=auto_assign,
            before=partial(_locked, call),
        )
        return {"id": saved["Id"], "success": True, "errors": []}

    return _save_all(call, records, all_or_none, save)


def update(call: Call) -> Reply:
    """`PATCH /composite/sobjects`: update up to 200 records, each naming its `id`."""
    records, all_or_none = _records(call)

    def save(record: Any) -> dict[str, Any]:
        obj = _record_type(call, record)
        saved = record_writes.update(
            call.org, obj, record, call.user_id, before=partial(_locked, call)
        )
        return {"id": saved["Id"], "success": True, "errors": []}

    return _save_all(call, records, all_or_none, save)


def _external_value(record: Any, field_name: str) -> str | None:
    if not isinstance(record, dict):
        return None
    lowered = field_name.lower()
    value = next((v for k, v in record.items() if k.lower() == lowered), None)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def upsert(call: Call, sobject: str, ext_field: str) -> Reply:
    """`PATCH /composite/sobjects/{Type}/{ExtField}`: upsert up to 200 records by external id.

    Every record must carry the external id; a value given twice in one request fails both.
    """
    obj = call.org.sobject(sobject)
    field_name = call.org.external_id_field(obj, ext_field)
    records, all_or_none = _records(call)
    auto_assign = call.auto_assign()
    values = [_external_value(record, field_name) for record in records]
    twice = record_writes.duplicated(values)
    positions = iter(range(len(records)))

    def save(record: Any) -> dict[str, Any]:
        value = values[next(positions)]
        kind = _record_type(call, record)
        if kind.name != obj.name:
            raise RecordError(
                SfError(
                    "INVALID_TYPE",
                    f"The sObject type {kind.name} doesn't match the sObject type {obj.name} "
                    "in the request URI.",
                )
            )
        if value is not None and value.lower() in twice:
            raise RecordError(
                SfError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {value}",
                    [field_name],
                )
            )
        saved, created = record_writes.upsert(
            call.org,
            obj,
            field_name,
            value,
            record,
            call.user_id,
            auto_assign=auto_assign,
            before=partial(_locked, call),
        )
        return {"id": saved["Id"], "success": True, "errors": [], "created": created}

    return _save_all(call, records, all_or_none, save, upsert=True)


def delete(call: Call) -> Reply:
    """`DELETE /composite/sobjects?ids=a,b&allOrNone=false`: delete up to 200 records."""
    ids = [i.strip() for i in call.args.get("ids", "").split(",") if i.strip()]
    if len(ids) > LIMIT:
        raise _too_many()
    all_or_none = call.args.get("allOrNone", "false").lower() == "true" or call.all_or_none

    def save(record_id: str) -> dict[str, Any]:
        record = record_writes.delete(call.org, record_id, before=partial(_locked, call))
        return {"id": record["Id"], "success": True, "errors": []}

    return _save_all(call, ids, all_or_none, save)


def retrieve(call: Call, sobject: str) -> Reply:
    """`GET /composite/sobjects/{Type}?ids=&fields=` (or POST with both in the body): records
    in the order asked, null for an id that names no record of that type."""
    obj = call.org.sobject(sobject)
    if call.method == "POST":
        body = call.object_body()
        ids, fields = body.get("ids") or [], ",".join(body.get("fields") or [])
    else:
        ids = [i for i in call.args.get("ids", "").split(",") if i.strip()]
        fields = call.args.get("fields", "")
    if not fields:
        raise RequestError(
            400, SfError("MISSING_ARGUMENT", "fields: a list of fields is required", ["fields"])
        )
    if len(ids) > 2000:
        raise RequestError(
            400,
            SfError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 2000 records into this call",
            ),
        )
    names = field_names(obj, fields)
    out: list[dict[str, Any] | None] = []
    for raw in ids:
        record_id = str(raw).strip()
        record = call.org.get(obj.name, record_id) if is_valid_id(record_id) else None
        out.append(record_body(call, obj, record, names) if record else None)
    return Reply(200, out)
