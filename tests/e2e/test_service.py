"""`leadbridge run` as a real process against the sandbox: health, readiness, metrics, the poll
as the safety net, a refused mapping edit, and a clean stop with a batch in flight."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.hubspot.webhooks import sign
from connector.sandbox.env import sandbox_env
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client
from tests.e2e.test_first_sync import SEED

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
LEADBRIDGE = str(Path(sys.executable).with_name("leadbridge"))
#: Generous bounds: CI is a loaded 2-core machine; the assertions never depend on speed.
WAIT = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


class Running:
    """A `leadbridge run` process and what it printed."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> requests.Response | None:
        try:
            return requests.get(self.url + path, timeout=5)
        except requests.ConnectionError:
            return None

    def ready(self) -> dict[str, Any] | None:
        answer = self.get("/readyz")
        return answer.json() if answer is not None and answer.status_code == 200 else None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=WAIT)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")


@pytest.fixture
def service(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """`service(seed, **env)`: the sandbox holding `seed`, and `leadbridge run` pointed at it
    with the shipped lead.yaml, a 1-second poll and its own SQLite store; stopped after."""
    started: list[Running] = []
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")

    def start(seed: dict[str, Any] | None = None, **env: str) -> Running:
        if seed is not None:
            sandbox_server.sandbox.reset(seed)
        port = _free_port()
        log = tmp_path / f"service-{port}.log"
        environment = {
            **os.environ,
            **sandbox_env(sandbox_server.port, sandbox_server.tls.directory),
            "LEADBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
            "LEADBRIDGE_POLL_SECONDS": "1",
            "LEADBRIDGE_LOG_FORMAT": "json",
            **env,
        }
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [LEADBRIDGE, "run", "--port", str(port)],
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        running = Running(process, port, log)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=WAIT)


def _leads(server: SandboxServer) -> dict[str, dict[str, Any]]:
    rows = sf_client(server).query_all(
        "SELECT Id, HubSpot_Contact_Id__c, FirstName FROM Lead WHERE HubSpot_Contact_Id__c != null"
    )["records"]
    return {row["HubSpot_Contact_Id__c"]: row for row in rows}


def test_service_syncs_reports_and_stops_cleanly(sandbox_server, service):
    """Started, the service answers /healthz, becomes ready after its first pass (the Leads are
    in Salesforce), counts what it did in /metrics; SIGTERM ends it with status 0."""
    running = service(SEED)
    _until(lambda: running.get("/healthz"), "/healthz")
    assert running.get("/healthz").text == "ok\n"
    ready = _until(running.ready, "readiness")

    assert ready["state_store"] == "ok" and ready["mappings"]["refused"] is None
    assert set(_leads(sandbox_server)) >= {"100", "101", "102", "103", "104", "105", "201"}
    metrics = running.get("/metrics").text
    assert 'leadbridge_records_total{outcome="created",stream="hubspot.contacts"} 7.0' in metrics
    assert 'leadbridge_dead_letters_open{stream="hubspot.contacts"} 2.0' in metrics
    assert 'leadbridge_api_budget{remote="salesforce_left_before_reserve"}' in metrics
    assert 'leadbridge_api_calls_sent{remote="hubspot"}' in metrics
    assert running.stop() == 0
    assert '"event": "service.stopped"' in running.output()


def test_a_change_no_webhook_announced_is_caught_by_the_poll(sandbox_server, service):
    """Marketing renames a contact and no webhook comes: the next poll carries it to the Lead."""
    running = service(SEED)
    _until(running.ready, "the first pass")
    hubspot_client(sandbox_server).crm.contacts.basic_api.update(
        "101", SimplePublicObjectInput(properties={"firstname": "Polled"})
    )

    _until(lambda: _leads(sandbox_server)["101"]["FirstName"] == "Polled", "the poll")
    assert running.stop() == 0


def test_a_broken_mapping_edit_is_refused_and_the_last_good_one_goes_on(
    sandbox_server, service, tmp_path
):
    """An admin saves lead.yaml with a property HubSpot does not have: the service refuses the
    edit (logged with file and line, shown in /readyz and /metrics), stays ready and keeps
    syncing with the version that was live."""
    running = service(SEED)
    live = _until(running.ready, "the first pass")["mappings"]["live"]
    lead_yaml = tmp_path / "mappings" / "lead.yaml"
    text = lead_yaml.read_text(encoding="utf-8")
    assert "hubspot: jobtitle" in text
    lead_yaml.write_text(text.replace("hubspot: jobtitle", "hubspot: job_title_typo"), "utf-8")

    refused = _until(
        lambda: (r := running.ready()) and r["mappings"]["refused"], "the edit refused"
    )
    assert "lead.yaml:" in refused["why"] and "job_title_typo" in refused["why"]
    assert running.ready()["mappings"]["live"] == live
    assert f'leadbridge_mapping_version_info{{state="live",version="{live}"}} 1.0' in (
        running.get("/metrics").text
    )
    hubspot_client(sandbox_server).crm.contacts.basic_api.update(
        "102", SimplePublicObjectInput(properties={"firstname": "StillSyncing"})
    )
    _until(lambda: _leads(sandbox_server)["102"]["FirstName"] == "StillSyncing", "a sync")
    assert '"event": "service.mapping_refused"' in running.output()
    assert running.stop() == 0


