"""The REST API's single-record resources answer the unmodified simple-salesforce client as
Salesforce does: versions, directory, limits, describe, CRUD, upsert and per-record errors."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connector.sandbox.salesforce import org as org_module
from tests.conftest import sf_client, sf_token

CLOCK_START = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)

REP = "rep@acme.test"
SEED = {
    "salesforce": {
        "Group": [{"Id": "@queue", "Name": "Inbound", "DeveloperName": "Inbound", "Type": "Queue"}],
        "User": [
            {"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP},
            {
                "Id": "@gone",
                "Username": "gone@acme.test",
                "LastName": "Gone",
                "Email": "gone@acme.test",
                "IsActive": False,
            },
        ],
    }
}


def _user_id(server, username: str) -> str:
    return server.sandbox.org.user_by_username(username)["Id"]


def _get(server, path: str, token: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{server.url}{path}", headers=headers, verify=str(server.ca_file), timeout=10, **kwargs
    )


# -- versions, directory, limits ----------------------------------------------------------------
def test_versions_list_needs_no_session_and_names_releases(sandbox):
    """`GET /services/data/` answers without a token, each version labelled with its release."""
    server = sandbox()
    response = _get(server, "/services/data/")
    assert response.status_code == 200
    by_version = {v["version"]: v for v in response.json()}
    assert by_version["59.0"] == {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    }
    assert by_version["60.0"]["label"] == "Spring '24"
    assert by_version["61.0"]["label"] == "Summer '24"
    assert by_version["62.0"]["label"] == "Winter '25"
    assert by_version["31.0"]["label"] == "Summer '14"
    assert server.sandbox.org.api_used == 0


def test_resource_directory_lists_the_served_resources(sandbox):
    """`GET /services/data/v59.0/` names sobjects, query, limits and composite by URL."""
    sf = sf_client(sandbox())
    directory = sf.restful("")
    assert directory["sobjects"] == "/services/data/v59.0/sobjects"
    assert directory["query"] == "/services/data/v59.0/query"
    assert directory["limits"] == "/services/data/v59.0/limits"
    assert directory["composite"] == "/services/data/v59.0/composite"


def test_unknown_api_version_answers_not_found(sandbox):
    """A version Salesforce does not serve answers 404 NOT_FOUND (and still carries limit info)."""
    server = sandbox()
    token = sf_token(server)["access_token"]
    response = _get(server, "/services/data/v99.0/limits", token)
    assert response.status_code == 404
    assert response.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_wrong_method_answers_405_and_unknown_resource_404_both_counted(sandbox):
    """PUT on an sObject answers 405 METHOD_NOT_ALLOWED, an unknown resource 404; both count."""
    server = sandbox()
    token = sf_token(server)["access_token"]
    before = server.sandbox.org.api_used
    wrong = requests.put(
        f"{server.url}/services/data/v59.0/sobjects/Lead",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert wrong.status_code == 405
    assert wrong.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    missing = _get(server, "/services/data/v59.0/no/such/resource", token)
    assert missing.status_code == 404
    assert missing.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    assert server.sandbox.org.api_used == before + 2
    assert _get(server, "/services/data/v59.0/no/such/resource").status_code == 401


def test_limits_report_the_daily_budget_and_what_is_left(sandbox):
    """DailyApiRequests Max is the org's limit; Remaining drops by one per call."""
    server = sandbox()
    sf = sf_client(server)
    first = sf.limits()["DailyApiRequests"]
    second = sf.limits()["DailyApiRequests"]
    assert first["Max"] == server.sandbox.org.daily_api_limit
    assert second["Remaining"] == first["Remaining"] - 1
    assert {"Max", "Remaining"} <= set(sf.limits()["DataStorageMB"])


def test_limit_info_header_counts_every_call(sandbox):
    """Each REST response carries `Sforce-Limit-Info: api-usage=USED/MAX`, counting up."""
    server = sandbox()
    sf = sf_client(server)
    lead = sf.Lead  # an SFType keeps the usage its last response reported
    used = []
    for _ in range(3):
        lead.metadata()
        used.append(lead.api_usage["api-usage"].used)
    assert used == [used[0], used[0] + 1, used[0] + 2]
    assert lead.api_usage["api-usage"].total == server.sandbox.org.daily_api_limit


