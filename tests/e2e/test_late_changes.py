"""A change HubSpot's search shows late (its index lags its writes by seconds) is synced once it
settles, and a pass does not read every change of the overlap again (issue 13: a pass re-read
the whole overlap every interval, 12 times a change at a 5-second poll, and fell behind at 100
changes a second)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from tests.e2e.conftest import sync_once

MAPPINGS = Path(__file__).parents[2] / "mappings"
SEARCH = "/crm/v3/objects/contacts/search"
#: Long enough that the passes before the sleep all start within it of the change that moved
#: the cursor, even on a loaded CI machine (at 2 s, a CLI pass taking longer than that let the
#: late window reach the cursor early and read the late change one pass sooner than asserted).
OVERLAP = 5.0
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": cid,
                "properties": {
                    "email": f"person{cid}@example-{cid}.test",
                    "firstname": f"First{cid}",
                    "lastname": f"Last{cid}",
                    "company": f"Company {cid}",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
            for cid in ("101", "102")
        ]
    }
}


@pytest.fixture
def server(sandbox, point_cli, monkeypatch, tmp_path):
    """Two MQL contacts synced once with the shipped lead.yaml, an overlap of OVERLAP s."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    server = sandbox(SEED)
    point_cli(server, mappings)
    monkeypatch.setenv("LEADBRIDGE_SYNC_OVERLAP_SECONDS", str(OVERLAP))
    sync_once()
    return server


def _first_names(server) -> dict[str, str]:
    leads = server.sandbox.org.records["Lead"].values()
    return {lead["HubSpot_Contact_Id__c"]: lead["FirstName"] for lead in leads}


def _searches(server, since: int) -> int:
    entries = server.sandbox.journal.entries(since=since, api="hubspot")
    return sum(1 for e in entries if e.path == SEARCH)


def _change_shown_late(server, cid: str, firstname: str, before_ms: int) -> None:
    """`cid` changed `before_ms` ago, as HubSpot's search shows a change it indexed late: its
    change time lies behind what the last pass read."""
    portal = server.sandbox.portal
    clock = portal.clock
    portal.clock = lambda: clock() - before_ms / 1000
    try:
        record = portal.stores["contacts"].get(cid)
        portal.update(portal.types["contacts"], record, {"firstname": firstname})
    finally:
        portal.clock = clock


def test_a_change_the_search_showed_late_is_synced_once_it_settles(server):
    HubSpotGateway.connect(sandbox_settings(server)).update_contacts({"101": {"firstname": "New"}})
    sync_once()
    assert _first_names(server)["101"] == "New"
    _change_shown_late(server, "102", "Late", before_ms=500)  # behind the cursor (101's change)

    sync_once()
    assert _first_names(server)["102"] == "First102"  # not new: the cursor is past it

    time.sleep(OVERLAP + 0.5)
    sync_once()  # it has settled: read once more
    assert _first_names(server) == {"101": "New", "102": "Late"}


def test_a_quiet_pass_costs_one_search_and_the_late_window_one_more_per_overlap(server):
    """Passes with nothing new cost one search each; the late window costs one more only when
    it spans the overlap, not every pass."""
    mark = server.sandbox.journal.last_seq()
    sync_once()
    sync_once()
    assert _searches(server, mark) == 2

    time.sleep(OVERLAP + 0.5)
    mark = server.sandbox.journal.last_seq()
    sync_once()  # the late window now spans the overlap
    sync_once()  # and was read: not again
    assert _searches(server, mark) == 3
