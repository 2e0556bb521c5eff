"""A Bulk API 2.0 backfill killed twice, then resumed: the same result as an uninterrupted run.

N contacts (20,000 by default: two jobs of 10,000) go up through `leadbridge backfill
--bulk-threshold 50`, each run its own process:

1. an uninterrupted run on a fresh sandbox: the reference;
2. on another fresh sandbox, a run SIGKILLed after its first job's id is in the checkpoint and
   before the job is UploadComplete (its upload is answered 503 and the kill lands while the
   upload waits to be sent again: the job is Open, without data);
3. the same command, SIGKILLed while it polls its second job (the sandbox holds that job
   InProgress until the kill);
4. the same command again, to the end.

Then both sandboxes and state stores must hold the same: every eligible contact exactly one
Lead (the same mapped values), the customer linked to its Contact, the same links, every id
written back, the same dead letters, the checkpoint complete with nothing pending, and no job
uploaded twice. Prints each step and the verdict; exit status 1 when anything differs.

    .venv/bin/python bench/backfill_kills.py [--contacts 20000] [--job-records 10000]

`tests/e2e/test_backfill.py` runs it small (1,500 contacts, jobs of 600) in `make test`.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.logging import configure_logging
from connector.sandbox.app import Fault
from connector.sandbox.env import sandbox_env
from connector.sandbox.salesforce.bulk2_jobs import JobFault, bulk_of
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore

MAPPINGS = Path(__file__).parents[1] / "mappings"
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"
FIRST_ID = 100_000
INGEST = "/services/data/v59.0/jobs/ingest"
WAIT_SECONDS = 600.0


def make_seed(contacts: int) -> dict[str, Any]:
    """Mostly MQL contacts; every 10th a subscriber (not read), every 7th sales-qualified; one
    whose email a Lead has, one whose email a Contact has, one Salesforce refuses (no last
    name), so links, a customer and a dead letter are part of what must come out the same."""
    people = []
    for i in range(contacts):
        stage = "subscriber" if i % 10 == 3 else "marketingqualifiedlead"
        if i % 7 == 5:
            stage = "salesqualifiedlead"
        people.append(
            {
                "id": str(FIRST_ID + i),
                "properties": {
                    "email": f"person{i}@kills{i % 13}.example",
                    "firstname": f"First{i}",
                    "lastname": f"Last{i}",
                    "company": f"Kills Co {i % 13}",
                    "lifecyclestage": stage,
                    "lastmodifieddate": str(1_700_000_000_000 + (contacts - i) * 1000),
                },
            }
        )
    people[1]["properties"]["email"] = "known.lead@acme.test"
    people[2]["properties"]["email"] = "customer@globex.test"
    people[4]["properties"]["lastname"] = ""  # REQUIRED_FIELD_MISSING
    return {
        "hubspot": {"contacts": people},
        "salesforce": {
            "Account": [{"Id": "@globex", "Name": "Globex"}],
            "Contact": [
                {"AccountId": "@globex", "LastName": "Customer", "Email": "customer@globex.test"}
            ],
            "Lead": [{"LastName": "Known", "Company": "Acme", "Email": "KNOWN.LEAD@acme.test"}],
        },
    }


class Scenario:
    """One sandbox, one state store, one mappings folder; `leadbridge backfill` processes."""

    def __init__(self, root: Path, contacts: int, job_records: int) -> None:
        self.root = root
        self.contacts = contacts
        root.mkdir()
        mappings = root / "mappings"
        mappings.mkdir()
        shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
        self.server = SandboxServer(make_seed(contacts), tls_dir=root / "tls")
        self.server.start()
        self.env = {
            **os.environ,
            **sandbox_env(self.server.port, self.server.tls.directory),
            "LEADBRIDGE_DATABASE_URL": f"sqlite:///{root / 'state.db'}",
            "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
            "LEADBRIDGE_LOG_FORMAT": "json",
            "LEADBRIDGE_LOG_LEVEL": "warning",
        }
        self.command = [
            str(LEADBRIDGE),
            "backfill",
            "--bulk-threshold",
            "50",
            "--job-records",
            str(job_records),
        ]

    def stop(self) -> None:
        self.server.stop()

    @property
    def journal(self) -> Any:
        return self.server.sandbox.journal

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own entry point
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
        )

    def finish(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own entry point
            self.command, env=self.env, capture_output=True, text=True, check=False, cwd=self.root
        )

    def until(self, process: subprocess.Popen[str], what: str, met: Callable[[], bool]) -> None:
        """Wait until `met()`; the process must still be running."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not met():
            if process.poll() is not None:
                _, err = process.communicate()
                msg = f"the backfill ended (exit {process.returncode}) before {what}: {err[-800:]}"
                raise SystemExit(msg)
            if time.monotonic() > deadline:
                process.kill()
                msg = f"gave up waiting for {what}"
                raise SystemExit(msg)
            time.sleep(0.01)

    def kill(self, process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGKILL)
        process.communicate()

    def entries(self, since: int = 0) -> list[Any]:
        return [e for e in self.journal.entries(since=since) if e.api == "salesforce"]

    def jobs(self) -> list[str]:
        """Ingest jobs, oldest first."""
        return sorted(bulk_of(self.server.sandbox.org).jobs)

    def pending(self) -> dict[str, Any] | None:
        with StateStore.open(self.env["LEADBRIDGE_DATABASE_URL"]) as store:
            kept = store.checkpoint("backfill")
        return None if kept is None else kept.state.get("pending")

    def result(self) -> dict[str, Any]:
        """What the backfill left, without the ids the sandbox numbered (they follow the
        order records were made in): per contact its Lead's mapped values or its Contact, the
        ids written back against the links, the dead letters, the checkpoint."""
        org = self.server.sandbox.org
        leads = org.records["Lead"]
        per_contact = Counter(
            lead["HubSpot_Contact_Id__c"]
            for lead in leads.values()
            if lead.get("HubSpot_Contact_Id__c")
        )
        store = self.server.sandbox.portal.stores["contacts"]
        with StateStore.open(self.env["LEADBRIDGE_DATABASE_URL"]) as state:
            links = state.linked_ids(limit=10 * self.contacts + 10)
            dead = sorted((d.record_id, d.code) for d in state.dead_letters("hubspot.contacts"))
            kept = state.checkpoint("backfill")
        linked: dict[str, Any] = {}
        written_back_wrong = []
        for link in links:
            record = org.records[link.object].get(link.salesforce_id) or {}
            values = (
                (record.get("LastName"), record.get("Email"), record.get("Company"))
                if link.object == "Lead"
                else ("Contact", record.get("Email"))
            )
            linked[link.hubspot_id] = (link.object, values)
            contact = store.get(link.hubspot_id)
            prop = "salesforceleadid" if link.object == "Lead" else "salesforcecontactid"
            if contact is None or contact.props.get(prop) != link.salesforce_id:
                written_back_wrong.append(link.hubspot_id)
        return {
            "leads": len(leads),
            "leads for more than one contact": sum(1 for n in per_contact.values() if n > 1),
            "contacts with more than one Lead": sorted(c for c, n in per_contact.items() if n > 1),
            "links": linked,
            "written back wrong": written_back_wrong,
            "dead letters": dead,
            "checkpoint done": bool(kept and kept.done),
            "pending": None if kept is None else kept.state.get("pending"),
        }


