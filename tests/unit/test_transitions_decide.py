"""What the streams record of a lead's journey for the reports: a handoff with its owner,
queue, source and campaign; sales' touch, acceptance and rejection with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connector.mapping.status import load_status_mapping
from connector.model import HubSpotContact, Transition
from connector.streams.contacts.decide import handoff_transitions
from connector.streams.leads.decide import feedback_transitions

STATUS = load_status_mapping(Path(__file__).resolve().parents[2] / "mappings")
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
LEAD = "00Q000000000001AAA"


def _contact(**properties: str | None) -> HubSpotContact:
    return HubSpotContact("101", {"email": "ada@example.test", **properties}, T0)


def test_handoff_records_mql_time_owner_queue_source_and_campaign_never_the_person() -> None:
    """HubSpot's MQL date (ISO or epoch ms) becomes the MQL transition; the handoff is timed
    when recorded; a queue owner is its queue; no email or name travels."""
    contact = _contact(
        hs_lifecyclestage_marketingqualifiedlead_date="1772445600000",
        hs_analytics_source="PAID_SEARCH",
        hs_analytics_last_touch_converting_campaign="spring",
    )
    mql, handoff = handoff_transitions(contact, LEAD, "00G000000000001AAA")
    assert mql == Transition(
        "mql",
        "101",
        LEAD,
        datetime(2026, 3, 2, 10, tzinfo=UTC),
        owner_id="00G000000000001AAA",
        queue="00G000000000001AAA",
        source="PAID_SEARCH",
        campaign="spring",
    )
    assert handoff.stage == "handoff" and handoff.at is None
    assert "ada" not in repr(handoff)
    (only,) = handoff_transitions(_contact(), LEAD, "005000000000001AAA")
    assert (only.stage, only.queue, only.source) == ("handoff", None, None)


def test_feedback_records_touch_and_acceptance_or_rejection_with_its_reason() -> None:
    """An accepted status is a touch and an acceptance; a rejected one a touch and a rejection
    with the reason field the status copies; an open status records nothing."""
    base = {"Id": LEAD, "OwnerId": "005A", "SystemModstamp": T0}
    accepted = feedback_transitions({**base, "Status": "Working - Contacted"}, "101", STATUS)
    assert [(t.stage, t.at, t.owner_id) for t in accepted] == [
        ("touched", T0, "005A"),
        ("accepted", T0, "005A"),
    ]
    rejected = feedback_transitions(
        {**base, "Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget"},
        "101",
        STATUS,
    )
    assert [(t.stage, t.reason) for t in rejected] == [("touched", None), ("rejected", "No budget")]
    no_reason = feedback_transitions({**base, "Status": "Closed - Not Converted"}, "101", STATUS)
    assert no_reason[-1].reason == "Closed - Not Converted"
    assert feedback_transitions({**base, "Status": "Open - Not Contacted"}, "101", STATUS) == []
    assert feedback_transitions({**base, "Status": "Unknown"}, "101", STATUS) == []
