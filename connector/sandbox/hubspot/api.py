"""The HubSpot endpoints leadbridge calls: CRM v3 objects (get, create, update, archive, list,
search, batch read/create/update/upsert/archive, merge, and the contacts' GDPR delete),
properties, owners, v4 associations and the v3 lists (`lists` module).

Every call is checked like a private-app call: `Authorization: Bearer <token>` (401 otherwise),
then counted against the token's budgets (see `ratelimit`); non-search answers carry the
`X-HubSpot-RateLimit-*` headers. Bodies, status codes and error messages follow HubSpot's
documentation and, where it is silent, answers HubSpot has been observed to give.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response, read_json
from connector.sandbox.hubspot import errors
from connector.sandbox.hubspot.portal import (
    APP_ID,
    TYPE_ALIASES,
    Blocked,
    Conflict,
    ObjectType,
    Portal,
    Record,
)
from connector.sandbox.hubspot.properties import Issue, issues_message
from connector.sandbox.hubspot.search import PastResultsCap, SearchError, search
from connector.sandbox.hubspot.values import iso_ms

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox

BATCH_LIMIT = 100
ASSOCIATION_BATCH_LIMIT = 1000
LIST_LIMIT = 100
OWNER_LIMIT = 500
#: The sandbox portal, as it appears in rate-limit group names (with the app's `APP_ID`).
PORTAL_ID = 20_000_001
#: The ten-second limit's group, as a 429 names it.
RATE_LIMIT_GROUP = f"publicapi:private_app-api-calls-ten-secondly:{APP_ID}:{PORTAL_ID}"
TOKEN_USER = "hubspot-token"  # noqa: S105 - the journal label, not a secret
#: HubSpot-defined association types between contacts and companies (v4 typeIds).
PRIMARY = {("contacts", "companies"): 1, ("companies", "contacts"): 2}
UNLABELED = {("contacts", "companies"): 279, ("companies", "contacts"): 280}
#: The values `dataSensitivity` takes (the properties reference).
DATA_SENSITIVITIES = ("non_sensitive", "sensitive", "highly_sensitive")
#: The v3 names of those association types, as `?associations=` answers show them.
V3_TYPE_NAMES = {
    ("contacts", "companies"): ("contact_to_company", "contact_to_company_unlabeled"),
    ("companies", "contacts"): ("company_to_contact", "company_to_contact_unlabeled"),
}


class _Refused(Exception):
    """Stops a handler with a ready answer (bad JSON, unknown type, too many inputs)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def routes() -> list[tuple[str, list[str], Handler]]:
    # Imported here: the lists module builds its handlers on this module's call accounting.
    from connector.sandbox.hubspot import lists

    objects = "/crm/v3/objects/<object_type>"
    return [
        (objects, ["GET"], list_objects),
        (objects, ["POST"], create_object),
        (f"{objects}/search", ["POST"], search_objects),
        (f"{objects}/merge", ["POST"], merge_objects),
        ("/crm/v3/objects/contacts/gdpr-delete", ["POST"], gdpr_delete),
        (f"{objects}/batch/read", ["POST"], batch_read),
        (f"{objects}/batch/create", ["POST"], batch_create),
        (f"{objects}/batch/update", ["POST"], batch_update),
        (f"{objects}/batch/upsert", ["POST"], batch_upsert),
        (f"{objects}/batch/archive", ["POST"], batch_archive),
        (f"{objects}/<object_id>", ["GET"], get_object),
        (f"{objects}/<object_id>", ["PATCH"], update_object),
        (f"{objects}/<object_id>", ["DELETE"], archive_object),
        ("/crm/v3/properties/<object_type>", ["GET"], get_properties),
        ("/crm/v3/properties/<object_type>/<property_name>", ["GET"], get_property),
        ("/crm/v4/associations/<from_type>/<to_type>/batch/read", ["POST"], read_associations),
        ("/crm/v3/owners/", ["GET"], get_owners),
        ("/crm/v3/owners/<owner_id>", ["GET"], get_owner),
        *lists.routes(),
    ]


