"""HubSpot contact merges and deletions, end to end: `leadbridge run` against the sandbox, the
changes made through hubspot-api-client, HubSpot's signed `contact.merge` / `contact.deletion`
webhooks delivered by the sandbox, Salesforce read back through simple-salesforce.

After a merge each person has exactly one live Lead linked, HubSpot's Lead id property points
at it, and no live Lead carries a merged-away contact's id; a deleted contact's Lead is treated
as `on_contact_deleted` says and a new contact with the same email links afresh."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import PublicMergeInput, SimplePublicObjectInputForCreate

from connector.sandbox.env import sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit, StateStore
from connector.state.work import Work
from connector.streams.identity.stream import MERGES
from connector.wiring import open_connector
from tests.conftest import hubspot_client, sf_client
from tests.e2e import test_service
from tests.e2e.test_first_sync import SEED
from tests.e2e.test_service import SECRET, Running, _subscribe, _until

#: `leadbridge run` against the sandbox, as the service tests start it (a fixture).
service = test_service.service

EXT = "HubSpot_Contact_Id__c"
EVENTS = ["contact.creation", "contact.propertyChange", "contact.merge", "contact.deletion"]


def _start(
    sandbox_server: SandboxServer,
    service: Callable[..., Running],
    tmp_path: Path,
    database_url: str | None = None,
    privacy_key: str | None = None,
    **settings: str,
) -> Running:
    """The service with these merge/deletion settings (and store, when given; else SQLite in
    `tmp_path`; the privacy key, when given), its first pass done, webhooks on."""
    environment = {"LEADBRIDGE_PRIVACY_KEY": privacy_key} if privacy_key else {}
    lead_yaml = tmp_path / "mappings" / "lead.yaml"
    text = lead_yaml.read_text()
    for name, value in settings.items():
        text, found = re.subn(rf"(?m)^  {name}: \w+$", f"  {name}: {value}", text)
        assert found == 1, name
    lead_yaml.write_text(text)
    store = {"LEADBRIDGE_DATABASE_URL": database_url} if database_url else {}
    running = service(
        SEED,
        LEADBRIDGE_POLL_SECONDS="3600",
        LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET=SECRET,
        **store,
        **environment,
    )
    _until(running.ready, "the first pass")
    _subscribe(sandbox_server, running, events=EVENTS)
    return running


def _leads(server: SandboxServer, *, deleted: bool = False) -> list[dict[str, Any]]:
    """Every Lead (with the Recycle Bin's when `deleted`), through queryAll."""
    soql = "SELECT Id, HubSpot_Contact_Id__c, Email, Status, IsDeleted, MasterRecordId FROM Lead"
    rows = sf_client(server).query_all(soql, include_deleted=deleted)["records"]
    return [r for r in rows if deleted or not r["IsDeleted"]]


def _contact(server: SandboxServer, contact_id: str) -> dict[str, Any]:
    found = hubspot_client(server).crm.contacts.basic_api.get_by_id(
        contact_id, properties=["salesforceleadid", "email"]
    )
    return dict(found.properties)


def _store(where: Path | str) -> StateStore:
    """The service's store: its SQLite file in a test's `tmp_path`, or a database URL."""
    return StateStore.open(where if isinstance(where, str) else f"sqlite:///{where / 'state.db'}")


def _audited(where: Path | str, kind: str, record_id: str) -> Callable[[], list[Any]]:
    def check() -> list[Any]:
        with _store(where) as store:
            done = store.audit_events(record_id=record_id, kind=kind)
            return done if done and not store.work() else []

    return check


def test_merging_two_contacts_with_leads_leaves_one_lead_per_person(
    sandbox_server, service, tmp_path, database_url
):
    """100 and 101 both had a Lead: after the merge 100 keeps its Lead, 101's is merged into it
    in Salesforce (Recycle Bin, MasterRecordId); 102 merged into the unlinked 200 gives 200 its
    Lead, which carries 200's id. HubSpot shows the kept Lead ids; nothing claims a gone id."""
    running = _start(
        sandbox_server, service, tmp_path, database_url, on_duplicate_after_merge="merge"
    )
    before = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    api = hubspot_client(sandbox_server).crm.contacts.basic_api

    api.merge(PublicMergeInput(primary_object_id="100", object_id_to_merge="101"))
    api.merge(PublicMergeInput(primary_object_id="200", object_id_to_merge="102"))
    _until(_audited(database_url, "contact_merged", "100"), "the merge into 100 carried out")
    _until(_audited(database_url, "contact_merged", "200"), "the merge into 200 carried out")

    live = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    assert live["100"] == before["100"] and "101" not in live and "102" not in live
    gone = {r["Id"]: r for r in _leads(sandbox_server, deleted=True) if r["IsDeleted"]}
    assert gone[before["101"]]["MasterRecordId"] == before["100"]
    # 200 takes 102's Lead; or, when 200's own change (its stage, moved by the merge) was
    # synced before the merge came, 200 got a Lead of its own and 102's was merged into it.
    if live["200"] != before["102"]:
        assert gone[before["102"]]["MasterRecordId"] == live["200"]
    assert len(live) == len(set(live.values()))
    with _store(database_url) as store:
        links = store.links(["100", "101", "102", "200"])
        assert {h: link.lead_id for h, link in links.items()} == {
            "100": before["100"],
            "200": live["200"],
        }
        assert store.closed_links(["101"])["101"].link.lead_id == before["101"]
        assert store.work() == [] and store.dead_letters("hubspot.merges") == []
    _until(
        lambda: _contact(sandbox_server, "200").get("salesforceleadid") == live["200"],
        "HubSpot showing 200's Lead",
    )
    assert _contact(sandbox_server, "100")["salesforceleadid"] == before["100"]
    assert running.stop() == 0


def test_a_duplicate_flagged_after_a_merge_stays_and_is_marked(sandbox_server, service, tmp_path):
    """on_duplicate_after_merge: flag (the default): the second Lead is kept, its status set to
    the flag and the merged-away id cleared, and reported in the audit log; the survivor keeps
    its own."""
    running = _start(sandbox_server, service, tmp_path)
    before = {lead[EXT]: lead for lead in _leads(sandbox_server)}
    hubspot_client(sandbox_server).crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="103", object_id_to_merge="104")
    )
    _until(_audited(tmp_path, "duplicate_after_merge", "103"), "the duplicate reported")
    live = {lead["Id"]: lead for lead in _leads(sandbox_server)}
    assert live[before["104"]["Id"]]["Status"] == "Closed - Not Converted"
    assert live[before["104"]["Id"]][EXT] is None  # no Lead claims the merged-away id
    assert live[before["103"]["Id"]]["Status"] == before["103"]["Status"]
    with _store(tmp_path) as store:
        assert store.links(["103", "104"])["103"].lead_id == before["103"]["Id"]
        assert "104" not in store.links(["104"])
    assert running.stop() == 0


