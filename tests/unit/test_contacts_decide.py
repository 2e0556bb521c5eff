"""The per-contact decisions of the first sync: link, don't duplicate; skip our own echo."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from connector.mapping.plan import NEVER_WRITTEN, same
from connector.model import HubSpotContact, Link, SalesforceMatch
from connector.streams.contacts.decide import (
    Guard,
    decide,
    fingerprint,
    guard,
    last_agreed,
    needs_lookup,
)

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


def test_a_change_a_converted_lead_refused_goes_to_its_contact_once_linked():
    """A Lead converted before the stream knew refused the change; linked to the Contact now,
    the same values go there, while a Lead still linked keeps them waiting."""
    refused = ("CANNOT_UPDATE_CONVERTED_LEAD", "h1")
    still_lead = Link("101", "Lead", "00Q1", lead_id="00Q1")
    assert _decide(failed=refused, link=still_lead, last_hash="h0").action == "held"
    now_contact = Link("101", "Contact", "003A", lead_id="00Q1", contact_id="003A")
    decision = _decide(failed=refused, link=now_contact, last_hash="h0")
    assert (decision.action, decision.target_id) == ("update_contact", "003A")


def test_transient_failures_are_retried_with_the_same_values():
    """A lock timeout says nothing about the record: it is tried again."""
    assert _decide(failed=("UNABLE_TO_LOCK_ROW", "h1")).action == "upsert"


# -- conflict rules on updates (`guard`) ------------------------------------------------------
RULES = {"Title": "never_overwrite", "Phone": "salesforce_wins"}
MAPPED = {"LastName": "Lovelace", "Title": "CTO", "Phone": "+46 70 111"}
EARLIER = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _guard(lead, written=None, rules=RULES, fields=MAPPED, salesforce_at=EARLIER):
    return guard(
        fields,
        rules,
        lead,
        hubspot_changed_at=NOW,
        salesforce_changed_at=salesforce_at,
        written=written or {},
    )


def test_a_new_lead_gets_every_field_and_remembers_what_it_got():
    """A create has nothing to protect: all is sent, and each protected value is fingerprinted."""
    outcome = _guard(None)
    assert outcome.withheld == {}
    assert outcome.written == {"Title": fingerprint("CTO"), "Phone": fingerprint("+46 70 111")}


def test_rep_edits_are_kept_by_never_overwrite_and_salesforce_wins():
    """Sales' Title (never_overwrite) and Phone (salesforce_wins) stay when both sides changed;
    what we last wrote is still remembered for the next time."""
    before = {"Title": fingerprint("Buyer"), "Phone": fingerprint("+46 70 000")}
    outcome = _guard({"Title": "VP Sales", "Phone": "+46 8 555"}, written=before)
    assert outcome.withheld == {
        "Title": "never_overwrite: both sides have a value; never_overwrite keeps each",
        "Phone": "salesforce_wins: Salesforce wins (salesforce_wins)",
    }
    assert outcome.written == before


def test_never_overwrite_fills_a_blank_salesforce_field():
    """A Title sales left empty is filled from HubSpot, and remembered."""
    outcome = _guard({"Title": "", "Phone": "+46 70 111"})
    assert outcome.withheld == {}
    assert outcome.written["Title"] == fingerprint("CTO")


def test_only_hubspot_changed_since_our_write_so_hubspot_wins_even_under_salesforce_wins():
    """Salesforce still holds the phone we wrote: marketing's new phone goes through."""
    outcome = _guard(
        {"Title": "CTO", "Phone": "+46 70 000"}, written={"Phone": fingerprint("+46 70 000")}
    )
    assert outcome.withheld == {}
    assert outcome.written["Phone"] == fingerprint("+46 70 111")


def test_only_salesforce_changed_since_our_write_so_salesforce_keeps_it():
    """HubSpot still holds what we wrote: sales' later edit is not overwritten with it, even
    under hubspot_unless_blank."""
    outcome = _guard(
        {"Phone": "+46 8 555"},
        written={"Phone": fingerprint("+46 70 111")},
        rules={"Phone": "hubspot_unless_blank"},
    )
    assert outcome.withheld == {
        "Phone": "hubspot_unless_blank: only Salesforce changed since our last write"
    }
    assert outcome.written == {"Phone": fingerprint("+46 70 111")}


def test_both_changed_the_rule_decides():
    """Neither side holds what we wrote: hubspot_unless_blank sends HubSpot's value."""
    outcome = _guard(
        {"Phone": "+46 8 555"},
        written={"Phone": fingerprint("+46 70 000")},
        rules={"Phone": "hubspot_unless_blank"},
    )
    assert outcome.withheld == {}
    assert outcome.written == {"Phone": fingerprint("+46 70 111")}


def test_values_that_already_agree_are_not_sent_and_remembered():
    """`5` and `5.0` agree: nothing is kept, the fingerprint follows the agreed value, and the
    field is not sent (a rep's edit landing between our read and our write would be
    overwritten with it)."""
    outcome = _guard(
        {"NumberOfEmployees": 5.0},
        rules={"NumberOfEmployees": "salesforce_wins"},
        fields={"NumberOfEmployees": "5"},
    )
    assert outcome == Guard(
        {}, {"NumberOfEmployees": fingerprint("5")}, frozenset({"NumberOfEmployees"})
    )


