"""Found by the proof (bench/reliability.py): the contacts stream and sales feedback run in
different workers, so one's page runs while the other's is between its reads and its writes,
or between its writes and its record; a worker can also die between the two. Reproduced in one
process, the other stream run by hand at that moment (a kill played by an exception no handler
catches). Phone is two-way, newest wins, as in the proof.

- A rep's edit landing between the contacts stream's read of the Lead and its update: the
  update sent the phone the Lead had when read, overwriting the rep's, and, leadbridge being
  the Lead's last modifier then, sales feedback never read the rep's change (stale edits).
- The leads stream writing the rep's phone to HubSpot while a contacts page that read the
  contact before is still in flight: that page's record, landing last, put back the agreement
  it knew (the phone before the rep's), so the rep's next edit was weighed by change times
  alone and lost to HubSpot's older phone (stale edits); and the contacts stream later wrote
  the Lead again with nothing to change (echo writes).
- A worker dying after the leads stream wrote the rep's phone to HubSpot, before its record:
  the contacts stream wrote the Lead again with nothing to change (echo writes).
- The conversion stream converting the Lead while a contacts page that updated it is in
  flight: that page's record put the link back to the Lead, so the conversion was linked and
  written to HubSpot again (echo writes), and the person's next change was sent to the
  converted Lead, which Salesforce refuses (a dead letter).
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.hubspot.gateway import HubSpotGateway
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.state.store import StateStore
from connector.wiring import open_connector
from tests.conftest import hubspot_client, sf_client

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
REP = "rep@races.example"
CONTACT = "601"
FIRST_PHONE = "+46 70 000 00 01"
PHONE_TWO_WAY = (
    "{hubspot: phone, salesforce: Phone, transform: [strip]}",
    "{hubspot: phone, salesforce: Phone, transform: [strip], direction: both, "
    "conflict: newest_wins}",
)
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": CONTACT,
                "properties": {
                    "email": "grace@races.example",
                    "firstname": "Grace",
                    "lastname": "Hopper",
                    "company": "Compilers",
                    "phone": FIRST_PHONE,
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {"User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}]},
}


class Killed(BaseException):
    """The process dying: nothing after it runs."""


def _settings(sandbox, tmp_path, *files: str):
    """Settings over a fresh sandbox: Phone two-way in lead.yaml, status.yaml and `files`."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("status.yaml", *files):
        shutil.copy(MAPPINGS / name, mappings / name)
    text = (MAPPINGS / "lead.yaml").read_text()
    assert PHONE_TWO_WAY[0] in text
    (mappings / "lead.yaml").write_text(text.replace(*PHONE_TWO_WAY))
    return sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings
    ), server


@pytest.fixture
def settings(sandbox, tmp_path):
    return _settings(sandbox, tmp_path)


@pytest.fixture
def converting(sandbox, tmp_path):
    """As `settings`, with conversion.yaml: a contact at SQL is converted."""
    return _settings(sandbox, tmp_path, "conversion.yaml")


@pytest.fixture
def lead_writes(monkeypatch):
    """HubSpot contact id -> Lead writes leadbridge sends (upserts and updates by Id)."""
    writes: Counter[str] = Counter()
    upsert, update = SalesforceGateway.upsert_leads, SalesforceGateway.update_leads

    def upsert_leads(self, upserts, **kw):
        writes.update(u.hubspot_id for u in upserts)
        return upsert(self, upserts, **kw)

    def update_leads(self, updates, **kw):
        writes.update(u.hubspot_id for u in updates)
        return update(self, updates, **kw)

    monkeypatch.setattr(SalesforceGateway, "upsert_leads", upsert_leads)
    monkeypatch.setattr(SalesforceGateway, "update_leads", update_leads)
    return writes


def _lead(server) -> dict:
    (lead,) = server.sandbox.org.records["Lead"].values()
    return dict(lead)


def _props(server) -> dict:
    return dict(server.sandbox.portal.stores["contacts"].get(CONTACT).props)


def _rep_edits(server, fields: dict) -> None:
    time.sleep(0.01)  # each side's change times are the sandbox clock's: keep them apart
    sf_client(server, REP).Lead.update(_lead(server)["Id"], fields)


def _marketing_edits(server, properties: dict) -> None:
    time.sleep(0.01)
    hubspot_client(server).crm.contacts.basic_api.update(
        CONTACT, simple_public_object_input=SimplePublicObjectInput(properties=properties)
    )


