"""The conversion decision: routing's account, the existing contact, the opportunity name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.mapping.conversion import ConversionMapping, OpportunityRule
from connector.model import ConvertResult, LeadConvert
from connector.streams.conversions.decide import (
    AmountError,
    already_converted,
    existing_contact,
    is_sales_qualified,
    lead_convert,
    opportunity_fields,
    refusal_fingerprint,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACCOUNT = "001000000000001AAA"
LEAD = {
    "Id": "00Q000000000001AAA",
    "Email": "Ada@Acme.test",
    "Company": "Acme",
    "LeadSource": "Web",
    "OwnerId": "005000000000001AAA",
    "IsConverted": False,
    "Matched_Account__c": ACCOUNT,
}
CONTACTS = [
    {"Id": "003000000000009AAA", "Email": "ada@acme.test", "AccountId": "001000000000002AAA"},
    {"Id": "003000000000005AAA", "Email": "ADA@acme.test", "AccountId": ACCOUNT},
    {"Id": "003000000000007AAA", "Email": "bob@acme.test", "AccountId": ACCOUNT},
]


def test_converts_into_the_matched_account_and_its_contact_with_that_email() -> None:
    """Routing's account and the same-email Contact under it (case-insensitive) are reused."""
    assert lead_convert(LEAD, CONTACTS, ConversionMapping(), now=NOW) == LeadConvert(
        lead_id="00Q000000000001AAA",
        converted_status="Closed - Converted",
        account_id=ACCOUNT,
        contact_id="003000000000005AAA",
        opportunity_name="Acme – Web – 2026-11",
        do_not_create_opportunity=False,
        owner_id="005000000000001AAA",
    )


def test_no_matched_account_means_new_account_and_contact() -> None:
    """Without a matched account no contact is reused, even one elsewhere with the email."""
    lead = {**LEAD, "Matched_Account__c": None}
    convert = lead_convert(lead, CONTACTS, ConversionMapping(), now=NOW)
    assert (convert.account_id, convert.contact_id) == (None, None)


def test_a_contact_of_another_account_is_not_reused() -> None:
    """A Contact with the email under another account is left alone (Salesforce would refuse)."""
    assert existing_contact("ada@acme.test", ACCOUNT, CONTACTS[:1]) is None


def test_no_opportunity_when_the_mapping_says_so() -> None:
    """create: false sends doNotCreateOpportunity and no name."""
    mapping = ConversionMapping(opportunity=OpportunityRule(create=False))
    convert = lead_convert(LEAD, [], mapping, now=NOW)
    assert (convert.do_not_create_opportunity, convert.opportunity_name) == (True, None)


def test_queue_owner_is_not_sent() -> None:
    """A queue-owned Lead sends no ownerId (a queue cannot own accounts or contacts)."""
    lead = {**LEAD, "OwnerId": "00G000000000001AAA", "LeadSource": None}
    convert = lead_convert(lead, [], ConversionMapping(), now=NOW)
    assert (convert.owner_id, convert.opportunity_name) == (None, "Acme –  – 2026-11")


def test_already_converted_lead_is_linked_not_converted() -> None:
    """A converted Lead yields what it became; an unconverted one nothing."""
    lead = {
        **LEAD,
        "IsConverted": True,
        "ConvertedAccountId": ACCOUNT,
        "ConvertedContactId": "003000000000005AAA",
        "ConvertedOpportunityId": None,
    }
    assert already_converted(lead) == ConvertResult(
        "00Q000000000001AAA",
        success=True,
        account_id=ACCOUNT,
        contact_id="003000000000005AAA",
    )
    assert already_converted(LEAD) is None


def test_a_queue_owned_lead_gets_the_queue_owner_fallback() -> None:
    """Salesforce refuses a queue as owner of converted records: the configured user is sent."""
    lead = {"Id": "00QA", "Email": "a@x.test", "Company": "X", "OwnerId": "00GQUEUE0000001"}
    convert = lead_convert(lead, [], ConversionMapping(), now=NOW, queue_owner_id="005INTEG")
    assert convert.owner_id == "005INTEG"
    user_owned = {**lead, "OwnerId": "005REP000000001"}
    assert (
        lead_convert(
            user_owned, [], ConversionMapping(), now=NOW, queue_owner_id="005INTEG"
        ).owner_id
        == "005REP000000001"
    )


