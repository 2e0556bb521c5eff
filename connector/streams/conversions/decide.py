"""What converting one Lead means, decided without I/O.

The account is the one routing stored on the Lead (`Matched_Account__c`), so conversion and
routing can never disagree; the contact is an existing Contact of that account with the Lead's
email, so no duplicate is made. A Lead already converted (by a person, or by us before a crash)
is not converted again: it is linked to what it became.

Whether a contact is sales qualified (SQL) is the HubSpot stage, the Lead status, either or
both (`sql_when`). What convertLead cannot set on the new opportunity (stage, close date,
amount) is decided here too, for an update right after.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.display import show
from connector.mapping.conversion import ConversionMapping, OpportunityRule
from connector.mapping.plan import values_hash
from connector.model import ConvertResult, LeadConvert

#: The Lead fields a conversion decision reads (besides Id and the matched-account field).
LEAD_FIELDS = (
    "Email",
    "Company",
    "LeadSource",
    "OwnerId",
    "Status",
    "IsConverted",
    "LastModifiedById",
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


def is_sales_qualified(
    mapping: ConversionMapping,
    *,
    stage: str | None,
    status: str | None,
    sql_statuses: Collection[str],
) -> bool:
    """Whether the contact's HubSpot `stage` and its Lead's `status` make it SQL, per
    `sql_when`; None means that side was not read (it then does not count as SQL)."""
    at_stage = stage is not None and stage in mapping.sql_stages
    at_status = status is not None and status in sql_statuses
    if mapping.sql_when == "hubspot_stage":
        return at_stage
    if mapping.sql_when == "salesforce_status":
        return at_status
    if mapping.sql_when == "either":
        return at_stage or at_status
    return at_stage and at_status


def refusal_fingerprint(lead: Mapping[str, Any], convert: LeadConvert) -> str:
    """What a conversion Salesforce refused depended on: the Lead as last modified and the
    request (account, owner, status, opportunity). While it is the same, trying again would
    be refused again. The existing Contact is left out: finding it costs a query, which a
    held Lead should not cost (a Lead edit, or a new month in the name, retries it)."""
    modified = lead.get("LastModifiedDate")
    stamp = modified.isoformat() if isinstance(modified, datetime) else modified
    request = {k: v for k, v in asdict(convert).items() if k != "contact_id"}
    return values_hash({"lead_modified": stamp, **request})


class AmountError(ValueError):
    """A contact's amount property holds something that is not a number."""


def opportunity_fields(
    rule: OpportunityRule, *, now: datetime, amount: str | None, contact_id: str
) -> dict[str, Any]:
    """The Opportunity fields to set after conversion: StageName, CloseDate (conversion day +
    `close_days`) and Amount (the contact's `amount_property`; an empty one sets nothing).
    AmountError names the contact and the property when the value is not a number."""
    fields: dict[str, Any] = {}
    if rule.stage is not None:
        fields["StageName"] = rule.stage
    if rule.close_days is not None:
        fields["CloseDate"] = (now.date() + timedelta(days=rule.close_days)).isoformat()
    if rule.amount_property is not None and amount is not None and amount.strip():
        fields["Amount"] = _number(amount.strip(), contact_id, rule.amount_property)
    return fields


def _number(text: str, contact_id: str, prop: str) -> int | float:
    """`text` as a JSON number (an int when whole), or AmountError."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        msg = (
            f"HubSpot contact {contact_id}: property {prop!r} is {show(text)}, not a number, so "
            "the opportunity's Amount cannot be set"
        )
        raise AmountError(msg)
    return int(value) if value == value.to_integral_value() else float(value)
