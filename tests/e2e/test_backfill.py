"""`leadbridge backfill` against the sandbox, through the CLI: one Lead per eligible contact,
the dry run writes nothing, a run stopped anywhere (an exception between batches, SIGKILL, its
budget share) ends as an uninterrupted one."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.sandbox.env import sandbox_env
from connector.state.store import StateStore

MAPPINGS = Path(__file__).parents[2] / "mappings"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
BASE_MS = 1_700_000_000_000
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"


def seed(count: int, *, shared_instant: bool = False) -> dict[str, Any]:
    """`count` contacts: most MQL; every 10th a subscriber (not qualified), every 7th SQL;
    one whose email a Lead has, one whose email a Contact has, one Salesforce refuses."""
    contacts = []
    for i in range(count):
        stage = "subscriber" if i % 10 == 3 else "marketingqualifiedlead"
        if i % 7 == 5:
            stage = "salesqualifiedlead"
        props = {
            "email": f"person{i}@backfill{i % 13}.example",
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "company": f"Backfill Co {i % 13}",
            "lifecyclestage": stage,
            "lastmodifieddate": str(BASE_MS + (0 if shared_instant else (count - i) * 1000)),
        }
        contacts.append({"id": str(5000 + i), "properties": props})
    contacts[1]["properties"]["email"] = "known.lead@acme.test"
    contacts[2]["properties"]["email"] = "customer@globex.test"
    contacts[4]["properties"]["lastname"] = ""  # REQUIRED_FIELD_MISSING
    return {
        "hubspot": {"contacts": contacts},
        "salesforce": {
            "Account": [{"Id": "@globex", "Name": "Globex"}],
            "Contact": [
                {"AccountId": "@globex", "LastName": "Customer", "Email": "customer@globex.test"}
            ],
            "Lead": [
                {"LastName": "Known", "Company": "Acme", "Email": "KNOWN.LEAD@acme.test"},
            ],
        },
    }


def read(count: int) -> int:
    """How many of them the search finds: the qualified stages (not the subscribers)."""
    return sum(1 for i in range(count) if not (i % 10 == 3 and i % 7 != 5))


def eligible(count: int) -> set[str]:
    """The contacts that must end with a Lead of their own."""
    return {
        str(5000 + i) for i in range(count) if not (i % 10 == 3 and i % 7 != 5) and i not in (2, 4)
    }


@pytest.fixture
def cli(point_cli, tmp_path, monkeypatch):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")

    def point(server):
        point_cli(server, mappings)
        monkeypatch.setenv("LEADBRIDGE_HUBSPOT_SEARCH_PAGE_SIZE", "50")
        monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
        return mappings

    return point


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, ["backfill", *args], catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result


def writes(server, since: int = 0) -> list:
    return [
        e
        for e in server.sandbox.journal.entries(since=since)
        if e.method in WRITES
        and not e.path.endswith(("/search", "/token", "/composite"))
        and "/query" not in e.path
        and "/batch/read" not in e.path
    ]


def leads_per_contact(server) -> Counter[str]:
    return Counter(
        lead["HubSpot_Contact_Id__c"]
        for lead in server.sandbox.org.records["Lead"].values()
        if lead.get("HubSpot_Contact_Id__c")
    )


def outcome(server, tmp_path) -> dict[str, Any]:
    """What a backfill left: the Leads by contact (their mapped fields), the links, the ids
    HubSpot got back, the dead letters."""
    leads = {
        lead["HubSpot_Contact_Id__c"]: (lead["LastName"], lead["Email"], lead["Company"])
        for lead in server.sandbox.org.records["Lead"].values()
        if lead.get("HubSpot_Contact_Id__c")
    }
    contacts = server.sandbox.portal.stores["contacts"]
    written = {
        cid: (
            contacts.get(cid).props.get("salesforceleadid"),
            contacts.get(cid).props.get("salesforcecontactid"),
        )
        for cid in (str(5000 + i) for i in range(len(contacts.records)))
        if contacts.get(cid) is not None
    }
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        links = {
            link.hubspot_id: (link.object, link.salesforce_id)
            for link in store.linked_ids(limit=100_000)
        }
        dead = sorted((d.record_id, d.code) for d in store.dead_letters("hubspot.contacts"))
    return {"leads": leads, "links": links, "written": written, "dead": dead}


def test_backfill_makes_exactly_one_lead_per_eligible_contact(sandbox, cli, tmp_path):
    """Every qualified contact gets one Lead (an email match is linked, a customer is linked
    to its Contact, a refused one is dead-lettered); a second run is already complete."""
    server = sandbox(seed(240))
    cli(server)

    result = run()

    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(240)
    assert set(per_contact.values()) == {1}
    assert len(server.sandbox.org.records["Lead"]) == len(eligible(240))  # the known one linked
    assert f"{read(240)} contacts read" in result.output
    assert "link 2" in result.output and "fail 1" in result.output
    assert "failed: HubSpot contact 5004: REQUIRED_FIELD_MISSING" in result.output
    assert "API calls: hubspot" in result.output and "salesforce" in result.output
    state = outcome(server, tmp_path)
    assert set(state["links"]) == eligible(240) | {"5002"}
    assert state["links"]["5002"][0] == "Contact"
    assert all(state["written"][cid][0] == state["links"][cid][1] for cid in eligible(240))
    assert state["dead"] == [("5004", "REQUIRED_FIELD_MISSING")]

    mark = server.sandbox.journal.last_seq()
    again = run()
    assert "already complete" in again.output
    assert writes(server, since=mark) == []


def test_dry_run_reads_both_sides_and_writes_nothing(sandbox, cli, tmp_path):
    """The plan names what would be created, linked and skipped, with reasons, in the CSV; the
    sandbox journal shows no write and the state store keeps no checkpoint."""
    server = sandbox(seed(120))
    cli(server)
    plan = tmp_path / "plan.csv"

    result = run("--dry-run", "--csv", str(plan))

    assert writes(server) == []
    apis = {e.api for e in server.sandbox.journal.entries()}
    assert apis == {"hubspot", "salesforce"}  # both sides read
    rows = list(csv.DictReader(plan.open(encoding="utf-8")))
    assert len(rows) == read(120)
    by_id = {r["hubspot_id"]: r for r in rows}
    assert by_id["5000"]["outcome"] == "create"
    assert by_id["5001"]["outcome"] == "link" and "email matches Lead" in by_id["5001"]["reason"]
    assert by_id["5002"]["outcome"] == "link" and "already a customer" in by_id["5002"]["reason"]
    assert "5003" not in by_id  # a subscriber: not searched for
    assert "dry run: nothing written" in result.output
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.checkpoint("backfill") is None
        assert store.linked_ids() == []

    # What the dry run planned is what a run does.
    run()
    planned = Counter(r["outcome"] for r in rows)
    # Its creates less the one Salesforce refuses (only Salesforce knows that), plus the
    # existing Lead it links.
    assert len(leads_per_contact(server)) == planned["create"] - 1 + 1
    assert set(leads_per_contact(server)) == eligible(120)


@pytest.mark.parametrize("shared_instant", [False, True])
def test_an_exception_between_batches_then_the_same_command_ends_as_one_run(
    sandbox, cli, tmp_path, monkeypatch, shared_instant
):
    """A run that fails between any batch's writes and its record, run again, leaves exactly
    what an uninterrupted run leaves: the same Leads, links, ids written back, dead letters."""
    server = sandbox(seed(260, shared_instant=shared_instant))
    cli(server)
    run()
    expected = outcome(server, tmp_path)
    expected_report = run("--restart").output  # (on a fresh sandbox below)

    for kill_at in (2, 4):
        server = sandbox(seed(260, shared_instant=shared_instant))
        (tmp_path / "state.db").unlink()
        original = StateStore.record
        calls = {"n": 0}

        def failing(self, commit, *, run_id, _original=original, _at=kill_at, calls=calls):
            if commit.checkpoint is not None:
                calls["n"] += 1
                if calls["n"] == _at:
                    raise RuntimeError("injected: killed between push and record")
            return _original(self, commit, run_id=run_id)

        monkeypatch.setattr(StateStore, "record", failing)
        with pytest.raises(RuntimeError, match="injected"):
            CliRunner().invoke(main, ["backfill"], catch_exceptions=False)
        monkeypatch.setattr(StateStore, "record", original)

        result = run()
        assert outcome(server, tmp_path) == expected
        assert set(leads_per_contact(server).values()) == {1}
        assert "over 2 runs" in result.output
        assert f"{read(260)} contacts read" in result.output
    assert f"{read(260)} contacts read" in expected_report


def test_sigkilled_runs_resume_to_the_same_result(sandbox, cli, tmp_path):
    """`leadbridge backfill` in its own process, SIGKILLed twice at random moments, then run
    to the end: exactly one Lead per eligible contact, every link recorded."""
    count = 400
    server = sandbox(seed(count))
    cli(server)
    env = {
        **os.environ,
        **sandbox_env(server.port, server.tls.directory),
        "LEADBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "LEADBRIDGE_MAPPINGS_DIR": str(tmp_path / "mappings"),
        "LEADBRIDGE_HUBSPOT_SEARCH_PAGE_SIZE": "50",
    }
    for wait_requests in (9, 23):
        start = server.sandbox.journal.last_seq()
        process = subprocess.Popen(
            [str(LEADBRIDGE), "backfill"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while server.sandbox.journal.last_seq() < start + wait_requests:
            assert process.poll() is None, "finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = subprocess.run(
        [str(LEADBRIDGE), "backfill"], env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"{read(count)} contacts read" in finished.stdout
    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(count)
    assert set(per_contact.values()) == {1}
    state = outcome(server, tmp_path)
    assert set(state["links"]) == eligible(count) | {"5002"}
    assert all(state["written"][cid][0] == state["links"][cid][1] for cid in eligible(count))


def test_budget_share_stops_cleanly_and_the_same_command_goes_on(sandbox, cli, tmp_path):
    """With a small daily limit, --budget stops the run between batches with exit 75 and says
    how to go on; run again (with room) it finishes, one Lead per eligible contact."""
    server = sandbox(seed(300))
    server.sandbox.org.daily_api_limit = 60  # 30 % of what is left: a few pages
    cli(server)

    stopped = run("--budget", "30", code=75)
    assert "stopped at its share of the Salesforce API budget" in stopped.output
    assert "run `leadbridge backfill` again" in stopped.output
    done = {c for c, n in leads_per_contact(server).items() if n}
    assert 0 < len(done) < len(eligible(300))

    server.sandbox.org.daily_api_limit = 100_000
    finished = run("--budget", "30")
    assert f"{read(300)} contacts read" in finished.output
    assert set(leads_per_contact(server)) == eligible(300)
    assert set(leads_per_contact(server).values()) == {1}


def test_stage_filter_and_limit(sandbox, cli, tmp_path):
    """--stage reads only that stage; --limit stops after that many contacts, and the same
    command afterwards is complete."""
    server = sandbox(seed(100))
    cli(server)

    result = run("--stage", "salesqualifiedlead", "--limit", "5")

    assert "5 contacts read" in result.output
    stages = {
        server.sandbox.portal.stores["contacts"].get(cid).props["lifecyclestage"]
        for cid in leads_per_contact(server)
    }
    assert stages == {"salesqualifiedlead"}
    assert len(leads_per_contact(server)) == 5
    assert "already complete" in run("--stage", "salesqualifiedlead", "--limit", "5").output
    skipped = run("--stage", "subscriber", "--dry-run", "--csv", str(tmp_path / "s.csv"))
    assert "skip 9" in skipped.output  # 3, 13, ... 93 but 33 (sales qualified)
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert {r["outcome"] for r in rows} == {"skip"}
    assert "lifecycle stage 'subscriber' is before" in rows[0]["reason"]


def test_mapping_changed_shows_the_plan_then_reapplies_through_the_conflict_rules(
    sandbox, cli, tmp_path
):
    """A changed lead.yaml reaches contacts synced before: the plan is shown (nothing
    written without --yes), then every synced Lead is updated, except a field whose conflict
    rule keeps a rep's value; a second run with the same mapping is complete."""
    data = seed(60)
    for contact in data["hubspot"]["contacts"]:
        contact["properties"]["jobtitle"] = "Engineer"
    server = sandbox(data)
    mappings = cli(server)
    run()
    linked = {
        lead["HubSpot_Contact_Id__c"]: lead for lead in server.sandbox.org.records["Lead"].values()
    }
    linked["5000"]["Title"] = "VP Sales"  # a rep's change in Salesforce

    lead_yaml = mappings / "lead.yaml"
    text = lead_yaml.read_text()
    text = text.replace(
        "{hubspot: firstname, salesforce: FirstName, transform: [strip]}",
        "{hubspot: firstname, salesforce: FirstName, transform: [strip, upper]}",
    ).replace(
        "{hubspot: jobtitle, salesforce: Title, transform: [strip]}",
        "{hubspot: jobtitle, salesforce: Title, transform: [strip, upper], "
        "conflict: salesforce_wins}",
    )
    lead_yaml.write_text(text)

    mark = server.sandbox.journal.last_seq()
    plan = run("--mapping-changed", "--csv", str(tmp_path / "mapping.csv"))
    assert "the plan: nothing written yet" in plan.output
    assert "not applied: add --yes" in plan.output
    assert writes(server, since=mark) == []
    rows = list(csv.DictReader((tmp_path / "mapping.csv").open(encoding="utf-8")))
    by_id = {r["hubspot_id"]: r for r in rows}
    assert by_id["5000"]["outcome"] == "update"
    assert "Salesforce keeps Title (Salesforce wins (salesforce_wins))" in by_id["5000"]["reason"]
    planned = Counter(r["outcome"] for r in rows)

    applied = run("--mapping-changed", "--yes")
    assert f"update {planned['update']}" in applied.output
    leads = {
        lead["HubSpot_Contact_Id__c"]: lead for lead in server.sandbox.org.records["Lead"].values()
    }
    assert leads["5000"]["Title"] == "VP Sales"  # the rep's value, kept by its rule
    assert leads["5000"]["FirstName"] == "FIRST0"
    assert leads["5006"]["FirstName"] == "FIRST6"
    assert set(leads_per_contact(server).values()) == {1}

    again = run("--mapping-changed", "--yes")
    assert "already complete" in again.output or "nothing to apply" in again.output


