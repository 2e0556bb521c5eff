"""Sales feedback decisions (what a contact shows for its Lead's status) and status.yaml."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.files.loader import load_file
from connector.mapping.status import StatusMapping, load_status_mapping
from connector.streams.leads.decide import (
    FeedbackDecision,
    ListRemovals,
    feedback_for,
    is_list_id,
    list_names,
    list_removals,
    target,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
STATUS = load_status_mapping(MAPPINGS)


def _lead(status: str | None, **fields: str | None) -> dict[str, str | None]:
    return {"Id": "00QA", "HubSpot_Contact_Id__c": "101", "Status": status, "OwnerId": "005R"} | (
        fields
    )


def test_accepted_sets_status_owner_and_when():
    """Working - Contacted: HubSpot shows IN_PROGRESS, the owner (id and, through the Owner
    relationship, email) and when sales accepted; the stage is left alone."""
    accepted = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    lead = _lead("Working - Contacted", Owner={"Email": "rep@acme.test"}, LastModifiedDate=accepted)
    decision = feedback_for(
        lead, {"hs_lead_status": "NEW", "lifecyclestage": "marketingqualifiedlead"}, STATUS
    )
    wanted = {
        "hs_lead_status": "IN_PROGRESS",
        "salesforce_owner_id": "005R",
        "salesforce_owner_email": "rep@acme.test",
    }
    assert decision == FeedbackDecision(
        updates={**wanted, "sales_accepted_at": "2026-11-23T09:30:00.000Z"},
        clear_first=False,
        reason=(
            "accepted: set hs_lead_status, salesforce_owner_id, salesforce_owner_email; "
            "sales_accepted_at stamped"
        ),
        kind="accepted",
        wanted=wanted,
    )


def test_the_acceptance_stamp_is_written_once():
    """A contact that already shows when sales accepted keeps that moment."""
    later = datetime(2026, 12, 1, tzinfo=UTC)
    lead = _lead("Working - Contacted", LastModifiedDate=later)
    shown = {"hs_lead_status": "IN_PROGRESS", "sales_accepted_at": "2026-11-23T09:30:00.000Z"}
    decision = feedback_for(lead, {**shown, "salesforce_owner_id": "005R"}, STATUS)
    assert decision.updates == {}


def test_rejected_sends_reason_and_resets_stage_clearing_first():
    """Closed - Not Converted: the reason reaches HubSpot and the stage goes back to lead, which
    HubSpot takes only after the stage is cleared."""
    decision = feedback_for(
        _lead("Closed - Not Converted", Rejection_Reason__c="No budget"),
        {"lifecyclestage": "marketingqualifiedlead", "hs_lead_status": "IN_PROGRESS"},
        STATUS,
    )
    assert decision.updates == {
        "hs_lead_status": "UNQUALIFIED",
        "salesforce_owner_id": "005R",
        "sales_rejection_reason": "No budget",
        "lifecyclestage": "lead",
    }
    assert decision.clear_first is True
    assert decision.kind == "rejected"
    assert decision.reason == (
        "rejected: set hs_lead_status, salesforce_owner_id, sales_rejection_reason; "
        "lifecycle back to lead (cleared first)"
    )


def test_rejected_from_an_earlier_stage_moves_forward_without_clearing():
    """A subscriber rejected to lead moves forward: one write, no clearing."""
    decision = feedback_for(
        _lead("Closed - Not Converted"), {"lifecyclestage": "subscriber"}, STATUS
    )
    assert decision.clear_first is False
    assert decision.updates["lifecyclestage"] == "lead"
    # No reason given, none in HubSpot: nothing to write for it.
    assert decision.wanted["sales_rejection_reason"] is None
    assert "sales_rejection_reason" not in decision.updates


def test_nothing_to_do_when_hubspot_already_shows_it():
    """Every value already in HubSpot (numbers compared as text): no write at all."""
    decision = feedback_for(
        _lead("Closed - Not Converted", Rejection_Reason__c="No budget"),
        {
            "hs_lead_status": "UNQUALIFIED",
            "salesforce_owner_id": "005R",
            "sales_rejection_reason": "No budget",
            "lifecyclestage": "lead",
        },
        STATUS,
    )
    assert (decision.updates, decision.clear_first) == ({}, False)
    assert decision.reason == "rejected: HubSpot already shows it"


def test_accepted_never_moves_a_stage_backward():
    """A non-rejected status whose stage the contact is already past keeps the contact's stage."""
    mapping = StatusMapping.model_validate(
        {"statuses": {"Working": {"kind": "accepted", "lifecycle_stage": "salesqualifiedlead"}}}
    )
    decision = feedback_for(
        _lead("Working"), {"lifecyclestage": "opportunity", "salesforce_owner_id": "005R"}, mapping
    )
    assert decision.updates == {}
    assert decision.reason == (
        "accepted: HubSpot already shows it; lifecycle kept: already past salesqualifiedlead"
    )