def test_newest_wins_compares_record_change_times():
    """A Lead changed after the contact keeps its value; one changed before gets HubSpot's."""
    rules = {"Phone": "newest_wins"}
    lead = {"Phone": "+46 8 555"}
    later = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert set(_guard(lead, rules=rules, salesforce_at=later).withheld) == {"Phone"}
    assert _guard(lead, rules=rules, salesforce_at=EARLIER).withheld == {}


def test_fingerprints_of_fields_no_longer_protected_are_dropped():
    """A field whose rule went back to hubspot_wins (still mapped, now written without a rule)
    leaves the remembered set: its fingerprint would go stale."""
    fields = {**MAPPED, "Website": "y.test"}
    outcome = _guard(None, written={"Website": fingerprint("x.test")}, fields=fields)
    assert set(outcome.written) == {"Title", "Phone"}


def test_fingerprints_of_fields_that_only_come_back_are_kept():
    """A `to_hubspot` field is never written to Salesforce: the fingerprint the way back
    recorded for it survives a Lead update."""
    outcome = _guard(None, written={"Rating": fingerprint("Hot")})
    assert outcome.written["Rating"] == fingerprint("Hot")


def test_outgoing_leaves_out_withheld_fields_but_the_hash_covers_all():
    """The write omits what Salesforce keeps; `fields` (and so the echo hash) stays whole."""
    d = replace(_decide(), withheld={"Company": "salesforce_wins: ..."})
    assert d.outgoing == {"LastName": "Lovelace", "Email": "ada@acme.test"}
    assert (d.fields, d.hash) == (FIELDS, "h1")


VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            *("", " ", "5", "5.0", "-0", "0", "1e3", "1_000", "nan", "NaN", "inf", "Infinity"),
            *("abc", "ABC", "true", "+46 70 111", "+4670111"),
        ]
    ),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False).map(lambda f: round(f, 1)),
    st.booleans(),
)


@given(VALUES, VALUES)
def test_fingerprints_agree_exactly_when_values_are_the_same(a, b):
    """A remembered fingerprint matches a value just when `same` would call them equal."""
    assert (fingerprint(a) == fingerprint(b)) == same(a, b)


def test_a_converted_persons_change_goes_to_its_contact():
    """Linked by conversion (the link keeps the Lead): a change is an update of the Contact,
    never of the converted Lead; an unchanged one is our echo."""
    link = Link("1", "Contact", "003A", lead_id="00QA", contact_id="003A")
    d = _decide(link=link, last_hash="h0")
    assert (d.action, d.target_id, d.target_object, d.fields) == (
        "update_contact",
        "003A",
        "Contact",
        FIELDS,
    )
    assert _decide(link=link, last_hash="h1").action == "unchanged"


def test_a_customer_linked_by_email_is_left_to_sales():
    """A Contact found by email (no Lead ever) is a customer: marketing's changes stay out."""
    link = Link("1", "Contact", "003A", contact_id="003A")
    assert _decide(link=link, last_hash="h0").action == "unchanged"


def test_a_first_loss_to_salesforce_remembers_hubspots_value_as_the_older_one():
    """With nothing written before (a Lead found by email, or one created by a run killed
    before its record), a field Salesforce wins is fingerprinted with HubSpot's value: while
    HubSpot still holds it, Salesforce's value is the one that changed, whatever the record
    change times say later."""
    outcome = _guard({"Title": "VP Sales", "Phone": "+46 8 555"})
    assert "Phone" in outcome.withheld
    assert outcome.written["Phone"] == fingerprint("+46 70 111")
    again = _guard({"Title": "VP Sales", "Phone": "+46 8 555"}, written=outcome.written)
    assert again.withheld["Phone"].endswith("only Salesforce changed since our last write")


def test_what_was_being_sent_tells_which_side_changed_after_a_write_left_unrecorded():
    """The agreement is "0"; a stream was sending "1" when it was killed before its record.
    One side holds "1": either the write landed and the other side changed since (that side
    wins), or it never landed and the other side still holds "0" (the value being carried over
    wins). Neither side holding it leaves the agreement as it was."""
    agreed, sent = fingerprint("0"), fingerprint("1")
    # Landed in HubSpot, the rep changed the Lead since: Salesforce changed.
    assert last_agreed(agreed, "1", "2", sent) == "1"
    # Never landed in HubSpot: the Lead's "1" is the newer, HubSpot unchanged since "0".
    assert last_agreed(agreed, "0", "1", sent) == "0"
    # Landed on the Lead, marketing changed HubSpot since: HubSpot changed.
    assert last_agreed(agreed, "3", "1", sent) == "1"
    # Nothing agreed before (a creation killed before its record), the rep changed the Lead.
    assert last_agreed(None, "1", "2", sent) == "1"
    # Without a note, or with neither side holding it: as before.
    assert last_agreed(agreed, "1", "2") is NEVER_WRITTEN
    assert last_agreed(agreed, "0", "2", fingerprint("9")) == "0"
