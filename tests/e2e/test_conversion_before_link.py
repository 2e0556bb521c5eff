"""Found by the proof (bench/reliability.py) under load: the conversions stream read a sales
qualified contact before the contacts stream had linked it to its Lead (another worker's page,
killed and read again, or slow), found no Lead and left nothing to do; once it had read the
contact's change time again too, the contact was never converted. Reproduced in one process:
the conversions stream runs first, then the contacts stream."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import StateStore
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "901",
                "properties": {
                    "email": "frances@before-link.example",
                    "firstname": "Frances",
                    "lastname": "Allen",
                    "company": "Optimisers",
                    "lifecyclestage": "salesqualifiedlead",
                },
            },
            {
                "id": "902",
                "properties": {
                    "email": "john@before-link.example",
                    "firstname": "John",
                    "lastname": "Backus",
                    "company": "Formulas",
                    "lifecyclestage": "salesqualifiedlead",
                },
            },
        ]
    },
}


class Killed(BaseException):
    """The process dying: nothing after it runs."""


def test_a_contact_sales_qualified_before_its_lead_was_linked_is_converted(
    sandbox, tmp_path, monkeypatch
):
    """The contacts stream creates the Lead and writes its id back, and dies before recording
    the link; the conversions stream reads the SQL contact (no link: nothing to convert); the
    contacts stream reads it again and records the link, with nothing to write back (HubSpot
    shows the id already, so the contact does not change again): the next pass converts it,
    though the conversions stream has read the contact's last change already."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    record = StateStore.record

    def dies_recording_the_link(self, commit, **kwargs):
        if commit.links:
            raise Killed
        return record(self, commit, **kwargs)

    monkeypatch.setattr(StateStore, "record", dies_recording_the_link)
    with open_connector(settings) as connector, pytest.raises(Killed):
        connector.contacts.run_once()
    monkeypatch.setattr(StateStore, "record", record)
    shown = server.sandbox.portal.stores["contacts"].get("901").props
    assert shown.get("salesforceleadid"), "the id was not written back before the kill"
    # Marketing changes another SQL contact after it: the conversions stream's cursor passes
    # 901's change.
    HubSpotGateway.connect(settings).update_contacts({"902": {"firstname": "Johnny"}})
    with open_connector(settings) as connector:
        assert connector.conversions is not None
        first = connector.conversions.run_once()
        assert first.not_a_lead == 2  # read before the contacts stream linked them
        connector.contacts.run_once()
        for _summary in connector.run_pass():
            pass

    leads = {x["HubSpot_Contact_Id__c"]: x for x in server.sandbox.org.records["Lead"].values()}
    assert leads["901"]["IsConverted"] is True
    assert leads["902"]["IsConverted"] is True  # its change came after the cursor
    assert len(server.sandbox.org.records.get("Opportunity", {})) == 2
    with StateStore.open(settings.database_url) as store:
        assert store.work() == []
        assert store.dead_letters() == []
