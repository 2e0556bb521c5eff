"""Merges, archives and GDPR deletes of HubSpot contacts, through the unmodified client
(`basic_api.merge`, `basic_api.purge`, `basic_api.archive`), and the webhooks they send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import (
    ApiException,
    PublicGdprDeleteInput,
    PublicMergeInput,
    SimplePublicObjectInputForCreate,
)

from connector.hubspot.webhooks import contact_ids, parse_batch
from tests.conftest import hubspot_client
from tests.sandbox.shapes import shape_diff
from tests.sandbox.webhook_support import settled, subscribe

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"
SEED: dict[str, Any] = {
    "hubspot": {
        "companies": [
            {"id": "201", "properties": {"name": "Acme", "domain": "acme.test"}},
            {"id": "202", "properties": {"name": "Initech", "domain": "initech.test"}},
        ],
        "contacts": [
            {
                "id": "101",
                "properties": {
                    "email": "ada@acme.test",
                    "firstname": "Ada",
                    "lifecyclestage": "lead",
                },
                "associations": {"companies": ["201"]},
            },
            {
                "id": "102",
                "properties": {
                    "email": "ada.l@acme.test",
                    "firstname": "Augusta",
                    "lastname": "Lovelace",
                    "jobtitle": "Engineer",
                    "lifecyclestage": "marketingqualifiedlead",
                },
                "associations": {"companies": ["202"]},
            },
            {"id": "103", "properties": {"email": "alan@acme.test", "firstname": "Alan"}},
        ],
        "lists": [
            {
                "listId": "9",
                "name": "Newsletter",
                "objectTypeId": "0-1",
                "processingType": "MANUAL",
                "memberships": ["101", "103"],
            }
        ],
    }
}


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _raw(server, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(
        method,
        server.url + path,
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
        **kw,
    )


def _merge(client, primary: str, other: str):
    return client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=primary, object_id_to_merge=other)
    )


def _purge(client, object_id: str, id_property: str | None = None) -> None:
    client.crm.contacts.basic_api.purge(
        PublicGdprDeleteInput(object_id=object_id, id_property=id_property)
    )


# -- merge ----------------------------------------------------------------------------------------
def test_merge_answers_the_documented_object(sandbox):
    """The documented request answers 200 with a SimplePublicObject of the documented keys: the
    survivor, under the primary's id."""
    server = sandbox(SEED)
    fixture = _fixture("contact_merge")
    response = _raw(
        server,
        "POST",
        fixture["request"]["path"],
        json={"primaryObjectId": "101", "objectIdToMerge": "102"},
    )
    assert response.status_code == fixture["status"], response.text
    body = response.json()
    assert shape_diff({**fixture["body"], "properties": {}}, {**body, "properties": {}}) == []
    assert isinstance(body["properties"], dict)
    assert (body["id"], body["archived"]) == ("101", False)


def test_merge_keeps_the_primary_and_fills_its_blanks(sandbox):
    """Through `basic_api.merge`: the primary keeps its id, email and values, takes the other's
    values where it had none and the lifecycle stage furthest down the funnel, lists the other
    in hs_merged_object_ids and its email in hs_additional_emails, and gains its company."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    merged = _merge(client, "101", "102")
    assert merged.id == "101"
    contact = client.crm.contacts.basic_api.get_by_id(
        "101",
        properties=[
            "email",
            "firstname",
            "lastname",
            "jobtitle",
            "lifecyclestage",
            "hs_merged_object_ids",
            "hs_additional_emails",
        ],
        associations=["companies"],
    )
    props = contact.properties
    assert (props["email"], props["firstname"]) == ("ada@acme.test", "Ada")
    assert (props["lastname"], props["jobtitle"]) == ("Lovelace", "Engineer")
    assert props["lifecyclestage"] == "marketingqualifiedlead"
    assert (props["hs_merged_object_ids"], props["hs_additional_emails"]) == (
        "102",
        "ada.l@acme.test",
    )
    linked = {a.id for a in contact.associations["companies"].results}
    assert linked == {"201", "202"}


def test_the_merged_away_id_answers_as_the_survivor(sandbox):
    """After the merge, a GET or batch read of the merged-away id returns the survivor (its own
    id in the answer), as HubSpot documents for merged records; lists show only the survivor;
    the other's email finds the survivor and no new contact can take it (409, as for any
    email in use)."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _merge(client, "101", "102")
    assert client.crm.contacts.basic_api.get_by_id("102").id == "101"
    read = _raw(
        server,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": "102"}], "properties": ["email"]},
    )
    assert [r["id"] for r in read.json()["results"]] == ["101"]
    page = client.crm.contacts.basic_api.get_page(limit=10)
    assert sorted(c.id for c in page.results) == ["101", "103"]
    by_email = client.crm.contacts.basic_api.get_by_id("ada.l@acme.test", id_property="email")
    assert by_email.id == "101"
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "ada.l@acme.test"})
        )
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"] == "Contact already exists. Existing ID: 101"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"primaryObjectId": "101", "objectIdToMerge": "101"}, 400),
        ({"primaryObjectId": "101"}, 400),
        ({"primaryObjectId": "101", "objectIdToMerge": "999"}, 404),
    ],
    ids=["itself", "one id", "unknown id"],
)
def test_merges_that_cannot_happen_are_refused_and_change_nothing(sandbox, body, status):
    """Merging a contact with itself or with nothing is a 400 VALIDATION_ERROR, with an unknown
    contact the 404 a read answers; both contacts stay as they were."""
    server = sandbox(SEED)
    response = _raw(server, "POST", "/crm/v3/objects/contacts/merge", json=body)
    assert response.status_code == status, response.text
    assert response.json()["category"] in ("VALIDATION_ERROR", "OBJECT_NOT_FOUND")
    client = hubspot_client(server)
    assert client.crm.contacts.basic_api.get_by_id("101").properties["firstname"] == "Ada"