@pytest.mark.parametrize(
    ("sql_when", "stage", "status", "expected"),
    [
        ("hubspot_stage", "salesqualifiedlead", "Open - Not Contacted", True),
        ("hubspot_stage", "marketingqualifiedlead", "Working - Contacted", False),
        # HubSpot moved the contact straight on: a later stage is SQL too.
        ("hubspot_stage", "opportunity", None, True),
        ("hubspot_stage", "customer", None, True),
        ("hubspot_stage", "a_custom_stage", None, False),
        ("salesforce_status", "marketingqualifiedlead", "Working - Contacted", True),
        ("salesforce_status", "salesqualifiedlead", "Open - Not Contacted", False),
        ("either", None, "Working - Contacted", True),
        ("either", "salesqualifiedlead", None, True),
        ("either", "lead", "Open - Not Contacted", False),
        ("both", "salesqualifiedlead", "Working - Contacted", True),
        ("both", "salesqualifiedlead", "Open - Not Contacted", False),
        ("both", None, "Working - Contacted", False),
    ],
)
def test_sql_is_the_stage_the_status_either_or_both(
    sql_when: str, stage: str | None, status: str | None, expected: bool
) -> None:
    """sql_when decides which side makes a contact sales qualified; a side not read is not SQL."""
    mapping = ConversionMapping.model_validate(
        {"sql_when": sql_when, "salesforce_status": ["Working - Contacted"]}
    )
    assert (
        is_sales_qualified(
            mapping, stage=stage, status=status, sql_statuses=("Working - Contacted",)
        )
        is expected
    )


RULE = OpportunityRule(stage="Qualification", close_days=30, amount_property="budget")


def test_opportunity_fields_from_the_rule_and_the_contact() -> None:
    """Stage as configured, close date 30 days after conversion, the amount as a number."""
    assert opportunity_fields(RULE, now=NOW, amount="12500", contact_id="101") == {
        "StageName": "Qualification",
        "CloseDate": "2026-12-23",
        "Amount": 12500,
    }
    assert opportunity_fields(RULE, now=NOW, amount=" 99.95 ", contact_id="101")["Amount"] == 99.95
    assert "Amount" not in opportunity_fields(RULE, now=NOW, amount="", contact_id="101")
    assert opportunity_fields(OpportunityRule(), now=NOW, amount="5", contact_id="101") == {}


@pytest.mark.parametrize("value", ["12 500 EUR", "NaN", "Infinity", "1,5"])
def test_an_amount_that_is_no_number_names_the_contact_and_property(value: str) -> None:
    """A value that is not a finite number fails with the contact and the property named."""
    with pytest.raises(AmountError) as caught:
        opportunity_fields(RULE, now=NOW, amount=value, contact_id="101")
    assert str(caught.value) == (
        f"HubSpot contact 101: property 'budget' is {value!r}, not a number, so the "
        "opportunity's Amount cannot be set"
    )


def test_refusal_fingerprint_follows_the_lead_and_the_request() -> None:
    """The same Lead and request give the same fingerprint; an edited Lead or another owner
    gives another; the existing contact (found by a query) does not take part."""
    lead = {**LEAD, "LastModifiedDate": datetime(2026, 11, 23, 9, 0, tzinfo=UTC)}
    convert = lead_convert(lead, CONTACTS, ConversionMapping(), now=NOW)
    bare = lead_convert(lead, [], ConversionMapping(), now=NOW)
    assert refusal_fingerprint(lead, convert) == refusal_fingerprint(lead, bare)
    edited = {**lead, "LastModifiedDate": datetime(2026, 11, 23, 9, 5, tzinfo=UTC)}
    assert refusal_fingerprint(edited, bare) != refusal_fingerprint(lead, bare)
    other_owner = lead_convert(lead, [], ConversionMapping(), now=NOW, queue_owner_id="005X")
    queue_lead = {**lead, "OwnerId": "00G000000000001AAA"}
    assert refusal_fingerprint(queue_lead, other_owner) != refusal_fingerprint(
        queue_lead, lead_convert(queue_lead, [], ConversionMapping(), now=NOW)
    )
