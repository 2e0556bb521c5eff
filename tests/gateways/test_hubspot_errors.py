"""What the HubSpot gateway does when HubSpot refuses, fails or cannot be reached."""

from __future__ import annotations

import socket
from time import monotonic

import pytest
from structlog.testing import capture_logs

from connector.errors import ConfigError, FatalApiError, RetriableApiError
from connector.hubspot.gateway import HubSpotGateway
from connector.model import SearchFilter
from connector.sandbox.app import Fault
from tests.gateways.hubspot_support import (
    SEARCH_PATH,
    FakeTime,
    contacts_seed,
    fast_gateway,
    gateway_settings,
    statuses,
)
from tests.relay import Relay

SEED = contacts_seed(3, lambda i: 1_700_000_000_000 + i)
TEN_SECONDLY = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c5a1b8a4-2b8e-4b8f-9b1c-1f6e0a9d0e11",
    "policyName": "TEN_SECONDLY_ROLLING",
    "groupName": "publicapi:private_app-api-calls-ten-secondly:3000001:20000001",
}


def _ids(gateway: HubSpotGateway) -> list[str]:
    return [c.id for page in gateway.changed_contacts(None, ["email"]) for c in page]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ten_secondly_429_is_retried_once_after_ten_seconds(sandbox):
    """A 429 TEN_SECONDLY_ROLLING waits out the window (10 s, no Retry-After) and goes on."""
    server = sandbox(SEED)
    server.sandbox.inject_fault(Fault(SEARCH_PATH, 429, TEN_SECONDLY, times=1))
    gateway, time = fast_gateway(server)

    assert _ids(gateway) == ["1001", "1002", "1003"]
    assert time.sleeps == [10.0]
    assert statuses(server) == [429, 200]


def test_retry_after_header_wins_over_the_policys_window(sandbox):
    """When HubSpot says Retry-After, that is how long the retry waits."""
    server = sandbox(SEED)
    fault = Fault(SEARCH_PATH, 429, TEN_SECONDLY, headers={"Retry-After": "3"}, times=1)
    server.sandbox.inject_fault(fault)
    gateway, time = fast_gateway(server)

    assert _ids(gateway) == ["1001", "1002", "1003"]
    assert time.sleeps == [3.0]


def test_server_errors_are_retried_until_attempts_run_out(sandbox):
    """5xx answers are retried with back-off; after the last attempt the error surfaces."""
    server = sandbox(SEED)
    body = {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}
    server.sandbox.inject_fault(Fault(SEARCH_PATH, 502, body, times=3))
    gateway, time = fast_gateway(server, hubspot_max_attempts=3)

    with pytest.raises(RetriableApiError) as raised:
        _ids(gateway)

    assert raised.value.status == 502
    assert statuses(server) == [502, 502, 502]
    assert len(time.sleeps) == 2


def test_daily_limit_fails_the_pass_without_retrying(sandbox):
    """A 429 DAILY means the budget is gone until tomorrow: fail at once, no retry."""
    server = sandbox(SEED)
    body = {**TEN_SECONDLY, "policyName": "DAILY", "message": "You have reached your daily limit."}
    server.sandbox.inject_fault(Fault(SEARCH_PATH, 429, body, times=1))
    gateway, time = fast_gateway(server)

    with pytest.raises(FatalApiError) as raised:
        _ids(gateway)

    assert raised.value.code == "DAILY"
    assert "tomorrow" in str(raised.value)
    assert statuses(server) == [429]
    assert time.sleeps == []


def test_refused_search_is_fatal_with_hubspots_message(sandbox):
    """A 400 VALIDATION_ERROR (here an unknown property) fails once, naming the problem."""
    server = sandbox(SEED)
    gateway, time = fast_gateway(server)
    any_of = [[SearchFilter("no_such_property", "EQ", "x")]]

    with pytest.raises(FatalApiError) as raised:
        list(gateway.changed_contacts(None, ["email"], any_of=any_of))

    assert raised.value.code == "VALIDATION_ERROR"
    assert raised.value.status == 400
    assert 'Property "no_such_property" does not exist' in str(raised.value)
    assert statuses(server) == [400]
    assert time.sleeps == []


def test_wrong_token_is_a_config_error_that_never_shows_the_token(sandbox):
    """401 names LEADBRIDGE_HUBSPOT_ACCESS_TOKEN, is not retried, and hides the token."""
    server = sandbox(SEED)
    token = "pat-na1-11111111-2222-3333-4444-555555555555"
    time = FakeTime()
    settings = gateway_settings(server, hubspot_access_token=token)
    gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)

    with pytest.raises(ConfigError) as raised:
        _ids(gateway)

    message = str(raised.value)
    assert message == (
        "HubSpot refused the access token (401); check LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"
    )
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert token not in repr(raised.value)
    assert statuses(server) == [401]
    assert time.sleeps == []


