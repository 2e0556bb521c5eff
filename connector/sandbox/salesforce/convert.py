"""Lead conversion as Salesforce's `convertLead()` does it, over the in-memory `Org`.

Each `LeadConvert` is its own unit: it either lands whole (account, contact, opportunity, the
converted lead) or leaves nothing behind and comes back with its errors, while the other leads of
the same call go on. Field mappings follow Salesforce's standard lead conversion mapping (Help:
"How are lead fields mapped to other fields during conversion?") restricted to the fields the
sandbox's schema has, plus the custom mapping leadbridge's orgs configure
(Lead.HubSpot_Contact_Id__c → Contact.HubSpot_Contact_Id__c). Merging into existing records
fills only their empty fields, as the SOAP API guide states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.sandbox.ids import is_valid_id, prefix_object
from connector.sandbox.salesforce.org import Org, RecordError, RequestError, SfError

#: Lead field → Account field, for a new account and for filling an existing one's blanks.
ACCOUNT_MAP: dict[str, str] = {
    "Website": "Website",
    "Industry": "Industry",
    "NumberOfEmployees": "NumberOfEmployees",
    "AnnualRevenue": "AnnualRevenue",
    "Phone": "Phone",
    "Street": "BillingStreet",
    "City": "BillingCity",
    "State": "BillingState",
    "PostalCode": "BillingPostalCode",
    "Country": "BillingCountry",
}
#: Lead field → Contact field (Salesforce's standard Lead → Contact mapping, as far as the
#: sandbox Lead has the fields).
CONTACT_MAP: dict[str, str] = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Title": "Title",
    "Street": "MailingStreet",
    "City": "MailingCity",
    "State": "MailingState",
    "PostalCode": "MailingPostalCode",
    "Country": "MailingCountry",
    "Description": "Description",
    "LeadSource": "LeadSource",
    "HubSpot_Contact_Id__c": "HubSpot_Contact_Id__c",
}
#: Salesforce's help: "Email Opt Out ... is not updated for leads converted to existing contacts".
NEW_CONTACT_ONLY: dict[str, str] = {"HasOptedOutOfEmail": "HasOptedOutOfEmail"}
#: The stage a new opportunity gets: the default (first) value of the standard StageName list.
DEFAULT_STAGE = "Prospecting"


@dataclass
class LeadConvert:
    """One `leadConverts` element of the partner API (the newer *Record elements excluded)."""

    lead_id: str | None
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    opportunity_name: str | None = None
    do_not_create_opportunity: bool = False
    overwrite_lead_source: bool = False
    owner_id: str | None = None
    send_notification_email: bool = False


@dataclass
class ConvertResult:
    """One `LeadConvertResult`: the ids on success, the errors on failure (ids then null)."""

    success: bool
    lead_id: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: list[SfError] = field(default_factory=list)


def convert_leads(org: Org, converts: list[LeadConvert], user_id: str) -> list[ConvertResult]:
    """Convert each lead in turn, as `user_id`; results come back in request order."""
    return [convert_lead(org, lc, user_id) for lc in converts]


def convert_lead(org: Org, lc: LeadConvert, user_id: str) -> ConvertResult:
    """Convert one lead; on any error everything it wrote is undone."""
    with org.transaction() as tx:
        try:
            return _convert(org, lc, user_id)
        except RecordError as exc:
            tx.rollback()
            return ConvertResult(success=False, errors=exc.errors)
        except RequestError as exc:  # cannot happen with the fields mapped here; kept per-lead
            tx.rollback()
            return ConvertResult(success=False, errors=[exc.error])


def last_day_of_quarter(today: date) -> date:
    """The default CloseDate: the last day of the current (calendar = fiscal) quarter."""
    end_month = ((today.month - 1) // 3 + 1) * 3
    first_of_next = date(today.year + (end_month == 12), end_month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _cross_reference(fields: list[str] | None = None) -> RecordError:
    return RecordError(
        SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields or [])
    )


def _existing(org: Org, sobject: str, record_id: str | None) -> dict[str, Any] | None:
    if not record_id or not is_valid_id(record_id) or prefix_object(record_id) != sobject:
        return None
    return org.get(sobject, record_id)


def _convert(org: Org, lc: LeadConvert, user_id: str) -> ConvertResult:
    lead = _existing(org, "Lead", lc.lead_id)
    if lead is None:
        raise _cross_reference()
    if lead.get("IsConverted"):
        raise RecordError(
            SfError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
        )
    status = _converted_status(org, lc.converted_status)
    if lc.do_not_create_opportunity and (lc.opportunity_name or lc.opportunity_id):
        raise RecordError(
            SfError(
                "INVALID_FIELD",
                "One or more leads couldn't be converted. If doNotCreateOpportunity is true, "
                "opportunityName and opportunityId must be null.",
                ["Id"],
            )
        )
    if lc.contact_id and not lc.account_id:
        raise RecordError(
            SfError(
                "REQUIRED_FIELD_MISSING", "accountId must be specified if contactId is not null", []
            )
        )
    owner_id = _owner(org, lc, lead)

    account = _existing(org, "Account", lc.account_id)
    if lc.account_id and account is None:
        raise _cross_reference()
    contact = _existing(org, "Contact", lc.contact_id)
    if lc.contact_id and (
        contact is None or account is None or contact.get("AccountId") != account["Id"]
    ):
        raise _cross_reference()  # the contact must belong to accountId (given, found above)
    opportunity = _existing(org, "Opportunity", lc.opportunity_id)
    if lc.opportunity_id and opportunity is None:
        raise _cross_reference()

    account = _account(org, lead, account, owner_id, user_id)
    contact = _contact(org, lead, contact, account["Id"], owner_id, lc, user_id)
    if opportunity is not None:
        opportunity = _fill_blanks(
            org, "Opportunity", opportunity, lead, {"LeadSource": "LeadSource"}, user_id
        )
    elif not lc.do_not_create_opportunity:
        opportunity = org.create(
            "Opportunity",
            {
                "Name": lc.opportunity_name or lead["Company"],
                "StageName": DEFAULT_STAGE,
                "CloseDate": last_day_of_quarter(_today()).isoformat(),
                "AccountId": account["Id"],
                "OwnerId": owner_id,
                "LeadSource": lead.get("LeadSource"),
            },
            user_id,
        )
    opportunity_id = opportunity["Id"] if opportunity else None
    org.system_update(
        "Lead",
        lead["Id"],
        {
            "IsConverted": True,
            "Status": status,
            "ConvertedAccountId": account["Id"],
            "ConvertedContactId": contact["Id"],
            "ConvertedOpportunityId": opportunity_id,
            "ConvertedDate": _today().isoformat(),
        },
        user_id,
    )
    return ConvertResult(
        success=True,
        lead_id=lead["Id"],
        account_id=account["Id"],
        contact_id=contact["Id"],
        opportunity_id=opportunity_id,
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _converted_status(org: Org, value: str | None) -> str:
    """The LeadStatus value to set; it must be one whose IsConverted is true."""
    for status in org.lead_statuses():
        if status["IsConverted"] and value in (status["ApiName"], status["MasterLabel"]):
            return status["ApiName"]
    raise RecordError(
        SfError("INVALID_STATUS", f"invalid convertedStatus: {value or 'null'}", ["Status"])
    )


def _owner(org: Org, lc: LeadConvert, lead: dict[str, Any]) -> str:
    """The owner of the records created: `ownerId`, else the lead's owner (never a queue)."""
    if lc.owner_id:
        user = _existing(org, "User", lc.owner_id)
        if user is None:
            raise _cross_reference(["OwnerId"])
        if not user.get("IsActive"):
            raise RecordError(
                SfError(
                    "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{user['Id']}] as owner of account",
                    [],
                )
            )
        return user["Id"]
    owner = lead["OwnerId"]
    if prefix_object(owner) != "User":  # accounts and contacts cannot be owned by a queue
        raise RecordError(
            SfError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Owner ID: id value of incorrect type: {owner}",
                ["OwnerId"],
            )
        )
    return owner


