"""Conflict rules on one-way fields during `leadbridge sync --once`: sales' edits survive."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_env
from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client

MAPPINGS = Path(__file__).parents[2] / "mappings"
API = "/services/data/v59.0"
UPSERT = ("PATCH", f"{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c")
TOKEN = ("POST", "/services/oauth2/token")
QUERY = ("GET", f"{API}/query/")
LOOKUP = ("POST", f"{API}/composite")
UPDATE = ("PATCH", f"{API}/composite/sobjects")
#: Every `sync --once` checks the mapping against the Lead describe before it writes.
DESCRIBE = ("GET", f"{API}/sobjects/Lead/describe")
PROTECTED = {
    "{hubspot: jobtitle, salesforce: Title, transform: [strip]}": (
        "{hubspot: jobtitle, salesforce: Title, transform: [strip], conflict: never_overwrite}"
    ),
    "{hubspot: phone, salesforce: Phone, transform: [strip]}": (
        "{hubspot: phone, salesforce: Phone, transform: [strip], conflict: salesforce_wins}"
    ),
}

SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "700",
                "properties": {
                    "email": "ada@acme.test",
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "company": "Acme",
                    "jobtitle": "Buyer",
                    "phone": "+46 70 000 00 00",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {
        "User": [
            {"Id": "@rep", "Username": "rep@acme.test", "LastName": "Rep", "Email": "rep@acme.test"}
        ]
    },
}

LINK_SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "701",
                "properties": {
                    "email": "grace@navy.test",
                    "firstname": "Grace",
                    "lastname": "Hopper",
                    "company": "Navy",
                    "jobtitle": "Engineer",
                    "phone": "+46 70 222 22 22",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {
        "Lead": [
            {
                "Id": "@grace",
                "LastName": "Hopper",
                "Company": "US Navy",
                "Email": "grace@navy.test",
                "Title": "Rear Admiral",
            }
        ]
    },
}


@pytest.fixture
def mappings(tmp_path):
    """A mappings dir holding the shipped lead.yaml (tests may protect fields in it)."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", directory / "lead.yaml")
    return directory


@pytest.fixture
def protect(mappings):
    """lead.yaml with `never_overwrite` on Title and `salesforce_wins` on Phone."""
    path = mappings / "lead.yaml"
    text = path.read_text()
    for shipped, protected in PROTECTED.items():
        assert shipped in text
        text = text.replace(shipped, protected)
    path.write_text(text)


@pytest.fixture
def run_cli(sandbox_server, tmp_path, mappings, monkeypatch):
    """Run `leadbridge ARGS` in-process against the sandbox; each upsert and update sent is
    recorded as (hubspot id, fields) in `run_cli.sent`."""
    for key, value in sandbox_env(sandbox_server.port, sandbox_server.tls.directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)
    sent: list[tuple[str, dict]] = []
    upsert, update = SalesforceGateway.upsert_leads, SalesforceGateway.update_leads

    def upsert_leads(self, upserts, **kw):
        sent.extend((u.hubspot_id, dict(u.fields)) for u in upserts)
        return upsert(self, upserts, **kw)

    def update_leads(self, updates, **kw):
        sent.extend((u.hubspot_id, dict(u.fields)) for u in updates)
        return update(self, updates, **kw)

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", upsert_leads)
    monkeypatch.setattr(SalesforceGateway, "update_leads", update_leads)

    def run(*args: str):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run.sent = sent
    return run


def _calls(server, since: int) -> list[tuple[str, str]]:
    """leadbridge's Salesforce calls after journal entry `since` (the rep's left out)."""
    rep = _user_id(server, "rep@acme.test")
    return [
        (e.method, e.path)
        for e in server.sandbox.journal.entries(since=since, api="salesforce")
        if rep is None or e.user != rep
    ]


def _user_id(server, username: str) -> str | None:
    users = server.sandbox.org.records["User"].values()
    return next((u["Id"] for u in users if u["Username"] == username), None)


def _lead(server, hubspot_id: str) -> dict:
    leads = server.sandbox.org.records["Lead"].values()
    return next(lead for lead in leads if lead["HubSpot_Contact_Id__c"] == hubspot_id)


