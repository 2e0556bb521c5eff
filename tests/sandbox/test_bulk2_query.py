"""Bulk API 2.0 query jobs in the sandbox: the REST path's SOQL engine, result sets paged with
Sforce-Locator and maxRecords, queryAll, the job lifecycle."""

from __future__ import annotations

from tests.sandbox.bulk2_support import BulkApi, V, read_csv


def _accounts(n: int) -> dict:
    return {"salesforce": {"Account": [{"Name": f"Account {i:03d}"} for i in range(n)]}}


def test_query_job_states_and_results(sandbox):
    """A query job starts UploadComplete, goes InProgress, ends JobComplete with the rows the
    REST query gives, relationship columns flattened by their path."""
    api = BulkApi(sandbox(_accounts(3)))
    job = api.query("SELECT Id, Name, Owner.Username FROM Account ORDER BY Name")
    info = api.wait(job["id"], "query")
    assert info["numberRecordsProcessed"] == 3
    assert api.history(job["id"])["states"] == ["UploadComplete", "InProgress", "JobComplete"]
    rows = read_csv(api.query_results(job["id"]).text)
    rest = api.call("GET", f"{V}/query", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"})
    assert [r["Id"] for r in rows] == [r["Id"] for r in rest.json()["records"]]
    assert list(rows[0]) == ["Id", "Name", "Owner.Username"]
    assert rows[0]["Owner.Username"] == "integration@sandbox.local"


def test_results_page_with_locator_and_max_records(sandbox):
    """maxRecords splits the results; each Sforce-Locator fetches the next set, the same set
    every time it is used; the last set's locator is "null"."""
    api = BulkApi(sandbox(_accounts(25)))
    job = api.query("SELECT Name FROM Account ORDER BY Name")
    api.wait(job["id"], "query")
    names, locator, sets = [], None, 0
    while locator != "null":
        params = {"maxRecords": 10, **({"locator": locator} if locator else {})}
        response = api.query_results(job["id"], **params)
        assert response.status_code == 200, response.text
        rows = read_csv(response.text)
        assert int(response.headers["Sforce-NumberOfRecords"]) == len(rows)
        names += [r["Name"] for r in rows]
        if locator is None:
            second = response.headers["Sforce-Locator"]
        locator = response.headers["Sforce-Locator"]
        sets += 1
    assert sets == 3
    assert names == [f"Account {i:03d}" for i in range(25)]
    again = api.query_results(job["id"], maxRecords=10, locator=second)
    assert read_csv(again.text)[0]["Name"] == "Account 010"


def test_query_all_returns_deleted_records(sandbox):
    """queryAll also returns records in the Recycle Bin, IsDeleted true; query does not."""
    server = sandbox(_accounts(2))
    api = BulkApi(server)
    first = next(iter(server.sandbox.org.records["Account"]))
    api.call("DELETE", f"{V}/sobjects/Account/{first}")
    plain = api.query("SELECT Id, IsDeleted FROM Account")
    every = api.query("SELECT Id, IsDeleted FROM Account", operation="queryAll")
    api.wait(plain["id"], "query")
    api.wait(every["id"], "query")
    assert len(read_csv(api.query_results(plain["id"]).text)) == 1
    rows = read_csv(api.query_results(every["id"]).text)
    assert {r["Id"]: r["IsDeleted"] for r in rows}[first] == "true"


def test_results_in_the_jobs_own_dialect(sandbox):
    """Results use the delimiter and line ending the job asked for."""
    api = BulkApi(sandbox(_accounts(2)))
    job = api.query("SELECT Name FROM Account", columnDelimiter="PIPE", lineEnding="CRLF")
    api.wait(job["id"], "query")
    assert api.query_results(job["id"]).text.startswith('"Name"\r\n"Account')


def test_queries_the_org_refuses_answer_400(sandbox):
    """A query the SOQL engine refuses, or one Bulk API 2.0 does not run (COUNT(), OFFSET),
    answers 400 at creation."""
    api = BulkApi(sandbox())
    for soql in (
        "SELECT Nope FROM Account",
        "SELECT Id FROM Nope",
        "SELECT COUNT() FROM Account",
        "SELECT Id FROM Account LIMIT 5 OFFSET 2",
    ):
        response = api.call("POST", f"{V}/jobs/query", json={"operation": "query", "query": soql})
        assert response.status_code == 400, soql
        assert response.json()[0]["errorCode"] == "INVALIDJOB"
    wrong = api.call("POST", f"{V}/jobs/query", json={"operation": "insert", "query": "x"})
    assert wrong.status_code == 400


def test_bad_locator_and_max_records_answer_400(sandbox):
    """A locator the job never gave, or a maxRecords that is not positive, answers 400."""
    api = BulkApi(sandbox(_accounts(2)))
    job = api.query("SELECT Name FROM Account")
    api.wait(job["id"], "query")
    assert api.query_results(job["id"], locator="bogus!").status_code == 400
    assert api.query_results(job["id"], maxRecords=0).status_code == 400


def test_abort_delete_and_list_query_jobs(sandbox):
    """Query jobs are listed under /jobs/query (not /jobs/ingest); a finished one is deleted
    (204), an aborted one cannot be aborted again."""
    api = BulkApi(sandbox(_accounts(1)))
    api.fault(kind="stuck")
    stuck = api.query("SELECT Name FROM Account")
    api.wait(stuck["id"], "query", states=("InProgress",))
    assert api.set_state(stuck["id"], "Aborted", "query").json()["state"] == "Aborted"
    assert api.set_state(stuck["id"], "Aborted", "query").status_code == 409
    listed = api.call("GET", f"{V}/jobs/query").json()
    assert [j["id"] for j in listed["records"]] == [stuck["id"]]
    assert listed["records"][0]["jobType"] == "V2Query"
    assert api.call("GET", f"{V}/jobs/ingest").json()["records"] == []
    assert api.call("DELETE", f"{V}/jobs/query/{stuck['id']}").status_code == 204
    assert api.call("GET", f"{V}/jobs/query").json()["records"] == []


def test_query_needs_api_47(sandbox):
    """Bulk API 2.0 query exists from API version 47.0."""
    api = BulkApi(sandbox())
    response = api.call(
        "POST", "/services/data/v46.0/jobs/query", json={"operation": "query", "query": "x"}
    )
    assert response.status_code == 404


def test_query_file_storage_in_limits(sandbox):
    """Query results count against DailyBulkV2QueryFileStorageMB."""
    api = BulkApi(sandbox({"salesforce": {"Account": [{"Name": "x" * 250}] * 4500}}))
    before = api.call("GET", f"{V}/limits").json()["DailyBulkV2QueryFileStorageMB"]["Remaining"]
    job = api.query("SELECT Id, Name FROM Account")
    api.wait(job["id"], "query")
    after = api.call("GET", f"{V}/limits").json()["DailyBulkV2QueryFileStorageMB"]["Remaining"]
    assert after == before - 2