def test_above_the_bulk_threshold_leads_go_up_in_bulk_api_jobs(sandbox, cli, tmp_path):
    """From --bulk-threshold on, the Lead upserts go up in a Bulk API 2.0 job (one upload),
    the rest of each page as before: one Lead per eligible contact, the row Salesforce refuses
    dead-lettered with its sf__Error, the ids written back."""
    server = sandbox(seed(300))
    cli(server)

    result = run("--bulk-threshold", "50")

    jobs = [e for e in server.sandbox.journal.entries() if e.path.endswith("/jobs/ingest")]
    uploads = [e for e in server.sandbox.journal.entries() if e.path.endswith("/batches")]
    assert [e.method for e in jobs] == ["POST"] and len(uploads) == 1
    assert "above the Bulk API 2.0 threshold" not in result.output
    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(300) and set(per_contact.values()) == {1}
    state = outcome(server, tmp_path)
    assert state["dead"] == [("5004", "REQUIRED_FIELD_MISSING")]
    assert "failed: HubSpot contact 5004: REQUIRED_FIELD_MISSING" in result.output
    assert all(state["written"][cid][0] == state["links"][cid][1] for cid in eligible(300))
    collections = [
        e for e in server.sandbox.journal.entries() if "composite/sobjects/Lead" in e.path
    ]
    assert collections == []  # no Lead upsert through Collections


