"""What the v3 reads answer beyond properties, through the unmodified client: associations
(`?associations=`) and each property's history (`propertiesWithHistory`). Nothing the portal
holds is left out of an answer that asked for it; what the sandbox cannot answer is refused."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.contacts import (
    ApiException,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectId,
    SimplePublicObjectInput,
)

from tests.conftest import hubspot_client

SEED = {
    "hubspot": {
        "companies": [
            {"id": "201", "properties": {"name": "Globex", "domain": "globex.se"}},
            {"id": "202", "properties": {"name": "Initech", "domain": "initech.test"}},
        ],
        "contacts": [
            {
                "id": "101",
                "properties": {
                    "email": "sven@globex.se",
                    "lifecyclestage": "lead",
                    "createdate": "2024-01-02T03:04:05.006Z",
                    "lastmodifieddate": "2024-02-03T04:05:06.007Z",
                },
                "associations": {"companies": ["201", "202"]},
            },
            {"id": "102", "properties": {"email": "solo@example.com"}},
            {
                "id": "103",
                "properties": {"email": "ines@initech.test"},
                "associations": {"companies": ["202"]},
            },
        ],
    }
}


def _pairs(associations) -> list[tuple[str, str]]:
    return [(a.id, a.type) for a in associations.results]


def test_a_contact_read_with_associations_lists_its_companies(sandbox):
    """`get_by_id(associations=["companies"])`: the primary company labeled and unlabeled,
    the second one unlabeled; a contact without companies has no associations key."""
    contacts = hubspot_client(sandbox(SEED)).crm.contacts
    sven = contacts.basic_api.get_by_id("101", associations=["companies"])
    assert _pairs(sven.associations["companies"]) == [
        ("201", "contact_to_company"),
        ("201", "contact_to_company_unlabeled"),
        ("202", "contact_to_company_unlabeled"),
    ]
    assert contacts.basic_api.get_by_id("102", associations=["companies"]).associations is None


def test_a_company_read_with_associations_lists_its_contacts(sandbox):
    """From the company's side: `company_to_contact` for the contacts whose primary it is."""
    companies = hubspot_client(sandbox(SEED)).crm.companies
    initech = companies.basic_api.get_by_id("202", associations=["contacts"])
    assert _pairs(initech.associations["contacts"]) == [
        ("101", "company_to_contact_unlabeled"),
        ("103", "company_to_contact"),
        ("103", "company_to_contact_unlabeled"),
    ]


def test_a_list_page_with_associations_shows_them_per_record(sandbox):
    """`get_page(associations=["companies"])` carries each contact's companies, as a read does."""
    contacts = hubspot_client(sandbox(SEED)).crm.contacts
    page = contacts.basic_api.get_page(associations=["company"])
    by_id = {c.id: c.associations for c in page.results}
    assert [a.id for a in by_id["101"]["companies"].results] == ["201", "201", "202"]
    assert by_id["102"] is None
    assert _pairs(by_id["103"]["companies"]) == [
        ("202", "contact_to_company"),
        ("202", "contact_to_company_unlabeled"),
    ]


def test_an_archived_company_is_not_listed_as_associated(sandbox):
    """An archived company drops out; the next one becomes the primary, as in the v4 reads."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    client.crm.companies.basic_api.archive("201")
    sven = client.crm.contacts.basic_api.get_by_id("101", associations=["companies"])
    assert _pairs(sven.associations["companies"]) == [
        ("202", "contact_to_company"),
        ("202", "contact_to_company_unlabeled"),
    ]


@pytest.mark.parametrize("kind", ["deals", "tickets", "nonsense"])
def test_associations_the_sandbox_does_not_hold_are_refused_not_left_out(sandbox, kind):
    """`associations=deals`: HubSpot's 400 naming the parameter, never an answer saying none."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as refused:
        client.crm.contacts.basic_api.get_by_id("101", associations=[kind])
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert f"associations={kind}" in body["message"]
    with pytest.raises(CompaniesApiException) as refused_page:
        client.crm.companies.basic_api.get_page(associations=["companies", kind])
    assert refused_page.value.status == 400


def test_history_lists_every_value_newest_first_with_its_source(sandbox):
    """`properties_with_history`: the seeded value (IMPORT, at the record's last-modified
    date), then each API write (INTEGRATION, the app's id), a cleared value as ""."""
    server = sandbox(SEED)
    contacts = hubspot_client(server).crm.contacts
    contacts.basic_api.update(
        "101", SimplePublicObjectInput(properties={"lifecyclestage": "marketingqualifiedlead"})
    )
    contacts.basic_api.update("101", SimplePublicObjectInput(properties={"jobtitle": "CTO"}))
    contacts.basic_api.update("101", SimplePublicObjectInput(properties={"jobtitle": ""}))
    sven = contacts.basic_api.get_by_id(
        "101", properties_with_history=["lifecyclestage", "jobtitle", "firstname", "no_such"]
    )
    history = sven.properties_with_history
    assert set(history) == {"lifecyclestage", "jobtitle"}  # never set, unknown: nothing to show
    stages = [(v.value, v.source_type, v.source_id) for v in history["lifecyclestage"]]
    assert stages == [
        ("marketingqualifiedlead", "INTEGRATION", "3000001"),
        ("lead", "IMPORT", None),
    ]
    assert history["lifecyclestage"][1].timestamp.isoformat().startswith("2024-02-03T04:05:06.007")
    assert [v.value for v in history["jobtitle"]] == ["", "CTO"]
    assert sven.properties["lastname"] is None


