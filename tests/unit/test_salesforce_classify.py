"""The failure table: which Salesforce answers are retried, re-authenticated, rejected or fatal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connector.retry import MAX_RETRY_AFTER, retry_after
from connector.salesforce.classify import Resolution, classify, classify_record


def sf_error(code: str, message: str = "msg") -> list[dict[str, Any]]:
    return [{"errorCode": code, "message": message, "fields": []}]


DATA_CODES = [
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "STRING_TOO_LONG",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "DUPLICATES_DETECTED",
    "REQUIRED_FIELD_MISSING",
    "INVALID_EMAIL_ADDRESS",
    "DUPLICATE_VALUE",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "INACTIVE_OWNER_OR_USER",
    "CANNOT_UPDATE_CONVERTED_LEAD",
    "INVALID_CROSS_REFERENCE_KEY",
    "MALFORMED_ID",
    "FIELD_INTEGRITY_EXCEPTION",
]


@pytest.mark.parametrize(
    ("status", "body", "action", "code"),
    [
        (401, sf_error("INVALID_SESSION_ID"), "reauth", "INVALID_SESSION_ID"),
        (403, sf_error("REQUEST_LIMIT_EXCEEDED"), "fail", "REQUEST_LIMIT_EXCEEDED"),
        (403, sf_error("INSUFFICIENT_ACCESS"), "fail", "INSUFFICIENT_ACCESS"),
        (429, None, "retry", None),
        (500, sf_error("UNKNOWN_EXCEPTION"), "retry", "UNKNOWN_EXCEPTION"),
        (502, "<html>bad gateway</html>", "retry", None),
        (503, sf_error("SERVER_UNAVAILABLE"), "retry", "SERVER_UNAVAILABLE"),
        (504, None, "retry", None),
        (0, None, "retry", None),
        (400, sf_error("UNABLE_TO_LOCK_ROW"), "retry", "UNABLE_TO_LOCK_ROW"),
        (409, sf_error("UNABLE_TO_LOCK_ROW"), "retry", "UNABLE_TO_LOCK_ROW"),
        *[(400, sf_error(code), "reject_record", code) for code in DATA_CODES],
        (
            300,
            ["/services/data/v59.0/sobjects/Lead/00Q1", "/services/data/v59.0/sobjects/Lead/00Q2"],
            "reject_record",
            None,
        ),
        (400, sf_error("MALFORMED_QUERY"), "fail", "MALFORMED_QUERY"),
        (400, sf_error("INVALID_FIELD"), "fail", "INVALID_FIELD"),
        (400, sf_error("INVALID_TYPE"), "fail", "INVALID_TYPE"),
        (400, sf_error("JSON_PARSER_ERROR"), "fail", "JSON_PARSER_ERROR"),
        (404, sf_error("NOT_FOUND"), "fail", "NOT_FOUND"),
        (405, sf_error("METHOD_NOT_ALLOWED"), "fail", "METHOD_NOT_ALLOWED"),
        (501, None, "fail", None),
    ],
)
def test_table(status: int, body: Any, action: str, code: str | None) -> None:
    """Each status/errorCode pair gets the action the design table gives it."""
    resolution = classify(status, body, {})
    assert (resolution.action, resolution.code) == (action, code)


def test_data_code_on_other_status_is_not_rejected_per_record() -> None:
    """A data code only rejects the record on a 400; on a 403 it stops the call."""
    assert classify(403, sf_error("REQUIRED_FIELD_MISSING"), {}).action == "fail"


def test_reason_is_salesforce_message_only() -> None:
    """The reason is `errorCode: message`: no other body part, no header, no token."""
    body = [
        {
            "errorCode": "MALFORMED_QUERY",
            "message": "unexpected token: 'FORM'",
            "fields": [],
            "secret": "00Dxx!token",
        }
    ]
    headers = {"Authorization": "Bearer 00Dxx!token", "Retry-After": "3"}
    resolution = classify(400, body, headers)
    assert resolution == Resolution(
        "fail", "MALFORMED_QUERY: unexpected token: 'FORM'", "MALFORMED_QUERY"
    )


def test_unparseable_body_gives_status_only() -> None:
    """An HTML or empty body never leaks into the reason; the status stands in."""
    assert classify(502, "<html>proxy 00Dxx!token</html>", {}).reason == "HTTP 502"
    assert classify(0, None, {}).reason == "no answer"


def test_limit_reason_says_budget_spent() -> None:
    """REQUEST_LIMIT_EXCEEDED says that the daily budget is spent."""
    resolution = classify(
        403, sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), {}
    )
    assert (
        resolution.reason
        == "daily API limit spent (REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.)"
    )


def test_long_message_is_cut() -> None:
    """A huge message is cut so a reason stays one readable line."""
    resolution = classify(400, sf_error("MALFORMED_QUERY", "x" * 5000), {})
    assert len(resolution.reason) == len("MALFORMED_QUERY: ") + 500


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "99999"}, MAX_RETRY_AFTER),
        ({"Retry-After": "Mon, 23 Nov 2026 10:00:12 GMT"}, 12.0),
        ({"Retry-After": "Mon, 23 Nov 2026 09:59:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After in seconds or as an HTTP-date, clamped to 0..MAX_RETRY_AFTER."""
    now = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
    assert retry_after(headers, now=now) == expected
    assert classify(503, None, headers, now=now).retry_after == expected


