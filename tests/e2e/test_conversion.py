"""SQL conversion on the sandbox: a sales qualified contact's Lead becomes Account, Contact and
Opportunity in the account routing matched, once, and HubSpot learns the ids."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from connector.errors import MappingError
from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.conversion import load_conversion_mapping
from connector.model import LeadConvert, Link
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.app import Fault
from connector.sandbox.env import sandbox_env
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit, StateStore
from connector.streams.conversions.stream import OPPORTUNITY_STREAM, STREAM, ConversionsStream
from tests.conftest import hubspot_client, sf_client
from tests.e2e.test_routing import seed as routing_seed
from tests.gateways.test_salesforce_sandbox import settings_for

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@sandbox.local"
SOAP = "/services/Soap/u/59.0"


def _contact(cid: str) -> dict:
    return {
        "id": cid,
        "properties": {
            "email": f"person{cid}@example.test",
            "lastname": f"Last{cid}",
            "lifecyclestage": "salesqualifiedlead",
        },
    }


def _lead(ref: str, cid: str, **extra: Any) -> dict:
    return {
        "Id": ref,
        "LastName": f"Last{cid}",
        "Company": f"Company {cid}",
        "Email": f"person{cid}@example.test",
        "Phone": "+1 555 0100",
        "Title": "CTO",
        "LeadSource": "Web",
        "Status": "Working - Contacted",
        "HubSpot_Contact_Id__c": cid,
        **extra,
    }


SEED = {
    "hubspot": {"contacts": [_contact("101"), _contact("102"), _contact("103")]},
    "salesforce": {
        "Group": [{"Id": "@queue", "Name": "Inbound", "DeveloperName": "Inbound", "Type": "Queue"}],
        "User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP, "Alias": "rep"}],
        "Account": [{"Id": "@globex", "Name": "Globex"}],
        "Contact": [
            {
                "Id": "@hank",
                "AccountId": "@globex",
                "LastName": "Last101",
                "Email": "PERSON101@example.test",
                "Title": "VP Engineering",
            }
        ],
        "Lead": [
            _lead("@ada", "101", Matched_Account__c="@globex"),
            _lead("@bob", "102"),
            _lead("@cy", "103", OwnerId="@queue"),
        ],
    },
}


@pytest.fixture
def server(sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox(SEED)


@pytest.fixture
def engine(server: SandboxServer, tmp_path: Path) -> Iterator[ConversionsStream]:
    """The engine over real gateways, a fresh SQLite store holding the three Lead links."""
    settings = settings_for(server)
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    lead_ids = {
        cid: _id(server, "Lead", HubSpot_Contact_Id__c=cid) for cid in ("101", "102", "103")
    }
    links = [Link(cid, "Lead", lead, lead_id=lead) for cid, lead in lead_ids.items()]
    store.record(Commit(stream="hubspot.contacts", links=links), run_id="seed")
    yield ConversionsStream(
        SalesforceGateway.connect(settings),
        HubSpotGateway.connect(settings),
        store,
        # null: a queue-owned Lead stays unconverted, so the refusal path is tested here.
        load_conversion_mapping(MAPPINGS).model_copy(update={"queue_lead_owner": None}),
        external_id_field=settings.salesforce_external_id_field,
    )
    store.close()


def _id(server: SandboxServer, sobject: str, **match: Any) -> str:
    (hit,) = [
        r
        for r in server.sandbox.org.records[sobject].values()
        if all(r.get(k) == v for k, v in match.items())
    ]
    return hit["Id"]


def _count(server: SandboxServer, sobject: str) -> int:
    return len(server.sandbox.org.records[sobject])


def _props(server: SandboxServer, cid: str) -> dict[str, str]:
    return server.sandbox.portal.stores["contacts"].get(cid).props


def test_sql_converts_into_matched_account_and_existing_contact(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """Ada converts into Globex and Hank (same email): only Hank's empty fields filled, no new
    Account or Contact; Bob gets a new Account; both get an opportunity, HubSpot the ids and
    stage opportunity; the queue-owned Lead Salesforce refuses is dead-lettered, still a Lead."""
    globex, hank = _id(server, "Account", Name="Globex"), _id(server, "Contact", LastName="Last101")
    accounts, contacts = _count(server, "Account"), _count(server, "Contact")

    summary = engine.run_once("sql")

    assert (summary.pulled, summary.converted, summary.opportunities) == (3, 2, 2)
    assert (summary.linked, summary.failed) == (0, 1)
    ada = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="101")]
    assert (ada["IsConverted"], ada["ConvertedAccountId"], ada["ConvertedContactId"]) == (
        True,
        globex,
        hank,
    )
    hank_now = server.sandbox.org.records["Contact"][hank]
    assert (hank_now["Title"], hank_now["Phone"]) == ("VP Engineering", "+1 555 0100")
    assert _count(server, "Account") == accounts + 1  # Bob's only
    assert _count(server, "Contact") == contacts + 1  # Bob's only
    bob = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="102")]
    new_account = server.sandbox.org.records["Account"][bob["ConvertedAccountId"]]
    assert new_account["Name"] == "Company 102"
    opportunity = server.sandbox.org.records["Opportunity"][ada["ConvertedOpportunityId"]]
    assert opportunity["Name"].startswith("Company 101 – Web – ")
    props = _props(server, "101")
    assert (
        props["salesforcecontactid"],
        props["salesforceaccountid"],
        props["salesforceopportunityid"],
        props["lifecyclestage"],
    ) == (hank, globex, ada["ConvertedOpportunityId"], "opportunity")
    link = engine.store.links(["101"])["101"]
    assert (link.object, link.salesforce_id, link.lead_id, link.account_id) == (
        "Contact",
        hank,
        ada["Id"],
        globex,
    )
    cy = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="103")]
    assert cy["IsConverted"] is False
    (dead,) = engine.store.dead_letters(STREAM)
    assert (dead.record_id, dead.code) == ("103", "FIELD_INTEGRITY_EXCEPTION")
    assert "Owner ID: id value of incorrect type" in dead.reason
    assert _props(server, "103")["lifecyclestage"] == "salesqualifiedlead"
    assert "failed: HubSpot contact 103: Salesforce refused to convert Lead" in summary.render()

    again = engine.run_once("again")  # quiet: converted ones are no longer SQL
    assert (again.converted, again.linked, _count(server, "Opportunity")) == (0, 0, 2)


def test_replay_after_crash_links_instead_of_converting_twice(
    server: SandboxServer, engine: ConversionsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between Salesforce's answer and our commit: the replay finds the Leads converted
    and links them; no second conversion, no second opportunity."""
    record = engine.store.record
    calls = {"n": 0}

    def crash_once(commit: Commit, *, run_id: str) -> None:
        # The first commit carrying Salesforce's answers (the links) is lost; the PENDING letters
        # written before convertLead are what the replay finds.
        if commit.links and commit.stream == STREAM:
            calls["n"] += 1
            if calls["n"] == 1:
                msg = "crash"
                raise RuntimeError(msg)
        record(commit, run_id=run_id)

    monkeypatch.setattr(engine.store, "record", crash_once)
    with pytest.raises(RuntimeError):
        engine.run_once("crash")
    assert _count(server, "Opportunity") == 2
    assert _props(server, "101")["lifecyclestage"] == "salesqualifiedlead"  # not told yet

    replay = engine.run_once("replay")

    assert (replay.converted, replay.linked, replay.opportunities) == (0, 2, 0)
    assert _count(server, "Opportunity") == 2
    ada = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="101")]
    props = _props(server, "101")
    assert (props["salesforcecontactid"], props["lifecyclestage"]) == (
        ada["ConvertedContactId"],
        "opportunity",
    )
    assert engine.store.links(["101"])["101"].object == "Contact"