def test_missing_scope_is_a_config_error_naming_the_scope(sandbox):
    """403 MISSING_SCOPES names the scope the private app must be granted."""
    server = sandbox(SEED)
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "0b9c7a4e-3d61-4a8e-9f3e-5b0c2f7d8e90",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }
    path = "/crm/v3/objects/contacts/batch/update"
    server.sandbox.inject_fault(Fault(path, 403, body, times=1))
    gateway, _ = fast_gateway(server)

    with pytest.raises(ConfigError, match=r"crm\.objects\.contacts\.write"):
        gateway.update_contacts({"1001": {"firstname": "Ada"}})


def test_unreachable_port_is_a_config_error_naming_the_host(sandbox):
    """Nothing listening before HubSpot ever answered: the base URL is wrong, so a ConfigError
    at once, in the words the Salesforce login uses (host, cause, setting), no retry."""
    server = sandbox(SEED)
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    time = FakeTime()
    settings = gateway_settings(server, hubspot_base_url=url, hubspot_max_attempts=3)
    gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)

    with pytest.raises(ConfigError) as raised:
        _ids(gateway)

    assert str(raised.value) == (
        f"cannot reach HubSpot at {url} (connection refused); check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert time.sleeps == []


def test_unknown_host_is_a_config_error_naming_the_host(sandbox, monkeypatch):
    """A base URL whose host name does not exist: named at once with its setting, no retry."""
    server = sandbox(SEED)
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "hubapi.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    time = FakeTime()
    settings = gateway_settings(server, hubspot_base_url="https://hubapi.invalid")
    gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)

    with pytest.raises(ConfigError) as raised:
        _ids(gateway)

    assert str(raised.value) == (
        "cannot reach HubSpot at https://hubapi.invalid (unknown host); "
        "check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert time.sleeps == []


def test_refused_after_hubspot_answered_is_retried(sandbox):
    """Once HubSpot has answered, a refusal is a blip: retried with the shared policy, and
    named with the setting only when every attempt failed."""
    server = sandbox(SEED)
    with Relay(server.port) as relay:
        time = FakeTime()
        settings = gateway_settings(server, hubspot_base_url=relay.url, hubspot_max_attempts=3)
        gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)
        assert gateway.read_contacts(["1001"], ["email"])[0].id == "1001"
        relay.close()

        with capture_logs() as logs, pytest.raises(ConfigError) as raised:
            gateway.read_contacts(["1002"], ["email"])

    assert str(raised.value) == (
        f"cannot reach HubSpot at {relay.url} (connection refused, after 3 attempts); "
        "check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert [
        (e["remote"], e["attempt"], e["status"], e["code"])
        for e in logs
        if e["event"] == "api.retry"
    ] == [
        ("hubspot", 1, 0, "CONNECTION"),
        ("hubspot", 2, 0, "CONNECTION"),
    ]
    assert len(time.sleeps) == 2


def test_untrusted_certificate_is_a_config_error_naming_the_ca_bundle(sandbox):
    """Without the sandbox's CA the TLS check fails: a ConfigError at once, no retry, worded
    as the Salesforce side words it."""
    server = sandbox(SEED)
    time = FakeTime()
    settings = gateway_settings(server, hubspot_ca_bundle=None)
    gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)

    with pytest.raises(ConfigError) as raised:
        _ids(gateway)

    message = str(raised.value)
    assert message.startswith(
        f"TLS with HubSpot at {server.url} failed (certificate verify failed: "
    )
    assert message.endswith("); check LEADBRIDGE_HUBSPOT_CA_BUNDLE")
    assert "SSLError" not in message
    assert time.sleeps == []
    assert statuses(server) == []


def test_a_server_that_never_answers_times_out(sandbox):
    """Every call has a deadline (hubspot_timeout_seconds): a silent server cannot hang a pass."""
    server = sandbox(SEED)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"https://127.0.0.1:{silent.getsockname()[1]}"
        time = FakeTime()
        settings = gateway_settings(
            server, hubspot_base_url=url, hubspot_timeout_seconds=0.2, hubspot_max_attempts=2
        )
        gateway = HubSpotGateway.connect(settings, sleep=time.sleep, clock=time.clock)
        started = monotonic()

        with pytest.raises(ConfigError) as raised:
            _ids(gateway)

    assert 0.4 <= monotonic() - started < 5
    assert len(time.sleeps) == 1
    assert str(raised.value) == (
        f"cannot reach HubSpot at {url} (timed out, after 2 attempts); "
        "check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
