"""A webhook naming a contact again while the run of its earlier webhook is under way (after
that run read the contact, before it recorded its batch): the new change is not in what the run
read, so its work must stay for the next run. It used to be closed with the batch, and the
change then waited for the next poll of changes (or, with webhooks only, for ever)."""

from __future__ import annotations

import time

from hubspot.crm.contacts import SimplePublicObjectInput

from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import Commit
from connector.state.work import hand_over
from connector.wiring import open_connector
from tests.conftest import hubspot_client
from tests.e2e.test_two_way_races import CONTACT, MAPPINGS, SEED, _lead


def _webhook(connector, server, firstname: str) -> None:
    """Marketing renames the contact; its webhook makes the contacts stream's work."""
    time.sleep(0.01)
    hubspot_client(server).crm.contacts.basic_api.update(
        CONTACT, simple_public_object_input=SimplePublicObjectInput({"firstname": firstname})
    )
    work = [hand_over("hubspot.contacts", CONTACT, "HubSpot webhook contact.propertyChange")]
    connector.store.record(Commit(stream="hubspot.webhooks", work=work), run_id="webhook")


def test_a_webhook_during_the_run_of_an_earlier_one_is_done_by_the_next_run(
    sandbox, tmp_path, monkeypatch
):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "lead.yaml").write_text((MAPPINGS / "lead.yaml").read_text(encoding="utf-8"))
    server = sandbox(SEED)
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    )
    read = HubSpotGateway.read_contacts
    with open_connector(settings) as connector:
        connector.contacts.run_once()
        assert _lead(server)["FirstName"] == "Grace"

        def second_change_after_the_read(self, ids, properties):
            found = read(self, ids, properties)
            monkeypatch.setattr(HubSpotGateway, "read_contacts", read)
            _webhook(connector, server, "Amazing Grace")  # lands after the read
            return found

        _webhook(connector, server, "Grace B.")
        monkeypatch.setattr(HubSpotGateway, "read_contacts", second_change_after_the_read)
        connector.contacts.run_work()
        assert _lead(server)["FirstName"] == "Grace B."  # what the run read
        assert [w.reason for w in connector.store.work("hubspot.contacts")] == [
            "HubSpot webhook contact.propertyChange"
        ]

        connector.contacts.run_work()
        assert _lead(server)["FirstName"] == "Amazing Grace"
        assert connector.store.work("hubspot.contacts") == []
