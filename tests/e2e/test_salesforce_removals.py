"""Leads deleted or merged in Salesforce, through `leadbridge sync --once` against the sandbox
(SOAP merge and REST delete with simple-salesforce, HubSpot read with its own client): the
links and HubSpot's ids follow the record kept, a deleted Lead shows as gone and is not sent
again, a deletion flagged as an erasure request GDPR-deletes the contact and leaves the store
nothing of the person, also when the pass is killed half-way."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hubspot.crm.contacts import SimplePublicObjectInput
from lxml import etree
from simple_salesforce import Salesforce

from connector.cli import main
from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client
from tests.e2e.test_privacy import blocked, found_in, store_texts

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
KEY = "k" * 40
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
STATUS = "leadbridge_salesforce_status"
FLAGGED = "GDPR erasure"
PRIVACY = f"""
lead: {{action: delete}}
contact: {{action: delete}}
salesforce_requests:
  lead: {{field: Rejection_Reason__c, equals: "{FLAGGED}"}}
"""
FRIEDA = {
    "email": "frieda.vogelsang@vogel-werke.test",
    "firstname": "Frieda",
    "lastname": "Vogelsang-Ostermann",
    "phone": "+49 30 555 01234",
}


def _contact(cid: str, person: dict[str, str] | None = None) -> dict[str, Any]:
    props = person or {
        "email": f"person{cid}@example-{cid}.test",
        "firstname": f"First{cid}",
        "lastname": f"Last{cid}",
    }
    return {
        "id": cid,
        "properties": {
            **props,
            "company": f"Company {cid}",
            "lifecyclestage": "marketingqualifiedlead",
        },
    }


SEED = {
    "hubspot": {
        "contacts": [
            _contact("101"),
            _contact("102"),
            _contact("103"),
            _contact("104"),
            _contact("105", FRIEDA),
        ]
    },
    "salesforce": {
        # A rep's own Lead, linked to no contact (a merge may keep it).
        "Lead": [{"Id": "@rep", "LastName": "Walk-in", "Company": "Acme", "Email": "w@walk.test"}]
    },
}


class Killed(BaseException):
    """The process dying at this point."""


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def sync() -> Result:
    result = cli("sync", "--once")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def env(
    sandbox_server: SandboxServer,
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> str:
    """The sandbox with SEED, the shipped lead.yaml and status.yaml, a privacy.yaml recognising
    erasure requests, the privacy key; one pass done (each contact has its Lead). The store's
    URL."""
    sandbox_server.sandbox.reset(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("lead.yaml", "status.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    (mappings / "privacy.yaml").write_text(PRIVACY, encoding="utf-8")
    point_cli(sandbox_server, mappings)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", KEY)
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.setenv("LEADBRIDGE_LOG_REDACT_PII", "false")
    sync()
    return database_url


def lead_of(server: SandboxServer, cid: str) -> str:
    (lead,) = [
        r["Id"]
        for r in server.sandbox.org.records["Lead"].values()
        if r.get("HubSpot_Contact_Id__c") == cid
    ]
    return str(lead)


def live_leads(server: SandboxServer, **match: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in server.sandbox.org.records["Lead"].values()
        if all(r.get(k) == v for k, v in match.items())
    ]


def props(server: SandboxServer, cid: str) -> dict[str, Any] | None:
    record = server.sandbox.portal.stores["contacts"].get(cid)
    return None if record is None else dict(record.props)


def merge(sf: Salesforce, master: str, victim: str) -> None:
    """SOAP merge() of one Lead into another, with the client's session."""
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"s": ENV, "p": PARTNER, "o": SOBJECT})
    header = etree.SubElement(
        etree.SubElement(root, f"{{{ENV}}}Header"), f"{{{PARTNER}}}SessionHeader"
    )
    etree.SubElement(header, f"{{{PARTNER}}}sessionId").text = sf.session_id
    operation = etree.SubElement(etree.SubElement(root, f"{{{ENV}}}Body"), f"{{{PARTNER}}}merge")
    request = etree.SubElement(operation, f"{{{PARTNER}}}request")
    record = etree.SubElement(request, f"{{{PARTNER}}}masterRecord")
    etree.SubElement(record, f"{{{SOBJECT}}}type").text = "Lead"
    etree.SubElement(record, f"{{{SOBJECT}}}Id").text = master
    etree.SubElement(request, f"{{{PARTNER}}}recordToMergeIds").text = victim
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/59.0",
        data=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert b"<success>true</success>" in response.content, response.text


