"""`POST /crm/v3/objects/{type}/search`: filters, sorting, paging and HubSpot's limits."""

from __future__ import annotations

import json
import random

import pytest
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest

from tests.conftest import hubspot_client

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _contact(i: int, modified_ms: int, **props: str) -> dict:
    return {
        "id": str(1000 + i),
        "properties": {
            "email": f"c{i}@example.test",
            "createdate": str(BASE_MS - 86_400_000 + i),
            "lastmodifieddate": str(modified_ms),
            **props,
        },
    }


def _search(client, **request):
    return client.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**request)
    )


def _filters(*filters: dict) -> list[dict]:
    return [{"filters": list(filters)}]


def _search_error(client, **request) -> tuple[int, dict]:
    with pytest.raises(ApiException) as raised:
        _search(client, **request)
    return raised.value.status, json.loads(raised.value.body)


@pytest.fixture
def shuffled(sandbox):
    """450 contacts whose lastmodifieddate order differs from their id order."""
    order = list(range(450))
    random.Random(7).shuffle(order)
    contacts = [_contact(i, BASE_MS + rank * 1000) for rank, i in enumerate(order)]
    server = sandbox({"hubspot": {"contacts": contacts}})
    server.sandbox.config.enforce_rate_limits = False
    return server


def test_paging_past_200_returns_every_contact_once_in_modified_order(shuffled):
    """Three pages (200, 200, 50) of a lastmodifieddate GTE query, ascending, every id once."""
    client = hubspot_client(shuffled)
    seen, stamps, after, pages = [], [], None, []
    while True:
        page = _search(
            client,
            filter_groups=_filters(
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(BASE_MS)}
            ),
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=["email", "lastmodifieddate"],
            limit=200,
            after=after,
        )
        pages.append(len(page.results))
        assert page.total == 450
        seen += [r.id for r in page.results]
        stamps += [r.properties["lastmodifieddate"] for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == [200, 200, 50]
    assert len(seen) == len(set(seen)) == 450
    assert stamps == sorted(stamps)


def test_gte_on_lastmodifieddate_is_exact_at_the_boundary(shuffled):
    """GTE includes the contact modified at exactly the cursor; ISO and epoch ms agree."""
    client = hubspot_client(shuffled)
    cursor = BASE_MS + 300 * 1000
    by_ms = _search(
        client,
        filter_groups=_filters(
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(cursor)}
        ),
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        limit=200,
    )
    assert by_ms.total == 150
    assert by_ms.results[0].properties["lastmodifieddate"] == "2026-01-01T00:05:00.000Z"
    by_iso = _search(
        client,
        filter_groups=_filters(
            {
                "propertyName": "lastmodifieddate",
                "operator": "GT",
                "value": "2026-01-01T00:05:00.000Z",
            }
        ),
        limit=1,
    )
    assert by_iso.total == 149


def test_updates_reappear_for_an_incremental_cursor(sandbox):
    """A contact updated after the cursor shows up in the next GTE lastmodifieddate window."""
    server = sandbox({"hubspot": {"contacts": [_contact(i, BASE_MS + i) for i in range(3)]}})
    portal = server.sandbox.portal
    portal.clock = lambda: (BASE_MS + 60_000) / 1000
    client = hubspot_client(server)
    client.crm.contacts.basic_api.update("1000", {"properties": {"firstname": "Moved"}})
    page = _search(
        client,
        filter_groups=_filters(
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(BASE_MS + 2)}
        ),
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
    )
    assert [r.id for r in page.results] == ["1002", "1000"]