def test_wrong_converted_status_names_the_file(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """A converted_status the org does not mark converted stops the pass before any write."""
    engine.mapping = engine.mapping.model_copy(update={"converted_status": "Qualified"})
    with pytest.raises(MappingError, match=r"conversion.yaml: converted_status 'Qualified'"):
        engine.run_once("bad")
    assert _count(server, "Opportunity") == 0


def test_queue_owned_lead_converts_owned_by_the_integration_user(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """With the shipped `queue_lead_owner: integration`, a queue-owned Lead converts and the
    integration user owns its Contact and Opportunity (Salesforce refuses a queue owner)."""
    engine.mapping = load_conversion_mapping(MAPPINGS)
    summary = engine.run_once("queue")
    assert (summary.converted, summary.failed) == (3, 0)
    org = server.sandbox.org
    lead = org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="103")]
    integration = org.integration_user_id()
    assert lead["IsConverted"] is True
    assert org.records["Contact"][lead["ConvertedContactId"]]["OwnerId"] == integration
    assert org.records["Opportunity"][lead["ConvertedOpportunityId"]]["OwnerId"] == integration


def _soap_calls(server: SandboxServer, since: int) -> list[Any]:
    """The convertLead calls (partner SOAP API) served since journal position `since`."""
    return [
        e
        for e in server.sandbox.journal.entries(since=since, api="salesforce")
        if e.method == "POST" and e.path == SOAP
    ]


