"""One holder per stream, through real `leadbridge sync --once` processes against the sandbox, on
SQLite and (LEADBRIDGE_TEST_DATABASE_URL set) PostgreSQL: two passes started together run each
stream one after the other, so no contact is routed twice, no round-robin turn is counted
twice and no Lead is converted under another run's feet; a pass beside a running stream waits
for it, or exits with status 3 and one line; a killed holder blocks nothing.

A stream is kept busy by tests/holder.py (another process holding it through the store), so
no test depends on how long a pass takes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.env import sandbox_env, sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.state.hold import Wait
from connector.state.store import StateStore
from connector.wiring import open_connector
from tests.conftest import until
from tests.e2e.test_routing import seed as routing_seed
from tests.holder import Holder

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"
CONTACTS = 45  # every third one sales qualified: 15 conversions
SQL = CONTACTS // 3
#: A bound no pass of this size comes near: a pass that waits this long is hung.
PASS_SECONDS = 300


def seed() -> dict[str, Any]:
    """The users and queues routing.yaml names, and US contacts at MQL or SQL: each new Lead
    takes a round-robin turn of rule `us`; a third are converted."""
    data = routing_seed()
    data["hubspot"]["contacts"] = [
        {
            "id": str(2000 + i),
            "properties": {
                "email": f"person{i}@company{i}.example",
                "firstname": "Pat",
                "lastname": f"Person {i}",
                "company": f"Company {i}",
                "country": "United States",
                "lifecyclestage": (
                    "salesqualifiedlead" if i % 3 == 0 else "marketingqualifiedlead"
                ),
            },
        }
        for i in range(CONTACTS)
    ]
    return data


class Sync:
    """`leadbridge sync --once ARGS` in a process of its own; its JSON log lines in a file."""

    def __init__(self, env: dict[str, str], directory: Path, name: str, *args: str) -> None:
        self.log = directory / f"{name}.log"
        self.out = directory / f"{name}.out"
        with self.log.open("w") as err, self.out.open("w") as out:
            self.process = subprocess.Popen(
                [str(LEADBRIDGE), "sync", "--once", *args],
                env=env,
                cwd=directory,
                stdout=out,
                stderr=err,
                text=True,
            )

    def events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line being written, or the error line
        return events

    def waiting_for(self, stream: str) -> Callable[[], bool]:
        """Whether the pass logged that it found `stream` held and waits."""
        return lambda: any(
            e.get("event") == "state.stream_busy" and e.get("stream") == stream
            for e in self.events()
        )

    def finish(self) -> tuple[int, str, str]:
        """Exit status, standard output and the lines on standard error that are not logs."""
        status = self.process.wait(timeout=PASS_SECONDS)
        errors = [line for line in self.log.read_text().splitlines() if line.startswith("error:")]
        return status, self.out.read_text(), "\n".join(errors)


@pytest.fixture
def env(sandbox: Callable[..., SandboxServer], database_url: str, tmp_path: Path) -> dict[str, str]:
    """The sandbox seeded, and the settings a `leadbridge` process needs to sync it into the
    test's state database with the shipped mapping files."""
    server = sandbox(seed())
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADBRIDGE_")},
        **sandbox_env(server.port, server.tls.directory, server.sandbox.config),
        "LEADBRIDGE_DATABASE_URL": database_url,
        "LEADBRIDGE_MAPPINGS_DIR": str(MAPPINGS),
        "LEADBRIDGE_LOG_FORMAT": "json",
    }


def leads_per_contact(server: SandboxServer) -> Counter[str]:
    return Counter(
        lead.get("HubSpot_Contact_Id__c") for lead in server.sandbox.org.records["Lead"].values()
    )


def assert_each_contact_handled_once(server: SandboxServer, database_url: str) -> None:
    """One Lead per contact, routed once, one round-robin turn each, the SQL third converted
    once, and nothing failed."""
    assert leads_per_contact(server) == Counter({str(2000 + i): 1 for i in range(CONTACTS)})
    leads = server.sandbox.org.records["Lead"].values()
    converted = [lead for lead in leads if lead.get("IsConverted")]
    assert len(converted) == SQL
    assert len({lead["ConvertedOpportunityId"] for lead in converted}) == SQL
    with StateStore.open(database_url) as store:
        routed = Counter(e.record_id for e in store.audit_events(kind="routing"))
        assert set(routed.values()) == {1}
        assert len(routed) == CONTACTS
        assert sum(store.next_turns("us").values()) == CONTACTS
        assert store.dead_letters() == []