def test_unknown_status_is_a_clear_reason():
    """A status status.yaml does not list writes nothing and says which statuses it knows."""
    decision = feedback_for(_lead("Recycled"), {}, STATUS)
    assert decision.unmapped
    assert decision.updates == {}
    assert decision.reason == (
        "Lead status 'Recycled' is not in status.yaml (known: 'Open - Not Contacted', "
        "'Working - Contacted', 'Closed - Not Converted', 'Closed - Converted')"
    )


def test_converted_is_left_to_conversion():
    """Closed - Converted writes nothing here: conversion links the contact."""
    decision = feedback_for(_lead("Closed - Converted"), {"lifecyclestage": "lead"}, STATUS)
    assert (decision.kind, decision.updates) == ("converted", {})


def test_shipped_status_yaml_defaults():
    """The shipped file maps Salesforce's four default statuses as documented."""
    rules = STATUS.statuses
    assert {s: (r.kind, r.lead_status, r.lifecycle_stage) for s, r in rules.items()} == {
        "Open - Not Contacted": ("open", "NEW", None),
        "Working - Contacted": ("accepted", "IN_PROGRESS", None),
        "Closed - Not Converted": ("rejected", "UNQUALIFIED", "lead"),
        "Closed - Converted": ("converted", None, None),
    }
    assert STATUS.lead_fields() == [
        "Status",
        "OwnerId",
        "Owner.Email",
        "LastModifiedDate",
        "Rejection_Reason__c",
    ]
    # No list is left by default: the lists a portal nurtures with are the admin's to name.
    assert STATUS.list_refs() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "statuses:\n  Working:\n    kind: acepted\n",
            "3:11: statuses.Working.kind: Input should be 'open', 'accepted', 'rejected' or "
            "'converted'; did you mean 'accepted'?",
        ),
        (
            "statuses:\n  Lost:\n    kind: rejected\n    lifecycle_stage: leed\n",
            "4:22: statuses.Lost.lifecycle_stage: 'leed' is not one of stages ['subscriber', "
            "'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', "
            "'evangelist']; did you mean 'lead'?",
        ),
        (
            "statuses:\n  Done:\n    kind: converted\n    lead_status: CLOSED\n",
            "3:5: statuses.Done: a converted Lead is mirrored by conversion (conversion.yaml), "
            "so kind: converted takes no lead_status",
        ),
        (
            "statuses:\n  Lost:\n    kind: rejected\n    copy: {Reason__c: Sales Reason}\n",
            "4:23: statuses.Lost.copy.Reason__c: 'Sales Reason' is not a HubSpot property name "
            "(lower-case letters, digits and _)",
        ),
        (
            "statuses:\n  Lost:\n    kind: rejected\n    copy: {Other__c: salesforce_owner_id}\n",
            "4:22: statuses.Lost.copy.Other__c: HubSpot property 'salesforce_owner_id' is "
            "already written by copy.OwnerId; one property, one source",
        ),
        (
            "statuses:\n  Lost:\n    kind: rejected\n    reason: x\n",
            "4:5: statuses.Lost.reason: unknown key 'reason'",
        ),
        (
            "statuses:\n  Working:\n    kind: accepted\n    leave_lists: Prospect nurture\n",
            "4:18: statuses.Working.leave_lists: Input should be a valid list",
        ),
        (
            'statuses:\n  Working:\n    kind: accepted\n    leave_lists: [12, "  "]\n',
            "4:23: statuses.Working.leave_lists.1: a list is named by its id (digits only, such "
            "as 12) or by its name, not blank",
        ),
        (
            "statuses:\n  Working:\n    kind: accepted\n    leave_lists: [{id: 12}]\n",
            "4:19: statuses.Working.leave_lists.0: Input should be a valid string",
        ),
        (
            "statuses:\n  Working:\n    kind: accepted\n    leave_list: [12]\n",
            "4:5: statuses.Working.leave_list: unknown key 'leave_list'; did you mean "
            "'leave_lists'?",
        ),
        (
            "statuses:\n  Done:\n    kind: converted\n    leave_lists: [12]\n",
            "3:5: statuses.Done: a converted Lead is mirrored by conversion (conversion.yaml), "
            "so kind: converted takes no leave_lists",
        ),
        (
            "accepted_leave_lists: [Prospect nurture]\nstatuses:\n  Lost:\n    kind: rejected\n",
            "1:23: accepted_leave_lists: no status has kind: accepted, so no contact would ever "
            "leave these lists",
        ),
    ],
)
def test_broken_status_yaml_reports_line_and_column(tmp_path, text, expected):
    """Every mistake in status.yaml is reported as status.yaml:LINE:COL through the one loader."""
    path = tmp_path / "status.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_file(path, StatusMapping)
    assert str(info.value) == f"{path}:{expected}"


