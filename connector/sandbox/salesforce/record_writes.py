"""One record's write as the data APIs do it: the checks around `Org.create/update/upsert/delete`
that every multi-record path shares (sObject Collections and Bulk API 2.0 ingest jobs).

Each function writes one record or raises `RecordError` (that record fails, the others go on) or
`RequestError` (the whole request fails). A caller turns a `RecordError` into its own result
shape: a Collections `{"success": false, "errors": [...]}` or a Bulk `sf__Error` cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connector.sandbox.ids import is_valid_id
from connector.sandbox.salesforce.org import Org, RecordError, SfError
from connector.sandbox.salesforce.schema import SObject

#: Called just before a record is written, after its own checks, with the id of the row it
#: writes (None for a new one): the fault profile's UNABLE_TO_LOCK_ROW is raised there.
BeforeWrite = Callable[[str | None], None]


def insert(
    org: Org,
    obj: SObject,
    values: dict[str, Any],
    user_id: str,
    *,
    auto_assign: bool,
    before: BeforeWrite | None = None,
) -> dict[str, Any]:
    """Create a record; an `Id` among the values fails the record (INVALID_FIELD)."""
    if any(key.lower() == "id" for key in values):
        raise RecordError(SfError("INVALID_FIELD", "cannot specify Id in an insert call"))
    if before is not None:
        before(None)
    return org.create(obj.name, values, user_id, auto_assign=auto_assign)


def record_id_of(values: dict[str, Any]) -> str | None:
    """The `Id` among a record's values (any case), as text; None when absent or empty."""
    value = next((v for k, v in values.items() if k.lower() == "id"), None)
    return str(value) if value else None


def update(
    org: Org,
    obj: SObject,
    values: dict[str, Any],
    user_id: str,
    *,
    before: BeforeWrite | None = None,
) -> dict[str, Any]:
    """Update the record the values' `Id` names; no `Id` fails the record (MISSING_ARGUMENT)."""
    record_id = record_id_of(values)
    if not record_id:
        raise RecordError(SfError("MISSING_ARGUMENT", "Id not specified in an update call"))
    if before is not None and org.find(record_id) is not None:  # a bad id fails as such
        before(record_id)
    changes = {k: v for k, v in values.items() if k.lower() != "id"}
    return org.update(obj.name, record_id, changes, user_id)


def upsert(
    org: Org,
    obj: SObject,
    field_name: str,
    value: str | None,
    values: dict[str, Any],
    user_id: str,
    *,
    auto_assign: bool,
    before: BeforeWrite | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create or update by the external id `field_name` = `value`: (record, created).

    A record without a value for the external id fails (MISSING_ARGUMENT naming the field).
    """
    if value is None:
        raise RecordError(SfError("MISSING_ARGUMENT", f"{field_name} not specified", [field_name]))
    if before is not None:
        existing = org.find_by_external_id(obj.name, field_name, value)
        before(existing[0] if existing else None)
    return org.upsert(obj.name, field_name, value, values, user_id, auto_assign=auto_assign)


def delete(
    org: Org, record_id: str, *, hard: bool = False, before: BeforeWrite | None = None
) -> dict[str, Any]:
    """Delete the record with that id (to the Recycle Bin, or for good with `hard`).

    A malformed id fails MALFORMED_ID; an id naming no live record fails ENTITY_IS_DELETED.
    """
    found = org.find(record_id)
    if found is None:
        if not is_valid_id(record_id):
            raise RecordError(SfError("MALFORMED_ID", f"malformed id {record_id}"))
        raise RecordError(SfError("ENTITY_IS_DELETED", "entity is deleted"))
    kind, record = found
    if before is not None:
        before(record["Id"])
    org.delete(kind, record["Id"], hard=hard)
    return record


def duplicated(values: Iterable[str | None]) -> set[str]:
    """The external id values (compared without case, as Salesforce matches them) that occur
    more than once among `values`, lower-cased."""
    seen: set[str] = set()
    twice: set[str] = set()
    for value in values:
        if value is None:
            continue
        key = value.lower()
        (twice if key in seen else seen).add(key)
    return twice
