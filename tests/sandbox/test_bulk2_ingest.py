"""Bulk API 2.0 ingest jobs in the sandbox: the documented lifecycle, the CSV rules, and records
written with the same validation and upsert semantics as the REST API's sObject Collections."""

from __future__ import annotations

import pytest
import requests

from connector.sandbox.salesforce import bulk2
from tests.sandbox.bulk2_support import BulkApi, V, read_csv

LEAD_UPSERT = {
    "object": "Lead",
    "operation": "upsert",
    "externalIdFieldName": "HubSpot_Contact_Id__c",
}


def _leads(server) -> list[dict]:
    return list(server.sandbox.org.records["Lead"].values())


# -- lifecycle --------------------------------------------------------------------------------
def test_job_goes_open_uploadcomplete_inprogress_jobcomplete(sandbox):
    """A job passes through every documented state in order, InProgress included."""
    api = BulkApi(sandbox())
    info = api.run("LastName,Company\nA,Acme\n", object="Lead", operation="insert")
    assert info["state"] == "JobComplete"
    assert api.history(info["id"])["states"] == [
        "Open",
        "UploadComplete",
        "InProgress",
        "JobComplete",
    ]


def test_upload_only_while_open_and_only_once(sandbox):
    """Data is accepted (201, no body) while the job is Open, once; later uploads answer 409."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    first = api.upload(job["id"], "LastName,Company\nA,Acme\n")
    assert (first.status_code, first.content) == (201, b"")
    again = api.upload(job["id"], "LastName,Company\nB,Acme\n")
    assert again.status_code == 409
    assert again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert api.set_state(job["id"], "UploadComplete").status_code == 200
    late = api.upload(job["id"], "LastName,Company\nC,Acme\n")
    assert late.status_code == 409
    api.wait(job["id"])
    assert [lead["LastName"] for lead in _leads(api.server)] == ["A"]


def test_upload_must_be_csv(sandbox):
    """An upload that is not text/csv is refused (415) and the job stays empty."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    response = api.call(
        "PUT",
        f"{V}/jobs/ingest/{job['id']}/batches",
        data="LastName\nA\n",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 415
    assert api.upload(job["id"], "LastName,Company\nA,Acme\n").status_code == 201


def test_upload_over_the_size_bound_is_refused(sandbox, monkeypatch):
    """An upload bigger than the bound (150 MB once base64 encoded) answers 400 and is not
    kept."""
    monkeypatch.setattr(bulk2, "MAX_UPLOAD_BASE64_BYTES", 400)
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    data = "LastName,Company\n" + "".join(f"L{n},Acme\n" for n in range(40))
    response = api.upload(job["id"], data)
    assert response.status_code == 400
    assert "Exceeded max size limit" in response.json()[0]["message"]
    assert api.upload(job["id"], "LastName,Company\nA,Acme\n").status_code == 201


