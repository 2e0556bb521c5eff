"""The call model shared by the REST resources: a `Call` in, a `Reply` out, no HTTP in between.

A resource is a function `(call, **url_args) -> Reply`. The HTTP layer (`rest.py`) builds the
Call from a request after the session check and API count; Composite builds one per subrequest
and runs the same functions in-process, so a subrequest behaves exactly like the request would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Request, Response

from connector.sandbox.http import LoneSurrogate, json_response, parse_json
from connector.sandbox.salesforce.common import version_ok, with_limit_info
from connector.sandbox.salesforce.org import Org, RecordError, RequestError, SfError

if TYPE_CHECKING:
    from connector.sandbox.app import Sandbox

DATA = "/services/data"
NOT_FOUND_MESSAGE = "The requested resource does not exist"


@dataclass
class Call:
    """One REST call (a request or a Composite subrequest), made by `user_id`."""

    sb: Sandbox
    user_id: str
    version: str
    method: str
    args: MultiDict[str, str]
    headers: Headers
    body: Any = None
    body_error: str | None = None
    #: Set for the subrequests of an allOrNone Composite: Collections then act all-or-none too.
    all_or_none: bool = False

    @property
    def org(self) -> Org:
        return self.sb.org

    @property
    def base(self) -> str:
        return f"{DATA}/v{self.version}"

    def json_body(self) -> Any:
        """The parsed body; a body that is not JSON answers 400 JSON_PARSER_ERROR."""
        if self.body_error is not None:
            raise RequestError(400, SfError("JSON_PARSER_ERROR", self.body_error))
        return self.body

    def object_body(self) -> dict[str, Any]:
        """The body as a JSON object (an sObject's fields), or 400 JSON_PARSER_ERROR."""
        body = self.json_body()
        if not isinstance(body, dict):
            kind = "null" if body is None else type(body).__name__
            raise RequestError(
                400,
                SfError(
                    "JSON_PARSER_ERROR", f"Cannot deserialize instance of SObject from {kind} value"
                ),
            )
        return body

    def auto_assign(self) -> bool:
        """False only for `Sforce-Auto-Assign: FALSE` (any case): the sender keeps the owner."""
        return self.headers.get("Sforce-Auto-Assign", "").strip().lower() != "false"

    def record_url(self, sobject: str, record_id: str) -> str:
        return f"{self.base}/sobjects/{sobject}/{record_id}"


@dataclass
class Reply:
    """What a resource answers: status, JSON body (None for no body) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: A 200 whose per-record results include failures (sObject Collections).
    partial_failure: bool = False

    @property
    def failed(self) -> bool:
        return self.status >= 400 or self.partial_failure


Inner = Callable[..., Reply]


def not_found() -> RequestError:
    """The REST API's 404 for an unknown record, object or resource."""
    return RequestError(404, SfError("NOT_FOUND", NOT_FOUND_MESSAGE))


def not_found_reply() -> Reply:
    return Reply(404, [{"errorCode": "NOT_FOUND", "message": NOT_FOUND_MESSAGE}])


def method_not_allowed_reply(method: str, allowed: Iterable[str]) -> Reply:
    """A known resource asked with a method it does not serve."""
    message = f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(allowed))}"
    return Reply(405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": message}])


def error_reply(exc: RequestError | RecordError) -> Reply:
    """A refused request: its status and `[{"message", "errorCode", "fields"}]`.

    Save errors always list `fields` (maybe empty); request errors (unknown field, bad JSON, not
    found) leave an empty `fields` out, as Salesforce's and the documented error bodies do.
    """
    if isinstance(exc, RequestError):
        body = exc.error.rest()
        if not body["fields"]:
            del body["fields"]
        return Reply(exc.status, [body])
    return Reply(400, [e.rest() for e in exc.errors])


def execute(inner: Inner, call: Call, url_args: dict[str, str]) -> Reply:
    """Run a resource; unknown API versions answer 404, org errors their documented bodies."""
    if not version_ok(call.version):
        return not_found_reply()
    try:
        return inner(call, **url_args)
    except (RequestError, RecordError) as exc:
        return error_reply(exc)


def call_from_request(sb: Sandbox, request: Request, user_id: str, version: str) -> Call:
    """A Call for an HTTP request; a body that is not JSON is kept as the parser's complaint."""
    body, error = None, None
    data = request.get_data(cache=True)
    if data:
        try:
            body = parse_json(data)
        except json.JSONDecodeError as exc:
            error = f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
        except UnicodeDecodeError:
            error = "Invalid UTF-8 in the request body"
        except LoneSurrogate as exc:
            error = f"Invalid character in the request body: {exc}"
    return Call(sb, user_id, version, request.method, request.args, request.headers, body, error)


def respond(sb: Sandbox, reply: Reply) -> Response:
    """The HTTP response for a reply, with `Sforce-Limit-Info`."""
    return with_limit_info(sb, json_response(reply.body, reply.status, reply.headers))