def test_refused_conversion_is_held_until_the_lead_changes(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """Pass 1: Salesforce refuses the queue-owned Lead (dead letter). Pass 2: nothing changed,
    so it is held: no convertLead call at all. A rep takes the Lead; pass 3 converts it."""
    first = engine.run_once("refused")
    assert (first.converted, first.failed) == (2, 1)
    (letter,) = engine.store.dead_letters(STREAM)
    assert (letter.record_id, letter.code, letter.attempts) == (
        "103",
        "FIELD_INTEGRITY_EXCEPTION",
        1,
    )

    mark = server.sandbox.journal.last_seq()
    second = engine.run_once("held")

    assert (second.held, second.failed, second.converted) == (1, 0, 0)
    assert _soap_calls(server, mark) == []
    (still,) = engine.store.dead_letters(STREAM)
    assert (still.code, still.attempts, still.reason) == (letter.code, 1, letter.reason)
    assert (
        "1 contacts still wait in the dead-letter store, unchanged since Salesforce refused "
        "their conversion" in second.render()
    )

    cy = _id(server, "Lead", HubSpot_Contact_Id__c="103")
    rep = server.sandbox.org.user_by_username(REP)["Id"]
    sf_client(server, REP).Lead.update(cy, {"OwnerId": rep})  # the rep takes it from the queue
    mark = server.sandbox.journal.last_seq()
    third = engine.run_once("fixed")

    assert (third.converted, third.held, third.failed) == (1, 0, 0)
    assert len(_soap_calls(server, mark)) == 1
    lead = server.sandbox.org.records["Lead"][cy]
    assert lead["IsConverted"] is True
    assert server.sandbox.org.records["Contact"][lead["ConvertedContactId"]]["OwnerId"] == rep
    assert engine.store.dead_letters(STREAM) == []
    assert _props(server, "103")["salesforcecontactid"] == lead["ConvertedContactId"]


def test_transient_refusal_is_retried_every_pass(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """A refusal with a transient code (UNABLE_TO_LOCK_ROW) is never held: the next pass
    calls convertLead again even though nothing changed."""
    engine.run_once("refused")
    (letter,) = engine.store.dead_letters(STREAM)
    locked = replace(letter, code="UNABLE_TO_LOCK_ROW")
    engine.store.record(Commit(stream=STREAM, failures=[locked]), run_id="locked")
    mark = server.sandbox.journal.last_seq()

    again = engine.run_once("retry")

    assert (again.held, again.failed) == (0, 1)
    assert len(_soap_calls(server, mark)) == 1
    (after,) = engine.store.dead_letters(STREAM)
    assert (after.code, after.attempts) == ("FIELD_INTEGRITY_EXCEPTION", 3)


def test_unknown_opportunity_stage_stops_the_pass_before_converting(
    server: SandboxServer, engine: ConversionsStream
) -> None:
    """A stage not in the org's StageName picklist fails the pass at its start, naming the
    file and the closest stage; nothing is converted."""
    rule = engine.mapping.opportunity.model_copy(update={"stage": "Prospectin"})
    engine.mapping = engine.mapping.model_copy(update={"opportunity": rule})

    with pytest.raises(MappingError) as caught:
        engine.run_once("typo")

    assert str(caught.value).startswith(
        "conversion.yaml: opportunity.stage 'Prospectin' is not an Opportunity stage in "
        "Salesforce; use one of ['Prospecting', 'Qualification', "
    )
    assert str(caught.value).endswith("did you mean 'Prospecting'?")
    assert _soap_calls(server, 0) == []
    assert _count(server, "Opportunity") == 0


# -- SQL by the Salesforce Lead status, and the opportunity's fields -----------------------------
# A text property (a form's free "budget" field): HubSpot would refuse "lots" in a number one.
BUDGET = {"name": "budget", "label": "Budget", "type": "string", "fieldType": "text"}


def _mql(cid: str, **props: str) -> dict:
    contact = _contact(cid)
    contact["properties"].update(lifecyclestage="marketingqualifiedlead", **props)
    return contact


STATUS_SEED = {
    "hubspot": {
        "properties": {"contacts": [BUDGET]},
        "contacts": [
            _mql("201", budget="12500"),
            _mql("202", budget="800"),
            _mql("203"),
            {**_contact("204"), "properties": {**_contact("204")["properties"], "budget": "lots"}},
        ],
    },
    "salesforce": {
        "User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP, "Alias": "rep"}],
        "Lead": [
            _lead("@l201", "201", OwnerId="@rep"),  # Working - Contacted: SQL by status
            _lead("@l202", "202", OwnerId="@rep", Status="Open - Not Contacted"),
            _lead("@l203", "203", OwnerId="@rep"),  # carries our id, but no link: not ours
            _lead("@l204", "204", OwnerId="@rep"),
        ],
    },
}


def _status_engine(server: SandboxServer, store: StateStore, **changes: Any) -> ConversionsStream:
    """An engine whose conversion.yaml is the shipped one with `changes` (opportunity keys go
    under `opportunity`)."""
    shipped = load_conversion_mapping(MAPPINGS)
    opportunity = {
        k: changes.pop(k) for k in ("stage", "close_days", "amount_property") if k in changes
    }
    mapping = shipped.model_copy(
        update={**changes, "opportunity": shipped.opportunity.model_copy(update=opportunity)}
    )
    settings = settings_for(server)
    return ConversionsStream(
        SalesforceGateway.connect(settings),
        HubSpotGateway.connect(settings),
        store,
        mapping,
        external_id_field=settings.salesforce_external_id_field,
    )


@pytest.fixture
def status_store(sandbox: Callable[..., SandboxServer], tmp_path: Path) -> Iterator[StateStore]:
    """STATUS_SEED in the sandbox; a store linking 201, 202 and 204 to their Leads (not 203)."""
    server = sandbox(STATUS_SEED)
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    links = [
        Link(cid, "Lead", lead, lead_id=lead)
        for cid in ("201", "202", "204")
        for lead in [_id(server, "Lead", HubSpot_Contact_Id__c=cid)]
    ]
    store.record(Commit(stream="hubspot.contacts", links=links), run_id="seed")
    yield store
    store.close()


def test_status_trigger_converts_without_the_hubspot_stage(
    sandbox_server: SandboxServer, status_store: StateStore
) -> None:
    """sql_when: salesforce_status: Leads at Working - Contacted convert while their contacts
    are still MQL; HubSpot gets the ids and the converted stage. A Lead at another status, and
    one that carries our id but is not the Lead the store links, stay Leads. One status query,
    no HubSpot search."""
    server = sandbox_server
    engine = _status_engine(
        server,
        status_store,
        sql_when="salesforce_status",
        salesforce_status=("Working - Contacted",),
    )
    mark = server.sandbox.journal.last_seq()

    summary = engine.run_once("status")

    assert (summary.status_leads, summary.converted, summary.not_a_lead) == (3, 2, 1)
    assert summary.pulled == 0
    converted = {
        cid
        for cid in ("201", "202", "203", "204")
        if server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c=cid)][
            "IsConverted"
        ]
    }
    assert converted == {"201", "204"}
    lead = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="201")]
    props = _props(server, "201")
    assert (props["salesforcecontactid"], props["lifecyclestage"]) == (
        lead["ConvertedContactId"],
        "opportunity",
    )
    assert _props(server, "203")["lifecyclestage"] == "marketingqualifiedlead"
    # The LeadStatus check, the SQL Leads, one convertLead, one HubSpot batch: no search.
    assert [(e.method, e.path) for e in server.sandbox.journal.entries(since=mark)] == [
        ("GET", "/services/data/v59.0/query/"),
        ("GET", "/services/data/v59.0/query/"),
        ("POST", SOAP),
        ("POST", "/crm/v3/objects/contacts/batch/update"),
    ]

    again = engine.run_once("again")  # converted Leads drop out of the status query
    assert (again.status_leads, again.converted, again.linked) == (1, 0, 0)


