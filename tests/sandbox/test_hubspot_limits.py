"""Authentication, rate limits and their headers, and the journal of HubSpot calls."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest

from tests.conftest import hubspot_client

SEED = {"hubspot": {"contacts": [{"id": "101", "properties": {"email": "ada@acme.test"}}]}}


class FakeClock:
    """A clock the test moves by hand, so rolling windows need no sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _get(server, token: str | None = "sandbox-token"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{server.url}/crm/v3/objects/contacts/101",
        headers=headers,
        verify=str(server.ca_file),
        timeout=10,
    )


def _search(server):
    return requests.post(
        f"{server.url}/crm/v3/objects/contacts/search",
        json={},
        headers={"Authorization": "Bearer sandbox-token"},
        verify=str(server.ca_file),
        timeout=10,
    )


def test_wrong_token_answers_401_through_the_client(sandbox):
    """The unmodified client with a wrong token gets 401 INVALID_AUTHENTICATION."""
    client = hubspot_client(sandbox(SEED), token="pat-na1-wrong")
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.get_by_id("101")
    assert raised.value.status == 401
    body = json.loads(raised.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")


@pytest.mark.parametrize("token", [None, "", "sandbox-token-but-longer"])
def test_missing_or_wrong_bearer_answers_401(sandbox, token):
    """No Authorization header, an empty bearer or a near-miss token all answer 401."""
    response = _get(sandbox(SEED), token)
    assert response.status_code == 401
    assert response.json()["status"] == "error"


def test_changed_token_in_config_is_honoured(sandbox):
    """The token the sandbox accepts comes from its config at request time."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_token = "pat-na1-rotated"
    assert _get(server).status_code == 401
    assert _get(server, "pat-na1-rotated").status_code == 200


def test_every_answer_carries_rate_limit_headers(sandbox):
    """Non-search answers carry the private-app rate-limit headers, counting down."""
    server = sandbox(SEED)
    server.sandbox.portal.clock = FakeClock()
    first, second = _get(server), _get(server)
    assert first.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "188"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "1000000"
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999998"


def test_search_answers_carry_no_rate_limit_headers(sandbox):
    """Search responses include none of the rate-limit headers (HubSpot's usage guidelines)."""
    response = _search(sandbox(SEED))
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("x-hubspot-ratelimit")]


def test_ten_second_budget_answers_429_until_the_window_rolls(sandbox):
    """Past the 10-second budget calls answer 429 TEN_SECONDLY_ROLLING; later they pass again."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_ten_second_limit = 3
    clock = FakeClock()
    server.sandbox.portal.clock = clock
    client = hubspot_client(server)
    for _ in range(3):
        client.crm.contacts.basic_api.get_by_id("101")
        clock.now += 1
    with pytest.raises(ApiException) as raised:
        client.crm.contacts.basic_api.get_by_id("101")
    assert raised.value.status == 429
    body = json.loads(raised.value.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert raised.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    clock.now += 7.5  # the first call is now more than ten seconds old
    assert client.crm.contacts.basic_api.get_by_id("101").id == "101"


def test_search_has_its_own_per_second_limit(sandbox):
    """The sixth search within a second answers 429 with the secondly policy."""
    server = sandbox(SEED)
    clock = FakeClock()
    server.sandbox.portal.clock = clock
    assert [_search(server).status_code for _ in range(5)] == [200] * 5
    refused = _search(server)
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "SECONDLY"
    assert refused.json()["message"] == "You have reached your secondly limit."
    clock.now += 1.0
    assert _search(server).status_code == 200


def test_searches_do_not_use_the_ten_second_budget(sandbox):
    """Searches are exempt from the ten-second limit (they count only against the day)."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_ten_second_limit = 2
    clock = FakeClock()
    server.sandbox.portal.clock = clock
    for _ in range(4):
        assert _search(server).status_code == 200
        clock.now += 0.5
    assert _get(server).headers["X-HubSpot-RateLimit-Remaining"] == "1"


def test_daily_budget_answers_429_daily(sandbox):
    """Once the daily budget is used, calls answer 429 with policyName DAILY until midnight."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_daily_limit = 2
    clock = FakeClock(1_800_000_000.0)  # 2027-01-15T08:00:00Z
    server.sandbox.portal.clock = clock
    assert [_get(server).status_code for _ in range(2)] == [200, 200]
    refused = _get(server)
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    clock.now += 16 * 3600  # past midnight UTC
    assert _get(server).status_code == 200


def test_limits_are_not_enforced_when_switched_off(sandbox):
    """With enforce_rate_limits false nothing is refused, but headers still count."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_ten_second_limit = 1
    server.sandbox.config.enforce_rate_limits = False
    server.sandbox.portal.clock = FakeClock()
    answers = [_get(server) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[-1].headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_journal_records_each_hubspot_call(sandbox):
    """Every HubSpot call is journaled with method, path, status and the token label."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    client.crm.contacts.basic_api.get_by_id("101")
    client.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest()
    )
    client.crm.properties.core_api.get_all("contacts")
    _get(server, "wrong")
    entries = server.sandbox.journal.entries(api="hubspot")
    assert [(e.method, e.path, e.status, e.user) for e in entries] == [
        ("GET", "/crm/v3/objects/contacts/101", 200, "hubspot-token"),
        ("POST", "/crm/v3/objects/contacts/search", 200, "hubspot-token"),
        ("GET", "/crm/v3/properties/contacts", 200, "hubspot-token"),
        ("GET", "/crm/v3/objects/contacts/101", 401, None),
    ]
