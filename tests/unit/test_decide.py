"""The per-contact decisions of the first sync: link, don't duplicate; skip our own echo."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.model import HubSpotContact, Link, SalesforceMatch
from connector.sync.decide import decide, needs_lookup

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CONTACT = HubSpotContact("101", {"email": "Ada@Acme.test"}, NOW)
FIELDS = {"LastName": "Lovelace", "Company": "Acme", "Email": "ada@acme.test"}


def _decide(**kw):
    args = {
        "qualified": True,
        "fields": FIELDS,
        "values_hash": "h1",
        "link": None,
        "last_hash": None,
        "matches": [],
    }
    return decide(CONTACT, **{**args, **kw})


def test_new_qualified_contact_is_upserted_as_a_new_lead():
    """No link and no email match: a new Lead (a create, so Salesforce may assign it)."""
    d = _decide()
    assert (d.action, d.known, d.fields, d.hash) == ("upsert", False, FIELDS, "h1")


def test_unqualified_contact_is_skipped():
    """A contact below MQL and below the score threshold is not sent to sales."""
    assert _decide(qualified=False).action == "skip"


def test_linked_contact_with_the_values_we_wrote_is_our_echo():
    """Values equal to our last write are skipped: this stops sync loops."""
    link = Link("101", "Lead", "00Q1")
    assert _decide(link=link, last_hash="h1").action == "unchanged"


def test_linked_contact_with_new_values_updates_its_lead():
    """A changed contact updates its Lead, as a known record (no reassignment)."""
    d = _decide(link=Link("101", "Lead", "00Q1"), last_hash="old")
    assert (d.action, d.known, d.target_id) == ("upsert", True, "00Q1")


def test_email_matching_a_contact_means_already_a_customer():
    """A Contact with the same email: link to it and create no Lead."""
    match = SalesforceMatch("Contact", "003B", "ada@acme.test")
    other = SalesforceMatch("Lead", "00QA", "ada@acme.test")
    d = _decide(matches=[other, match])
    assert (d.action, d.target_id) == ("link_contact", "003B")


def test_email_matching_an_unlinked_lead_links_it_instead_of_duplicating():
    """An existing Lead without our id is linked (updated by Id), never duplicated."""
    d = _decide(
        matches=[
            SalesforceMatch("Lead", "00QB", "ada@acme.test"),
            SalesforceMatch("Lead", "00QA", "ADA@acme.test"),
        ]
    )
    assert (d.action, d.target_id, d.known) == ("link_lead", "00QA", True)


def test_lead_already_carrying_our_id_is_updated_after_state_loss():
    """With the state store lost, the Lead that carries our id is updated, not recreated."""
    d = _decide(matches=[SalesforceMatch("Lead", "00QA", "ada@acme.test", hubspot_id="101")])
    assert (d.action, d.known, d.target_id) == ("upsert", True, "00QA")


def test_lead_linked_to_another_contact_is_a_conflict_not_a_guess():
    """An email Lead owned by another HubSpot contact fails with both ids named."""
    d = _decide(matches=[SalesforceMatch("Lead", "00QA", "ada@acme.test", hubspot_id="999")])
    assert d.action == "fail"
    assert "00QA" in d.reason and "999" in d.reason


def test_only_never_linked_contacts_with_email_are_looked_up():
    """Linked contacts and contacts without an email cost no look-up."""
    assert needs_lookup(CONTACT, None)
    assert not needs_lookup(CONTACT, Link("101", "Lead", "00Q1"))
    assert not needs_lookup(HubSpotContact("102", {"email": None}, NOW), None)


def test_values_refused_before_wait_in_the_dead_letter_store():
    """The same values Salesforce refused are not sent again until the contact changes."""
    assert _decide(failed=("REQUIRED_FIELD_MISSING", "h1")).action == "held"
    assert _decide(failed=("REQUIRED_FIELD_MISSING", "older")).action == "upsert"


def test_transient_failures_are_retried_with_the_same_values():
    """A lock timeout says nothing about the record: it is tried again."""
    assert _decide(failed=("UNABLE_TO_LOCK_ROW", "h1")).action == "upsert"
