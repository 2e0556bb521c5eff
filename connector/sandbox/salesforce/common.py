"""What every Salesforce API call shares: the session check, the daily API budget, and the
`Sforce-Limit-Info` header that every response carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from connector.sandbox.salesforce.errors import request_limit_exceeded
from connector.sandbox.salesforce.oauth import invalid_session, session_user

if TYPE_CHECKING:
    from connector.sandbox.app import Sandbox

SUPPORTED_VERSIONS = tuple(f"{v}.0" for v in range(31, 63))


def begin_call(sb: Sandbox, request: Request) -> str | Response:
    """Check the token and count the call; the acting user's id, or the error response to send.

    A call past the daily limit answers 403 REQUEST_LIMIT_EXCEEDED, as Salesforce does.
    """
    user_id = session_user(sb, request)
    if user_id is None:
        return invalid_session()
    request.environ["sandbox.user"] = user_id
    org = sb.org
    if org.api_used >= org.daily_api_limit:
        return with_limit_info(sb, request_limit_exceeded())
    org.api_used += 1
    return user_id


def with_limit_info(sb: Sandbox, response: Response) -> Response:
    """Add `Sforce-Limit-Info: api-usage=USED/MAX` to a response."""
    response.headers["Sforce-Limit-Info"] = f"api-usage={sb.org.api_used}/{sb.org.daily_api_limit}"
    return response


def version_ok(version: str) -> bool:
    """True for an API version the sandbox serves (31.0 up to 62.0)."""
    return version in SUPPORTED_VERSIONS