@pytest.mark.parametrize("setting", ["leave", "delete"])
def test_a_deleted_contact_per_setting_and_its_person_created_again_links_afresh(
    sandbox_server, service, tmp_path, setting
):
    """The contact deleted in HubSpot: its Lead is left unlinked or deleted, its link closed
    (ids kept); a new contact with the same email gets a link of its own: the same Lead when it
    was left, a new one when it was deleted."""
    running = _start(sandbox_server, service, tmp_path, on_contact_deleted=setting)
    before = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    api = hubspot_client(sandbox_server).crm.contacts.basic_api
    email = _contact(sandbox_server, "105")["email"]

    api.archive("105")
    _until(_audited(tmp_path, "contact_deleted", "105"), "the deletion carried out")
    with _store(tmp_path) as store:
        assert store.links(["105"]) == {}
        assert store.closed_links(["105"])["105"].link.lead_id == before["105"]
    old = {r["Id"]: r for r in _leads(sandbox_server, deleted=True)}[before["105"]]
    assert old[EXT] is None if setting == "leave" else old["IsDeleted"]

    created = api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "email": email,
                "firstname": "Again",
                "lastname": "Person",
                "company": "Acme",
                "lifecyclestage": "marketingqualifiedlead",
            }
        )
    )

    def linked() -> Any:
        with _store(tmp_path) as store:
            return store.links([created.id]).get(created.id)

    link = _until(linked, "the re-created contact linked")
    live = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    assert live[created.id] == link.lead_id and "105" not in live
    if setting == "leave":
        assert link.lead_id == before["105"]
    else:
        assert link.lead_id != before["105"]
    assert running.stop() == 0


