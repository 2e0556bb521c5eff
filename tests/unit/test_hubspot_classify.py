"""The HubSpot failure table: every answer leadbridge can get, and what it must do about it."""

from __future__ import annotations

import json

import pytest

from connector.hubspot.classify import RejectedRecord, classify


def _rate(policy: str) -> dict[str, str]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "0c8e9a4f-6b53-4bfa-8c0e-1d1f1a2b3c4d",
        "policyName": policy,
    }


def _error(category: str, message: str = "boom", **extra: object) -> dict[str, object]:
    return {
        "status": "error",
        "message": message,
        "correlationId": "x",
        "category": category,
        **extra,
    }


MISSING_SCOPES = _error(
    "MISSING_SCOPES",
    "This app hasn't been granted all required scopes to make this call.",
    errors=[
        {
            "message": "One or more of the following scopes are required.",
            "context": {
                "requiredScopes": ["crm.objects.contacts.read", "crm.objects.contacts.write"]
            },
        }
    ],
)
PAST_CAP = _error(
    "VALIDATION_ERROR", "Paging past 10,000 results is not supported: after (10000) plus limit"
)

TS, SEC, DAILY = _rate("TEN_SECONDLY_ROLLING"), _rate("SECONDLY"), _rate("DAILY")
TEN, TOKEN = "TEN_SECONDLY_ROLLING", "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"
AUTH = _error("INVALID_AUTHENTICATION")

