"""What a Lead or Contact removed in Salesforce does to its link and HubSpot contact
(`connector.streams.leads.gone`): pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.mapping.model import SalesforceRemovals, WriteBack
from connector.mapping.privacy import Recognise, SalesforceRequests
from connector.model import Link
from connector.streams.leads.gone import Removed, asks_erasure, decide, removed_of

SETTINGS = SalesforceRemovals()
WB = WriteBack()
STAMP = datetime(2026, 12, 7, 10, tzinfo=UTC)


def _removed(rid: str = "00Q2", master: str | None = None, **kw: object) -> Removed:
    values: dict[str, object] = {
        "sobject": "Lead",
        "id": rid,
        "master_id": master,
        "hubspot_id": "102",
        "erasure": False,
        "stamp": STAMP,
    }
    values.update(kw)
    return Removed(**values)  # type: ignore[arg-type]


def _decide(removed: Removed, link: Link | None, kept: Link | None = None, ext: str | None = None):
    return decide(
        removed, link, kept_link=kept, kept_hubspot_id=ext, settings=SETTINGS, writeback=WB
    )


LINK = Link("102", "Lead", "00Q2", lead_id="00Q2")


def test_a_merged_lead_moves_its_link_and_the_contacts_id_to_the_record_kept() -> None:
    """Merged into an unclaimed Lead: the link names the kept Lead, the contact's Lead id
    property is rewritten to it, and the kept Lead gets the contact's id to carry."""
    decision = _decide(_removed(master="00Q1"), LINK)

    assert decision.kind == "move"
    assert decision.link == Link("102", "Lead", "00Q1", lead_id="00Q1")
    assert decision.updates == {"salesforceleadid": "00Q1"}
    assert decision.claim == "102"


def test_a_merge_into_a_record_already_carrying_the_contacts_id_claims_nothing() -> None:
    """The kept Lead carries this contact's id already: the link moves, nothing to claim."""
    decision = _decide(_removed(master="00Q1"), LINK, ext="102")

    assert (decision.kind, decision.claim) == ("move", None)


def test_a_merge_into_another_contacts_record_closes_this_link_and_reports_it() -> None:
    """The kept Lead is linked to contact 101: never two links to one record. The merged-away
    contact's link closes, its id is cleared, its status says merged, the reason names both."""
    kept = Link("101", "Lead", "00Q1", lead_id="00Q1")

    decision = _decide(_removed(master="00Q1"), LINK, kept=kept)

    assert decision.kind == "conflict"
    assert decision.link is None
    assert decision.updates == {
        "salesforceleadid": None,
        "leadbridge_salesforce_status": SETTINGS.merged,
    }
    assert "00Q1" in decision.reason and "101" in decision.reason


def test_a_merge_into_a_record_carrying_another_contacts_id_is_a_conflict_too() -> None:
    """No link in the store, but the kept Lead carries contact 105's id: a conflict."""
    assert _decide(_removed(master="00Q1"), LINK, ext="105").kind == "conflict"


def test_a_deleted_lead_closes_the_link_clears_the_id_and_tells_marketing() -> None:
    """A plain delete: the link closes, the Lead id is cleared, the status says deleted."""
    decision = _decide(_removed(), LINK)

    assert decision.kind == "close"
    assert decision.hubspot_id == "102"
    assert decision.updates == {
        "salesforceleadid": None,
        "leadbridge_salesforce_status": "deleted in Salesforce",
    }


def test_a_deleted_contact_clears_the_contact_id_property() -> None:
    """A Contact deleted: its own id property is cleared, not the Lead's."""
    link = Link("102", "Contact", "0031", lead_id="00Q2", contact_id="0031")

    decision = _decide(_removed("0031", sobject="Contact"), link)

    assert decision.kind == "close"
    assert decision.updates["salesforcecontactid"] is None
    assert "salesforceleadid" not in decision.updates


def test_without_a_status_property_only_the_id_is_cleared() -> None:
    """`status_property: null`: the id cleared, no status written."""
    decision = decide(
        _removed(),
        LINK,
        kept_link=None,
        kept_hubspot_id=None,
        settings=SalesforceRemovals(status_property=None),
        writeback=WB,
    )
    assert decision.updates == {"salesforceleadid": None}


def test_a_record_no_link_names_changes_nothing() -> None:
    """Not linked (never ours, or handled before): nothing to do, however often it is read;
    nor a converted Lead whose link now names the Contact."""
    assert _decide(_removed(), None).kind == "none"
    converted = Link("102", "Contact", "0031", lead_id="00Q2", contact_id="0031")
    assert _decide(_removed(), converted).kind == "none"


def test_a_flagged_deletion_is_an_erasure_of_the_linked_contact() -> None:
    """Deleted with the privacy flag: erase, about the linked contact (else the id it carried),
    whatever else is true of it."""
    flagged = _removed(master="00Q1", erasure=True, hubspot_id="999")

    assert _decide(flagged, LINK).kind == "erase"
    assert _decide(flagged, LINK).hubspot_id == "102"
    assert _decide(flagged, None).hubspot_id == "999"


def test_the_privacy_flag_is_recognised_as_privacy_yaml_says() -> None:
    """`equals: true` matches a checkbox (or its text), a text value matches without case or
    space; no rule, no erasure."""
    box = Recognise(field="Privacy_Erasure__c")
    assert asks_erasure({"Privacy_Erasure__c": True}, box)
    assert asks_erasure({"Privacy_Erasure__c": "true"}, box)
    assert not asks_erasure({"Privacy_Erasure__c": False}, box)
    assert not asks_erasure({}, box)
    text = Recognise(field="Status__c", equals="Forget me")
    assert asks_erasure({"Status__c": " forget ME "}, text)
    assert not asks_erasure({"Status__c": None}, text)
    assert not asks_erasure({"Privacy_Erasure__c": True}, None)


def test_a_removed_row_reads_its_object_master_external_id_and_flag() -> None:
    """A `removed_records` row becomes a `Removed` with the Contact rule for a Contact."""
    requests = SalesforceRequests(contact=Recognise(field="Forget__c"))
    row = {
        "sobject": "Contact",
        "Id": "0031",
        "MasterRecordId": None,
        "HubSpot_Contact_Id__c": "7",
        "Forget__c": True,
        "SystemModstamp": STAMP,
    }

    removed = removed_of(row, "HubSpot_Contact_Id__c", requests)

    assert removed == Removed("Contact", "0031", None, "7", erasure=True, stamp=STAMP)
    assert not removed_of({**row, "sobject": "Lead"}, "HubSpot_Contact_Id__c", requests).erasure


def test_held_out_names_the_property_for_a_contact_whose_record_was_removed() -> None:
    """A contact showing the deleted or merged text is held out, with how to send it again;
    any other value (or none) is not."""
    assert "clear leadbridge_salesforce_status" in (
        SETTINGS.held_out({"leadbridge_salesforce_status": "deleted in Salesforce"}) or ""
    )
    assert SETTINGS.held_out({"leadbridge_salesforce_status": SETTINGS.merged})
    assert SETTINGS.held_out({"leadbridge_salesforce_status": "something else"}) is None
    assert SETTINGS.held_out({}) is None
