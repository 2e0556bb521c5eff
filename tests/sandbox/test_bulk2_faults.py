"""Bulk API 2.0 faults on demand (`POST /_sandbox/bulk2/faults`): a job stuck InProgress, a job
failing midway with unprocessed rows, UNABLE_TO_LOCK_ROW per record, a session expiring during
a result download."""

from __future__ import annotations

import time

import requests

from tests.conftest import until
from tests.sandbox.bulk2_support import BulkApi, read_csv

ROWS = "LastName,Company,HubSpot_Contact_Id__c\n" + "".join(
    f"L{n},Acme,h-{n}\n" for n in range(1, 11)
)
UPSERT = {"object": "Lead", "operation": "upsert", "externalIdFieldName": "HubSpot_Contact_Id__c"}


def _start(api: BulkApi, data: str = ROWS) -> str:
    job = api.create(contentType="CSV", **UPSERT)
    assert api.upload(job["id"], data).status_code == 201
    assert api.set_state(job["id"], "UploadComplete").status_code == 200
    return job["id"]


def test_stuck_job_stays_in_progress_until_released(sandbox):
    """A stuck job reports InProgress with the records it got through, and goes on to
    JobComplete once the faults are cleared."""
    api = BulkApi(sandbox())
    api.fault(kind="stuck", after=4)
    job_id = _start(api)
    until(lambda: api.info(job_id)["numberRecordsProcessed"] == 4, "4 records processed")
    time.sleep(0.2)
    info = api.info(job_id)
    assert (info["state"], info["numberRecordsProcessed"]) == ("InProgress", 4)
    assert api.results(job_id, "successfulResults").status_code == 412
    api.clear_faults()
    done = api.wait(job_id)
    assert (done["state"], done["numberRecordsProcessed"]) == ("JobComplete", 10)


def test_aborting_a_stuck_job_leaves_the_rest_unprocessed(sandbox):
    """Aborting a job stuck midway keeps what it wrote and lists the rest as unprocessed."""
    server = sandbox()
    api = BulkApi(server)
    api.fault(kind="stuck", after=3)
    job_id = _start(api)
    api.wait(job_id, states=("InProgress",))
    assert api.set_state(job_id, "Aborted").json()["state"] == "Aborted"
    info = api.wait(job_id)
    assert info["state"] == "Aborted"
    written = len(server.sandbox.org.records["Lead"])
    unprocessed = api.rows(job_id, "unprocessedrecords")
    assert written + len(unprocessed) == 10
    assert len(api.rows(job_id, "successfulResults")) == written


def test_failed_midway_with_unprocessed_rows(sandbox):
    """A job failing after 6 records is Failed with an errorMessage; the 6 are in the result
    files and the org, the other 4 in unprocessedrecords, ready to be sent again."""
    server = sandbox()
    api = BulkApi(server)
    api.fault(kind="fail", after=6)
    info = api.wait(_start(api))
    assert info["state"] == "Failed"
    assert info["errorMessage"].startswith("InternalServerError : ")
    assert info["numberRecordsProcessed"] == 6
    assert len(api.rows(info["id"], "successfulResults")) == 6
    unprocessed = api.rows(info["id"], "unprocessedrecords")
    assert [r["HubSpot_Contact_Id__c"] for r in unprocessed] == [f"h-{n}" for n in range(7, 11)]
    assert len(server.sandbox.org.records["Lead"]) == 6
    again = "LastName,Company,HubSpot_Contact_Id__c\n" + "".join(
        f"{r['LastName']},{r['Company']},{r['HubSpot_Contact_Id__c']}\n" for r in unprocessed
    )
    assert api.run(again, **UPSERT)["numberRecordsFailed"] == 0
    assert len(server.sandbox.org.records["Lead"]) == 10


def test_unable_to_lock_row_per_record(sandbox):
    """Chosen rows fail UNABLE_TO_LOCK_ROW, are not written, and the job counts a retry; the
    others land."""
    server = sandbox()
    api = BulkApi(server)
    api.fault(kind="lock_rows", rows=[2, 5])
    info = api.wait(_start(api))
    assert (info["state"], info["numberRecordsFailed"], info["retries"]) == ("JobComplete", 2, 1)
    failed = api.rows(info["id"], "failedResults")
    assert [r["HubSpot_Contact_Id__c"] for r in failed] == ["h-2", "h-5"]
    assert all(
        r["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:unable to obtain exclusive") for r in failed
    )
    assert len(server.sandbox.org.records["Lead"]) == 8
    second = api.run(ROWS, **UPSERT)
    assert second["numberRecordsFailed"] == 0


def test_session_expires_during_result_download(sandbox):
    """After the first result set, the next download finds the session expired (401
    INVALID_SESSION_ID, not counted); after a new login the same locator answers the same set."""
    server = sandbox({"salesforce": {"Account": [{"Name": f"A{n}"} for n in range(5)]}})
    api = BulkApi(server)
    api.fault(kind="expire_session", after=1)
    job = api.query("SELECT Name FROM Account ORDER BY Name")
    api.wait(job["id"], "query")
    first = api.query_results(job["id"], maxRecords=2)
    assert first.status_code == 200
    locator = first.headers["Sforce-Locator"]
    used = server.sandbox.org.api_used
    expired = api.query_results(job["id"], maxRecords=2, locator=locator)
    assert expired.status_code == 401
    assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert server.sandbox.org.api_used == used
    assert api.call("GET", "/services/data/v59.0/limits").status_code == 401
    api.login()
    retried = api.query_results(job["id"], maxRecords=2, locator=locator)
    assert [r["Name"] for r in read_csv(retried.text)] == ["A2", "A3"]


def test_session_expiry_on_an_ingest_result_file(sandbox):
    """The expiry fault also fires on an ingest job's result files, once."""
    api = BulkApi(sandbox())
    api.fault(kind="expire_session")
    info = api.wait(_start(api))
    assert api.results(info["id"], "successfulResults").status_code == 401
    api.login()
    assert api.results(info["id"], "successfulResults").status_code == 200


def test_fault_for_one_job_by_id(sandbox):
    """A fault naming a job id applies to that job only."""
    api = BulkApi(sandbox())
    job = api.create(contentType="CSV", **UPSERT)
    api.fault(kind="fail", after=0, job_id=job["id"])
    other = _start(api)
    api.upload(job["id"], ROWS)
    api.set_state(job["id"], "UploadComplete")
    assert api.wait(job["id"])["state"] == "Failed"
    assert api.wait(other)["state"] == "JobComplete"


def test_bad_fault_is_refused(sandbox):
    """A fault of an unknown kind, or lock_rows without rows, answers 400."""
    server = sandbox()
    for spec in ({"kind": "explode"}, {"kind": "lock_rows"}, {"kind": "stuck", "when": 1}):
        response = requests.post(
            f"{server.url}/_sandbox/bulk2/faults",
            json=spec,
            verify=str(server.ca_file),
            timeout=30,
        )
        assert response.status_code == 400, spec
