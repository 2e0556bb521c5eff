"""Single-object endpoints (`/crm/v3/objects/{type}/{id}`) through the unmodified client."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.contacts import (
    ApiException,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from tests.conftest import hubspot_client

SEED = {
    "hubspot": {
        "owners": [
            {"id": "7001", "email": "owner@acme.test", "firstName": "Olga", "lastName": "Owner"}
        ],
        "companies": [{"id": "201", "properties": {"name": "Acme", "domain": "acme.test"}}],
        "contacts": [
            {
                "id": "101",
                "properties": {
                    "email": "ada@acme.test",
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "jobtitle": "Engineer",
                    "lifecyclestage": "marketingqualifiedlead",
                },
                "associations": {"companies": ["201"]},
            }
        ],
    }
}


def _raw(server, method: str, path: str, **kw):
    headers = kw.pop("headers", {"Authorization": "Bearer sandbox-token"})
    return requests.request(
        method, server.url + path, headers=headers, verify=str(server.ca_file), timeout=10, **kw
    )


def test_get_returns_default_properties(sandbox):
    """Without `properties`, a contact comes back with HubSpot's six default properties."""
    client = hubspot_client(sandbox(SEED))
    contact = client.crm.contacts.basic_api.get_by_id("101")
    assert contact.id == "101"
    assert set(contact.properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert contact.properties["email"] == "ada@acme.test"
    assert contact.archived is False


def test_requested_properties_add_system_ones_and_skip_unknown(sandbox):
    """Requested properties come with createdate/hs_object_id/lastmodifieddate; unknown names
    are silently left out and known-but-empty ones come back as null."""
    server = sandbox(SEED)
    body = _raw(
        server, "GET", "/crm/v3/objects/contacts/101?properties=jobtitle,phone,no_such_prop"
    ).json()
    assert body["properties"] == {
        "createdate": body["createdAt"],
        "hs_object_id": "101",
        "jobtitle": "Engineer",
        "lastmodifieddate": body["updatedAt"],
        "phone": None,
    }


def test_get_by_email_with_id_property(sandbox):
    """`idProperty=email` finds a contact by its email, case-insensitively."""
    client = hubspot_client(sandbox(SEED))
    contact = client.crm.contacts.basic_api.get_by_id("ADA@acme.test", id_property="email")
    assert contact.id == "101"


def test_unknown_id_answers_hubspots_404(sandbox):
    """An unknown id answers 404 OBJECT_NOT_FOUND with the id in the context."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.get_by_id("999999")
    assert raised.value.status == 404
    body = json.loads(raised.value.body)
    assert body["message"] == "Object not found.  objectId are usually numeric."
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["context"] == {"id": ["999999"]}


def test_unknown_object_type_answers_400(sandbox):
    """An object type the portal does not know answers 400 'Unable to infer object type'."""
    response = _raw(sandbox(SEED), "GET", "/crm/v3/objects/widgets/1")
    assert response.status_code == 400
    assert response.json()["message"] == "Unable to infer object type from: widgets"
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_create_returns_201_and_stamps_dates(sandbox):
    """A create answers 201 with id, createdate and lastmodifieddate set to now."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    created = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "grace@navy.test", "firstname": "Grace"}
        )
    )
    assert created.id.isdigit()
    assert created.properties["email"] == "grace@navy.test"
    assert created.properties["createdate"] == created.properties["lastmodifieddate"]
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 201