def test_daily_limit_exhausted_answers_403_request_limit_exceeded(sandbox):
    """Past the daily API limit every call answers 403 REQUEST_LIMIT_EXCEEDED."""
    server = sandbox()
    server.sandbox.org.daily_api_limit = 2
    sf = sf_client(server)
    sf.limits()
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.Lead.create({"LastName": "Late", "Company": "C"})
    assert caught.value.status == 403
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert server.sandbox.org.records["Lead"] == {}


# -- describe -----------------------------------------------------------------------------------
def test_describe_lead_reports_field_metadata(sandbox):
    """Lead's describe gives lengths, required fields and the external id's flags."""
    sf = sf_client(sandbox())
    described = sf.Lead.describe()
    assert described["name"] == "Lead"
    assert described["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["LastName"]["length"] == 80
    assert fields["LastName"]["nillable"] is False
    assert fields["LastName"]["byteLength"] == 240
    assert fields["Company"]["length"] == 255
    assert fields["Email"]["type"] == "email"
    hubspot = fields["HubSpot_Contact_Id__c"]
    assert (hubspot["externalId"], hubspot["unique"], hubspot["idLookup"]) == (True, True, True)
    assert hubspot["custom"] is True
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert fields["OwnerId"]["polymorphicForeignKey"] is True
    assert fields["Id"]["soapType"] == "tns:ID"
    assert fields["IsConverted"]["createable"] is False


def test_describe_lead_status_is_restricted_to_the_orgs_statuses(sandbox):
    """Lead.Status lists the seeded LeadStatus values, the IsDefault one marked defaultValue."""
    sf = sf_client(
        sandbox(
            {
                "salesforce": {
                    "LeadStatus": [
                        {"MasterLabel": "New"},
                        {"MasterLabel": "Nurture", "IsDefault": True},
                        {"MasterLabel": "Converted", "IsConverted": True},
                    ]
                }
            }
        )
    )
    status = next(f for f in sf.Lead.describe()["fields"] if f["name"] == "Status")
    assert status["restrictedPicklist"] is True
    assert status["picklistValues"] == [
        {"active": True, "defaultValue": False, "label": "New", "validFor": None, "value": "New"},
        {
            "active": True,
            "defaultValue": True,
            "label": "Nurture",
            "validFor": None,
            "value": "Nurture",
        },
        {
            "active": True,
            "defaultValue": False,
            "label": "Converted",
            "validFor": None,
            "value": "Converted",
        },
    ]


def test_every_described_field_has_the_same_full_key_set(sandbox):
    """All fields of every object carry the same keys (no field is described partially)."""
    sf = sf_client(sandbox())
    for name in ("Lead", "Account", "Contact", "User"):
        fields = sf.restful(f"sobjects/{name}/describe")["fields"]
        keys = {frozenset(f) for f in fields}
        assert len(keys) == 1, name
        assert {"picklistValues", "soapType", "idLookup", "byteLength"} <= next(iter(keys))


def test_describe_global_and_basic_info(sandbox):
    """describeGlobal lists Lead with its key prefix; basic info wraps the same entry."""
    sf = sf_client(sandbox())
    described = sf.describe()
    assert described["encoding"] == "UTF-8"
    assert described["maxBatchSize"] == 200
    lead = next(s for s in described["sobjects"] if s["name"] == "Lead")
    assert lead["keyPrefix"] == "00Q"
    assert lead["urls"]["sobject"] == "/services/data/v59.0/sobjects/Lead"
    assert sf.Lead.metadata() == {"objectDescribe": lead, "recentItems": []}


def test_describe_unknown_sobject_answers_not_found(sandbox):
    """An sObject the org does not have answers 404 NOT_FOUND."""
    sf = sf_client(sandbox())
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Nope__c.describe()
    assert caught.value.content == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]


# -- CRUD ---------------------------------------------------------------------------------------
def test_create_get_update_delete_a_lead(sandbox):
    """A lead round-trips: 201 create, read with attributes, 204 update, 204 delete, then 404."""
    server = sandbox()
    sf = sf_client(server)
    created = sf.Lead.create({"LastName": "Lovelace", "Company": "Analytical", "Email": "a@x.io"})
    assert created == {"id": created["id"], "success": True, "errors": []}
    lead = sf.Lead.get(created["id"])
    assert lead["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{created['id']}",
    }
    assert (lead["LastName"], lead["Status"], lead["Name"]) == (
        "Lovelace",
        "Open - Not Contacted",
        "Lovelace",
    )
    assert sf.Lead.update(created["id"], {"Title": "Countess"}) == 204
    assert sf.Lead.get(created["id"])["Title"] == "Countess"
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.get(created["id"])
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"


