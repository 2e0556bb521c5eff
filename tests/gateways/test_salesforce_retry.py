"""The gateway retries only what is transient, waits as Salesforce asks, logs in again once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from structlog.testing import capture_logs

from connector.errors import ConfigError, FatalApiError, RetriableApiError
from connector.model import FieldError, LeadUpsert, WriteResult
from tests.gateways.test_salesforce_gateway import (
    API,
    COMPOSITE_URL,
    TOKEN_URL,
    UPSERT_URL,
    body_of,
    composite_answer,
    make_gateway,
    make_settings,
)

BUSY = [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]
OK = [{"id": "00Q000000000001AAA", "success": True, "errors": [], "created": True}]
LOCKED = {
    "success": False,
    "errors": [
        {
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access",
            "fields": [],
        }
    ],
}


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def retries(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "api.retry"]


def test_503_twice_then_ok(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """Two 503s then success: three attempts, sleeping exactly the Retry-After values."""
    http.add(responses.PATCH, UPSERT_URL, status=503, json=BUSY, headers={"Retry-After": "2"})
    http.add(responses.PATCH, UPSERT_URL, status=503, json=BUSY, headers={"Retry-After": "3"})
    http.add(responses.PATCH, UPSERT_URL, json=OK)

    with capture_logs() as logs:
        results = make_gateway(sleep=sleeps.append).upsert_leads(
            [LeadUpsert("1", {"LastName": "A"})]
        )

    assert len(http.calls) == 3
    assert sleeps == [2.0, 3.0]
    assert [(e["attempt"], e["status"], e["code"]) for e in retries(logs)] == [
        (1, 503, "SERVER_UNAVAILABLE"),
        (2, 503, "SERVER_UNAVAILABLE"),
    ]
    assert results == [
        WriteResult("1", success=True, salesforce_id="00Q000000000001AAA", created=True)
    ]


def test_503_until_attempts_run_out(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """A 503 that never ends raises RetriableApiError after salesforce_max_attempts tries."""
    http.add(responses.PATCH, UPSERT_URL, status=503, json=BUSY, headers={"Retry-After": "1"})
    gateway = make_gateway(make_settings(salesforce_max_attempts=3), sleep=sleeps.append)

    with capture_logs() as logs, pytest.raises(RetriableApiError) as info:
        gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert len(http.calls) == 3
    assert sleeps == [1.0, 1.0]
    assert len(retries(logs)) == 2
    assert (info.value.status, info.value.code, info.value.retry_after) == (
        503,
        "SERVER_UNAVAILABLE",
        1.0,
    )


def test_400_never_retried(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """A 400 is answered once: no retry, no sleep, FatalApiError."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=400,
        json=[{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}],
        headers={"Retry-After": "5"},
    )

    with capture_logs() as logs, pytest.raises(FatalApiError):
        make_gateway(sleep=sleeps.append).upsert_leads([LeadUpsert("1", {})])

    assert len(http.calls) == 1
    assert sleeps == []
    assert retries(logs) == []


def test_401_logs_in_again_once(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """An expired session logs in again (password grant) and repeats the call with the new token."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=401,
        json=[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
    )
    http.add(
        responses.POST,
        TOKEN_URL,
        json={
            "access_token": "new-token",
            "instance_url": "https://sf.test",
            "token_type": "Bearer",
        },
    )
    http.add(responses.PATCH, UPSERT_URL, json=OK)

    with capture_logs() as logs:
        results = make_gateway(sleep=sleeps.append).upsert_leads(
            [LeadUpsert("1", {"LastName": "A"})]
        )

    assert [c.request.method for c in http.calls] == ["PATCH", "POST", "PATCH"]
    assert http.calls[0].request.headers["Authorization"] == "Bearer x"
    assert http.calls[2].request.headers["Authorization"] == "Bearer new-token"
    assert body_of(http.calls[2]) == body_of(http.calls[0])
    assert results[0].success
    assert sleeps == []
    assert retries(logs) == []
    assert [e["event"] for e in logs if e["event"].startswith("salesforce.")] == [
        "salesforce.login",
        "salesforce.reauth",
        "salesforce.write",
    ]


def test_second_401_is_fatal(http: responses.RequestsMock) -> None:
    """If the fresh session is refused too, the call stops with FatalApiError after one re-login."""
    expired = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
    http.add(responses.PATCH, UPSERT_URL, status=401, json=expired)
    http.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": "new-token", "instance_url": "https://sf.test"},
    )

    with pytest.raises(FatalApiError) as info:
        make_gateway().upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert [c.request.method for c in http.calls] == ["PATCH", "POST", "PATCH"]
    assert (info.value.status, info.value.code) == (401, "INVALID_SESSION_ID")
    assert "new-token" not in str(info.value)
    assert "even after logging in again" in str(info.value)


def test_locked_records_retried_alone(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """UNABLE_TO_LOCK_ROW records are sent again alone; the others keep their first result."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        json=[
            {"id": "00Q000000000001AAA", "success": True, "errors": [], "created": True},
            LOCKED,
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "STRING_TOO_LONG",
                        "message": "Company: too long",
                        "fields": ["Company"],
                    }
                ],
            },
            LOCKED,
        ],
    )
    http.add(
        responses.PATCH,
        UPSERT_URL,
        json=[
            {"id": "00Q000000000002AAA", "success": True, "errors": [], "created": False},
            {"id": "00Q000000000004AAA", "success": True, "errors": [], "created": True},
        ],
    )
    upserts = [LeadUpsert(str(i), {"LastName": f"L{i}"}) for i in range(1, 5)]

    with capture_logs() as logs:
        results = make_gateway(sleep=sleeps.append).upsert_leads(upserts)

    assert [[r["HubSpot_Contact_Id__c"] for r in body_of(c)["records"]] for c in http.calls] == [
        ["1", "2", "3", "4"],
        ["2", "4"],
    ]
    assert results == [
        WriteResult("1", success=True, salesforce_id="00Q000000000001AAA", created=True),
        WriteResult("2", success=True, salesforce_id="00Q000000000002AAA", created=False),
        WriteResult(
            "3",
            success=False,
            errors=(FieldError("STRING_TOO_LONG", "Company: too long", ("Company",)),),
        ),
        WriteResult("4", success=True, salesforce_id="00Q000000000004AAA", created=True),
    ]
    assert len(sleeps) == 1
    assert [(e["status"], e["code"]) for e in retries(logs)] == [(200, "UNABLE_TO_LOCK_ROW")]


