"""SQL conversion on the sandbox: a sales qualified contact's Lead becomes Account, Contact and
Opportunity in the account routing matched, once, and HubSpot learns the ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.errors import MappingError
from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.conversion import load_conversion_mapping
from connector.model import Link
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit, StateStore
from connector.sync.conversion import STREAM, ConversionEngine
from tests.gateways.test_salesforce_sandbox import settings_for

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


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
def engine(server: SandboxServer, tmp_path: Path) -> Iterator[ConversionEngine]:
    """The engine over real gateways, a fresh SQLite store holding the three Lead links."""
    settings = settings_for(server)
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    lead_ids = {
        cid: _id(server, "Lead", HubSpot_Contact_Id__c=cid) for cid in ("101", "102", "103")
    }
    links = [Link(cid, "Lead", lead, lead_id=lead) for cid, lead in lead_ids.items()]
    store.record(Commit(stream="hubspot.contacts", links=links), run_id="seed")
    yield ConversionEngine(
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
    server: SandboxServer, engine: ConversionEngine
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
    server: SandboxServer, engine: ConversionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between Salesforce's answer and our commit: the replay finds the Leads converted
    and links them; no second conversion, no second opportunity."""
    record = engine.store.record
    calls = {"n": 0}

    def crash_once(commit: Commit, *, run_id: str) -> None:
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
    server: SandboxServer, engine: ConversionEngine
) -> None:
    """A converted_status the org does not mark converted stops the pass before any write."""
    engine.mapping = engine.mapping.model_copy(update={"converted_status": "Qualified"})
    with pytest.raises(MappingError, match=r"conversion.yaml: converted_status 'Qualified'"):
        engine.run_once("bad")
    assert _count(server, "Opportunity") == 0


def test_queue_owned_lead_converts_owned_by_the_integration_user(
    server: SandboxServer, engine: ConversionEngine
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
