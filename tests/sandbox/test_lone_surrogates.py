"""A lone UTF-16 surrogate (`"\\ud800"` in JSON) never gets into the sandbox, and no answer
fails to encode: seeds naming one are refused with the record and field, API bodies carrying
one get each API's 400, and whatever reaches an answer is escaped rather than a 500."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.crm.contacts import (
    ApiException,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.http import json_response
from connector.sandbox.seed import SeedError
from tests.conftest import hubspot_client, sf_client, sf_token

LONE = "\ud800"
SEED = {"hubspot": {"contacts": [{"id": "101", "properties": {"email": "ada@acme.test"}}]}}


@pytest.mark.parametrize(
    ("seed", "where"),
    [
        (
            {"hubspot": {"contacts": [{"id": "101", "properties": {"firstname": f"A{LONE}"}}]}},
            "seed.hubspot.contacts[0].properties.firstname",
        ),
        (
            {"salesforce": {"Lead": [{"LastName": "Fine", "Company": "Co"}, {"LastName": LONE}]}},
            "seed.salesforce.Lead[1].LastName",
        ),
        (
            {"hubspot": {"companies": [{"properties": {f"na{LONE}me": "Acme"}}]}},
            "seed.hubspot.companies[0].properties.na\\ud800me",
        ),
    ],
)
def test_a_seed_with_a_lone_surrogate_is_refused_naming_record_and_field(sandbox, seed, where):
    """Loading such a seed fails naming the record and field, and the sandbox keeps its data."""
    server = sandbox(SEED)
    with pytest.raises(SeedError, match=r"lone UTF-16 surrogate \(\\ud800\)") as refused:
        server.sandbox.reset(seed)
    assert str(refused.value).startswith(f"{where}: ")
    assert server.sandbox.portal.counts()["contacts"] == 1


def test_a_reset_with_such_a_seed_answers_400_and_changes_nothing(sandbox):
    """`POST /_sandbox/reset` with such a seed answers 400 naming the field, not a 500."""
    server = sandbox(SEED)
    seed = {"hubspot": {"contacts": [{"properties": {"lastname": LONE}}]}}
    response = requests.post(
        f"{server.url}/_sandbox/reset",
        data=json.dumps(seed),
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert "$.hubspot.contacts[0].properties.lastname" in response.json()["error"]
    assert server.sandbox.portal.counts()["contacts"] == 1


@pytest.mark.parametrize(
    "write",
    [
        lambda api: api.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"firstname": LONE})
        ),
        lambda api: api.basic_api.update(
            "101", SimplePublicObjectInput(properties={"lastname": f"x{LONE}"})
        ),
        lambda api: api.search_api.do_search(PublicObjectSearchRequest(query=LONE)),
    ],
    ids=["create", "update", "search"],
)
def test_hubspot_refuses_a_lone_surrogate_with_its_400_and_searches_keep_working(sandbox, write):
    """Through the unmodified client: HubSpot's 400 VALIDATION_ERROR naming the field, nothing
    stored, and every search afterwards answers 200."""
    server = sandbox(SEED)
    contacts = hubspot_client(server).crm.contacts
    with pytest.raises(ApiException) as refused:
        write(contacts)
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert "lone UTF-16 surrogate" in body["message"]
    found = contacts.search_api.do_search(PublicObjectSearchRequest(properties=["firstname"]))
    assert [c.id for c in found.results] == ["101"]
    assert found.results[0].properties["firstname"] is None


def test_salesforce_refuses_a_lone_surrogate_with_json_parser_error(sandbox):
    """Through simple-salesforce: 400 JSON_PARSER_ERROR naming the field; no Lead is made."""
    server = sandbox(SEED)
    sf = sf_client(server)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create({"LastName": LONE, "Company": "Co"})
    (error,) = refused.value.content
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert "$.LastName" in error["message"]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_a_soql_literal_naming_a_lone_surrogate_answers_a_400_that_encodes(sandbox):
    """A SOQL `\\uD800` escape echoed in the error still gives a well-formed JSON answer."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    response = requests.get(
        f"{server.url}/services/data/v59.0/query",
        params={"q": "SELECT Id FROM Lead WHERE Id = '\\uD800'"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_an_answer_carrying_a_lone_surrogate_is_escaped_not_unencodable():
    """Whatever reaches an answer encodes: the surrogate becomes its JSON escape."""
    response = json_response({"name": f"a{LONE}b", "ok": "é"})
    assert response.get_data() == '{"name": "a\\ud800b", "ok": "é"}'.encode()
    assert json.loads(response.get_data()) == {"name": f"a{LONE}b", "ok": "é"}
