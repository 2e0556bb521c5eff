"""The sandbox's REST answers have the shapes of the documented examples in Salesforce's REST API
Developer Guide (fixtures under `fixtures/salesforce/rest_*.json`): same status, same keys at every
level, same value types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.conftest import sf_token
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
V = "/services/data/v59.0"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"rest_{name}.json").read_text(encoding="utf-8"))


class _Api:
    """Raw HTTPS calls with a session token, so statuses and bodies are seen exactly."""

    def __init__(self, server) -> None:
        self.server = server
        self.token = sf_token(server)["access_token"]

    def __call__(self, method: str, path: str, body: Any = None, headers=None):
        return requests.request(
            method,
            f"{self.server.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            verify=str(self.server.ca_file),
            timeout=30,
        )

    def replay(self, fixture: dict[str, Any]):
        request = fixture["request"]
        return self(request["method"], request["path"], request.get("body"), request.get("headers"))


def _assert_like(fixture: dict[str, Any], response, body: Any = None) -> None:
    assert response.status_code == fixture["status"], response.text
    actual = response.json() if body is None else body
    assert shape_diff(fixture["body"], actual) == []


def _assert_each_subresponse_like(fixture: dict[str, Any], response) -> None:
    """Composite subresponses differ by position, so each is compared with its documented one
    (`shape_diff` compares array items with the first documented item)."""
    assert response.status_code == fixture["status"], response.text
    documented = fixture["body"]["compositeResponse"]
    actual = response.json()["compositeResponse"]
    assert len(actual) == len(documented)
    for index, (doc, got) in enumerate(zip(documented, actual, strict=True)):
        assert shape_diff(doc, got, f"$.compositeResponse[{index}]") == []


def test_versions_list_matches_documented_example(sandbox):
    """Every entry of the versions list has the documented label/url/version shape."""
    fixture = _fixture("versions")
    response = requests.get(
        f"{sandbox().url}/services/data/", verify=str(sandbox().ca_file), timeout=10
    )
    _assert_like(fixture, response)


def test_create_matches_documented_example(sandbox):
    """Creating the documented Account answers the documented 201 body."""
    api = _Api(sandbox())
    fixture = _fixture("create_record")
    _assert_like(fixture, api.replay(fixture))


def test_create_error_matches_documented_example(sandbox):
    """An Id in a create body answers exactly the documented INVALID_FIELD error."""
    api = _Api(sandbox())
    fixture = _fixture("create_error")
    response = api.replay(fixture)
    _assert_like(fixture, response)
    assert response.json() == fixture["body"]


def test_error_body_matches_documented_example(sandbox):
    """An id of the wrong object answers the documented MALFORMED_ID error shape and message."""
    api = _Api(sandbox())
    fixture = _fixture("error_malformed_id")
    contact_id = api("POST", f"{V}/sobjects/Contact", {"LastName": "Not an account"}).json()["id"]
    response = api("PATCH", f"{V}/sobjects/Account/{contact_id}", {"Name": "Renamed"})
    _assert_like(fixture, response)
    assert response.json()[0]["message"] == f"Account ID: id value of incorrect type: {contact_id}"


def test_get_with_fields_matches_documented_example(sandbox):
    """Reading the documented fields of an Account gives the documented keys (plus attributes,
    which the example leaves out)."""
    server = sandbox(
        {
            "salesforce": {
                "Account": [
                    {
                        "Id": "001D000000INjVe",
                        "Name": "Documented",
                        "AccountNumber": "CD656092",
                        "BillingPostalCode": "27215",
                    }
                ]
            }
        }
    )
    api = _Api(server)
    fixture = _fixture("get_record_fields")
    response = api.replay(fixture)
    body = response.json()
    assert body.pop("attributes")["type"] == "Account"
    _assert_like(fixture, response, body)
    assert body == fixture["body"]


def test_upsert_matches_documented_examples(sandbox):
    """An upsert that creates, then one that updates, answer the documented 201 and 200 bodies.

    The sandbox's Account has no external id field, so Contact's HubSpot_Contact_Id__c plays the
    documented customExtIdField__c.
    """
    api = _Api(sandbox())
    path = f"{V}/sobjects/Contact/HubSpot_Contact_Id__c/11999"
    _assert_like(
        _fixture("upsert_created"), api("PATCH", path, {"LastName": "California Wheat Corporation"})
    )
    _assert_like(_fixture("upsert_updated"), api("PATCH", path, {"MailingCity": "San Francisco"}))


def test_collections_upsert_matches_documented_example(sandbox):
    """A collections upsert creating one record and updating another answers the documented
    results (Contact's external id standing in for Account's MyExtId__c)."""
    api = _Api(sandbox())
    fixture = _fixture("collections_upsert")
    api("PATCH", f"{V}/sobjects/Contact/HubSpot_Contact_Id__c/BBB", {"LastName": "Existing"})
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "Company One", "HubSpot_Contact_Id__c": n}
        for n in ("AAA", "BBB")
    ]
    response = api(
        "PATCH",
        f"{V}/composite/sobjects/Contact/HubSpot_Contact_Id__c",
        {"allOrNone": False, "records": records},
    )
    _assert_like(fixture, response)
    assert [r["created"] for r in response.json()] == [True, False]


def test_collections_error_results_match_documented_example(sandbox):
    """With allOrNone a failing record and a rolled-back one answer the documented results
    (a missing Name stands in for the documented duplicate rule)."""
    api = _Api(sandbox())
    fixture = _fixture("collections_create_all_or_none_error")
    body = json.loads(json.dumps(fixture["request"]["body"]))
    del body["records"][0]["Name"]
    response = api("POST", f"{V}/composite/sobjects", body)
    _assert_like(fixture, response)
    assert response.json()[1] == fixture["body"][1]


def test_composite_matches_documented_example(sandbox):
    """An upsert-then-create composite answers the documented subrequest results.

    The first subrequest creates the Account through the documented `Id` external id (the
    sandbox's Account has no ExternalAcctId__c), keeping the 201 `created` body.
    """
    api = _Api(sandbox())
    fixture = _fixture("composite_upsert_and_create")
    body = json.loads(json.dumps(fixture["request"]["body"]))
    body["compositeRequest"][0]["method"] = "POST"
    body["compositeRequest"][0]["url"] = f"{V}/sobjects/Account/Id"
    _assert_each_subresponse_like(fixture, api("POST", f"{V}/composite", body))


def test_composite_rollback_matches_documented_example(sandbox):
    """The documented allOrNone failure answers PROCESSING_HALTED and the failing error."""
    api = _Api(sandbox())
    fixture = _fixture("composite_all_or_none_failure")
    response = api.replay(fixture)
    _assert_each_subresponse_like(fixture, response)
    assert response.json() == fixture["body"]


def test_query_page_matches_documented_example(sandbox):
    """A query with more rows than its batch answers the documented page with nextRecordsUrl."""
    contacts = [{"FirstName": "John", "LastName": f"Smith {n}"} for n in range(700)]
    api = _Api(sandbox({"salesforce": {"Contact": contacts}}))
    fixture = _fixture("query_next_records")
    response = api.replay(fixture)
    _assert_like(fixture, response)
    assert response.json()["nextRecordsUrl"].endswith("-500")


def test_limits_match_documented_example(sandbox):
    """`GET /limits` answers every limit of the documented example as {Max, Remaining}."""
    api = _Api(sandbox())
    fixture = _fixture("limits")
    _assert_like(fixture, api.replay(fixture))


def test_every_described_field_matches_documented_field(sandbox):
    """Each field of Account's describe has the documented field properties; Id's values match."""
    api = _Api(sandbox())
    fixture = _fixture("describe_field")
    response = api.replay(fixture)
    assert response.status_code == fixture["status"]
    fields = response.json()["fields"]
    for field in fields:
        assert shape_diff(fixture["body"], field) == [], field["name"]
    assert next(f for f in fields if f["name"] == "Id") == fixture["body"]


def test_query_all_of_deleted_records_matches_documented_example(sandbox):
    """A deleted Account comes back from queryAll `WHERE isDeleted = TRUE` exactly as the
    documented example shows; query answers none."""
    account_id = "001D000000IRFmaIAH"
    seed = {"salesforce": {"Account": [{"Id": account_id, "Name": "Merchandise 1"}]}}
    api = _Api(sandbox(seed))
    fixture = _fixture("query_all_deleted")
    assert api("DELETE", f"{V}/sobjects/Account/{account_id}").status_code == 204
    response = api.replay(fixture)
    _assert_like(fixture, response)
    assert response.json() == fixture["body"]
    live = api("GET", fixture["request"]["path"].replace("/queryAll/", "/query/"))
    assert live.json() == {"totalSize": 0, "done": True, "records": []}
