"""Several `leadbridge run` processes over one PostgreSQL state store share the work through
the job queue: every contact synced exactly once with webhooks delivered to any of them, and a
worker SIGKILLed mid-batch has its work finished by the others within the stalled-job bound."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.hubspot.webhooks import sign
from connector.sandbox.env import sandbox_env
from connector.sandbox.server import SandboxServer
from connector.service.queue import PASS_TASK, STALLED_BOUND
from connector.state.hold import AdvisoryLock
from connector.state.store import StateStore
from tests.conftest import PG_URL, hubspot_client, pg_schema, sf_client
from tests.e2e.test_service import LEADBRIDGE, MAPPINGS, WAIT, Running, _free_port, _until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set: several workers need PostgreSQL"
    ),
]

SECRET = "several-workers-secret"
EXTERNAL_ID = "HubSpot_Contact_Id__c"
UPSERT_PATH = re.compile(r"/composite/sobjects/Lead/" + EXTERNAL_ID + r"$")


def _contact(cid: int) -> dict[str, Any]:
    return {
        "id": str(cid),
        "properties": {
            "email": f"worker{cid}@company{cid % 40}.example",
            "firstname": f"First{cid}",
            "lastname": f"Last{cid}",
            "company": f"Company {cid % 40}",
            "lifecyclestage": "marketingqualifiedlead",
        },
    }


def _seed(ids: range) -> dict[str, Any]:
    return {"hubspot": {"contacts": [_contact(cid) for cid in ids]}}


class LeadWrites:
    """WSGI middleware around the sandbox counting each Lead a Salesforce upsert writes (by its
    HubSpot contact id). With `hold_first`, the first upsert is held until `release` is set and
    then refused without reaching the sandbox (a write the killed worker never made), or with
    `apply_held` passed on (a write slow to answer). Also what was in flight at once: the most
    upserts, and any contact two upserts in flight carried (`overlaps`)."""

    def __init__(self, app: Any, *, hold_first: bool = False, apply_held: bool = False) -> None:
        self.app = app
        self.apply_held = apply_held
        self.written: Counter[str] = Counter()
        self.held = threading.Event()
        self.release = threading.Event()
        self.most = 0
        self.overlaps: list[list[str]] = []
        self._in_flight: list[set[str]] = []
        self._hold = hold_first
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != "PATCH" or not UPSERT_PATH.search(
            environ.get("PATH_INFO", "")
        ):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        ids = {str(r[EXTERNAL_ID]) for r in json.loads(body)["records"]}
        with self._lock:
            hold, self._hold = self._hold, False
            for other in self._in_flight:
                if ids & other:
                    self.overlaps.append(sorted(ids & other))
            self._in_flight.append(ids)
            self.most = max(self.most, len(self._in_flight))
        try:
            if hold:
                self.held.set()
                self.release.wait(timeout=WAIT * 2)
            if hold and not self.apply_held:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"held, never applied"]
            with self._lock:
                self.written.update(str(r[EXTERNAL_ID]) for r in json.loads(body)["records"])
            environ["wsgi.input"] = _Body(body)
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self._in_flight.remove(ids)


class _Body:
    """A request body already read, readable again."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own in the test PostgreSQL: state tables and job queue."""
    with pg_schema() as url:
        yield url


@pytest.fixture
def workers(
    sandbox_server: SandboxServer, tmp_path: Path, pg_url: str
) -> Iterator[Callable[..., list[Running]]]:
    """`workers(n, **env)`: n `leadbridge run` processes over the same PostgreSQL schema and
    sandbox, polling every second, with the shipped lead.yaml; killed after the test."""
    started: list[Running] = []
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")

    def start(n: int, **env: str) -> list[Running]:
        for _ in range(n):
            port = _free_port()
            log = tmp_path / f"worker-{port}.log"
            environment = {
                **os.environ,
                **sandbox_env(sandbox_server.port, sandbox_server.tls.directory),
                "LEADBRIDGE_DATABASE_URL": pg_url,
                "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
                "LEADBRIDGE_POLL_SECONDS": "1",
                "LEADBRIDGE_LOG_FORMAT": "json",
                "LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET": SECRET,
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
            started.append(Running(process, port, log))
        return started[-n:]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=WAIT)


def _leads(server: SandboxServer) -> dict[str, str]:
    rows = sf_client(server).query_all(
        "SELECT HubSpot_Contact_Id__c, FirstName FROM Lead WHERE HubSpot_Contact_Id__c != null"
    )["records"]
    return {row[EXTERNAL_ID]: row["FirstName"] for row in rows}


def _webhook(running: Running, events: list[dict[str, Any]]) -> None:
    """POST `events` to `running`'s endpoint, signed as HubSpot signs them; must be accepted."""
    body = json.dumps(events).encode()
    stamp = str(int(time.time() * 1000))
    uri = f"{running.url}/webhooks/hubspot"
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": sign("POST", uri, body, stamp, SECRET),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    answer = requests.post(uri, data=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text


