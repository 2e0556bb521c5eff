"""`leadbridge sync --once` against the sandbox, through the real CLI and client libraries."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from connector.sandbox.env import sandbox_env
from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client

MAPPINGS = Path(__file__).parents[2] / "mappings"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def _contact(cid: str, stage: str = "marketingqualifiedlead", **props: str) -> dict:
    base = {
        "email": f"person{cid}@example-{cid}.test",
        "firstname": f"First{cid}",
        "lastname": f"Last{cid}",
        "company": f"Company {cid}",
        "lifecyclestage": stage,
    }
    return {"id": cid, "properties": {**base, **props}}


SEED = {
    "hubspot": {
        "contacts": [
            *[_contact(str(100 + i)) for i in range(6)],
            _contact("200", stage="lead"),  # not qualified
            _contact("201", stage="subscriber", hubspotscore="95"),  # qualified by score
            _contact("300", email="known.lead@acme.test"),  # matches an unlinked Lead
            _contact("301", email="Customer@Globex.test"),  # matches a Contact: no Lead
            _contact("400", lastname=""),  # Salesforce: REQUIRED_FIELD_MISSING
            _contact("401", company="X" * 300),  # Salesforce: STRING_TOO_LONG
        ]
    },
    "salesforce": {
        "Account": [{"Id": "@globex", "Name": "Globex"}],
        "Contact": [
            {
                "Id": "@cust",
                "AccountId": "@globex",
                "LastName": "Customer",
                "Email": "customer@globex.test",
            }
        ],
        "Lead": [
            {
                "Id": "@known",
                "LastName": "Known",
                "Company": "Acme",
                "Email": "KNOWN.LEAD@acme.test",
                "Status": "Working - Contacted",
            }
        ],
    },
}


@pytest.fixture
def run_cli(sandbox_server, tmp_path, monkeypatch):
    """Run `leadbridge ARGS` in-process with settings pointing at the sandbox."""
    for key, value in sandbox_env(sandbox_server.port, sandbox_server.tls.directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    # Only lead.yaml: without routing.yaml, Salesforce's assignment rules own new Leads.
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def _writes(server, since: int = 0) -> list:
    return [
        e
        for e in server.sandbox.journal.entries(since=since)
        if e.method in WRITE_METHODS
        and not e.path.endswith(("/search", "/token"))
        and "/query" not in e.path
        and not e.path.endswith("/composite")
    ]


def _hubspot(server, contact_id: str) -> dict[str, str]:
    return server.sandbox.portal.stores["contacts"].get(contact_id).props


def _leads(server) -> list[dict]:
    return list(server.sandbox.org.records["Lead"].values())


def test_first_pass_creates_links_and_reports_failures(sandbox, run_cli, tmp_path):
    """Qualified contacts become Leads; email matches link; rejected records fail alone."""
    server = sandbox(SEED)
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "created 7, updated 0, linked 2, unchanged 0, not qualified 0, failed 2" in result.output
    assert "failed: HubSpot contact 400: REQUIRED_FIELD_MISSING" in result.output
    assert "failed: HubSpot contact 401: STRING_TOO_LONG" in result.output

    by_hubspot = {lead["HubSpot_Contact_Id__c"]: lead for lead in _leads(server)}
    assert set(by_hubspot) == {"100", "101", "102", "103", "104", "105", "201", "300"}
    assert by_hubspot["300"]["Status"] == "Working - Contacted"  # the sales-owned Lead, linked
    assert len(_leads(server)) == 8  # 7 new + the linked one; none for the customer
    assert _hubspot(server, "300")["salesforceleadid"] == by_hubspot["300"]["Id"]
    cust = next(iter(server.sandbox.org.records["Contact"].values()))
    assert _hubspot(server, "301")["salesforcecontactid"] == cust["Id"]
    assert "salesforceleadid" not in _hubspot(server, "301")

    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        dead = {d.record_id: d for d in store.dead_letters("hubspot.contacts")}
        assert set(dead) == {"400", "401"}
        assert dead["400"].code == "REQUIRED_FIELD_MISSING"
        assert dead["401"].fields == ("Company",)
        assert store.cursor("hubspot.contacts") is not None
    finally:
        store.close()


def test_second_pass_writes_nothing(sandbox, run_cli):
    """Our own write-back comes back as a change, is recognised as our echo, and is skipped."""
    server = sandbox(SEED)
    assert run_cli("sync", "--once").exit_code == 0
    mark = server.sandbox.journal.last_seq()
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, linked 0" in result.output
    assert _writes(server, since=mark) == []


def test_summary_splits_links_and_names_what_still_waits(sandbox, run_cli, monkeypatch):
    """The first pass says which links are existing customers and which existing Leads; a
    later pass that does not see the two failed contacts again still says that they wait."""
    sandbox(SEED)
    first = run_cli("sync", "--once")
    split = "linked 2: 1 existing customers to their Contact (no Lead made), 1 to an existing Lead"
    assert split in first.output
    assert "failed in earlier passes" not in first.output

    # No overlap: once the cursor is past the seed's time, the failed ones are not read again.
    monkeypatch.setenv("LEADBRIDGE_SYNC_OVERLAP_SECONDS", "0")
    run_cli("sync", "--once")
    third = run_cli("sync", "--once")

    assert "unchanged since Salesforce refused them" not in third.output  # not read again
    assert (
        "2 contacts that failed in earlier passes still wait in the dead-letter store; each is "
        "tried again when it changes in HubSpot"
    ) in third.output


def test_lost_state_database_creates_no_duplicate(sandbox, run_cli, tmp_path):
    """Deleting the state database and syncing again finds every Lead: no duplicate."""
    server = sandbox(SEED)
    assert run_cli("sync", "--once").exit_code == 0
    before = sorted(lead["Id"] for lead in _leads(server))
    (tmp_path / "state.db").unlink()
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "created 0" in result.output
    assert sorted(lead["Id"] for lead in _leads(server)) == before


def test_fixed_contact_lands_and_its_dead_letter_resolves(sandbox, run_cli, tmp_path):
    """A rejected contact corrected in HubSpot is written on the next pass and leaves the DLQ."""
    server = sandbox(SEED)
    assert run_cli("sync", "--once").exit_code == 0
    hubspot_client(server).crm.contacts.basic_api.update(
        "400", simple_public_object_input=SimplePublicObjectInput(properties={"lastname": "Fixed"})
    )
    result = run_cli("sync", "--once")
    assert "created 1" in result.output, result.output
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert {d.record_id for d in store.dead_letters("hubspot.contacts")} == {"401"}
    finally:
        store.close()


def test_invalid_mapping_stops_before_any_call(sandbox, run_cli, tmp_path, monkeypatch):
    """A broken mapping file prints its errors, exits 1 and sends nothing to either API."""
    server = sandbox(SEED)
    bad = tmp_path / "bad-mappings"
    bad.mkdir()
    (bad / "lead.yaml").write_text("fields:\n  - {hubspot: email, salesfroce: Email}\n")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(bad))
    result = CliRunner().invoke(main, ["sync", "--once"])
    assert result.exit_code == 1
    assert f"{bad / 'lead.yaml'}:2:" in result.stderr
    assert "unknown key 'salesfroce'" in result.stderr
    assert server.sandbox.journal.entries() == []


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEADBRIDGE_SALESFORCE_PASSWORD", "Wr0ng-Pa55", "LEADBRIDGE_SALESFORCE_PASSWORD"),
        ("LEADBRIDGE_HUBSPOT_ACCESS_TOKEN", "wrong-token", "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"),
    ],
)
def test_wrong_credentials_are_one_line_and_exit_2(
    sandbox, run_cli, monkeypatch, variable, value, expected
):
    """A wrong password or token: one clear line naming the variable, no secret, status 2."""
    sandbox(SEED)
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["sync", "--once"])
    assert result.exit_code == 2, result.stderr
    assert expected in result.stderr
    assert value not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEADBRIDGE_SALESFORCE_LOGIN_URL", "https://127.0.0.1:9", "https://127.0.0.1:9"),
        ("LEADBRIDGE_HUBSPOT_ACCESS_TOKEN", None, "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"),
        (
            "LEADBRIDGE_DATABASE_URL",
            "postgresql+psycopg://u:s3cr3t@127.0.0.1:9/x",
            "LEADBRIDGE_DATABASE_URL",
        ),
    ],
)
def test_missing_settings_and_unreachable_hosts_are_one_line(
    sandbox, run_cli, monkeypatch, variable, value, expected
):
    """A missing setting or a host that does not answer: one line naming it, status 2."""
    sandbox(SEED)
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["sync", "--once"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert "s3cr3t" not in result.stderr
    assert "Traceback" not in result.stderr


def test_crash_between_push_and_record_replays_without_duplicates(sandbox, run_cli, monkeypatch):
    """Writes pushed but never recorded (a crash) are replayed by the next pass: same Leads."""
    server = sandbox(SEED)

    def crash(self, commit, *, run_id):
        raise RuntimeError("power cut after the Salesforce upsert")

    with monkeypatch.context() as patch:
        patch.setattr(StateStore, "record", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            run_cli("sync", "--once")
    pushed = sorted(lead["Id"] for lead in _leads(server))
    assert len(pushed) == 8

    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "created 0" in result.output
    assert sorted(lead["Id"] for lead in _leads(server)) == pushed
    assert run_cli("sync", "--once").output.count("created 0, updated 0, linked 0") == 1


ROUTED_SEED = {
    "hubspot": {
        "contacts": [
            _contact(
                "500", email="anna@globex-nordics.se", company="Globex Nordics AB", country="Sweden"
            ),
            _contact("501", email="bo@smallco.se", company="Smallco AB", country="Sweden"),
        ]
    },
    "salesforce": {
        "settings": {"leadAssignmentOwner": "@inbound"},  # an assignment rule that must keep out
        "Group": [
            {"Id": "@inbound", "Name": "Inbound", "DeveloperName": "Inbound", "Type": "Queue"},
            {"Id": "@nordics", "Name": "Nordics", "DeveloperName": "Nordics", "Type": "Queue"},
        ],
        "User": [
            {
                "Id": "@gad",
                "Username": "gad@acme.test",
                "LastName": "Global",
                "Email": "gad@acme.test",
            },
            {"Id": "@ae", "Username": "ae@acme.test", "LastName": "Exec", "Email": "ae@acme.test"},
        ],
        "Account": [
            {
                "Id": "@top",
                "Name": "Globex Corporation",
                "Website": "globex.com",
                "Global_Account__c": True,
                "OwnerId": "@gad",
            },
            {
                "Id": "@mid",
                "Name": "Globex Europe GmbH",
                "ParentId": "@top",
                "Website": "globex.eu",
            },
            {
                "Id": "@sub",
                "Name": "Globex Nordics AB",
                "ParentId": "@mid",
                "Website": "www.globex-nordics.se",
            },
        ],
        "Opportunity": [
            {
                "Name": "Globex renewal",
                "AccountId": "@top",
                "OwnerId": "@ae",
                "StageName": "Negotiation/Review",
                "CloseDate": "2026-12-31",
            }
        ],
    },
}

ROUTING_YAML = """
global:
  when:
    - {field: Global_Account__c, equals: true}
