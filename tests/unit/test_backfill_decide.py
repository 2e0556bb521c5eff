"""The backfill's and the link jobs' own decisions (pure): outcomes, the budget share, counts
kept across runs, read marks, links from claims, drift, and how progress is shown."""

from __future__ import annotations

from datetime import UTC, datetime

from structlog.testing import capture_logs

from connector.commands.progress import Display
from connector.model import HubSpotContact, Link, ReadMark, is_salesforce_id
from connector.streams.backfill.decide import Options, Tally, budget_cap, explain, outcome
from connector.streams.backfill.stream import Progress
from connector.streams.contacts.decide import Decision
from connector.streams.links.decide import (
    Claim,
    Conflict,
    differing_fields,
    hubspot_disagrees,
    link_from_claims,
)

NOW = datetime(2026, 12, 7, tzinfo=UTC)
CONTACT = HubSpotContact("1", {"email": "a@b.test"}, NOW)


def test_outcomes_name_what_salesforce_gets():
    """A plan says create for a new Lead, update for a known one, link, converted, and the
    decision's own word otherwise."""
    assert outcome(Decision(CONTACT, "upsert", "new")) == "create"
    assert outcome(Decision(CONTACT, "upsert", "changed", known=True)) == "update"
    assert outcome(Decision(CONTACT, "link_lead", "email")) == "link"
    assert outcome(Decision(CONTACT, "link_contact", "email")) == "link"
    assert outcome(Decision(CONTACT, "update_contact", "converted")) == "converted"
    assert outcome(Decision(CONTACT, "skip", "no")) == "skip"


def test_explain_names_the_fields_a_conflict_rule_keeps():
    """A row's reason says which fields Salesforce keeps and why, once."""
    decision = Decision(
        CONTACT,
        "upsert",
        "changed since we last wrote",
        known=True,
        withheld={"Title": "salesforce_wins: Salesforce wins (salesforce_wins)"},
    )
    assert explain(decision) == (
        "changed since we last wrote; Salesforce keeps Title (Salesforce wins (salesforce_wins))"
    )


def test_budget_cap_is_the_share_of_what_is_left_rounded_down():
    """30 % of 1,001 calls left is 300 calls; nothing left, nothing to spend."""
    assert budget_cap(1001, 30) == 300
    assert budget_cap(0, 30) == 0


def test_tally_survives_its_checkpoint_and_keeps_few_failures():
    """The counts a resumed run adds to come back from JSON as they were; the failures listed
    stop at twenty (the dead-letter store has them all)."""
    tally = Tally()
    tally.add({"create": 3, "skip": 0})
    tally.spend("salesforce", 4)
    tally.fail([(str(i), "bad") for i in range(30)])
    again = Tally.from_json(tally.as_json())
    assert again == tally
    assert again.outcomes == {"create": 3}
    assert len(again.failures) == 20


def test_options_say_how_they_were_typed():
    """The resume hint repeats the options a person gave."""
    options = Options(since=NOW, stages=("lead", "marketingqualifiedlead"), limit=5)
    assert options.describe() == (
        "--since 2026-12-07T00:00:00+00:00 --stage lead --stage marketingqualifiedlead --limit 5"
    )
    assert Options().describe() == "(everything)"


def test_a_read_mark_covers_what_was_read():
    """Before its instant everything was read; at it, the ids listed and those up to `upto`."""
    mark = ReadMark(1000, ("7", "12"), upto=5)
    assert mark.covers(999, "99")
    assert mark.covers(1000, "7") and mark.covers(1000, "3")
    assert not mark.covers(1000, "8")
    assert not mark.covers(1001, "1")
    assert ReadMark.from_json(mark.as_json()) == mark


def test_salesforce_ids_are_checked_before_a_query_names_them():
    """A malformed id (wrong checksum, wrong length, not alphanumeric) would fail a query."""
    assert is_salesforce_id("00QKb000000001dMAA")
    assert is_salesforce_id("00QKb000000001d")
    assert not is_salesforce_id("00QKb000000001dMAB")
    assert not is_salesforce_id("@unclaimed")
    assert not is_salesforce_id(None)


def test_links_from_claims():
    """A Lead claims its contact; a converted one gives its Contact; two claims are a
    conflict, never a guess."""
    lead = Claim("Lead", "00Q1")
    converted = Claim("Lead", "00Q2", converted=True, contact_id="0031", account_id="0011")
    assert link_from_claims("1", [lead]) == Link("1", "Lead", "00Q1", lead_id="00Q1")
    assert link_from_claims("1", [converted, Claim("Contact", "0031")]) == Link(
        "1", "Contact", "0031", lead_id="00Q2", contact_id="0031", account_id="0011"
    )
    twice = link_from_claims("1", [lead, Claim("Contact", "0039")])
    assert isinstance(twice, Conflict) and twice.kind == "claimed twice"
    assert isinstance(link_from_claims("1", [lead, Claim("Lead", "00Q3")]), Conflict)
    assert link_from_claims("1", []) is None


def test_hubspot_ids_that_contradict_a_link():
    """HubSpot holding another Lead's id is reported; holding none is not a contradiction."""
    link = Link("1", "Lead", "00Q1", lead_id="00Q1")
    assert hubspot_disagrees(link, "00Q1", None) is None
    assert hubspot_disagrees(link, None, None) is None
    assert "HubSpot stores Lead 00Q9" in (hubspot_disagrees(link, "00Q9", None) or "")


def test_differing_fields_leave_out_what_a_rule_keeps():
    """Blank and absent alike, numbers by value; a kept field is no drift."""
    mapped = {"LastName": "Smith", "Phone": None, "NumberOfEmployees": 5, "Title": "CEO"}
    current = {"LastName": "Smyth", "Phone": "", "NumberOfEmployees": 5.0, "Title": "CTO"}
    assert differing_fields(mapped, current, kept=["Title"]) == ["LastName"]


def test_progress_off_a_terminal_is_a_log_event_every_interval():
    """Without a terminal: one `backfill.progress` event per interval, with the rate and ETA."""
    ticks = iter([0.0, 5.0, 10.0, 20.0])
    with (
        capture_logs() as logs,
        Display("backfill", terminal=False, clock=lambda: next(ticks)) as show,
    ):
        show(Progress(100, 400, 50, {"create": 100}))  # at 5 s: not yet
        show(Progress(200, 400, 40, {"create": 200}))  # at 10 s
        show(Progress(300, 400, 30, {"create": 300}))  # at 20 s
    events = [e for e in logs if e["event"] == "backfill.progress"]
    assert [e["done"] for e in events] == [200, 300]
    assert events[0]["per_second"] == 20.0 and events[0]["eta_seconds"] == 10
    assert events[0]["salesforce_calls_left"] == 40


def test_progress_on_a_terminal_draws_a_bar(capsys):
    """On a terminal the bar shows records done of the total and the budget left."""
    with Display("backfill", terminal=True) as show:
        show(Progress(200, 400, 40, {"create": 200}))
    err = capsys.readouterr().err
    assert "backfill" in err and "200/4" in err and "Salesforce calls left 40" in err
