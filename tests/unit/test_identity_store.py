"""Contact merges and deletions in the state store (SQLite and, with
LEADBRIDGE_TEST_DATABASE_URL, PostgreSQL), and the runner that carries them out over fake
gateways: one transaction per step, the same event twice changes nothing, a kill between the
store move and the Salesforce merge is finished by the next run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from connector.mapping.model import MergesAndDeletions
from connector.model import DeadLetter, FieldError, Link, RecordMerge, RecordUpdate, WriteResult
from connector.state import Commit, StateStore
from connector.state.keys import contact_fields_key, contact_key
from connector.state.work import Work, hand_over
from connector.streams.identity.stream import DELETIONS, MERGES, IdentityEvents

EXT = "HubSpot_Contact_Id__c"


@pytest.fixture
def store(database_url: str) -> Iterator[StateStore]:
    with StateStore.open(database_url) as opened:
        yield opened


def lead(hubspot_id: str, lead_id: str) -> Link:
    return Link(hubspot_id, "Lead", lead_id, lead_id=lead_id)


# -- the store ---------------------------------------------------------------------------------
def test_a_merge_moves_link_hashes_and_work_to_the_survivor_in_one_call(store: StateStore) -> None:
    """The merged-away contact's link, hashes, owed write-back and hand-overs become the
    survivor's; its row is gone (its ids live on in the survivor's)."""
    store.record(
        Commit(
            "hubspot.contacts",
            links=[lead("102", "00QB")],
            hashes={contact_key("102"): "h102", contact_fields_key("102"): "{}"},
            owed={"102": {"salesforceleadid": "00QB", "jobtitle": "x"}},
            work=[hand_over("hubspot.conversions", "102", "sql")],
        ),
        run_id="r1",
    )
    moved = store.merge_contacts(
        "101",
        ["102"],
        keep=lead("101", "00QB"),
        kept_from="102",
        commit=Commit(MERGES, owed={"101": {"salesforceleadid": "00QB"}}),
        run_id="m1",
    )
    assert store.links(["101", "102"]) == {"101": lead("101", "00QB")}
    assert store.closed_links(["102"]) == {}
    assert store.hashes([contact_key("101"), contact_key("102")], "to_salesforce") == {
        contact_key("101"): "h102"
    }
    assert [(w.stream, w.record_id) for w in store.work()] == [("hubspot.conversions", "101")]
    (owed,) = store.owed_writebacks()
    assert (owed.hubspot_id, owed.properties) == (
        "101",
        {"salesforceleadid": "00QB", "jobtitle": "x"},
    )
    assert moved["links"] == 1 and moved["work"] == 2
    again = store.merge_contacts(
        "101",
        ["102"],
        keep=lead("101", "00QB"),
        kept_from="101",
        commit=Commit(MERGES),
        run_id="m2",
    )
    assert again == {"links": 0, "hashes": 0, "work": 0, "resolved": 0}
    assert store.links(["101"]) == {"101": lead("101", "00QB")}


def test_a_duplicates_link_is_closed_with_its_ids_kept(store: StateStore) -> None:
    """Both linked: the survivor keeps its own; the other's row is closed, its Lead id kept."""
    store.record(
        Commit(
            "hubspot.contacts",
            links=[lead("101", "00QA"), lead("102", "00QB")],
            hashes={contact_key("101"): "h101", contact_key("102"): "h102"},
            failures=[DeadLetter("hubspot.contacts", "102", "refused")],
        ),
        run_id="r1",
    )
    store.merge_contacts(
        "101", ["102"], keep=lead("101", "00QA"), kept_from="101", commit=Commit(MERGES), run_id="m"
    )
    assert store.links(["101", "102"]) == {"101": lead("101", "00QA")}
    closed = store.closed_links(["102"])["102"]
    assert closed.link == lead("102", "00QB") and closed.reason == "merged into 101"
    assert store.hashes([contact_key("101"), contact_key("102")], "to_salesforce") == {
        contact_key("101"): "h101"
    }
    assert store.dead_letters() == []
    assert store.link_count() == 1 and [x.hubspot_id for x in store.linked_ids()] == ["101"]