class Killed(BaseException):
    """The process dies here (not an error any handler catches)."""


def test_a_run_killed_between_the_store_move_and_the_salesforce_merge_is_finished_by_the_next(
    sandbox, tmp_path, monkeypatch
):
    """The real gateways: a run dies as it is about to send the SOAP merge (the store moved,
    the merge recorded as pending work); a new connector (the process started again) sends it
    once, and HubSpot shows the kept Lead. One merge call in all; one Lead per person."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    text = (test_service.MAPPINGS / "lead.yaml").read_text(encoding="utf-8")
    text = re.sub(
        r"(?m)^  on_duplicate_after_merge: \w+$", "  on_duplicate_after_merge: merge", text
    )
    (mappings / "lead.yaml").write_text(text)
    server = sandbox(SEED)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    with open_connector(settings) as connector:
        list(connector.run_pass())
    before = {lead[EXT]: lead["Id"] for lead in _leads(server)}
    hubspot_client(server).crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="100", object_id_to_merge="101")
    )
    event = {
        "event_id": 1,
        "subscription_type": "contact.merge",
        "object_id": "100",
        "primary_object_id": "100",
        "merged_object_ids": ["101"],
        "new_object_id": "100",
    }
    item = Work(MERGES, "100<101", "recheck", "HubSpot webhook contact.merge", event)

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    with open_connector(settings) as connector:
        connector.store.record(Commit("hubspot.webhooks", work=[item]), run_id="webhook")
        monkeypatch.setattr(connector.salesforce, "merge_records", die)
        assert connector.merges is not None
        with pytest.raises(Killed):
            connector.merges.run_all()
        assert [w.kind for w in connector.store.work(MERGES)] == ["pending"]
        assert connector.store.links(["101"]) == {}
    mark = server.sandbox.journal.last_seq()
    with open_connector(settings) as connector:
        assert connector.merges is not None
        assert connector.merges.run_all().merged == 1
        assert connector.merges.run_all().merged == 0  # nothing left
        assert connector.store.work() == [] and connector.store.owed_writebacks() == []
    soap = [e for e in server.sandbox.journal.entries(since=mark) if "/Soap/" in e.path]
    assert len(soap) == 1
    live = {lead[EXT]: lead["Id"] for lead in _leads(server)}
    assert live["100"] == before["100"] and "101" not in live
    assert _contact(server, "100")["salesforceleadid"] == before["100"]


def test_a_merge_delivered_twice_and_out_of_order_merges_once(sandbox_server, service, tmp_path):
    """HubSpot delivering every event twice, shuffled: the duplicate Lead is merged with one
    SOAP call, and each person keeps one Lead."""
    running = _start(sandbox_server, service, tmp_path, on_duplicate_after_merge="merge")
    _subscribe(
        sandbox_server, running, events=EVENTS, faults={"duplicate": 1.0, "reorder": 1.0, "seed": 3}
    )
    before = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    mark = sandbox_server.sandbox.journal.last_seq()
    hubspot_client(sandbox_server).crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="104", object_id_to_merge="105")
    )
    _until(_audited(tmp_path, "duplicate_after_merge", "104"), "the duplicate merged")

    def delivered_twice() -> bool:
        sent = sandbox_server.sandbox.webhooks.deliveries()
        merges = [
            e
            for d in sent
            for e in d.get("events", [])
            if e.get("subscriptionType") == "contact.merge"
        ]
        return len(merges) >= 2

    _until(delivered_twice, "the merge delivered twice")
    _until(_audited(tmp_path, "contact_merged", "104"), "every delivery carried out")
    soap = [e for e in sandbox_server.sandbox.journal.entries(since=mark) if "/Soap/" in e.path]
    assert len(soap) == 1
    live = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    assert live["104"] == before["104"] and "105" not in live
    assert running.stop() == 0


def test_the_service_started_again_finishes_a_merge_a_killed_run_left(
    sandbox_server, service, tmp_path, monkeypatch
):
    """A merge run dies before its SOAP merge (the store moved, the merge owed); `leadbridge
    run` started afterwards carries it out before its first pass is done: one merge call."""
    first = _start(sandbox_server, service, tmp_path, on_duplicate_after_merge="merge")
    assert first.stop() == 0
    requests.delete(  # no deliveries to a service that is gone
        f"{sandbox_server.url}/_sandbox/hubspot/webhooks/subscription",
        verify=str(sandbox_server.ca_file),
        timeout=10,
    ).raise_for_status()
    before = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    hubspot_client(sandbox_server).crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="102", object_id_to_merge="103")
    )
    settings = sandbox_settings(
        sandbox_server,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        mappings_dir=tmp_path / "mappings",
    )
    event = {
        "event_id": 7,
        "subscription_type": "contact.merge",
        "primary_object_id": "102",
        "merged_object_ids": ["103"],
    }
    with open_connector(settings) as connector:
        item = Work(MERGES, "102<103", "recheck", "HubSpot webhook contact.merge", event)
        connector.store.record(Commit("hubspot.webhooks", work=[item]), run_id="webhook")

        def die(*args: Any, **kwargs: Any) -> None:
            raise Killed

        monkeypatch.setattr(connector.salesforce, "merge_records", die)
        assert connector.merges is not None
        with pytest.raises(Killed):
            connector.merges.run_all()
    mark = sandbox_server.sandbox.journal.last_seq()

    again = service(LEADBRIDGE_POLL_SECONDS="3600")
    _until(again.ready, "the first pass of the service started again")
    with _store(tmp_path) as store:
        assert store.work() == []
    soap = [e for e in sandbox_server.sandbox.journal.entries(since=mark) if "/Soap/" in e.path]
    assert len(soap) == 1
    live = {lead[EXT]: lead["Id"] for lead in _leads(sandbox_server)}
    assert live["102"] == before["102"] and "103" not in live
    assert again.stop() == 0


def test_a_plain_deletion_sent_with_a_privacy_deletion_is_handled_once_as_an_erasure(
    sandbox_server, service, tmp_path
):
    """HubSpot sends `contact.privacyDeletion` and `contact.deletion` together: the pair is
    handled once, as the erasure (`connector.service.privacy`): the person is tombstoned, no
    link of theirs is left (open or closed), and no deletion work waits."""
    running = _start(
        sandbox_server,
        service,
        tmp_path,
        privacy_key="k" * 40,
    )
    _subscribe(sandbox_server, running, events=[*EVENTS, "contact.privacyDeletion"])
    answer = requests.post(
        f"{sandbox_server.url}/_sandbox/hubspot/webhooks/events",
        json={
            "events": [
                {"subscriptionType": "contact.privacyDeletion", "objectId": 104},
                {"subscriptionType": "contact.deletion", "objectId": 104},
            ]
        },
        verify=str(sandbox_server.ca_file),
        timeout=10,
    )
    assert answer.status_code == 202, answer.text

    def erased() -> bool:
        with _store(tmp_path) as store:
            return store.tombstoned(hubspot_ids=["104"]).covers(hubspot_id="104")

    _until(erased, "the person erased")
    with _store(tmp_path) as store:
        assert store.links(["104"]) == {} and store.closed_links(["104"]) == {}
        assert store.work("hubspot.deletions") == []
        assert store.audit_events(record_id="104", kind="contact_deleted") == []
    assert running.stop() == 0