def _metric(running: Running, line_start: str) -> float:
    text = running.get("/metrics")
    assert text is not None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.text.splitlines()
        if line.startswith(line_start)
    )


def _jobs(url: str) -> list[Any]:
    with StateStore.open(url) as store, store.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT task_name, status, lock, attempts, args FROM procrastinate_jobs")
            )
        )


def test_three_workers_sync_every_contact_exactly_once(sandbox_server, workers, pg_url):
    """Three services on one PostgreSQL store, polling every second, while contacts are
    created and renamed in HubSpot and each change's webhook reaches one of them (a rename
    reaches two): every contact gets its Lead and each change is written to Salesforce once,
    none skipped, none twice; every service took webhooks and more than one ran streams."""
    sandbox_server.sandbox.reset(_seed(range(10_000, 10_150)))
    writes = LeadWrites(sandbox_server._server.app)
    inner, sandbox_server._server.app = sandbox_server._server.app, writes
    try:
        three = workers(3)
        for running in three:
            _until(running.ready, "each worker ready")
        api = hubspot_client(sandbox_server).crm.contacts.basic_api
        created: dict[str, str] = {}  # contact id -> its first name
        for n in range(60):
            properties = _contact(n)["properties"] | {
                "email": f"new{n}@newcomer{n % 20}.example",
                "firstname": f"New{n}",
            }
            created[api.create(SimplePublicObjectInput(properties=properties)).id] = f"New{n}"
        renamed = [str(cid) for cid in range(10_000, 10_150, 7)]
        for n, cid in enumerate([*created, *renamed]):
            if cid in renamed:
                api.update(cid, SimplePublicObjectInput(properties={"firstname": f"Again{cid}"}))
                change = {"subscriptionType": "contact.propertyChange", "propertyName": "firstname"}
                targets = [three[n % 3], three[(n + 1) % 3]]  # the same event to two workers
            else:
                change = {"subscriptionType": "contact.creation"}
                targets = [three[n % 3]]
            for target in targets:
                _webhook(
                    target,
                    [
                        {
                            "eventId": n + 1,
                            "objectId": int(cid),
                            "occurredAt": int(time.time() * 1000),
                            **change,
                        }
                    ],
                )

        expected = {str(cid): f"First{cid}" for cid in range(10_000, 10_150)}
        expected |= created
        expected |= {cid: f"Again{cid}" for cid in renamed}
        _until(lambda: _leads(sandbox_server) == expected, "every change in Salesforce")
        time.sleep(3)  # a few more passes: none may write anything again
        assert _leads(sandbox_server) == expected
    finally:
        sandbox_server._server.app = inner

    twice = {cid: 2 for cid in renamed}
    assert dict(writes.written) == {cid: twice.get(cid, 1) for cid in expected}
    assert all(_metric(r, 'leadbridge_webhook_requests_total{outcome="accepted"}') for r in three)
    ran = [_metric(r, "leadbridge_runs_total{") for r in three]
    assert sum(1 for n in ran if n) >= 2, ran
    with StateStore.open(pg_url) as store:
        assert store.dead_letters() == []
    # Stopped first: a running service always has a pass under way (they poll every second).
    assert [r.stop() for r in three] == [0, 0, 0]
    jobs = _jobs(pg_url)
    assert not [j for j in jobs if j.status in ("doing", "failed")], jobs
    assert {j.args["step"] for j in jobs if j.task_name == PASS_TASK} >= {"hubspot.contacts"}


def test_a_killed_worker_s_batch_is_finished_by_the_others_within_the_bound(
    sandbox_server, workers, pg_url
):
    """Three services; the one upserting the first batch of Leads is SIGKILLed while Salesforce
    has not answered: the others take its job over once its heartbeat is stale (the stalled-job
    recovery) and write every Lead exactly once, within the bound the queue promises."""
    ids = range(20_000, 20_040)
    sandbox_server.sandbox.reset(_seed(ids))
    writes = LeadWrites(sandbox_server._server.app, hold_first=True)
    inner, sandbox_server._server.app = sandbox_server._server.app, writes
    try:
        three = workers(3)
        assert writes.held.wait(timeout=WAIT), "no Lead upsert came"
        with StateStore.open(pg_url) as store:
            holder = AdvisoryLock(store.engine, "hubspot.contacts").holder() or ""
        pid = int(re.match(r"pid (\d+) ", holder).group(1))  # type: ignore[union-attr]
        (killed,) = [r for r in three if r.process.pid == pid]
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(timeout=WAIT)
        stopped = time.monotonic()
        writes.release.set()  # the held upsert is refused, never applied

        expected = {str(cid): f"First{cid}" for cid in ids}
        _until(lambda: _leads(sandbox_server) == expected, "the killed worker's Leads", WAIT)
        took = time.monotonic() - stopped
    finally:
        writes.release.set()
        sandbox_server._server.app = inner

    print(f"\nkilled worker's batch finished by the others {took:.1f} s after the kill")
    # The bound, plus the pass's own run and a loaded CI machine's slack.
    assert took < STALLED_BOUND + 10, took
    assert dict(writes.written) == dict.fromkeys(expected, 1)
    others = [r for r in three if r is not killed]
    logs = "".join(r.output() for r in others)
    assert '"event": "service.stalled_job"' in logs
    assert [r.stop() for r in others] == [0, 0]
    with StateStore.open(pg_url) as store:
        assert store.dead_letters() == []
    assert not [j for j in _jobs(pg_url) if j.status == "doing"]