def test_a_closed_link_is_reopened_when_written_again(store: StateStore) -> None:
    """A deleted contact restored and synced again is linked again."""
    store.record(Commit("hubspot.contacts", links=[lead("101", "00QA")]), run_id="r1")
    assert store.close_link("101", "deleted in HubSpot", commit=Commit(DELETIONS), run_id="d")
    assert not store.close_link("101", "deleted in HubSpot", commit=Commit(DELETIONS), run_id="d")
    assert store.links(["101"]) == {} and store.closed_links(["101"])["101"].link.lead_id == "00QA"
    store.record(Commit("hubspot.contacts", links=[lead("101", "00QA")]), run_id="r2")
    assert (
        store.links(["101"]) == {"101": lead("101", "00QA")} and store.closed_links(["101"]) == {}
    )


def test_an_erasure_finds_and_removes_a_closed_link(store: StateStore) -> None:
    """The eraser, arriving after the plain deletion, still learns the Lead id and removes it."""
    store.record(Commit("hubspot.contacts", links=[lead("101", "00QA")]), run_id="r1")
    store.close_link("101", "deleted in HubSpot", commit=Commit(DELETIONS), run_id="d")
    erased = store.erase(hubspot_id="101", reason="hubspot_privacy_deletion", key="k" * 32)
    (tombstone,) = store.tombstones()
    assert tombstone.lead_id == "00QA" and erased.removed.get("links") == 1
    assert store.closed_links(["101"]) == {}


# -- the runner over fakes ---------------------------------------------------------------------
class Killed(BaseException):
    """The process dies here."""


class FakeSalesforce:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.merged: set[str] = set()
        self.deleted: set[str] = set()
        self.kill_merge = False

    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        self.calls.append(("update", [(u.record_id, u.fields) for u in updates]))
        return [WriteResult(u.key, success=True, salesforce_id=u.record_id) for u in updates]

    def merge_records(self, sobject: str, merges: Sequence[RecordMerge]) -> list[WriteResult]:
        if self.kill_merge:
            self.kill_merge = False
            raise Killed
        self.calls.append(("merge", [(m.master_id, m.duplicate_ids) for m in merges]))
        results = []
        for m in merges:
            if set(m.duplicate_ids) & self.merged:
                error = FieldError("ENTITY_IS_DELETED", "entity is deleted")
                results.append(WriteResult(m.master_id, success=False, errors=(error,)))
            else:
                self.merged |= set(m.duplicate_ids)
                results.append(WriteResult(m.master_id, success=True, salesforce_id=m.master_id))
        return results

    def delete_records(self, ids: Sequence[str]) -> list[WriteResult]:
        self.calls.append(("delete", list(ids)))
        self.deleted |= set(ids)
        return [WriteResult(i, success=True, salesforce_id=i) for i in ids]


class FakeHubSpot:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_contacts(self, updates: Mapping[str, Mapping[str, str | None]]) -> list[WriteResult]:
        self.updates.append({k: dict(v) for k, v in updates.items()})
        return [WriteResult(k, success=True) for k in updates]


def runner(
    store: StateStore, name: str, sf: FakeSalesforce, hs: FakeHubSpot, **settings: Any
) -> IdentityEvents:
    return IdentityEvents(
        name,
        sf,
        hs,
        store,
        MergesAndDeletions.model_validate(settings),
        external_id_field=EXT,
        lead_property="salesforceleadid",
        contact_property="salesforcecontactid",
    )


def merge_event(survivor: str, merged: str, event_id: int = 1) -> Work:
    payload = {
        "event_id": event_id,
        "subscription_type": "contact.merge",
        "object_id": survivor,
        "primary_object_id": survivor,
        "merged_object_ids": [merged],
        "new_object_id": survivor,
    }
    return Work(MERGES, f"{survivor}<{merged}", "recheck", "webhook", payload)


