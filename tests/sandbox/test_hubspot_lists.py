"""The sandbox's Lists API v3: documented examples replayed, and the unmodified
hubspot-api-client driving every list endpoint leadbridge may call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.lists import ApiException

from connector.sandbox.app import SandboxConfig
from connector.sandbox.seed import SeedError, load_seed
from tests.conftest import hubspot_client
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"
#: The memberships answer's schema requires all three arrays; the reference examples show two.
UPDATE_SCHEMA_KEYS = ("recordIdsRemoved", "recordsIdsAdded", "recordIdsMissing")


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _replay(server, fixture: dict[str, Any]) -> requests.Response:
    request = fixture["request"]
    return requests.request(
        request["method"],
        server.url + request["path"],
        json=request.get("json"),
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )


def _contacts(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "properties": {"email": f"c{i}@acme.test"}} for i in ids]


def _seed(*lists: dict[str, Any], contacts: tuple[str, ...] = ("101", "102", "103")) -> dict:
    return {"hubspot": {"contacts": _contacts(*contacts), "lists": list(lists)}}


NURTURE = {
    "listId": "12",
    "name": "Prospect nurture",
    "processingType": "MANUAL",
    "memberships": ["101", "102"],
}
ACTIVE = {"listId": "13", "name": "Engaged this month", "processingType": "DYNAMIC"}


def _members(server, list_id: str) -> list[str]:
    return sorted(server.sandbox.portal.lists[list_id].members)


# -- documented examples ------------------------------------------------------------------
def test_get_by_name_matches_the_reference_example_whatever_the_case(sandbox):
    """Fetch by name (asked in lower case) answers the reference's MANUAL list, value for value."""
    fixture = _fixture("lists_get_by_name")
    documented = fixture["body"]["list"]
    ids = [str(1001 + i) for i in range(documented["size"])]
    seeded = {
        "listId": documented["listId"],
        "name": documented["name"],
        "processingType": documented["processingType"],
        "createdAt": documented["createdAt"],
        "updatedAt": documented["updatedAt"],
        "filtersUpdatedAt": documented["filtersUpdatedAt"],
        "createdById": documented["createdById"],
        "updatedById": documented["updatedById"],
        "memberships": ids,
    }
    server = sandbox(_seed(seeded, contacts=tuple(ids)))
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    assert shape_diff(fixture["body"], response.json()) == []
    assert response.json() == fixture["body"]


def test_remove_matches_the_reference_example(sandbox):
    """Removing 123, 456 (members) and 789 (no such contact) answers the reference's ids; the
    schema's third array, recordsIdsAdded, comes back empty."""
    fixture = _fixture("lists_memberships_remove")
    listed = {"listId": "1", "name": "Webinar", "memberships": ["123", "456"]}
    server = sandbox(_seed(listed, contacts=("123", "456")))
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    body = response.json()
    assert set(body) == set(UPDATE_SCHEMA_KEYS)
    assert {k: body[k] for k in fixture["body"]} == fixture["body"]
    assert body["recordsIdsAdded"] == []
    assert _members(server, "1") == []


def test_add_matches_the_reference_example_under_the_schemas_key(sandbox):
    """Adding 123, 456 and an unknown 789 reports the reference's ids; the added ones under the
    schema's `recordsIdsAdded` (the example's `recordIdsAdded` disagrees with the schema)."""
    fixture = _fixture("lists_memberships_add")
    server = sandbox(_seed({"listId": "1", "name": "Webinar"}, contacts=("123", "456")))
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    body = response.json()
    assert set(body) == set(UPDATE_SCHEMA_KEYS)
    assert body["recordsIdsAdded"] == fixture["body"]["recordIdsAdded"]
    assert body["recordIdsMissing"] == fixture["body"]["recordIdsMissing"]
    assert _members(server, "1") == ["123", "456"]


def test_memberships_page_has_the_documented_shape(sandbox):
    """A middle page of memberships has results, next and prev paging, and the total."""
    fixture = _fixture("lists_memberships_page")
    listed = {"listId": "1", "name": "Webinar", "memberships": ["101", "102", "103"]}
    server = sandbox(_seed(listed))
    response = _replay(server, fixture)
    assert response.status_code == fixture["status"]
    assert shape_diff(fixture["body"], response.json()) == []
    body = response.json()
    assert [r["recordId"] for r in body["results"]] == ["102"]
    assert body["total"] == 3