def test_both_needs_the_stage_and_the_status(
    sandbox_server: SandboxServer, status_store: StateStore
) -> None:
    """sql_when: both: a Lead at the SQL status waits while its contact is MQL, and converts in
    the pass after marketing sets the SQL stage; a contact at SQL whose Lead is not at the
    status waits until the rep sets it."""
    server = sandbox_server
    engine = _status_engine(
        server, status_store, sql_when="both", salesforce_status=("Working - Contacted",)
    )

    first = engine.run_once("one-side")

    # 201: status only; 204: stage and status; 202: neither.
    assert (first.converted, first.waiting) == (1, 1)
    assert _props(server, "204")["lifecyclestage"] == "opportunity"
    portal = server.sandbox.portal.stores["contacts"]
    hubspot_client(server).crm.contacts.basic_api.update(
        "202", SimplePublicObjectInput(properties={"lifecyclestage": "salesqualifiedlead"})
    )
    second = engine.run_once("stage-only")
    assert (second.converted, second.waiting) == (0, 2)  # 201 and 202: one side each

    hubspot_client(server).crm.contacts.basic_api.update(
        "201", SimplePublicObjectInput(properties={"lifecyclestage": "salesqualifiedlead"})
    )
    l202 = _id(server, "Lead", HubSpot_Contact_Id__c="202")
    sf_client(server, REP).Lead.update(l202, {"Status": "Working - Contacted"})
    third = engine.run_once("both")

    assert (third.converted, third.waiting) == (2, 0)
    assert portal.get("201").props["lifecyclestage"] == "opportunity"
    assert portal.get("202").props["lifecyclestage"] == "opportunity"