def _mapped(lead: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {
        target: lead[source] for source, target in mapping.items() if lead.get(source) is not None
    }


def _fill_blanks(
    org: Org,
    sobject: str,
    record: dict[str, Any],
    lead: dict[str, Any],
    mapping: dict[str, str],
    user_id: str,
    *,
    overwrite: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Copy mapped lead values into the record's empty fields (and the `overwrite` ones)."""
    changes = {
        target: value
        for target, value in _mapped(lead, mapping).items()
        if record.get(target) in (None, "") or target in overwrite
    }
    if not changes:
        return record
    return org.update(sobject, record["Id"], changes, user_id)


def _account(
    org: Org,
    lead: dict[str, Any],
    account: dict[str, Any] | None,
    owner_id: str,
    user_id: str,
) -> dict[str, Any]:
    if account is not None:
        return _fill_blanks(org, "Account", account, lead, ACCOUNT_MAP, user_id)
    values = {"Name": lead["Company"], **_mapped(lead, ACCOUNT_MAP), "OwnerId": owner_id}
    return org.create("Account", values, user_id)


def _contact(
    org: Org,
    lead: dict[str, Any],
    contact: dict[str, Any] | None,
    account_id: str,
    owner_id: str,
    lc: LeadConvert,
    user_id: str,
) -> dict[str, Any]:
    if contact is not None:
        overwrite = ("LeadSource",) if lc.overwrite_lead_source else ()
        return _fill_blanks(
            org, "Contact", contact, lead, CONTACT_MAP, user_id, overwrite=overwrite
        )
    values = {
        **_mapped(lead, CONTACT_MAP),
        **_mapped(lead, NEW_CONTACT_ONLY),
        "AccountId": account_id,
        "OwnerId": owner_id,
    }
    return org.create("Contact", values, user_id)