def test_a_bulk_job_looks_up_and_updates_for_all_its_pages_at_once(sandbox, cli, tmp_path):
    """On the Bulk path a job's Salesforce calls are the job's, not each page's: 1,200
    contacts (22 pages) cost one email look-up, one Collections call for the Leads found by
    email and the job's own calls (open, upload, close, a poll or two, the results that hold
    rows): about one call per 1,000 records at 10,000 a job. The decisions are unchanged: the
    Lead with the contact's email is linked, the customer linked to its Contact."""
    count = 1200
    server = sandbox(seed(count))
    cli(server)
    mark = server.sandbox.journal.last_seq()
    seeded = set(server.sandbox.org.records["Lead"])

    result = run("--bulk-threshold", "50")

    calls = [
        (e.method, e.path.split("/v59.0/", 1)[-1])
        for e in server.sandbox.journal.entries(since=mark)
        if e.api == "salesforce" and not e.path.endswith(("/token", "/describe"))
    ]
    lookups = [c for c in calls if c == ("POST", "composite")]
    updates = [c for c in calls if c == ("PATCH", "composite/sobjects")]
    ingest = [c for c in calls if c[1].startswith("jobs/ingest")]
    assert len(lookups) == 1 and len(updates) == 1
    assert len(ingest) <= 8
    assert len(calls) == len(lookups) + len(updates) + len(ingest)
    assert f"{read(count)} contacts read" in result.output and "link 2" in result.output
    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(count) and set(per_contact.values()) == {1}
    state = outcome(server, tmp_path)
    assert state["links"]["5002"][0] == "Contact"
    assert state["links"]["5001"][1] in seeded  # the Lead with its email, not a new one
    assert all(state["written"][cid][0] == state["links"][cid][1] for cid in eligible(count))