def test_retry_after_only_on_retries() -> None:
    """A Retry-After on a non-retriable answer is not a reason to wait."""
    assert classify(400, sf_error("MALFORMED_QUERY"), {"Retry-After": "5"}).retry_after is None


@pytest.mark.parametrize(
    ("errors", "action", "code"),
    [
        (
            [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}],
            "retry",
            "UNABLE_TO_LOCK_ROW",
        ),
        (
            [
                {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []},
                {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "again", "fields": []},
            ],
            "retry",
            "UNABLE_TO_LOCK_ROW",
        ),
        (
            [
                {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []},
                {"statusCode": "STRING_TOO_LONG", "message": "too long", "fields": ["Company"]},
            ],
            "reject_record",
            "UNABLE_TO_LOCK_ROW",
        ),
        (
            [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "LastName",
                    "fields": ["LastName"],
                }
            ],
            "reject_record",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            [{"statusCode": "INVALID_FIELD", "message": "no such field", "fields": []}],
            "reject_record",
            "INVALID_FIELD",
        ),
        ([], "reject_record", None),
    ],
)
def test_record_table(errors: list[dict[str, Any]], action: str, code: str | None) -> None:
    """A record is retried alone only when all its errors are transient; otherwise rejected."""
    resolution = classify_record(errors)
    assert (resolution.action, resolution.code) == (action, code)


def test_record_reason_lists_every_error() -> None:
    """The record's reason names each error, code and message."""
    resolution = classify_record(
        [
            {
                "statusCode": "STRING_TOO_LONG",
                "message": "Company: data value too large",
                "fields": ["Company"],
            },
            {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": "Email: invalid email address",
                "fields": ["Email"],
            },
        ]
    )
    assert resolution.reason == (
        "STRING_TOO_LONG: Company: data value too large; "
        "INVALID_EMAIL_ADDRESS: Email: invalid email address"
    )


def test_an_echoed_value_is_escaped_and_the_end_of_the_message_kept() -> None:
    """Salesforce echoes the refused value: the reason escapes its control characters, stays
    bounded and keeps `(max length=N)` from the end of the message."""
    value = "\x1b]0;pwned\x07" + "Lorem ipsum\n" * 1000
    message = f"Street: data value too large: {value} (max length=255)"
    for reason in (
        classify(400, sf_error("STRING_TOO_LONG", message), {}).reason,
        classify_record([{"statusCode": "STRING_TOO_LONG", "message": message}]).reason,
    ):
        assert reason.isprintable()
        assert reason.startswith("STRING_TOO_LONG: Street: data value too large: \\x1b]0;pwned")
        assert reason.endswith(" (max length=255)")
        assert len(reason) == len("STRING_TOO_LONG: ") + 500