def salesforce_writes(server: SandboxServer, mark: int) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in server.sandbox.journal.entries(since=mark, api="salesforce")
        if e.method in ("PATCH", "PUT", "DELETE")
        or (e.method == "POST" and not e.path.endswith(("/composite", "/token")))
    ]


def test_merges_leave_one_link_per_record_and_hubspot_naming_the_record_kept(
    sandbox_server: SandboxServer, env: str
) -> None:
    """Two Leads merged in Salesforce: into a rep's unlinked Lead, contact 103's link and its
    `salesforceleadid` move to the kept Lead, which now carries 103's id (a later change of 103
    updates it: no new Lead). Into contact 101's Lead: 102's link closes, its Lead id is cleared
    and its status says merged, 101 keeps its link. Every Lead is claimed by at most one link,
    no contact shows an id Salesforce does not have, and our HubSpot writes do not come back to
    Salesforce on the next pass."""
    server = sandbox_server
    sf = sf_client(server)
    ada, bob, cleo = lead_of(server, "101"), lead_of(server, "102"), lead_of(server, "103")
    walk_in = live_leads(server, Email="w@walk.test")[0]["Id"]
    merge(sf, master=walk_in, victim=cleo)
    merge(sf, master=ada, victim=bob)

    summary = sync()

    assert "2 links moved" not in summary.stdout
    assert "1 links moved to the merged record, 0 closed (deleted), 1 merged into another" in (
        summary.stdout
    )
    assert f"merge to look at: Salesforce {bob}" in summary.stdout
    with StateStore.open(env) as store:
        links = store.links(["101", "102", "103", "104", "105"])
    assert links["103"].salesforce_id == walk_in and links["103"].lead_id == walk_in
    assert links["101"].salesforce_id == ada
    assert "102" not in links
    claimed = [link.salesforce_id for link in links.values()]
    assert len(claimed) == len(set(claimed))  # one link per record
    assert (props(server, "103") or {})["salesforceleadid"] == walk_in
    assert (props(server, "101") or {})["salesforceleadid"] == ada
    assert not (props(server, "102") or {}).get("salesforceleadid")
    assert (props(server, "102") or {})[
        STATUS
    ] == "merged in Salesforce into another contact's record"
    live = {r["Id"] for r in server.sandbox.org.records["Lead"].values()}
    for cid in ("101", "102", "103", "104", "105"):
        shown = (props(server, cid) or {}).get("salesforceleadid")
        assert not shown or shown in live, f"contact {cid} shows a Lead Salesforce lacks"
    assert live_leads(server, Id=walk_in)[0]["HubSpot_Contact_Id__c"] == "103"

    mark = server.sandbox.journal.last_seq()
    again = sync()
    assert salesforce_writes(server, mark) == [], again.output  # no echo, no replay
    hubspot_client(server).crm.contacts.basic_api.update(
        "103", SimplePublicObjectInput(properties={"jobtitle": "Head of Walk-ins"})
    )
    sync()
    assert live_leads(server, HubSpot_Contact_Id__c="103") == live_leads(server, Id=walk_in)
    assert live_leads(server, Id=walk_in)[0]["Title"] == "Head of Walk-ins"


