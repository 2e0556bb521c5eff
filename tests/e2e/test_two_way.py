"""Fields synced both ways (`direction: both`) and back (`to_hubspot`), through `leadbridge sync
--once` on the sandbox: each edit crosses once, and our own writes never come back."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from connector.hubspot.gateway import HubSpotGateway
from connector.salesforce.gateway import SalesforceGateway
from connector.settings import load_settings
from connector.wiring import open_connector
from tests.conftest import hubspot_client, sf_client
from tests.e2e.conftest import sync_once

MAPPINGS = Path(__file__).parents[2] / "mappings"
REP = "rep@acme.test"
CONTACTS = 10
TWO_WAY = {
    "{hubspot: jobtitle, salesforce: Title, transform: [strip]}": (
        "{hubspot: jobtitle, salesforce: Title, transform: [strip], direction: both, "
        "conflict: salesforce_wins}"
    ),
    "{hubspot: phone, salesforce: Phone, transform: [strip]}": (
        "{hubspot: phone, salesforce: Phone, transform: [strip], direction: both, "
        "conflict: newest_wins}"
    ),
}
RATING = "  - {hubspot: salesforce_rating, salesforce: Rating, direction: to_hubspot}\n"


def _seed() -> dict:
    contacts = [
        {
            "id": str(800 + i),
            "properties": {
                "email": f"person{i}@two-way.test",
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "company": "Two Way Inc",
                "jobtitle": "Buyer",
                "phone": f"+46 70 000 00 {i:02d}",
                "lifecyclestage": "marketingqualifiedlead",
            },
        }
        for i in range(CONTACTS)
    ]
    rep = {"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}
    rating = {
        "name": "salesforce_rating",
        "label": "Salesforce rating",
        "type": "string",
        "fieldType": "text",
    }
    return {
        "hubspot": {"contacts": contacts, "properties": {"contacts": [rating]}},
        "salesforce": {"User": [rep]},
    }


@pytest.fixture
def server(sandbox):
    return sandbox(_seed())


@pytest.fixture
def mappings(tmp_path):
    """The shipped lead.yaml and status.yaml, with Title and Phone synced both ways and the
    Lead's Rating coming back to HubSpot."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    shutil.copy(MAPPINGS / "status.yaml", directory / "status.yaml")
    text = (MAPPINGS / "lead.yaml").read_text()
    for shipped, two_way in TWO_WAY.items():
        assert shipped in text
        text = text.replace(shipped, two_way)
    anchor = "  # HubSpot's original traffic source"
    text = text.replace(anchor, RATING + anchor)
    (directory / "lead.yaml").write_text(text)
    return directory


class Writes:
    """Every record leadbridge writes, counted per side and per record."""

    def __init__(self) -> None:
        self.salesforce: Counter[str] = Counter()  # HubSpot contact id -> Lead writes
        self.hubspot: Counter[str] = Counter()  # HubSpot contact id -> contact writes
        self.hubspot_values: list[tuple[str, dict]] = []

    def reset(self) -> None:
        self.salesforce.clear()
        self.hubspot.clear()
        self.hubspot_values.clear()


@pytest.fixture
def run(server, mappings, monkeypatch, point_cli):
    point_cli(server, mappings)
    writes = Writes()
    upsert, update = SalesforceGateway.upsert_leads, SalesforceGateway.update_leads
    update_contacts = HubSpotGateway.update_contacts

    def upsert_leads(self, upserts, **kw):
        writes.salesforce.update(u.hubspot_id for u in upserts)
        return upsert(self, upserts, **kw)

    def update_leads(self, updates, **kw):
        writes.salesforce.update(u.hubspot_id for u in updates)
        return update(self, updates, **kw)

    def update_hubspot(self, updates):
        writes.hubspot.update(updates.keys())
        writes.hubspot_values.extend((k, dict(v)) for k, v in updates.items())
        return update_contacts(self, updates)

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", upsert_leads)
    monkeypatch.setattr(SalesforceGateway, "update_leads", update_leads)
    monkeypatch.setattr(HubSpotGateway, "update_contacts", update_hubspot)

    def once():
        writes.reset()
        start = server.sandbox.journal.last_seq()
        result = sync_once()
        return result, _write_calls(server, start)

    once.writes = writes
    return once


