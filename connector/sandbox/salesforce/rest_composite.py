"""Composite (`POST /composite`): up to 25 subrequests in one API call, later ones referring to
earlier results with `@{referenceId.path}`; with allOrNone, one transaction (which also makes its
sObject Collections subrequests all-or-none, as documented).

Subrequests run in-process through the same resource functions as the HTTP API, as the user of
the composite request and under its headers (a subrequest's `httpHeaders` override them), without
counting as API calls of their own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from connector.sandbox.salesforce.common import begin_call, version_ok
from connector.sandbox.salesforce.org import RequestError
from connector.sandbox.salesforce.rest_call import (
    Call,
    Inner,
    Reply,
    call_from_request,
    error_reply,
    execute,
    method_not_allowed_reply,
    not_found_reply,
    respond,
)

if TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

    from connector.sandbox.app import Sandbox

LIMIT = 25
#: "Up to 5 of the subrequests can be sObject Collections or query operations, including Query
#: and QueryAll requests" (REST API Developer Guide, Composite). The error's wording is ours:
#: no documented example of the refusal was found.
QUERY_OR_COLLECTIONS_LIMIT = 5
_QUERY_OR_COLLECTIONS = re.compile(
    r"^/services/data/v[0-9.]+/(query|queryAll|composite/sobjects)"
    r"(/|\?|$)"
)
PROCESSING_HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction "
    "failed.",
}
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_MISSING = object()


class _Unresolved(Exception):
    """A `@{ref.path}` without a value: the referenced subrequest failed or lacks the path."""


def _follow(value: Any, path: str) -> Any:
    for name, index in _STEP.findall(path):
        if name:
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        elif isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            value = _MISSING
        if value is _MISSING:
            break
    return value


def _substitute(value: Any, outputs: dict[str, Any]) -> Any:
    """Replace `@{ref.path}` in strings, recursively; a string that is one reference keeps the
    referenced value's JSON type."""
    if isinstance(value, dict):
        return {k: _substitute(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(m: re.Match[str]) -> Any:
        ref, path = m.group(1), m.group(2)
        found = _follow(outputs[ref], path) if ref in outputs else _MISSING
        if found is _MISSING or found is None:
            msg = f"Invalid reference specified. No value for {ref}{path} found in {ref}"
            raise _Unresolved(msg)
        return found

    whole = _REFERENCE.fullmatch(value)
    if whole:
        return lookup(whole)
    return _REFERENCE.sub(lambda m: str(lookup(m)), value)


def _invalid(message: str, code: str = "INVALID_INPUT") -> Reply:
    return Reply(400, [{"message": message, "errorCode": code}])


def _check(body: Any) -> tuple[list[dict[str, Any]], bool] | Reply:
    """The subrequests and allOrNone, or the 400 for a malformed composite request."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        return _invalid(
            "compositeRequest: an array of subrequests is required", "JSON_PARSER_ERROR"
        )
    subs = body["compositeRequest"]
    if not subs:
        return _invalid("compositeRequest: at least one subrequest is required")
    if len(subs) > LIMIT:
        return _invalid(
            f"Limit Exceeded: a composite request can have at most {LIMIT} subrequests; "
            f"this one has {len(subs)}.",
            "LIMIT_EXCEEDED",
        )
    heavy = sum(
        1
        for sub in subs
        if isinstance(sub, dict)
        and isinstance(sub.get("url"), str)
        and _QUERY_OR_COLLECTIONS.match(sub["url"])
    )
    if heavy > QUERY_OR_COLLECTIONS_LIMIT:
        return _invalid(
            f"Limit Exceeded: a composite request can have at most {QUERY_OR_COLLECTIONS_LIMIT} "
            f"query or sObject Collections subrequests; this one has {heavy}.",
            "LIMIT_EXCEEDED",
        )
    seen: set[str] = set()
    for sub in subs:
        if not isinstance(sub, dict) or not all(
            isinstance(sub.get(key), str) and sub[key] for key in ("method", "url", "referenceId")
        ):
            return _invalid(
                "Each subrequest needs a method, a url and a referenceId", "JSON_PARSER_ERROR"
            )
        if not isinstance(sub.get("httpHeaders") or {}, dict):
            return _invalid("httpHeaders: expected an object of header names and values")
        ref = sub["referenceId"]
        if not _REFERENCE_ID.fullmatch(ref):
            return _invalid(
                f"Invalid reference id: {ref}. Reference ids must start with a letter or a "
                "number and contain only letters, numbers and underscores ('_')."
            )
        if ref in seen:
            return _invalid(f"Duplicate reference id: {ref}.")
        seen.add(ref)
    return subs, body.get("allOrNone") is True


def _run_subrequest(
    call: Call,
    sub: dict[str, Any],
    outputs: dict[str, Any],
    adapter: MapAdapter,
    inners: dict[str, Inner],
    *,
    all_or_none: bool,
) -> Reply:
    try:
        url = _substitute(sub["url"], outputs)
        body = _substitute(sub.get("body"), outputs)
    except _Unresolved as exc:
        return Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}])
    method = sub["method"].upper()
    parts = urlsplit(url)
    try:
        endpoint, matched = adapter.match(parts.path, method=method)
    except MethodNotAllowed as exc:
        return method_not_allowed_reply(method, exc.valid_methods or [])
    except HTTPException:
        return not_found_reply()
    url_args = dict(matched)
    headers = Headers(call.headers)
    for key, value in (sub.get("httpHeaders") or {}).items():
        headers[str(key)] = str(value)
    subcall = Call(
        sb=call.sb,
        user_id=call.user_id,
        version=url_args.pop("version"),
        method=method,
        args=MultiDict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        all_or_none=all_or_none,
    )
    return execute(inners[endpoint], subcall, url_args)


def composite(sb: Sandbox, request: Request, version: str) -> Response:
    """`POST /services/data/vXX.X/composite`: one API call, one journal entry."""
    from connector.sandbox.salesforce.rest import internal_routes

    user = begin_call(sb, request)
    if isinstance(user, Response):
        return user
    if not version_ok(version):
        return respond(sb, not_found_reply())
    call = call_from_request(sb, request, user, version)
    try:
        checked = _check(call.json_body())
    except RequestError as exc:
        return respond(sb, error_reply(exc))
    if isinstance(checked, Reply):
        return respond(sb, checked)
    subs, all_or_none = checked
    adapter, inners = internal_routes()
    replies: list[Reply] = []
    outputs: dict[str, Any] = {}
    failed_at: int | None = None
    with sb.org.transaction() as tx:
        for index, sub in enumerate(subs):
            reply = _run_subrequest(call, sub, outputs, adapter, inners, all_or_none=all_or_none)
            replies.append(reply)
            if reply.status < 400:
                outputs[sub["referenceId"]] = reply.body
            if reply.failed and all_or_none:
                failed_at = index
                tx.rollback()
                break
    results = []
    for index, sub in enumerate(subs):
        halted = failed_at is not None and index != failed_at
        reply = Reply(400, [PROCESSING_HALTED]) if halted else replies[index]
        results.append(
            {
                "body": reply.body,
                "httpHeaders": reply.headers,
                "httpStatusCode": reply.status,
                "referenceId": sub["referenceId"],
            }
        )
    return respond(sb, Reply(200, {"compositeResponse": results}))
