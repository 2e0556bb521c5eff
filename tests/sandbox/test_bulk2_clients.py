"""simple-salesforce's `bulk2`, unmodified, against the sandbox: upsert, insert, update, delete,
query, and the result files it reads back."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceOperationError

from tests.conftest import sf_client
from tests.sandbox.bulk2_support import BulkApi, V

WAIT = 0.05  # simple-salesforce sleeps this long before its first poll


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _lead(n: int) -> dict[str, str]:
    return {
        "HubSpot_Contact_Id__c": f"hs-{n}",
        "LastName": f"Lead {n}",
        "Company": "Acme",
        "Email": f"lead{n}@acme.test",
    }


def test_upsert_insert_update_delete_round_trip(sandbox):
    """Each bulk2 operation completes and reports the counts the org agrees with."""
    server = sandbox()
    sf = sf_client(server)
    org = server.sandbox.org
    upserted = sf.bulk2.Lead.upsert(
        records=[_lead(n) for n in range(3)], external_id_field="HubSpot_Contact_Id__c", wait=WAIT
    )
    assert upserted[0]["numberRecordsProcessed"] == 3
    assert upserted[0]["numberRecordsFailed"] == 0
    inserted = sf.bulk2.Contact.insert(records=[{"LastName": "Solo"}], wait=WAIT)
    assert inserted[0]["numberRecordsProcessed"] == 1
    ok = _rows(sf.bulk2.Lead.get_successful_records(upserted[0]["job_id"]))
    assert {r["sf__Created"] for r in ok} == {"true"}
    ids = [r["sf__Id"] for r in ok]
    sf.bulk2.Lead.update(records=[{"Id": ids[0], "Title": "CTO"}], wait=WAIT)
    assert org.get("Lead", ids[0])["Title"] == "CTO"
    sf.bulk2.Lead.delete(records=[{"Id": ids[1]}], wait=WAIT)
    sf.bulk2.Lead.hard_delete(records=[{"Id": ids[2]}], wait=WAIT)
    assert [lead["Id"] for lead in org.records["Lead"].values()] == [ids[0]]


def test_failed_and_unprocessed_records_read_back(sandbox):
    """get_failed_records and get_all_ingest_records return the rows Salesforce refused."""
    sf = sf_client(sandbox())
    result = sf.bulk2.Lead.insert(
        records=[{"LastName": "Fine", "Company": "Acme"}, {"LastName": "NoCompany", "Company": ""}],
        wait=WAIT,
    )
    assert (result[0]["numberRecordsProcessed"], result[0]["numberRecordsFailed"]) == (2, 1)
    (failed,) = _rows(sf.bulk2.Lead.get_failed_records(result[0]["job_id"]))
    assert failed["LastName"] == "NoCompany"
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    every = sf.bulk2.Lead.get_all_ingest_records(result[0]["job_id"])
    assert len(every["successfulRecords"]) == 1
    assert len(every["failedRecords"]) == 1
    assert every["unprocessedRecords"] == []


def test_query_and_query_all_page_through_results(sandbox):
    """bulk2 query follows Sforce-Locator to the end; query_all also sees deleted rows."""
    server = sandbox({"salesforce": {"Account": [{"Name": f"A{n:02d}"} for n in range(7)]}})
    sf = sf_client(server)
    pages = list(sf.bulk2.Account.query("SELECT Name FROM Account", max_records=3, wait=WAIT))
    assert len(pages) == 3
    names = [r["Name"] for page in pages for r in _rows(page)]
    assert sorted(names) == [f"A{n:02d}" for n in range(7)]
    first = next(iter(server.sandbox.org.records["Account"]))
    sf.Account.delete(first)
    every = list(sf.bulk2.Account.query_all("SELECT Id FROM Account", wait=WAIT))
    assert first in [r["Id"] for page in every for r in _rows(page)]


def test_download_writes_result_files(sandbox, tmp_path):
    """bulk2 download streams each result set to a file."""
    sf = sf_client(sandbox({"salesforce": {"Account": [{"Name": "One"}, {"Name": "Two"}]}}))
    results = sf.bulk2.Account.download("SELECT Name FROM Account", str(tmp_path), wait=WAIT)
    assert [r["number_of_records"] for r in results] == [2]
    text = (tmp_path / results[0]["file"]).read_text(encoding="utf-8")
    assert sorted(r["Name"] for r in _rows(text)) == ["One", "Two"]


def test_a_failed_job_raises_and_leaves_unprocessed_rows(sandbox):
    """A job that fails midway makes bulk2 raise; its unprocessed rows can be read back."""
    server = sandbox()
    sf = sf_client(server)
    BulkApi(server).fault(kind="fail", after=2)
    with pytest.raises(SalesforceOperationError, match="Job failure"):
        sf.bulk2.Lead.insert(records=[_lead(n) for n in range(5)], wait=WAIT)
    (job,) = BulkApi(server).call("GET", f"{V}/jobs/ingest").json()["records"]
    assert job["state"] == "Failed"
    unprocessed = _rows(sf.bulk2.Lead.get_unprocessed_records(job["id"]))
    assert [r["LastName"] for r in unprocessed] == ["Lead 2", "Lead 3", "Lead 4"]


def test_twenty_thousand_row_upsert_then_rerun_makes_no_duplicates(sandbox):
    """20,000 Leads upserted by external id all land; the same upsert again updates them all
    and creates nothing."""
    server = sandbox()
    sf = sf_client(server)
    records = [_lead(n) for n in range(20_000)]
    first = sf.bulk2.Lead.upsert(
        records=records, external_id_field="HubSpot_Contact_Id__c", wait=WAIT
    )
    assert (first[0]["numberRecordsProcessed"], first[0]["numberRecordsFailed"]) == (20_000, 0)
    again = sf.bulk2.Lead.upsert(
        records=records, external_id_field="HubSpot_Contact_Id__c", wait=WAIT
    )
    assert (again[0]["numberRecordsProcessed"], again[0]["numberRecordsFailed"]) == (20_000, 0)
    leads = server.sandbox.org.records["Lead"].values()
    assert len(leads) == 20_000
    assert len({lead["HubSpot_Contact_Id__c"] for lead in leads}) == 20_000
    created = {
        r["sf__Created"] for r in _rows(sf.bulk2.Lead.get_successful_records(again[0]["job_id"]))
    }
    assert created == {"false"}