def _write_calls(server, since: int) -> Counter[str]:
    """leadbridge's write calls after journal entry `since`, per API (the rep's left out)."""
    rep = _user_id(server, REP)
    calls: Counter[str] = Counter()
    for e in server.sandbox.journal.entries(since=since):
        if e.user == rep or e.method == "GET":
            continue
        if e.path.endswith(("/search", "/batch/read", "/composite", "/token")):
            continue
        calls[e.api] += 1
    return calls


def _user_id(server, username: str) -> str | None:
    users = server.sandbox.org.records["User"].values()
    return next((u["Id"] for u in users if u["Username"] == username), None)


def _lead(server, hubspot_id: str) -> dict:
    leads = server.sandbox.org.records["Lead"].values()
    return next(lead for lead in leads if lead["HubSpot_Contact_Id__c"] == hubspot_id)


def _props(server, hubspot_id: str) -> dict:
    return server.sandbox.portal.stores["contacts"].get(hubspot_id).props


def _edit_hubspot(server, changes: dict[str, dict[str, str]]) -> None:
    """Marketing edits several contacts (one batch, as a user's bulk edit would)."""
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=cid, properties=p) for cid, p in changes.items()]
    )
    hubspot_client(server).crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input=batch
    )


def _edit_salesforce(server, changes: dict[str, dict[str, str]]) -> None:
    """A sales rep edits several Leads."""
    rep = sf_client(server, REP)
    for cid, fields in changes.items():
        rep.Lead.update(_lead(server, cid)["Id"], fields)


def test_two_hundred_alternating_edits_cross_exactly_once(server, run):
    """200 edits, alternating sides per round and per contact, on Phone (newest_wins) and Title
    (salesforce_wins): each crosses to the other side exactly once, never comes back, both
    sides end equal, and one pass later nothing is written at all."""
    ids = [str(800 + i) for i in range(CONTACTS)]
    result, calls = run()
    assert "created 10" in result.output
    quiet, calls = run()
    assert calls == Counter(), quiet.output  # nothing to do: no write at all
    edits = 0
    for round_ in range(20):
        field, prop = ("Phone", "phone") if round_ % 2 == 0 else ("Title", "jobtitle")
        in_hubspot = {
            cid: {prop: f"hs-{round_}-{cid}"} for i, cid in enumerate(ids) if (i + round_) % 2
        }
        in_salesforce = {
            cid: {field: f"sf-{round_}-{cid}"} for i, cid in enumerate(ids) if not (i + round_) % 2
        }
        _edit_hubspot(server, in_hubspot)
        _edit_salesforce(server, in_salesforce)
        edits += len(in_hubspot) + len(in_salesforce)

        result, calls = run()

        # Each HubSpot edit became one Lead write, each Salesforce edit one contact write.
        assert run.writes.salesforce == Counter(in_hubspot.keys()), (round_, result.output)
        assert run.writes.hubspot == Counter(in_salesforce.keys()), (round_, result.output)
        # ... carrying the rep's value (a Lead's first touch by sales brings its status too).
        sent = {cid: values[prop] for cid, values in run.writes.hubspot_values}
        assert sent == {cid: values[field] for cid, values in in_salesforce.items()}
        # One Collections call for the Leads, one batch update for the contacts.
        assert calls == Counter(salesforce=1, hubspot=1), (round_, calls)
        for cid in ids:
            lead, props = _lead(server, cid), _props(server, cid)
            assert lead[field] == props[prop], (round_, cid)
    assert edits == 200

    result, calls = run()
    assert calls == Counter(), result.output
    assert run.writes.salesforce == Counter() and run.writes.hubspot == Counter()


def test_a_value_only_salesforce_has_comes_back_and_stays(server, run):
    """`to_hubspot` Rating: a rep's value reaches HubSpot once; marketing overwriting the
    property is not sent to Salesforce (the field only comes back), and the Lead's value is
    written again only when the Lead's Rating changes."""
    run()
    _edit_salesforce(server, {"800": {"Rating": "Hot"}})
    run()
    assert _props(server, "800")["salesforce_rating"] == "Hot"
    assert run.writes.hubspot == Counter({"800": 1})

    _edit_hubspot(server, {"800": {"salesforce_rating": "Lukewarm"}})
    result, calls = run()
    assert calls == Counter(), result.output  # nothing goes to Salesforce, nothing back
    assert _lead(server, "800")["Rating"] == "Hot"

    _edit_salesforce(server, {"800": {"Rating": "Cold"}})
    run()
    assert _props(server, "800")["salesforce_rating"] == "Cold"


