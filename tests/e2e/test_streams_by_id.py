"""Every stream runs over given ids (what a webhook or a person names) with the same code as a
pass: only those records are read and written, and the cursor stays where it was."""

from __future__ import annotations

from pathlib import Path

from connector.sandbox.env import sandbox_settings
from connector.wiring import open_connector
from tests.conftest import sf_client
from tests.e2e.test_first_sync import SEED

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_contacts_run_over_ids_writes_only_those_and_leaves_the_cursor(sandbox, tmp_path):
    """Two named contacts become Leads; the other qualified contacts wait for the pass; no
    cursor is recorded, so the next pass still reads everything changed."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "lead.yaml").write_text((MAPPINGS / "lead.yaml").read_text(encoding="utf-8"))
    server = sandbox(SEED)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    with open_connector(settings) as connector:
        summary = connector.contacts.run_ids(["100", "101", "100"])
        assert (summary.pulled, summary.created) == (2, 1 + 1)
        assert connector.store.cursor("hubspot.contacts") is None

        made = sf_client(server).query("SELECT HubSpot_Contact_Id__c FROM Lead")["records"]
        ours = sorted(r["HubSpot_Contact_Id__c"] for r in made if r["HubSpot_Contact_Id__c"])
        assert ours == ["100", "101"]

        rest = connector.contacts.run_once()
        assert rest.created == 7 - 2 and connector.store.cursor("hubspot.contacts") is not None
