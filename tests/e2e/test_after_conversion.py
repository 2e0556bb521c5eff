"""After conversion, through `leadbridge sync --once`: a converted person's later changes go to
the Contact the Lead became (Salesforce refuses updates to a converted Lead), under the same
conflict rules, and once only."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from connector.model import LeadConvert
from connector.salesforce.gateway import SalesforceGateway
from connector.state.store import StateStore
from tests.conftest import hubspot_client, sf_client
from tests.e2e.conftest import sync_once
from tests.gateways.test_salesforce_sandbox import settings_for

MAPPINGS = Path(__file__).parents[2] / "mappings"
REP = "rep@acme.test"
PROTECT_PHONE = (
    "{hubspot: phone, salesforce: Phone, transform: [strip]}",
    "{hubspot: phone, salesforce: Phone, transform: [strip], conflict: salesforce_wins}",
)
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "900",
                "properties": {
                    "email": "ada@globex.test",
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "company": "Globex",
                    "jobtitle": "Buyer",
                    "phone": "+46 70 000 00 00",
                    "city": "Lund",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    },
    "salesforce": {
        "User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}],
    },
}


@pytest.fixture
def server(sandbox):
    return sandbox(SEED)


@pytest.fixture
def run(server, tmp_path, point_cli):
    """`leadbridge sync --once` with the shipped lead, status and conversion files (no
    routing: the Lead converts into a new account), Phone protected by salesforce_wins."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("status.yaml", "conversion.yaml"):
        shutil.copy(MAPPINGS / name, mappings / name)
    text = (MAPPINGS / "lead.yaml").read_text()
    assert PROTECT_PHONE[0] in text
    (mappings / "lead.yaml").write_text(text.replace(*PROTECT_PHONE))
    point_cli(server, mappings)

    def once():
        start = server.sandbox.journal.last_seq()
        result = sync_once()
        return result, _writes(server, start)

    return once


def _writes(server, since: int) -> Counter[tuple[str, str]]:
    """leadbridge's Salesforce write calls after journal entry `since` (the rep's left out)."""
    rep = _one(server, "User", Username=REP)["Id"]
    return Counter(
        (e.method, e.path)
        for e in server.sandbox.journal.entries(since=since, api="salesforce")
        if e.user != rep
        and e.method in ("PATCH", "POST")
        and not e.path.endswith(("/composite", "/token"))
    )


def _one(server, sobject: str, **match) -> dict:
    (hit,) = [
        r
        for r in server.sandbox.org.records[sobject].values()
        if all(r.get(k) == v for k, v in match.items())
    ]
    return hit


def _hubspot_update(server, **props: str) -> None:
    hubspot_client(server).crm.contacts.basic_api.update(
        "900", simple_public_object_input=SimplePublicObjectInput(properties=props)
    )


def test_changes_after_conversion_go_to_the_contact(server, run):
    run()  # MQL: the Lead is created
    _hubspot_update(server, lifecyclestage="salesqualifiedlead")
    converted, _ = run()
    assert "converted 1 Leads" in converted.output
    lead = _one(server, "Lead", HubSpot_Contact_Id__c="900")
    contact_id = lead["ConvertedContactId"]
    assert lead["IsConverted"] and contact_id
    lead_before = dict(lead)

    # Marketing learns a new title and city; a rep meanwhile corrects the Contact's phone.
    _hubspot_update(server, jobtitle="Head of Buying", city="Malmö", phone="+46 70 999 99 99")
    sf_client(server, REP).Contact.update(contact_id, {"Phone": "+46 40 123 45 67"})
    result, writes = run()

    contact = server.sandbox.org.records["Contact"][contact_id]
    assert contact["Title"] == "Head of Buying", result.output
    assert contact["MailingCity"] == "Malmö", result.output
    assert contact["Phone"] == "+46 40 123 45 67"  # salesforce_wins keeps the rep's phone
    assert "updated 1 Contacts of converted leads" in result.output
    assert "failed 0" in result.output
    # The converted Lead is not written (Salesforce would refuse: CANNOT_UPDATE_CONVERTED_LEAD).
    assert _one(server, "Lead", HubSpot_Contact_Id__c="900") == lead_before
    assert sum(writes.values()) == 1, writes  # one Collections update of the Contact

    quiet, writes = run()
    assert writes == Counter(), quiet.output
    assert server.sandbox.org.records["Contact"][contact_id]["Title"] == "Head of Buying"


