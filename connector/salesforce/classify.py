"""What to do about a Salesforce error: a pure table from (status, errorCode) to an action.

`classify` decides for a whole response (retry, log in again, reject the record(s), or stop);
`classify_record` decides for one record inside an sObject Collections result. The gateway only
carries the decision out. Reasons hold Salesforce's own `errorCode: message`, never a token,
a header or any other part of the body; a value the message echoes comes out escaped and
clipped (`connector.display.show_message`), so a reason is one bounded line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from connector.display import clip, show_message
from connector.retry import retry_after

Action = Literal["retry", "reauth", "reject_record", "fail"]

#: Longest Salesforce message a reason carries (its echoed values clipped first).
MAX_MESSAGE = 500
#: Longest error code a reason carries.
MAX_CODE = 100

#: Transient whatever the status: another transaction holds the row.
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
#: Statuses that mean "busy or briefly broken, try again".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Errors about the record's data: this record cannot be written as it is; the rest can.
DATA_CODES = frozenset(
    {
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "DUPLICATES_DETECTED",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_VALUE",
        "ENTITY_IS_DELETED",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "FIELD_FILTER_VALIDATION_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "INACTIVE_OWNER_OR_USER",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_EMAIL_ADDRESS",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_ID_FIELD",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "MALFORMED_ID",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
    }
)


@dataclass(frozen=True)
class Resolution:
    """The decision about one failure, and why (Salesforce's `errorCode: message`)."""

    action: Action
    reason: str
    code: str | None = None
    retry_after: float | None = None


def first_error(body: Any) -> tuple[str | None, str | None]:
    """The `(errorCode, message)` of a REST error body `[{"errorCode", "message"}]`, an OAuth
    error `{"error", "error_description"}`, or `(None, None)` for anything else."""
    item = body[0] if isinstance(body, list) and body else body
    if not isinstance(item, Mapping):
        return None, None
    code = item.get("errorCode") or item.get("statusCode") or item.get("error")
    message = item.get("message") or item.get("error_description")
    return (
        str(code) if code is not None else None,
        show_message(str(message), limit=MAX_MESSAGE) if message is not None else None,
    )


def _reason(status: int, code: str | None, message: str | None) -> str:
    """`code: message`; the message is already fit to show (`show_message`), the code is
    clipped here."""
    shown = clip(code, MAX_CODE) if code else None
    if shown and message:
        return f"{shown}: {message}"
    if shown or message:
        return str(shown or message)
    return f"HTTP {status}" if status else "no answer"


def classify(
    status: int, body: Any, headers: Mapping[str, str], *, now: datetime | None = None
) -> Resolution:
    """Decide what a failed call's caller must do. `status` 0 means no answer at all."""
    code, message = first_error(body)
    reason = _reason(status, code, message)

    if code in TRANSIENT_CODES or status in RETRY_STATUSES or status == 0:
        return Resolution("retry", reason, code, retry_after(headers, now=now))
    if status == 401:
        return Resolution("reauth", reason, code)
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return Resolution("fail", f"daily API limit spent ({reason})", code)
    if status == 300:  # an upsert whose external id matches several records
        return Resolution("reject_record", "the external id matches several records", code)
    if status == 400 and code in DATA_CODES:
        return Resolution("reject_record", reason, code)
    return Resolution("fail", reason, code)


def classify_record(errors: Sequence[Mapping[str, Any]]) -> Resolution:
    """Decide for one record of a collections result from its `errors[].statusCode`: retry it
    alone when every error is transient, otherwise reject it (the caller dead-letters it)."""
    codes = [str(e.get("statusCode") or e.get("errorCode") or "") for e in errors]
    messages = [show_message(str(e.get("message") or ""), limit=MAX_MESSAGE) for e in errors]
    reason = "; ".join(
        _reason(0, code or None, message or None)
        for code, message in zip(codes, messages, strict=True)
    )
    if codes and all(code in TRANSIENT_CODES for code in codes):
        return Resolution("retry", reason, codes[0])
    return Resolution(
        "reject_record", reason or "rejected without a reason", next(iter(codes), None)
    )
