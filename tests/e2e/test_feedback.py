"""Sales feedback on the sandbox: a rep works a Lead in Salesforce, marketing sees it in HubSpot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.status import load_status_mapping
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore
from connector.streams.leads.stream import STREAM, LeadsStream
from tests.conftest import sf_client
from tests.gateways.test_salesforce_sandbox import settings_for

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@sandbox.local"
BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"


def _contact(cid: str) -> dict:
    return {
        "id": cid,
        "properties": {
            "email": f"person{cid}@example.test",
            "lastname": f"Last{cid}",
            "lifecyclestage": "marketingqualifiedlead",
            "hs_lead_status": "NEW",
        },
    }


def _lead(ref: str, cid: str) -> dict:
    return {
        "Id": ref,
        "LastName": f"Last{cid}",
        "Company": "Acme",
        "Email": f"person{cid}@example.test",
        "Status": "Open - Not Contacted",
        "OwnerId": "@rep",
        "HubSpot_Contact_Id__c": cid,
    }


SEED = {
    "hubspot": {"contacts": [_contact("101"), _contact("102")]},
    "salesforce": {
        "User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP, "Alias": "rep"}],
        # Seeded as the integration user: nothing for the first pass to mirror.
        "Lead": [_lead("@ada", "101"), _lead("@bob", "102")],
    },
}


@pytest.fixture
def server(sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox(SEED)


@pytest.fixture
def engine(server: SandboxServer, tmp_path: Path) -> Iterator[LeadsStream]:
    """The engine over real gateways (password login) and a fresh SQLite store."""
    settings = settings_for(server)
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield LeadsStream(
        SalesforceGateway.connect(settings),
        HubSpotGateway.connect(settings),
        store,
        load_status_mapping(MAPPINGS),
    )
    store.close()


def _lead_id(server: SandboxServer, cid: str) -> str:
    leads = server.sandbox.org.records["Lead"].values()
    return next(lead["Id"] for lead in leads if lead["HubSpot_Contact_Id__c"] == cid)


def rep_id(server: SandboxServer) -> str:
    return server.sandbox.org.user_by_username(REP)["Id"]


def _contact_props(server: SandboxServer, cid: str) -> dict[str, str]:
    return server.sandbox.portal.stores["contacts"].get(cid).props


def _hubspot_writes(server: SandboxServer, since: int) -> list[str]:
    return [
        e.path
        for e in server.sandbox.journal.entries(since=since, api="hubspot")
        if e.method in ("POST", "PATCH") and not e.path.endswith(("/search", "/batch/read"))
    ]


def test_accept_then_reject_reaches_hubspot(server: SandboxServer, engine: LeadsStream):
    """A rep accepts, then rejects with a reason: HubSpot shows IN_PROGRESS and the owner, then
    UNQUALIFIED, the reason and the stage back at lead (cleared first: two batch writes)."""
    ada = _lead_id(server, "101")
    rep = sf_client(server, REP)

    assert engine.run_once("seeded").pulled == 0  # the integration user's own writes

    rep.Lead.update(ada, {"Status": "Working - Contacted"})
    mark = server.sandbox.journal.last_seq()
    accepted = engine.run_once("accept")
    assert (accepted.pulled, dict(accepted.updated), accepted.failed) == (1, {"accepted": 1}, 0)
    props = _contact_props(server, "101")
    assert (props["hs_lead_status"], props["salesforce_owner_id"]) == (
        "IN_PROGRESS",
        rep_id(server),
    )
    assert props["lifecyclestage"] == "marketingqualifiedlead"
    assert props["salesforce_owner_email"] == REP  # Owner.Email, through the relationship
    lead = server.sandbox.org.records["Lead"][ada]
    stamped = datetime.fromisoformat(props["sales_accepted_at"].replace("Z", "+00:00"))
    modified = datetime.fromisoformat(lead["LastModifiedDate"].replace("+0000", "+00:00"))
    assert abs((stamped - modified).total_seconds()) < 0.001
    stamped_text = props["sales_accepted_at"]
    assert _hubspot_writes(server, mark) == [BATCH_UPDATE]

    rep.Lead.update(ada, {"Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget"})
    mark = server.sandbox.journal.last_seq()
    rejected = engine.run_once("reject")
    assert (dict(rejected.updated), rejected.moved_back) == ({"rejected": 1}, 1)
    props = _contact_props(server, "101")
    assert props["hs_lead_status"] == "UNQUALIFIED"
    assert props["sales_rejection_reason"] == "No budget"
    assert props["lifecyclestage"] == "lead"  # really moved back in the portal
    assert props["sales_accepted_at"] == stamped_text  # when it was accepted, kept
    assert _hubspot_writes(server, mark) == [BATCH_UPDATE, BATCH_UPDATE]
    assert "sent 1 contacts back to an earlier lifecycle stage (cleared first)" in (
        rejected.render()
    )

    # The overlap window reads the Lead again; its hash says we wrote exactly that already.
    mark = server.sandbox.journal.last_seq()
    quiet = engine.run_once("quiet")
    assert (quiet.pulled, quiet.unchanged, quiet.written) == (1, 1, 0)
    assert server.sandbox.journal.entries(since=mark, api="hubspot") == []
    assert engine.store.dead_letters(STREAM) == []


def test_integration_user_changes_are_not_pulled(server: SandboxServer, engine: LeadsStream):
    """A Lead last changed by the integration user is not sales feedback: not read, not written."""
    bob = _lead_id(server, "102")
    sf_client(server).Lead.update(bob, {"Status": "Working - Contacted"})
    mark = server.sandbox.journal.last_seq()

    summary = engine.run_once("own")

    assert (summary.pulled, summary.written) == (0, 0)
    assert _contact_props(server, "102")["hs_lead_status"] == "NEW"
    assert server.sandbox.journal.entries(since=mark, api="hubspot") == []


def test_unmapped_status_is_dead_lettered_then_held(server: SandboxServer, engine: LeadsStream):
    """A status status.yaml does not know is reported with the reason, written nowhere, and not
    reported again while the Lead keeps that status."""
    server.sandbox.org.set_lead_statuses(
        (("Open - Not Contacted", False, True), ("Recycled", False, False))
    )
    ada = _lead_id(server, "101")
    sf_client(server, REP).Lead.update(ada, {"Status": "Recycled"})

    first = engine.run_once("unmapped")
    again = engine.run_once("held")

    assert [lead_id for lead_id, _ in first.failures] == [ada]
    assert f"failed: Salesforce Lead {ada}: Lead status 'Recycled' is not in status.yaml" in (
        first.render()
    )
    (dead,) = engine.store.dead_letters(STREAM)
    assert (dead.record_id, dead.code, dead.attempts) == (ada, "UNMAPPED_STATUS", 1)
    assert (again.failed, again.held) == (0, 1)
    assert _contact_props(server, "101")["hs_lead_status"] == "NEW"


def test_hubspot_refusal_is_dead_lettered_alone(
    server: SandboxServer, engine: LeadsStream, tmp_path: Path
):
    """A value HubSpot refuses for one contact fails that Lead alone, with HubSpot's reason; the
    next pass reads it again by Id and counts another attempt."""
    status = tmp_path / "status.yaml"
    status.write_text(
        "statuses:\n"
        "  Open - Not Contacted: {kind: open, lead_status: NEW}\n"
        "  Working - Contacted: {kind: accepted, lead_status: SALES_ACCEPTED}\n",
        encoding="utf-8",
    )
    engine = LeadsStream(
        engine.salesforce, engine.hubspot, engine.store, load_status_mapping(tmp_path)
    )
    ada, bob = _lead_id(server, "101"), _lead_id(server, "102")
    rep = sf_client(server, REP)
    rep.Lead.update(ada, {"Status": "Working - Contacted"})
    rep.Lead.update(bob, {"Title": "CTO"})  # still open: only the owner is new to HubSpot

    first = engine.run_once("refused")
    second = engine.run_once("retry")

    assert dict(first.updated) == {"open": 1}
    assert _contact_props(server, "102")["salesforce_owner_id"] == rep_id(server)
    ((lead_id, reason),) = first.failures
    assert lead_id == ada
    assert reason.startswith("HubSpot refused writing contact 101: VALIDATION_ERROR: ")
    assert '"error":"INVALID_OPTION","name":"hs_lead_status"' in reason
    (dead,) = engine.store.dead_letters(STREAM)
    assert (dead.record_id, dead.code, dead.attempts) == (ada, "VALIDATION_ERROR", 2)
    assert dead.payload == {
        "hs_lead_status": "SALES_ACCEPTED",
        "salesforce_owner_id": rep_id(server),
    }
    assert [lead for lead, _ in second.failures] == [ada]
    assert _contact_props(server, "101")["hs_lead_status"] == "NEW"


LISTS = [
    {
        "listId": "12",
        "name": "Prospect nurture",
        "processingType": "MANUAL",
        "memberships": ["101", "102"],
    },
    {
        "listId": "13",
        "name": "Webinar invitees",
        "processingType": "MANUAL",
        "memberships": ["101"],
    },
    {
        "listId": "14",
        "name": "Active prospects",
        "processingType": "DYNAMIC",
        "memberships": ["101"],
    },
]


def _members(server: SandboxServer, list_id: str) -> set[str]:
    return set(server.sandbox.portal.lists[list_id].members)


def _list_calls(server: SandboxServer, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path)
        for e in server.sandbox.journal.entries(since=since, api="hubspot")
        if "/crm/v3/lists/" in e.path
    ]


def test_accepted_contact_leaves_nurture_lists(
    sandbox: Callable[..., SandboxServer], tmp_path: Path
):
    """Accepted: the contact leaves the lists status.yaml names (by name and by id); the other
    contact stays; a dynamic list HubSpot refuses is reported while the rest stands; the
    Lead seen again costs no list call."""
    server = sandbox({**SEED, "hubspot": {**SEED["hubspot"], "lists": LISTS}})
    settings = settings_for(server)
    mapping = load_status_mapping(MAPPINGS)
    mapping = mapping.model_copy(update={"accepted_leave_lists": ["Prospect nurture", "13", "14"]})
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    engine = LeadsStream(
        SalesforceGateway.connect(settings), HubSpotGateway.connect(settings), store, mapping
    )
    sf_client(server, REP).Lead.update(_lead_id(server, "101"), {"Status": "Working - Contacted"})

    summary = engine.run_once("accept")

    assert _contact_props(server, "101")["hs_lead_status"] == "IN_PROGRESS"
    assert _members(server, "12") == {"102"}
    assert _members(server, "13") == set()
    assert _members(server, "14") == {"101"}  # dynamic: its filters decide, HubSpot refuses
    assert summary.left_lists == 2
    assert [ref for ref, _ in summary.list_failures] == ["14"]
    assert "HubSpot refused list 14" in summary.render()
    events = [e.kind for e in store.audit_events()]
    assert events.count("left_list") == 2 and "list_refused" in events

    mark = server.sandbox.journal.last_seq()
    again = engine.run_once("again")
    assert again.written == 0 and _list_calls(server, mark) == []
    store.close()