def test_opportunity_gets_stage_close_date_and_amount(
    sandbox_server: SandboxServer, status_store: StateStore
) -> None:
    """Right after conversion each new opportunity gets the configured stage, a close date 30
    days on and the contact's budget as Amount, in one Collections call. A budget that is not
    a number fails that opportunity's update alone, naming contact and property; its
    conversion still counts and is linked."""
    server = sandbox_server
    engine = _status_engine(
        server,
        status_store,
        sql_when="salesforce_status",
        salesforce_status=("Working - Contacted",),
        stage="Qualification",
        close_days=30,
        amount_property="budget",
    )
    mark = server.sandbox.journal.last_seq()
    engine.clock = lambda: datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC)  # no midnight race

    summary = engine.run_once("opportunity")

    assert (summary.converted, summary.opportunities, summary.opportunities_updated) == (2, 2, 1)
    lead = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="201")]
    opportunity = server.sandbox.org.records["Opportunity"][lead["ConvertedOpportunityId"]]
    assert (opportunity["StageName"], opportunity["CloseDate"], opportunity["Amount"]) == (
        "Qualification",
        "2027-02-14",
        12500,
    )
    updates = [
        e
        for e in server.sandbox.journal.entries(since=mark, api="salesforce")
        if e.method == "PATCH" and e.path.endswith("/composite/sobjects")
    ]
    assert len(updates) == 1
    (failure,) = engine.store.dead_letters(OPPORTUNITY_STREAM)
    assert (failure.record_id, failure.code, failure.fields) == (
        "204",
        "MAPPING_FAILED",
        ("Amount",),
    )
    assert failure.reason == (
        "HubSpot contact 204: property 'budget' is 'lots', not a number, so the opportunity's "
        "Amount cannot be set"
    )
    assert "opportunity not updated: HubSpot contact 204: " in summary.render()
    assert engine.store.links(["204"])["204"].object == "Contact"
    assert _props(server, "204")["lifecyclestage"] == "opportunity"
    assert engine.store.dead_letters(STREAM) == []


