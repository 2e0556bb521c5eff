"""`leadbridge mappings validate|plan` and mapping failures in `sync --once`, on the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.sandbox.app import Fault
from connector.sandbox.env import sandbox_env
from connector.state.store import StateStore

MAPPINGS = Path(__file__).parents[2] / "mappings"
READS = {("GET", None), ("POST", "/search"), ("POST", "/token")}


def _contact(cid: str, **props: str) -> dict:
    base = {
        "email": f"person{cid}@example-{cid}.test",
        "firstname": f"First{cid}",
        "lastname": f"Last{cid}",
        "company": f"Company {cid}",
        "lifecyclestage": "marketingqualifiedlead",
    }
    return {"id": cid, "properties": {**base, **props}}


SEED = {
    "hubspot": {
        "contacts": [
            _contact("101", hs_analytics_source="OFFLINE", jobtitle=" CTO "),
            _contact("102", hs_analytics_source="REFERRALS"),
            _contact("103", hs_lead_status="CONNECTED"),
            _contact("104", hs_lead_status="NEW"),
            _contact("105"),
            _contact("106"),
            _contact("200", lifecyclestage="lead"),
        ]
    },
    "salesforce": {
        "Lead": [
            {
                "LastName": "Old name",
                "Company": "Company 101",
                "Email": "person101@example-101.test",
                "HubSpot_Contact_Id__c": "101",
            }
        ]
    },
}


@pytest.fixture
def mappings_dir(tmp_path):
    """A copy of the shipped lead mapping, to edit (no routing.yaml: its owners are the demo
    seed's, and this file's seed has none)."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", directory / "lead.yaml")
    return directory


@pytest.fixture
def run_cli(sandbox_server, tmp_path, monkeypatch, mappings_dir):
    """Run `leadbridge ARGS` in-process with settings pointing at the sandbox."""
    for key, value in sandbox_env(sandbox_server.port, sandbox_server.tls.directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(mappings_dir))
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_SCHEMA_CACHE", str(tmp_path / "schema.json"))
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def _only_reads(server) -> None:
    for entry in server.sandbox.journal.entries():
        suffix = next((s for s in ("/search", "/token") if entry.path.endswith(s)), None)
        assert (entry.method, suffix) in READS, (entry.method, entry.path)


def test_validate_the_shipped_mapping_against_the_sandbox(sandbox, run_cli, tmp_path):
    """Valid: exit 0, the schema fetched once through both APIs and cached with its time."""
    server = sandbox(SEED)
    result = run_cli("mappings", "validate")
    assert result.exit_code == 0, result.output
    assert "lead.yaml: valid (0 errors, 0 warnings)" in result.stdout
    assert "fetched just now" in result.stdout
    paths = [e.path for e in server.sandbox.journal.entries() if e.method == "GET"]
    assert sorted(paths) == [
        "/crm/v3/properties/contacts",
        "/services/data/v59.0/sobjects/Lead/describe",
    ]
    cache = json.loads((tmp_path / "schema.json").read_text())
    assert {"fetched_at", "salesforce", "hubspot"} <= set(cache)


def test_a_broken_file_exits_1_with_every_line(sandbox, run_cli, mappings_dir):
    """Unknown field and a value the restricted picklist refuses: both, with lines, exit 1."""
    sandbox(SEED)
    lead = mappings_dir / "lead.yaml"
    text = lead.read_text().replace("salesforce: Email,", "salesforce: Emial,")
    text = text.replace(
        "# HubSpot contact properties that receive",
        "  - hubspot: hs_lead_status\n"
        "    salesforce: Status\n"
        "    transform: [{map: {NEW: Qualified}, default: Open - Not Contacted}]\n\n"
        "# HubSpot contact properties that receive",
    )
    lead.write_text(text)
    lines = text.splitlines()
    email_line = next(i for i, line in enumerate(lines, 1) if "Emial" in line)
    status_line = next(i for i, line in enumerate(lines, 1) if "Qualified" in line)
    email_at = f"{email_line}:{lines[email_line - 1].index('Emial') + 1}"
    status_at = f"{status_line}:{lines[status_line - 1].index('Qualified') + 1}"
    result = run_cli("mappings", "validate")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {lead}:{email_at}: fields.2.salesforce: unknown Salesforce field 'Emial' "
        "on Lead; did you mean 'Email'?",
        f"error: {lead}:{status_at}: fields.14.transform.0.map.NEW: 'Qualified' is not allowed "
        "by Salesforce's restricted picklist Lead.Status (allowed: Open - Not Contacted, "
        "Working - Contacted, Closed - Converted, Closed - Not Converted)",
    ]
    assert f"{lead}: invalid (2 errors, 0 warnings)" in result.stdout


def test_a_broken_routing_file_is_reported_by_validate(sandbox, run_cli, mappings_dir):
    """routing.yaml goes through the same loader: a misspelt key is an error with its line."""
    sandbox(SEED)
    routing = mappings_dir / "routing.yaml"
    routing.write_text("default: {queue: Inbound}\nrulez: []\n")
    result = run_cli("mappings", "validate")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(f"error: {routing}:2:1: ")
    assert "unknown key 'rulez'" in errors[0]
    assert "did you mean 'rules'?" in errors[0]


