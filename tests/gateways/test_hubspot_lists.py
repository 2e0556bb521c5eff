"""`HubSpotGateway.remove_from_lists` and `list_ids_by_name` against the sandbox's Lists API."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import ConfigError, FatalApiError
from connector.hubspot.gateway import LIST_MEMBERSHIP_CHUNK, HubSpotGateway
from connector.model import ListRemoval
from connector.sandbox.app import Fault
from tests.gateways.hubspot_support import FakeTime, fast_gateway, gateway_settings, statuses

REMOVE = "/crm/v3/lists/{}/memberships/remove"
BY_NAME = "/crm/v3/lists/object-type-id/0-1/name/{}"
CONTACTS = [str(1001 + i) for i in range(300)]


def _seed(*lists: dict[str, Any]) -> dict[str, Any]:
    contacts = [{"id": i, "properties": {"email": f"c{i}@acme.test"}} for i in CONTACTS]
    return {"hubspot": {"contacts": contacts, "lists": list(lists)}}


def _nurture(members: list[str], list_id: str = "12", **extra: Any) -> dict[str, Any]:
    return {"listId": list_id, "name": "Prospect nurture", "memberships": members, **extra}


def _members(server, list_id: str) -> set[str]:
    return set(server.sandbox.portal.lists[list_id].members)


def _calls(server) -> list[tuple[str, str, int]]:
    return [(e.method, e.path, e.status) for e in server.sandbox.journal.entries(api="hubspot")]


def test_250_contacts_leave_a_list_in_chunks_of_100(sandbox):
    """250 ids cost 3 calls (100, 100, 50); members are removed, the others reported."""
    members = CONTACTS[:200]
    server = sandbox(_seed(_nurture(members)))
    gateway, _ = fast_gateway(server)
    asked = CONTACTS[150:300] + CONTACTS[:100]  # 150 members, 100 non-members: 250 ids

    (result,) = gateway.remove_from_lists({"12": asked})

    assert LIST_MEMBERSHIP_CHUNK == 100
    assert _calls(server) == [("PUT", REMOVE.format(12), 200)] * 3
    assert result.success
    assert result.removed == tuple(CONTACTS[150:200] + CONTACTS[:100])
    assert result.not_members == tuple(CONTACTS[200:300])
    assert _members(server, "12") == set(CONTACTS[100:150])


def test_duplicates_are_sent_once(sandbox):
    """A contact listed twice is removed once and reported once."""
    server = sandbox(_seed(_nurture(["1001"])))
    gateway, _ = fast_gateway(server)

    (result,) = gateway.remove_from_lists({"12": ["1001", "1001", "1002"]})

    assert (result.removed, result.not_members) == (("1001",), ("1002",))
    assert len(_calls(server)) == 1


def test_a_dynamic_or_unknown_list_is_refused_alone_with_hubspots_reason(sandbox):
    """Per list: the MANUAL list loses its members; the DYNAMIC and the unknown list come back
    refused with HubSpot's category and message after one call each; nothing raises."""
    dynamic = {"listId": "13", "name": "Engaged", "processingType": "DYNAMIC", "memberships": []}
    server = sandbox(_seed(_nurture(["1001", "1002"]), dynamic))
    gateway, _ = fast_gateway(server)
    many = CONTACTS[:150]  # two chunks' worth: a refused list is not asked twice

    results = gateway.remove_from_lists({"13": many, "12": ["1001"], "99": many})

    assert [r.list_id for r in results] == ["13", "12", "99"]
    refused_dynamic, manual, unknown = results
    assert manual == ListRemoval("12", removed=("1001",))
    assert not refused_dynamic.success
    assert refused_dynamic.code == "VALIDATION_ERROR"
    assert refused_dynamic.refused.startswith("HubSpot refused the request (400 VALIDATION_ERROR)")
    assert "dynamic list" in refused_dynamic.refused
    assert (refused_dynamic.removed, refused_dynamic.not_members) == ((), ())
    assert unknown.code == "OBJECT_NOT_FOUND"
    assert "(404 OBJECT_NOT_FOUND): List 99 does not exist." in unknown.refused
    assert _calls(server) == [
        ("PUT", REMOVE.format(13), 400),
        ("PUT", REMOVE.format(12), 200),
        ("PUT", REMOVE.format(99), 404),
    ]
    assert _members(server, "12") == {"1002"}


