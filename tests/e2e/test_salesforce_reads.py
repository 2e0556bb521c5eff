"""What Salesforce holds is read one way: `mappings plan` and `sync --once` read a contact's
Leads and Contacts alike and agree on what a pass does with them; `mappings validate` and the
conversion pass read the Lead statuses with one query."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.model import SalesforceMatch
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore
from tests.e2e.conftest import sync_once

MAPPINGS = Path(__file__).parents[2] / "mappings"


def _contact(cid: str, email: str) -> dict[str, Any]:
    return {
        "id": cid,
        "properties": {
            "email": email,
            "firstname": f"First{cid}",
            "lastname": f"Last{cid}",
            "company": f"Company {cid}",
            "lifecyclestage": "marketingqualifiedlead",
        },
    }


def _lead(ref: str, email: str, hubspot_id: str | None = None) -> dict[str, Any]:
    lead = {"Id": ref, "LastName": "Known", "Company": "Acme", "Email": email}
    return {**lead, "HubSpot_Contact_Id__c": hubspot_id} if hubspot_id else lead


SEED = {
    "hubspot": {
        "contacts": [
            _contact("301", "new.person@example.test"),  # nothing in Salesforce: a new Lead
            _contact("302", "Free.Lead@Acme.test"),  # an unlinked Lead: linked
            _contact("303", "customer@globex.test"),  # a Contact: already a customer
            _contact("304", "taken@acme.test"),  # a Lead linked to contact 999: fails
            _contact("305", "person305@acme.test"),  # a Lead carrying its id: updated
        ]
    },
    "salesforce": {
        "Account": [{"Id": "@globex", "Name": "Globex"}],
        "Contact": [
            {
                "Id": "@customer",
                "AccountId": "@globex",
                "LastName": "Customer",
                "Email": "Customer@Globex.test",
            }
        ],
        "Lead": [
            _lead("@free", "free.lead@acme.test"),
            _lead("@taken", "taken@acme.test", hubspot_id="999"),
            _lead("@ours", "person305@acme.test", hubspot_id="305"),
        ],
    },
}


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A mappings directory with the shipped lead.yaml only (no routing: no owner reads)."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", directory / "lead.yaml")
    return directory


def _cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _spy_email_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[frozenset[str], list[SalesforceMatch]]]:
    """Every `find_by_emails` call from here on: the emails asked for and what came back."""
    calls: list[tuple[frozenset[str], list[SalesforceMatch]]] = []
    real = SalesforceGateway.find_by_emails

    def find_by_emails(self: SalesforceGateway, emails: Sequence[str]) -> list[SalesforceMatch]:
        found = real(self, emails)
        calls.append((frozenset(e.lower() for e in emails), found))
        return found

    monkeypatch.setattr(SalesforceGateway, "find_by_emails", find_by_emails)
    return calls


def test_plan_reads_and_decides_as_the_sync_does(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For the same contacts, `mappings plan` looks up the Leads and Contacts by email with the
    sync's own read, finds what it finds, and says what `sync --once` then does: create, link
    the unlinked Lead, leave the customer alone, update the Lead carrying the contact's id, and
    fail the contact whose email a Lead of another contact holds, in the sync's words."""
    server = sandbox(SEED)
    point_cli(server, mappings)
    ids = {r["LastName"] + r["Email"].lower(): r["Id"] for r in _records(server, "Lead")}
    customer = next(iter(_records(server, "Contact")))["Id"]
    lookups = _spy_email_lookups(monkeypatch)

    plan = json.loads(_cli("mappings", "plan", "--format", "json").stdout)
    planned = {r["hubspot_id"]: r for r in plan["records"]}
    plan_lookups = list(lookups)
    lookups.clear()
    sync_once()

    assert {h: (r["action"], r["salesforce_id"]) for h, r in planned.items()} == {
        "301": ("create", None),
        "302": ("link", ids["Knownfree.lead@acme.test"]),
        "303": ("customer", customer),
        "304": ("fail", None),
        "305": ("update", ids["Knownperson305@acme.test"]),
    }
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        links = store.links(planned)
        (dead,) = store.dead_letters("hubspot.contacts")
    assert {h: (link.object, link.salesforce_id) for h, link in links.items()} == {
        "301": ("Lead", links["301"].salesforce_id),
        "302": ("Lead", planned["302"]["salesforce_id"]),
        "303": ("Contact", planned["303"]["salesforce_id"]),
        "305": ("Lead", planned["305"]["salesforce_id"]),
    }
    assert links["301"].salesforce_id not in ids.values()
    assert (dead.record_id, dead.code, dead.reason) == (
        "304",
        "LINK_CONFLICT",
        planned["304"]["reason"],
    )
    assert planned["304"]["reason"] == (
        f"email matches Lead {ids['Knowntaken@acme.test']}, which is linked to HubSpot contact "
        "999; resolve the duplicate in HubSpot"
    )
    # One read: the plan looked its unlinked contacts up as the sync did, and found the same.
    ((plan_emails, plan_found),) = plan_lookups
    ((sync_emails, sync_found),) = lookups
    assert plan_emails == {
        c["properties"]["email"].lower() for c in SEED["hubspot"]["contacts"][:4]
    }
    assert plan_emails <= sync_emails
    assert plan_found == [m for m in sync_found if m.email.lower() in plan_emails]


def _records(server: SandboxServer, sobject: str) -> list[dict[str, Any]]:
    return list(server.sandbox.org.records[sobject].values())


def test_validate_and_the_conversion_pass_read_the_lead_statuses_alike(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    mappings: Path,
) -> None:
    """`mappings validate` checks conversion.yaml against the Lead statuses the conversion pass
    checks it against when it starts: one query, the same text."""
    shutil.copy(MAPPINGS / "conversion.yaml", mappings / "conversion.yaml")
    server = sandbox({"hubspot": {"contacts": [_contact("301", "new.person@example.test")]}})
    point_cli(server, mappings)

    _cli("mappings", "validate")
    mark = server.sandbox.journal.last_seq()
    sync_once()

    def status_queries(since: int, until: int | None = None) -> list[str]:
        entries = server.sandbox.journal.entries(since=since, api="salesforce")
        texts = [
            parse_qs(e.query).get("q", [""])[0]
            for e in entries
            if e.method == "GET" and (until is None or e.seq <= until)
        ]
        return [t for t in texts if " FROM LeadStatus" in t]

    validated = status_queries(0, mark)
    synced = status_queries(mark)
    assert validated == synced == ["SELECT ApiName, MasterLabel, IsConverted FROM LeadStatus"]