def test_abort_an_open_job_and_closing_it_again_is_refused(sandbox):
    """An aborted job writes nothing, and cannot be closed or aborted afterwards."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    api.upload(job["id"], "LastName,Company\nA,Acme\n")
    aborted = api.set_state(job["id"], "Aborted")
    assert (aborted.status_code, aborted.json()["state"]) == (200, "Aborted")
    assert api.set_state(job["id"], "UploadComplete").status_code == 409
    assert api.set_state(job["id"], "Aborted").status_code == 409
    assert _leads(api.server) == []
    unprocessed = api.rows(job["id"], "unprocessedrecords")
    assert unprocessed == [{"LastName": "A", "Company": "Acme"}]


def test_delete_job_rules(sandbox):
    """An Open job cannot be deleted (409); a finished one can (204), then it is gone (404)."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    assert api.call("DELETE", f"{V}/jobs/ingest/{job['id']}").status_code == 409
    api.upload(job["id"], "LastName,Company\nA,Acme\n")
    api.set_state(job["id"], "UploadComplete")
    api.wait(job["id"])
    deleted = api.call("DELETE", f"{V}/jobs/ingest/{job['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api.call("GET", f"{V}/jobs/ingest/{job['id']}").status_code == 404


def test_results_of_an_unfinished_job_answer_412(sandbox):
    """Result files exist once the job is done; before that the answer is 412."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    response = api.results(job["id"], "successfulResults")
    assert response.status_code == 412
    assert response.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"


def test_wrong_method_answers_405(sandbox):
    """A known Bulk resource asked with a method it does not serve answers 405."""
    api = BulkApi(sandbox())
    job = api.create(object="Lead", operation="insert")
    response = api.call("POST", f"{V}/jobs/ingest/{job['id']}/batches")
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_job_requests_that_make_no_sense_are_refused(sandbox):
    """Unknown objects, operations, dialects and an upsert without a usable external id field
    answer 400 at creation."""
    api = BulkApi(sandbox())
    cases = [
        ({"object": "Nope__c", "operation": "insert"}, "INVALIDENTITY"),
        ({"object": "Lead", "operation": "merge"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "insert", "columnDelimiter": "COLON"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "insert", "lineEnding": "CR"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "insert", "contentType": "JSON"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "upsert"}, "INVALIDJOB"),
        ({"object": "Lead", "operation": "upsert", "externalIdFieldName": "Email"}, "INVALIDJOB"),
    ]
    for body, code in cases:
        response = api.call("POST", f"{V}/jobs/ingest", json=body)
        assert (response.status_code, response.json()[0]["errorCode"]) == (400, code), body


def test_bulk_needs_api_41(sandbox):
    """Bulk API 2.0 ingest exists from API version 41.0; older versions answer 404."""
    api = BulkApi(sandbox())
    response = api.call("POST", "/services/data/v40.0/jobs/ingest", json={"object": "Lead"})
    assert response.status_code == 404


def test_multipart_create_uploads_and_closes(sandbox):
    """A multipart request (parts job and content) creates the job with its data,
    UploadComplete, as the documented multipart walkthrough does."""
    api = BulkApi(sandbox())
    boundary = "BOUNDARY"
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n"
        'Content-Disposition: form-data; name="job"\r\n\r\n'
        '{"object":"Lead","contentType":"CSV","operation":"insert","lineEnding":"LF"}\r\n'
        f"--{boundary}\r\nContent-Type: text/csv\r\n"
        'Content-Disposition: form-data; name="content"; filename="content"\r\n\r\n'
        "LastName,Company\nNomical,Astro\n\r\n"
        f"--{boundary}--\r\n"
    )
    response = api.call(
        "POST",
        f"{V}/jobs/ingest",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "UploadComplete"
    info = api.wait(response.json()["id"])
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 1)


def test_every_call_counts_against_the_daily_budget(sandbox):
    """Each Bulk HTTP call counts one API call (Sforce-Limit-Info, /limits), as REST calls do."""
    server = sandbox()
    api = BulkApi(server)
    before = server.sandbox.org.api_used
    created = api.call("POST", f"{V}/jobs/ingest", json={"object": "Lead", "operation": "insert"})
    assert created.headers["Sforce-Limit-Info"] == f"api-usage={before + 1}/100000"
    api.upload(created.json()["id"], "LastName,Company\nA,Acme\n")
    api.set_state(created.json()["id"], "UploadComplete")
    assert server.sandbox.org.api_used == before + 3
    journal = server.sandbox.journal.entries(api="salesforce")
    assert [e.method for e in journal[-3:]] == ["POST", "PUT", "PATCH"]


def test_calls_past_the_daily_limit_are_refused(sandbox):
    """With the daily budget spent, Bulk calls answer 403 REQUEST_LIMIT_EXCEEDED."""
    server = sandbox()
    api = BulkApi(server)
    server.sandbox.org.api_used = server.sandbox.org.daily_api_limit
    response = api.call("GET", f"{V}/jobs/ingest")
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_bulk_limits_appear_in_limits(sandbox):
    """Ingest jobs use DailyBulkApiBatches (one per 10,000 records) and query jobs
    DailyBulkV2QueryJobs, as /limits reports."""
    api = BulkApi(sandbox())

    def remaining(name: str) -> int:
        return api.call("GET", f"{V}/limits").json()[name]["Remaining"]

    batches, queries = remaining("DailyBulkApiBatches"), remaining("DailyBulkV2QueryJobs")
    api.run("LastName,Company\nA,Acme\n", object="Lead", operation="insert")
    job = api.query("SELECT Id FROM Lead")
    api.wait(job["id"], "query")
    assert remaining("DailyBulkApiBatches") == batches - 1
    assert remaining("DailyBulkV2QueryJobs") == queries - 1


# -- CSV rules --------------------------------------------------------------------------------
def test_declared_line_ending_must_match_the_data(sandbox):
    """CRLF data in an LF job fails the job with Salesforce's ClientInputError; nothing is
    written."""
    api = BulkApi(sandbox())
    info = api.run("LastName,Company\r\nA,Acme\r\n", object="Lead", operation="insert")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )
    assert _leads(api.server) == []
    crlf = api.run(
        "LastName,Company\nA,Acme\n", object="Lead", operation="insert", lineEnding="CRLF"
    )
    assert "Current LineEnding setting is CRLF" in crlf["errorMessage"]


def test_declared_delimiter_must_match_the_data(sandbox):
    """Semicolon data in a COMMA job reads as one unknown column: the job fails naming it."""
    api = BulkApi(sandbox())
    info = api.run("LastName;Company\nA;Acme\n", object="Lead", operation="insert")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : LastName;Company"


def test_other_dialects_round_trip_in_their_own_dialect(sandbox):
    """A SEMICOLON/CRLF job reads quoted values with delimiters and line breaks, and its
    result files come back in the same delimiter and line ending."""
    api = BulkApi(sandbox())
    data = 'LastName;Company;Description\r\nDury;"Acme; Ltd";"Fuzzy\r\nlogic"\r\nJones;Acme;\r\n'
    info = api.run(
        data, object="Lead", operation="insert", columnDelimiter="SEMICOLON", lineEnding="CRLF"
    )
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0), info
    text = api.results(info["id"], "successfulResults").text
    assert text.startswith('"sf__Id";"sf__Created";"LastName";"Company";"Description"\r\n')
    rows = read_csv(text, ";")
    assert rows[0]["Company"] == "Acme; Ltd"
    lead = api.server.sandbox.org.get("Lead", rows[0]["sf__Id"])
    assert (lead["Company"], lead["Description"]) == ("Acme; Ltd", "Fuzzy\r\nlogic")


def test_unknown_column_fails_the_job(sandbox):
    """A header naming no field fails the job as Salesforce does: InvalidBatch, no record."""
    api = BulkApi(sandbox())
    info = api.run("LastName,Company,Emial\nA,Acme,a@x.com\n", object="Lead", operation="insert")
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Emial"
    assert info["numberRecordsProcessed"] == 0


def test_data_that_is_not_utf8_fails_the_job(sandbox):
    """Job data must be UTF-8."""
    api = BulkApi(sandbox())
    info = api.run(
        "LastName,Company\nM\xfcller,Acme\n".encode("latin-1"), object="Lead", operation="insert"
    )
    assert info["state"] == "Failed"
    assert "UTF-8" in info["errorMessage"]


def test_empty_cell_leaves_a_field_and_na_sets_null(sandbox):
    """On update an empty cell leaves the field as it is and #N/A clears it."""
    server = sandbox(
        {
            "salesforce": {
                "Lead": [
                    {
                        "LastName": "Keep",
                        "Company": "Acme",
                        "Title": "CTO",
                        "Phone": "+1 555",
                        "HubSpot_Contact_Id__c": "h-1",
                    }
                ]
            }
        }
    )
    api = BulkApi(server)
    info = api.run("HubSpot_Contact_Id__c,Title,Phone\nh-1,,#N/A\n", **LEAD_UPSERT)
    assert info["numberRecordsFailed"] == 0
    (lead,) = _leads(server)
    assert (lead["Title"], lead["Phone"]) == ("CTO", None)


def test_relationship_column_by_indexed_field(sandbox):
    """`Owner.Username` sets OwnerId to the user with that username; an unknown one fails the
    row with Salesforce's foreign-key message."""
    server = sandbox(
        {
            "salesforce": {
                "User": [
                    {
                        "Id": "@rep",
                        "Username": "rep@acme.test",
                        "LastName": "Rep",
                        "Email": "rep@acme.test",
                    }
                ]
            }
        }
    )
    api = BulkApi(server)
    data = "LastName,Company,Owner.Username\nA,Acme,rep@acme.test\nB,Acme,nobody@acme.test\n"
    info = api.run(data, object="Lead", operation="insert")
    assert info["numberRecordsFailed"] == 1
    (ok,) = api.rows(info["id"], "successfulResults")
    rep = server.sandbox.org.user_by_username("rep@acme.test")["Id"]
    assert server.sandbox.org.get("Lead", ok["sf__Id"])["OwnerId"] == rep
    (failed,) = api.rows(info["id"], "failedResults")
    assert failed["sf__Error"] == (
        "INVALID_FIELD:Foreign key external ID: nobody@acme.test not found for field Username "
        "in entity User:--"
    )


def test_relationship_column_must_name_an_indexed_field(sandbox):
    """A relationship column whose field does not identify a record fails the job."""
    api = BulkApi(sandbox())
    info = api.run("LastName,Company,Owner.Title\nA,Acme,Boss\n", object="Lead", operation="insert")
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Owner.Title"


def test_value_that_does_not_convert_fails_its_row(sandbox):
    """A value that is not of its field's type fails the row, naming column and type."""
    api = BulkApi(sandbox())
    data = "LastName,Company,NumberOfEmployees\nA,Acme,many\nB,Acme,12\n"
    info = api.run(data, object="Lead", operation="insert")
    (failed,) = api.rows(info["id"], "failedResults")
    assert failed["sf__Error"] == (
        "INVALID_FIELD:Failed to deserialize field at col 3. Due to, 'many' is not a valid value "
        "for the type xsd:int:NumberOfEmployees --"
    )
    assert info["numberRecordsProcessed"] == 2


# -- same records as the REST path ------------------------------------------------------------
BAD_LEADS = [
    {"LastName": "NoCompany"},
    {"LastName": "BadMail", "Company": "Acme", "Email": "not-an-email"},
    {"LastName": "X" * 81, "Company": "Acme"},
    {"LastName": "Status", "Company": "Acme", "Status": "Nonsense"},
    {"LastName": "Fine", "Company": "Acme", "Email": "fine@acme.test"},
]


def test_bulk_rows_fail_exactly_as_collections_records_do(sandbox):
    """The same records sent through sObject Collections and through a Bulk job succeed and fail
    alike, with the same error codes and messages (one implementation)."""
    server = sandbox()
    api = BulkApi(server)
    collections = api.call(
        "POST",
        f"{V}/composite/sobjects",
        json={"records": [{"attributes": {"type": "Lead"}, **r} for r in BAD_LEADS]},
    ).json()
    server.sandbox.reset({})
    api.login()
    columns = ["LastName", "Company", "Email", "Status"]
    data = "\n".join(
        [",".join(columns), *(",".join(r.get(c, "") for c in columns) for r in BAD_LEADS)]
    )
    info = api.run(data + "\n", object="Lead", operation="insert")
    failed = {row["LastName"]: row["sf__Error"] for row in api.rows(info["id"], "failedResults")}
    for record, result in zip(BAD_LEADS, collections, strict=True):
        if result["success"]:
            assert record["LastName"] not in failed
            continue
        error = result["errors"][0]
        fields = ",".join(error["fields"])
        tail = f"{fields} --" if fields else "--"
        assert failed[record["LastName"]] == f"{error['statusCode']}:{error['message']}:{tail}"


def test_upsert_matches_by_external_id_and_reports_created(sandbox):
    """Upsert updates the record holding the external id (sf__Created false) and creates the
    others (true); a value twice in one job fails both rows."""
    server = sandbox(
        {
            "salesforce": {
                "Lead": [{"LastName": "Old", "Company": "Acme", "HubSpot_Contact_Id__c": "h-1"}]
            }
        }
    )
    api = BulkApi(server)
    data = (
        "HubSpot_Contact_Id__c,LastName,Company\n"
        "H-1,New,Acme\nh-2,Two,Acme\nh-3,Three,Acme\nh-3,Again,Acme\n,None,Acme\n"
    )
    info = api.run(data, **LEAD_UPSERT)
    ok = {
        r["HubSpot_Contact_Id__c"]: r["sf__Created"]
        for r in api.rows(info["id"], "successfulResults")
    }
    assert ok == {"H-1": "false", "h-2": "true"}
    failed = [r["sf__Error"].split(":")[0] for r in api.rows(info["id"], "failedResults")]
    assert failed == ["DUPLICATE_VALUE", "DUPLICATE_VALUE", "MISSING_ARGUMENT"]
    names = sorted(lead["LastName"] for lead in _leads(server))
    assert names == ["New", "Two"]


def test_update_and_delete_and_hard_delete(sandbox):
    """Update by Id, delete to the Recycle Bin (queryAll still sees it), hardDelete for good."""
    server = sandbox(
        {
            "salesforce": {
                "Lead": [
                    {"Id": "00QKb0000000900", "LastName": "A", "Company": "Acme"},
                    {"Id": "00QKb0000000901", "LastName": "B", "Company": "Acme"},
                ]
            }
        }
    )
    api = BulkApi(server)
    org = server.sandbox.org
    a, b = (r["Id"] for r in _leads(server))
    updated = api.run(
        f"Id,Title\n{a},CEO\n00QKb0000000999AAA,CFO\n", object="Lead", operation="update"
    )
    assert (updated["numberRecordsProcessed"], updated["numberRecordsFailed"]) == (2, 1)
    assert org.get("Lead", a)["Title"] == "CEO"
    (failed,) = api.rows(updated["id"], "failedResults")
    assert failed["sf__Id"] == "00QKb0000000999AAA"
    api.run(f"Id\n{a}\n", object="Lead", operation="delete")
    api.run(f"Id\n{b}\n", object="Lead", operation="hardDelete")
    assert org.get("Lead", a, deleted=True)["IsDeleted"] is True
    assert org.get("Lead", b, deleted=True) is None
    wrong = api.run(f"Id,LastName\n{a},A\n", object="Lead", operation="delete")
    assert wrong["errorMessage"] == "InvalidBatch : The 'delete' batch must contain only 'Id'"


def test_assignment_rule_runs_only_when_named(sandbox):
    """Leads created by a job go to the active assignment rule's owner only when the job names
    an assignmentRuleId; otherwise the integration user owns them."""
    server = sandbox(
        {
            "salesforce": {
                "settings": {"leadAssignmentOwner": "@queue"},
                "Group": [{"Id": "@queue", "Name": "Inbound", "Type": "Queue"}],
            }
        }
    )
    api = BulkApi(server)
    plain = api.run("LastName,Company\nA,Acme\n", object="Lead", operation="insert")
    ruled = api.run(
        "LastName,Company\nB,Acme\n",
        object="Lead",
        operation="insert",
        assignmentRuleId="01QKb0000000001",
    )
    assert api.info(ruled["id"])["assignmentRuleId"] == "01QKb0000000001"
    owner = {lead["LastName"]: lead["OwnerId"] for lead in _leads(server)}
    assert owner["A"] == server.sandbox.org.integration_user_id()
    assert owner["B"] == server.sandbox.org.assignment_owner_id
    assert plain["state"] == "JobComplete"


def test_records_name_the_user_who_made_the_job(sandbox):
    """Records a job writes carry the job creator as CreatedById, as REST writes do."""
    server = sandbox(
        {
            "salesforce": {
                "User": [{"Username": "rep@acme.test", "LastName": "Rep", "Email": "rep@acme.test"}]
            }
        }
    )
    api = BulkApi(server, "rep@acme.test")
    info = api.run("LastName,Company\nA,Acme\n", object="Lead", operation="insert")
    rep = server.sandbox.org.user_by_username("rep@acme.test")["Id"]
    assert info["createdById"] == rep
    assert _leads(server)[0]["CreatedById"] == rep


@pytest.mark.parametrize(
    "path", ["successfulResults", "successfulResults/", "failedResults/", "unprocessedrecords/"]
)
def test_result_paths_with_or_without_trailing_slash(sandbox, path):
    """The documented result URLs end with a slash; both forms answer."""
    api = BulkApi(sandbox())
    info = api.run("LastName,Company\nA,Acme\n", object="Lead", operation="insert")
    response = requests.get(
        f"{api.server.url}{V}/jobs/ingest/{info['id']}/{path}",
        headers={"Authorization": f"Bearer {api.token}"},
        verify=str(api.server.ca_file),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_polymorphic_relationship_column_names_its_type(sandbox):
    """`Group:Owner.Name` (ObjectType:RelationshipName.IndexedFieldName) gives a Lead to the
    queue of that name; the resource directory names `jobs`."""
    server = sandbox({"salesforce": {"Group": [{"Name": "Inbound", "Type": "Queue"}]}})
    api = BulkApi(server)
    info = api.run(
        "LastName,Company,Group:Owner.Name\nA,Acme,Inbound\n", object="Lead", operation="insert"
    )
    assert info["numberRecordsFailed"] == 0, api.rows(info["id"], "failedResults")
    (queue,) = server.sandbox.org.records["Group"].values()
    (lead,) = _leads(server)
    assert lead["OwnerId"] == queue["Id"]
    assert api.call("GET", f"{V}/").json()["jobs"] == f"{V}/jobs"