def test_two_passes_started_together_handle_each_contact_once(
    env: dict[str, str], sandbox_server: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """Two `sync --once` released at the same instant: each stream runs in one of them at a
    time, so every contact gets one Lead, routed once with one round-robin turn, and each SQL
    contact is converted once with no CANNOT_UPDATE_CONVERTED_LEAD (today: 30-60 % routed twice,
    turns counted twice, false failures)."""
    with Holder(database_url, "hubspot.writeback") as holder:  # both passes start behind it
        passes = [Sync(env, tmp_path, name, "--wait", "120") for name in ("first", "second")]
        for sync in passes:
            until(sync.waiting_for("hubspot.writeback"), "a pass waiting for hubspot.writeback")
        holder.release()
        results = [sync.finish() for sync in passes]
    for status, out, errors in results:
        assert status == 0, out + errors
        assert "CANNOT_UPDATE_CONVERTED_LEAD" not in out + errors
    created = sum(int(out.split("created ")[1].split(",")[0]) for _, out, _ in results)
    assert created == CONTACTS
    assert_each_contact_handled_once(sandbox_server, database_url)


def test_a_pass_beside_a_running_stream_exits_3_with_one_line(
    env: dict[str, str], sandbox_server: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """`sync --once --no-wait` while another leadbridge runs hubspot.contacts: the steps before
    it run, then one line naming the stream and the holder's pid and host, exit status 3, and
    no Lead written."""
    with Holder(database_url, "hubspot.contacts") as holder:
        status, out, errors = Sync(env, tmp_path, "beside", "--no-wait").finish()
    assert status == 3
    assert errors == (
        f"error: stream hubspot.contacts is held by another leadbridge "
        f"(pid {holder.pid} on {socket.gethostname()}): not waiting for it to finish"
    )
    assert "feedback " in out  # salesforce.leads ran before it
    assert leads_per_contact(sandbox_server) == Counter()


def test_a_pass_waits_for_a_running_stream_then_runs_it(
    env: dict[str, str], sandbox_server: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """`sync --once` (waiting 30 s by default) while another leadbridge runs hubspot.contacts:
    it waits, and once the holder is done runs the stream itself, exit status 0."""
    with Holder(database_url, "hubspot.contacts") as holder:
        sync = Sync(env, tmp_path, "waiting")
        until(sync.waiting_for("hubspot.contacts"), "the pass waiting for hubspot.contacts")
        assert leads_per_contact(sandbox_server) == Counter()
        holder.release()
        status, out, errors = sync.finish()
    assert status == 0, out + errors
    assert_each_contact_handled_once(sandbox_server, database_url)


def test_a_killed_holder_does_not_block_the_next_pass(
    env: dict[str, str], sandbox_server: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """A leadbridge killed (SIGKILL) while it ran a stream leaves no lock behind: the next pass
    runs every stream."""
    with Holder(database_url, "hubspot.contacts") as holder:
        holder.kill()
        status, out, errors = Sync(env, tmp_path, "after").finish()
    assert status == 0, out + errors
    assert_each_contact_handled_once(sandbox_server, database_url)


def test_threads_of_one_process_run_a_stream_one_at_a_time(
    sandbox: Callable[..., SandboxServer], database_url: str
) -> None:
    """Two threads of one process (as the service runs streams) starting the contacts stream
    together: one waits for the other, and each contact is routed once with one turn."""
    server = sandbox(seed())
    settings = sandbox_settings(server, database_url=database_url, mappings_dir=MAPPINGS)
    start = threading.Barrier(2)
    summaries: list[Any] = []

    with open_connector(settings, wait=Wait(PASS_SECONDS)) as connector:

        def run() -> None:
            start.wait(timeout=30)
            summaries.append(connector.contacts.run_once())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=PASS_SECONDS)
    assert sorted(s.created for s in summaries) == [0, CONTACTS]
    assert leads_per_contact(server) == Counter({str(2000 + i): 1 for i in range(CONTACTS)})
    with StateStore.open(database_url) as store:
        assert set(Counter(e.record_id for e in store.audit_events(kind="routing")).values()) == {1}
        assert sum(store.next_turns("us").values()) == CONTACTS