def test_merge_sends_the_documented_merge_webhook(sandbox, receiver):
    """A merge through the API sends `contact.merge` with the changelog's fields
    (primaryObjectId, mergedObjectIds, newObjectId, numberOfPropertiesMoved) besides the usual
    ones, signed; the service's intake keeps it as a merge of 102 into 101."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, events=["contact.merge"], properties=[])
    _merge(hubspot_client(server), "101", "102")
    settled(server)
    (request,) = target.received
    request.verify()
    (event,) = request.events
    documented = _fixture("webhook_contact_merge")["body"]
    assert shape_diff(documented, event, nullable=False) == []
    assert (event["primaryObjectId"], event["mergedObjectIds"], event["newObjectId"]) == (
        101,
        [102],
        101,
    )
    assert event["objectId"] == 101
    assert event["numberOfPropertiesMoved"] == 3  # lastname, jobtitle, lifecyclestage
    changes = contact_ids(parse_batch(request.body).events, ["email"])
    assert [(m.primary_object_id, m.merged_object_ids) for m in changes.merges] == [
        ("101", ("102",))
    ]


def test_companies_merge_too_moving_their_contacts(sandbox, receiver):
    """`POST /crm/v3/objects/companies/merge` works the same way: the other company's contacts
    are associated with the survivor, its id reads as the survivor, `company.merge` is sent."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, events=["company.merge"], properties=[])
    response = _raw(
        server,
        "POST",
        "/crm/v3/objects/companies/merge",
        json={"primaryObjectId": "201", "objectIdToMerge": "202"},
    )
    assert (response.status_code, response.json()["id"]) == (200, "201")
    assert _raw(server, "GET", "/crm/v3/objects/companies/202").json()["id"] == "201"
    read = _raw(
        server,
        "POST",
        "/crm/v4/associations/companies/contacts/batch/read",
        json={"inputs": [{"id": "201"}]},
    )
    (links,) = read.json()["results"]
    assert sorted(t["toObjectId"] for t in links["to"]) == [101, 102]
    settled(server)
    assert [(e["subscriptionType"], e["mergedObjectIds"]) for e in target.events()] == [
        ("company.merge", [202])
    ]


