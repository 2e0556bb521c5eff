"""The REST API's data replication resources: which records of a type were deleted, or created
or changed, in a time window.

REST API Developer Guide, "sObject Get Deleted" and "sObject Get Updated" (resources_getdeleted,
resources_getupdated; examples in dome_get_deleted / dome_get_updated), and the SOAP guide's
getDeleted() / getUpdated() rules they refer to:

- `GET /sobjects/{Type}/deleted/?start=&end=` answers `{"deletedRecords": [{"id",
  "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}`; `.../updated/` answers
  `{"ids": [...], "latestDateCovered"}`. Dates are UTC in the REST form
  (`2013-05-07T22:07:19.000+0000`).
- `start` must precede `end` by more than one minute, else `INVALID_REPLICATION_DATE`; the
  seconds of both are ignored (the sandbox truncates both to the minute).
- Updated records are found by `SystemModstamp`; deletions come from the delete log, which
  emptying the Recycle Bin does not clear (`Org.delete_log`).
- Results go back no more than 30 days for updates and 15 days for deletions; a `start` more
  than 30 days ago answers `INVALID_REPLICATION_DATE` (what replication clients record Salesforce
  doing, e.g. getomnico/omni#450). `earliestDateAvailable` is reported as 15 days before now:
  the sandbox never purges its delete log sooner.
- More than 600,000 ids answer `EXCEEDED_ID_LIMIT` ("choose start and end dates that are closer
  together").

`latestDateCovered` is `end` (or now, if `end` is later), to the minute: the sandbox has no
write still in progress, so everything before it is covered. The window is `start <= date <
latestDateCovered`, so a client that starts its next window at `latestDateCovered` sees each
change once. Missing or unreadable dates answer 400 `INVALID_REPLICATION_DATE` too (the guide
does not show this error's body; the code is the one the rules name).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from connector.sandbox.salesforce.org import (
    RequestError,
    SfError,
    format_datetime,
    parse_datetime,
)
from connector.sandbox.salesforce.rest_call import Call, Reply

#: "There is a limit of 600,000 IDs returned from this resource."
MAX_IDS = 600_000
#: getUpdated(): "Results are returned for no more than 30 days previous to the day the call is
#: executed."
UPDATED_WINDOW = timedelta(days=30)
#: getDeleted(): "Results are returned for no more than 15 days previous to the day the call is
#: executed."
DELETED_WINDOW = timedelta(days=15)


def get_deleted(call: Call, sobject: str) -> Reply:
    """`GET /sobjects/{Type}/deleted/?start=&end=`: the deletions in the window, oldest first."""
    obj = call.org.sobject(sobject)
    start, covered, now = _window(call)
    log = call.org.delete_log.get(obj.name, {})
    found = sorted((stamp, rid) for rid, stamp in log.items() if start <= _instant(stamp) < covered)
    _check_count(len(found))
    return Reply(
        200,
        {
            "deletedRecords": [{"id": rid, "deletedDate": stamp} for stamp, rid in found],
            "earliestDateAvailable": format_datetime(_minute(now - DELETED_WINDOW)),
            "latestDateCovered": format_datetime(covered),
        },
    )


def get_updated(call: Call, sobject: str) -> Reply:
    """`GET /sobjects/{Type}/updated/?start=&end=`: the live records created or changed in the
    window (by SystemModstamp), oldest change first."""
    obj = call.org.sobject(sobject)
    start, covered, _ = _window(call)
    found = sorted(
        (record["SystemModstamp"], record["Id"])
        for record in call.org.records.get(obj.name, {}).values()
        if record.get("SystemModstamp") and start <= _instant(record["SystemModstamp"]) < covered
    )
    _check_count(len(found))
    return Reply(
        200, {"ids": [rid for _, rid in found], "latestDateCovered": format_datetime(covered)}
    )


def _window(call: Call) -> tuple[datetime, datetime, datetime]:
    """(start, latestDateCovered, now), each checked as the rules above say."""
    now = call.org.clock()
    start = _parameter(call, "start")
    end = _parameter(call, "end")
    if end - start <= timedelta(minutes=1):
        _invalid(
            f"startDate {format_datetime(start)} must precede endDate {format_datetime(end)} "
            "by more than one minute"
        )
    if start < _minute(now - UPDATED_WINDOW):
        _invalid(f"startDate {format_datetime(start)} is more than {UPDATED_WINDOW.days} days ago")
    return start, min(end, _minute(now)), now


def _parameter(call: Call, name: str) -> datetime:
    raw = call.args.get(name)
    parsed = parse_datetime(raw) if raw else None
    if parsed is None:
        shown = "missing" if not raw else f"{raw!r} is not an ISO 8601 date and time"
        _invalid(f"{name}: {shown}")
    return _minute(_instant(parsed))


def _instant(stamp: str) -> datetime:
    """A stored REST datetime (`2026-11-23T10:00:00.000+0000`) as an aware datetime."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _invalid(message: str) -> NoReturn:
    raise RequestError(400, SfError("INVALID_REPLICATION_DATE", message))


def _check_count(count: int) -> None:
    if count > MAX_IDS:
        raise RequestError(
            400,
            SfError(
                "EXCEEDED_ID_LIMIT",
                f"{count} ids found, more than {MAX_IDS}: choose start and end dates that are "
                "closer together",
            ),
        )
