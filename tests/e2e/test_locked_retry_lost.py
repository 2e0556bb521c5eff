"""Found by the proof (bench/reliability.py, issue 15, seed 15 at 5,000 contacts): Leads upserted
a second time 25 s after their creation, every value already held (echo writes), and rep phone
edits of the same contacts lost (stale phones). A pass's Lead upsert wrote some records and met
UNABLE_TO_LOCK_ROW for others; sending the locked ones again found no answer through every
retry, and the call raised: the pass failed with the written Leads' results lost, nothing
recorded. The next pass found those Leads by email, carrying the contacts' ids, and wrote them
again, with the fields' last agreement unknown: `newest_wins` then weighed record-level times,
and a contact renamed after the rep's phone edit put its old phone back over the rep's.
Reproduced in one process with the sandbox's faults scripted: the second record of the first
Lead upsert is locked, and every request sending it again is left without an answer."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from hubspot.crm.contacts import SimplePublicObjectInput

from connector.errors import Unreachable
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.sandbox.faults import Decision
from connector.state.store import StateStore
from connector.wiring import open_connector
from tests.conftest import hubspot_client

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@locked-retry.example"
PHONE_LINE = "{hubspot: phone, salesforce: Phone, transform: [strip]}"
PHONE_TWO_WAY = (
    "{hubspot: phone, salesforce: Phone, transform: [strip], direction: both, "
    "conflict: newest_wins}"
)
REP_PHONE = "+46 70 555 0701"


def _contact(cid: str, first: str) -> dict:
    return {
        "id": cid,
        "properties": {
            "email": f"{first.lower()}@locked-retry.example",
            "firstname": first,
            "lastname": "Tester",
            "company": "Locks",
            "phone": f"+46 70 100 00{cid}",
            "lifecyclestage": "marketingqualifiedlead",
        },
    }


SEED = {
    "hubspot": {"contacts": [_contact("701", "Ada"), _contact("702", "Grace")]},
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


def test_leads_written_before_a_locked_record_s_retry_failed_are_recorded(
    sandbox, tmp_path, monkeypatch
):
    """Pass 1 writes 701's Lead; 702's is locked and sending it again gets no answer. The pass
    records 701 (702 waits as a failure to try again). The rep then changes 701's phone and
    marketing renames the contact: the next passes write the new name only, once, the rep's
    phone stays and reaches HubSpot, and 702's Lead is written."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    lead_yaml = (MAPPINGS / "lead.yaml").read_text()
    assert PHONE_LINE in lead_yaml
    (mappings / "lead.yaml").write_text(lead_yaml.replace(PHONE_LINE, PHONE_TWO_WAY))
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    ).model_copy(update={"salesforce_max_attempts": 2})
    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))

    injector = server.sandbox.injector
    injector.set({"seed": 1})  # a profile drawing nothing: the faults below are scripted
    locks = iter([False, True])  # the first Lead upsert's records: 701 written, 702 locked
    script = {"locked": False, "on": True}

    def row_locked() -> bool:
        locked = next(locks, False)
        script["locked"] = script["locked"] or locked
        return locked

    def decide(target):
        lead_write = target.method == "PATCH" and "/composite/sobjects/Lead/" in target.path
        if script["on"] and script["locked"] and lead_write:
            return Decision("connection_reset")  # 702 sent again: no answer, every time
        return Decision(None)

    monkeypatch.setattr(injector, "row_locked", row_locked)
    monkeypatch.setattr(injector, "decide", decide)
    upsert = SalesforceGateway.upsert_leads
    sent: dict[str, list[dict]] = {}  # each upsert of a contact's Lead, its fields as sent

    def counted(self, leads, **kwargs):
        for lead in leads:
            sent.setdefault(lead.hubspot_id, []).append(dict(lead.fields))
        return upsert(self, leads, **kwargs)

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", counted)

    def lead(cid: str) -> dict:
        (found,) = [
            r
            for r in server.sandbox.org.records["Lead"].values()
            if r.get("HubSpot_Contact_Id__c") == cid
        ]
        return found

    with open_connector(settings) as connector:
        # Before, the pass stopped here (as a worker's pass fails and the next one comes):
        # no answer for 702, and 701's result lost with it.
        with contextlib.suppress(Unreachable):
            for _summary in connector.run_pass():
                pass
        assert script["locked"], "702 was not locked: the race was not played"
        script["on"] = False
        rep.update_records("Lead", [RecordUpdate("701", lead("701")["Id"], {"Phone": REP_PHONE})])
        time.sleep(1.1)  # the rename is the newer change, by record-level times too
        hubspot_client(server).crm.contacts.basic_api.update(
            "701", simple_public_object_input=SimplePublicObjectInput({"firstname": "Augusta"})
        )
        for _ in range(3):
            for _summary in connector.run_pass():
                pass

    shown = server.sandbox.portal.stores["contacts"].get("701").props
    ada = lead("701")
    assert ada["FirstName"] == "Augusta"
    assert ada["Phone"] == REP_PHONE  # before: HubSpot's old phone put back over the rep's
    assert shown.get("phone") == REP_PHONE  # the rep's edit carried to HubSpot
    # created, then renamed, the rep's phone left alone (before: the pass failed, and the Lead
    # found by email was written whole again, HubSpot's old phone included)
    assert [f["FirstName"] for f in sent["701"]] == ["Ada", "Augusta"], sent["701"]
    assert "Phone" not in sent["701"][1]
    assert lead("702")["FirstName"] == "Grace"
    assert shown.get("salesforceleadid") == ada["Id"]
    with StateStore.open(settings.database_url) as store:
        assert [d for d in store.dead_letters() if d.resolved_at is None] == []
