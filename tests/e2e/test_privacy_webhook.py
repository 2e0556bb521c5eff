"""Issue 17's test: a GDPR delete in HubSpot reaches `leadbridge run` as its webhooks
(`contact.privacyDeletion` with a plain `contact.deletion`) and erases the person from
Salesforce (as privacy.yaml says) and the state store within that webhook's run, with no poll;
the same person's later form fill, a backfill, a reconcile, a relink and a pass bring nothing
back; then the whole store (every table and column, the SQLite file's bytes), every log of the
run and the dead letters hold no trace of her email, name or phone, in any case."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import PublicGdprDeleteInput

from connector.hubspot.webhooks import WebhookEvent
from connector.model import DeadLetter
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_env, sandbox_settings
from connector.sandbox.hubspot.portal import Source
from connector.sandbox.server import SandboxServer
from connector.service.privacy import (
    PRIVACY,
    erase_deleted,
    plain_deletions,
    privacy_work,
    split_deletions,
)
from connector.service.webhooks import INTAKE
from connector.state.store import AuditEvent, Commit, StateStore
from connector.wiring import open_connector
from tests.conftest import hubspot_client, sf_client
from tests.e2e.test_privacy import _contact, cli, found_in, store_texts, traces
from tests.e2e.test_service import LEADBRIDGE, Running, _free_port, _until

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
KEY = "p" * 40
SECRET = "privacy-webhook-secret"

CORDELIA = {
    "email": "Cordelia.Vantongeren@Vantongeren-Optics.test",
    "firstname": "Cordelia",
    "lastname": "Vantongeren",
    "phone": "+31 20 555 0147",
}
SEED = {
    "hubspot": {"contacts": [_contact("101", CORDELIA), _contact("102"), _contact("103")]},
    "salesforce": {},
}


@pytest.fixture
def run_env(sandbox_server: SandboxServer, tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment of every leadbridge process of the test: the sandbox, the shipped
    lead.yaml and privacy.yaml (Leads deleted, Contacts anonymised; `after_erasure: ignore`),
    the privacy key, the store, JSON logs without PII redaction (so a leak would show)."""
    sandbox_server.sandbox.reset(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "privacy.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    return {
        **os.environ,
        **sandbox_env(sandbox_server.port, sandbox_server.tls.directory),
        "LEADBRIDGE_DATABASE_URL": database_url,
        "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
        "LEADBRIDGE_POLL_SECONDS": "3600",  # only webhooks move anything after the first pass
        "LEADBRIDGE_LOG_FORMAT": "json",
        "LEADBRIDGE_LOG_REDACT_PII": "false",
        "LEADBRIDGE_PRIVACY_KEY": KEY,
        "LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET": SECRET,
    }


@pytest.fixture
def service(run_env: dict[str, str], tmp_path: Path) -> Iterator[Running]:
    port = _free_port()
    log = tmp_path / "service.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [LEADBRIDGE, "run", "--port", str(port)],
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Running(process, port, log)
    yield running
    if process.poll() is None:
        process.kill()
        process.wait(timeout=60)


