"""What to do with each pulled contact: pure decisions, each with its reason.

No I/O here. The engine gathers what we know (links, the hash of what we last wrote, the Leads
and Contacts found by email, the current values of fields a conflict rule protects) and these
functions turn it into intended writes.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from connector.mapping.model import Conflict
from connector.mapping.plan import NEVER_WRITTEN, blank, resolve, same
from connector.mapping.transforms import text_of
from connector.model import (
    CAMPAIGN_PROPERTY,
    MQL_DATE_PROPERTY,
    QUEUE_PREFIX,
    SOURCE_PROPERTY,
    HubSpotContact,
    Link,
    SalesforceMatch,
    Transition,
)

Action = Literal[
    "upsert", "link_lead", "link_contact", "update_contact", "unchanged", "held", "skip", "fail"
]

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
    # Lead fields a conflict rule keeps in Salesforce (left out of the write) -> why
    withheld: dict[str, str] = field(default_factory=dict)
    # What the protected fields will hold from us once the write lands (`guard`'s `written`)
    written: dict[str, str] | None = None
    # Protected fields whose value the Lead holds already (`guard`'s `agreeing`): not sent, so
    # a rep's edit landing between our read and our write is not overwritten with it.
    agreeing: frozenset[str] = frozenset()

    @property
    def outgoing(self) -> dict[str, Any]:
        """The values to send: the mapped ones less those Salesforce keeps or holds already.
        `fields` stays whole: its hash is what the echo check and the dead-letter store
        compare."""
        return {
            k: v
            for k, v in (self.fields or {}).items()
            if k not in self.withheld and k not in self.agreeing
        }


def needs_lookup(contact: HubSpotContact, link: Link | None) -> bool:
    """Only contacts we have never linked are looked up by email before a Lead is created."""
    return link is None and bool(contact.email)


def _refused_by_converted_lead(code: str | None, link: Link | None) -> bool:
    """The Lead was converted before this stream knew it (a rep, or our own conversion killed
    before it was recorded) and refused the change; now that the contact is linked to the
    Contact it became, the change goes there and is not held behind the Lead's refusal."""
    return code == "CANNOT_UPDATE_CONVERTED_LEAD" and link is not None and link.object == "Contact"


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
    if (
        failed is not None
        and failed[1] == values_hash
        and failed[0] not in TRANSIENT_CODES
        and not _refused_by_converted_lead(failed[0], link)
    ):
        return Decision(
            contact,
            "held",
            "refused before with these same values; waiting in "
            "the dead-letter store until the contact changes",
        )
    if link is not None and link.object == "Contact" and not link.lead_id:
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
            target_object=link.object,
        )
    if link is not None and link.object == "Contact":
        # Converted: Salesforce refuses updates to the Lead (CANNOT_UPDATE_CONVERTED_LEAD).
        return Decision(
            contact,
            "update_contact",
            f"converted from Lead {link.lead_id}: changes go to Contact {link.salesforce_id}",
            fields,
            values_hash,
            target_id=link.salesforce_id,
            known=True,
            target_object="Contact",
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


# -- conflict rules on updates --------------------------------------------------------------
class Guard(NamedTuple):
    """The outcome of a Lead update's conflict rules: the fields Salesforce keeps (not sent),
    with why, the fingerprints of what we will have written to each protected field, and the
    protected fields the Lead holds already (not sent either: nothing to change)."""

    withheld: dict[str, str]
    written: dict[str, str]
    agreeing: frozenset[str] = frozenset()


def fingerprint(value: Any) -> str:
    """A short digest of a field value, equal exactly for values `same` calls equal (blanks
    alike, `5` and `5.0` alike), so the state store remembers what we wrote, not the value."""
    text = "" if blank(value) else text_of(value) or ""
    with contextlib.suppress(ValueError):  # numbers by value, as `same` compares them
        number = float(text)
        if number == number:  # NaN equals no number: `same` compares its text
            text = repr(number + 0.0)  # + 0.0: -0.0 and 0.0 alike
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def guard(
    fields: Mapping[str, Any],
    rules: Mapping[str, Conflict],
    lead: Mapping[str, Any] | None,
    *,
    hubspot_changed_at: datetime | None,
    salesforce_changed_at: datetime | None,
    written: Mapping[str, str],
    sending: Mapping[str, str] | None = None,
) -> Guard:
    """Resolve the protected fields (`rules`: Lead field -> its rule, `hubspot_wins` ones left
    out) of one write of the mapped `fields` against the Lead's current values.

    `lead` None is a create (or a Lead gone since): nothing to protect, everything is sent.
    A field the rule gives Salesforce, or whose two values both stay (`never_overwrite`), is
    withheld; one that already agrees is `agreeing`: not sent either (sending it would change
    nothing, but it would overwrite a rep's edit made after the Lead was read). `written` holds
    the fingerprints of what we last wrote per field: a side still holding it has not changed
    since, so `resolve` lets the other side win. `newest_wins` weighs the contact's and the
    Lead's record-level change times (`updated_at`, `LastModifiedDate`), not the field's own:
    per-property history would cost calls on both sides. `sending`: the fingerprints of what
    a stream was last sending per field (`last_agreed`).
    """
    withheld: dict[str, str] = {}
    agreeing: set[str] = set()
    # A field written without a rule goes stale: its fingerprint is dropped. Those of fields
    # not written to Salesforce at all (they only come back: `to_hubspot`) are kept.
    after = {
        name: digest for name, digest in written.items() if name in rules or name not in fields
    }
    for name, rule in rules.items():
        if name not in fields:
            continue
        value = fields[name]
        if lead is None:
            after[name] = fingerprint(value)
            continue
        current = lead.get(name)
        resolution = resolve(
            rule,
            value,
            hubspot_changed_at,
            current,
            salesforce_changed_at,
            last_agreed(written.get(name), value, current, (sending or {}).get(name)),
        )
        if same(value, current):
            after[name] = fingerprint(value)  # both sides hold it already
            agreeing.add(name)
        elif resolution.winner == "hubspot":
            after[name] = fingerprint(value)  # both sides hold the HubSpot value from now on
        else:
            withheld[name] = f"{rule}: {resolution.reason}"
            if resolution.winner == "salesforce" and name not in written:
                # Nothing written before (a Lead found, or created by a run killed before its
                # record): HubSpot's value lost, so while HubSpot still holds it Salesforce's is
                # the newer (a field that comes back carries it to HubSpot), whatever the
                # record-level change times say later (our own write-backs move HubSpot's).
                after[name] = fingerprint(value)
    return Guard(withheld, after, frozenset(agreeing))


def last_agreed(
    digest: str | None, hubspot_value: Any, salesforce_value: Any, sending: str | None = None
) -> Any:
    """What we last wrote to a field, as far as `resolve` needs it: the side whose value has the
    stored fingerprint has not changed since. Neither side (or no fingerprint): NEVER_WRITTEN,
    which `resolve` treats as "both changed": the rule decides.

    `sending`: the fingerprint of the value a stream was last sending to the field
    (`contact_sending_key`), for a write whose record a kill may have stopped. When exactly one
    side holds it, either the write landed and the other side changed after it, or it never
    landed and the other side still holds the last agreement: in the first case the holder has
    not changed since (the other side wins), in the second the holder's is the newer value
    (the one being carried over; it wins)."""
    if sending is not None:
        on_hubspot = fingerprint(hubspot_value) == sending
        on_salesforce = fingerprint(salesforce_value) == sending
        if on_hubspot != on_salesforce:
            holder, other = (
                (hubspot_value, salesforce_value)
                if on_hubspot
                else (salesforce_value, hubspot_value)
            )
            return other if digest is not None and fingerprint(other) == digest else holder
    if digest is None:
        return NEVER_WRITTEN
    if fingerprint(salesforce_value) == digest:
        return salesforce_value
    if fingerprint(hubspot_value) == digest:
        return hubspot_value
    return NEVER_WRITTEN


def handoff_transitions(
    contact: HubSpotContact, lead_id: str, owner_id: str | None
) -> list[Transition]:
    """What a contact's first Lead records for the reports: its MQL moment (when HubSpot says
    when it became MQL) and the handoff itself (at the recording), with the Lead's routed owner
    (a queue's id is its queue), HubSpot's original source and latest campaign."""
    properties = contact.properties
    common: dict[str, Any] = {
        "owner_id": owner_id,
        "queue": owner_id if owner_id and owner_id.startswith(QUEUE_PREFIX) else None,
        "source": properties.get(SOURCE_PROPERTY) or None,
        "campaign": properties.get(CAMPAIGN_PROPERTY) or None,
    }
    found: list[Transition] = []
    mql = _moment(properties.get(MQL_DATE_PROPERTY))
    if mql is not None:
        found.append(Transition("mql", contact.id, lead_id, mql, **common))
    found.append(Transition("handoff", contact.id, lead_id, None, **common))
    return found


def _moment(value: str | None) -> datetime | None:
    """A HubSpot datetime property (ISO 8601, or epoch milliseconds) as an aware datetime."""
    if not value:
        return None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
