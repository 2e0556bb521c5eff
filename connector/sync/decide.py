"""What to do with each pulled contact: pure decisions, each with its reason.

No I/O here. The engine gathers what we know (links, the hash of what we last wrote, the Leads
and Contacts found by email) and these functions turn it into intended writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from connector.model import HubSpotContact, Link, SalesforceMatch

Action = Literal["upsert", "link_lead", "link_contact", "unchanged", "held", "skip", "fail"]

#: Failures worth retrying with the same values (the record itself was fine).
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "NO_RESULT"})


@dataclass(frozen=True)
class Decision:
    """One contact's intended write and why."""

    contact: HubSpotContact
    action: Action
    reason: str
    fields: dict[str, Any] | None = None
    hash: str | None = None
    target_id: str | None = None  # the Lead (link_lead) or Contact (link_contact) matched
    known: bool = False  # the Lead exists already (an update, not a create)
    target_object: str | None = None  # "Lead" or "Contact", for an unchanged linked contact


def needs_lookup(contact: HubSpotContact, link: Link | None) -> bool:
    """Only contacts we have never linked are looked up by email before a Lead is created."""
    return link is None and bool(contact.email)


def decide(
    contact: HubSpotContact,
    *,
    qualified: bool,
    fields: dict[str, Any],
    values_hash: str,
    link: Link | None,
    last_hash: str | None,
    matches: list[SalesforceMatch],
    failed: tuple[str | None, str] | None = None,
) -> Decision:
    """The decision for one contact; `matches` are the Leads/Contacts with its email.

    `failed` is (code, hash of the values) of its open dead letter, if it has one: the same
    values refused again would fail again, so they wait there until the contact changes.
    """
    if not qualified:
        return Decision(contact, "skip", "not qualified for sales (stage and score)")
    if failed is not None and failed[1] == values_hash and failed[0] not in TRANSIENT_CODES:
        return Decision(
            contact,
            "held",
            "refused before with these same values; waiting in "
            "the dead-letter store until the contact changes",
        )
    if link is not None and link.object == "Contact":
        return Decision(
            contact,
            "unchanged",
            f"already a customer: Contact {link.salesforce_id}",
            target_id=link.salesforce_id,
            target_object="Contact",
        )
    if link is not None and last_hash == values_hash:
        return Decision(
            contact,
            "unchanged",
            "values equal what we last wrote",
            target_id=link.salesforce_id,
            target_object="Lead",
        )
    if link is not None:
        return Decision(
            contact,
            "upsert",
            "changed since we last wrote",
            fields,
            values_hash,
            target_id=link.salesforce_id,
            known=True,
        )

    contacts = sorted((m for m in matches if m.object == "Contact"), key=lambda m: m.id)
    if contacts:
        return Decision(
            contact,
            "link_contact",
            f"email matches Contact {contacts[0].id}: already a customer, no Lead",
            target_id=contacts[0].id,
        )
    leads = sorted((m for m in matches if m.object == "Lead"), key=lambda m: m.id)
    ours = [m for m in leads if m.hubspot_id == contact.id]
    if ours:
        return Decision(
            contact,
            "upsert",
            f"Lead {ours[0].id} already carries this contact's id",
            fields,
            values_hash,
            target_id=ours[0].id,
            known=True,
        )
    free = [m for m in leads if not m.hubspot_id]
    if free:
        return Decision(
            contact,
            "link_lead",
            f"email matches Lead {free[0].id}: linked, not duplicated",
            fields,
            values_hash,
            target_id=free[0].id,
            known=True,
        )
    if leads:
        return Decision(
            contact,
            "fail",
            f"email matches Lead {leads[0].id}, which is linked to HubSpot contact "
            f"{leads[0].hubspot_id}; resolve the duplicate in HubSpot",
        )
    return Decision(contact, "upsert", "new qualified contact", fields, values_hash)
