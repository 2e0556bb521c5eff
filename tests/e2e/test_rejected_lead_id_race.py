"""Found by the proof (bench/reliability.py): a rejected contact's Lead id written to HubSpot
twice, the second write changing nothing (an echo; 86 of them in one run at 1,000 contacts).
The contacts stream upserts a Lead and writes its id back at the end of its page; sales rejects
the Lead in between, and sales feedback (another worker) finds the contact without the id and
owes it (`test_given_back_writeback.py`: the contacts stream may have died). The write-back step
paid it at once, and the contacts stream's own write-back, under way (a page of Leads, or a
write-back waiting out a rate limit), then wrote the same id again. Reproduced in one process:
the rejection, sales feedback and the write-back step run at the moment the contacts stream
writes the id back."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.hubspot.gateway import HubSpotGateway
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.state.hold import Wait
from connector.state.store import StateStore
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@id-race.example"
LEAD_ID = "salesforceleadid"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "601",
                "properties": {
                    "email": "grace@id-race.example",
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


def test_a_lead_id_owed_while_the_contacts_stream_writes_it_back_is_written_once(
    sandbox, tmp_path, monkeypatch
):
    """The Lead is upserted; while the contacts stream writes its id back, sales rejects the
    Lead, sales feedback owes the id and the write-back step runs (as other workers would):
    the step leaves the debt (the contacts stream holds the contact) and the next pass finds
    the id shown. The id is written once, the rejection arrives, nothing stays owed."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))
    update = HubSpotGateway.update_contacts
    writes: list[dict[str, str | None]] = []  # every write of the Lead id to the contact
    owed_meanwhile: list[int] = []

    with open_connector(settings) as connector:
        assert connector.leads is not None
        leads = connector.leads
        connector.writebacks.wait = Wait(0)  # as a job finding it busy: no waiting here

        def others_meanwhile(self, updates, **kwargs):
            mine = updates.get("601", {})
            if LEAD_ID in mine:
                writes.append(mine)
                if len(writes) == 1:  # the contacts stream's write-back, about to be served
                    (lead,) = server.sandbox.org.records["Lead"].values()
                    rejection = {
                        "Status": "Closed - Not Converted",
                        "Rejection_Reason__c": "No budget",
                    }
                    rep.update_records("Lead", [RecordUpdate("601", lead["Id"], rejection)])
                    leads.run_once()  # sales feedback: the contact shows no id yet
                    owed_meanwhile.append(len(connector.store.owed_writebacks(limit=10)))
                    connector.writebacks.run_once()
            return update(self, updates, **kwargs)

        monkeypatch.setattr(HubSpotGateway, "update_contacts", others_meanwhile)
        for _ in range(3):
            for _summary in connector.run_pass():
                pass

    assert owed_meanwhile == [1], "sales feedback did not owe the id: the race was not played"
    (lead,) = server.sandbox.org.records["Lead"].values()
    shown = server.sandbox.portal.stores["contacts"].get("601").props
    assert shown.get(LEAD_ID) == lead["Id"]
    assert shown.get("hs_lead_status") == "UNQUALIFIED"  # the rejection arrived
    assert len(writes) == 1, writes  # before: the step's write, then the contacts stream's echo
    with StateStore.open(settings.database_url) as store:
        assert store.owed_writebacks(limit=10) == []
        assert store.dead_letters() == []