# id, status, body, headers -> action, code, retry_after, setting
TABLE = [
    ("429-ten-secondly", 429, TS, {}, "retry", TEN, 10.0, None),
    ("429-retry-after-wins", 429, TS, {"Retry-After": "2.5"}, "retry", TEN, 2.5, None),
    ("429-unusable-retry-after", 429, TS, {"Retry-After": "soon"}, "retry", TEN, 10.0, None),
    ("429-search-secondly", 429, SEC, {}, "retry", "SECONDLY", 1.0, None),
    ("429-header-any-case", 429, SEC, {"retry-after": "4"}, "retry", "SECONDLY", 4.0, None),
    ("429-daily", 429, DAILY, {}, "fail", "DAILY", None, None),
    ("429-no-body", 429, None, {}, "retry", "UNKNOWN", 10.0, None),
    ("500", 500, _error("INTERNAL_ERROR"), {}, "retry", "INTERNAL_ERROR", None, None),
    ("502-html", 502, "<html>Bad Gateway</html>", {}, "retry", "HTTP_502", None, None),
    ("503-retry-after", 503, None, {"Retry-After": "30"}, "retry", "HTTP_503", 30.0, None),
    ("no-answer", 0, None, None, "retry", "CONNECTION", None, None),
    ("401", 401, AUTH, {}, "fail", "INVALID_AUTHENTICATION", None, TOKEN),
    ("401-empty-body", 401, b"", {}, "fail", "INVALID_AUTHENTICATION", None, TOKEN),
    ("403-scopes", 403, MISSING_SCOPES, {}, "fail", "MISSING_SCOPES", None, TOKEN),
    ("403-other", 403, _error("FORBIDDEN"), {}, "fail", "FORBIDDEN", None, None),
    ("400-past-cap", 400, PAST_CAP, {}, "fail", "VALIDATION_ERROR", None, None),
    ("404-empty", 404, None, {}, "fail", "HTTP_404", None, None),
    ("409", 409, _error("CONFLICT"), {}, "fail", "CONFLICT", None, None),
    ("200", 200, {"status": "COMPLETE", "results": []}, {}, "ok", None, None, None),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "action", "code", "after", "setting"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_table(status, body, headers, action, code, after, setting):
    """Each answer maps to the one action the gateway must carry out."""
    resolution = classify(status, body, headers)
    assert (resolution.action, resolution.code) == (action, code)
    assert resolution.retry_after == after
    assert resolution.setting == setting
    assert resolution.rejected == ()


@pytest.mark.parametrize("encode", [json.dumps, lambda b: json.dumps(b).encode(), lambda b: b])
def test_body_may_be_text_bytes_or_parsed(encode):
    """The client library hands bodies over as bytes or str; the table reads them all."""
    assert classify(429, encode(_rate("DAILY")), {}).action == "fail"


def test_401_message_names_the_setting():
    """A refused token says which setting to fix."""
    reason = classify(401, _error("INVALID_AUTHENTICATION"), {}).reason
    assert reason == "HubSpot refused the access token (401); check LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"


def test_missing_scopes_message_names_each_scope():
    """A 403 for scopes names the ones the private app must be granted."""
    reason = classify(403, MISSING_SCOPES, {}).reason
    assert "(crm.objects.contacts.read, crm.objects.contacts.write)" in reason
    assert "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN" in reason


def test_daily_limit_says_when_calls_resume():
    """A spent daily budget is not retried today, and the message says so."""
    assert "tomorrow" in classify(429, _rate("DAILY"), {}).reason


def test_fatal_reason_carries_hubspots_message():
    """A refused search keeps HubSpot's explanation (e.g. paging past 10,000)."""
    reason = classify(400, PAST_CAP, {}).reason
    assert reason.startswith("HubSpot refused the request (400 VALIDATION_ERROR): Paging past")


@pytest.mark.parametrize(
    "category", ["VALIDATION_ERROR", "INVALID_EMAIL", "OBJECT_NOT_FOUND", "CONFLICT"]
)
def test_batch_errors_reject_only_the_records_they_name(category):
    """A 207 rejects exactly the ids in its errors' context, with HubSpot's category."""
    body = {
        "status": "COMPLETE",
        "results": [{"id": "1003"}],
        "numErrors": 1,
        "errors": [
            {
                "status": "error",
                "category": category,
                "message": "no good",
                "context": {"ids": ["1001", "1002"]},
            }
        ],
    }
    resolution = classify(207, body, {})
    assert resolution.action == "reject_record"
    assert resolution.rejected == (
        RejectedRecord("1001", category, "no good"),
        RejectedRecord("1002", category, "no good"),
    )


def test_batch_error_keeps_sub_category_and_property_names():
    """A refused value names its properties; a subCategory refines the code."""
    body = {
        "status": "COMPLETE",
        "results": [],
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "subCategory": "PROPERTY_VALIDATION",
                "message": "Property values were not valid",
                "context": {"ids": ["1001"]},
                "errors": [
                    {
                        "message": "x",
                        "code": "INVALID_OPTION",
                        "context": {"propertyName": ["hs_lead_status"]},
                    },
                    {
                        "message": "y",
                        "code": "INVALID_EMAIL",
                        "context": {"propertyName": ["email"]},
                    },
                ],
            },
            {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone", "context": {}},
        ],
    }
    (rejected,) = classify(207, body, {}).rejected
    assert rejected == RejectedRecord(
        "1001",
        "VALIDATION_ERROR/PROPERTY_VALIDATION",
        "Property values were not valid",
        ("hs_lead_status", "email"),
    )


def test_a_refused_value_echoed_in_a_message_comes_out_escaped_and_bounded():
    """HubSpot echoes values in its messages: a record's reason and a request's stay
    printable and bounded."""
    value = "\x1b]0;pwned\x07" + "x" * 5000
    body = {
        "status": "COMPLETE",
        "results": [],
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": f"Email address {value} is invalid",
                "context": {"ids": ["1001"]},
            }
        ],
    }
    (rejected,) = classify(207, body, {}).rejected
    assert rejected.message.isprintable()
    assert rejected.message.startswith("Email address \\x1b]0;pwned\\x07xxx")
    assert rejected.message.endswith(" is invalid")
    assert len(rejected.message) <= 500
    reason = classify(400, _error("VALIDATION_ERROR", f"{value} was not a valid number."), {})
    assert reason.reason.isprintable()
    assert len(reason.reason) <= 600