def test_a_refusal_after_a_chunk_keeps_what_was_removed(sandbox):
    """A list that turns DYNAMIC between two chunks: the first chunk's removals are reported
    with the refusal of the second."""
    server = sandbox(_seed(_nurture(CONTACTS[:150])))
    time = FakeTime()
    server.sandbox.portal.clock = time.clock

    def sleep(seconds: float) -> None:  # the pacer waits between the two chunks
        server.sandbox.portal.lists["12"].processing_type = "DYNAMIC"
        time.sleep(seconds)

    settings = gateway_settings(server, hubspot_requests_per_10s=1)
    gateway = HubSpotGateway.connect(settings, sleep=sleep, clock=time.clock)

    (result,) = gateway.remove_from_lists({"12": CONTACTS[:150]})

    assert result.refused is not None and "dynamic list" in result.refused
    assert result.removed == tuple(CONTACTS[:100])
    assert result.not_members == ()
    assert statuses(server, REMOVE.format(12)) == [200, 400]


def test_rate_limit_answers_are_retried_like_other_calls(sandbox):
    """A 429 TEN_SECONDLY_ROLLING on a remove waits Retry-After and tries again."""
    server = sandbox(_seed(_nurture(["1001"])))
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c5a1b8a4-2b8e-4b8f-9b1c-1f6e0a9d0e11",
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    fault = Fault(REMOVE.format(12), 429, body, headers={"Retry-After": "2"}, times=1)
    server.sandbox.inject_fault(fault)
    gateway, time = fast_gateway(server)

    (result,) = gateway.remove_from_lists({"12": ["1001"]})

    assert result.removed == ("1001",)
    assert time.sleeps == [2.0]
    assert statuses(server, REMOVE.format(12)) == [429, 200]


def test_calls_are_paced_under_the_ten_second_budget(sandbox):
    """With a budget of 2 calls per 10 s, the third chunk waits for the window instead of
    meeting HubSpot's 429."""
    server = sandbox(_seed(_nurture(CONTACTS)))
    server.sandbox.config.hubspot_ten_second_limit = 2
    gateway, time = fast_gateway(server, hubspot_requests_per_10s=2)

    (result,) = gateway.remove_from_lists({"12": CONTACTS})

    assert len(result.removed) == 300
    assert statuses(server, REMOVE.format(12)) == [200] * 3
    assert sum(time.sleeps) >= 10.0  # the third call left a full window after the first


def test_a_missing_scope_stops_the_pass(sandbox):
    """403 MISSING_SCOPES concerns every list: a ConfigError naming the scope, not a refusal."""
    server = sandbox(_seed(_nurture(["1001"])))
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "0b9c7a4e-3d61-4a8e-9f3e-5b0c2f7d8e90",
        "errors": [
            {"message": "scopes", "context": {"requiredGranularScopes": ["crm.lists.write"]}}
        ],
        "category": "MISSING_SCOPES",
    }
    server.sandbox.inject_fault(Fault(REMOVE.format(12), 403, body, times=1))
    gateway, _ = fast_gateway(server)

    with pytest.raises(ConfigError, match=r"crm\.lists\.write"):
        gateway.remove_from_lists({"12": ["1001"]})


def test_the_spent_daily_budget_stops_the_pass(sandbox):
    """A 429 DAILY is not a refusal of one list: it raises, unretried."""
    server = sandbox(_seed(_nurture(["1001"])))
    body = {"status": "error", "message": "daily", "errorType": "RATE_LIMIT", "policyName": "DAILY"}
    server.sandbox.inject_fault(Fault(REMOVE.format(12), 429, body, times=1))
    gateway, time = fast_gateway(server)

    with pytest.raises(FatalApiError) as raised:
        gateway.remove_from_lists({"12": ["1001"], "13": ["1001"]})

    assert raised.value.code == "DAILY"
    assert statuses(server, REMOVE.format(12)) == [429]
    assert time.sleeps == []


def test_list_ids_by_name_resolves_each_name_once_case_insensitively(sandbox):
    """Names resolve to ids (HubSpot ignores case); an unknown name is absent; one GET per
    distinct name."""
    second = {"listId": "40", "name": "Newsletter / EMEA", "memberships": []}
    server = sandbox(_seed(_nurture([]), second))
    gateway, _ = fast_gateway(server)

    found = gateway.list_ids_by_name(
        ["prospect NURTURE", "Newsletter / EMEA", "No such list", "prospect NURTURE"]
    )

    assert found == {"prospect NURTURE": "12", "Newsletter / EMEA": "40"}
    assert _calls(server) == [
        ("GET", BY_NAME.format("prospect NURTURE"), 200),
        ("GET", BY_NAME.format("Newsletter / EMEA"), 200),
        ("GET", BY_NAME.format("No such list"), 404),
    ]
    assert [e.query for e in server.sandbox.journal.entries(api="hubspot")] == ["", "", ""]
