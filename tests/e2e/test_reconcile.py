"""`leadbridge reconcile [--repair]` against the sandbox: drift planted on both sides is found
(missing, duplicated, differing mapped fields, orphaned ids) as a table and CSV; `--repair`
queues the fixes as work, which the next pass carries out."""

from __future__ import annotations

import csv

from click.testing import CliRunner
from hubspot.crm.contacts import SimplePublicObjectInput

from connector.cli import main
from tests.conftest import hubspot_client, sf_client
from tests.e2e.conftest import sync_once
from tests.e2e.test_backfill import cli, run, seed  # noqa: F401 - the fixture too


def reconcile(*args: str):
    result = CliRunner().invoke(main, ["reconcile", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def drift(path) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["kind"], r["hubspot_id"]): r for r in csv.DictReader(path.open(encoding="utf-8"))}


def test_reconcile_finds_drift_planted_on_both_sides_and_repair_fixes_what_a_pass_can(
    sandbox,
    cli,  # noqa: F811
    tmp_path,
):
    """Salesforce: a Lead field changed, a Lead deleted, a Lead with a contact id nobody links,
    a second Lead with a contact's email. HubSpot: a contact deleted, a contact changed, a
    contact holding another Lead's id. Each is reported; --repair queues the rewrites and the
    ids owed, a pass makes them, and only what needs a person is left."""
    server = sandbox(seed(60))
    cli(server)
    run()
    sf, hs = sf_client(server), hubspot_client(server).crm.contacts.basic_api
    lead_of = {
        lead["HubSpot_Contact_Id__c"]: lead["Id"]
        for lead in server.sandbox.org.records["Lead"].values()
        if lead.get("HubSpot_Contact_Id__c")
    }
    sf.Lead.update(lead_of["5000"], {"LastName": "Changed by hand"})
    sf.Lead.delete(lead_of["5005"])
    sf.Lead.create({"LastName": "Orphan", "Company": "X", "HubSpot_Contact_Id__c": "9999"})
    sf.Lead.create({"LastName": "Twin", "Company": "X", "Email": "person6@backfill6.example"})
    hs.archive("5007")
    hs.update(
        "5008", simple_public_object_input=SimplePublicObjectInput(properties={"firstname": "Eve"})
    )
    hs.update(
        "5009",
        simple_public_object_input=SimplePublicObjectInput(
            properties={"salesforceleadid": lead_of["5000"]}
        ),
    )

    found = reconcile("--csv", str(tmp_path / "drift.csv"))
    rows = drift(tmp_path / "drift.csv")
    assert set(rows) == {
        ("differs", "5000"),
        ("missing", "5005"),
        ("orphaned", "9999"),
        ("duplicated", "5006"),
        ("orphaned", "5007"),
        ("differs", "5008"),
        ("orphaned", "5009"),
    }
    assert rows[("differs", "5000")]["fields"] == "LastName"
    assert rows[("differs", "5008")]["fields"] == "FirstName"
    assert rows[("differs", "5000")]["repair"] == "resync"
    assert rows[("orphaned", "5009")]["repair"] == "writeback"
    assert rows[("duplicated", "5006")]["repair"] == ""
    assert "drift 7" in found.output
    assert "differs" in found.output and "a person" in found.output  # the table

    repaired = reconcile("--repair")
    assert "queued as work: resync 3, writeback 1" in repaired.output
    sync_once()

    leads = {
        lead["HubSpot_Contact_Id__c"]: lead
        for lead in server.sandbox.org.records["Lead"].values()
        if lead.get("HubSpot_Contact_Id__c")
    }
    assert leads["5000"]["LastName"] == "Last0"
    assert leads["5005"]["Id"] != lead_of["5005"]  # upserted anew by its external id
    assert leads["5008"]["FirstName"] == "Eve"
    contact = server.sandbox.portal.stores["contacts"].get("5009").props
    assert contact["salesforceleadid"] == lead_of["5009"]

    again = reconcile("--csv", str(tmp_path / "after.csv"))
    assert set(drift(tmp_path / "after.csv")) == {
        ("orphaned", "9999"),
        ("duplicated", "5006"),
        ("orphaned", "5007"),
    }
    assert "drift 3" in again.output
