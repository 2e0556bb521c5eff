"""The Salesforce REST API under `/services/data/`: its routes and the HTTP handling they share.

Every call but the versions list checks the session and counts one API call (`begin_call`);
every answer past that check carries `Sforce-Limit-Info`. The resources themselves are HTTP-free
functions (`rest_call.Call` in, `Reply` out) in `rest_records`, `rest_query` and
`rest_collections`; Composite (`rest_composite`) runs its subrequests through the same functions
via `internal_routes()`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, MapAdapter, Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response
from connector.sandbox.salesforce import (
    rest_collections,
    rest_describe,
    rest_query,
    rest_records,
    rest_replication,
)
from connector.sandbox.salesforce.common import begin_call
from connector.sandbox.salesforce.rest_call import (
    DATA,
    Inner,
    call_from_request,
    execute,
    method_not_allowed_reply,
    not_found_reply,
    respond,
)
from connector.sandbox.salesforce.rest_composite import composite

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox

#: Resources under `/services/data/vXX.X`, served over HTTP and to Composite subrequests.
_RESOURCES: list[tuple[str, list[str], Inner]] = [
    ("/", ["GET"], rest_records.resources),
    ("/limits", ["GET"], rest_records.limits),
    ("/sobjects", ["GET"], rest_records.describe_global),
    ("/sobjects/<sobject>", ["GET"], rest_records.sobject_info),
    ("/sobjects/<sobject>", ["POST"], rest_records.create_record),
    ("/sobjects/<sobject>/describe", ["GET"], rest_records.describe_sobject),
    ("/sobjects/<sobject>/deleted/", ["GET"], rest_replication.get_deleted),
    ("/sobjects/<sobject>/updated/", ["GET"], rest_replication.get_updated),
    ("/sobjects/<sobject>/<record_id>", ["GET"], rest_records.get_record),
    ("/sobjects/<sobject>/<record_id>", ["PATCH"], rest_records.update_record),
    ("/sobjects/<sobject>/<record_id>", ["DELETE"], rest_records.delete_record),
    ("/sobjects/<sobject>/<record_id>", ["POST"], rest_records.create_by_id_field),
    ("/sobjects/<sobject>/<ext_field>/<ext_value>", ["GET"], rest_records.get_by_external_id),
    ("/sobjects/<sobject>/<ext_field>/<ext_value>", ["PATCH"], rest_records.upsert_record),
    ("/sobjects/<sobject>/<ext_field>/<ext_value>", ["DELETE"], rest_records.delete_by_external_id),
    ("/query", ["GET"], rest_query.query),
    ("/query/<locator>", ["GET"], rest_query.query_more),
    ("/queryAll", ["GET"], rest_query.query_all),
    ("/queryAll/<locator>", ["GET"], rest_query.query_all_more),
    ("/composite/sobjects", ["POST"], rest_collections.create),
    ("/composite/sobjects", ["PATCH"], rest_collections.update),
    ("/composite/sobjects", ["DELETE"], rest_collections.delete),
    ("/composite/sobjects/<sobject>", ["GET", "POST"], rest_collections.retrieve),
    ("/composite/sobjects/<sobject>/<ext_field>", ["PATCH"], rest_collections.upsert),
]


_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _endpoint(inner: Inner) -> str:
    """A name unique across resource modules (`create` exists in records and collections)."""
    return f"{inner.__module__.rsplit('.', 1)[-1]}_{inner.__name__}"


def list_versions(sb: Sandbox, request: Request) -> Response:
    """`GET /services/data/`: the versions list, which Salesforce serves without a session."""
    return json_response(rest_describe.versions())


def unknown_resource(sb: Sandbox, request: Request, version: str, rest: str) -> Response:
    """Any other `/services/data/vXX.X/...` URL: a counted call answering 405 for a known
    resource asked with the wrong method, else 404 NOT_FOUND."""
    user = begin_call(sb, request)
    if isinstance(user, Response):
        return user
    adapter, _ = internal_routes()
    try:
        adapter.match(request.path, method=request.method)
    except MethodNotAllowed as exc:
        return respond(sb, method_not_allowed_reply(request.method, exc.valid_methods or []))
    except HTTPException:
        pass
    return respond(sb, not_found_reply())


def _http(inner: Inner) -> Handler:
    """The HTTP handler of a resource: session check and API count first, limit info after."""

    def handler(sb: Sandbox, request: Request, version: str, **url_args: str) -> Response:
        user = begin_call(sb, request)
        if isinstance(user, Response):
            return user
        return respond(sb, execute(inner, call_from_request(sb, request, user, version), url_args))

    handler.__name__ = _endpoint(inner)
    handler.__doc__ = inner.__doc__
    return handler


@cache
def internal_routes() -> tuple[MapAdapter, dict[str, Inner]]:
    """A matcher of subrequest URLs (`/services/data/vXX.X/...`) and the resources it names."""
    inners = {_endpoint(inner): inner for _, _, inner in _RESOURCES}
    rules = [
        Rule(f"{DATA}/v<version>{path}", methods=methods, endpoint=_endpoint(inner))
        for path, methods, inner in _RESOURCES
    ]
    return Map(rules, merge_slashes=False, strict_slashes=False).bind("sandbox"), inners


def routes() -> list[tuple[str, list[str], Handler]]:
    handlers = {_endpoint(inner): _http(inner) for _, _, inner in _RESOURCES}
    return [
        (f"{DATA}/", ["GET"], list_versions),
        (f"{DATA}/v<version>/composite", ["POST"], composite),
        *(
            (f"{DATA}/v<version>{path}", methods, handlers[_endpoint(inner)])
            for path, methods, inner in _RESOURCES
        ),
        (f"{DATA}/v<version>/<path:rest>", _ANY_METHOD, unknown_resource),
    ]