def test_offline_uses_the_cache_and_json_parses(sandbox, run_cli, tmp_path, mappings_dir):
    """--offline calls no API and says how old the cache is; --format json is one document;
    without a cache it says how to make one (exit 2)."""
    server = sandbox(SEED)
    missing = run_cli("mappings", "validate", "--offline")
    assert missing.exit_code == 2
    assert f"no cached schema at {tmp_path / 'schema.json'}" in missing.stderr
    assert run_cli("mappings", "validate").exit_code == 0
    mark = server.sandbox.journal.last_seq()
    offline = run_cli("mappings", "validate", "--offline")
    assert offline.exit_code == 0, offline.output
    assert "cached 0 s ago" in offline.stdout
    assert server.sandbox.journal.entries(since=mark) == []

    (mappings_dir / "lead.yaml").write_text(
        "fields:\n  - {hubspot: lastname, salesforce: LastName, transform: [{truncate: 100}]}\n"
    )
    result = run_cli("mappings", "validate", "--offline", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert document["schema"]["offline"] is True
    assert [(e["line"], e["column"]) for e in document["errors"]] == [(2, 3)]
    assert "Lead.Company" in document["errors"][0]["message"]
    assert [w["message"] for w in document["warnings"]] == [
        "fields.0.transform.0.truncate: truncate: 100 is longer than Lead.LastName (80 "
        "characters): Salesforce will refuse values longer than 80"
    ]


def test_plan_shows_the_changes_and_writes_nothing(sandbox, run_cli):
    """plan --limit 5: per record the changes and their rules, totals; only reads were sent."""
    server = sandbox(SEED)
    result = run_cli("mappings", "plan", "--limit", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "HubSpot contact 101 (person101@example-101.test): update Lead" in out
    assert "~ Lead.LastName: 'Old name' -> 'Last101'   [hubspot_wins:" in out
    assert "+ Lead.Title: (empty) -> 'CTO'" in out
    assert "+ Lead.LeadSource: (empty) -> 'Other'" in out
    assert "HubSpot contact 102 (person102@example-102.test): create a Lead" in out
    assert "5 contacts read: 4 Leads to create, 1 to update" in out
    assert "nothing was written (plan reads only)" in out
    _only_reads(server)
    assert len(server.sandbox.org.records["Lead"]) == 1

    document = json.loads(
        run_cli(
            "mappings", "plan", "--email", "person200@example-200.test", "--format", "json"
        ).stdout
    )
    (record,) = document["records"]
    assert (record["hubspot_id"], record["action"]) == ("200", "not_included")
    assert document["writes"] == 0
    _only_reads(server)


def test_sync_fails_only_the_contact_whose_value_no_map_covers(
    sandbox, run_cli, mappings_dir, tmp_path
):
    """A value no map entry covers (and no default): that contact fails alone with
    MAPPING_FAILED naming the field and the value, nothing is sent for it, the others land."""
    server = sandbox(SEED)
    lead = mappings_dir / "lead.yaml"
    lead.write_text(
        lead.read_text().replace(
            "# HubSpot contact properties that receive",
            "  - hubspot: hs_lead_status\n"
            "    salesforce: Status\n"
            "    transform: [{map: {NEW: Open - Not Contacted}}]\n\n"
            "# HubSpot contact properties that receive",
        )
    )
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "failed 1" in result.output
    reason = (
        "MAPPING_FAILED: Status: from HubSpot property 'hs_lead_status': no map entry for this "
        "value and the map has no default (value 'CONNECTED')"
    )
    assert f"failed: HubSpot contact 103: {reason}" in result.output
    by_contact = {
        r["HubSpot_Contact_Id__c"]: r for r in server.sandbox.org.records["Lead"].values()
    }
    assert set(by_contact) == {"101", "102", "104", "105", "106"}
    assert by_contact["104"]["Status"] == "Open - Not Contacted"
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        (dead,) = store.dead_letters("hubspot.contacts")
    finally:
        store.close()
    assert (dead.record_id, dead.code, dead.fields, dead.reason) == (
        "103",
        "MAPPING_FAILED",
        ("Status",),
        reason,
    )
    again = run_cli("sync", "--once")
    assert "failed 0" in again.output, again.output
    assert "1 contacts still wait in the dead-letter store" in again.output


def test_schema_reads_go_through_the_retry_policy(sandbox, run_cli):
    """A 429 on the properties call and a 503 on the describe are retried, and validation goes
    on: the new calls take each gateway's classify-and-retry path."""
    server = sandbox(SEED)
    server.sandbox.inject_fault(
        Fault(
            "/crm/v3/properties/contacts",
            429,
            body={"status": "error", "errorType": "RATE_LIMIT", "message": "slow down"},
            headers={"Retry-After": "0"},
        )
    )
    server.sandbox.inject_fault(
        Fault(
            "/services/data/v59.0/sobjects/Lead/describe",
            503,
            body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}],
            headers={"Retry-After": "0"},
        )
    )
    result = run_cli("mappings", "validate")
    assert result.exit_code == 0, result.output
    calls = [
        (e.path, e.status)
        for e in server.sandbox.journal.entries()
        if e.path.endswith(("/describe", "/properties/contacts"))
    ]
    assert calls == [
        ("/services/data/v59.0/sobjects/Lead/describe", 503),
        ("/services/data/v59.0/sobjects/Lead/describe", 200),
        ("/crm/v3/properties/contacts", 429),
        ("/crm/v3/properties/contacts", 200),
    ]