def test_a_contact_refusal_is_dead_lettered_with_salesforces_field(server, run):
    """A value the Contact refuses (a title longer than Contact.Title's 128 characters) fails
    that person alone, naming the field, and the Contact keeps its values."""
    run()
    _hubspot_update(server, lifecyclestage="salesqualifiedlead")
    run()
    contact_id = _one(server, "Lead", HubSpot_Contact_Id__c="900")["ConvertedContactId"]

    _hubspot_update(server, jobtitle="Chief " * 30, city="Malmö")
    result, _ = run()

    assert "failed 1" in result.output
    assert "STRING_TOO_LONG" in result.output and "Title" in result.output, result.output
    assert server.sandbox.org.records["Contact"][contact_id]["MailingCity"] == "Lund"
    assert server.sandbox.org.records["Contact"][contact_id]["Title"] == "Buyer"


def test_a_lead_a_rep_converts_is_linked_at_once_and_changes_follow(server, run, tmp_path):
    """A rep converts the Lead in Salesforce while marketing's contact is still an MQL: the next
    pass links the contact to the rep's Contact (the feedback stream hands the converted Lead to
    conversion), HubSpot gets the ids, and marketing's next change goes to that Contact instead
    of failing on the converted Lead (CANNOT_UPDATE_CONVERTED_LEAD)."""
    run()
    lead = _one(server, "Lead", HubSpot_Contact_Id__c="900")
    as_rep = SalesforceGateway.connect(
        settings_for(server, salesforce_username=REP), sleep=lambda _s: None
    )
    (made,) = as_rep.convert_leads(
        [LeadConvert(lead["Id"], "Closed - Converted", do_not_create_opportunity=True)]
    )
    assert made.success, made.reason
    soap_mark = server.sandbox.journal.last_seq()

    linked, _ = run()

    assert "linked 1 already converted" in linked.output, linked.output
    props = server.sandbox.portal.stores["contacts"].get("900").props
    assert props["salesforcecontactid"] == made.contact_id
    assert props["salesforceaccountid"] == made.account_id
    ours = [
        e
        for e in server.sandbox.journal.entries(since=soap_mark, api="salesforce")
        if e.path.startswith("/services/Soap/")
    ]
    assert ours == []  # linked, never converted again
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.dead_letters() == []  # the hand-over closed once linked

    _hubspot_update(server, jobtitle="Chief Buyer")
    result, _ = run()
    assert "failed 0" in result.output, result.output
    assert server.sandbox.org.records["Contact"][made.contact_id]["Title"] == "Chief Buyer"


def test_mappings_plan_shows_a_converted_persons_contact(server, run):
    """`leadbridge mappings plan` previews what a sync would do with a converted person: an
    update of the Contact (not of the converted Lead), with the rule that keeps the rep's
    phone; and it writes nothing."""
    run()
    _hubspot_update(server, lifecyclestage="salesqualifiedlead")
    run()
    contact_id = _one(server, "Lead", HubSpot_Contact_Id__c="900")["ConvertedContactId"]
    sf_client(server, REP).Contact.update(contact_id, {"Phone": "+46 40 123 45 67"})
    _hubspot_update(server, jobtitle="Head of Buying", phone="+46 70 999 99 99")
    mark = server.sandbox.journal.last_seq()

    result = CliRunner().invoke(main, ["mappings", "plan", "--email", "ada@globex.test"])

    assert result.exit_code == 0, result.output
    assert f"update Contact {contact_id} (its Lead is converted)" in result.output
    assert "~ Contact.Title: 'Buyer' -> 'Head of Buying'" in result.output
    assert "= Contact.Phone keeps '+46 40 123 45 67'" in result.output
    assert "1 converted (their Contacts to update)" in result.output
    writes = [e for e in server.sandbox.journal.entries(since=mark) if e.method in ("PATCH",)]
    assert writes == []


def test_a_change_refused_by_a_lead_converted_meanwhile_reaches_its_contact(server, run, tmp_path):
    """Marketing changes the contact while a rep converts its Lead, before leadbridge has seen
    the conversion: the Lead update is refused (CANNOT_UPDATE_CONVERTED_LEAD). The change is
    not held behind that refusal: once the contact is linked to the Contact the Lead became,
    the change goes there and the failure closes (it used to wait in the dead-letter store
    until the contact changed again, and the Contact never got it)."""
    run()
    lead = _one(server, "Lead", HubSpot_Contact_Id__c="900")
    as_rep = SalesforceGateway.connect(
        settings_for(server, salesforce_username=REP), sleep=lambda _s: None
    )
    (made,) = as_rep.convert_leads(
        [LeadConvert(lead["Id"], "Closed - Converted", do_not_create_opportunity=True)]
    )
    assert made.success, made.reason
    _hubspot_update(server, jobtitle="Chief Buyer")

    first, _ = run()
    second, _ = run()

    contact = server.sandbox.org.records["Contact"][made.contact_id]
    assert contact["Title"] == "Chief Buyer", first.output + second.output
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert store.dead_letters() == []
    quiet, writes = run()
    assert writes == Counter(), quiet.output