def test_a_stopped_worker_finishes_its_batch_and_exits_0(sandbox_server, workers, pg_url):
    """SIGTERM while a queued job's Lead upsert is in flight: the worker says it is stopping,
    waits for that batch, records it and exits 0; a worker started next writes nothing again
    and leaves nothing in the queue."""
    ids = range(30_000, 30_030)
    sandbox_server.sandbox.reset(_seed(ids))
    writes = LeadWrites(sandbox_server._server.app, hold_first=True, apply_held=True)
    inner, sandbox_server._server.app = sandbox_server._server.app, writes
    try:
        (first,) = workers(1)
        assert writes.held.wait(timeout=WAIT), "no Lead upsert came"
        first.process.send_signal(signal.SIGTERM)

        def stopping() -> dict[str, Any] | None:
            answer = first.get("/readyz")
            return answer.json() if answer is not None and answer.status_code == 503 else None

        assert "stopping" in _until(stopping, "not ready while stopping")["problems"]
        writes.release.set()
        assert first.process.wait(timeout=WAIT) == 0
        expected = {str(cid): f"First{cid}" for cid in ids}
        assert _leads(sandbox_server) == expected  # the batch in flight was recorded

        (second,) = workers(1)
        _until(second.ready, "the next start's first pass")
        time.sleep(2)  # a few passes
        assert second.stop() == 0
    finally:
        writes.release.set()
        sandbox_server._server.app = inner

    assert dict(writes.written) == dict.fromkeys(expected, 1)
    assert not [j for j in _jobs(pg_url) if j.status in ("doing", "failed")]


def _events(ids: list[str], first_event: int) -> list[dict[str, Any]]:
    """A contact.creation event per contact, numbered from `first_event`."""
    return [
        {
            "eventId": first_event + n,
            "objectId": int(cid),
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "contact.creation",
        }
        for n, cid in enumerate(ids)
    ]


def test_two_workers_run_disjoint_webhook_batches_at_once_never_one_contact_in_both(
    sandbox_server, workers, pg_url
):
    """Two services (passes an hour apart, so webhooks do all the work): while the first
    batch's Lead upsert hangs in Salesforce, the next batch of other contacts is written by the
    other service all the same (it does not wait for the first batch); that batch's events name
    the first batch's contacts again (HubSpot delivering twice), and they are left to the run
    that holds them: never in two upserts at once, each Lead written once."""
    sandbox_server.sandbox.reset(_seed(range(0)))
    writes = LeadWrites(sandbox_server._server.app, hold_first=True, apply_held=True)
    inner, sandbox_server._server.app = sandbox_server._server.app, writes
    try:
        two = workers(2, LEADBRIDGE_POLL_SECONDS="3600")
        for running in two:
            _until(running.ready, "each worker ready")
        api = hubspot_client(sandbox_server).crm.contacts.basic_api

        def create(n: int) -> str:
            properties = _contact(n)["properties"] | {"email": f"batch{n}@batch{n}.example"}
            return str(api.create(SimplePublicObjectInput(properties=properties)).id)

        first = [create(n) for n in range(5)]
        second = [create(n) for n in range(5, 10)]
        _webhook(two[0], _events(first, 1))
        assert writes.held.wait(timeout=WAIT), "the first batch's upsert did not come"
        _webhook(two[1], _events(first + second, 100))
        _until(
            lambda: set(second) <= set(_leads(sandbox_server)),
            "the second batch's Leads while the first batch's upsert hangs",
        )
        assert not set(first) & set(_leads(sandbox_server))  # still held
        writes.release.set()
        _until(lambda: set(_leads(sandbox_server)) == {*first, *second}, "the first batch's Leads")
        time.sleep(2)  # any run left over would write by now
    finally:
        writes.release.set()
        sandbox_server._server.app = inner

    assert writes.overlaps == []
    assert writes.most == 2
    assert dict(writes.written) == dict.fromkeys([*first, *second], 1)
    with StateStore.open(pg_url) as store:
        assert store.dead_letters() == []
        assert store.work("hubspot.contacts") == []
    assert not [j for j in _jobs(pg_url) if j.status in ("doing", "failed")]
    assert [r.stop() for r in two] == [0, 0]
