"""What converting one Lead means, decided without I/O.

The account is the one routing stored on the Lead (`Matched_Account__c`), so conversion and
routing can never disagree; the contact is an existing Contact of that account with the Lead's
email, so no duplicate is made. A Lead already converted (by a person, or by us before a crash)
is not converted again: it is linked to what it became.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connector.mapping.conversion import ConversionMapping
from connector.model import ConvertResult, LeadConvert

#: The Lead fields a conversion decision reads (besides Id and the matched-account field).
LEAD_FIELDS = (
    "Email",
    "Company",
    "LeadSource",
    "OwnerId",
    "IsConverted",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
)
#: Id prefix of users: only a user (never a queue) can own what conversion creates.
_USER_PREFIX = "005"


def already_converted(lead: Mapping[str, Any]) -> ConvertResult | None:
    """What an already converted Lead became, as a successful result; None if not converted."""
    if not lead.get("IsConverted"):
        return None
    return ConvertResult(
        lead_id=str(lead["Id"]),
        success=True,
        account_id=lead.get("ConvertedAccountId") or None,
        contact_id=lead.get("ConvertedContactId") or None,
        opportunity_id=lead.get("ConvertedOpportunityId") or None,
    )


def existing_contact(
    email: str | None, account_id: str | None, contacts: Iterable[Mapping[str, Any]]
) -> str | None:
    """The Contact of `account_id` with `email` (case-insensitive); the lowest Id if several."""
    if not email or not account_id:
        return None
    wanted = email.strip().lower()
    ids = sorted(
        str(c["Id"])
        for c in contacts
        if c.get("AccountId") == account_id and str(c.get("Email") or "").strip().lower() == wanted
    )
    return ids[0] if ids else None


def lead_convert(
    lead: Mapping[str, Any],
    contacts: Iterable[Mapping[str, Any]],
    mapping: ConversionMapping,
    *,
    now: datetime,
    matched_account_field: str = "Matched_Account__c",
    queue_owner_id: str | None = None,
) -> LeadConvert:
    """The convertLead request for an unconverted Lead; a queue-owned Lead's records go to
    `queue_owner_id` (Salesforce refuses a queue as their owner)."""
    account_id = lead.get(matched_account_field) or None
    owner = str(lead.get("OwnerId") or "")
    create = mapping.opportunity.create
    name = (
        mapping.opportunity.render(
            company=lead.get("Company"),
            lead_source=lead.get("LeadSource"),
            month=now.strftime("%Y-%m"),
        )
        if create
        else None
    )
    return LeadConvert(
        lead_id=str(lead["Id"]),
        converted_status=mapping.converted_status,
        account_id=account_id,
        contact_id=existing_contact(lead.get("Email"), account_id, contacts),
        opportunity_name=name,
        do_not_create_opportunity=not create,
        owner_id=owner if owner.startswith(_USER_PREFIX) else queue_owner_id,
    )
