"""The pure decisions of HubSpot contact merges and deletions: which Lead the survivor keeps,
which are duplicates and what happens to them, what a deletion does per setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping.model import MergesAndDeletions, load_lead_mapping
from connector.model import Link
from connector.streams.identity.decide import (
    MergeIds,
    flag_fields,
    merge_ids,
    plan_deletion,
    plan_merge,
)

FLAG = MergesAndDeletions(on_duplicate_after_merge="flag")
MERGE = MergesAndDeletions(on_duplicate_after_merge="merge")


def lead(hubspot_id: str, lead_id: str) -> Link:
    return Link(hubspot_id, "Lead", lead_id, lead_id=lead_id)


def converted(hubspot_id: str, lead_id: str, contact_id: str) -> Link:
    return Link(hubspot_id, "Contact", contact_id, lead_id=lead_id, contact_id=contact_id)


# -- the event ---------------------------------------------------------------------------------
def test_merge_ids_take_the_survivor_and_the_merged_ids_from_the_documented_fields() -> None:
    """primaryObjectId survives with the mergedObjectIds gone into it."""
    event = {"primary_object_id": "101", "merged_object_ids": ["102"], "new_object_id": "101"}
    assert merge_ids(event) == MergeIds("101", ("102",))


def test_a_new_object_id_other_than_the_primary_merges_the_primary_away_too() -> None:
    """When HubSpot names a newObjectId, it is the survivor and the primary moves into it."""
    event = {"primary_object_id": "101", "merged_object_ids": ["102"], "new_object_id": "900"}
    assert merge_ids(event) == MergeIds("900", ("101", "102"))


def test_a_merge_naming_no_contact_has_no_ids() -> None:
    """An event without primary, new or object id cannot be carried out."""
    assert merge_ids({"merged_object_ids": ["102"]}) is None


# -- merges ------------------------------------------------------------------------------------
def test_the_survivor_keeps_its_own_lead_and_the_other_is_a_duplicate_per_setting() -> None:
    """Both linked: the survivor's Lead is kept; the other is merged or flagged as set."""
    links = {"101": lead("101", "00QA"), "102": lead("102", "00QB")}
    for settings, action in ((MERGE, "merge"), (FLAG, "flag")):
        plan = plan_merge(MergeIds("101", ("102",)), links, settings)
        assert plan.keep == lead("101", "00QA")
        assert plan.kept_from == "101" and plan.retag is None
        assert [(d.record_id, d.action) for d in plan.duplicates] == [("00QB", action)]
        assert "00QB" in plan.duplicates[0].reason and "00QA" in plan.duplicates[0].reason


def test_an_unlinked_survivor_takes_the_merged_contacts_lead_which_is_retagged() -> None:
    """Only the merged-away contact had a Lead: it moves to the survivor, and must carry the
    survivor's id so an upsert by external id finds it."""
    plan = plan_merge(MergeIds("101", ("102",)), {"102": lead("102", "00QB")}, MERGE)
    assert plan.keep == lead("101", "00QB")
    assert (plan.kept_from, plan.retag, plan.duplicates) == ("102", "00QB", ())
    assert plan.salesforce_work


def test_no_link_on_either_side_is_nothing_to_do() -> None:
    """A merge of contacts leadbridge never linked changes nothing."""
    plan = plan_merge(MergeIds("101", ("102",)), {}, MERGE)
    assert plan.keep is None and not plan.duplicates and not plan.salesforce_work


def test_a_merge_seen_again_after_the_move_finds_nothing_more_to_do() -> None:
    """After the move only the survivor is linked: a second delivery plans no Salesforce work."""
    plan = plan_merge(MergeIds("101", ("102",)), {"101": lead("101", "00QB")}, MERGE)
    assert plan.retag is None and plan.duplicates == () and not plan.salesforce_work


def test_converted_records_are_reported_never_merged() -> None:
    """Salesforce merges no converted Lead: a person is told, whatever the setting."""
    links = {"101": converted("101", "00QA", "003A"), "102": lead("102", "00QB")}
    plan = plan_merge(MergeIds("101", ("102",)), links, MERGE)
    assert [(d.record_id, d.action) for d in plan.duplicates] == [("00QB", "report")]
    assert "converted" in plan.duplicates[0].reason


def test_two_contacts_linked_to_one_record_are_no_duplicate() -> None:
    """Two contacts of one person linked to the same Contact: nothing to merge."""
    links = {
        "101": Link("101", "Contact", "003A", contact_id="003A"),
        "102": converted("102", "00QB", "003A"),
    }
    plan = plan_merge(MergeIds("101", ("102",)), links, MERGE)
    assert plan.duplicates == ()


def test_three_way_merge_keeps_one_and_lists_both_others() -> None:
    """Every Lead other than the kept one is a duplicate, in the event's order."""
    links = {"102": lead("102", "00QB"), "103": lead("103", "00QC")}
    plan = plan_merge(MergeIds("101", ("102", "103")), links, FLAG)
    assert plan.keep == lead("101", "00QB") and plan.retag == "00QB"
    assert [d.record_id for d in plan.duplicates] == ["00QC"]


# -- deletions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("setting", ["leave", "flag", "delete"])
def test_a_deleted_contacts_lead_is_handled_per_setting(setting: str) -> None:
    """on_contact_deleted decides what happens to the Lead."""
    settings = MergesAndDeletions(on_contact_deleted=setting)  # type: ignore[arg-type]
    plan = plan_deletion("101", lead("101", "00QA"), settings)
    assert plan.action == setting and "00QA" in plan.reason


def test_a_deleted_customer_is_left_and_an_unlinked_contact_is_nothing() -> None:
    """A Contact is never deleted or flagged; an unlinked (or already closed) contact: no-op."""
    settings = MergesAndDeletions(on_contact_deleted="delete")
    assert plan_deletion("101", converted("101", "00QA", "003A"), settings).action == "report"
    assert plan_deletion("101", None, settings).action == "none"


def test_a_checkbox_flag_is_sent_as_a_boolean() -> None:
    """flag.value "true" sets a checkbox; any other value is sent as text."""
    checkbox = MergesAndDeletions.model_validate({"flag": {"field": "Dup__c", "value": "true"}})
    assert flag_fields(checkbox) == {"Dup__c": True}
    assert flag_fields(FLAG) == {"Status": "Closed - Not Converted"}


# -- the setting in lead.yaml ------------------------------------------------------------------
def test_an_unknown_setting_value_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """A wrong on_duplicate_after_merge is refused at load, naming file, line and setting."""
    text = (Path(__file__).parents[2] / "mappings" / "lead.yaml").read_text()
    text = text.replace("on_duplicate_after_merge: flag", "on_duplicate_after_merge: delete")
    (tmp_path / "lead.yaml").write_text(text)
    with pytest.raises(MappingError) as raised:
        load_lead_mapping(tmp_path)
    lines = [line for line in str(raised.value).splitlines() if "on_duplicate_after_merge" in line]
    assert len(lines) == 1 and "lead.yaml:" in lines[0] and "'merge'" in lines[0], raised.value


def test_the_shipped_lead_yaml_sets_both_settings() -> None:
    """mappings/lead.yaml documents and sets the two settings (defaults: flag, leave)."""
    mapping = load_lead_mapping(Path(__file__).parents[2] / "mappings")
    assert mapping.merges_and_deletions == MergesAndDeletions()