# -- archive --------------------------------------------------------------------------------------
def test_archive_through_the_client_sends_a_deletion(sandbox, receiver):
    """`basic_api.archive` answers 204; the contact is readable only with archived=true, and a
    `contact.deletion` webhook names it."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, events=["contact.deletion"], properties=[])
    client = hubspot_client(server)
    client.crm.contacts.basic_api.archive("103")
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.get_by_id("103")
    assert caught.value.status == 404
    assert client.crm.contacts.basic_api.get_by_id("103", archived=True).archived is True
    settled(server)
    assert [(e["subscriptionType"], e["objectId"]) for e in target.events()] == [
        ("contact.deletion", 103)
    ]


# -- GDPR delete ----------------------------------------------------------------------------------
def test_gdpr_delete_answers_204_and_the_contact_is_gone_for_good(sandbox):
    """The documented request answers 204 with no body; the contact is not found, not even as
    archived, its list membership and company association are gone."""
    server = sandbox(SEED)
    fixture = _fixture("contact_gdpr_delete")
    response = _raw(server, "POST", fixture["request"]["path"], json={"objectId": "101"})
    assert response.status_code == fixture["status"] and response.content == b""
    for query in ("", "?archived=true"):
        assert _raw(server, "GET", f"/crm/v3/objects/contacts/101{query}").status_code == 404
    members = _raw(server, "GET", "/crm/v3/lists/9/memberships").json()["results"]
    assert [m["recordId"] for m in members] == ["103"]
    read = _raw(
        server,
        "POST",
        "/crm/v4/associations/companies/contacts/batch/read",
        json={"inputs": [{"id": "201"}]},
    )
    assert read.json()["results"] == []


def test_gdpr_deleted_email_cannot_come_back(sandbox):
    """Through `basic_api.purge` by email: the email is blocked, so creating a contact with it
    (single, or in a batch, which is refused whole as a taken email refuses it) or setting it on
    another contact is refused with a 400 naming the block, whatever the letter case."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _purge(client, "ada@acme.test", "email")
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "ADA@acme.test"})
        )
    assert caught.value.status == 400
    error = json.loads(caught.value.body)
    assert error["category"] == "VALIDATION_ERROR" and "GDPR" in error["message"]
    batch = _raw(
        server,
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "ada@acme.test"}},
                {"properties": {"email": "grace@navy.test"}},
            ]
        },
    )
    assert batch.status_code == 400
    assert batch.json()["category"] == "VALIDATION_ERROR"
    emails = {c.properties["email"] for c in client.crm.contacts.basic_api.get_page().results}
    assert emails == {"ada.l@acme.test", "alan@acme.test"}
    patch = _raw(
        server,
        "PATCH",
        "/crm/v3/objects/contacts/103",
        json={"properties": {"email": "ada@acme.test"}},
    )
    assert patch.status_code == 400


def test_gdpr_delete_of_a_merged_contact_blocks_every_email_it_had(sandbox):
    """GDPR-deleting a contact that absorbed another blocks its additional email too, and the
    merged-away id no longer answers."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _merge(client, "101", "102")
    _purge(client, "101")
    for email in ("ada@acme.test", "ada.l@acme.test"):
        with pytest.raises(ApiException) as caught:
            client.crm.contacts.basic_api.create(
                SimplePublicObjectInputForCreate(properties={"email": email})
            )
        assert caught.value.status == 400
    assert _raw(server, "GET", "/crm/v3/objects/contacts/102").status_code == 404


def test_gdpr_delete_of_an_unknown_email_blocks_it_and_of_an_unknown_id_is_404(sandbox):
    """By email, an address no contact has is blocked all the same (the API reference says so);
    by id, an unknown contact answers 404 and blocks nothing."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _purge(client, "never@seen.test", "email")
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "never@seen.test"})
        )
    assert caught.value.status == 400
    with pytest.raises(ApiException) as missing:
        _purge(client, "999")
    assert missing.value.status == 404


def test_gdpr_delete_sends_privacy_deletion_and_deletion(sandbox, receiver):
    """A GDPR delete sends both `contact.privacyDeletion` and a plain `contact.deletion` for the
    contact; the service's intake sees both as deletions."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(
        server,
        target.url,
        events=["contact.deletion", "contact.privacyDeletion"],
        properties=[],
    )
    _purge(hubspot_client(server), "101")
    settled(server)
    events = target.events()
    assert sorted((e["subscriptionType"], e["objectId"]) for e in events) == [
        ("contact.deletion", 101),
        ("contact.privacyDeletion", 101),
    ]
    for request in target.received:
        request.verify()
        changes = contact_ids(parse_batch(request.body).events, ["email"])
        assert [d.object_id for d in changes.deletions] == ["101"] * len(request.events)


def test_new_calls_are_counted_and_journaled(sandbox):
    """Merge and GDPR delete are ordinary API calls: journaled under their paths and counted
    against the ten-second budget (the rate-limit headers show one call each)."""
    server = sandbox(SEED)
    seq = server.sandbox.journal.last_seq()
    first = _raw(
        server,
        "POST",
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": "101", "objectIdToMerge": "102"},
    )
    second = _raw(server, "POST", "/crm/v3/objects/contacts/gdpr-delete", json={"objectId": "103"})
    remaining = [int(r.headers["X-HubSpot-RateLimit-Remaining"]) for r in (first, second)]
    assert remaining[0] - remaining[1] == 1
    entries = server.sandbox.journal.entries(since=seq, api="hubspot")
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", "/crm/v3/objects/contacts/merge", 200),
        ("POST", "/crm/v3/objects/contacts/gdpr-delete", 204),
    ]