def test_a_bulk_backfill_killed_after_its_upload_polls_the_recorded_job(sandbox, cli, tmp_path):
    """SIGKILLed once its job is uploaded, the same command reads the recorded job's results
    (no second upload) and ends as an uninterrupted run: one Lead per eligible contact."""
    count = 400
    server = sandbox(seed(count))
    cli(server)
    env = {
        **os.environ,
        **sandbox_env(server.port, server.tls.directory),
        "LEADBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "LEADBRIDGE_MAPPINGS_DIR": str(tmp_path / "mappings"),
        "LEADBRIDGE_HUBSPOT_SEARCH_PAGE_SIZE": "50",
    }
    command = [str(LEADBRIDGE), "backfill", "--bulk-threshold", "50"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not any(e.path.endswith("/batches") for e in server.sandbox.journal.entries()):
        assert process.poll() is None, "finished before its upload"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()

    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    uploads = [e for e in server.sandbox.journal.entries() if e.path.endswith("/batches")]
    assert len(uploads) == 1
    assert f"{read(count)} contacts read" in finished.stdout
    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(count) and set(per_contact.values()) == {1}
    state = outcome(server, tmp_path)
    assert set(state["links"]) == eligible(count) | {"5002"}
    assert all(state["written"][cid][0] == state["links"][cid][1] for cid in eligible(count))


def test_a_bulk_backfill_killed_before_upload_complete_and_while_polling_ends_as_one_run():
    """`bench/backfill_kills.py`, small (1,500 contacts, jobs of 600): `leadbridge backfill`
    SIGKILLed after its first job's id is recorded and before UploadComplete, then while it
    polls its second job, then run to the end, leaves what an uninterrupted run leaves (each
    eligible contact exactly one Lead with the same values, the same links and dead letters,
    every id written back, the checkpoint complete, no job uploaded twice). The bench runs it
    with 20,000 contacts in two jobs of 10,000."""
    bench = Path(__file__).parents[2] / "bench" / "backfill_kills.py"
    result = subprocess.run(
        [sys.executable, str(bench), "--contacts", "1500", "--job-records", "600"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "kill 1: after job" in result.stdout and "(job Open," in result.stdout
    assert "kill 2: while polling job" in result.stdout and "job InProgress)" in result.stdout
    assert "same result as the uninterrupted run" in result.stdout


def test_bulk_jobs_of_a_few_hundred_records_each(sandbox, cli, tmp_path, monkeypatch):
    """Records are cut into jobs (here of 100 or a page more): each its own upload, recorded
    before the next; an exception while a job's pages are recorded, then the same command,
    reads that job's results again (no second upload) and ends as one run."""
    from connector.settings import load_settings
    from connector.streams.backfill.decide import Options
    from connector.wiring import open_connector

    server = sandbox(seed(330))
    cli(server)
    original = StateStore.record
    calls = {"n": 0}

    def failing(self, commit, *, run_id, calls=calls):
        if commit.checkpoint is not None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("injected")
        return original(self, commit, run_id=run_id)

    for attempt in (1, 2):
        monkeypatch.setattr(StateStore, "record", failing if attempt == 1 else original)
        with open_connector(load_settings()) as connector:
            backfill = connector.backfill()
            backfill.bulk_threshold, backfill.job_records = 50, 100
            backfill.bulk.ingest.poll_seconds = 0.05
            if attempt == 1:
                with pytest.raises(RuntimeError, match="injected"):
                    backfill.run(Options())
            else:
                report = backfill.run(Options())
    assert report.status == "done" and report.tally.pulled == read(330)
    uploads = [e.path for e in server.sandbox.journal.entries() if e.path.endswith("/batches")]
    opened = [
        e
        for e in server.sandbox.journal.entries()
        if e.method == "POST" and e.path.endswith("/jobs/ingest")
    ]
    assert len(uploads) == len(set(uploads)) == len(opened) >= 3  # none uploaded twice
    per_contact = leads_per_contact(server)
    assert set(per_contact) == eligible(330) and set(per_contact.values()) == {1}


def test_a_backfill_decides_as_a_sync_pass_does(sandbox, point_cli, tmp_path):
    """On the demo seed with every shipped mapping file (routing, conversion, status): a
    backfill then a pass leaves the same Leads (owner, routing's fields, status, converted or
    not) and the same write-backs as a pass: the same decisions, not a second copy."""
    import json

    from tests.e2e.conftest import sync_once

    seed_data = json.loads(
        (Path(__file__).parents[2] / "connector/sandbox/seeds/demo.json").read_text()
    )

    def state(server):
        fields = ("OwnerId", "Status", "Company", "Email", "Global_Lead__c", "IsConverted")
        leads = {
            lead["HubSpot_Contact_Id__c"]: tuple(lead.get(f) for f in fields)
            for lead in server.sandbox.org.records["Lead"].values()
            if lead.get("HubSpot_Contact_Id__c")
        }
        contacts = server.sandbox.portal.stores["contacts"]
        # The properties written back; the ids of what conversion made by their presence (the
        # sandbox numbers records in the order they are made, and the two orders differ).
        back = {
            cid: tuple(
                sorted(
                    (k, "<id>" if k.endswith("id") and v else v)
                    for k, v in contacts.get(cid).props.items()
                    if k.startswith(("salesforce", "lifecyclestage", "hs_lead_status", "sales_"))
                )
            )
            for cid in (c["id"] for c in seed_data["hubspot"]["contacts"])
        }
        return leads, back

    server = sandbox(seed_data)
    point_cli(server, MAPPINGS)
    sync_once()
    by_sync = state(server)

    server = sandbox(seed_data)
    (tmp_path / "state.db").unlink()
    result = CliRunner().invoke(main, ["backfill"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "to the conversions stream" in result.output
    sync_once()
    by_backfill = state(server)

    assert by_backfill[0] == by_sync[0]
    assert by_backfill[1] == by_sync[1]
