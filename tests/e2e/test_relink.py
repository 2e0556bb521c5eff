"""`leadbridge relink` against the sandbox: after the state store is wiped, every link comes
back from both sides; what the sides disagree on is reported, never guessed."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from connector.cli import main
from connector.sandbox.ids import to18
from connector.state.store import StateStore
from tests.e2e.test_backfill import cli, run, seed, writes  # noqa: F401 - the fixture too

GONE_LEAD = to18("00QKb00000000ZZ")


def relink_seed():
    data = seed(80)
    contacts = data["hubspot"]["contacts"]
    contacts += [
        # converted before the store was lost: its Lead carries the id, its ids are in HubSpot
        {
            "id": "5900",
            "properties": {
                "email": "conv@c.example",
                "lastname": "Conv",
                "lifecyclestage": "subscriber",
            },
        },
        # HubSpot stores a Lead that no longer exists
        {
            "id": "5901",
            "properties": {
                "email": "gone@c.example",
                "lastname": "Gone",
                "lifecyclestage": "subscriber",
                "salesforceleadid": GONE_LEAD,
            },
        },
        # HubSpot stores a Lead that does not carry the contact's id
        {
            "id": "5902",
            "properties": {
                "email": "nc@c.example",
                "lastname": "Nc",
                "lifecyclestage": "subscriber",
            },
        },
    ]
    sf = data["salesforce"]
    sf["Account"].append({"Id": "@conv-account", "Name": "Converted Co"})
    sf["Contact"] += [
        {
            "Id": "@conv-contact",
            "AccountId": "@conv-account",
            "LastName": "Conv",
            "Email": "conv@c.example",
        },
        # carries the id of contact 5000, which has its own Lead: claimed twice
        {
            "AccountId": "@globex",
            "LastName": "Twice",
            "Email": "twice@c.example",
            "HubSpot_Contact_Id__c": "5000",
        },
    ]
    sf["Lead"] += [
        {
            "Id": "@converted",
            "LastName": "Conv",
            "Company": "Converted Co",
            "Email": "conv@c.example",
            "HubSpot_Contact_Id__c": "5900",
            "IsConverted": True,
            "Status": "Closed - Converted",
            "ConvertedContactId": "@conv-contact",
            "ConvertedAccountId": "@conv-account",
        },
        {"Id": "@unclaimed", "LastName": "Nc", "Company": "Nc", "Email": "nc@c.example"},
    ]
    return data


def _by(server, sobject, last_name):
    return next(
        r["Id"] for r in server.sandbox.org.records[sobject].values() if r["LastName"] == last_name
    )


def _links(tmp_path):
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        return {
            link.hubspot_id: (link.object, link.salesforce_id, link.contact_id)
            for link in store.linked_ids(limit=100_000)
        }


def test_relink_after_a_wiped_store_restores_every_link(sandbox, cli, tmp_path):  # noqa: F811
    """Backfilled, then the store deleted: relink brings back each Lead's link, the existing
    customer's Contact and a converted Lead's Contact; the conflicts are listed (CSV too) and
    left unlinked; nothing is written to either side."""
    server = sandbox(relink_seed())
    converted, conv_contact = _by(server, "Lead", "Conv"), _by(server, "Contact", "Conv")
    stored = server.sandbox.portal.stores["contacts"]
    stored.get("5900").props.update(salesforceleadid=converted, salesforcecontactid=conv_contact)
    stored.get("5902").props["salesforceleadid"] = _by(server, "Lead", "Nc")
    cli(server)
    run()
    before = _links(tmp_path)
    assert len(before) > 60
    (tmp_path / "state.db").unlink()

    mark = server.sandbox.journal.last_seq()
    result = CliRunner().invoke(
        main, ["relink", "--csv", str(tmp_path / "conflicts.csv")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert writes(server, since=mark) == []

    after = _links(tmp_path)
    expected = {k: v for k, v in before.items() if k != "5000"}  # 5000: claimed twice
    expected["5900"] = ("Contact", conv_contact, conv_contact)
    assert after == expected
    rows = {r["hubspot_id"]: r for r in csv.DictReader((tmp_path / "conflicts.csv").open())}
    assert rows["5000"]["kind"] == "claimed twice"
    assert rows["5901"]["kind"] == "gone" and GONE_LEAD in rows["5901"]["detail"]
    assert rows["5902"]["kind"] == "not claimed"
    assert set(rows) == {"5000", "5901", "5902"}
    assert "conflicts: 3" in result.output
    assert "5000: claimed twice" in result.output

    again = CliRunner().invoke(main, ["relink"], catch_exceptions=False)
    assert "0 links restored" in again.output
    assert "conflicts: 3" in again.output
    assert _links(tmp_path) == expected