def test_locked_to_the_end_becomes_failed_result(
    http: responses.RequestsMock, sleeps: list[float]
) -> None:
    """A record still locked after every attempt is a failed result (to dead-letter), no error."""
    http.add(responses.PATCH, UPSERT_URL, json=[LOCKED])
    gateway = make_gateway(make_settings(salesforce_max_attempts=2), sleep=sleeps.append)

    results = gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert len(http.calls) == 2
    assert results == [
        WriteResult(
            "1",
            success=False,
            errors=(FieldError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"),),
        )
    ]


def test_request_limit_is_fatal(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """403 REQUEST_LIMIT_EXCEEDED stops the pass at once: FatalApiError, one attempt."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=403,
        json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
    )

    with capture_logs() as logs, pytest.raises(FatalApiError) as info:
        make_gateway(sleep=sleeps.append).upsert_leads([LeadUpsert("1", {})])

    assert len(http.calls) == 1
    assert sleeps == []
    assert retries(logs) == []
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert "daily API limit spent" in str(info.value)


def test_connection_error_retried(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """A dropped connection is retried with back-off, then the call goes through."""
    http.add(responses.POST, COMPOSITE_URL, body=requests.ConnectionError("connection reset"))
    http.add(responses.POST, COMPOSITE_URL, json=composite_answer([], []))

    with capture_logs() as logs:
        assert make_gateway(sleep=sleeps.append).find_by_emails(["a@x.com"]) == []

    assert len(http.calls) == 2
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 2.0  # exponential back-off: 1 s plus up to 1 s of jitter
    assert [(e["status"], e["code"]) for e in retries(logs)] == [(0, None)]


def test_composite_subrequest_busy_retried(
    http: responses.RequestsMock, sleeps: list[float]
) -> None:
    """A transient failure inside a composite subrequest retries the whole look-up."""
    busy = composite_answer([], [])
    busy["compositeResponse"][0] = {
        "body": BUSY,
        "httpHeaders": {"Retry-After": "4"},
        "httpStatusCode": 503,
        "referenceId": "leads",
    }
    http.add(responses.POST, COMPOSITE_URL, json=busy)
    http.add(responses.POST, COMPOSITE_URL, json=composite_answer([], []))

    assert make_gateway(sleep=sleeps.append).find_by_emails(["a@x.com"]) == []

    assert len(http.calls) == 2
    assert sleeps == [4.0]


def test_query_retried_on_429(http: responses.RequestsMock, sleeps: list[float]) -> None:
    """query() goes through the same policy: a 429 with Retry-After is waited out."""
    http.add(responses.GET, f"{API}/query/", status=429, json=BUSY, headers={"Retry-After": "1.5"})
    http.add(responses.GET, f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})

    assert make_gateway(sleep=sleeps.append).query("SELECT Id FROM Lead") == []
    assert sleeps == [1.5]


def test_reauth_token_endpoint_refuses(http: responses.RequestsMock) -> None:
    """If logging in again is refused, the caller gets the login's ConfigError (no secret)."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=401,
        json=[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
    )
    http.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "authentication failure"},
    )

    with pytest.raises(ConfigError) as info:
        make_gateway().upsert_leads([LeadUpsert("1", {})])

    assert str(info.value) == (
        "Salesforce login failed for integration@x.test (invalid_grant: authentication failure); "
        "check LEADBRIDGE_SALESFORCE_PASSWORD and LEADBRIDGE_SALESFORCE_SECURITY_TOKEN"
    )
    token_form = http.calls[1].request.body
    assert "pw-secrettok-secret" in token_form  # the password carries the security token
    assert "secret" not in str(info.value)