def test_create_with_taken_email_answers_409(sandbox):
    """Creating a contact with an email already in use answers 409 naming the existing id."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "Ada@Acme.test"})
        )
    assert raised.value.status == 409
    body = json.loads(raised.value.body)
    assert body["category"] == "CONFLICT"
    assert body["message"] == "Contact already exists. Existing ID: 101"


def test_patch_updates_value_and_last_modified(sandbox):
    """A PATCH changes the value and moves lastmodifieddate and updatedAt forward."""
    server = sandbox(SEED)
    portal = server.sandbox.portal
    portal.clock = lambda: 1_900_000_000.0
    client = hubspot_client(server)
    updated = client.crm.contacts.basic_api.update(
        "101", SimplePublicObjectInput(properties={"jobtitle": "Countess"})
    )
    assert updated.properties["jobtitle"] == "Countess"
    assert updated.properties["lastmodifieddate"] == "2030-03-17T17:46:40.000Z"
    again = client.crm.contacts.basic_api.get_by_id("101", properties=["jobtitle"])
    assert again.properties["jobtitle"] == "Countess"
    assert again.updated_at.isoformat().startswith("2030-03-17T17:46:40")


def test_patch_refuses_bad_values_with_property_errors(sandbox):
    """Invalid option, invalid email and read-only writes answer 400 VALIDATION_ERROR listing
    each refused property with HubSpot's error code."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.update(
            "101",
            SimplePublicObjectInput(
                properties={
                    "hs_lead_status": "open",
                    "email": "not an email",
                    "hs_object_id": "5",
                    "shoe_size": "9",
                }
            ),
        )
    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [")
    results = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert {(r["name"], r["error"]) for r in results} == {
        ("hs_lead_status", "INVALID_OPTION"),
        ("email", "INVALID_EMAIL"),
        ("hs_object_id", "READ_ONLY_VALUE"),
        ("shoe_size", "PROPERTY_DOESNT_EXIST"),
    }
    assert {e["code"] for e in body["errors"]} == {
        "INVALID_OPTION",
        "INVALID_EMAIL",
        "READ_ONLY_VALUE",
        "PROPERTY_DOESNT_EXIST",
    }
    unchanged = client.crm.contacts.basic_api.get_by_id("101", properties=["hs_lead_status"])
    assert unchanged.properties["hs_lead_status"] is None


def test_lifecycle_stage_does_not_move_backward(sandbox):
    """Setting an earlier lifecycle stage succeeds but keeps the stage; clearing it first works."""
    client = hubspot_client(sandbox(SEED))
    contacts = client.crm.contacts.basic_api

    def stage() -> str | None:
        return contacts.get_by_id("101", properties=["lifecyclestage"]).properties["lifecyclestage"]

    contacts.update("101", SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert stage() == "marketingqualifiedlead"
    contacts.update("101", SimplePublicObjectInput(properties={"lifecyclestage": "opportunity"}))
    assert stage() == "opportunity"
    contacts.update("101", SimplePublicObjectInput(properties={"lifecyclestage": ""}))
    assert stage() is None
    contacts.update("101", SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert stage() == "lead"


def test_archive_hides_the_object(sandbox):
    """DELETE answers 204 and the object is then not found (but readable with archived=true)."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    client.crm.contacts.basic_api.archive("101")
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.get_by_id("101")
    assert raised.value.status == 404
    archived = client.crm.contacts.basic_api.get_by_id("101", archived=True)
    assert archived.archived is True
    assert server.sandbox.portal.counts()["contacts"] == 0


def test_companies_use_their_own_defaults_and_last_modified(sandbox):
    """Companies default to name/domain and track hs_lastmodifieddate."""
    client = hubspot_client(sandbox(SEED))
    company = client.crm.companies.basic_api.get_by_id("201")
    assert set(company.properties) == {
        "createdate",
        "domain",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
    }
    with pytest.raises(CompaniesApiException) as raised:
        client.crm.companies.basic_api.get_by_id("999")
    assert raised.value.status == 404


def test_list_pages_through_objects(sandbox):
    """`GET /crm/v3/objects/contacts` pages in id order with paging.next.after."""
    seed = {"hubspot": {"contacts": [{"properties": {"email": f"p{i}@x.test"}} for i in range(3)]}}
    server = sandbox(seed)
    first = _raw(server, "GET", "/crm/v3/objects/contacts?limit=2").json()
    assert [r["id"] for r in first["results"]] == ["1001", "1002"]
    after = first["paging"]["next"]["after"]
    second = _raw(server, "GET", f"/crm/v3/objects/contacts?limit=2&after={after}").json()
    assert [r["id"] for r in second["results"]] == ["1003"]
    assert "paging" not in second


def test_calculated_admin_endpoint_plays_hubspots_own_changes(sandbox):
    """`hubspotscore` is read-only through the API (READ_ONLY_VALUE); the admin endpoint sets it
    as HubSpot's scoring would, moving the last-modified date so a sync sees the change."""
    server = sandbox(SEED)
    refused = _raw(
        server,
        "PATCH",
        "/crm/v3/objects/contacts/101",
        json={"properties": {"hubspotscore": "40"}},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "READ_ONLY_VALUE"
    before = server.sandbox.portal.stores["contacts"].get("101").props["lastmodifieddate"]

    answer = _raw(
        server,
        "POST",
        "/_sandbox/hubspot/contacts/101/calculated",
        json={"properties": {"hubspotscore": "40"}},
    )

    assert answer.status_code == 200
    assert answer.json()["properties"]["hubspotscore"] == "40"
    props = server.sandbox.portal.stores["contacts"].get("101").props
    assert props["hubspotscore"] == "40" and props["lastmodifieddate"] >= before
    contact = hubspot_client(server).crm.contacts.basic_api.get_by_id(
        "101", properties=["hubspotscore"]
    )
    assert contact.properties["hubspotscore"] == "40"
    missing = _raw(server, "POST", "/_sandbox/hubspot/contacts/999/calculated", json={})
    assert missing.status_code == 404
    bad = _raw(server, "POST", "/_sandbox/hubspot/contacts/101/calculated", json={"x": 1})
    assert bad.status_code == 400