def leadbridge(env: dict[str, str], *args: str) -> str:
    """A leadbridge command as its own process; everything it printed (stdout and logs)."""
    done = subprocess.run(
        [LEADBRIDGE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def subscribe(server: SandboxServer, running: Running) -> None:
    answer = requests.post(
        f"{server.url}/_sandbox/hubspot/webhooks/subscription",
        json={
            "target_url": f"{running.url}/webhooks/hubspot",
            "client_secret": SECRET,
            "events": [
                "contact.creation",
                "contact.propertyChange",
                "contact.deletion",
                "contact.privacyDeletion",
            ],
            "properties": ["firstname", "lastname", "email", "company", "lifecyclestage"],
            "batch_window_ms": 50,
            "retry_base_ms": 100,
        },
        verify=str(server.ca_file),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def salesforce_people(server: SandboxServer) -> list[dict[str, Any]]:
    """Every Lead and Contact, as the API shows them."""
    client = sf_client(server)
    rows = client.query_all(
        "SELECT Id, Email, FirstName, LastName, Phone, HubSpot_Contact_Id__c FROM Lead"
    )["records"]
    rows += client.query_all("SELECT Id, Email, FirstName, LastName, Phone FROM Contact")["records"]
    return rows


def file_bytes(database_url: str) -> str:
    """A SQLite store's file and its write-ahead log as text (bytes 1:1), lower case."""
    path = Path(database_url.removeprefix("sqlite:///"))
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return "".join(p.read_bytes().decode("latin-1") for p in parts if p.exists()).lower()


def test_a_privacy_deletion_in_hubspot_erases_the_person_everywhere_and_for_good(
    sandbox_server, service, run_env, database_url
):
    server = sandbox_server
    _until(service.ready, "the first pass")
    (lead,) = [r for r in salesforce_people(server) if r.get("HubSpot_Contact_Id__c") == "101"]
    # What the store may hold of her besides ids and hashes: routing's audit of her contact, a
    # failure of hers, another record's failure naming her email.
    with StateStore.open(database_url) as store:
        store.record(
            Commit(
                stream="hubspot.contacts",
                audit=[AuditEvent("routed", "101", {"contact": dict(CORDELIA), "rule": "EMEA"})],
                failures=[
                    DeadLetter(
                        "hubspot.contacts",
                        "101",
                        f"INVALID_PHONE: {CORDELIA['phone']}",
                        code="INVALID_PHONE",
                        fields=("Phone",),
                        payload={"field": "phone", "value": CORDELIA["phone"]},
                    ),
                    DeadLetter(
                        "hubspot.contacts",
                        "103",
                        f"DUPLICATE_VALUE: {CORDELIA['email']} is taken",
                        code="DUPLICATE_VALUE",
                        payload={"email": CORDELIA["email"]},
                    ),
                ],
            ),
            run_id="test",
        )
    assert found_in(store_texts(database_url), CORDELIA)  # the scan sees her before
    subscribe(server, service)

    hubspot_client(server).crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id="101"))

    def erased() -> Any:
        with StateStore.open(database_url) as store:
            tombstone = store.find_tombstone(hubspot_id="101")
        done = tombstone is not None and tombstone.salesforce_outcome not in (None, "pending")
        return tombstone if done and tombstone.hubspot_outcome == "deleted" else None

    tombstone = _until(erased, "the webhook's erasure")
    assert (tombstone.reason, tombstone.salesforce_outcome) == (
        "hubspot_privacy_deletion",
        "deleted",
    )
    assert tombstone.lead_id == lead["Id"] and tombstone.email_hash  # her email, hashed
    assert server.sandbox.org.records["Lead"].get(lead["Id"]) is None  # gone, bin emptied too
    assert not [r for r in salesforce_people(server) if found_in([json.dumps(r).lower()], CORDELIA)]
    assert found_in(store_texts(database_url), CORDELIA) == []
    with StateStore.open(database_url) as store:
        assert store.links(["101"]) == {}
        assert [w for w in store.work() if w.stream == "hubspot.privacy"] == []
        # The plain deletion sent with it asked nothing more: no work left for it.
        assert [w for w in store.work() if w.stream == "hubspot.deletions"] == []
        assert len(store.tombstones()) == 1

    # She fills in a form again: HubSpot makes a new contact (a form is not refused by the
    # block); privacy.yaml's `after_erasure: ignore` keeps it out of Salesforce.
    portal = server.sandbox.portal
    with server.sandbox.lock:
        again = portal.create(
            portal.types["contacts"],
            {
                **CORDELIA,
                "company": "Vantongeren Optics",
                "lifecyclestage": "marketingqualifiedlead",
            },
            Source("FORM"),
        )

    def webhook_skipped() -> bool:
        return '"privacy.skipped_erased"' in service.output()

    _until(webhook_skipped, "the form fill's webhook run")
    assert service.stop() == 0

    backfill = leadbridge(run_env, "backfill", "--budget", "100")
    assert "skipped: erased 1" in backfill
    reconcile = leadbridge(run_env, "reconcile")
    relink = leadbridge(run_env, "relink")
    sync = leadbridge(run_env, "sync", "--once")
    dlq = leadbridge(run_env, "dlq", "list", "--format", "json")

    people = salesforce_people(server)
    assert not [r for r in people if r.get("HubSpot_Contact_Id__c") in ("101", again.id)]
    assert not [r for r in people if found_in([json.dumps(r).lower()], CORDELIA)]
    with StateStore.open(database_url) as store:
        assert store.links(["101", again.id]) == {}
        assert len(store.tombstones()) == 1
    logs = [service.output(), backfill, reconcile, relink, sync, dlq]
    assert found_in([text.lower() for text in logs], CORDELIA) == []
    assert found_in(store_texts(database_url), CORDELIA) == []
    if database_url.startswith("sqlite"):
        assert [t for t in traces(CORDELIA) if t in file_bytes(database_url)] == []


REP = "rep@sandbox.local"
ANONYMISE = """
lead: {action: anonymise}
contact: {action: anonymise}
"""


def test_an_anonymised_lead_is_never_relinked_reported_or_fed_back(
    sandbox_server, point_cli, tmp_path, monkeypatch
):
    """Leads anonymised by an erasure stay in Salesforce carrying the erased contact's id:
    a relink restores no link to it, a reconcile reports no orphan, and a rep's later edit
    goes nowhere (no feedback write, no dead letter); each says "skipped: erased"."""
    server = sandbox_server
    server.sandbox.reset(
        {
            "hubspot": {"contacts": [_contact("101", CORDELIA), _contact("102")]},
            "salesforce": {
                "User": [
                    {"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP, "Alias": "rep"}
                ]
            },
        }
    )
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    (mappings / "privacy.yaml").write_text(ANONYMISE, encoding="utf-8")
    point_cli(server, mappings)
    monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", KEY)
    assert cli("sync", "--once").exit_code == 0
    (lead,) = [r for r in salesforce_people(server) if r.get("HubSpot_Contact_Id__c") == "101"]
    assert cli("privacy", "erase", "--hubspot-id", "101").exit_code == 0
    kept = server.sandbox.org.records["Lead"][lead["Id"]]
    assert (kept["LastName"], kept["HubSpot_Contact_Id__c"]) == ("(erased)", "101")
    sf_client(server, REP).Lead.update(lead["Id"], {"Status": "Working - Contacted"})
    mark = server.sandbox.journal.last_seq()

    sync = cli("sync", "--once")
    relink = cli("relink")
    reconcile = cli("reconcile")

    assert (sync.exit_code, relink.exit_code, reconcile.exit_code) == (0, 0, 0)
    db = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.open(db) as store:
        assert store.links(["101"]) == {}  # relink took no claim of the anonymised Lead
        assert store.dead_letters() == []  # feedback did not look for the purged contact
        assert set(store.links(["102"])) == {"102"}  # the others are untouched
    assert "orphaned" not in reconcile.output
    assert [
        e.path
        for e in server.sandbox.journal.entries(since=mark, api="hubspot")
        if e.method in ("POST", "PATCH") and not e.path.endswith(("/search", "/batch/read"))
    ] == []
    for result in (sync, relink, reconcile):
        assert "skipped: erased 1" in result.output


class Killed(BaseException):
    """The process dies here (no handler catches it)."""


def test_a_webhook_erasure_killed_midway_is_finished_once_and_an_event_twice_is_a_no_op(
    sandbox_server, tmp_path, monkeypatch
):
    """The privacy deletion's work outlives the store's part of the erasure: killed between
    the store and Salesforce, the next run finds the work, deletes the Lead and finishes; the
    same event delivered again (HubSpot retries) writes nothing anywhere."""
    server = sandbox_server
    server.sandbox.reset(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "privacy.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server,
        mappings_dir=mappings,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        privacy_key=KEY,
    )
    event = WebhookEvent(7, "contact.privacyDeletion", object_id="101")
    with open_connector(settings) as connector:
        for _ in connector.run_pass():
            pass
        (lead,) = [r for r in salesforce_people(server) if r.get("HubSpot_Contact_Id__c") == "101"]
        hubspot_client(server).crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id="101"))
        connector.store.record(Commit(stream=INTAKE, work=privacy_work([event])), run_id="hook")

        def killed(*args: Any, **kwargs: Any) -> Any:
            raise Killed

        with monkeypatch.context() as patch:
            patch.setattr(SalesforceGateway, "delete_records", killed)
            with pytest.raises(Killed):
                erase_deleted(connector)
        tombstone = connector.store.find_tombstone(hubspot_id="101")
        assert tombstone is not None and tombstone.salesforce_outcome == "pending"
        assert connector.store.links(["101"]) == {}  # the store's part was done
        assert [w.record_id for w in connector.store.work(PRIVACY)] == ["privacy:101"]
        assert server.sandbox.org.records["Lead"].get(lead["Id"]) is not None

        again = erase_deleted(connector)

        assert (again.erased, again.failed) == (1, 0)
        assert server.sandbox.org.records["Lead"].get(lead["Id"]) is None
        assert connector.store.work(PRIVACY) == []
        tombstone = connector.store.find_tombstone(hubspot_id="101")
        assert (tombstone.hubspot_outcome, tombstone.salesforce_outcome) == ("deleted", "deleted")

        mark = server.sandbox.journal.last_seq()
        connector.store.record(Commit(stream=INTAKE, work=privacy_work([event])), run_id="hook")
        twice = erase_deleted(connector)

        assert (twice.already, twice.erased) == (1, 0)
        assert not [
            e for e in server.sandbox.journal.entries(since=mark) if e.method in ("DELETE", "PATCH")
        ]
        assert connector.store.work(PRIVACY) == []
        assert len(connector.store.tombstones()) == 1