# -- leaving lists --------------------------------------------------------------------------
LISTS = StatusMapping.model_validate(
    {
        "accepted_leave_lists": ["Prospect nurture", 12],
        "statuses": {
            "Working": {"kind": "accepted", "leave_lists": [40, "prospect nurture", 12]},
            "Contacted": {"kind": "accepted"},
            "Lost": {"kind": "rejected", "leave_lists": ["Sales pipeline"]},
            "Open": {"kind": "open"},
            "Won": {"kind": "converted"},
        },
    }
)


def test_accepted_leads_leave_the_shared_and_their_own_lists():
    """An accepted status leaves accepted_leave_lists, then its own lists, each once; numbers
    in YAML are list ids as text."""
    assert target(_lead("Working"), LISTS).leave_lists == (
        "Prospect nurture",
        "12",
        "40",
        "prospect nurture",
    )
    assert target(_lead("Contacted"), LISTS).leave_lists == ("Prospect nurture", "12")


def test_other_kinds_leave_only_their_own_lists():
    """accepted_leave_lists is for accepted statuses only; any other kind may name its own."""
    assert target(_lead("Lost"), LISTS).leave_lists == ("Sales pipeline",)
    assert target(_lead("Open"), LISTS).leave_lists == ()
    assert target(_lead("Won"), LISTS).leave_lists == ()


def test_leaving_lists_is_not_a_property_update():
    """A contact that already shows everything still has its lists to leave: the decision
    writes nothing, the target keeps the lists."""
    lead = _lead("Contacted")
    decision = feedback_for(lead, {"salesforce_owner_id": "005R"}, LISTS)
    assert decision.updates == {}
    assert target(lead, LISTS).leave_lists == ("Prospect nurture", "12")


def test_list_refs_name_every_list_once_and_names_are_told_from_ids():
    """The file's lists, each once, in order; digits only is an id, anything else a name."""
    assert LISTS.list_refs() == [
        "Prospect nurture",
        "12",
        "40",
        "prospect nurture",
        "Sales pipeline",
    ]
    assert list_names(LISTS.list_refs()) == [
        "Prospect nurture",
        "prospect nurture",
        "Sales pipeline",
    ]
    assert [is_list_id(r) for r in ("12", "0012", "12a", "Q4 2026", "١٢", "")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_list_removals_group_contacts_by_list_id():
    """Names become ids; a list named twice (id and name) takes each contact once; a name
    HubSpot does not know is reported with its contacts instead of being sent."""
    leaving = {
        "101": ("Prospect nurture", "12", "40"),
        "102": ("12",),
        "103": ("Webinar leads", "Prospect nurture"),
    }
    ids = {"Prospect nurture": "12"}

    assert list_removals(leaving, ids) == ListRemovals(
        memberships={"12": ["101", "102", "103"], "40": ["101"]},
        unknown={"Webinar leads": ["103"]},
    )
