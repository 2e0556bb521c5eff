"""What the two sides say links a HubSpot contact to Salesforce, decided without I/O: the
link `relink` rebuilds from the records claiming a contact, the conflicts it reports instead
of guessing, and the drift `reconcile` finds between a link and what each side holds now.

A Salesforce record *claims* a contact when it carries the contact's id in the external-id
field (`HubSpot_Contact_Id__c`): a Lead we wrote or linked, the Contact a converted Lead
became, and any Contact that carries it. HubSpot's side is what we wrote back: the Lead and
Contact ids on the contact (`salesforceleadid`, `salesforcecontactid`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connector.mapping.plan import same
from connector.model import Link, SalesforceObject


@dataclass(frozen=True)
class Claim:
    """A Salesforce record carrying a HubSpot contact's id."""

    object: SalesforceObject
    id: str
    converted: bool = False
    contact_id: str | None = None  # a converted Lead's Contact
    account_id: str | None = None
    opportunity_id: str | None = None

    @classmethod
    def of_lead(cls, row: Mapping[str, Any]) -> Claim:
        return cls(
            "Lead",
            str(row["Id"]),
            converted=bool(row.get("IsConverted")),
            contact_id=row.get("ConvertedContactId") or None,
            account_id=row.get("ConvertedAccountId") or None,
            opportunity_id=row.get("ConvertedOpportunityId") or None,
        )

    @classmethod
    def of_contact(cls, row: Mapping[str, Any]) -> Claim:
        return cls("Contact", str(row["Id"]), account_id=row.get("AccountId") or None)


#: The fields of a Lead claim (`Claim.of_lead`) and of a Contact claim.
LEAD_CLAIM_FIELDS = (
    "IsConverted",
    "ConvertedContactId",
    "ConvertedAccountId",
    "ConvertedOpportunityId",
)
CONTACT_CLAIM_FIELDS = ("AccountId",)

ConflictKind = Literal["claimed twice", "store differs", "hubspot differs", "gone", "not claimed"]


@dataclass(frozen=True)
class Conflict:
    """Something the two sides disagree on about one contact, for a person to settle."""

    hubspot_id: str
    kind: ConflictKind
    detail: str


def link_from_claims(hubspot_id: str, claims: Sequence[Claim]) -> Link | Conflict | None:
    """The link Salesforce's claims on one contact make: its Lead, or the Contact the Lead was
    converted into, or a Contact carrying its id; a conflict when two records claim it (one
    contact, one Salesforce record: which is right is not ours to guess); None without a claim."""
    leads = sorted((c for c in claims if c.object == "Lead"), key=lambda c: c.id)
    contacts = sorted((c for c in claims if c.object == "Contact"), key=lambda c: c.id)
    if len(leads) > 1:
        ids = ", ".join(c.id for c in leads)
        return Conflict(hubspot_id, "claimed twice", f"Leads {ids} all carry its id")
    if leads:
        lead = leads[0]
        if lead.converted and lead.contact_id:
            others = [c for c in contacts if c.id != lead.contact_id]
            if others:
                detail = (
                    f"Lead {lead.id} was converted into Contact {lead.contact_id}, and Contact "
                    f"{others[0].id} carries its id too"
                )
                return Conflict(hubspot_id, "claimed twice", detail)
            return Link(
                hubspot_id,
                "Contact",
                lead.contact_id,
                lead_id=lead.id,
                contact_id=lead.contact_id,
                account_id=lead.account_id,
                opportunity_id=lead.opportunity_id,
            )
        if contacts:
            detail = f"Lead {lead.id} and Contact {contacts[0].id} both carry its id"
            return Conflict(hubspot_id, "claimed twice", detail)
        return Link(hubspot_id, "Lead", lead.id, lead_id=lead.id)
    if len(contacts) > 1:
        ids = ", ".join(c.id for c in contacts)
        return Conflict(hubspot_id, "claimed twice", f"Contacts {ids} all carry its id")
    if contacts:
        contact = contacts[0]
        return Link(
            hubspot_id,
            "Contact",
            contact.id,
            contact_id=contact.id,
            account_id=contact.account_id,
        )
    return None


def same_link(a: Link, b: Link) -> bool:
    """Whether two links name the same Salesforce records (ids the other leaves open aside)."""
    if (a.object, a.salesforce_id) != (b.object, b.salesforce_id):
        return False
    return all(
        x is None or y is None or x == y
        for x, y in ((a.lead_id, b.lead_id), (a.contact_id, b.contact_id))
    )


def hubspot_disagrees(link: Link, lead_id: str | None, contact_id: str | None) -> str | None:
    """Why the ids HubSpot stores for a linked contact are not the link's (None: they agree,
    or HubSpot stores none)."""
    if lead_id and link.lead_id and lead_id != link.lead_id:
        return f"HubSpot stores Lead {lead_id}; Salesforce's external id says Lead {link.lead_id}"
    if contact_id and link.contact_id and contact_id != link.contact_id:
        return f"HubSpot stores Contact {contact_id}; Salesforce says Contact {link.contact_id}"
    if lead_id and not link.lead_id and link.object == "Contact":
        return (
            f"HubSpot stores Lead {lead_id}; the contact is linked to Contact {link.salesforce_id}"
        )
    return None


# -- reconcile --------------------------------------------------------------------------------
DriftKind = Literal["missing", "duplicated", "differs", "orphaned"]


@dataclass(frozen=True)
class Drift:
    """One way a synced contact and its Salesforce record no longer agree."""

    hubspot_id: str
    kind: DriftKind
    detail: str
    salesforce_id: str = ""
    fields: tuple[str, ...] = ()
    #: What `--repair` can queue: "resync" (write the contact again), "writeback" (give
    #: HubSpot the right ids), or "" (for a person: never guessed).
    repair: str = ""


def differing_fields(
    mapped: Mapping[str, Any], current: Mapping[str, Any], kept: Sequence[str] = ()
) -> list[str]:
    """The mapped fields whose Salesforce value is not what the mapping makes of the contact
    now, less those a conflict rule keeps in Salesforce (`kept`): those are not drift."""
    return sorted(
        name
        for name, value in mapped.items()
        if name not in kept and name in current and not same(value, current.get(name))
    )
