"""The conversion decision: routing's account, the existing contact, the opportunity name."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.conversion import already_converted, existing_contact, lead_convert
from connector.mapping.conversion import ConversionMapping, OpportunityRule
from connector.model import ConvertResult, LeadConvert

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