def _feedback_killed_before_its_record(connector, monkeypatch) -> None:
    """One pass of sales feedback that writes HubSpot and dies before recording its page."""
    record = StateStore.record

    def dies(self, commit, *, run_id):
        if commit.stream == "salesforce.leads":
            raise Killed
        return record(self, commit, run_id=run_id)

    monkeypatch.setattr(StateStore, "record", dies)
    with pytest.raises(Killed):
        connector.leads.run_once()
    monkeypatch.setattr(StateStore, "record", record)


def _passes(connector, n: int = 2) -> None:
    for _ in range(n):
        for _summary in connector.run_pass():
            pass


def test_a_rep_edit_landing_while_the_contacts_stream_updates_the_lead_stays_and_comes_back(
    settings, monkeypatch
):
    """Marketing renames the contact; the contacts stream reads the Lead, and before its
    update lands a rep accepts the Lead and changes its phone. The rep's phone stays on the
    Lead and reaches HubSpot with the acceptance; the rename reaches the Lead."""
    settings, server = settings
    with open_connector(settings) as connector:
        _passes(connector, 1)
        _marketing_edits(server, {"firstname": "Amazing Grace"})
        upsert = SalesforceGateway.upsert_leads
        landed = []

        def rep_first(self, upserts, **kw):
            if not landed:  # the rep's edit lands after our read, before our update
                landed.append(True)
                _rep_edits(server, {"Phone": "+1 555 0101", "Status": "Working - Contacted"})
            return upsert(self, upserts, **kw)

        monkeypatch.setattr(SalesforceGateway, "upsert_leads", rep_first)
        connector.contacts.run_once()
        assert landed
        monkeypatch.setattr(SalesforceGateway, "upsert_leads", upsert)
        _passes(connector)

    lead, props = _lead(server), _props(server)
    assert lead["FirstName"] == "Amazing Grace"
    assert lead["Phone"] == "+1 555 0101"  # not overwritten with the phone read before
    assert props["phone"] == "+1 555 0101"  # and mirrored: feedback read the Lead again
    assert props["hs_lead_status"] == "IN_PROGRESS"


def test_the_rep_phone_written_to_hubspot_under_a_contacts_page_in_flight(
    settings, monkeypatch, lead_writes
):
    """The contacts stream creates the Lead; before its page is recorded, a rep changes the
    phone and sales feedback (another worker) writes it to HubSpot and records the agreement.
    The contacts page's record then lands. Marketing moves the contact to SQL: the next passes
    write nothing to the Lead (it holds every value already)."""
    settings, server = settings
    record = StateStore.record
    with open_connector(settings) as connector:

        def feedback_first(self, commit, *, run_id):
            if commit.stream == "hubspot.contacts" and not getattr(feedback_first, "ran", False):
                feedback_first.ran = True
                _rep_edits(server, {"Phone": "+1 555 0202"})
                connector.leads.run_once()  # the other worker, while this page is in flight
                assert _props(server)["phone"] == "+1 555 0202"
            return record(self, commit, run_id=run_id)

        monkeypatch.setattr(StateStore, "record", feedback_first)
        connector.contacts.run_once()
        monkeypatch.setattr(StateStore, "record", record)
        assert lead_writes == Counter({CONTACT: 1})  # the Lead's creation

        _marketing_edits(server, {"lifecyclestage": "salesqualifiedlead"})
        _passes(connector)
        assert lead_writes == Counter({CONTACT: 1})  # no write that changes nothing

    assert (_lead(server)["Phone"], _props(server)["phone"]) == ("+1 555 0202", "+1 555 0202")


def test_a_worker_killed_after_the_rep_phone_reached_hubspot_causes_no_echo(
    settings, monkeypatch, lead_writes
):
    """Sales feedback writes a rep's phone to HubSpot and dies before recording it. The
    contacts stream then sees the contact changed, but the Lead holds every value already:
    nothing is written to it. The rep's next edit still reaches HubSpot."""
    settings, server = settings
    with open_connector(settings) as connector:
        _passes(connector, 1)
        _rep_edits(server, {"Phone": "+1 555 0404"})
        _feedback_killed_before_its_record(connector, monkeypatch)
        assert _props(server)["phone"] == "+1 555 0404"  # written, not recorded
        lead_writes.clear()

        connector.contacts.run_once()
        assert lead_writes == Counter()  # the Lead holds the phone already: no write

        _rep_edits(server, {"Phone": "+1 555 0505"})
        _passes(connector)
        assert lead_writes == Counter()

    assert (_lead(server)["Phone"], _props(server)["phone"]) == ("+1 555 0505", "+1 555 0505")


