"""Found by the proof (bench/reliability.py, 1,000 contacts): a Lead's creation whose answer
was lost is sent again by the client, and sales accepted the new Lead in between. The resent
upsert makes the integration user the Lead's last modifier, and the feedback stream skips Leads
we changed last: the acceptance never reached HubSpot, with nothing owed and no work left.
Reproduced in one process: the upsert is played twice, the rep's change between the two."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import StateStore
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@resent.example"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "701",
                "properties": {
                    "email": "edsger@resent.example",
                    "firstname": "Edsger",
                    "lastname": "Dijkstra",
                    "company": "Semaphores",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


def test_a_lead_accepted_before_its_resent_creation_landed_still_shows_in_hubspot(
    sandbox, tmp_path, monkeypatch
):
    """The first upsert creates the Lead, its answer is lost, sales accepts the Lead, the
    client sends the upsert again (an update now): after the next passes the contact shows the
    acceptance, and the Lead keeps the rep's status."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))
    upsert = SalesforceGateway.upsert_leads
    resent: list[bool] = []

    def answer_lost_then_sent_again(self, upserts, **kwargs):
        if resent:
            return upsert(self, upserts, **kwargs)
        upsert(self, upserts, **kwargs)  # created; its answer never arrives
        (lead,) = server.sandbox.org.records["Lead"].values()
        rep.update_records(
            "Lead", [RecordUpdate("701", lead["Id"], {"Status": "Working - Contacted"})]
        )
        again = upsert(self, upserts, **kwargs)
        resent.append(not any(result.created for result in again))
        return again

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", answer_lost_then_sent_again)
    with open_connector(settings) as connector:
        for _ in range(3):
            for _summary in connector.run_pass():
                pass

    assert resent == [True], "the resent upsert did not answer as an update"
    (lead,) = server.sandbox.org.records["Lead"].values()
    assert lead["Status"] == "Working - Contacted"
    shown = server.sandbox.portal.stores["contacts"].get("701").props
    with StateStore.open(settings.database_url) as store:
        assert store.dead_letters() == []
        assert store.work() == []
    assert shown.get("salesforceleadid") == lead["Id"]
    assert shown.get("hs_lead_status") == "IN_PROGRESS"  # the acceptance reached HubSpot
