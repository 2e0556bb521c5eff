"""Merging records as Salesforce's `merge()` call does it, over the in-memory `Org`.

SOAP API Developer Guide, merge() (https://developer.salesforce.com/docs/atlas.en-us.api.meta/
api/sforce_api_calls_merge.htm) and MergeRequest / MergeResult:

- Leads, Contacts and Accounts only, each request of one type; up to three records per request,
  the main record included (one or two `recordToMergeIds`); up to 200 requests per call.
- Each request is its own transaction: it lands whole or leaves nothing behind, and the other
  requests of the call go on.
- Field values given in `masterRecord` are written to the main record first, "similar to a
  call to update" (its checks included).
- The other records ("victim records") are deleted: they go to the Recycle Bin with
  `IsDeleted` true and `MasterRecordId` the main record, where `queryAll` finds them
  ("SELECT Id FROM Contact WHERE isDeleted=true and masterRecordId != null").
- Related records of a victim are reparented to the main record; `updatedRelatedIds` lists
  them. The sandbox reparents what its schema relates by updateable lookups (an Account's
  contacts, opportunities, child accounts and leads matched to it).
- External ID fields cannot be used to name the records.

The error codes of a request refused as a whole (a type that cannot be merged, no or too many
ids, the main record among the victims) are not documented; the sandbox uses
`INVALID_TYPE`, `INVALID_ID_FIELD` and `LIMIT_EXCEEDED` with messages that say what is wrong.
A missing or deleted record answers Salesforce's own `MALFORMED_ID` / `ENTITY_IS_DELETED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.ids import is_valid_id, to18
from connector.sandbox.salesforce.org import Org, RecordError, RequestError, SfError

#: The object types merge() supports (Person Accounts aside, which the sandbox does not have).
MERGEABLE = ("Lead", "Contact", "Account")
#: "Up to three records can be merged in a single request, including the master record."
MAX_VICTIMS = 2


@dataclass
class MergeRequest:
    """One `request` of a merge() call: the main record (type, Id, values to write) and the
    ids of the records to merge into it."""

    sobject: str | None
    master_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    victim_ids: list[str] = field(default_factory=list)


@dataclass
class MergeResult:
    """One `MergeResult`: the main record's id, the ids merged into it and the related records
    moved, or the errors (and nothing merged)."""

    success: bool
    id: str | None = None
    merged_ids: list[str] = field(default_factory=list)
    updated_related_ids: list[str] = field(default_factory=list)
    errors: list[SfError] = field(default_factory=list)


def merge_records(org: Org, requests: list[MergeRequest], user_id: str) -> list[MergeResult]:
    """Run each request in its own transaction; a refused one changes nothing."""
    results = []
    for request in requests:
        with org.transaction() as tx:
            try:
                results.append(_merge(org, request, user_id))
            except RecordError as exc:
                tx.rollback()
                results.append(_failed(request, exc.errors))
            except RequestError as exc:
                tx.rollback()
                results.append(_failed(request, [exc.error]))
    return results


def _failed(request: MergeRequest, errors: list[SfError]) -> MergeResult:
    master = (
        to18(request.master_id) if request.master_id and is_valid_id(request.master_id) else None
    )
    return MergeResult(success=False, id=master, errors=errors)


def _merge(org: Org, request: MergeRequest, user_id: str) -> MergeResult:
    if not request.sobject:
        raise RecordError(SfError("INVALID_TYPE", "Must send a concrete entity type."))
    try:
        obj = org.sobject(request.sobject)
    except RequestError:
        raise RecordError(
            SfError("INVALID_TYPE", f"sObject type '{request.sobject}' is not supported.")
        ) from None
    if obj.name not in MERGEABLE:
        raise RecordError(
            SfError(
                "INVALID_TYPE",
                f"merge() supports Lead, Contact and Account records, not {obj.name}",
            )
        )
    if not request.master_id:
        raise RecordError(SfError("INVALID_ID_FIELD", "masterRecord has no Id", ["Id"]))
    master = org.existing(obj.name, request.master_id)
    victims_given = [v.strip() for v in request.victim_ids if v and v.strip()]
    if not victims_given:
        raise RecordError(
            SfError("INVALID_ID_FIELD", "a merge request needs one or two recordToMergeIds")
        )
    if len(victims_given) > MAX_VICTIMS:
        raise RecordError(
            SfError(
                "LIMIT_EXCEEDED",
                "Up to three records can be merged in a single request, including the master "
                f"record; this request names {len(victims_given) + 1}",
            )
        )
    victims: list[str] = []
    for given in victims_given:
        victim = org.existing(obj.name, given)
        if victim["Id"] == master["Id"]:
            raise RecordError(
                SfError(
                    "INVALID_ID_FIELD",
                    f"the master record {master['Id']} cannot also be a record to merge",
                )
            )
        if victim["Id"] not in victims:
            victims.append(victim["Id"])
    if request.values:
        org.update(obj.name, master["Id"], request.values, user_id)
    else:
        org.system_update(obj.name, master["Id"], {}, user_id)
    related = _reparent(org, obj.name, victims, master["Id"], user_id)
    for victim_id in victims:
        org.delete(obj.name, victim_id, master_id=master["Id"])
    return MergeResult(
        success=True, id=master["Id"], merged_ids=victims, updated_related_ids=related
    )


def _reparent(
    org: Org, sobject: str, victims: list[str], master_id: str, user_id: str
) -> list[str]:
    """Point every updateable lookup to a victim at the main record instead; the ids moved."""
    moved: list[str] = []
    wanted = set(victims)
    for kind, obj in org.schema.items():
        lookups = [
            f.name
            for f in obj.fields.values()
            if f.type == "reference" and f.updateable and sobject in f.reference_to
        ]
        if not lookups:
            continue
        for record in list(org.records.get(kind, {}).values()):
            if record["Id"] == master_id:
                continue
            changes = {name: master_id for name in lookups if record.get(name) in wanted}
            if changes:
                org.system_update(kind, record["Id"], changes, user_id)
                moved.append(record["Id"])
    return moved