def test_the_agreement_sales_feedback_recorded_under_a_contacts_page_in_flight_stays(
    settings, monkeypatch
):
    """As above, but the rep changes the phone again, and marketing makes an unrelated edit
    after it, before any other pass: the rep's phone is the change (HubSpot's phone is the one
    both sides agreed on), so it wins on both sides however newer HubSpot's change is."""
    settings, server = settings
    record = StateStore.record
    with open_connector(settings) as connector:

        def feedback_first(self, commit, *, run_id):
            if commit.stream == "hubspot.contacts" and not getattr(feedback_first, "ran", False):
                feedback_first.ran = True
                _rep_edits(server, {"Phone": "+1 555 0202"})
                connector.leads.run_once()  # the other worker, while this page is in flight
            return record(self, commit, run_id=run_id)

        monkeypatch.setattr(StateStore, "record", feedback_first)
        connector.contacts.run_once()
        monkeypatch.setattr(StateStore, "record", record)
        assert _props(server)["phone"] == "+1 555 0202"

        _rep_edits(server, {"Phone": "+1 555 0303"})
        _marketing_edits(server, {"firstname": "Amazing Grace"})  # HubSpot's change is newer
        _passes(connector)

    lead, props = _lead(server), _props(server)
    assert lead["FirstName"] == "Amazing Grace"
    assert (lead["Phone"], props["phone"]) == ("+1 555 0303", "+1 555 0303")


def test_a_conversion_under_a_contacts_page_in_flight_stays_linked(converting, monkeypatch):
    """Marketing renames the contact and moves it to SQL; the contacts stream updates the Lead,
    and before its page is recorded the conversion stream (another worker) converts it. Once
    that page's record lands, the conversion is not written to HubSpot again, and the
    person's next change goes to the Contact, with nothing refused."""
    settings, server = converting
    record = StateStore.record
    written: list[tuple[str, dict]] = []
    update_contacts = HubSpotGateway.update_contacts

    def counted(self, updates):
        written.extend((cid, dict(values)) for cid, values in updates.items())
        return update_contacts(self, updates)

    with open_connector(settings) as connector:
        _passes(connector, 1)
        _marketing_edits(
            server, {"firstname": "Amazing Grace", "lifecyclestage": "salesqualifiedlead"}
        )

        def conversion_first(self, commit, *, run_id):
            if commit.stream == "hubspot.contacts" and not getattr(conversion_first, "ran", 0):
                conversion_first.ran = 1
                connector.conversions.run_once()  # the other worker, while this page is in flight
            return record(self, commit, run_id=run_id)

        monkeypatch.setattr(StateStore, "record", conversion_first)
        connector.contacts.run_once()
        monkeypatch.setattr(StateStore, "record", record)
        assert _lead(server)["IsConverted"] and _lead(server)["FirstName"] == "Amazing Grace"

        monkeypatch.setattr(HubSpotGateway, "update_contacts", counted)
        _passes(connector)
        assert [cid for cid, values in written if "salesforcecontactid" in values] == []

        _marketing_edits(server, {"firstname": "Grace B."})
        _passes(connector)
        assert connector.store.dead_letters() == []

    (contact,) = server.sandbox.org.records["Contact"].values()
    assert contact["FirstName"] == "Grace B."


def test_a_rep_phone_after_a_creation_killed_before_its_record_reaches_hubspot(
    settings, monkeypatch
):
    """The contacts stream creates the Lead and dies before writing its id back (nothing of
    the page recorded); the rep accepts it and changes its phone; the contacts stream runs
    again first. The acceptance and the rep's phone reach HubSpot."""
    settings, server = settings
    update_contacts = HubSpotGateway.update_contacts

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(HubSpotGateway, "update_contacts", dies)
    with open_connector(settings) as connector, pytest.raises(Killed):
        connector.contacts.run_once()
    monkeypatch.setattr(HubSpotGateway, "update_contacts", update_contacts)
    _rep_edits(server, {"Status": "Working - Contacted", "Phone": "+1 555 0909"})
    with open_connector(settings) as connector:
        connector.contacts.run_once()
        _passes(connector)

    props = _props(server)
    assert props["hs_lead_status"] == "IN_PROGRESS"
    assert (_lead(server)["Phone"], props["phone"]) == ("+1 555 0909", "+1 555 0909")