def deliver(store: StateStore, item: Work) -> None:
    store.record(Commit("hubspot.webhooks", work=[item]), run_id="webhook")


def test_a_merge_delivered_twice_merges_the_duplicate_once(store: StateStore) -> None:
    """Both contacts had a Lead: one SOAP merge, the survivor's Lead id written back, and the
    same event again (HubSpot retries) calls Salesforce for nothing."""
    store.record(
        Commit("hubspot.contacts", links=[lead("101", "00QA"), lead("102", "00QB")]), run_id="r"
    )
    sf, hs = FakeSalesforce(), FakeHubSpot()
    events = runner(store, MERGES, sf, hs, on_duplicate_after_merge="merge")
    deliver(store, merge_event("101", "102"))
    summary = events.run_all()
    assert (summary.merges, summary.duplicates, summary.merged) == (1, 1, 1)
    assert sf.calls == [("merge", [("00QA", ("00QB",))])]
    assert hs.updates == [{"101": {"salesforceleadid": "00QA"}}]
    deliver(store, merge_event("101", "102", event_id=2))
    again = events.run_all()
    assert again.merges == 1 and again.duplicates == 0
    assert sf.calls == [("merge", [("00QA", ("00QB",))])]
    assert store.work() == [] and store.owed_writebacks() == []
    assert store.links(["101", "102"]) == {"101": lead("101", "00QA")}


def test_a_kill_between_the_store_move_and_the_salesforce_merge_is_finished_next_run(
    store: StateStore,
) -> None:
    """The move is recorded with the Salesforce step as pending work: a new runner (the process
    started again) merges the duplicate once and settles the write-back."""
    store.record(
        Commit("hubspot.contacts", links=[lead("101", "00QA"), lead("102", "00QB")]), run_id="r"
    )
    sf, hs = FakeSalesforce(), FakeHubSpot()
    sf.kill_merge = True
    deliver(store, merge_event("101", "102"))
    with pytest.raises(Killed):
        runner(store, MERGES, sf, hs, on_duplicate_after_merge="merge").run_all()
    assert store.links(["101", "102"]) == {"101": lead("101", "00QA")}
    (left,) = store.work(MERGES)
    assert left.kind == "pending" and sf.calls == []
    runner(store, MERGES, sf, hs, on_duplicate_after_merge="merge").run_all()
    assert sf.calls == [("merge", [("00QA", ("00QB",))])]
    assert store.work() == [] and store.owed_writebacks() == []


def test_a_flagged_duplicate_is_marked_and_audited(store: StateStore) -> None:
    """on_duplicate_after_merge: flag sets the flag field and clears the merged-away id; the
    audit names both Leads."""
    store.record(
        Commit("hubspot.contacts", links=[lead("101", "00QA"), lead("102", "00QB")]), run_id="r"
    )
    sf, hs = FakeSalesforce(), FakeHubSpot()
    deliver(store, merge_event("101", "102"))
    runner(store, MERGES, sf, hs).run_all()
    assert sf.calls == [("update", [("00QB", {"Status": "Closed - Not Converted", EXT: None})])]
    (event,) = store.audit_events(kind="duplicate_after_merge")
    assert event.details == {"kept": "00QA", "duplicate": "00QB", "action": "flag"}


def test_an_unlinked_survivor_takes_the_lead_and_its_external_id(store: StateStore) -> None:
    """The merged-away contact's Lead is retagged with the survivor's id, and linked to it."""
    store.record(Commit("hubspot.contacts", links=[lead("102", "00QB")]), run_id="r")
    sf, hs = FakeSalesforce(), FakeHubSpot()
    deliver(store, merge_event("101", "102"))
    runner(store, MERGES, sf, hs).run_all()
    assert sf.calls == [("update", [("00QB", {EXT: "101"})])]
    assert store.links(["101", "102"]) == {"101": lead("101", "00QB")}
    assert hs.updates == [{"101": {"salesforceleadid": "00QB"}}]