def test_refused_opportunity_update_keeps_the_conversion(
    sandbox_server: SandboxServer, status_store: StateStore
) -> None:
    """Salesforce refuses the opportunity update (a validation rule): Salesforce's message and
    field are dead-lettered in their own stream and shown; the conversion counts, is linked,
    and HubSpot gets the ids."""
    server = sandbox_server
    engine = _status_engine(
        server,
        status_store,
        sql_when="salesforce_status",
        salesforce_status=("Working - Contacted",),
        stage="Qualification",
    )
    refusal = {
        "success": False,
        "errors": [
            {
                "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "message": "Qualification needs a product interest",
                "fields": ["StageName"],
            }
        ],
    }
    ok = {"id": None, "success": True, "errors": []}
    server.sandbox.inject_fault(
        Fault(
            "/services/data/v59.0/composite/sobjects",
            200,
            body=[ok, refusal],
            method="PATCH",
        )
    )

    summary = engine.run_once("refused-update")

    assert (summary.converted, summary.failed, summary.opportunities_updated) == (2, 0, 1)
    (failure,) = engine.store.dead_letters(OPPORTUNITY_STREAM)
    lead = server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c="204")]
    assert (failure.record_id, failure.code, failure.fields) == (
        "204",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        ("StageName",),
    )
    assert failure.reason == (
        f"Salesforce refused to set StageName on Opportunity {lead['ConvertedOpportunityId']}: "
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Qualification needs a product interest (StageName)"
    )
    assert lead["IsConverted"] is True
    assert engine.store.links(["204"])["204"].contact_id == lead["ConvertedContactId"]
    assert _props(server, "204")["salesforceopportunityid"] == lead["ConvertedOpportunityId"]
    assert "opportunity not updated: HubSpot contact 204: Salesforce refused" in summary.render()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("Working - Contacte", "salesforce_status 'Working - Contacte' is not a Lead status"),
        ("Qualified", "salesforce_status 'Qualified' is not a Lead status in Salesforce"),
    ],
)
def test_unknown_sql_status_stops_the_pass(
    sandbox_server: SandboxServer, status_store: StateStore, status: str, message: str
) -> None:
    """A salesforce_status the org's LeadStatus values lack stops the pass before any write
    (Salesforce's default org has no "Qualified")."""
    engine = _status_engine(
        sandbox_server, status_store, sql_when="either", salesforce_status=(status,)
    )
    with pytest.raises(MappingError, match=re.escape(message)):
        engine.run_once("bad-status")
    assert _count(sandbox_server, "Opportunity") == 0


# -- the whole chain, through `leadbridge sync --once` ---------------------------------------
ANNA = "anna.stark@stark-maschinenbau.de"
#: The shipped conversion.yaml's null opportunity keys, as the chain's admin sets them.
CHAIN_OPPORTUNITY = {
    "  stage: null\n": "  stage: Qualification\n",
    "  close_days: null\n": "  close_days: 30\n",
    "  amount_property: null\n": "  amount_property: budget\n",
}


def _chain_seed() -> dict[str, Any]:
    """The users and queues the shipped routing.yaml names, a German account routing will
    match by its domain, and one MQL contact of that company with a budget."""
    data = routing_seed(
        extra_accounts=[
            {
                "Id": "@stark",
                "Name": "Stark Maschinenbau AG",
                "Website": "https://www.stark-maschinenbau.de",
                "BillingCountry": "Germany",
                "OwnerId": "@dora",
            }
        ]
    )
    data["hubspot"] = {
        "properties": {"contacts": [BUDGET]},
        "contacts": [
            {
                "id": "301",
                "properties": {
                    "email": ANNA,
                    "firstname": "Anna",
                    "lastname": "Stark",
                    "company": "Stark Maschinenbau AG",
                    "country": "Germany",
                    "lifecyclestage": "marketingqualifiedlead",
                    "budget": "48000",
                },
            }
        ],
    }
    return data