def test_get_with_fields_returns_only_those(sandbox):
    """`?fields=A,B` limits the record to attributes and those fields, named canonically."""
    sf = sf_client(sandbox())
    lead_id = sf.Lead.create({"LastName": "L", "Company": "C", "Email": "l@x.io"})["id"]
    record = sf.Lead.get(lead_id, params={"fields": "email,Company"})
    assert list(record) == ["attributes", "Email", "Company"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.get(lead_id, params={"fields": "Emial"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize("method", ["update", "delete"])
def test_writes_to_unknown_ids_answer_not_found(sandbox, method):
    """Updating or deleting a lead that does not exist answers 404 NOT_FOUND."""
    sf = sf_client(sandbox())
    missing = "00QKb00000ZZZZZ"
    call = getattr(sf.Lead, method)
    with pytest.raises(SalesforceResourceNotFound) as caught:
        call(missing, {"Title": "x"}) if method == "update" else call(missing)
    assert caught.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_create_with_an_id_is_refused(sandbox):
    """An Id in a create body answers 400 INVALID_FIELD with the documented message."""
    sf = sf_client(sandbox())
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"id": "001D000000IqhSLIAZ", "Name": "Express Donuts and Pies"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert caught.value.content[0]["message"] == (
        "The Id field should not be specified in the sobject data."
    )


def test_body_that_is_not_json_answers_json_parser_error(sandbox):
    """A create body that does not parse answers 400 JSON_PARSER_ERROR."""
    server = sandbox()
    token = sf_token(server)["access_token"]
    response = requests.post(
        f"{server.url}/services/data/v59.0/sobjects/Lead",
        data="{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_system_fields_name_the_acting_user(sandbox, monkeypatch):
    """CreatedById/LastModifiedById follow who wrote; SystemModstamp moves on every write."""
    server = sandbox(SEED)
    # The org's clock moves a millisecond at each reading: no real time has to pass.
    ticks = itertools.count()
    monkeypatch.setattr(
        org_module,
        "now_stamp",
        lambda: org_module.format_datetime(CLOCK_START + timedelta(milliseconds=next(ticks))),
    )
    rep = sf_client(server, REP)
    lead_id = rep.Lead.create({"LastName": "L", "Company": "C"})["id"]
    created = rep.Lead.get(lead_id)
    rep_id = _user_id(server, REP)
    assert created["CreatedById"] == created["LastModifiedById"] == rep_id
    assert created["OwnerId"] == rep_id
    assert created["SystemModstamp"] == created["CreatedDate"]
    sf_client(server).Lead.update(lead_id, {"Title": "VP"})
    updated = rep.Lead.get(lead_id)
    assert updated["CreatedById"] == rep_id
    assert updated["LastModifiedById"] == server.sandbox.org.integration_user_id()
    assert updated["SystemModstamp"] > created["SystemModstamp"]
    assert updated["CreatedDate"] == created["CreatedDate"]


# -- per-record validation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "code", "fields"),
    [
        ({"Company": "C"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        ({"LastName": "x" * 81, "Company": "C"}, "STRING_TOO_LONG", ["LastName"]),
        (
            {"LastName": "L", "Company": "C", "Email": "not-an-email"},
            "INVALID_EMAIL_ADDRESS",
            ["Email"],
        ),
        (
            {"LastName": "L", "Company": "C", "Status": "Bogus"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Status"],
        ),
        (
            {"LastName": "L", "Company": "C", "HubSpot_Contact_Id__c": "taken"},
            "DUPLICATE_VALUE",
            [],
        ),
        ({"LastName": "L", "Company": "C", "OwnerId": "@gone"}, "INACTIVE_OWNER_OR_USER", []),
        ({"LastName": "L", "Company": "C", "Shoe_Size__c": 9}, "INVALID_FIELD", []),
    ],
)
def test_invalid_leads_answer_400_with_salesforces_error_code(sandbox, values, code, fields):
    """Each kind of bad lead answers 400 with its errorCode and fields; nothing is written."""
    server = sandbox(SEED)
    sf = sf_client(server)
    sf.Lead.create({"LastName": "First", "Company": "C", "HubSpot_Contact_Id__c": "taken"})
    if values.get("OwnerId") == "@gone":
        values = {**values, "OwnerId": _user_id(server, "gone@acme.test")}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(values)
    assert caught.value.status == 400
    (error,) = caught.value.content
    assert error["errorCode"] == code
    assert error.get("fields", []) == fields
    assert error["message"]
    assert len(server.sandbox.org.records["Lead"]) == 1


# -- upsert by external id ----------------------------------------------------------------------
def test_upsert_creates_then_updates_by_external_id(sandbox):
    """The first upsert answers 201 created:true, the second 200 created:false, same id."""
    server = sandbox()
    sf = sf_client(server)
    first = sf.Lead.upsert(
        "HubSpot_Contact_Id__c/123", {"LastName": "Hopper", "Company": "Navy"}, raw_response=True
    )
    assert first.status_code == 201
    body = first.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    assert first.headers["Location"] == f"/services/data/v59.0/sobjects/Lead/{body['id']}"
    second = sf.Lead.upsert(
        "HubSpot_Contact_Id__c/123", {"Title": "Rear Admiral"}, raw_response=True
    )
    assert second.status_code == 200
    assert second.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    lead = sf.Lead.get_by_custom_id("HubSpot_Contact_Id__c", "123")
    assert (lead["Id"], lead["Title"], lead["HubSpot_Contact_Id__c"]) == (
        body["id"],
        "Rear Admiral",
        "123",
    )
    assert len(server.sandbox.org.records["Lead"]) == 1


def test_upsert_by_a_field_that_is_no_external_id_answers_404(sandbox):
    """Upserting by a field that is not an external id answers 404 NOT_FOUND."""
    sf = sf_client(sandbox())
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.upsert("Email/a@b.io", {"LastName": "L", "Company": "C"})
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"
    assert "external ID field" in caught.value.content[0]["message"]


def test_upsert_by_id_updates_the_record(sandbox):
    """`PATCH /sobjects/Lead/Id/{id}` updates that lead (200 created:false)."""
    sf = sf_client(sandbox())
    lead_id = sf.Lead.create({"LastName": "L", "Company": "C"})["id"]
    response = sf.Lead.upsert(f"Id/{lead_id}", {"Title": "CTO"}, raw_response=True)
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert sf.Lead.get(lead_id)["Title"] == "CTO"


def test_upsert_before_v46_answers_204_for_an_update(sandbox):
    """API versions before 46.0 answer an updating upsert with 204 and no body."""
    server = sandbox()
    sf = sf_client(server)
    sf.Lead.upsert("HubSpot_Contact_Id__c/7", {"LastName": "L", "Company": "C"})
    token = sf_token(server)["access_token"]
    response = requests.patch(
        f"{server.url}/services/data/v45.0/sobjects/Lead/HubSpot_Contact_Id__c/7",
        json={"Title": "CEO"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 204
    assert response.content == b""


# -- assignment rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "keeps_owner"), [(None, False), ("FALSE", True), ("false", True), ("TRUE", False)]
)
def test_sforce_auto_assign_decides_whether_the_assignment_rule_runs(sandbox, header, keeps_owner):
    """Lead creates and upserts go to the assignment owner unless `Sforce-Auto-Assign: FALSE`."""
    server = sandbox(
        {
            **SEED,
            "salesforce": {**SEED["salesforce"], "settings": {"leadAssignmentOwner": "@queue"}},
        }
    )
    sf = sf_client(server)
    rep_id = _user_id(server, REP)
    queue_id = next(iter(server.sandbox.org.records["Group"]))
    headers = {"Sforce-Auto-Assign": header} if header else None
    created = sf.Lead.create({"LastName": "L", "Company": "C", "OwnerId": rep_id}, headers=headers)
    sf.Lead.upsert(
        "HubSpot_Contact_Id__c/9",
        {"LastName": "U", "Company": "C", "OwnerId": rep_id},
        headers=headers,
    )
    expected = rep_id if keeps_owner else queue_id
    assert sf.Lead.get(created["id"])["OwnerId"] == expected
    assert sf.Lead.get_by_custom_id("HubSpot_Contact_Id__c", "9")["OwnerId"] == expected