def test_a_stop_finishes_the_batch_in_flight_and_the_next_start_loses_nothing(
    sandbox_server, service
):
    """SIGTERM while a Lead upsert is in flight: the service waits for that batch, records it,
    and exits 0; /readyz says it is stopping meanwhile. A second start writes nothing twice and
    leaves nothing behind."""
    held = threading.Event()
    release = threading.Event()
    inner = sandbox_server._server.app

    def slow_upserts(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "PATCH" and "composite/sobjects/Lead" in environ.get(
            "PATH_INFO", ""
        ):
            held.set()
            release.wait(timeout=WAIT)
        return inner(environ, start_response)

    sandbox_server._server.app = slow_upserts
    try:
        running = service(SEED)
        assert held.wait(timeout=WAIT), "the first upsert never came"
        running.process.send_signal(signal.SIGTERM)

        def stopping() -> dict[str, Any] | None:
            answer = running.get("/readyz")  # a 503 Response is falsy: read its body
            return answer.json() if answer is not None and answer.status_code == 503 else None

        assert "stopping" in _until(stopping, "not ready while stopping")["problems"]
        release.set()
        assert running.process.wait(timeout=WAIT) == 0
    finally:
        release.set()
        sandbox_server._server.app = inner

    first = _leads(sandbox_server)
    assert len(first) >= 7  # the batch in flight was recorded, not lost
    again = service()
    _until(again.ready, "the next start's first pass")
    assert _leads(sandbox_server) == first  # nothing written twice
    assert again.stop() == 0


SECRET = "webhook-test-secret"
#: A poll far off: only a webhook can bring a change soon.
HOOKED = {"LEADBRIDGE_POLL_SECONDS": "3600", "LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET": SECRET}


def _subscribe(server: SandboxServer, running: Running, **extra: Any) -> None:
    """The sandbox sends HubSpot's webhooks for contact changes to the running service."""
    answer = requests.post(
        f"{server.url}/_sandbox/hubspot/webhooks/subscription",
        json={
            "target_url": f"{running.url}/webhooks/hubspot",
            "client_secret": SECRET,
            "events": ["contact.creation", "contact.propertyChange", "contact.merge"],
            "properties": ["firstname", "lastname", "email", "company", "lifecyclestage"],
            "batch_window_ms": 50,
            "retry_base_ms": 100,
            **extra,
        },
        verify=str(server.ca_file),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def test_a_webhook_change_is_synced_by_id_without_waiting_for_the_poll(sandbox_server, service):
    """With a poll far off, a contact renamed in HubSpot reaches its Lead through the webhook:
    HubSpot is asked for that contact by id (no search), and /metrics counts the request, the
    run and its latency."""
    running = service(
        SEED, LEADBRIDGE_POLL_SECONDS="3600", LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET=SECRET
    )
    _until(running.ready, "the first pass")
    _subscribe(sandbox_server, running)
    mark = sandbox_server.sandbox.journal.last_seq()

    hubspot_client(sandbox_server).crm.contacts.basic_api.update(
        "103", SimplePublicObjectInput(properties={"firstname": "Hooked"})
    )

    _until(lambda: _leads(sandbox_server)["103"]["FirstName"] == "Hooked", "the webhook run")
    hubspot = [
        f"{e.method} {e.path}"
        for e in sandbox_server.sandbox.journal.entries(since=mark, api="hubspot")
    ]
    assert "POST /crm/v3/objects/contacts/batch/read" in hubspot
    assert not [call for call in hubspot if call.endswith("/search")]
    run = 'leadbridge_runs_total{result="ok",stream="hubspot.contacts",trigger="webhook"}'
    # The Lead shows the change before the run that wrote it has ended and been counted.
    _until(lambda: run in running.get("/metrics").text, "the webhook run's end")
    metrics = running.get("/metrics").text
    assert 'leadbridge_webhook_requests_total{outcome="accepted"}' in metrics
    assert "leadbridge_change_to_sync_seconds_count 1.0" in metrics
    assert running.stop() == 0


def test_a_forged_webhook_is_refused_and_queues_nothing(sandbox_server, service, tmp_path):
    """A request signed with another secret, or tampered with, is 401 and leaves no work;
    a merge, signed, is carried out (`tests/e2e/test_merges.py` for what it does)."""
    running = service(
        SEED, LEADBRIDGE_POLL_SECONDS="3600", LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET=SECRET
    )
    _until(running.ready, "the first pass")
    body = b'[{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 101}]'
    stamp = str(int(time.time() * 1000))
    uri = f"{running.url}/webhooks/hubspot"
    forged = sign("POST", uri, body, stamp, "not-the-secret")
    answer = requests.post(
        uri,
        data=body,
        headers={"X-HubSpot-Signature-v3": forged, "X-HubSpot-Request-Timestamp": stamp},
        timeout=10,
    )
    good = sign("POST", uri, body, stamp, SECRET)
    tampered = requests.post(
        uri,
        data=body.replace(b"101", b"102"),
        headers={"X-HubSpot-Signature-v3": good, "X-HubSpot-Request-Timestamp": stamp},
        timeout=10,
    )

    assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad_signature")
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.work() == []
    _subscribe(sandbox_server, running)
    injected = requests.post(
        f"{sandbox_server.url}/_sandbox/hubspot/webhooks/events",
        json={
            "events": [
                {
                    "subscriptionType": "contact.merge",
                    "objectId": 101,
                    "primaryObjectId": 101,
                    "mergedObjectIds": [102],
                }
            ]
        },
        verify=str(sandbox_server.ca_file),
        timeout=10,
    )
    assert injected.status_code == 202, injected.text

    def merge_done() -> list[Any]:
        with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
            return store.audit_events(kind="contact_merged")

    (merge,) = _until(merge_done, "the merge carried out")
    assert (merge.record_id, merge.details["merged"]) == ("101", ["102"])
    assert 'leadbridge_webhook_requests_total{outcome="bad_signature"} 2.0' in (
        running.get("/metrics").text
    )
    assert running.stop() == 0


def test_a_sync_beside_the_service_never_runs_a_stream_with_it(
    sandbox_server, service, database_url, tmp_path
):
    """`sync --once` started three times beside a running service (polling every second) waits
    for the stream the service holds, and the service for it: every contact gets one Lead,
    nothing fails twice, no false CANNOT_UPDATE_CONVERTED_LEAD; on SQLite and PostgreSQL."""
    running = service(SEED, LEADBRIDGE_DATABASE_URL=database_url)
    _until(running.ready, "the first pass")
    environment = {
        **os.environ,
        **sandbox_env(sandbox_server.port, sandbox_server.tls.directory),
        "LEADBRIDGE_DATABASE_URL": database_url,
        "LEADBRIDGE_MAPPINGS_DIR": str(tmp_path / "mappings"),
    }
    api = hubspot_client(sandbox_server).crm.contacts.basic_api
    for round_ in range(3):
        api.update("104", SimplePublicObjectInput(properties={"firstname": f"Round{round_}"}))
        done = subprocess.run(
            [LEADBRIDGE, "sync", "--once", "--wait", str(int(WAIT))],
            env=environment,
            capture_output=True,
            text=True,
            timeout=WAIT * 2,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "CANNOT_UPDATE_CONVERTED_LEAD" not in done.stdout + done.stderr

    leads = sf_client(sandbox_server).query_all(
        "SELECT HubSpot_Contact_Id__c FROM Lead WHERE HubSpot_Contact_Id__c != null"
    )["records"]
    ids = [row["HubSpot_Contact_Id__c"] for row in leads]
    assert len(ids) == len(set(ids))  # one Lead per contact
    _until(lambda: _leads(sandbox_server)["104"]["FirstName"] == "Round2", "the last change")
    with StateStore.open(database_url) as store:
        assert sorted(d.record_id for d in store.dead_letters()) == ["400", "401"]
    assert running.stop() == 0


def test_two_services_on_one_store_take_turns(sandbox_server, service, database_url):
    """Two services on the same state store, each polling every second: every stream runs in
    one of them at a time, so each contact gets one Lead, the refused ones fail once each, and
    a change made meanwhile still arrives; on SQLite and PostgreSQL."""
    first = service(SEED, LEADBRIDGE_DATABASE_URL=database_url)
    second = service(LEADBRIDGE_DATABASE_URL=database_url)
    _until(first.ready, "the first service's first pass")
    _until(second.ready, "the second service's first pass")
    hubspot_client(sandbox_server).crm.contacts.basic_api.update(
        "105", SimplePublicObjectInput(properties={"firstname": "BothRunning"})
    )
    _until(lambda: _leads(sandbox_server)["105"]["FirstName"] == "BothRunning", "the change")

    ids = [
        row["HubSpot_Contact_Id__c"]
        for row in sf_client(sandbox_server).query_all(
            "SELECT HubSpot_Contact_Id__c FROM Lead WHERE HubSpot_Contact_Id__c != null"
        )["records"]
    ]
    assert len(ids) == len(set(ids))
    with StateStore.open(database_url) as store:
        failures = store.dead_letters()
    assert sorted((d.record_id, d.attempts) for d in failures) == [("400", 1), ("401", 1)]
    assert first.stop() == 0 and second.stop() == 0
    assert "CANNOT_UPDATE_CONVERTED_LEAD" not in first.output() + second.output()


class SlowSearches:
    """WSGI middleware around the sandbox: every HubSpot contact search takes `seconds` longer,
    and when each arrived and was answered is noted (monotonic times)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, seconds
        self.searches: list[tuple[float, float]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") != "/crm/v3/objects/contacts/search":
            return self.app(environ, start_response)
        arrived = time.monotonic()
        time.sleep(self.seconds)
        body = b"".join(self.app(environ, start_response))
        self.searches.append((arrived, time.monotonic()))
        return [body]


def test_passes_start_every_interval_however_long_they_take(sandbox_server, service):
    """A pass that takes most of LEADBRIDGE_POLL_SECONDS is followed by the next one an interval
    after it started, not an interval after it ended: a change no webhook announced waits at
    most one interval for its pass."""
    inner = sandbox_server._server.app
    slow = SlowSearches(inner, seconds=1.5)
    sandbox_server._server.app = slow
    try:
        running = service(SEED, LEADBRIDGE_POLL_SECONDS="2")
        _until(running.ready, "the first pass")
        _until(lambda: len(slow.searches) >= 5, "four more passes")
        assert running.stop() == 0
    finally:
        sandbox_server._server.app = inner

    # Each pass searches once; the time from one pass's search answered to the next pass's
    # search: 2 s or more if the interval counted from a pass's end, well under if from its start.
    idle = [
        after[0] - before[1]
        for before, after in zip(slow.searches[1:], slow.searches[2:], strict=False)
    ]
    assert idle and max(idle) < 1.5, idle


class HeldSearch:
    """WSGI middleware around the sandbox: the `nth` HubSpot contact search waits for `go`
    (`held` says it arrived)."""

    def __init__(self, app: Any, nth: int) -> None:
        self.app, self.nth = app, nth
        self.count = 0
        self.held, self.go = threading.Event(), threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") == "/crm/v3/objects/contacts/search":
            self.count += 1
            if self.count == self.nth:
                self.held.set()
                self.go.wait(timeout=WAIT)
        return self.app(environ, start_response)


def test_a_webhook_during_a_long_pass_runs_between_its_pages(sandbox_server, service):
    """A pass reading 12 contacts 2 a page (a long pass); a contact renamed while its second
    search is answered is read by id and written before the pass's next search, not after the
    pass; the pass still creates the 7 Leads (the metrics count each once)."""
    inner = sandbox_server._server.app
    hold = HeldSearch(inner, nth=2)
    sandbox_server._server.app = hold
    try:
        running = service(SEED, LEADBRIDGE_HUBSPOT_SEARCH_PAGE_SIZE="2", **HOOKED)
        assert hold.held.wait(timeout=WAIT), "the pass's second search never came"
        _subscribe(sandbox_server, running)
        mark = sandbox_server.sandbox.journal.last_seq()
        hubspot_client(sandbox_server).crm.contacts.basic_api.update(
            "103", SimplePublicObjectInput(properties={"firstname": "Hooked"})
        )
        accepted = 'leadbridge_webhook_requests_total{outcome="accepted"} 1.0'
        _until(lambda: accepted in (running.get("/metrics").text or ""), "the webhook taken")
        hold.go.set()
        _until(running.ready, "the pass's end")
    finally:
        hold.go.set()
        sandbox_server._server.app = inner

    calls = [f"{e.method} {e.path}" for e in sandbox_server.sandbox.journal.entries(since=mark)]
    read = calls.index("POST /crm/v3/objects/contacts/batch/read")
    searches = [i for i, call in enumerate(calls) if call.endswith("/contacts/search")]
    assert searches and read < searches[-1], calls  # within the pass, not after it
    leads = _leads(sandbox_server)
    assert set(leads) >= {"100", "101", "102", "103", "104", "105", "201"}
    assert leads["103"]["FirstName"] == "Hooked"
    metrics = running.get("/metrics").text
    assert 'leadbridge_records_total{outcome="created",stream="hubspot.contacts"} 7.0' in metrics
    assert 'leadbridge_runs_total{result="ok",stream="hubspot.contacts",trigger="webhook"} 1.0' in (
        metrics
    )
    assert running.stop() == 0