rules:
  - name: nordics
    when: {country: [Sweden]}
    assign: {queue: Nordics}
default: {queue: Inbound}
"""


def test_summary_says_why_leads_went_to_the_default_queue(sandbox, run_cli, tmp_path):
    """New leads no regional rule takes are counted by why: no country, or a country no rule
    names (the admin's cue for a missing rule); `routing explain` keeps the same reason."""
    seed = copy.deepcopy(ROUTED_SEED)
    seed["hubspot"]["contacts"] += [
        _contact("502", email="ana@brasil.example", company="Brasil SA", country="Brazil"),
        _contact("503", email="joao@brasil.example", company="Outra SA", country="Brazil"),
        _contact("504", email="x@nowhere.example", company="Nowhere Ltd"),
    ]
    sandbox(seed)
    (tmp_path / "mappings" / "routing.yaml").write_text(ROUTING_YAML)

    result = run_cli("sync", "--once")

    assert result.exit_code == 0, result.output
    assert "routed new leads: default queue 3, global 1, regional 1" in result.output
    assert (
        "to the default queue: 2 no rule for country 'Brazil'; 1 no country given"
    ) in result.output
    explained = run_cli("routing", "explain", "ana@brasil.example")
    assert "no regional rule fits (country 'Brazil')" in explained.output


def test_new_leads_are_routed_in_the_same_upsert(sandbox, run_cli, tmp_path):
    """A subsidiary two levels under a global parent goes to the global owner, flagged, with
    the decision audited and HubSpot told; a regional lead goes to its queue, not to
    Salesforce's assignment rule."""
    server = sandbox(ROUTED_SEED)
    (tmp_path / "mappings" / "routing.yaml").write_text(ROUTING_YAML)
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "routed new leads: global 1, regional 1" in result.output
    assert "to the default queue" not in result.output

    org = server.sandbox.org
    ids = {r["Username"]: r["Id"] for r in org.records["User"].values()}
    queues = {r["DeveloperName"]: r["Id"] for r in org.records["Group"].values()}
    accounts = {r["Name"]: r["Id"] for r in org.records["Account"].values()}
    by_hubspot = {lead["HubSpot_Contact_Id__c"]: lead for lead in _leads(server)}
    assert by_hubspot["500"]["OwnerId"] == ids["gad@acme.test"]
    assert by_hubspot["500"]["Global_Lead__c"] is True
    assert by_hubspot["500"]["Matched_Account__c"] == accounts["Globex Nordics AB"]
    assert by_hubspot["501"]["OwnerId"] == queues["Nordics"]
    assert by_hubspot["501"]["Global_Lead__c"] is False

    assert _hubspot(server, "500")["salesforce_global_lead"] == "true"
    assert _hubspot(server, "500")["salesforce_watchers"] == "Exec"
    assert _hubspot(server, "501")["salesforce_global_lead"] == "false"

    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        (event,) = store.audit_events(record_id="500", kind="routing")
        assert event.details["global"]["value"] is True
    finally:
        store.close()


def test_sync_mirrors_a_reps_rejection_back_to_hubspot(sandbox, run_cli, tmp_path):
    """With status.yaml, a pass first mirrors sales feedback: a rep's rejection reaches the
    contact (status, reason, lifecycle back to lead); the pass after writes nothing."""
    seed = {
        **SEED,
        "salesforce": {
            **SEED["salesforce"],
            "User": [{"Username": "rep@acme.test", "LastName": "Rep", "Email": "rep@acme.test"}],
        },
    }
    server = sandbox(seed)
    shutil.copy(MAPPINGS / "status.yaml", tmp_path / "mappings" / "status.yaml")
    first = run_cli("sync", "--once")
    assert first.exit_code == 0, first.output
    assert "feedback" in first.output and "created 7" in first.output

    lead_id = _hubspot(server, "100")["salesforceleadid"]
    sf_client(server, "rep@acme.test").Lead.update(
        lead_id, {"Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget"}
    )
    second = run_cli("sync", "--once")
    assert second.exit_code == 0, second.output
    assert "updated 1 HubSpot contacts (rejected 1)" in second.output
    contact = _hubspot(server, "100")
    assert contact["hs_lead_status"] == "UNQUALIFIED"
    assert contact["sales_rejection_reason"] == "No budget"
    assert contact["lifecyclestage"] == "lead"

    mark = server.sandbox.journal.last_seq()
    third = run_cli("sync", "--once")
    assert third.exit_code == 0, third.output
    assert _writes(server, since=mark) == []


def test_sync_converts_a_sql_contact_in_the_same_pass(sandbox, run_cli, tmp_path):
    """With conversion.yaml, a SQL contact becomes a Lead and is converted in one pass: Account,
    Contact and Opportunity, HubSpot told; the next pass converts nothing again."""
    seed = {
        "hubspot": {
            "contacts": [_contact("700", stage="salesqualifiedlead", company="Vandelay Industries")]
        }
    }
    server = sandbox(seed)
    shutil.copy(MAPPINGS / "conversion.yaml", tmp_path / "mappings" / "conversion.yaml")
    result = run_cli("sync", "--once")
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output and "conversion" in result.output
    org = server.sandbox.org.records
    (lead,) = org["Lead"].values()
    assert lead["IsConverted"] is True
    assert len(org["Account"]) == len(org["Contact"]) == len(org["Opportunity"]) == 1
    contact = _hubspot(server, "700")
    assert contact["salesforcecontactid"] == lead["ConvertedContactId"]
    assert contact["salesforceopportunityid"] == lead["ConvertedOpportunityId"]
    assert contact["lifecyclestage"] == "opportunity"

    mark = server.sandbox.journal.last_seq()
    again = run_cli("sync", "--once")
    assert again.exit_code == 0, again.output
    assert _writes(server, since=mark) == []
    assert len(org["Opportunity"]) == 1