def test_both_sides_changed_the_same_field_the_rule_decides(server, run):
    """Title is salesforce_wins: the rep's value wins over marketing's and reaches HubSpot.
    Phone is newest_wins: the side changed last wins (here the rep, after marketing)."""
    run()
    _edit_hubspot(server, {"801": {"jobtitle": "Marketing's title", "phone": "+1 555 0100"}})
    _edit_salesforce(server, {"801": {"Title": "Rep's title", "Phone": "+1 555 0199"}})

    result, _ = run()

    lead, props = _lead(server, "801"), _props(server, "801")
    assert (lead["Title"], props["jobtitle"]) == ("Rep's title", "Rep's title"), result.output
    assert (lead["Phone"], props["phone"]) == ("+1 555 0199", "+1 555 0199"), result.output
    quiet, calls = run()
    assert calls == Counter(), quiet.output


def test_a_rep_edit_and_an_unrelated_marketing_edit_both_land(server, run):
    """The rep changes Phone; marketing changes the first name. The rep's phone reaches
    HubSpot, the first name reaches Salesforce, and the stale HubSpot phone is not sent back."""
    run()
    _edit_salesforce(server, {"802": {"Phone": "+46 8 123 45 67"}})
    _edit_hubspot(server, {"802": {"firstname": "Renamed"}})

    result, _ = run()

    lead, props = _lead(server, "802"), _props(server, "802")
    assert lead["FirstName"] == "Renamed", result.output
    assert lead["Phone"] == props["phone"] == "+46 8 123 45 67", result.output
    quiet, calls = run()
    assert calls == Counter(), quiet.output


def test_a_rep_change_our_update_lands_on_before_feedback_reads_it_still_comes_back(server, run):
    """The race the integration-user filter opens: a rep accepts a Lead and changes its phone
    after the feedback stream read Salesforce, and our update of the same Lead (marketing
    changed the first name) lands before its next read, making leadbridge the Lead's last
    modifier. The contacts stream hands that Lead over by Id: the next feedback pass mirrors
    the rep's status and phone all the same."""
    run()
    settings = load_settings()
    with open_connector(settings) as connector:
        engine, feedback = connector.contacts, connector.leads
        assert feedback is not None
        feedback.run_once()  # feedback has read Salesforce ...
        _edit_salesforce(server, {"803": {"Status": "Working - Contacted", "Phone": "+1 555 0303"}})
        _edit_hubspot(server, {"803": {"firstname": "Renamed"}})
        engine.run_once()  # ... then our update lands on the rep's Lead
        lead = _lead(server, "803")
        assert lead["LastModifiedById"] == engine.salesforce.user_id
        assert lead["FirstName"] == "Renamed" and lead["Phone"] == "+1 555 0303"

        handed = [(w.stream, w.kind) for w in engine.store.work()]
        failures = engine.store.dead_letters()
        again = feedback.run_once()
        left = engine.store.work()

    props = _props(server, "803")
    assert props["hs_lead_status"] == "IN_PROGRESS", again.render()
    assert props["phone"] == "+1 555 0303", again.render()
    # handed over once, as work (never a failure), closed once read
    assert handed == [("salesforce.leads", "recheck")] and failures == [] and left == []
    quiet, calls = run()
    assert calls == Counter(), quiet.output


def test_a_lead_value_the_way_back_cannot_map_waits_then_goes(server, run, mappings):
    """Rating comes back through a map without "Cold": that Lead fails alone (MAPPING_FAILED,
    the field named), waits unchanged (held: no HubSpot call for it), and goes once the rep
    picks a value the map knows."""
    path = mappings / "lead.yaml"
    mapped = RATING.replace(
        "direction: to_hubspot}", "direction: to_hubspot, transform: [map: {Hot: hot, Warm: warm}]}"
    )
    path.write_text(path.read_text().replace(RATING, mapped))
    run()
    _edit_salesforce(server, {"804": {"Rating": "Cold"}, "805": {"Rating": "Warm"}})

    failed, _ = run()

    assert "failed 1" in failed.output and "Rating" in failed.output, failed.output
    assert "Cold" in failed.output
    assert _props(server, "805")["salesforce_rating"] == "warm"  # the others go on
    assert _props(server, "804").get("salesforce_rating") in (None, "")

    held, calls = run()
    assert "1 Leads still wait in the dead-letter store" in held.output, held.output
    assert calls == Counter()

    _edit_salesforce(server, {"804": {"Rating": "Hot"}})
    run()
    assert _props(server, "804")["salesforce_rating"] == "hot"