# -- through the unmodified client --------------------------------------------------------
def test_client_fetches_a_list_by_id_and_by_name(sandbox):
    """`lists_api.get_by_id` and `get_by_name` return the seeded list as the client's model."""
    client = hubspot_client(sandbox(_seed(NURTURE, ACTIVE)))
    by_id = client.crm.lists.lists_api.get_by_id("12").list
    assert (by_id.list_id, by_id.name, by_id.processing_type) == (
        "12",
        "Prospect nurture",
        "MANUAL",
    )
    assert (by_id.object_type_id, by_id.size) == ("0-1", 2)
    by_name = client.crm.lists.lists_api.get_by_name("PROSPECT NURTURE", "0-1").list
    assert by_name.list_id == "12"
    active = client.crm.lists.lists_api.get_by_name("Engaged this month", "0-1").list
    assert (active.list_id, active.processing_type) == ("13", "DYNAMIC")


def test_client_gets_404_for_an_unknown_list_or_name(sandbox):
    """An unknown id or name answers 404 in HubSpot's error envelope (message unconfirmed)."""
    client = hubspot_client(sandbox(_seed(NURTURE)))
    for call in (
        lambda: client.crm.lists.lists_api.get_by_id("99"),
        lambda: client.crm.lists.lists_api.get_by_name("Nobody's list", "0-1"),
        lambda: client.crm.lists.memberships_api.remove("99", ["101"]),
    ):
        with pytest.raises(ApiException) as raised:
            call()
        assert raised.value.status == 404
        body = json.loads(raised.value.body)
        assert body["status"] == "error"
        assert body["category"] == "OBJECT_NOT_FOUND"
        assert body["correlationId"]


def test_client_removes_members_and_reports_the_rest_as_missing(sandbox):
    """Removing a member, a non-member and an unknown id: one removed, two reported missing,
    no error; the list keeps its other member."""
    server = sandbox(_seed(NURTURE))
    client = hubspot_client(server)
    answer = client.crm.lists.memberships_api.remove("12", ["101", "103", "999"])
    assert answer.record_ids_removed == ["101"]
    assert answer.record_ids_missing == ["103", "999"]
    assert answer.records_ids_added == []
    assert _members(server, "12") == ["102"]


def test_client_adds_members_ignoring_present_and_unknown_ids(sandbox):
    """Adding an existing member, a new contact and an unknown id adds only the new contact."""
    server = sandbox(_seed(NURTURE))
    client = hubspot_client(server)
    answer = client.crm.lists.memberships_api.add("12", ["101", "103", "999"])
    assert answer.records_ids_added == ["103"]
    assert answer.record_ids_missing == ["101", "999"]
    assert _members(server, "12") == ["101", "102", "103"]


def test_client_cannot_change_a_dynamic_lists_members(sandbox):
    """A DYNAMIC list refuses add and remove with 400; its members stay (message unconfirmed)."""
    active = {**ACTIVE, "memberships": ["101"]}
    server = sandbox(_seed(active))
    client = hubspot_client(server)
    for call in (
        lambda: client.crm.lists.memberships_api.remove("13", ["101"]),
        lambda: client.crm.lists.memberships_api.add("13", ["102"]),
    ):
        with pytest.raises(ApiException) as raised:
            call()
        assert raised.value.status == 400
        body = json.loads(raised.value.body)
        assert body["category"] == "VALIDATION_ERROR"
        assert "dynamic list" in body["message"]
    assert _members(server, "13") == ["101"]


def test_client_pages_memberships_by_record_id(sandbox):
    """Paging with limit 2 walks every member once in recordId order (numeric, not text)."""
    ids = ("9", "10", "101", "2000", "30")
    listed = {"listId": "12", "name": "Prospect nurture", "memberships": list(ids)}
    client = hubspot_client(sandbox(_seed(listed, contacts=ids)))
    seen: list[str] = []
    after = None
    while True:
        page = client.crm.lists.memberships_api.get_page("12", after=after, limit=2)
        assert page.total == 5
        seen += [r.record_id for r in page.results]
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    assert seen == ["9", "10", "30", "101", "2000"]


