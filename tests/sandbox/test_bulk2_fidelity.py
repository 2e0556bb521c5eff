"""The sandbox's Bulk API 2.0 answers have the shapes of the documented examples in Salesforce's
Bulk API 2.0 and Bulk API Developer Guide (fixtures under `fixtures/salesforce/bulk2_*.json`):
same status, same keys at every level, same value types; result files in the documented CSV
form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.sandbox.bulk2_support import BulkApi, V, read_csv
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
LEADS = "LastName,Company,HubSpot_Contact_Id__c\nOne,Acme,h-1\nTwo,Acme,h-2\nThree,,h-3\n"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"bulk2_{name}.json").read_text(encoding="utf-8"))


def test_create_ingest_job_matches_documented_example(sandbox):
    """Creating an upsert job answers the documented job: id 750..., Open, a contentUrl."""
    api = BulkApi(sandbox())
    fixture = _fixture("create_ingest_job")
    request = fixture["request"]
    response = api.call(request["method"], request["path"], json=request["body"])
    assert response.status_code == fixture["status"], response.text
    body = response.json()
    assert shape_diff(fixture["body"], body) == []
    assert body["id"].startswith("750") and len(body["id"]) == 18
    assert body["state"] == "Open"
    assert body["contentUrl"] == f"services/data/v59.0/jobs/ingest/{body['id']}/batches"


def test_ingest_job_info_matches_documented_properties(sandbox):
    """A completed upsert job reports every documented property and counter, and no
    contentUrl once it is no longer Open."""
    api = BulkApi(sandbox())
    fixture = _fixture("ingest_job_info")
    info = api.run(
        LEADS, object="Lead", operation="upsert", externalIdFieldName="HubSpot_Contact_Id__c"
    )
    assert shape_diff(fixture["body"], info) == []
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        1,
    )


def test_get_all_jobs_matches_documented_example(sandbox):
    """The list of ingest jobs has the documented done/records/nextRecordsUrl shape."""
    api = BulkApi(sandbox())
    fixture = _fixture("get_all_jobs")
    api.run(LEADS, object="Lead", operation="upsert", externalIdFieldName="HubSpot_Contact_Id__c")
    response = api.call("GET", fixture["request"]["path"])
    assert response.status_code == fixture["status"], response.text
    assert shape_diff(fixture["body"], response.json(), nullable=False) == []


def test_create_query_job_matches_documented_example(sandbox):
    """Creating a query job answers the documented job, UploadComplete."""
    api = BulkApi(sandbox())
    fixture = _fixture("create_query_job")
    request = fixture["request"]
    response = api.call(request["method"], request["path"], json=request["body"])
    assert response.status_code == fixture["status"], response.text
    assert shape_diff(fixture["body"], response.json()) == []
    assert response.json()["state"] == "UploadComplete"
    assert response.json()["object"] == "Account"


def test_query_job_info_matches_documented_example(sandbox):
    """A completed query job answers exactly the documented example's keys and types."""
    api = BulkApi(sandbox())
    fixture = _fixture("query_job_info")
    job = api.query("SELECT Id, Name FROM Account")
    info = api.wait(job["id"], "query")
    assert shape_diff(fixture["body"], info, nullable=False) == []
    assert info["jobType"] == "V2Query"


def test_query_results_match_documented_example(sandbox):
    """Query results are CSV like the documented body (header and values quoted), with the
    documented Sforce-Locator and Sforce-NumberOfRecords headers ("null" on the last set)."""
    server = sandbox(
        {"salesforce": {"Account": [{"Name": "Jane Dunn"}, {"Name": "George Wright"}]}}
    )
    api = BulkApi(server)
    fixture = _fixture("query_results")
    job = api.query("SELECT Id, Name FROM Account")
    api.wait(job["id"], "query")
    response = api.query_results(job["id"])
    assert response.status_code == fixture["status"]
    assert response.headers["Content-Type"].startswith("text/csv")
    documented = fixture["csv"].splitlines()
    actual = response.text.splitlines()
    assert actual[0] == documented[0]
    assert all(line.startswith('"') and line.endswith('"') for line in actual)
    assert [r["Name"] for r in read_csv(response.text)] == ["Jane Dunn", "George Wright"]
    assert response.headers["Sforce-Locator"] == "null"
    assert response.headers["Sforce-NumberOfRecords"] == "2"
    first = api.query_results(job["id"], maxRecords=1)
    assert first.headers["Sforce-Locator"] not in ("", "null")
    assert first.headers["Sforce-Locator"].isalnum()


def test_query_results_of_an_unfinished_job_match_documented_error(sandbox):
    """Results of a job still in progress answer the documented 412 JOB_NOT_COMPLETE body."""
    api = BulkApi(sandbox())
    fixture = _fixture("query_results")["not_complete"]
    api.fault(kind="stuck")
    job = api.query("SELECT Id FROM Account")
    api.wait(job["id"], "query", states=("InProgress",))
    response = api.query_results(job["id"])
    api.clear_faults()
    assert response.status_code == fixture["status"]
    assert response.json() == fixture["body"]


def test_ingest_result_files_match_documented_columns(sandbox):
    """Successful rows lead with sf__Id, sf__Created; failed rows with sf__Id, sf__Error in
    the documented `CODE:message:fields --` form; then the uploaded columns, as uploaded."""
    api = BulkApi(sandbox())
    fixture = _fixture("ingest_results")
    data = "LastName,Company\nOne,Acme\n,Acme\n"
    info = api.run(data, object="Lead", operation="insert")
    ok = api.results(info["id"], "successfulResults")
    failed = api.results(info["id"], "failedResults")
    assert ok.text.splitlines()[0] == '"sf__Id","sf__Created","LastName","Company"'
    assert failed.text.splitlines()[0] == '"sf__Id","sf__Error","LastName","Company"'
    assert read_csv(ok.text)[0]["sf__Created"] == "true"
    documented = fixture["failed_example_row"]
    row = read_csv(failed.text)[0]
    assert [row["sf__Id"], row["sf__Error"]] == documented
    assert list(read_csv(ok.text)[0])[:2] == fixture["successful_header"]


def test_unknown_job_answers_rest_not_found(sandbox):
    """A job id the org does not have answers the REST API's 404 NOT_FOUND body."""
    api = BulkApi(sandbox())
    response = api.call("GET", f"{V}/jobs/ingest/750Kb0000009999AAA")
    assert response.status_code == 404
    assert response.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
