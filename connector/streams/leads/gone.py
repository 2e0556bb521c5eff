"""Leads and Contacts removed in Salesforce: what becomes of their links and HubSpot contacts.

Pure: a removed record as `queryAll` shows it (deleted, or merged away into the record its
`MasterRecordId` names), what the store links to it and to the record it was merged into, and
the settings in; one decision out, with its reason. `connector.streams.leads.removals` reads,
carries the decisions out and records them.

- A record privacy.yaml recognises as an erasure request (`salesforce_requests`: deleted
  while its field held the value): the person is erased (HubSpot's GDPR delete, the store).
- A merge's losing record: its contact's link moves to the record kept, and the contact's id
  property says the kept one; unless the kept record is another contact's already (linked to
  it, or carrying its id): then the losing contact's link closes and the conflict is reported,
  so no record is ever claimed by two links.
- A plain delete: the link closes (its ids stay in the audit log), the contact's id property
  is cleared and its status property says the record was deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from connector.mapping.model import SalesforceRemovals, WriteBack
from connector.mapping.privacy import Recognise, SalesforceRequests
from connector.model import Link

SObject = Literal["Lead", "Contact"]
Kind = Literal["erase", "move", "close", "conflict", "none"]


@dataclass(frozen=True)
class Removed:
    """A Lead or Contact Salesforce no longer has (in its Recycle Bin)."""

    sobject: SObject
    id: str
    master_id: str | None  # the record a merge kept; None after a plain delete
    hubspot_id: str | None  # the external id it carried
    erasure: bool  # privacy.yaml recognises its deletion as an erasure request
    stamp: datetime | None


@dataclass(frozen=True)
class Decision:
    """What to do for one removed record.

    `hubspot_id`: the contact it is about. `link`: the link after a move (None otherwise).
    `updates`: contact properties to write. `claim`: the external id to write on the kept
    record (it carries none yet). `reason` says why, in ids and words only.
    """

    kind: Kind
    removed: Removed
    reason: str
    hubspot_id: str | None = None
    link: Link | None = None
    updates: dict[str, str | None] = field(default_factory=dict)
    claim: str | None = None


def removed_of(
    record: Mapping[str, Any], external_id_field: str, requests: SalesforceRequests | None
) -> Removed:
    """A `removed_records` row as a `Removed` (privacy.yaml's `salesforce_requests` say
    whether its deletion asks for an erasure)."""
    sobject: SObject = "Contact" if record.get("sobject") == "Contact" else "Lead"
    rule = None
    if requests is not None:
        rule = requests.lead if sobject == "Lead" else requests.contact
    return Removed(
        sobject=sobject,
        id=str(record["Id"]),
        master_id=str(record["MasterRecordId"]) if record.get("MasterRecordId") else None,
        hubspot_id=str(record[external_id_field]) if record.get(external_id_field) else None,
        erasure=asks_erasure(record, rule),
        stamp=record.get("SystemModstamp"),
    )


def asks_erasure(record: Mapping[str, Any], rule: Recognise | None) -> bool:
    """Whether a deleted record held the value privacy.yaml recognises as an erasure request
    (`when: deleted`). A checkbox's `true` also
    matches `"true"`; texts match without surrounding space or case."""
    if rule is None or rule.when != "deleted":
        return False
    value = record.get(rule.field)
    wanted = rule.equals
    if isinstance(wanted, bool) or isinstance(value, bool):
        return _truth(value) == _truth(wanted)
    return str(value or "").strip().lower() == str(wanted).strip().lower() != ""


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    return {"true": True, "false": False}.get(text)


def decide(
    removed: Removed,
    link: Link | None,
    *,
    kept_link: Link | None,
    kept_hubspot_id: str | None,
    settings: SalesforceRemovals,
    writeback: WriteBack,
) -> Decision:
    """The decision for one removed record. `link`: the store's link whose record it is (its
    `salesforce_id`), if any; `kept_link`, `kept_hubspot_id`: for a merge, the link claiming
    the record kept and the external id that record carries."""
    if removed.erasure:
        hubspot_id = link.hubspot_id if link is not None else removed.hubspot_id
        return Decision(
            "erase",
            removed,
            f"{removed.sobject} {removed.id} was deleted as an erasure request",
            hubspot_id=hubspot_id,
        )
    if link is None or link.salesforce_id != removed.id:
        return Decision("none", removed, "no contact is linked to it")
    prop = writeback.lead_id if removed.sobject == "Lead" else writeback.contact_id
    status = settings.status_property
    master = removed.master_id
    if master is not None:
        other = (
            kept_link.hubspot_id
            if kept_link is not None and kept_link.hubspot_id != link.hubspot_id
            else kept_hubspot_id
            if kept_hubspot_id and kept_hubspot_id != link.hubspot_id
            else None
        )
        if other is None:
            moved = _moved(link, removed.id, master)
            return Decision(
                "move",
                removed,
                f"{removed.sobject} {removed.id} was merged into {master}: the link moves",
                hubspot_id=link.hubspot_id,
                link=moved,
                updates={prop: master},
                claim=None if kept_hubspot_id == link.hubspot_id else link.hubspot_id,
            )
        updates: dict[str, str | None] = {prop: None}
        if status:
            updates[status] = settings.merged
        return Decision(
            "conflict",
            removed,
            f"{removed.sobject} {removed.id} was merged into {master}, which HubSpot contact "
            f"{other} is linked to: this contact's link is closed; merge the two contacts in "
            "HubSpot if they are one person",
            hubspot_id=link.hubspot_id,
            updates=updates,
        )
    updates = {prop: None}
    if status:
        updates[status] = settings.deleted
    return Decision(
        "close",
        removed,
        f"{removed.sobject} {removed.id} was deleted in Salesforce: the link is closed",
        hubspot_id=link.hubspot_id,
        updates=updates,
    )


def _moved(link: Link, old: str, new: str) -> Link:
    """`link` with every id that was `old` now `new`."""
    return replace(
        link,
        salesforce_id=new if link.salesforce_id == old else link.salesforce_id,
        lead_id=new if link.lead_id == old else link.lead_id,
        contact_id=new if link.contact_id == old else link.contact_id,
    )


def closed_details(link: Link, decision: Decision) -> dict[str, Any]:
    """What the audit keeps of a closed link: its ids (so a later erasure still finds the
    record in Salesforce's Recycle Bin) and why."""
    return {
        "object": link.object,
        "salesforce_id": link.salesforce_id,
        "lead_id": link.lead_id,
        "contact_id": link.contact_id,
        "account_id": link.account_id,
        "opportunity_id": link.opportunity_id,
        "merged_into": decision.removed.master_id,
        "kind": decision.kind,
    }