def test_a_write_hubspot_ignores_leaves_no_history(sandbox):
    """A lifecycle stage moved backwards is ignored by HubSpot: no value is added to history."""
    server = sandbox(SEED)
    contacts = hubspot_client(server).crm.contacts
    contacts.basic_api.update(
        "101", SimplePublicObjectInput(properties={"lifecyclestage": "subscriber"})
    )
    sven = contacts.basic_api.get_by_id("101", properties_with_history=["lifecyclestage"])
    assert [v.value for v in sven.properties_with_history["lifecyclestage"]] == ["lead"]


def test_hubspots_own_changes_say_calculated(sandbox):
    """A score HubSpot recomputes (the `calculated` admin endpoint) is CALCULATED in history."""
    server = sandbox(SEED)
    requests.post(
        f"{server.url}/_sandbox/hubspot/contacts/101/calculated",
        json={"properties": {"hubspotscore": "40"}},
        verify=str(server.ca_file),
        timeout=10,
    ).raise_for_status()
    contacts = hubspot_client(server).crm.contacts
    sven = contacts.basic_api.get_by_id("101", properties_with_history=["hubspotscore"])
    (value,) = sven.properties_with_history["hubspotscore"]
    assert (value.value, value.source_type) == ("40", "CALCULATED")


def test_list_and_batch_reads_carry_history_too(sandbox):
    """`get_page(properties_with_history=...)` and a batch read with `propertiesWithHistory`
    answer the same history as a single read."""
    server = sandbox(SEED)
    contacts = hubspot_client(server).crm.contacts
    contacts.basic_api.update(
        "103", SimplePublicObjectInput(properties={"email": "ines@initech.example"})
    )
    page = contacts.basic_api.get_page(properties_with_history=["email"])
    listed = {c.id: [v.value for v in c.properties_with_history["email"]] for c in page.results}
    assert listed["103"] == ["ines@initech.example", "ines@initech.test"]
    batch = contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id="103")], properties_with_history=["email"]
        )
    )
    assert [v.value for v in batch.results[0].properties_with_history["email"]] == listed["103"]


@pytest.mark.parametrize("key", ["properties", "propertiesWithHistory"])
def test_a_batch_read_naming_properties_wrongly_is_refused_not_answered_empty(sandbox, key):
    """`"properties": "email"` (a string, not a list) is HubSpot's 400, not values left out."""
    server = sandbox(SEED)
    response = requests.post(
        f"{server.url}/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": "101"}], key: "email"},
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert key in response.json()["message"]


def test_an_archived_contact_is_found_by_email_when_archived_is_asked_for(sandbox):
    """`?idProperty=email&archived=true` (read and batch read) finds the archived contact,
    instead of answering that no such contact exists."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    client.crm.contacts.basic_api.archive("102")
    found = client.crm.contacts.basic_api.get_by_id(
        "Solo@Example.com", id_property="email", archived=True
    )
    assert (found.id, found.archived) == ("102", True)
    response = requests.post(
        f"{server.url}/crm/v3/objects/contacts/batch/read?archived=true",
        json={"idProperty": "email", "inputs": [{"id": "solo@example.com"}]},
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert [r["id"] for r in response.json()["results"]] == ["102"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/crm/v3/objects/contacts/Sven?idProperty=firstname", None),
        ("PATCH", "/crm/v3/objects/contacts/Sven?idProperty=firstname", {"properties": {}}),
        (
            "POST",
            "/crm/v3/objects/contacts/batch/read",
            {"idProperty": "firstname", "inputs": [{"id": "Sven"}]},
        ),
        (
            "POST",
            "/crm/v3/objects/contacts/batch/update",
            {
                "inputs": [
                    {"id": "101", "properties": {"jobtitle": "Not written"}},
                    {"id": "Sven", "idProperty": "firstname", "properties": {}},
                ]
            },
        ),
    ],
    ids=["read", "update", "batch-read", "batch-update"],
)
def test_looking_up_by_a_property_that_is_not_unique_is_refused(sandbox, method, path, body):
    """`idProperty=firstname` is HubSpot's 400, not "not found"; a batch refused so writes
    nothing."""
    server = sandbox(SEED)
    response = requests.request(
        method,
        server.url + path,
        json=body,
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["message"] == "firstname is not a unique property of contacts"
    assert "jobtitle" not in server.sandbox.portal.stores["contacts"].get("101").props


@pytest.mark.parametrize(("sensitivity", "count"), [("non_sensitive", None), ("sensitive", 0)])
def test_properties_answer_the_sensitivity_asked_for(sandbox, sensitivity, count):
    """`dataSensitivity=sensitive` lists the sensitive properties (the sandbox has none), not
    every property as if they were."""
    server = sandbox(SEED)
    response = requests.get(
        f"{server.url}/crm/v3/properties/contacts?dataSensitivity={sensitivity}",
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    results = response.json()["results"]
    if count is None:
        assert len(results) > 10
        assert {p["dataSensitivity"] for p in results} == {"non_sensitive"}
    else:
        assert len(results) == count
    bad = requests.get(
        f"{server.url}/crm/v3/properties/contacts?dataSensitivity=secret",
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert bad.status_code == 400
