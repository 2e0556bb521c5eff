"""Found by the proof (bench/reliability.py): a worker killed between a Lead's upsert and the
write-back of its id, and sales rejecting that Lead before the contact is read again. The
rejection gives the contact back to marketing (stage `lead`), so the contacts stream skips it;
the Lead id was never written back and nothing was owed. Now the feedback stream owes the id to
a contact that does not show it, and the write-back step pays it (reading the contact first, so
a contacts stream writing it back meanwhile costs no second write). Reproduced here in one
process, the kill played by an interrupt at the write-back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.status import load_status_mapping
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import StateStore
from connector.streams.leads.decide import feedback_for
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@given-back.example"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "501",
                "properties": {
                    "email": "ada@given-back.example",
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "company": "Engines",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


class Killed(BaseException):
    """The process dying: nothing after it runs."""


@pytest.mark.parametrize("marketing_shows_it_already", [False, True])
def test_a_lead_rejected_before_its_id_was_written_back_still_gets_it(
    sandbox, tmp_path, monkeypatch, marketing_shows_it_already
):
    """The Lead is upserted, the worker dies before writing its id to HubSpot, sales rejects
    the Lead: after the next passes the contact shows the rejection and its Lead's id. Also
    when the contact showed the rejection already (nothing else to write)."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    write_back = HubSpotGateway.update_contacts

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(HubSpotGateway, "update_contacts", dies)
    with open_connector(settings) as connector, pytest.raises(Killed):
        for _summary in connector.run_pass():
            pass
    monkeypatch.setattr(HubSpotGateway, "update_contacts", write_back)
    (lead,) = server.sandbox.org.records["Lead"].values()
    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))
    rejection = {"Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget"}
    rep.update_records("Lead", [RecordUpdate("501", lead["Id"], rejection)])
    contact = server.sandbox.portal.stores["contacts"].get("501")
    if marketing_shows_it_already:
        status = load_status_mapping(mappings)
        (rejected,) = rep.current_leads([lead["Id"]], status.lead_fields()).values()
        shown_by_hand = feedback_for(rejected, contact.props, status).updates
        assert shown_by_hand, "the rejection asks nothing of the contact"
        contact.props.update(shown_by_hand)

    with open_connector(settings) as connector:
        for _ in range(3):
            for _summary in connector.run_pass():
                pass
    shown = server.sandbox.portal.stores["contacts"].get("501").props
    assert shown.get("hs_lead_status") == "UNQUALIFIED"  # the feedback arrived
    with StateStore.open(settings.database_url) as store:
        assert store.owed_writebacks(limit=10) == []
        assert store.dead_letters() == []
    assert shown.get("salesforceleadid") == lead["Id"]