def run(contacts: int, job_records: int) -> bool:
    """The scenario; prints each step; answers whether the results agree."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        reference = Scenario(Path(tmp) / "reference", contacts, job_records)
        try:
            done = reference.finish()
            if done.returncode != 0:
                print(
                    f"the uninterrupted run failed (exit {done.returncode}): {done.stderr[-800:]}"
                )
                return False
            expected = reference.result()
            print(
                f"uninterrupted: {contacts:,} contacts, {len(reference.jobs())} jobs, "
                f"{expected['leads']:,} Leads, {len(expected['links']):,} links, "
                f"{time.perf_counter() - started:.0f} s"
            )
        finally:
            reference.stop()

        killed = Scenario(Path(tmp) / "killed", contacts, job_records)
        try:
            ok = _killed_twice(killed, expected)
        finally:
            killed.stop()
        print(f"all: {time.perf_counter() - started:.0f} s")
        return ok


def _killed_twice(scenario: Scenario, expected: dict[str, Any]) -> bool:
    ok = True
    sandbox = scenario.server.sandbox
    # 1. After the first job's id is recorded, before UploadComplete: its upload answered 503
    # (retried after a back-off of a second or more); the kill lands in that back-off.
    sandbox.inject_fault(
        Fault(
            path_prefix=INGEST + "/",
            method="PUT",
            status=503,
            body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "Server unavailable"}],
            times=3,
        )
    )
    first = scenario.start()
    scenario.until(
        first,
        "its first upload",
        lambda: any(e.method == "PUT" and e.status == 503 for e in scenario.entries()),
    )
    scenario.kill(first)
    sandbox.faults.clear()
    (job_one,) = scenario.jobs()
    pending = scenario.pending() or {}
    states = bulk_of(sandbox.org).jobs[job_one].state
    print(
        f"kill 1: after job {job_one} was recorded (checkpoint's job: {pending.get('job')}), "
        f"before UploadComplete (job {states}, {len(pending.get('ids') or [])} contacts pending)"
    )
    ok &= pending.get("job") == job_one and states == "Open"

    # 2. While it polls its second job: held InProgress (the sandbox's `stuck` fault, armed
    # once the resumed run has closed the first job, so it is the next job closed) until after
    # the kill.
    mark = scenario.journal.last_seq()
    second = scenario.start()
    closed = f"{INGEST}/{job_one}"
    scenario.until(
        second,
        "the first job closed",
        lambda: any(e.method == "PATCH" and e.path == closed for e in scenario.entries(mark)),
    )
    bulk_of(sandbox.org).add_fault(JobFault("stuck"))

    def polled() -> bool:
        jobs = scenario.jobs()
        poll = f"{INGEST}/{jobs[-1]}"
        return len(jobs) >= 2 and any(
            e.method == "GET" and e.path == poll for e in scenario.entries(mark)
        )

    scenario.until(second, "a poll of its second job", polled)
    job_two = scenario.jobs()[-1]
    scenario.kill(second)
    pending = scenario.pending() or {}
    state_two = bulk_of(sandbox.org).jobs[job_two].state
    print(
        f"kill 2: while polling job {job_two} (checkpoint's job: {pending.get('job')}; job "
        f"{state_two})"
    )
    ok &= pending.get("job") == job_two and state_two == "InProgress"
    bulk_of(sandbox.org).clear_faults()

    # 3. The same command, to the end.
    finished = scenario.finish()
    print(f"resumed: exit {finished.returncode}")
    for line in finished.stdout.splitlines()[:4]:
        print(f"  {line}")
    ok &= finished.returncode == 0 and "over 3 runs" in finished.stdout

    uploads = Counter(e.path for e in scenario.entries() if e.method == "PUT" and e.status == 201)
    print(
        f"jobs: {len(scenario.jobs())}; uploads landed: {sum(uploads.values())} in "
        f"{len(uploads)} jobs (the first job's never did: its contacts went through sObject "
        "Collections on resume)"
    )
    ok &= all(n == 1 for n in uploads.values())

    got = scenario.result()
    for key in expected:
        same = got[key] == expected[key]
        shown = len(got[key]) if isinstance(got[key], dict | list) else got[key]
        print(f"  {key}: {shown} {'same' if same else 'DIFFERS'}")
        ok &= same
    ok &= got["checkpoint done"] and got["pending"] is None and not got["written back wrong"]
    ok &= not got["contacts with more than one Lead"]
    print("same result as the uninterrupted run" if ok else "RESULT DIFFERS")
    return bool(ok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--job-records", type=int, default=10_000)
    args = parser.parse_args()
    if args.contacts < 2 * args.job_records:
        parser.error("--contacts must make at least two jobs of --job-records")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configure_logging("json", level="error")
    sys.exit(0 if run(args.contacts, args.job_records) else 1)


if __name__ == "__main__":
    main()