# -- call accounting ----------------------------------------------------------------------
def _hubspot_call(*, search_limit: bool = False) -> Callable[[Handler], Handler]:
    """Authenticate, count and rate-limit a call; add the rate-limit headers to its answer."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def call(sb: Sandbox, request: Request, **args: Any) -> Response:
            if not _authenticated(sb, request):
                return errors.unauthorized()
            request.environ["sandbox.user"] = TOKEN_USER
            config, limiter = sb.config, sb.portal.limiter
            enforce = config.enforce_rate_limits
            if search_limit:
                verdict = limiter.search(
                    config.hubspot_search_per_second, config.hubspot_daily_limit, enforce=enforce
                )
            else:
                verdict = limiter.standard(
                    config.hubspot_ten_second_limit, config.hubspot_daily_limit, enforce=enforce
                )
            if verdict.policy:
                response = errors.rate_limited(verdict.policy, RATE_LIMIT_GROUP)
            else:
                try:
                    response = handler(sb, request, **args)
                except _Refused as refused:
                    response = refused.response
            for name, value in verdict.headers.items():
                response.headers[name] = value
            return response

        return call

    return wrap


def rate_limit_fault(sb: Sandbox, request: Request, retry_after_s: int | None) -> Response:
    """A 429 the fault profile serves (`hubspot_rate_limit`, `..._retry_after`): for a search,
    the search endpoints' own SECONDLY policy and no rate-limit headers (searches are exempt
    from the ten-second limit and their answers carry none); for any other call, the
    TEN_SECONDLY_ROLLING answer with the `X-HubSpot-RateLimit-*` headers showing the window
    spent. `Retry-After` (seconds) when asked: HubSpot's usage guidelines do not promise one on
    these 429s, but clients meet it (PostHog/posthog#64726 records HubSpot sending it), so a
    client must cope with both."""
    if request.path.endswith("/search"):
        response = errors.rate_limited("SECONDLY", RATE_LIMIT_GROUP)
    else:
        response = errors.rate_limited("TEN_SECONDLY_ROLLING", RATE_LIMIT_GROUP)
        config = sb.config
        spent = sb.portal.limiter.spent(config.hubspot_ten_second_limit, config.hubspot_daily_limit)
        for name, value in spent.items():
            response.headers[name] = value
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


def _authenticated(sb: Sandbox, request: Request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), sb.config.hubspot_token.encode())


# -- helpers ------------------------------------------------------------------------------
def _otype(sb: Sandbox, name: str) -> ObjectType:
    canonical = TYPE_ALIASES.get(name.lower())
    if canonical is None:
        raise _Refused(errors.unknown_type(name))
    return sb.portal.types[canonical]


def _body(request: Request) -> Any:
    try:
        return read_json(request)
    except ValueError as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" on line {exc.lineno}, column {exc.colno}"
        raise _Refused(errors.validation(f"Invalid input JSON{where}: {exc}")) from None


def _inputs(body: Any, limit: int = BATCH_LIMIT) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        message = "Invalid input JSON: the request body needs an inputs array of objects"
        raise _Refused(errors.validation(message))
    if len(inputs) > limit:
        raise _Refused(errors.validation(errors.BATCH_LIMIT_MESSAGE.format(limit=limit)))
    return inputs


def _names(request: Request, key: str) -> list[str]:
    """A list query parameter sent repeated (`?properties=a&properties=b`) or comma-separated."""
    return [n.strip() for raw in request.args.getlist(key) for n in raw.split(",") if n.strip()]


def _archived(request: Request) -> bool:
    return request.args.get("archived", "false").lower() == "true"


def _properties_of(body: dict[str, Any], key: str = "properties") -> list[str]:
    """A body's list of property names; anything but a list of strings is HubSpot's 400, not
    a silent "no properties" (which would answer as if the record had no values)."""
    raw = body.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        message = f"Invalid input JSON: {key} must be an array of property names"
        raise _Refused(errors.validation(message))
    return raw


def _id_property(otype: ObjectType, name: Any) -> str | None:
    """`idProperty` as given, when it names the id or a unique property; otherwise HubSpot's
    400 (a lookup by a property that is not unique would answer "not found" for records that
    exist)."""
    if name is None or name in ("hs_object_id", "id", *otype.unique):
        return name
    prop = otype.properties.get(str(name))
    if prop is not None and prop.has_unique_value:
        keys = " or ".join(("id", *otype.unique))
        message = f"idProperty={name}: the sandbox looks {otype.name} up by {keys} only"
    else:
        message = f"{name} is not a unique property of {otype.name}"
    raise _Refused(errors.validation(message))


def _association_types(sb: Sandbox, otype: ObjectType, request: Request) -> list[str]:
    """The object types `?associations=` names, canonical (`Companies`, `company`, `0-2` are
    `companies`). A type the sandbox does not hold (deals, tickets, ...) is HubSpot's 400
    naming the parameter: answering without it would say the record has none."""
    wanted: list[str] = []
    for name in _names(request, "associations"):
        canonical = TYPE_ALIASES.get(name.lower())
        if canonical is None:
            message = (
                f"associations={name}: the sandbox holds contacts and companies only, so it "
                f"cannot say which {name} are associated with a {otype.singular}"
            )
            raise _Refused(errors.validation(message))
        if canonical not in wanted:
            wanted.append(canonical)
    return wanted


def _read_view(
    sb: Sandbox,
    otype: ObjectType,
    record: Record,
    properties: list[str],
    with_history: list[str],
    associations: list[str],
) -> dict[str, Any]:
    """A record as the v3 reads show it: its properties, `propertiesWithHistory` when asked
    for, and `associations` per asked type that has any (the key is left out when none)."""
    view = sb.portal.view(otype, record, properties)
    if with_history:
        view["propertiesWithHistory"] = sb.portal.history(otype, record, with_history)
    linked: dict[str, Any] = {}
    for other in associations:
        results = _associated_ids(sb.portal, (otype.name, other), record.id)
        if results:
            linked[other] = {"results": results}
    if linked:
        view["associations"] = linked
    return view


def _associated_ids(portal: Portal, pair: tuple[str, str], from_id: str) -> list[dict[str, str]]:
    """`AssociatedId`s as a v3 read lists them: the primary company once under its labeled
    type and once unlabeled, every other association unlabeled (as observed in answers)."""
    names = V3_TYPE_NAMES.get(pair)
    if names is None:  # contacts↔contacts, companies↔companies: the sandbox keeps none
        return []
    primary_name, unlabeled_name = names
    results: list[dict[str, str]] = []
    for to_id, primary in _associated(portal, pair, from_id):
        if primary:
            results.append({"id": to_id, "type": primary_name})
        results.append({"id": to_id, "type": unlabeled_name})
    return results


def _invalid(issues: list[Issue]) -> Response:
    return errors.validation(issues_message(issues), errors=[i.detail() for i in issues])


def _conflict(exc: Conflict) -> Response:
    if isinstance(exc, Blocked):
        return errors.validation(str(exc))
    return errors.error(409, str(exc), "CONFLICT")


def _written(otype: ObjectType, changes: dict[str, str]) -> list[str]:
    """Which properties a write's answer shows: what was written plus the system ones."""
    return [*otype.always, *changes]


def _batch_answer(
    portal: Portal,
    started: int,
    results: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    ok_status: int,
) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if failures:
        body["numErrors"] = len(failures)
        body["errors"] = failures
    body["startedAt"] = iso_ms(started)
    body["completedAt"] = iso_ms(max(portal.now_ms(), started))
    return json_response(body, 207 if failures else ok_status)


def _trace_context(ids: list[str], traces: list[str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    if ids:
        context["ids"] = ids
    if traces:
        context["objectWriteTraceId"] = traces
    return context


def _not_found_error(otype: ObjectType, ids: list[str], traces: list[str]) -> dict[str, Any]:
    message = (
        f"Could not get some {otype.upper} objects, they may be deleted or not exist. "
        "Check that ids are valid."
    )
    return errors.batch_error("OBJECT_NOT_FOUND", message, _trace_context(ids, traces))


def _input_error(item: dict[str, Any], ids: list[str], issues: list[Issue]) -> dict[str, Any]:
    traces = [str(item["objectWriteTraceId"])] if item.get("objectWriteTraceId") else []
    return errors.batch_error(
        "VALIDATION_ERROR",
        issues_message(issues),
        _trace_context(ids, traces),
        errors=[i.detail() for i in issues],
    )


def _conflict_error(item: dict[str, Any], ids: list[str], exc: Conflict) -> dict[str, Any]:
    traces = [str(item["objectWriteTraceId"])] if item.get("objectWriteTraceId") else []
    category = "VALIDATION_ERROR" if isinstance(exc, Blocked) else "CONFLICT"
    return errors.batch_error(category, str(exc), _trace_context(ids, traces))


def _duplicates(keys: list[str]) -> Response | None:
    seen: set[str] = set()
    repeated: list[str] = []
    for key in keys:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    if not repeated:
        return None
    listed = ", ".join(dict.fromkeys(repeated))
    return errors.validation(f"Duplicate IDs found in batch input: [{listed}]. IDs must be unique")


# -- single objects -----------------------------------------------------------------------
@_hubspot_call()
def get_object(sb: Sandbox, request: Request, object_type: str, object_id: str) -> Response:
    """`GET /crm/v3/objects/{type}/{id}?properties&propertiesWithHistory&associations
    &archived`, also by `idProperty=email`."""
    otype = _otype(sb, object_type)
    associations = _association_types(sb, otype, request)
    id_property = _id_property(otype, request.args.get("idProperty"))
    found = sb.portal.find(
        otype, object_id, id_property, archived=_archived(request), follow_merges=True
    )
    if found is None:
        return errors.error(
            404, errors.NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"id": [object_id]}
        )
    properties = _names(request, "properties")
    with_history = _names(request, "propertiesWithHistory")
    return json_response(_read_view(sb, otype, found, properties, with_history, associations))


@_hubspot_call()
def create_object(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST /crm/v3/objects/{type}`: 201 with the new object."""
    otype = _otype(sb, object_type)
    body = _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("properties", {}), dict):
        return errors.validation('Invalid input JSON: expected {"properties": {...}}')
    portal = sb.portal
    changes, issues = portal.prepare(otype, body.get("properties") or {})
    associations, assoc_issue = _association_inputs(portal, otype, body.get("associations"))
    if issues:
        return _invalid(issues)
    if assoc_issue:
        return errors.validation(assoc_issue)
    try:
        portal.conflict(otype, changes, None)
    except Conflict as exc:
        return _conflict(exc)
    record = portal.create(otype, changes)
    _link(portal, otype, record, associations)
    return json_response(portal.view(otype, record, _written(otype, changes)), 201)


@_hubspot_call()
def update_object(sb: Sandbox, request: Request, object_type: str, object_id: str) -> Response:
    """`PATCH /crm/v3/objects/{type}/{id}` (or `{email}?idProperty=email`)."""
    otype = _otype(sb, object_type)
    body = _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        return errors.validation('Invalid input JSON: expected {"properties": {...}}')
    portal = sb.portal
    record = portal.find(otype, object_id, _id_property(otype, request.args.get("idProperty")))
    if record is None:
        return errors.error(
            404, errors.NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"id": [object_id]}
        )
    changes, issues = portal.prepare(otype, body["properties"])
    if issues:
        return _invalid(issues)
    try:
        portal.conflict(otype, changes, record.id)
    except Conflict as exc:
        return _conflict(exc)
    portal.update(otype, record, changes)
    return json_response(portal.view(otype, record, _written(otype, changes)))


@_hubspot_call()
def archive_object(sb: Sandbox, request: Request, object_type: str, object_id: str) -> Response:
    """`DELETE /crm/v3/objects/{type}/{id}`: 204 whether or not the object existed."""
    otype = _otype(sb, object_type)
    record = sb.portal.stores[otype.name].get(object_id)
    if record is not None:
        sb.portal.archive(otype, record)
    return json_response(None, 204)


@_hubspot_call()
def merge_objects(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST /crm/v3/objects/{type}/merge {"primaryObjectId", "objectIdToMerge"}`: 200 with the
    surviving object (API reference, "Merge two contacts": a SimplePublicObject). The survivor
    keeps `primaryObjectId`; the other is archived and its id answers as the survivor from then
    on (`Portal.merge`, `Portal.merged_survivor`).

    Refusals the reference does not spell out: a body without both ids, or the same id twice,
    is a 400 VALIDATION_ERROR; an id that is no live object of the type is the 404
    OBJECT_NOT_FOUND a read answers."""
    otype = _otype(sb, object_type)
    body = _body(request)
    keys = ("primaryObjectId", "objectIdToMerge")
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str | int) and not isinstance(body.get(k), bool) and str(body[k])
        for k in keys
    ):
        return errors.validation(
            'Invalid input JSON: expected {"primaryObjectId": "<id>", "objectIdToMerge": "<id>"}'
        )
    primary_id, other_id = (str(body[k]).strip() for k in keys)
    if primary_id == other_id:
        return errors.validation(f"Cannot merge {otype.singular} {primary_id} with itself")
    store = sb.portal.stores[otype.name]
    primary, other = store.get(primary_id), store.get(other_id)
    if primary is None or other is None:
        missing = [i for i in (primary_id, other_id) if store.get(i) is None]
        return errors.error(
            404, errors.NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"id": missing}
        )
    sb.portal.merge(otype, primary, other)
    return json_response(sb.portal.view(otype, primary, None))


@_hubspot_call()
def gdpr_delete(sb: Sandbox, request: Request) -> Response:
    """`POST /crm/v3/objects/contacts/gdpr-delete {"objectId", "idProperty"?}`: 204; the contact
    is gone for good and its email blocked (`Portal.purge`). By `idProperty: "email"`, an email
    no contact has is blocked all the same ("If email address is not found, the email address
    will be added to a blocklist and prevent it from being used in the future": API reference,
    "Permanently delete a contact (GDPR-compliant)"). An id no contact has answers the 404 a
    read answers (the reference shows no error for it)."""
    otype = sb.portal.types["contacts"]
    body = _body(request)
    object_id = body.get("objectId") if isinstance(body, dict) else None
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not str(object_id):
        return errors.validation('Invalid input JSON: expected {"objectId": "<id or email>"}')
    key = str(object_id).strip()
    id_property = _id_property(otype, body.get("idProperty"))
    record = sb.portal.find(otype, key, id_property) or sb.portal.find(
        otype, key, id_property, archived=True
    )
    if record is not None:
        sb.portal.purge(otype, record)
    elif id_property == "email":
        sb.portal.block(key)
    else:
        return errors.error(
            404, errors.NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"id": [key]}
        )
    return json_response(None, 204)


@_hubspot_call()
def list_objects(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`GET /crm/v3/objects/{type}?limit&after&properties&propertiesWithHistory&associations
    &archived`: a page in id order."""
    otype = _otype(sb, object_type)
    associations = _association_types(sb, otype, request)
    with_history = _names(request, "propertiesWithHistory")
    try:
        limit = min(max(int(request.args.get("limit", "10")), 1), LIST_LIMIT)
        after = int(request.args.get("after") or 0)
    except ValueError:
        return errors.validation("limit and after must be integers")
    archived = _archived(request)
    records = sorted(
        (r for r in sb.portal.stores[otype.name].records.values() if r.archived == archived),
        key=lambda r: int(r.id),
    )
    page = [r for r in records if int(r.id) >= after][: limit + 1]
    names = _names(request, "properties")
    body: dict[str, Any] = {
        "results": [
            _read_view(sb, otype, r, names, with_history, associations) for r in page[:limit]
        ]
    }
    if len(page) > limit:
        nxt = page[limit].id
        link = f"{sb.config.base_url}/crm/v3/objects/{otype.name}?after={nxt}"
        body["paging"] = {"next": {"after": nxt, "link": link}}
    return json_response(body)


# -- search -------------------------------------------------------------------------------
@_hubspot_call(search_limit=True)
def search_objects(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST /crm/v3/objects/{type}/search`: `{"total", "results", "paging"?}`."""
    otype = _otype(sb, object_type)
    body = _body(request)
    hidden = sb.injector.hidden(otype.name, sb.portal.now_ms())
    try:
        page = search(
            sb.portal,
            otype,
            body,
            hidden=hidden,
            max_results=sb.config.hubspot_search_max_results,
        )
    except SearchError as exc:
        if isinstance(exc, PastResultsCap):
            sb.injector.count("search_window")
        return errors.validation(str(exc))
    names = _properties_of(body or {})
    answer: dict[str, Any] = {
        "total": page.total,
        "results": [sb.portal.view(otype, r, names) for r in page.records],
    }
    if page.next_after is not None:
        answer["paging"] = {"next": {"after": page.next_after}}
    return json_response(answer)


# -- batches ------------------------------------------------------------------------------
@_hubspot_call()
def batch_read(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST .../batch/read {"inputs", "properties", "propertiesWithHistory", "idProperty"}`:
    found objects in `results`, missing ids in one OBJECT_NOT_FOUND."""
    otype = _otype(sb, object_type)
    body = _body(request)
    inputs = _inputs(body)
    with_history = _properties_of(body, "propertiesWithHistory")
    portal, started = sb.portal, sb.portal.now_ms()
    id_property = _id_property(otype, body.get("idProperty"))
    archived = _archived(request)
    names = _properties_of(body)
    results, missing, seen = [], [], set()
    for item in inputs:
        key = str(item.get("id", ""))
        record = portal.find(otype, key, id_property, archived=archived, follow_merges=True)
        if record is None:
            missing.append(key)
        elif record.id not in seen:
            seen.add(record.id)
            results.append(_read_view(sb, otype, record, names, with_history, []))
    failures = [_not_found_error(otype, missing, [])] if missing else []
    return _batch_answer(portal, started, results, failures, 200)


@_hubspot_call()
def batch_create(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST .../batch/create`: 201; 207 naming the refused inputs; 409 on a taken email."""
    otype = _otype(sb, object_type)
    inputs = _inputs(_body(request))
    portal, started = sb.portal, sb.portal.now_ms()
    prepared: list[tuple[dict[str, Any], dict[str, str], list[tuple[str, list[str]]]]] = []
    failures: list[dict[str, Any]] = []
    for item in inputs:
        raw = item.get("properties")
        if not isinstance(raw, dict):
            issue = Issue("properties", "INVALID_INPUT", "properties must be an object")
            failures.append(_input_error(item, [], [issue]))
            continue
        changes, issues = portal.prepare(otype, raw)
        associations, assoc_issue = _association_inputs(portal, otype, item.get("associations"))
        if assoc_issue:
            issues.append(Issue("associations", "INVALID_ASSOCIATION", assoc_issue))
        if issues:
            failures.append(_input_error(item, [], issues))
        else:
            prepared.append((item, changes, associations))
    emails = [c.get(n, "") for _, c, _ in prepared for n in otype.unique if c.get(n)]
    duplicate = _duplicates(emails)
    if duplicate is not None:
        return duplicate
    try:
        for _, changes, _ in prepared:
            portal.conflict(otype, changes, None)
    except Conflict as exc:
        return _conflict(exc)
    results = []
    for _, changes, associations in prepared:
        record = portal.create(otype, changes)
        _link(portal, otype, record, associations)
        results.append(portal.view(otype, record, _written(otype, changes)))
    return _batch_answer(portal, started, results, failures, 201)


@_hubspot_call()
def batch_update(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST .../batch/update`: 200; 207 with unknown ids and refused values in `errors`."""
    otype = _otype(sb, object_type)
    body = _body(request)
    inputs = _inputs(body)
    portal, started = sb.portal, sb.portal.now_ms()
    duplicate = _duplicates([str(i.get("id", "")) for i in inputs])
    if duplicate is not None:
        return duplicate
    # Every idProperty is checked before anything is written: a refusal writes nothing.
    id_properties = [
        _id_property(otype, item.get("idProperty") or body.get("idProperty")) for item in inputs
    ]
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    missing: list[str] = []
    missing_traces: list[str] = []
    for item, id_property in zip(inputs, id_properties, strict=True):
        key = str(item.get("id", ""))
        record = portal.find(otype, key, id_property)
        if record is None:
            missing.append(key)
            if item.get("objectWriteTraceId"):
                missing_traces.append(str(item["objectWriteTraceId"]))
            continue
        raw = item.get("properties")
        changes, issues = portal.prepare(otype, raw if isinstance(raw, dict) else {})
        if issues:
            failures.append(_input_error(item, [key], issues))
            continue
        try:
            portal.conflict(otype, changes, record.id)
        except Conflict as exc:
            failures.append(_conflict_error(item, [key], exc))
            continue
        portal.update(otype, record, changes)
        results.append(portal.view(otype, record, _written(otype, changes)))
    if missing:
        failures.insert(0, _not_found_error(otype, missing, missing_traces))
    return _batch_answer(portal, started, results, failures, 200)


@_hubspot_call()
def batch_upsert(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST .../batch/upsert`: update by `idProperty` value or create; results carry `new`."""
    otype = _otype(sb, object_type)
    inputs = _inputs(_body(request))
    portal, started = sb.portal, sb.portal.now_ms()
    for item in inputs:
        id_property = item.get("idProperty")
        if id_property and id_property not in (*otype.unique, "hs_object_id"):
            message = f"{id_property} is not a unique property of {otype.name}"
            return errors.validation(message)
    keys = [
        str(i.get("id", "")).strip().lower() if i.get("idProperty") else str(i.get("id", ""))
        for i in inputs
    ]
    duplicate = _duplicates(keys)
    if duplicate is not None:
        return duplicate
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in inputs:
        key = str(item.get("id", ""))
        id_property = item.get("idProperty")
        record = portal.find(otype, key, id_property)
        raw = item.get("properties")
        values = dict(raw) if isinstance(raw, dict) else {}
        if record is None and id_property in otype.unique:
            values.setdefault(id_property, key)
        elif record is None:
            missing.append(key)
            continue
        changes, issues = portal.prepare(otype, values)
        if issues:
            failures.append(_input_error(item, [key], issues))
            continue
        try:
            portal.conflict(otype, changes, record.id if record else None)
        except Conflict as exc:
            failures.append(_conflict_error(item, [key], exc))
            continue
        created = record is None
        if record is None:
            record = portal.create(otype, changes)
        else:
            portal.update(otype, record, changes)
        shown = _written(otype, changes)
        if id_property in otype.unique:
            shown.append(id_property)
        view = portal.view(otype, record, shown)
        view["new"] = created
        results.append(view)
    if missing:
        failures.insert(0, _not_found_error(otype, missing, []))
    return _batch_answer(portal, started, results, failures, 200)


@_hubspot_call()
def batch_archive(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST .../batch/archive`: 204 whatever the ids."""
    otype = _otype(sb, object_type)
    store = sb.portal.stores[otype.name]
    for item in _inputs(_body(request)):
        record = store.get(str(item.get("id", "")))
        if record is not None:
            sb.portal.archive(otype, record)
    return json_response(None, 204)


# -- associations -------------------------------------------------------------------------
def _association_inputs(
    portal: Portal, otype: ObjectType, raw: Any
) -> tuple[list[tuple[str, list[str]]], str | None]:
    """Inline `associations` of a create: `[{"to": {"id"}, "types": [...]}]` to companies or
    contacts; the (other id, typeIds) pairs, or why they are invalid."""
    if not raw:
        return [], None
    other = "companies" if otype.name == "contacts" else "contacts"
    allowed = {PRIMARY[(otype.name, other)], UNLABELED[(otype.name, other)]}
    links: list[tuple[str, list[str]]] = []
    for entry in raw if isinstance(raw, list) else [None]:
        to_id = str(((entry or {}).get("to") or {}).get("id", ""))
        types = (entry or {}).get("types") or []
        type_ids = [t.get("associationTypeId") for t in types if isinstance(t, dict)]
        if portal.stores[other].get(to_id) is None or not type_ids:
            return [], "One or more associations are invalid"
        if any(t not in allowed for t in type_ids):
            return [], "One or more associations are invalid"
        links.append((to_id, [str(t) for t in type_ids]))
    return links, None


def _link(
    portal: Portal, otype: ObjectType, record: Record, links: list[tuple[str, list[str]]]
) -> None:
    for other_id, _types in links:
        if otype.name == "contacts":
            portal.associate(record.id, [other_id])
            record.props.setdefault("associatedcompanyid", other_id)
        else:
            portal.associate(other_id, [record.id])


@_hubspot_call()
def read_associations(sb: Sandbox, request: Request, from_type: str, to_type: str) -> Response:
    """`POST /crm/v4/associations/{from}/{to}/batch/read`: labels per associated record.

    A contact's first company is its primary (typeId 1 "Primary" besides the unlabeled 279);
    inputs without associations get an OBJECT_NOT_FOUND / NO_ASSOCIATIONS_FOUND error each.
    """
    source, target = _otype(sb, from_type), _otype(sb, to_type)
    inputs = _inputs(_body(request), ASSOCIATION_BATCH_LIMIT)
    portal, started = sb.portal, sb.portal.now_ms()
    pair = (source.name, target.name)
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for item in inputs:
        from_id = str(item.get("id", ""))
        targets = _associated(portal, pair, from_id)
        if not targets:
            message = f"No {target.singular} is associated with {source.singular} {from_id}."
            context = {
                "fromObjectId": [from_id],
                "fromObjectType": [source.singular],
                "toObjectType": [target.singular],
            }
            failures.append(
                errors.batch_error(
                    "OBJECT_NOT_FOUND",
                    message,
                    context,
                    sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                )
            )
            continue
        to = []
        for to_id, primary in targets:
            types: list[dict[str, Any]] = []
            if primary:
                types.append(
                    {"category": "HUBSPOT_DEFINED", "typeId": PRIMARY[pair], "label": "Primary"}
                )
            types.append({"category": "HUBSPOT_DEFINED", "typeId": UNLABELED[pair], "label": None})
            to.append({"toObjectId": int(to_id), "associationTypes": types})
        results.append({"from": {"id": from_id}, "to": to})
    return _batch_answer(portal, started, results, failures, 200)


def _associated(portal: Portal, pair: tuple[str, str], from_id: str) -> list[tuple[str, bool]]:
    """(associated id, whether the association is the contact's primary company)."""
    if pair == ("contacts", "companies"):
        if portal.stores["contacts"].get(from_id) is None:
            return []
        ids = portal.contact_companies.get(from_id, [])
        live = [i for i in ids if portal.stores["companies"].get(i) is not None]
        return [(i, n == 0) for n, i in enumerate(live)]
    if pair == ("companies", "contacts"):
        if portal.stores["companies"].get(from_id) is None:
            return []
        contacts = portal.stores["contacts"]
        ids = [i for i in portal.company_contacts.get(from_id, []) if contacts.get(i)]
        primary = {i for i in ids if portal.contact_companies.get(i, [])[:1] == [from_id]}
        return [(i, i in primary) for i in ids]
    return []


# -- properties ---------------------------------------------------------------------------
@_hubspot_call()
def get_properties(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`GET /crm/v3/properties/{type}?archived&dataSensitivity`: the property definitions of
    that sensitivity (`non_sensitive` unless asked; the sandbox has no other kind and no
    archived properties, so those answer none, truly)."""
    otype = _otype(sb, object_type)
    sensitivity = request.args.get("dataSensitivity", "non_sensitive")
    if sensitivity not in DATA_SENSITIVITIES:
        allowed = ", ".join(DATA_SENSITIVITIES)
        message = f"dataSensitivity={sensitivity}: expected one of {allowed}"
        return errors.validation(message)
    if _archived(request):
        return json_response({"results": []})
    shown = [p.to_api() for p in otype.properties.values()]
    return json_response({"results": [p for p in shown if p["dataSensitivity"] == sensitivity]})


@_hubspot_call()
def get_property(sb: Sandbox, request: Request, object_type: str, property_name: str) -> Response:
    """`GET /crm/v3/properties/{type}/{name}`."""
    otype = _otype(sb, object_type)
    prop = otype.properties.get(property_name)
    if prop is None or _archived(request):
        message = f"Unable to find property with name: {property_name}"
        return errors.error(404, message, "OBJECT_NOT_FOUND")
    return json_response(prop.to_api())


# -- owners -------------------------------------------------------------------------------
@_hubspot_call()
def get_owners(sb: Sandbox, request: Request) -> Response:
    """`GET /crm/v3/owners/?email&limit&after&archived`: owners in id order, paged."""
    try:
        limit = int(request.args.get("limit", "100"))
        after = int(request.args.get("after") or 0)
    except ValueError:
        return errors.validation("limit and after must be integers")
    if limit < 1 or limit > OWNER_LIMIT:
        return errors.validation(f"limit must be between 1 and {OWNER_LIMIT}, but was {limit}")
    email = (request.args.get("email") or "").strip().lower()
    archived = _archived(request)
    owners = sorted(
        (
            o
            for o in sb.portal.owners.values()
            if o["archived"] == archived
            and (not email or o["email"].lower() == email)
            and int(o["id"]) >= after
        ),
        key=lambda o: int(o["id"]),
    )
    body: dict[str, Any] = {"results": owners[:limit]}
    if len(owners) > limit:
        nxt = owners[limit]["id"]
        link = f"{sb.config.base_url}/crm/v3/owners/?after={nxt}"
        body["paging"] = {"next": {"after": nxt, "link": link}}
    return json_response(body)


@_hubspot_call()
def get_owner(sb: Sandbox, request: Request, owner_id: str) -> Response:
    """`GET /crm/v3/owners/{id}` (or by `idProperty=userId`)."""
    by_user = request.args.get("idProperty") == "userId"
    archived = _archived(request)
    for owner in sb.portal.owners.values():
        key = str(owner["userId"]) if by_user else owner["id"]
        if key == owner_id and owner["archived"] == archived:
            return json_response(owner)
    return errors.error(404, f"Unable to find owner with id: {owner_id}", "OBJECT_NOT_FOUND")