def _rep_edits_and_marketing_changes(server) -> None:
    """A sales rep edits Title and Phone; marketing changes jobtitle, phone and firstname."""
    rep = sf_client(server, "rep@acme.test")
    rep.Lead.update(_lead(server, "700")["Id"], {"Title": "VP Sales", "Phone": "+46 8 555 00 00"})
    changes = {"jobtitle": "Head of Buying", "phone": "+46 70 111 11 11", "firstname": "Adalind"}
    hubspot_client(server).crm.contacts.basic_api.update(
        "700", simple_public_object_input=SimplePublicObjectInput(properties=changes)
    )


@pytest.mark.usefixtures("protect")
def test_protected_fields_keep_the_reps_edits(sandbox, run_cli, tmp_path):
    """never_overwrite (Title) and salesforce_wins (Phone) keep what a rep typed while the
    contact's other changes land; the Lead is read in one query; the next pass writes nothing."""
    server = sandbox(SEED)
    assert "created 1" in run_cli("sync", "--once").output
    lead = _lead(server, "700")
    assert (lead["Title"], lead["Phone"]) == ("Buyer", "+46 70 000 00 00")
    _rep_edits_and_marketing_changes(server)
    mark = server.sandbox.journal.last_seq()
    del run_cli.sent[:]

    result = run_cli("sync", "--once")

    assert "created 0, updated 1, linked 0" in result.output
    assert "kept 2 Salesforce field values their conflict rules protect" in result.output
    lead = _lead(server, "700")
    assert (lead["FirstName"], lead["Title"], lead["Phone"]) == (
        "Adalind",
        "VP Sales",
        "+46 8 555 00 00",
    )
    ((hubspot_id, fields),) = run_cli.sent
    assert hubspot_id == "700"
    assert "Title" not in fields
    assert "Phone" not in fields
    assert fields["FirstName"] == "Adalind"
    assert _calls(server, mark) == [TOKEN, DESCRIBE, QUERY, UPSERT]
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        (event,) = store.audit_events(record_id="700", kind="conflict")
        assert set(event.details["kept"]) == {"Title", "Phone"}
        assert event.details["lead_id"] == lead["Id"]
    finally:
        store.close()

    # Unchanged since: our echo, whatever was withheld. No write, and no Lead read either.
    mark = server.sandbox.journal.last_seq()
    result = run_cli("sync", "--once")
    assert "created 0, updated 0, linked 0, unchanged 1" in result.output
    assert _calls(server, mark) == [TOKEN, DESCRIBE]


@pytest.mark.usefixtures("protect")
def test_a_field_only_marketing_changed_goes_through_salesforce_wins(sandbox, run_cli):
    """Salesforce still holding the phone we wrote has not changed it: marketing's new phone
    lands despite salesforce_wins (what we last wrote is remembered between passes)."""
    server = sandbox(SEED)
    run_cli("sync", "--once")
    hubspot_client(server).crm.contacts.basic_api.update(
        "700",
        simple_public_object_input=SimplePublicObjectInput(properties={"phone": "+46 70 999"}),
    )

    result = run_cli("sync", "--once")

    assert "updated 1" in result.output
    assert "Salesforce field values" not in result.output
    assert _lead(server, "700")["Phone"] == "+46 70 999"


@pytest.mark.usefixtures("protect")
def test_linking_an_existing_lead_keeps_its_title(sandbox, run_cli):
    """A Lead found by email is linked and updated, but its sales-entered Title stays
    (never_overwrite), and so does its empty Phone (salesforce_wins: even an empty value, as
    nothing was written before)."""
    server = sandbox(LINK_SEED)

    result = run_cli("sync", "--once")

    assert "linked 1" in result.output
    assert "kept 2 Salesforce field values" in result.output
    lead = _lead(server, "701")
    assert (lead["Company"], lead["Title"], lead["Phone"]) == ("Navy", "Rear Admiral", None)
    assert _calls(server, 0) == [TOKEN, DESCRIBE, LOOKUP, QUERY, UPDATE]


def test_default_mapping_reads_nothing_before_an_update(sandbox, run_cli):
    """With the shipped mapping (every field hubspot_wins) an update costs what it always did
    (besides the mapping check's describe, once a pass): no Lead is read first, and HubSpot's
    values replace the rep's."""
    server = sandbox(SEED)
    run_cli("sync", "--once")
    _rep_edits_and_marketing_changes(server)
    mark = server.sandbox.journal.last_seq()

    result = run_cli("sync", "--once")

    assert "updated 1" in result.output
    assert _calls(server, mark) == [TOKEN, DESCRIBE, UPSERT]
    lead = _lead(server, "700")
    assert (lead["Title"], lead["Phone"]) == ("Head of Buying", "+46 70 111 11 11")
