"""The sandbox's Fetch Multiple Lists (`GET /crm/v3/lists/?listIds=..`): the documented example
replayed, and the unmodified hubspot-api-client calling it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.conftest import hubspot_client
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "hubspot"


def _seed(*lists: dict[str, Any], contacts: int = 0) -> dict[str, Any]:
    rows = [{"id": str(1001 + i), "properties": {}} for i in range(contacts)]
    return {"hubspot": {"contacts": rows, "lists": list(lists)}}


def test_fetch_multiple_matches_the_reference_example(sandbox):
    """Both documented lists come back with the documented keys and values; `listVersion` is
    the one value the sandbox does not keep (its lists have no versions: always 1)."""
    fixture = json.loads((FIXTURES / "lists_get_multiple.json").read_text(encoding="utf-8"))
    documented = fixture["body"]["lists"]
    seeded, offset = [], 0
    for entry in documented:
        members = [str(1001 + offset + i) for i in range(entry["size"])]
        offset += entry["size"]
        seeded.append(
            {
                key: entry[key]
                for key in (
                    "listId",
                    "name",
                    "processingType",
                    "createdAt",
                    "updatedAt",
                    "filtersUpdatedAt",
                    "createdById",
                    "updatedById",
                )
            }
            | {"memberships": members}
        )
    server = sandbox(_seed(*seeded, contacts=offset))
    request = fixture["request"]
    response = requests.request(
        request["method"],
        server.url + request["path"],
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == fixture["status"]
    body = response.json()
    assert shape_diff(fixture["body"], body) == []
    assert [{**lst, "listVersion": 2} for lst in body["lists"]] == documented


def test_client_fetches_the_lists_that_exist_in_the_order_asked(sandbox):
    """`lists_api.get_all(list_ids=...)`: known ids in the order asked, unknown ones left out
    (unconfirmed: the reference says only lists "that exist" come back)."""
    server = sandbox(
        _seed(
            {"listId": "12", "name": "Prospect nurture"},
            {"listId": "13", "name": "Engaged", "processingType": "DYNAMIC"},
        )
    )
    client = hubspot_client(server)
    answer = client.crm.lists.lists_api.get_all(list_ids=["13", "99", "12"])
    assert [(lst.list_id, lst.name, lst.processing_type) for lst in answer.lists] == [
        ("13", "Engaged", "DYNAMIC"),
        ("12", "Prospect nurture", "MANUAL"),
    ]
    (entry,) = server.sandbox.journal.entries(api="hubspot")
    assert (entry.method, entry.path, entry.status) == ("GET", "/crm/v3/lists/", 200)
    assert entry.query == "listIds=13&listIds=99&listIds=12"