def test_a_plain_deletion_sent_with_a_privacy_deletion_or_of_an_erased_contact_asks_nothing(
    sandbox_server, tmp_path
):
    """HubSpot's pair for one GDPR delete is handled once (the privacy deletion wins), and a
    plain deletion arriving after the erasure is dropped; another contact's deletion stays."""
    privacy, plain = split_deletions(
        [
            WebhookEvent(1, "contact.deletion", object_id="101"),
            WebhookEvent(2, "contact.privacyDeletion", object_id="101"),
            WebhookEvent(3, "contact.deletion", object_id="102"),
            WebhookEvent(4, "contact.deletion", object_id="104"),
        ]
    )
    assert [e.event_id for e in privacy] == [2]
    assert [e.event_id for e in plain] == [3, 4]
    assert [(w.stream, w.record_id) for w in privacy_work(privacy)] == [(PRIVACY, "privacy:101")]
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.erase(hubspot_id="104", reason="hubspot_privacy_deletion", key=KEY)
        connector = SimpleNamespace(store=store)
        kept = plain_deletions(connector, plain)  # type: ignore[arg-type]
    assert [e.event_id for e in kept] == [3]


def test_under_treat_as_new_her_later_form_fill_is_a_new_person(
    sandbox_server, point_cli, tmp_path, monkeypatch
):
    """`after_erasure: treat_as_new`: the new contact her form fill made gets a new Lead; her
    erased contact's id stays skipped (no Lead made again for it)."""
    server = sandbox_server
    server.sandbox.reset(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    policy = (MAPPINGS / "privacy.yaml").read_text(encoding="utf-8")
    assert "\nafter_erasure: ignore\n" in policy  # the default shipped
    (mappings / "privacy.yaml").write_text(
        policy.replace("\nafter_erasure: ignore\n", "\nafter_erasure: treat_as_new\n"),
        encoding="utf-8",
    )
    point_cli(server, mappings)
    monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", KEY)
    assert cli("sync", "--once").exit_code == 0
    assert cli("privacy", "erase", CORDELIA["email"]).exit_code == 0
    portal = server.sandbox.portal
    with server.sandbox.lock:
        again = portal.create(
            portal.types["contacts"],
            {
                **CORDELIA,
                "company": "Vantongeren Optics",
                "lifecyclestage": "marketingqualifiedlead",
            },
            Source("FORM"),
        )

    sync = cli("sync", "--once")

    assert sync.exit_code == 0, sync.output
    people = salesforce_people(server)
    mine = [r for r in people if (r.get("Email") or "").lower() == CORDELIA["email"].lower()]
    assert [r["HubSpot_Contact_Id__c"] for r in mine] == [again.id]
    assert not [r for r in people if r.get("HubSpot_Contact_Id__c") == "101"]
