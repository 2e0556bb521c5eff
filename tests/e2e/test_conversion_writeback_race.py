"""Found by the proof (bench/reliability.py): a conversion's ids written to HubSpot twice, the
second time changing nothing (an echo). The conversions stream records the ids as owed, then
writes them; the write-back step, another worker's job, read the debt and the contact in
between and wrote them too. Reproduced in one process: the write-back step is run at the
moment the conversion writes."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.errors import StreamBusy
from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from connector.state.hold import Wait
from connector.state.store import StateStore
from connector.streams.conversions.stream import OPPORTUNITY_ID
from connector.wiring import open_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "801",
                "properties": {
                    "email": "barbara@race.example",
                    "firstname": "Barbara",
                    "lastname": "Liskov",
                    "company": "Substitution",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
}


def test_the_write_back_step_never_writes_a_conversions_ids_the_conversion_is_writing(
    sandbox, tmp_path, monkeypatch
):
    """While the conversion writes its ids, the write-back step cannot take the debts (busy,
    as another worker's job would find it); afterwards it finds HubSpot showing them: the
    ids are written once."""
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
    hubspot = HubSpotGateway.connect(settings)
    hubspot.update_contacts({"801": {"lifecyclestage": "salesqualifiedlead"}})

    update = HubSpotGateway.update_contacts
    writes: list[dict[str, str | None]] = []
    step: list[str] = []

    with open_connector(settings) as connector:
        connector.writebacks.wait = Wait(0)  # as a job finding it busy: no waiting here

        def the_step_runs_meanwhile(self, updates, **kwargs):
            mine = updates.get("801", {})
            if OPPORTUNITY_ID in mine:
                writes.append(mine)
                if not step:
                    try:
                        connector.writebacks.run_once()
                        step.append("ran")
                    except StreamBusy:
                        step.append("busy")
            return update(self, updates, **kwargs)

        monkeypatch.setattr(HubSpotGateway, "update_contacts", the_step_runs_meanwhile)
        for _ in range(2):
            for _summary in connector.run_pass():
                pass

    shown = server.sandbox.portal.stores["contacts"].get("801").props
    assert shown.get(OPPORTUNITY_ID), "the conversion's ids did not reach HubSpot"
    assert len(writes) == 1, writes  # before: the step's write, then the conversion's echo
    assert step == ["busy"]
    with StateStore.open(settings.database_url) as store:
        assert store.owed_writebacks(limit=10) == []
