"""After the handoff, through `leadbridge sync --once`: a contact whose score falls below the
threshold once its Lead is with sales is reported (HubSpot property and audit event), never
taken away from sales; lead.yaml's `after_handoff` says whether its changes still sync."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client
from tests.e2e.conftest import sync_once

MAPPINGS = Path(__file__).parents[2] / "mappings"
REP = "rep@acme.test"
WARNING = "sales_handoff_warning"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": str(cid),
                "properties": {
                    "email": f"person{cid}@scored.test",
                    "lastname": f"Last{cid}",
                    "company": "Scored",
                    "jobtitle": "Buyer",
                    # Qualified by score alone: the stage is before MQL.
                    "lifecyclestage": "lead",
                    "hubspotscore": "95",
                },
            }
            for cid in (950, 951)
        ]
    },
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


@pytest.fixture
def server(sandbox):
    return sandbox(SEED)


@pytest.fixture
def mappings(tmp_path):
    directory = tmp_path / "mappings"
    directory.mkdir()
    for name in ("lead.yaml", "status.yaml"):
        shutil.copy(MAPPINGS / name, directory / name)
    return directory


@pytest.fixture
def run(server, mappings, point_cli):
    point_cli(server, mappings)
    return sync_once


def _update(server, cid: str, **props: str) -> None:
    """Marketing edits the contact; `hubspotscore` is HubSpot's own (its scoring rules set it,
    the API refuses it), so the sandbox's admin endpoint plays the rules."""
    score = props.pop("hubspotscore", None)
    if score is not None:
        answer = requests.post(
            f"{server.url}/_sandbox/hubspot/contacts/{cid}/calculated",
            json={"properties": {"hubspotscore": score}},
            verify=str(server.ca_file),
            timeout=10,
        )
        answer.raise_for_status()
    if props:
        hubspot_client(server).crm.contacts.basic_api.update(
            cid, simple_public_object_input=SimplePublicObjectInput(properties=props)
        )


def _props(server, cid: str) -> dict:
    return server.sandbox.portal.stores["contacts"].get(cid).props


def _lead(server, cid: str) -> dict:
    leads = server.sandbox.org.records["Lead"].values()
    return next(lead for lead in leads if lead["HubSpot_Contact_Id__c"] == cid)


def _events(tmp_path, kind: str) -> list:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        return [e for e in store.audit_events() if e.kind == kind]


def test_a_score_falling_after_handoff_is_reported_and_the_lead_stays(server, run, tmp_path):
    run()
    lead_before = _lead(server, "950")

    _update(server, "950", hubspotscore="40", jobtitle="Head of Buying")
    result = run()

    assert "1 contacts with a Lead no longer qualify" in result.output
    warning = _props(server, "950")[WARNING]
    assert "no longer qualifies" in warning and "score 40 is below 90" in warning
    (event,) = _events(tmp_path, "unqualified_after_handoff")
    assert event.record_id == "950" and event.details["lead_id"] == lead_before["Id"]
    lead = _lead(server, "950")
    # Sales keeps it: same Lead, same owner and status; keep_syncing sends the new title.
    assert (lead["Id"], lead["OwnerId"], lead["Status"]) == (
        lead_before["Id"],
        lead_before["OwnerId"],
        lead_before["Status"],
    )
    assert lead["Title"] == "Head of Buying"
    assert _props(server, "951").get(WARNING) in (None, "")

    run()  # reported once, not every pass
    assert len(_events(tmp_path, "unqualified_after_handoff")) == 1

    _update(server, "950", hubspotscore="97")
    run()
    assert _props(server, "950").get(WARNING) in (None, "")
    assert len(_events(tmp_path, "qualifies_again")) == 1


def test_pause_holds_back_changes_until_the_contact_qualifies_again(
    server, run, mappings, tmp_path
):
    path = mappings / "lead.yaml"
    text = path.read_text()
    assert "when_unqualified: keep_syncing" in text
    path.write_text(text.replace("when_unqualified: keep_syncing", "when_unqualified: pause"))
    run()

    _update(server, "950", hubspotscore="10", jobtitle="Paused title")
    run()
    assert _lead(server, "950")["Title"] == "Buyer"
    assert _props(server, "950")[WARNING]

    _update(server, "950", hubspotscore="99")
    run()
    assert _lead(server, "950")["Title"] == "Paused title"


def test_a_lead_sales_rejected_is_marketings_again_not_a_warning(server, run, tmp_path):
    """Rejected with a reason: the feedback sends the contact back to `lead` with
    UNQUALIFIED; its score falling then is nurture's business, not a handoff warning."""
    run()
    rep = sf_client(server, REP)
    rep.Lead.update(_lead(server, "951")["Id"], {"Status": "Closed - Not Converted"})
    run()
    assert _props(server, "951")["hs_lead_status"] == "UNQUALIFIED"

    _update(server, "951", hubspotscore="20")
    result = run()

    assert "no longer qualify" not in result.output
    assert _props(server, "951").get(WARNING) in (None, "")
    assert _events(tmp_path, "unqualified_after_handoff") == []