def test_a_deleted_lead_shows_as_gone_and_is_not_sent_again(
    sandbox_server: SandboxServer, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rep deletes contact 104's Lead: the link closes (its ids kept in the audit), HubSpot
    clears the Lead id and says "deleted in Salesforce"; the contact changing later does not
    bring the Lead back. A pass killed after HubSpot's write and before the store's record is
    finished by the next without writing HubSpot again; read again (the overlap), the
    deletion changes nothing."""
    server = sandbox_server
    dan = lead_of(server, "104")
    sf_client(server).Lead.delete(dan)

    def killed(self: Any, *args: Any, **kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(StateStore, "record_removals", killed)
        with pytest.raises(Killed):
            cli("sync", "--once")
    assert (props(server, "104") or {})[STATUS] == "deleted in Salesforce"
    with StateStore.open(env) as store:
        assert "104" in store.links(["104"])  # not recorded: the next pass reads it again
    mark = server.sandbox.journal.last_seq()

    summary = sync()

    hubspot_writes = [
        e.path
        for e in server.sandbox.journal.entries(since=mark, api="hubspot")
        if e.path.endswith("/batch/update")
    ]
    assert hubspot_writes == []  # HubSpot shows it already: exactly one write in all

    assert "0 links moved to the merged record, 1 closed (deleted)" in summary.stdout
    contact = props(server, "104") or {}
    assert not contact.get("salesforceleadid")
    assert contact[STATUS] == "deleted in Salesforce"
    with StateStore.open(env) as store:
        assert "104" not in store.links(["104"])
        assert store.links_by_salesforce_ids([dan]) == {}
        (event,) = [e for e in store.audit_events() if e.kind == "salesforce_removed"]
    assert (event.record_id, event.details["lead_id"]) == ("104", dan)
    hubspot_client(server).crm.contacts.basic_api.update(
        "104", SimplePublicObjectInput(properties={"jobtitle": "Still here"})
    )
    mark = server.sandbox.journal.last_seq()
    sync()
    assert live_leads(server, HubSpot_Contact_Id__c="104") == []
    assert salesforce_writes(server, mark) == []
    assert (props(server, "104") or {})[STATUS] == "deleted in Salesforce"


def test_a_flagged_deletion_gdpr_deletes_the_contact_and_erases_the_store(
    sandbox_server: SandboxServer, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Lead deleted with the erasure flag privacy.yaml names: HubSpot's GDPR delete of its
    contact (the email blocked), the store left with nothing of the person but a tombstone,
    the pass printing counts only. Killed after the store's erasure and before HubSpot's
    delete, the next pass finishes it; a further pass calls nothing more."""
    server = sandbox_server
    frieda = lead_of(server, "105")
    sf = sf_client(server)
    sf.Lead.update(frieda, {"Rejection_Reason__c": FLAGGED})
    sf.Lead.delete(frieda)

    def killed(self: Any, **kwargs: Any) -> bool:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(HubSpotGateway, "gdpr_delete", killed)
        with pytest.raises(Killed):
            cli("sync", "--once")
    assert props(server, "105") is not None  # HubSpot not reached yet
    assert found_in(store_texts(env), FRIEDA) == []  # the store was erased first

    summary = sync()

    assert "1 people erased on request" in summary.stdout
    assert found_in([summary.output.lower()], FRIEDA) == []
    assert props(server, "105") is None
    assert blocked(server, FRIEDA["email"])
    assert found_in(store_texts(env), FRIEDA) == []
    with StateStore.open(env) as store:
        (tombstone,) = store.tombstones()
        assert store.links(["105"]) == {}
    assert (tombstone.hubspot_id, tombstone.lead_id) == ("105", frieda)
    assert tombstone.reason == "salesforce_privacy_deletion"
    assert (tombstone.hubspot_outcome, tombstone.salesforce_outcome) == ("deleted", "deleted")

    mark = server.sandbox.journal.last_seq()
    again = sync()
    assert "erased on request" not in again.stdout
    assert [e.path for e in server.sandbox.journal.entries(since=mark) if "gdpr" in e.path] == []
    assert len(StateStore.open(env).tombstones()) == 1