@pytest.fixture
def chain_cli(
    sandbox_server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """`leadbridge ARGS` in-process against the sandbox, with the shipped lead, routing and
    status files and a conversion.yaml that also sets the opportunity's stage, close date and
    amount (in a temporary mappings directory)."""
    for key, value in sandbox_env(sandbox_server.port, sandbox_server.tls.directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "routing.yaml", "status.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    text = (MAPPINGS / "conversion.yaml").read_text(encoding="utf-8")
    for shipped, chosen in CHAIN_OPPORTUNITY.items():
        assert shipped in text
        text = text.replace(shipped, chosen)
    (mappings / "conversion.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Any:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return run


def _pass_calls(server: SandboxServer, since: int) -> dict[str, list[str]]:
    """The calls of one pass by API, each as `METHOD path` (login included)."""
    calls: dict[str, list[str]] = {"salesforce": [], "hubspot": []}
    for e in server.sandbox.journal.entries(since=since):
        calls[e.api].append(f"{e.method} {e.path}")
    return calls


def _lead_of(server: SandboxServer, cid: str) -> dict[str, Any]:
    return server.sandbox.org.records["Lead"][_id(server, "Lead", HubSpot_Contact_Id__c=cid)]


def _set_stage(server: SandboxServer, cid: str, stage: str) -> None:
    """Marketing moves the contact (through HubSpot's API, as a workflow would)."""
    hubspot_client(server).crm.contacts.basic_api.update(
        cid, SimplePublicObjectInput(properties={"lifecyclestage": stage})
    )


def test_mql_to_lead_to_accepted_to_sql_converts_into_the_existing_account(
    sandbox: Callable[..., SandboxServer],
    chain_cli: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole chain through `leadbridge sync --once`: an MQL becomes a Lead routed to the
    matched account; the rep who owns it accepts it (and adds Anna as a Contact of the
    account); HubSpot shows IN_PROGRESS; marketing sets SQL; the next pass converts into that
    account and that Contact: no new Account or Contact, one Opportunity with the configured
    name, stage, close date and amount; HubSpot gets the ids and the stage opportunity."""
    server = sandbox(_chain_seed())
    stark = _id(server, "Account", Name="Stark Maschinenbau AG")
    measured: list[tuple[str, dict[str, list[str]]]] = []

    mark = server.sandbox.journal.last_seq()
    chain_cli("sync", "--once")
    measured.append(("MQL -> Lead", _pass_calls(server, mark)))
    lead = _lead_of(server, "301")
    assert (lead["Matched_Account__c"], lead["IsConverted"]) == (stark, False)
    owner = server.sandbox.org.records["User"][lead["OwnerId"]]

    rep = sf_client(server, owner["Username"])
    rep.Lead.update(lead["Id"], {"Status": "Working - Contacted"})
    rep.Contact.create(
        {"AccountId": stark, "FirstName": "Anna", "LastName": "Stark", "Email": ANNA}
    )
    anna = _id(server, "Contact", Email=ANNA)
    mark = server.sandbox.journal.last_seq()
    chain_cli("sync", "--once")
    measured.append(("accepted", _pass_calls(server, mark)))
    assert _props(server, "301")["hs_lead_status"] == "IN_PROGRESS"
    assert _lead_of(server, "301")["IsConverted"] is False

    _set_stage(server, "301", "salesqualifiedlead")
    accounts, contacts = _count(server, "Account"), _count(server, "Contact")
    mark = server.sandbox.journal.last_seq()
    started = datetime.now(UTC)
    result = chain_cli("sync", "--once")
    finished = datetime.now(UTC)
    measured.append(("SQL -> converted", _pass_calls(server, mark)))

    assert "converted 1 Leads (1 opportunities)" in result.output
    assert "set stage, close date or amount on 1 opportunities, failed 0" in result.output
    lead = _lead_of(server, "301")
    assert (lead["IsConverted"], lead["ConvertedAccountId"], lead["ConvertedContactId"]) == (
        True,
        stark,
        anna,
    )
    assert (_count(server, "Account"), _count(server, "Contact")) == (accounts, contacts)
    (opportunity,) = [
        o for o in server.sandbox.org.records["Opportunity"].values() if o["AccountId"] == stark
    ]
    # The pass read the clock between these two instants, which a midnight may split.
    assert opportunity["Name"] in {
        f"Stark Maschinenbau AG – {lead['LeadSource'] or ''} – {at.strftime('%Y-%m')}"
        for at in (started, finished)
    }
    assert opportunity["CloseDate"] in {
        (at.date() + timedelta(days=30)).isoformat() for at in (started, finished)
    }
    assert (
        opportunity["Id"],
        opportunity["StageName"],
        opportunity["Amount"],
        opportunity["OwnerId"],
    ) == (lead["ConvertedOpportunityId"], "Qualification", 48000, owner["Id"])
    props = _props(server, "301")
    assert (
        props["salesforcecontactid"],
        props["salesforceaccountid"],
        props["salesforceopportunityid"],
        props["lifecyclestage"],
    ) == (anna, stark, opportunity["Id"], "opportunity")
    soap = [c for c in measured[2][1]["salesforce"] if c == f"POST {SOAP}"]
    assert soap == [f"POST {SOAP}"]

    mark = server.sandbox.journal.last_seq()
    quiet = chain_cli("sync", "--once")
    measured.append(("after", _pass_calls(server, mark)))
    assert "converted 0 Leads" in quiet.output
    assert f"POST {SOAP}" not in measured[3][1]["salesforce"]
    with capsys.disabled():
        print("\nconversion chain, API calls per `sync --once` pass (login included):")
        for name, calls in measured:
            print(
                f"  {name}: Salesforce {len(calls['salesforce'])}, HubSpot {len(calls['hubspot'])}"
            )
            for api in ("salesforce", "hubspot"):
                for call, n in Counter(calls[api]).items():
                    print(f"    {api} {n} x {call}")


def test_lead_converted_by_a_rep_is_linked_not_converted(
    sandbox: Callable[..., SandboxServer], chain_cli: Callable[..., Any]
) -> None:
    """A rep converts the Lead in Salesforce; when marketing then marks the contact SQL, the
    pass links it to the rep's Contact, Account and Opportunity (HubSpot gets their ids) and
    leadbridge makes no convertLead call."""
    server = sandbox(_chain_seed())
    stark = _id(server, "Account", Name="Stark Maschinenbau AG")
    chain_cli("sync", "--once")
    lead = _lead_of(server, "301")
    owner = server.sandbox.org.records["User"][lead["OwnerId"]]
    as_rep = SalesforceGateway.connect(settings_for(server, salesforce_username=owner["Username"]))
    (made,) = as_rep.convert_leads(
        [
            LeadConvert(
                lead["Id"],
                "Closed - Converted",
                account_id=stark,
                opportunity_name="Stark – line 4 retrofit",
            )
        ]
    )
    assert made.success, made.reason

    _set_stage(server, "301", "salesqualifiedlead")
    mark = server.sandbox.journal.last_seq()
    result = chain_cli("sync", "--once")

    assert "converted 0 Leads (0 opportunities), linked 1 already converted" in result.output
    calls = server.sandbox.journal.entries(since=mark, api="salesforce")
    assert [e for e in calls if e.path == SOAP] == []
    props = _props(server, "301")
    assert (
        props["salesforcecontactid"],
        props["salesforceaccountid"],
        props["salesforceopportunityid"],
        props["lifecyclestage"],
    ) == (made.contact_id, stark, made.opportunity_id, "opportunity")
    opportunity = server.sandbox.org.records["Opportunity"][made.opportunity_id]
    assert (opportunity["Name"], opportunity["StageName"]) == (
        "Stark – line 4 retrofit",
        "Prospecting",
    )


def test_replay_sets_the_opportunity_fields_a_crash_left_unset(
    server: SandboxServer, engine: ConversionsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that stops after convertLead but before the opportunity update: the next pass
    links the converted Leads (no second conversion) and gives their opportunities the
    configured stage."""
    rule = engine.mapping.opportunity.model_copy(update={"stage": "Qualification"})
    engine.mapping = engine.mapping.model_copy(update={"opportunity": rule})
    update = engine.salesforce.update_records

    def crash(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(engine.salesforce, "update_records", update)
        msg = "connection reset"
        raise RuntimeError(msg)

    monkeypatch.setattr(engine.salesforce, "update_records", crash)
    with pytest.raises(RuntimeError):
        engine.run_once("crash")
    stages = [o["StageName"] for o in server.sandbox.org.records["Opportunity"].values()]
    assert stages == ["Prospecting", "Prospecting"]

    replay = engine.run_once("replay")

    assert (replay.converted, replay.linked, replay.opportunities_updated) == (0, 2, 2)
    stages = [o["StageName"] for o in server.sandbox.org.records["Opportunity"].values()]
    assert stages == ["Qualification", "Qualification"]
    assert engine.store.links(["101"])["101"].object == "Contact"


def test_status_query_pages_by_id(sandbox_server: SandboxServer, status_store: StateStore) -> None:
    """The SQL Leads are read in pages (keyset on Id): with pages of 2, three Leads cost two
    status queries and all are looked at."""
    server = sandbox_server
    engine = _status_engine(
        server,
        status_store,
        sql_when="salesforce_status",
        salesforce_status=("Working - Contacted",),
    )
    engine.status_page = 2
    mark = server.sandbox.journal.last_seq()

    summary = engine.run_once("paged")

    assert (summary.status_leads, summary.converted, summary.not_a_lead) == (3, 2, 1)
    queries = [
        e
        for e in server.sandbox.journal.entries(since=mark, api="salesforce")
        if "/query" in e.path
    ]
    assert len(queries) == 3  # LeadStatus, then two pages
