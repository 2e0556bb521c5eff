"""What to do about a HubSpot answer: a pure table from (status, body, headers) to an action.

The gateway only carries out the `Resolution`: `retry` raises `RetriableApiError` (the retry
policy waits `retry_after`), `fail` raises `ConfigError` when a setting must change (`setting`
names it) and `FatalApiError` otherwise, `reject_record` dead-letters the records named in
`rejected` while the rest of the batch stands. Tested without HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connector.display import show_message
from connector.retry import retry_after

Action = Literal["ok", "retry", "reject_record", "fail"]

TOKEN_SETTING = "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a setting name
#: How long HubSpot's rate-limit windows last, when the answer carries no `Retry-After`.
TEN_SECONDLY_WAIT = 10.0
SECONDLY_WAIT = 1.0
_MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class RejectedRecord:
    """One record a batch answer refused (an entry of a 207's `errors` with `context.ids`)."""

    id: str
    code: str  # `category`, or `category/subCategory` when HubSpot gives one
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """The decision about one answer; `reason` is fit for an error message or a dead letter."""

    action: Action
    reason: str
    code: str | None = None
    retry_after: float | None = None
    setting: str | None = None  # the setting to fix, when `fail` is a configuration problem
    rejected: tuple[RejectedRecord, ...] = ()


def classify(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Resolution:
    """Decide what an answer means; `status` 0 is a request that got no answer at all."""
    data = _json(body)
    category = _text(data.get("category"))
    message = _message(data)
    if status == 0:
        return Resolution("retry", "no answer from HubSpot (connection failed)", "CONNECTION")
    if status == 429:
        return _rate_limited(data, headers or {})
    if status >= 500:
        reason = f"HubSpot answered {status}" + (f": {message}" if message else "")
        return Resolution("retry", reason, category or f"HTTP_{status}", retry_after(headers))
    if status == 401:
        reason = f"HubSpot refused the access token (401); check {TOKEN_SETTING}"
        return Resolution(
            "fail", reason, category or "INVALID_AUTHENTICATION", setting=TOKEN_SETTING
        )
    if status == 403:
        return _forbidden(data, category, message)
    if 200 <= status < 300:
        rejected = _rejected(data)
        if rejected:
            count = len(rejected)
            reason = f"HubSpot refused {count} record{'s' if count != 1 else ''} of the batch"
            return Resolution("reject_record", reason, "BATCH_ERRORS", rejected=rejected)
        return Resolution("ok", f"HubSpot answered {status}")
    reason = f"HubSpot refused the request ({status} {category or 'error'})"
    if message:
        reason += f": {message}"
    return Resolution("fail", reason, category or f"HTTP_{status}")


def _rate_limited(data: Mapping[str, Any], headers: Mapping[str, str]) -> Resolution:
    policy = _text(data.get("policyName")) or "UNKNOWN"
    if policy == "DAILY":
        reason = "HubSpot's daily API budget for this account is spent; calls resume tomorrow"
        return Resolution("fail", reason, "DAILY")
    default = SECONDLY_WAIT if policy == "SECONDLY" else TEN_SECONDLY_WAIT
    after = retry_after(headers)
    reason = f"HubSpot rate limit reached ({policy})"
    return Resolution("retry", reason, policy, default if after is None else after)


def _forbidden(data: Mapping[str, Any], category: str | None, message: str | None) -> Resolution:
    scopes = sorted(_scopes(data))
    if category == "MISSING_SCOPES" or scopes:
        needed = f" ({', '.join(scopes)})" if scopes else ""
        reason = (
            f"HubSpot's private app lacks a required scope{needed}; grant it to the app whose "
            f"token is {TOKEN_SETTING}"
        )
        return Resolution("fail", reason, "MISSING_SCOPES", setting=TOKEN_SETTING)
    reason = "HubSpot refused the call (403)" + (f": {message}" if message else "")
    return Resolution("fail", reason, category or "HTTP_403")


def _scopes(data: Mapping[str, Any]) -> set[str]:
    """Scope names listed in `errors[].context` (`requiredScopes`, `requiredGranularScopes`)."""
    found: set[str] = set()
    for error in _list(data.get("errors")):
        context = error.get("context") if isinstance(error, Mapping) else None
        if not isinstance(context, Mapping):
            continue
        for key, values in context.items():
            if "scope" in str(key).lower():
                found.update(str(v) for v in _list(values))
    return found


def _rejected(data: Mapping[str, Any]) -> tuple[RejectedRecord, ...]:
    """One `RejectedRecord` per id named in a 207's `errors` entries."""
    rejected: list[RejectedRecord] = []
    for error in _list(data.get("errors")):
        if not isinstance(error, Mapping):
            continue
        context = error.get("context")
        if not isinstance(context, Mapping):
            continue
        # Writes that sent `objectWriteTraceId` (leadbridge sends the contact id) may be
        # named by it alone.
        ids = _list(context.get("ids")) or _list(context.get("objectWriteTraceId"))
        category = _text(error.get("category")) or "ERROR"
        sub = _text(error.get("subCategory"))
        code = f"{category}/{sub}" if sub else category
        text = show_message(_text(error.get("message")) or category, limit=_MESSAGE_LIMIT)
        fields = tuple(dict.fromkeys(_fields(error)))
        rejected.extend(RejectedRecord(str(i), code, text, fields) for i in ids)
    return tuple(rejected)


def _fields(error: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for detail in _list(error.get("errors")):
        context = detail.get("context") if isinstance(detail, Mapping) else None
        if isinstance(context, Mapping):
            names.extend(str(n) for n in _list(context.get("propertyName")))
    return names


def _json(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, Mapping) else {}
    return {}


def _message(data: Mapping[str, Any]) -> str | None:
    """HubSpot's message, which may echo a property value: escaped and clipped to show."""
    text = _text(data.get("message"))
    return show_message(text, limit=_MESSAGE_LIMIT) if text else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
