"""HubSpot's error bodies, as its CRM v3/v4 endpoints write them.

Every error carries `status: "error"`, a `message`, a fresh `correlationId` (a UUID) and a
`category`; some add `context`, `subCategory` or an `errors` array. Rate-limit refusals use a
different shape (`errorType`, `policyName`), copied from HubSpot's usage guidelines and from
observed ten-second answers.

Server errors (the fault profile's `server_error`): HubSpot's "API error responses" page names
502/504 as its answers when processing limits are hit ("pause your requests for a few seconds,
then retry"). A 500 is JSON, `{"status": "error", "message": "internal error", "correlationId"}`
(jpetrucciani/hubspot3#25 shows the message; HubSpot/hubspot-api-python#111 shows a 500 of
`application/json` whose 100 bytes are exactly that object); a 502 is the front proxy's nginx
HTML page, not JSON (HubSpot/hubspot-php#315); 503 and 504 use the same page with nginx's
titles (no recorded example).
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Response

from connector.sandbox.http import json_response

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
BATCH_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch is {limit}. Please reduce the number of "
    "items and try again"
)
NOT_FOUND_MESSAGE = "Object not found.  objectId are usually numeric."
RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


INTERNAL_ERROR_MESSAGE = "internal error"
GATEWAY_TITLES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(
    message: str,
    category: str,
    *,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    sub_category: str | None = None,
) -> dict[str, Any]:
    """The standard error object (`Error` in HubSpot's OpenAPI specs)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    if sub_category:
        body["subCategory"] = sub_category
    if context:
        body["context"] = context
    if errors:
        body["errors"] = errors
    body["category"] = category
    return body


def error(status: int, message: str, category: str, **kw: Any) -> Response:
    return json_response(error_body(message, category, **kw), status)


def validation(message: str, **kw: Any) -> Response:
    """400 VALIDATION_ERROR, HubSpot's answer to a request it cannot accept as a whole."""
    return error(400, message, "VALIDATION_ERROR", **kw)


def unauthorized() -> Response:
    """401 for a missing or unknown token (the body HubSpot sends for private-app tokens)."""
    return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")


def unknown_type(name: str) -> Response:
    return validation(f"Unable to infer object type from: {name}")


def rate_limited(policy: str, group: str) -> Response:
    """429 in the shape of HubSpot's usage-guidelines example (daily) and observed ten-second
    and search answers: `errorType: RATE_LIMIT` and the `policyName` that was met."""
    body: dict[str, Any] = {
        "status": "error",
        "message": RATE_LIMIT_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }
    if policy == "TEN_SECONDLY_ROLLING":
        body["groupName"] = group
    else:
        body["requestId"] = correlation_id()
    return json_response(body, 429)


def server_error(status: int) -> Response:
    """A 500 (JSON) or a 502/503/504 (the proxy's HTML page), as described above."""
    if status == 500:
        body = {
            "status": "error",
            "message": INTERNAL_ERROR_MESSAGE,
            "correlationId": correlation_id(),
        }
        return json_response(body, 500)
    title = GATEWAY_TITLES[status]
    page = (
        f'<html>\r\n<head><title>{title}</title></head>\r\n<body bgcolor="white">\r\n'
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
        "</html>\r\n"
    )
    return Response(page, status=status, content_type="text/html")


def batch_error(
    category: str,
    message: str,
    context: dict[str, list[str]],
    *,
    sub_category: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One entry of a 207 response's `errors` array (`StandardError`)."""
    entry: dict[str, Any] = {"status": "error", "category": category}
    if sub_category:
        entry["subCategory"] = sub_category
    entry["message"] = message
    entry["context"] = context
    if errors:
        entry["errors"] = errors
    return entry
