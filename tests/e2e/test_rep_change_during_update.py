"""Found by the proof's small run (bench/reliability.py) on a loaded machine: sales accepts a
Lead while the contacts stream is updating it (after the stream read the Lead, before its
write). Our write makes the integration user the Lead's last modifier, and the feedback stream
skips Leads we changed last: the acceptance never reached HubSpot, with nothing owed, no dead
letter and no work left. Reproduced in one process: the rep's change is made at the update."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.errors import BudgetReserved
from connector.hubspot.gateway import HubSpotGateway
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import StateStore
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@during-update.example"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "601",
                "properties": {
                    "email": "grace@during-update.example",
                    "firstname": "Grace",
                    "lastname": "Hopper",
                    "company": "Compilers",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


@pytest.mark.parametrize("budget_for_the_check", [True, False])
def test_a_lead_accepted_while_we_update_it_still_shows_in_hubspot(
    sandbox, tmp_path, monkeypatch, budget_for_the_check
):
    """Marketing renames the contact; the contacts stream reads the Lead, sales accepts it,
    then the stream writes the new name: after the next pass the contact shows the acceptance
    (and the rep's change of status is not overwritten). Also when the API budget has no room
    left to read the written Lead again (it is handed to feedback unread)."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    with open_connector(settings) as connector:
        for _summary in connector.run_pass():
            pass
    (lead,) = server.sandbox.org.records["Lead"].values()
    hubspot = HubSpotGateway.connect(settings)
    hubspot.update_contacts({"601": {"firstname": "Amazing Grace"}})

    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))
    upsert = SalesforceGateway.upsert_leads
    accepted: list[str] = []

    def sales_accepts_first(self, upserts, **kwargs):
        if not accepted:  # between the stream's read of the Lead and its write
            rep.update_records(
                "Lead", [RecordUpdate("601", lead["Id"], {"Status": "Working - Contacted"})]
            )
            accepted.append(lead["Id"])
        return upsert(self, upserts, **kwargs)

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", sales_accepts_first)
    ensure_budget = SalesforceGateway.ensure_budget
    refused: list[str] = []

    def no_room_to_check(self, what, **kwargs):
        if what.startswith("reading the status of"):
            refused.append(what)
            raise BudgetReserved(f"no room for {what}")
        return ensure_budget(self, what, **kwargs)

    if not budget_for_the_check:
        monkeypatch.setattr(SalesforceGateway, "ensure_budget", no_room_to_check)
    with open_connector(settings) as connector:
        for _ in range(3):
            for _summary in connector.run_pass():
                pass

    assert accepted, "the contacts stream did not update the Lead"
    assert bool(refused) != budget_for_the_check
    lead = server.sandbox.org.records["Lead"][lead["Id"]]
    assert lead["FirstName"] == "Amazing Grace"
    assert lead["Status"] == "Working - Contacted"
    shown = server.sandbox.portal.stores["contacts"].get("601").props
    with StateStore.open(settings.database_url) as store:
        assert store.dead_letters() == []
        assert store.work() == []
    assert shown.get("hs_lead_status") == "IN_PROGRESS"  # the acceptance reached HubSpot