def test_default_properties_and_creation_order(sandbox):
    """Without properties/sorts, results carry the default properties, oldest first."""
    contacts = [_contact(i, BASE_MS, firstname=f"F{i}") for i in (2, 0, 1)]
    client = hubspot_client(sandbox({"hubspot": {"contacts": contacts}}))
    page = _search(client)
    assert [r.id for r in page.results] == ["1000", "1001", "1002"]
    assert set(page.results[0].properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert page.paging is None


def test_descending_sort(sandbox):
    """A DESCENDING sort reverses the order."""
    contacts = [_contact(i, BASE_MS + i) for i in range(3)]
    client = hubspot_client(sandbox({"hubspot": {"contacts": contacts}}))
    page = _search(client, sorts=[{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}])
    assert [r.id for r in page.results] == ["1002", "1001", "1000"]


@pytest.fixture
def varied(sandbox):
    contacts = [
        _contact(
            0,
            BASE_MS,
            firstname="Alice",
            lastname="Smith",
            lifecyclestage="lead",
            hubspotscore="9",
            company="Acme Corp",
        ),
        _contact(
            1,
            BASE_MS,
            firstname="alice",
            lastname="Jones",
            lifecyclestage="customer",
            hubspotscore="10",
        ),
        _contact(2, BASE_MS, firstname="Bob", lastname="Smith", hubspotscore="100"),
    ]
    return hubspot_client(sandbox({"hubspot": {"contacts": contacts}}))


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "firstname", "operator": "EQ", "value": "ALICE"}, ["1000", "1001"]),
        ({"propertyName": "lastname", "operator": "NEQ", "value": "smith"}, ["1001"]),
        ({"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}, ["1000"]),
        ({"propertyName": "lifecyclestage", "operator": "EQ", "value": "LEAD"}, []),
        ({"propertyName": "hubspotscore", "operator": "GT", "value": "9"}, ["1001", "1002"]),
        ({"propertyName": "hubspotscore", "operator": "LTE", "value": "10"}, ["1000", "1001"]),
        (
            {
                "propertyName": "hubspotscore",
                "operator": "BETWEEN",
                "value": "10",
                "highValue": "100",
            },
            ["1001", "1002"],
        ),
        (
            {"propertyName": "lastname", "operator": "IN", "values": ["smith", "nobody"]},
            ["1000", "1002"],
        ),
        ({"propertyName": "lastname", "operator": "IN", "values": ["Smith"]}, []),
        ({"propertyName": "lastname", "operator": "NOT_IN", "values": ["smith"]}, ["1001"]),
        ({"propertyName": "lifecyclestage", "operator": "HAS_PROPERTY"}, ["1000", "1001"]),
        ({"propertyName": "lifecyclestage", "operator": "NOT_HAS_PROPERTY"}, ["1002"]),
        (
            {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.test"},
            ["1000", "1001", "1002"],
        ),
        ({"propertyName": "company", "operator": "CONTAINS_TOKEN", "value": "acme"}, ["1000"]),
        (
            {"propertyName": "company", "operator": "NOT_CONTAINS_TOKEN", "value": "acme"},
            ["1001", "1002"],
        ),
    ],
)
def test_operators(varied, flt, expected):
    """Each operator matches as HubSpot documents it (case rules, numbers, IN lowercase rule)."""
    page = _search(varied, filter_groups=_filters(flt))
    assert [r.id for r in page.results] == expected
    assert page.total == len(expected)


def test_filter_groups_are_ored_and_filters_anded(varied):
    """Filters in a group must all match; any group may match."""
    page = _search(
        varied,
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "firstname", "operator": "EQ", "value": "alice"},
                    {"propertyName": "lastname", "operator": "EQ", "value": "jones"},
                ]
            },
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "bob"}]},
        ],
    )
    assert [r.id for r in page.results] == ["1001", "1002"]


def test_free_text_query(varied):
    """`query` searches the default searchable properties."""
    assert [r.id for r in _search(varied, query="acme").results] == ["1000"]


def _many_filters(groups: int, per_group: int) -> list[dict]:
    flt = {"propertyName": "firstname", "operator": "HAS_PROPERTY"}
    return [{"filters": [flt] * per_group} for _ in range(groups)]


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"limit": 201}, "limit"),
        ({"filter_groups": _many_filters(6, 1)}, "filter groups"),
        ({"filter_groups": _many_filters(1, 7)}, "filters in a filter group"),
        ({"filter_groups": _many_filters(4, 5)}, "Too many filters: 20"),
        ({"after": "abc"}, "after"),
        (
            {
                "filter_groups": _filters(
                    {"propertyName": "shoe_size", "operator": "EQ", "value": "9"}
                )
            },
            'Property "shoe_size" does not exist',
        ),
        (
            {
                "filter_groups": _filters(
                    {"propertyName": "hubspotscore", "operator": "GT", "value": "lots"}
                )
            },
            "not a valid number",
        ),
    ],
)
def test_invalid_requests_answer_400(varied, request_body, fragment):
    """Requests beyond HubSpot's search limits answer 400 VALIDATION_ERROR."""
    status, body = _search_error(varied, **request_body)
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert fragment in body["message"]


def test_largest_allowed_request_passes(varied):
    """5 groups, 6 filters in a group and 18 filters in all, 200 per page, are accepted."""
    flt = {"propertyName": "firstname", "operator": "HAS_PROPERTY"}
    groups = [{"filters": [flt] * n} for n in (6, 6, 4, 1, 1)]
    page = _search(varied, filter_groups=groups, limit=200)
    assert page.total == 3


def test_results_stop_at_ten_thousand(sandbox):
    """Paging may reach the 10,000th result but a request going past it answers 400."""
    contacts = [{"properties": {"email": f"bulk{i}@example.test"}} for i in range(10_050)]
    server = sandbox({"hubspot": {"contacts": contacts}})
    server.sandbox.config.enforce_rate_limits = False
    client = hubspot_client(server)
    last = _search(client, limit=200, after="9800")
    assert last.total == 10_050
    assert len(last.results) == 200
    assert last.paging.next.after == "10000"
    for after, limit in (("10000", 10), ("9900", 200)):
        status, body = _search_error(client, limit=limit, after=after)
        assert status == 400
        assert body["category"] == "VALIDATION_ERROR"
        assert "10,000" in body["message"]


def test_archived_contacts_are_not_searched(sandbox):
    """Archived CRM objects don't appear in search results."""
    server = sandbox({"hubspot": {"contacts": [_contact(i, BASE_MS) for i in range(2)]}})
    client = hubspot_client(server)
    client.crm.contacts.basic_api.archive("1000")
    assert [r.id for r in _search(client).results] == ["1001"]