def test_before_pages_backwards_in_descending_order(sandbox):
    """Only `before` given: the members below it, highest first, as documented."""
    listed = {"listId": "12", "name": "Prospect nurture", "memberships": ["101", "102", "103"]}
    client = hubspot_client(sandbox(_seed(listed)))
    page = client.crm.lists.memberships_api.get_page("12", before="103", limit=5)
    assert [r.record_id for r in page.results] == ["102", "101"]
    assert page.paging.next.after == "102"
    assert page.paging.prev is None


def test_limit_is_clamped_to_250(sandbox):
    """A page never holds more than the documented maximum of 250 members."""
    ids = tuple(str(1001 + i) for i in range(260))
    listed = {"listId": "12", "name": "Big", "memberships": list(ids)}
    client = hubspot_client(sandbox(_seed(listed, contacts=ids)))
    page = client.crm.lists.memberships_api.get_page("12", limit=1000)
    assert len(page.results) == 250
    assert page.paging.next.after == "1250"


def test_every_list_call_is_journaled_and_rate_limited(sandbox):
    """List calls appear in the journal like other HubSpot calls, with the rate-limit headers."""
    server = sandbox(_seed(NURTURE))
    client = hubspot_client(server)
    client.crm.lists.lists_api.get_by_id("12")
    _, status, headers = client.crm.lists.memberships_api.remove_with_http_info("12", ["101"])
    assert status == 200
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    entries = server.sandbox.journal.entries(api="hubspot")
    assert [(e.method, e.path, e.status, e.user) for e in entries] == [
        ("GET", "/crm/v3/lists/12", 200, "hubspot-token"),
        ("PUT", "/crm/v3/lists/12/memberships/remove", 200, "hubspot-token"),
    ]


def test_list_calls_need_the_token(sandbox):
    """A wrong token gets 401 from the list endpoints too."""
    client = hubspot_client(sandbox(_seed(NURTURE)), token="pat-na1-wrong")
    with pytest.raises(ApiException) as raised:
        client.crm.lists.memberships_api.remove("12", ["101"])
    assert raised.value.status == 401


def test_a_body_that_is_not_an_array_of_ids_is_refused(sandbox):
    """The memberships body must be a JSON array of ids: an object answers 400."""
    server = sandbox(_seed(NURTURE))
    response = requests.put(
        f"{server.url}/crm/v3/lists/12/memberships/remove",
        json={"ids": ["101"]},
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert _members(server, "12") == ["101", "102"]


# -- seed -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lists", "message"),
    [
        (
            [{"name": "Nurture", "memberships": ["101", "999"]}],
            "seed.hubspot.lists[0].memberships[1]: no contact has id '999'",
        ),
        (
            [{"name": "Nurture", "processingType": "STATIC"}],
            "seed.hubspot.lists[0].processingType: 'STATIC' is not one of "
            "['MANUAL', 'DYNAMIC', 'SNAPSHOT']",
        ),
        ([{"listId": "12"}], "seed.hubspot.lists[0].name: a list needs a name"),
        (
            [{"name": "Nurture"}, {"name": "NURTURE"}],
            "seed.hubspot.lists[1].name: another list of 0-1 is named 'NURTURE'",
        ),
        (
            [{"name": "Nurture", "members": ["101"]}],
            "seed.hubspot.lists[0]: unknown keys ['members']; expected some of",
        ),
    ],
)
def test_a_broken_list_in_the_seed_names_the_entry(lists, message):
    """A seed list with an unknown member, type, key or a taken name is refused by its path."""
    with pytest.raises(SeedError) as raised:
        load_seed(_seed(*lists), SandboxConfig())
    assert str(raised.value).startswith(message)


def test_seed_lists_without_ids_get_fresh_ones():
    """Lists seeded without a listId get numeric ids after the highest given one."""
    _, portal = load_seed(_seed({"listId": "7", "name": "A"}, {"name": "B"}), SandboxConfig())
    assert {i: lst.name for i, lst in portal.lists.items()} == {"7": "A", "8": "B"}