def test_a_rep_phone_after_a_creation_killed_before_its_record_survives_a_later_marketing_edit(
    settings, monkeypatch
):
    """As above, but marketing changes the contact's name after the rep's phone edit, so the
    contact is the newer record when the contacts stream runs again. With no agreement recorded
    (the page died before its record), `newest_wins` weighed record-level change times and put
    HubSpot's first phone back over the rep's (the reliability proof's stale phones). What the
    creation sent is recorded before it is sent: HubSpot still holding it, the phone is the
    rep's change and stays, and reaches HubSpot."""
    settings, server = settings
    update_contacts = HubSpotGateway.update_contacts

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(HubSpotGateway, "update_contacts", dies)
    with open_connector(settings) as connector, pytest.raises(Killed):
        connector.contacts.run_once()
    monkeypatch.setattr(HubSpotGateway, "update_contacts", update_contacts)
    _rep_edits(server, {"Phone": "+1 555 0909"})
    _marketing_edits(server, {"firstname": "Amazing Grace"})
    with open_connector(settings) as connector:
        connector.contacts.run_once()
        _passes(connector)

    props = _props(server)
    lead = _lead(server)
    assert (lead["Phone"], props["phone"]) == ("+1 555 0909", "+1 555 0909")
    assert lead["FirstName"] == "Amazing Grace"


def test_a_rep_phone_after_feedback_killed_before_its_record_survives_a_later_marketing_edit(
    settings, monkeypatch
):
    """Sales feedback writes the rep's phone to HubSpot and dies before recording the new
    agreement. The rep changes the phone again, then marketing renames the contact (the contact
    is the newer record). With the old agreement matching neither side, `newest_wins` weighed
    record-level change times: feedback kept the rep's phone out of HubSpot and the contacts
    stream then wrote HubSpot's older phone over it (the reliability proof's stale phones,
    traced by the bench's phone timelines). What was being sent is noted before it is sent:
    HubSpot still holding it, the rep's later phone is the change, on both sides."""
    settings, server = settings
    with open_connector(settings) as connector:
        _passes(connector, 1)
        _rep_edits(server, {"Phone": "+1 555 0404"})
        _feedback_killed_before_its_record(connector, monkeypatch)
        assert _props(server)["phone"] == "+1 555 0404"  # written, not recorded

        _rep_edits(server, {"Phone": "+1 555 0505"})
        _marketing_edits(server, {"firstname": "Amazing Grace"})
        _passes(connector)

    lead, props = _lead(server), _props(server)
    assert lead["FirstName"] == "Amazing Grace"
    assert (lead["Phone"], props["phone"]) == ("+1 555 0505", "+1 555 0505")


def test_a_rep_phone_survives_a_creation_and_a_feedback_write_both_killed(settings, monkeypatch):
    """The contacts stream creates the Lead and dies before its record; the rep changes the
    phone; sales feedback dies sending it to HubSpot (nothing lands); the rep changes it again
    and marketing renames the contact. Feedback's note of what it was sending replaced the
    creation's, and with no agreement recorded `newest_wins` weighed record-level times (the
    stale phones of the bench's third run). The creation records its values as the fields'
    first agreement before it is sent: the rep's last phone is the change, on both sides."""
    settings, server = settings
    update_contacts = HubSpotGateway.update_contacts

    def dies(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(HubSpotGateway, "update_contacts", dies)
    with open_connector(settings) as connector, pytest.raises(Killed):
        connector.contacts.run_once()  # the Lead created; its id never written back
    _rep_edits(server, {"Phone": "+1 555 0404"})
    with open_connector(settings) as connector, pytest.raises(Killed):
        connector.leads.run_once()  # dies before HubSpot gets the phone
    monkeypatch.setattr(HubSpotGateway, "update_contacts", update_contacts)
    assert _props(server)["phone"] == FIRST_PHONE

    _rep_edits(server, {"Phone": "+1 555 0505"})
    _marketing_edits(server, {"firstname": "Amazing Grace"})
    with open_connector(settings) as connector:
        _passes(connector)

    lead, props = _lead(server), _props(server)
    assert lead["FirstName"] == "Amazing Grace"
    assert (lead["Phone"], props["phone"]) == ("+1 555 0505", "+1 555 0505")