@pytest.mark.parametrize(
    ("setting", "call"),
    [
        ("leave", ("update", [("00QA", {EXT: None})])),
        ("flag", ("update", [("00QA", {EXT: None, "Status": "Closed - Not Converted"})])),
        ("delete", ("delete", ["00QA"])),
    ],
)
def test_a_deletion_closes_the_link_and_acts_per_setting(
    store: StateStore, setting: str, call: tuple[str, Any]
) -> None:
    """on_contact_deleted: the Lead unlinked (left or flagged) or deleted; the link closed with
    its ids kept; the deletion again is a no-op."""
    store.record(Commit("hubspot.contacts", links=[lead("101", "00QA")]), run_id="r")
    sf, hs = FakeSalesforce(), FakeHubSpot()
    payload = {"event_id": 5, "subscription_type": "contact.deletion", "object_id": "101"}
    deliver(store, Work(DELETIONS, "101", "recheck", "webhook", payload))
    events = runner(store, DELETIONS, sf, hs, on_contact_deleted=setting)
    events.run_all()
    assert sf.calls == [call]
    assert store.links(["101"]) == {} and store.closed_links(["101"])["101"].link.lead_id == "00QA"
    deliver(store, Work(DELETIONS, "101", "recheck", "webhook", payload))
    events.run_all()
    assert sf.calls == [call] and store.work() == []


def test_a_privacy_deletion_is_left_for_the_eraser(store: StateStore) -> None:
    """contact.privacyDeletion work is not this runner's: left untouched."""
    store.record(Commit("hubspot.contacts", links=[lead("101", "00QA")]), run_id="r")
    sf, hs = FakeSalesforce(), FakeHubSpot()
    payload = {"event_id": 6, "subscription_type": "contact.privacyDeletion", "object_id": "101"}
    deliver(store, Work(DELETIONS, "101", "recheck", "webhook", payload))
    runner(store, DELETIONS, sf, hs, on_contact_deleted="delete").run_all()
    assert sf.calls == [] and len(store.work(DELETIONS)) == 1
    assert store.links(["101"]) == {"101": lead("101", "00QA")}


def test_a_merge_that_fails_stops_no_other_and_is_done_next_run(store: StateStore) -> None:
    """Salesforce errors on the first merge's call (not a kill: the process goes on): the
    second merge, behind it, is carried out in the same run; the first's work stays, counted
    as failed, and the next run with Salesforce answering finishes it once."""
    store.record(
        Commit(
            "hubspot.contacts",
            links=[
                lead("101", "00QA"),
                lead("102", "00QB"),
                lead("201", "00QC"),
                lead("202", "00QD"),
            ],
        ),
        run_id="r",
    )
    sf, hs = FakeSalesforce(), FakeHubSpot()
    merge = sf.merge_records
    failing = {"00QA"}

    def refused_once(sobject: str, merges: Sequence[RecordMerge]) -> list[WriteResult]:
        if {m.master_id for m in merges} & failing:
            failing.clear()
            raise ConnectionError("Salesforce did not answer")
        return merge(sobject, merges)

    sf.merge_records = refused_once  # type: ignore[method-assign]
    deliver(store, merge_event("101", "102", event_id=1))
    deliver(store, merge_event("201", "202", event_id=2))
    events = runner(store, MERGES, sf, hs, on_duplicate_after_merge="merge")

    first = events.run_all()
    assert sf.calls == [("merge", [("00QC", ("00QD",))])]  # the second went on
    assert [record for record, _ in first.failures] == ["101<102"]
    assert "ConnectionError" in first.failures[0][1]
    assert [w.record_id for w in store.work(MERGES)] == ["101<102"]

    second = events.run_all()
    assert second.failed == 0
    assert sf.calls == [("merge", [("00QC", ("00QD",))]), ("merge", [("00QA", ("00QB",))])]
    assert store.work() == [] and store.owed_writebacks() == []
