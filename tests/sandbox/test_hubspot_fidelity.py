"""Documented (or observed) HubSpot responses, replayed against the sandbox shape for shape.

Each fixture under `fixtures/hubspot/` holds a request, its status and HubSpot's example body;
the sandbox, seeded with the example's data, must answer with the same status and the same
keys and value types at every level (and, where the data is the same, the same values).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

from tests.conftest import hubspot_client
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"
VOLATILE = ("correlationId", "requestId", "startedAt", "completedAt")

#: Keys the Property schema of the properties reference documents but its example omits
#: (https://developers.hubspot.com/docs/api-reference/latest/crm/properties/get-properties).
PROPERTY_SCHEMA_KEYS = frozenset(
    {
        "createdAt",
        "updatedAt",
        "description",
        "archived",
        "calculated",
        "externalOptions",
        "hubspotDefined",
        "dataSensitivity",
        "referencedObjectType",
    }
)
#: Keys the owner response schema documents (type is required there) but its example omits.
OWNER_SCHEMA_KEYS = frozenset({"type", "userIdIncludingInactive"})


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _replay(server, fixture: dict[str, Any]) -> requests.Response:
    request = fixture["request"]
    headers = request.get("headers", {"Authorization": "Bearer sandbox-token"})
    return requests.request(
        request["method"],
        server.url + request["path"],
        json=request.get("json"),
        headers=headers,
        verify=str(server.ca_file),
        timeout=10,
    )


def _same_shape(documented: Any, actual: Any, schema_keys: frozenset[str] = frozenset()) -> None:
    diffs = [
        d
        for d in shape_diff(documented, actual)
        if not (
            d.endswith(": not in the documented example")
            and d.split(":")[0].rsplit(".", 1)[-1] in schema_keys
        )
    ]
    assert diffs == []


def _stable(body: Any) -> Any:
    """The body without values that differ per call (correlation ids, timings)."""
    if isinstance(body, dict):
        return {k: _stable(v) for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, list):
        return [_stable(v) for v in body]
    return body


def _contact_seed(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": result["id"],
        "properties": {k: v for k, v in result["properties"].items() if k != "hs_object_id"},
    }


def test_contact_get_matches_the_documented_object(sandbox):
    """GET a contact: the documented SimplePublicObject with the default properties."""
    fixture = _fixture("contact_get")
    server = sandbox({"hubspot": {"contacts": [_contact_seed(fixture["body"])]}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert response.json() == fixture["body"]


def test_search_matches_the_guides_contact_example(sandbox):
    """The search guide's CONTAINS_TOKEN example returns its two contacts, as documented."""
    fixture = _fixture("search_contacts")
    contacts = [_contact_seed(r) for r in fixture["body"]["results"]]
    contacts.append({"properties": {"email": "someone@elsewhere.test"}})
    server = sandbox({"hubspot": {"contacts": contacts}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert response.json() == fixture["body"]


def test_search_with_properties_matches_the_guides_company_example(sandbox):
    """The guide's companies search (properties array, paging.next.after "10") is reproduced."""
    fixture = _fixture("search_companies_properties")
    companies = [
        {
            "id": r["id"],
            "properties": {k: v for k, v in r["properties"].items() if k != "hs_object_id"},
        }
        for r in fixture["body"]["results"]
    ]
    companies += [
        {
            "properties": {
                "name": f"Later {i}",
                "annualrevenue": "20000000",
                "createdate": "2022-05-01T00:00:00.000Z",
            }
        }
        for i in range(28)
    ]
    companies += [{"properties": {"name": "Small", "annualrevenue": "10000000"}}]
    server = sandbox({"hubspot": {"companies": companies}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert response.json() == fixture["body"]


def test_batch_read_with_errors_matches_the_observed_207(sandbox):
    """Batch read by email with two unknown emails answers the observed 207 body."""
    fixture = _fixture("batch_read_207")
    contacts = [_contact_seed(r) for r in fixture["body"]["results"]]
    server = sandbox({"hubspot": {"contacts": contacts}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert _stable(response.json()) == _stable(fixture["body"])


def test_properties_match_the_reference_example(sandbox):
    """GET /crm/v3/properties/contacts: the documented property (seeded as a custom one)
    with the same values, and every property shaped like it."""
    fixture = _fixture("properties")
    documented = fixture["body"]["results"][0]
    spec = {
        "name": documented["name"],
        "label": documented["label"],
        "type": documented["type"],
        "fieldType": documented["fieldType"],
        "groupName": documented["groupName"],
        "displayOrder": documented["displayOrder"],
        "options": documented["options"],
    }
    server = sandbox({"hubspot": {"properties": {"contacts": [spec]}}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    body = response.json()
    _same_shape(fixture["body"], body, PROPERTY_SCHEMA_KEYS)
    mine = next(p for p in body["results"] if p["name"] == documented["name"])
    assert {k: mine[k] for k in documented} == documented


def test_associations_batch_read_matches_the_guide(sandbox):
    """v4 batch read: toObjectId as a number, Primary plus the unlabeled 279 (label null)."""
    fixture = _fixture("associations_batch_read")
    server = sandbox(
        {
            "hubspot": {
                "companies": [{"id": "201", "properties": {"name": "Acme"}}],
                "contacts": [
                    {"id": "101", "properties": {}, "associations": {"companies": ["201"]}}
                ],
            }
        }
    )
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert _stable(response.json()) == _stable(fixture["body"])


def test_associations_without_any_match_the_observed_207(sandbox):
    """An input without associations answers the observed NO_ASSOCIATIONS_FOUND 207."""
    fixture = _fixture("associations_no_associations_207")
    server = sandbox({"hubspot": {"contacts": [{"id": "1", "properties": {}}]}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert _stable(response.json()) == _stable(fixture["body"])


def _owner_seed(documented: dict[str, Any]) -> dict[str, Any]:
    return {
        k: documented[k]
        for k in (
            "id",
            "email",
            "firstName",
            "lastName",
            "userId",
            "teams",
            "createdAt",
            "updatedAt",
            "archived",
        )
    }


def test_owner_get_matches_the_reference_example(sandbox):
    """GET /crm/v3/owners/{id} answers the documented owner (plus schema-documented keys)."""
    fixture = _fixture("owner_get")
    server = sandbox({"hubspot": {"owners": [_owner_seed(fixture["body"])]}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json(), OWNER_SCHEMA_KEYS)
    assert {k: response.json()[k] for k in fixture["body"]} == fixture["body"]


def test_owner_list_items_match_the_reference_example(sandbox):
    """GET /crm/v3/owners/ lists owners shaped like the documented owner."""
    fixture = _fixture("owner_get")
    server = sandbox({"hubspot": {"owners": [_owner_seed(fixture["body"])]}})
    response = _replay(server, {**fixture, "request": {"method": "GET", "path": "/crm/v3/owners/"}})
    assert response.status_code == 200
    _same_shape({"results": [fixture["body"]]}, response.json(), OWNER_SCHEMA_KEYS)


@pytest.mark.parametrize("name", ["error_401", "error_404"])
def test_error_bodies_match(sandbox, name):
    """401 with a wrong token and 404 for an unknown id answer HubSpot's error bodies."""
    fixture = _fixture(name)
    server = sandbox({"hubspot": {"contacts": [{"id": "101", "properties": {}}]}})
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert _stable(response.json()) == _stable(fixture["body"])


def test_daily_limit_429_matches_the_usage_guidelines(sandbox):
    """A call past the daily budget answers the usage guidelines' 429 body."""
    fixture = _fixture("error_429_daily")
    server = sandbox({"hubspot": {"contacts": [{"id": "101", "properties": {}}]}})
    server.sandbox.config.hubspot_daily_limit = 1
    assert _replay(server, fixture).status_code == 200
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    assert _stable(response.json()) == _stable(fixture["body"])


def test_ten_second_limit_429_matches_the_observed_body(sandbox):
    """A call past the ten-second budget answers the observed TEN_SECONDLY_ROLLING body."""
    fixture = _fixture("error_429_ten_secondly")
    server = sandbox({"hubspot": {"contacts": [{"id": "101", "properties": {}}]}})
    server.sandbox.config.hubspot_ten_second_limit = 1
    server.sandbox.portal.clock = lambda: 1_800_000_000.0
    assert _replay(server, fixture).status_code == 200
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(fixture["body"], response.json())
    body = response.json()
    assert (body["message"], body["policyName"], body["errorType"]) == (
        "You have reached your ten_secondly_rolling limit.",
        "TEN_SECONDLY_ROLLING",
        "RATE_LIMIT",
    )


def test_contact_get_with_associations_matches_the_observed_answer(sandbox):
    """`?associations=Companies,Contacts`: the primary company twice (labeled, unlabeled), the
    empty contact-to-contact type left out, every value as observed."""
    fixture = _fixture("contact_get_associations")
    body = fixture["body"]
    company_id = body["associations"]["companies"]["results"][0]["id"]
    contact = _contact_seed(body)
    contact["associations"] = {"companies": [company_id]}
    anrede = {
        "name": "anrede",
        "label": "Anrede",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
    }
    server = sandbox(
        {
            "hubspot": {
                "properties": {"contacts": [anrede]},
                "companies": [{"id": company_id, "properties": {"name": "Example GmbH"}}],
                "contacts": [contact],
            }
        }
    )
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    _same_shape(body, response.json())
    assert response.json() == body


def test_batch_read_with_history_matches_the_recorded_shape(sandbox):
    """propertiesWithHistory on a batch read: the recorded keys on each object and on each
    value; the contact's own values newest first, written by the private app (INTEGRATION)."""
    fixture = _fixture("batch_read_history")
    server = sandbox({"hubspot": {}})
    contacts = hubspot_client(server).crm.contacts
    created = contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "kettle@acme.test", "jobtitle": "Buyer", "company": "Acme"}
        )
    )
    contacts.basic_api.update(created.id, SimplePublicObjectInput(properties={"jobtitle": "VP"}))
    assert created.id == fixture["request"]["json"]["inputs"][0]["id"]

    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    (documented,) = fixture["body"]["results"]
    (result,) = response.json()["results"]
    assert set(result) == set(documented)
    entry = documented["propertiesWithHistory"]["price"][0]
    entries = [e for values in result["propertiesWithHistory"].values() for e in values]
    assert all(shape_diff(entry, e) == [] for e in entries)
    history = result["propertiesWithHistory"]
    assert [e["value"] for e in history["jobtitle"]] == ["VP", "Buyer"]
    assert [e["value"] for e in history["company"]] == ["Acme"]
    assert {(e["sourceType"], e["sourceId"]) for e in entries} == {("INTEGRATION", "3000001")}
    assert history["jobtitle"][0]["timestamp"] == result["updatedAt"]
    assert history["jobtitle"][1]["timestamp"] == result["createdAt"]
