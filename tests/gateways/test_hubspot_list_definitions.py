"""`HubSpotGateway.lists`: list definitions by id (for `mappings validate`), on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import FatalApiError
from connector.hubspot.gateway import LIST_FETCH_CHUNK
from connector.sandbox.app import Fault
from tests.gateways.hubspot_support import fast_gateway


def _seed(count: int = 3) -> dict[str, Any]:
    kinds = ("MANUAL", "DYNAMIC", "SNAPSHOT")
    lists = [
        {"listId": str(12 + i), "name": f"List {i}", "processingType": kinds[i % 3]}
        for i in range(count)
    ]
    return {"hubspot": {"lists": lists}}


def _calls(server) -> list[tuple[str, str, int]]:
    return [(e.method, e.path, e.status) for e in server.sandbox.journal.entries(api="hubspot")]


def test_definitions_of_known_ids_in_one_call(sandbox):
    """Three ids, one unknown: one call; the two known definitions with their processing
    types; duplicates asked once."""
    server = sandbox(_seed())
    gateway, _ = fast_gateway(server)
    found = gateway.lists(["13", "99", "12", "13"])
    assert [(d["listId"], d["name"], d["processingType"]) for d in found] == [
        ("13", "List 1", "DYNAMIC"),
        ("12", "List 0", "MANUAL"),
    ]
    assert _calls(server) == [("GET", "/crm/v3/lists/", 200)]
    assert server.sandbox.journal.entries()[0].query == "listIds=13&listIds=99&listIds=12"


def test_no_ids_no_call_and_many_ids_in_chunks(sandbox):
    """Nothing to ask costs nothing; 150 ids cost two calls (100 and 50)."""
    server = sandbox(_seed(150))
    gateway, _ = fast_gateway(server)
    assert gateway.lists([]) == []
    assert _calls(server) == []
    found = gateway.lists([str(12 + i) for i in range(150)])
    assert LIST_FETCH_CHUNK == 100
    assert len(found) == 150
    assert _calls(server) == [("GET", "/crm/v3/lists/", 200)] * 2


def test_a_404_for_the_batch_falls_back_to_one_call_per_list(sandbox):
    """Should HubSpot refuse the batch with 404 (unconfirmed), each list is fetched alone and
    an unknown one is absent."""
    server = sandbox(_seed())
    gateway, _ = fast_gateway(server)
    body = {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
    server.sandbox.inject_fault(Fault("/crm/v3/lists/", 404, body, times=1))
    found = gateway.lists(["12", "99"])
    assert [d["listId"] for d in found] == ["12"]
    assert _calls(server) == [
        ("GET", "/crm/v3/lists/", 404),
        ("GET", "/crm/v3/lists/12", 200),
        ("GET", "/crm/v3/lists/99", 404),
    ]


def test_another_refusal_raises(sandbox):
    """A 400 is not "no such list": it raises (as the other refusals do)."""
    server = sandbox(_seed())
    gateway, _ = fast_gateway(server)
    body = {"status": "error", "message": "bad listIds", "category": "VALIDATION_ERROR"}
    server.sandbox.inject_fault(Fault("/crm/v3/lists/", 400, body, times=1))
    with pytest.raises(FatalApiError):
        gateway.lists(["12"])
