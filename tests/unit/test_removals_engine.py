"""`connector.streams.leads.removals.Removals` over fake sides and a real store: what one read
of removals costs and how its cursor moves past failures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.mapping.model import SalesforceRemovals, WriteBack
from connector.model import FieldError, HubSpotContact, Link, RecordUpdate, WriteResult
from connector.state.store import Commit, StateStore
from connector.streams.leads.removals import STREAM, Removals

T0 = datetime(2026, 12, 7, 10, tzinfo=UTC)


class FakeSalesforce:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[str] = []

    def removed_records(
        self, since: datetime | None, *, lead_fields: Sequence[str] = (), contact_fields=()
    ) -> list[dict[str, Any]]:
        self.calls.append(f"removed_records since={since}")
        return [r for r in self.rows if since is None or r["SystemModstamp"] >= since]

    def current_leads(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
        self.calls.append("current_leads")
        return {i: {"Id": i} for i in ids}

    def current_contacts(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
        self.calls.append("current_contacts")
        return {}

    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        self.calls.append(f"update_records {sobject}")
        return [WriteResult(u.key, success=True, salesforce_id=u.record_id) for u in updates]


class FakeHubSpot:
    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.refuse = refuse
        self.props: dict[str, dict[str, str | None]] = {}
        self.calls: list[str] = []

    def read_contacts(self, ids: Sequence[str], properties: Sequence[str]) -> list[HubSpotContact]:
        self.calls.append("read_contacts")
        return [HubSpotContact(i, dict(self.props.get(i, {})), None) for i in ids]

    def update_contacts(self, updates: Any) -> list[WriteResult]:
        self.calls.append("update_contacts")
        results = []
        for cid, values in updates.items():
            if cid in self.refuse:
                results.append(
                    WriteResult(cid, success=False, errors=(FieldError("INVALID", "refused"),))
                )
                continue
            self.props.setdefault(cid, {}).update(values)
            results.append(WriteResult(cid, success=True))
        return results


def _row(rid: str, minutes: int, master: str | None = None) -> dict[str, Any]:
    return {
        "sobject": "Lead",
        "Id": rid,
        "MasterRecordId": master,
        "HubSpot_Contact_Id__c": None,
        "SystemModstamp": T0 + timedelta(minutes=minutes),
    }


def _engine(tmp_path: Path, salesforce: FakeSalesforce, hubspot: FakeHubSpot):
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    links = [Link(str(100 + n), "Lead", f"00Q{n}", lead_id=f"00Q{n}") for n in range(1, 5)]
    store.record(Commit(stream="hubspot.contacts", links=links), run_id="seed")
    engine = Removals(
        salesforce,
        hubspot,
        store,
        external_id_field="HubSpot_Contact_Id__c",
        settings=SalesforceRemovals(),
        writeback=WriteBack(),
        overlap=timedelta(0),
    )
    return engine, store


def test_a_read_with_nothing_removed_is_one_call_and_writes_nothing(tmp_path: Path) -> None:
    """Nothing deleted or merged: one Salesforce call, no HubSpot call, the cursor unmoved."""
    salesforce, hubspot = FakeSalesforce([]), FakeHubSpot()
    engine, store = _engine(tmp_path, salesforce, hubspot)

    counts = engine.run("r1")

    assert (counts.read, salesforce.calls, hubspot.calls) == (0, ["removed_records since=None"], [])
    assert store.cursor(STREAM) is None
    store.close()


def test_a_refused_contact_stops_the_cursor_before_it_and_is_done_next_time(tmp_path: Path) -> None:
    """Three deletions, HubSpot refusing the second contact: the first link closes, the cursor
    stops at the first one's time, the second and third links stay (the third's HubSpot write
    lands but is recorded only when read again); the next read finishes both, writing HubSpot
    only for the one it had refused."""
    rows = [_row("00Q1", 1), _row("00Q2", 2), _row("00Q3", 3)]
    salesforce, hubspot = FakeSalesforce(rows), FakeHubSpot(refuse={"102"})
    engine, store = _engine(tmp_path, salesforce, hubspot)

    first = engine.run("r1")

    assert (first.closed, [rid for rid, _ in first.failures]) == (1, ["00Q2"])
    assert store.cursor(STREAM) == T0 + timedelta(minutes=1)
    assert sorted(store.links(["101", "102", "103", "104"])) == ["102", "103", "104"]

    hubspot.refuse = set()
    hubspot.calls.clear()
    second = engine.run("r2")

    assert (second.closed, second.failures) == (2, [])
    assert store.cursor(STREAM) == T0 + timedelta(minutes=3)
    assert sorted(store.links(["101", "102", "103", "104"])) == ["104"]
    assert hubspot.calls == ["read_contacts", "update_contacts"]
    assert hubspot.props["102"]["leadbridge_salesforce_status"] == "deleted in Salesforce"
    store.close()


def test_a_merge_moves_the_link_and_claims_the_record_kept(tmp_path: Path) -> None:
    """00Q4 merged into an unlinked Lead: one read of the kept Lead, its external id set to the
    contact's, the contact's Lead id rewritten, the link moved; read again, nothing is done."""
    salesforce, hubspot = FakeSalesforce([_row("00Q4", 1, master="00Q9")]), FakeHubSpot()
    engine, store = _engine(tmp_path, salesforce, hubspot)

    counts = engine.run("r1")

    assert counts.moved == 1
    assert salesforce.calls[1:] == ["current_leads", "update_records Lead"]
    assert hubspot.props["104"] == {"salesforceleadid": "00Q9"}
    assert store.links(["104"])["104"] == Link("104", "Lead", "00Q9", lead_id="00Q9")

    engine.overlap = timedelta(minutes=5)
    salesforce.calls.clear()
    hubspot.calls.clear()
    assert engine.run("r2").moved == 0
    assert salesforce.calls == [f"removed_records since={T0 - timedelta(minutes=4)}"]
    assert hubspot.calls == []
    store.close()
