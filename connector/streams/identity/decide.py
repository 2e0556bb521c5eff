"""What a HubSpot contact merge or deletion asks of leadbridge: pure decisions, each with its
reason (`connector.streams.identity.stream` carries them out).

A merge: the surviving contact keeps one link (its own, else that of the first merged-away
contact that had one, in the event's order); every other Lead of the merged contacts is a
duplicate, merged into the kept Lead or flagged as `lead.yaml` says, or only reported when
Salesforce cannot merge it (a converted Lead, or a kept record that is a Contact). A deletion:
the contact's Lead is left, flagged or deleted, as `lead.yaml` says; a Contact (a customer) is
never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connector.mapping.model import MergesAndDeletions
from connector.model import Link

DuplicateAction = Literal["merge", "flag", "report"]
DeletionAction = Literal["leave", "flag", "delete", "report", "none"]


@dataclass(frozen=True)
class MergeIds:
    """The contacts of a `contact.merge` event: the survivor and the ids merged into it."""

    survivor: str
    merged: tuple[str, ...]


def merge_ids(event: Mapping[str, Any]) -> MergeIds | None:
    """The survivor and merged-away ids of a `contact.merge` event as the webhook endpoint
    keeps it (`primary_object_id`, `merged_object_ids`, `new_object_id`, `object_id`).

    HubSpot documents `newObjectId` as the record the merge leaves; when it differs from
    `primaryObjectId`, the primary is merged away too. None when the event names no survivor.
    """
    survivor = event.get("new_object_id") or event.get("primary_object_id")
    survivor = survivor or event.get("object_id")
    if not survivor:
        return None
    named = [event.get("primary_object_id"), *event.get("merged_object_ids", [])]
    merged = tuple(dict.fromkeys(str(i) for i in named if i and str(i) != str(survivor)))
    return MergeIds(str(survivor), merged)


@dataclass(frozen=True)
class Duplicate:
    """A second Salesforce record claiming the survivor's person, and what to do with it."""

    hubspot_id: str  # the merged-away contact it was linked to
    record_id: str  # the Lead (or Contact) id
    object: str  # "Lead" or "Contact"
    action: DuplicateAction
    reason: str


@dataclass(frozen=True)
class MergePlan:
    """What one merge does: the link the survivor keeps (re-keyed to it) and where it came
    from, whether the kept Lead must take the survivor's id in the external-id field, the
    duplicates, and the Salesforce id HubSpot's property must show."""

    survivor: str
    merged: tuple[str, ...]
    keep: Link | None
    kept_from: str | None
    retag: str | None  # a Lead to carry the survivor's id (it carried a merged-away one)
    duplicates: tuple[Duplicate, ...]
    reason: str

    @property
    def salesforce_work(self) -> bool:
        """Whether anything is left to do in Salesforce once the store moved."""
        return self.retag is not None or any(d.action != "report" for d in self.duplicates)


def plan_merge(ids: MergeIds, links: Mapping[str, Link], settings: MergesAndDeletions) -> MergePlan:
    """The plan for one merge, from the open links of the survivor and merged contacts."""
    order = [ids.survivor, *ids.merged]
    linked = [links[h] for h in order if h in links]
    if not linked:
        return MergePlan(
            ids.survivor, ids.merged, None, None, None, (), "no contact of the merge was linked"
        )
    kept = linked[0]
    keep = Link(
        ids.survivor,
        kept.object,
        kept.salesforce_id,
        lead_id=kept.lead_id,
        contact_id=kept.contact_id,
        account_id=kept.account_id,
        opportunity_id=kept.opportunity_id,
    )
    retag = kept.lead_id if kept.hubspot_id != ids.survivor and kept.object == "Lead" else None
    duplicates: list[Duplicate] = []
    seen = {kept.salesforce_id, kept.lead_id, kept.contact_id} - {None}
    for other in linked[1:]:
        record = other.lead_id or other.salesforce_id
        if record in seen or (other.contact_id is not None and other.contact_id in seen):
            continue  # the same person's record already: nothing to merge
        seen |= {other.salesforce_id, other.lead_id, other.contact_id} - {None}
        duplicates.append(_duplicate(kept, other, settings))
    why = (
        f"contact {ids.survivor} keeps {kept.object} {kept.salesforce_id}"
        + (f" (from merged contact {kept.hubspot_id})" if kept.hubspot_id != ids.survivor else "")
        + (f"; {len(duplicates)} duplicate(s)" if duplicates else "")
    )
    return MergePlan(
        ids.survivor,
        ids.merged,
        keep,
        kept.hubspot_id,
        retag,
        tuple(duplicates),
        why,
    )


def _duplicate(kept: Link, other: Link, settings: MergesAndDeletions) -> Duplicate:
    record = other.lead_id or other.salesforce_id
    claim = (
        f"{other.object} {other.salesforce_id} of merged contact {other.hubspot_id} and "
        f"{kept.object} {kept.salesforce_id} both claim this person"
    )
    if other.object != "Lead" or kept.object != "Lead":
        return Duplicate(
            other.hubspot_id,
            record,
            other.object,
            "report",
            f"{claim}; Salesforce merges no converted Lead: resolve it in Salesforce",
        )
    action = settings.on_duplicate_after_merge
    how = (
        f"merged into Lead {kept.salesforce_id}"
        if action == "merge"
        else f"flagged ({settings.flag.field} = {settings.flag.value})"
    )
    return Duplicate(other.hubspot_id, record, "Lead", action, f"{claim}; {how}")


@dataclass(frozen=True)
class DeletionPlan:
    """What one plain deletion does to the deleted contact's Salesforce record."""

    hubspot_id: str
    link: Link | None
    action: DeletionAction
    reason: str


def plan_deletion(hubspot_id: str, link: Link | None, settings: MergesAndDeletions) -> DeletionPlan:
    """The plan for a deleted contact, from its open link (None: nothing to do)."""
    if link is None:
        return DeletionPlan(hubspot_id, None, "none", "the contact was not linked")
    if link.object != "Lead":
        return DeletionPlan(
            hubspot_id,
            link,
            "report",
            f"the contact's person is Contact {link.salesforce_id} (a customer): left as it is",
        )
    action = settings.on_contact_deleted
    reasons = {
        "leave": f"Lead {link.salesforce_id} left as it is, unlinked",
        "flag": (
            f"Lead {link.salesforce_id} flagged ({settings.flag.field} = "
            f"{settings.flag.value}), unlinked"
        ),
        "delete": f"Lead {link.salesforce_id} deleted (Recycle Bin)",
    }
    return DeletionPlan(hubspot_id, link, action, reasons[action])


def flag_fields(settings: MergesAndDeletions) -> dict[str, Any]:
    """The Lead fields a flag sets (a checkbox's "true" as a boolean)."""
    value: Any = settings.flag.value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    return {settings.flag.field: value}
