"""A write-back owed to HubSpot is work until HubSpot confirmed it: a conversion pass stopped
between Salesforce's answer and HubSpot's (a 5xx past the retries, a kill) is completed by the
next pass, whichever stream comes first, with every id and the converted stage."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from connector.sandbox.app import Fault
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit, StateStore
from connector.streams.conversions.stream import STREAM as CONVERSION_STREAM
from tests.conftest import hubspot_client, sf_client

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
IDS = [str(n) for n in range(501, 506)]
BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"


class Killed(BaseException):
    """The process dies here: nothing after it runs, and nothing catches it."""


def _seed() -> dict[str, Any]:
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": cid,
                    "properties": {
                        "email": f"owed{cid}@example.test",
                        "firstname": "Owen",
                        "lastname": f"Owed{cid}",
                        "company": f"Owed Co {cid}",
                        "lifecyclestage": "marketingqualifiedlead",
                    },
                }
                for cid in IDS
            ]
        }
    }


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """lead.yaml and conversion.yaml as shipped: the Leads are made, then converted at SQL."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    for name in ("lead.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, directory / name)
    return directory


def _sync(*, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _to_sql(server: SandboxServer) -> None:
    """Marketing sets every contact to SQL (through HubSpot's API, as a workflow would)."""
    api = hubspot_client(server).crm.contacts.basic_api
    for cid in IDS:
        api.update(
            cid, SimplePublicObjectInput(properties={"lifecyclestage": "salesqualifiedlead"})
        )


def _converted_in_salesforce(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """Each contact's Lead as Salesforce's API shows it, by HubSpot id."""
    rows = sf_client(server).query_all(
        "SELECT HubSpot_Contact_Id__c, IsConverted, ConvertedContactId, ConvertedAccountId, "
        "ConvertedOpportunityId FROM Lead"
    )["records"]
    return {row["HubSpot_Contact_Id__c"]: row for row in rows}


def _shown_in_hubspot(server: SandboxServer) -> dict[str, dict[str, Any]]:
    names = ["salesforcecontactid", "salesforceaccountid", "salesforceopportunityid"]
    api = hubspot_client(server).crm.contacts.basic_api
    return {
        cid: api.get_by_id(cid, properties=[*names, "lifecyclestage"]).properties for cid in IDS
    }


def _assert_written_back(server: SandboxServer) -> None:
    leads = _converted_in_salesforce(server)
    shown = _shown_in_hubspot(server)
    for cid in IDS:
        lead = leads[cid]
        assert lead["IsConverted"] is True, cid
        assert (
            shown[cid]["salesforcecontactid"],
            shown[cid]["salesforceaccountid"],
            shown[cid]["salesforceopportunityid"],
            shown[cid]["lifecyclestage"],
        ) == (
            lead["ConvertedContactId"],
            lead["ConvertedAccountId"],
            lead["ConvertedOpportunityId"],
            "opportunity",
        ), cid


def test_a_5xx_on_the_conversion_write_back_is_completed_by_the_next_pass(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HubSpot answers 503 to the conversion's write-back with no retries left: the pass fails,
    and the next pass writes every owed id and the stage, converting nothing twice."""
    server = sandbox(_seed())
    point_cli(server, mappings)
    _sync()  # five Leads
    _to_sql(server)
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_MAX_ATTEMPTS", "1")
    with server.sandbox.lock:
        server.sandbox.faults.append(
            Fault(BATCH_UPDATE, 503, {"status": "error", "message": "unavailable"}, method="POST")
        )

    failed = _sync(ok=False)

    assert failed.exit_code == 1, failed.output
    assert all(lead["IsConverted"] for lead in _converted_in_salesforce(server).values())
    assert {p["lifecyclestage"] for p in _shown_in_hubspot(server).values()} == {
        "salesqualifiedlead"
    }

    monkeypatch.delenv("LEADBRIDGE_HUBSPOT_MAX_ATTEMPTS")
    after = _sync()

    _assert_written_back(server)
    assert "5 write-backs owed to HubSpot completed" in after.output
    assert len(server.sandbox.org.records["Opportunity"]) == 5
    quiet = _sync()
    assert "write-backs owed" not in quiet.output
    assert len(server.sandbox.org.records["Opportunity"]) == 5


def test_a_kill_after_the_conversion_is_recorded_is_completed_by_the_next_pass(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process dies right after recording convertLead's answers, before HubSpot is written:
    the next pass (its contacts stream runs first) still completes the write-back in full."""
    server = sandbox(_seed())
    point_cli(server, mappings)
    _sync()
    _to_sql(server)
    record = StateStore.record

    def die_after_the_links(self: StateStore, commit: Commit, *, run_id: str) -> None:
        record(self, commit, run_id=run_id)
        if commit.stream == CONVERSION_STREAM and commit.links:
            raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(StateStore, "record", die_after_the_links)
        with pytest.raises(Killed):
            CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)
    assert {p["lifecyclestage"] for p in _shown_in_hubspot(server).values()} == {
        "salesqualifiedlead"
    }

    after = _sync()

    _assert_written_back(server)
    assert "5 write-backs owed to HubSpot completed" in after.output
    assert "skipped 0 not linked to a Lead" in after.output  # converted: not "skipped"
    assert len(server.sandbox.org.records["Opportunity"]) == 5


def _owe(owed: dict[str, dict[str, str | None]]) -> None:
    """Record debts in the CLI's state store, as a pass that stopped would have left them."""
    with StateStore.open(os.environ["LEADBRIDGE_DATABASE_URL"]) as store:
        store.record(Commit(stream="test", owed=owed), run_id="test")


def _owed_now() -> list[Any]:
    with StateStore.open(os.environ["LEADBRIDGE_DATABASE_URL"]) as store:
        return store.owed_writebacks()


def test_a_write_back_hubspot_already_shows_is_settled_without_writing(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
) -> None:
    """The answer was lost after HubSpot made the write: the next pass reads the contact, finds
    the values there and settles the debt with no second write."""
    server = sandbox(_seed())
    point_cli(server, mappings)
    _sync()
    lead_id = _shown_lead_id(server, "501")
    _owe({"501": {"salesforceleadid": lead_id}})
    since = server.sandbox.journal.last_seq()

    result = _sync()

    assert "1 write-backs owed to HubSpot completed, 0 still owed" in result.output
    updates = [
        e
        for e in server.sandbox.journal.entries(since=since, api="hubspot")
        if e.path == BATCH_UPDATE
    ]
    assert updates == []
    assert _owed_now() == []


def test_a_refused_write_back_stays_owed_with_its_reason_and_is_tried_each_pass(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
) -> None:
    """HubSpot refuses an owed value: the pass reports it still owed (exit 0, the other contact
    is written), the debt keeps the reason and counts the tries until HubSpot takes it."""
    server = sandbox(_seed())
    point_cli(server, mappings)
    _sync()
    _owe({"501": {"lifecyclestage": "not-a-stage"}, "502": {"salesforceaccountid": "001X"}})

    first = _sync()
    second = _sync()

    assert "1 write-backs owed to HubSpot completed, 1 still owed" in first.output
    assert "still owed: HubSpot contact 501:" in first.output
    assert "0 write-backs owed to HubSpot completed, 1 still owed" in second.output
    (owed,) = _owed_now()
    assert (owed.hubspot_id, owed.properties, owed.attempts) == (
        "501",
        {"lifecyclestage": "not-a-stage"},
        2,
    )
    assert "not-a-stage" in (owed.last_error or "")
    assert _shown_in_hubspot(server)["502"]["salesforceaccountid"] == "001X"


def _shown_lead_id(server: SandboxServer, cid: str) -> str:
    api = hubspot_client(server).crm.contacts.basic_api
    value = api.get_by_id(cid, properties=["salesforceleadid"]).properties["salesforceleadid"]
    assert value
    return value


def test_a_conversion_pass_counts_each_contact_once(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """25 SQL contacts over search pages of 10: the write-back of each page must not bring its
    contacts round again later in the same search, so the pass pulls 25, not more."""
    seed = _seed()
    template = seed["hubspot"]["contacts"][0]
    seed["hubspot"]["contacts"] = [
        {
            "id": str(600 + n),
            "properties": {**template["properties"], "email": f"many{n}@example.test"},
        }
        for n in range(25)
    ]
    server = sandbox(seed)
    point_cli(server, mappings)
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_SEARCH_PAGE_SIZE", "10")
    _sync()
    api = hubspot_client(server).crm.contacts.basic_api
    for contact in seed["hubspot"]["contacts"]:
        api.update(
            contact["id"],
            SimplePublicObjectInput(properties={"lifecyclestage": "salesqualifiedlead"}),
        )

    result = _sync()

    assert "pulled 25 sales qualified contacts" in result.output
    assert "converted 25 Leads (25 opportunities)" in result.output


def test_a_write_back_owed_to_a_contact_hubspot_no_longer_has_is_closed_and_said(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
) -> None:
    """The contact was deleted in HubSpot: nobody is left to pay, so the debt closes, the pass
    says so and the audit log keeps what was owed."""
    server = sandbox(_seed())
    point_cli(server, mappings)
    _sync()
    _owe({"999999": {"salesforceleadid": "00Q000000000009AAA"}})

    result = _sync()

    assert "1 contacts owed a write-back no longer exist in HubSpot" in result.output
    assert _owed_now() == []
    with StateStore.open(os.environ["LEADBRIDGE_DATABASE_URL"]) as store:
        (gone,) = store.audit_events(record_id="999999", kind="writeback_gone")
    assert gone.details == {"salesforceleadid": "00Q000000000009AAA"}
