"""Single-record resources of the REST API: the resource directory, limits, describe, and sObject
rows (create, read, update, delete, and the same by external id, with upsert)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from connector.sandbox.ids import is_valid_id, prefix_object
from connector.sandbox.salesforce import rest_describe
from connector.sandbox.salesforce.org import RequestError, SfError
from connector.sandbox.salesforce.rest_call import (
    Call,
    Reply,
    method_not_allowed_reply,
    not_found,
)

if TYPE_CHECKING:
    from connector.sandbox.salesforce.schema import SObject

#: Limits reported besides DailyApiRequests, keyed as in the documented example (Max values of an
#: Enterprise org). Remaining is Max less what `Org.usage` records: Bulk API 2.0 jobs consume
#: DailyBulkApiBatches, DailyBulkV2QueryJobs and DailyBulkV2QueryFileStorageMB; nothing
#: consumes the others.
_OTHER_LIMITS: dict[str, int] = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250_000,
    "DailyBulkApiBatches": 15_000,
    "DailyBulkV2QueryFileStorageMB": 976_562,
    "DailyBulkV2QueryJobs": 10_000,
    "DailyDurableGenericStreamingApiEvents": 10_000,
    "DailyDurableStreamingApiEvents": 10_000,
    "DailyGenericStreamingApiEvents": 10_000,
    "DailyStandardVolumePlatformEvents": 10_000,
    "DailyStreamingApiEvents": 10_000,
    "DailyWorkflowEmails": 390,
    "DataStorageMB": 1024,
    "DurableStreamingApiConcurrentClients": 20,
    "FileStorageMB": 10_240,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999_999_999,
    "HourlyLongTermIdMapping": 100_000,
    "HourlyODataCallout": 10_000,
    "HourlyPublishedPlatformEvents": 50_000,
    "HourlyPublishedStandardVolumePlatformEvents": 1000,
    "HourlyShortTermIdMapping": 100_000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 10,
    "MonthlyPlatformEventsUsageEntitlement": 0,
    "Package2VersionCreates": 6,
    "Package2VersionCreatesWithoutValidation": 500,
    "PermissionSets": 1500,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 20,
}


# -- directory, limits, describe --------------------------------------------------------------
def resources(call: Call) -> Reply:
    """`GET /services/data/vXX.X/`: the resource directory."""
    return Reply(200, rest_describe.resources(call.version))


def limits(call: Call) -> Reply:
    """`GET /limits`: DailyApiRequests reports the org's budget and what has been used; the
    Bulk API limits what Bulk jobs used (`Org.usage`)."""
    org = call.org
    body: dict[str, Any] = {
        "DailyApiRequests": {
            "Max": org.daily_api_limit,
            "Remaining": max(org.daily_api_limit - org.api_used, 0),
        }
    }
    for name, most in _OTHER_LIMITS.items():
        body[name] = {"Max": most, "Remaining": max(most - org.usage.get(name, 0), 0)}
    body["PermissionSets"]["CreateCustom"] = {"Max": 1000, "Remaining": 1000}
    return Reply(200, dict(sorted(body.items())))


def describe_global(call: Call) -> Reply:
    """`GET /sobjects`: describeGlobal."""
    return Reply(200, rest_describe.describe_global(call.org, call.version))


def sobject_info(call: Call, sobject: str) -> Reply:
    """`GET /sobjects/{Type}`: basic information (the sandbox records no recent items)."""
    obj = call.org.sobject(sobject)
    return Reply(
        200, {"objectDescribe": rest_describe.global_entry(obj, call.version), "recentItems": []}
    )


def describe_sobject(call: Call, sobject: str) -> Reply:
    """`GET /sobjects/{Type}/describe`."""
    obj = call.org.sobject(sobject)
    return Reply(200, rest_describe.describe(call.org, obj, call.version, call.sb.config.base_url))


# -- shared by record reads -------------------------------------------------------------------
def field_names(obj: SObject, fields: str | None) -> list[str]:
    """The canonical names asked for with `fields=A,B` (every field when absent)."""
    if not fields:
        return list(obj.fields)
    names = []
    for raw in fields.split(","):
        name = raw.strip()
        if not name:
            continue
        f = obj.field(name)
        if f is None:
            raise RequestError(
                400,
                SfError(
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'. If you are attempting to "
                    "use a custom field, be sure to append the '__c' after the custom field "
                    "name. Please reference your WSDL or the describe call for the appropriate "
                    "names.",
                ),
            )
        names.append(f.name)
    return names


def record_body(
    call: Call, obj: SObject, record: dict[str, Any], names: Iterable[str]
) -> dict[str, Any]:
    """A record as the REST API shows it: `attributes` first, then the fields asked for."""
    body: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": call.record_url(obj.name, record["Id"])}
    }
    for name in names:
        body[name] = record.get(name)
    return body


def _existing(call: Call, obj: SObject, record_id: str) -> dict[str, Any]:
    """The record of type `obj` with that id, or 404 NOT_FOUND."""
    record = call.org.get(obj.name, record_id) if is_valid_id(record_id) else None
    if record is None:
        raise not_found()
    return record


# -- sObject rows -----------------------------------------------------------------------------
def create_record(call: Call, sobject: str) -> Reply:
    """`POST /sobjects/{Type}`: 201 `{"id", "success", "errors"}`; Location names the record."""
    obj = call.org.sobject(sobject)
    values = call.object_body()
    if any(key.lower() == "id" for key in values):
        raise RequestError(
            400,
            SfError("INVALID_FIELD", "The Id field should not be specified in the sobject data."),
        )
    record = call.org.create(obj.name, values, call.user_id, auto_assign=call.auto_assign())
    return Reply(
        201,
        {"id": record["Id"], "success": True, "errors": []},
        {"Location": call.record_url(obj.name, record["Id"])},
    )


def get_record(call: Call, sobject: str, record_id: str) -> Reply:
    """`GET /sobjects/{Type}/{id}[?fields=A,B]`."""
    obj = call.org.sobject(sobject)
    record = _existing(call, obj, record_id)
    return Reply(200, record_body(call, obj, record, field_names(obj, call.args.get("fields"))))


def update_record(call: Call, sobject: str, record_id: str) -> Reply:
    """`PATCH /sobjects/{Type}/{id}`: 204 with no body."""
    obj = call.org.sobject(sobject)
    values = call.object_body()
    if is_valid_id(record_id) and prefix_object(record_id) == obj.name:
        _existing(call, obj, record_id)
    call.org.update(obj.name, record_id, values, call.user_id)
    return Reply(204)


def delete_record(call: Call, sobject: str, record_id: str) -> Reply:
    """`DELETE /sobjects/{Type}/{id}`: 204."""
    obj = call.org.sobject(sobject)
    record = _existing(call, obj, record_id)
    call.org.delete(obj.name, record["Id"])
    return Reply(204)


def create_by_id_field(call: Call, sobject: str, record_id: str) -> Reply:
    """`POST /sobjects/{Type}/Id`: create, with Id as the external id and null as its value."""
    if record_id.lower() != "id":
        return method_not_allowed_reply("POST", ("DELETE", "GET", "HEAD", "PATCH"))
    obj = call.org.sobject(sobject)
    record = call.org.create(
        obj.name, call.object_body(), call.user_id, auto_assign=call.auto_assign()
    )
    return _upsert_reply(call, obj, record, created=True)


# -- by external id ---------------------------------------------------------------------------
def _one_match(call: Call, obj: SObject, ext_field: str, value: str) -> str | Reply | None:
    """The id matching an external id value, None for none, or the 300 reply for several."""
    field_name = call.org.external_id_field(obj, ext_field)
    if field_name == "Id":
        record = call.org.get(obj.name, value) if is_valid_id(value) else None
        hits = [record["Id"]] if record else []
    else:
        hits = call.org.find_by_external_id(obj.name, field_name, value)
    if len(hits) > 1:
        return Reply(300, [call.record_url(obj.name, hit) for hit in hits])
    return hits[0] if hits else None


def get_by_external_id(call: Call, sobject: str, ext_field: str, ext_value: str) -> Reply:
    """`GET /sobjects/{Type}/{Field}/{value}`."""
    obj = call.org.sobject(sobject)
    hit = _one_match(call, obj, ext_field, ext_value)
    if isinstance(hit, Reply):
        return hit
    if hit is None:
        raise not_found()
    record = call.org.records[obj.name][hit]
    return Reply(200, record_body(call, obj, record, field_names(obj, call.args.get("fields"))))


def upsert_record(call: Call, sobject: str, ext_field: str, ext_value: str) -> Reply:
    """`PATCH /sobjects/{Type}/{Field}/{value}`: 201 created, 200 updated (204 before v46)."""
    obj = call.org.sobject(sobject)
    values = call.object_body()
    hit = _one_match(call, obj, ext_field, ext_value)
    if isinstance(hit, Reply):
        return hit
    record, created = call.org.upsert(
        obj.name, ext_field, ext_value, values, call.user_id, auto_assign=call.auto_assign()
    )
    return _upsert_reply(call, obj, record, created=created)


def _upsert_reply(call: Call, obj: SObject, record: dict[str, Any], *, created: bool) -> Reply:
    headers = {"Location": call.record_url(obj.name, record["Id"])}
    body: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
    if float(call.version) < 46:
        return Reply(201, body, headers) if created else Reply(204)
    body["created"] = created
    return Reply(201 if created else 200, body, headers)


def delete_by_external_id(call: Call, sobject: str, ext_field: str, ext_value: str) -> Reply:
    """`DELETE /sobjects/{Type}/{Field}/{value}`: 204."""
    obj = call.org.sobject(sobject)
    hit = _one_match(call, obj, ext_field, ext_value)
    if isinstance(hit, Reply):
        return hit
    if hit is None:
        raise not_found()
    call.org.delete(obj.name, hit)
    return Reply(204)
