"""The sandbox: one WSGI application serving Salesforce (`/services/`) and HubSpot (`/crm/`).

All state lives in memory in one `Sandbox`; a single lock serialises requests so the org and the
portal change atomically per call, as the real services appear to a client. Every request served
is journaled (`/_sandbox/journal`), which is how tests and benchmarks count API calls.

Faults come two ways: one-shot canned answers for the next N matching requests (`Fault`,
`POST /_sandbox/faults`), and a fault profile for a run (`connector.sandbox.faults`: a chance
per fault kind and latency, `PUT /_sandbox/faults/profile`). A profile's delays are slept after
the lock is released, so a slow answer holds up no other request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.faults import (
    Decision,
    DropConnection,
    FaultInjector,
    FaultProfile,
    ProfileError,
    Target,
    profile_from,
    target_of,
)
from connector.sandbox.http import json_response, read_json
from connector.sandbox.journal import Journal

if TYPE_CHECKING:
    from connector.sandbox.hubspot.portal import Change

Handler = Callable[..., Response]


@dataclass
class SandboxConfig:
    """Credentials and limits; every value has a documented default (see README)."""

    sf_integration_username: str = "integration@sandbox.local"
    sf_password: str = "sandbox"  # noqa: S105 - the documented sandbox password
    sf_consumer_key: str = "sandbox-consumer-key"
    sf_consumer_secret: str = "sandbox-consumer-secret"  # noqa: S105
    sf_daily_api_limit: int = 100_000
    sf_jwt_cert_file: Path | None = None
    hubspot_token: str = "sandbox-token"  # noqa: S105
    hubspot_ten_second_limit: int = 190
    hubspot_daily_limit: int = 1_000_000
    hubspot_search_per_second: int = 5
    enforce_rate_limits: bool = True
    #: How far a HubSpot search may page (HubSpot: 10,000); lowered by tests that need a
    #: result set past the cap without seeding 10,000 records.
    hubspot_search_max_results: int = 10_000
    base_url: str = "https://127.0.0.1"
    #: The fault profile the sandbox starts with, and goes back to on reset (None: none).
    fault_profile: FaultProfile | None = None


@dataclass
class Fault:
    """A canned answer for the next `times` requests matching method and path prefix."""

    path_prefix: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    times: int = 1

    def matches(self, request: Request) -> bool:
        return (
            self.times > 0
            and request.path.startswith(self.path_prefix)
            and (self.method is None or self.method.upper() == request.method)
        )


class Sandbox:
    """The sandbox's state and its WSGI entry point."""

    def __init__(
        self, config: SandboxConfig | None = None, seed: dict[str, Any] | None = None
    ) -> None:
        from connector.sandbox.hubspot.webhooks import WebhookSender
        from connector.sandbox.seed import load_seed

        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.journal = Journal()
        self.faults: list[Fault] = []
        #: HubSpot's webhooks: the portal tells it of every write, it delivers them.
        self.webhooks = WebhookSender()
        #: The fault profile in force and what it did.
        self.injector = FaultInjector()
        self.injector.webhook_counts = self.webhooks.fault_counts
        self._seed = seed or {}
        self.org, self.portal = load_seed(self._seed, self.config)
        self.portal.on_change = self._changed
        self._map, self._handlers = self._build_routes()
        # With its seed fixed (one picked when it had none): every reset repeats the same run.
        self.config.fault_profile = self.set_fault_profile(self.config.fault_profile)

    # -- admin ----------------------------------------------------------------------------
    def reset(self, seed: dict[str, Any] | None = None) -> None:
        """Forget every change: reload the seed (or a new one), clear journal and faults, stop
        the webhook subscription (its deliveries forgotten too), and go back to the fault
        profile the sandbox started with (`config.fault_profile`), its draws and counts anew."""
        from connector.sandbox.seed import load_seed

        with self.lock:
            seed = self._seed if seed is None else seed
            self.org, self.portal = load_seed(seed, self.config)  # a broken seed changes nothing
            self._seed = seed
            self.journal.clear()
            self.faults.clear()
            self.webhooks.reset()
            self.portal.on_change = self._changed
            self.set_fault_profile(self.config.fault_profile)

    def inject_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def set_fault_profile(
        self, profile: FaultProfile | dict[str, Any] | None
    ) -> FaultProfile | None:
        """Switch the fault profile (a `FaultProfile` or its JSON form; None: off). Its draws
        start from its seed (one is picked when it has none) and its counts from zero.
        `ProfileError` names a bad field."""
        from connector.sandbox.hubspot.webhooks import Faults

        with self.lock:
            chosen = self.injector.set(profile)
            self.webhooks.set_profile(
                None
                if chosen is None
                else Faults(
                    drop=chosen.rate("webhook_drop"),
                    duplicate=chosen.rate("webhook_duplicate"),
                    reorder=chosen.rate("webhook_reorder"),
                    seed=chosen.seed,
                )
            )
            return chosen

    def fault_report(self) -> dict[str, Any]:
        """The profile in force, the faults served per kind and the draws' denominators."""
        return self.injector.report()

    def stamp_modified(
        self,
        object_type: str,
        *,
        ids: list[str] | None = None,
        count: int | None = None,
        at_ms: int | None = None,
        properties: dict[str, Any] | None = None,
    ) -> list[str]:
        """One bulk change in HubSpot: the records `ids` (or the first `count` live ones by
        id) get `properties` (if any) and all the same last-modified instant `at_ms` (now when
        None), as an import or a workflow touching thousands of records at once leaves them.
        `ValueError` names what is wrong; the ids stamped otherwise."""
        from connector.sandbox.hubspot.portal import SEED_SOURCE

        with self.lock:
            otype = self.portal.types.get(object_type)
            if otype is None:
                msg = f"no HubSpot object type {object_type!r}; expected contacts or companies"
                raise ValueError(msg)
            store = self.portal.stores[object_type]
            if (ids is None) == (count is None):
                msg = 'name the records by "ids" or by "count", one of the two'
                raise ValueError(msg)
            if ids is not None:
                missing = [str(i) for i in ids if store.get(str(i)) is None]
                if missing:
                    msg = f"no live {object_type} record {missing[0]}"
                    raise ValueError(msg)
                records = [r for i in ids if (r := store.get(str(i))) is not None]
            else:
                records = sorted(store.live(), key=lambda r: int(r.id))[: count or 0]
            changes, issues = self.portal.prepare(otype, properties or {})
            if issues:
                raise ValueError("; ".join(i.message for i in issues))
            at = self.portal.now_ms() if at_ms is None else at_ms
            self.portal.stamp(otype, records, changes, at, SEED_SOURCE)
            self.injector.count("shared_modified", len(records))
            return [r.id for r in records]

    def _changed(self, change: Change) -> None:
        """Every portal write: webhooks hear of it, and the fault profile may hide it from
        search for a while."""
        self.webhooks.record(change)
        if change.kind in ("creation", "propertyChange"):
            self.injector.changed(change.object_type, change.record_id, change.at_ms)

    # -- routing --------------------------------------------------------------------------
    def _build_routes(self) -> tuple[Map, dict[str, Handler]]:
        from connector.sandbox.hubspot import api as hubspot_api
        from connector.sandbox.hubspot import webhook_admin
        from connector.sandbox.salesforce import bulk2, oauth, rest, soap

        rules: list[Rule] = []
        handlers: dict[str, Handler] = {}
        for module in (oauth, rest, bulk2, soap, hubspot_api, webhook_admin, _admin_module()):
            for path, methods, handler in module.routes():
                endpoint = f"{module.__name__}.{handler.__name__}"
                rules.append(Rule(path, methods=methods, endpoint=endpoint, strict_slashes=False))
                handlers[endpoint] = handler
        return Map(rules, merge_slashes=False), handlers

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        api = _api_of(request.path)
        request.environ["sandbox.user"] = None
        with self.lock:
            target, decision = self._decide(request, api)
            response, fault = self._serve(request, api, target, decision)
        if decision is not None:  # slept outside the lock: no other request waits for it
            time.sleep(decision.latency_s + (decision.slow_s if fault == "slow_answer" else 0))
        if api != "sandbox":
            self.journal.add(
                time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                api=api,
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                status=0 if response is None else response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                user=request.environ.get("sandbox.user"),
                fault=fault,
            )
        if response is None:
            msg = f"sandbox fault: {fault}"
            raise DropConnection(msg)
        return response(environ, start_response)

    def _decide(self, request: Request, api: str) -> tuple[Target | None, Decision | None]:
        """What the fault profile does to this request (nothing for the admin endpoints)."""
        if api == "sandbox" or self.injector.profile is None:
            return None, None
        target = target_of(request, api, self.org.sessions)
        return target, self.injector.decide(target)

    def _serve(
        self, request: Request, api: str, target: Target | None, decision: Decision | None
    ) -> tuple[Response | None, str | None]:
        """The answer (None: close the connection without one) and the fault kind served."""
        for fault in self.faults:
            if fault.matches(request):
                fault.times -= 1
                return json_response(fault.body, fault.status, fault.headers), None
        kind = decision.kind if decision is not None else None
        if decision is None or kind is None:
            return self._dispatch(request, api), None
        response: Response | None
        if kind in ("hubspot_rate_limit", "hubspot_rate_limit_retry_after"):
            from connector.sandbox.hubspot.api import rate_limit_fault

            retry_after = decision.retry_after_s if kind.endswith("retry_after") else None
            response = rate_limit_fault(self, request, retry_after)
        elif kind == "salesforce_request_limit":
            response = self._request_limit(request)
        elif kind == "server_error":
            response = self._server_error(request, api, decision.status)
        elif kind == "connection_reset":
            response = None
        else:
            if kind == "session_expiry" and target is not None and target.session:
                self.org.sessions.pop(target.session, None)  # its own check answers 401
            response = self._dispatch(request, api)
            if kind == "lost_answer":
                if response.status_code >= 300:  # nothing committed: no answer to lose
                    return response, None
                lost = decision.reset
                response = None if lost else self._server_error(request, api, decision.status)
        self.injector.count(kind)
        return response, kind

    def _request_limit(self, request: Request) -> Response:
        from connector.sandbox.salesforce.common import with_limit_info
        from connector.sandbox.salesforce.errors import (
            request_limit_exceeded,
            soap_request_limit_exceeded,
        )

        soap = request.path.startswith("/services/Soap/")
        refused = soap_request_limit_exceeded() if soap else request_limit_exceeded()
        return with_limit_info(self, refused)

    def _server_error(self, request: Request, api: str, status: int) -> Response:
        if api == "hubspot":
            from connector.sandbox.hubspot.errors import server_error

            return server_error(status)
        from connector.sandbox.salesforce.errors import server_error as sf_server_error

        return sf_server_error(status, soap=request.path.startswith("/services/Soap/"))

    def _dispatch(self, request: Request, api: str) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            return _not_found(api, request, exc)
        except HTTPException as exc:  # e.g. a redirect werkzeug suggests: answer as not found
            return _not_found(api, request, exc)
        return self._handlers[endpoint](self, request, **args)


def _api_of(path: str) -> str:
    if path.startswith("/services/"):
        return "salesforce"
    if path.startswith("/crm/"):
        return "hubspot"
    return "sandbox"


def _not_found(api: str, request: Request, exc: HTTPException) -> Response:
    if api == "salesforce":
        if isinstance(exc, MethodNotAllowed):
            allowed = ", ".join(sorted(exc.valid_methods or []))
            return json_response(
                [
                    {
                        "errorCode": "METHOD_NOT_ALLOWED",
                        "message": f"HTTP Method '{request.method}' not allowed. "
                        f"Allowed are {allowed}",
                    }
                ],
                405,
            )
        return json_response(
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
        )
    if api == "hubspot":
        return Response("", status=404 if isinstance(exc, NotFound) else 405)
    return json_response({"error": "not found"}, 404)


def _admin_module() -> Any:
    """The `/_sandbox/` endpoints, grouped so `_build_routes` treats them like an API module."""

    class Admin:
        __name__ = "admin"

        @staticmethod
        def routes() -> list[tuple[str, list[str], Handler]]:
            return [
                ("/_sandbox/health", ["GET"], health),
                ("/_sandbox/journal", ["GET"], journal),
                ("/_sandbox/journal", ["DELETE"], clear_journal),
                ("/_sandbox/faults", ["POST"], add_fault),
                ("/_sandbox/faults/profile", ["PUT"], put_profile),
                ("/_sandbox/faults/profile", ["GET"], get_profile),
                ("/_sandbox/faults/profile", ["DELETE"], delete_profile),
                ("/_sandbox/hubspot/<object_type>/stamp", ["POST"], stamp),
                ("/_sandbox/reset", ["POST"], reset),
                ("/_sandbox/expire-sessions", ["POST"], expire_sessions),
                ("/_sandbox/hubspot/<object_type>/<record_id>/calculated", ["POST"], calculated),
            ]

    return Admin


def health(sb: Sandbox, request: Request) -> Response:
    """Liveness and a count of what the sandbox holds."""
    return json_response(
        {
            "status": "ok",
            "salesforce": {k: len(v) for k, v in sb.org.records.items()},
            "hubspot": sb.portal.counts(),
            "salesforceApiUsed": sb.org.api_used,
        }
    )


def journal(sb: Sandbox, request: Request) -> Response:
    """`GET /_sandbox/journal?since=SEQ&api=salesforce|hubspot`: the requests served."""
    try:
        since = int(request.args.get("since", "0"))
    except ValueError:
        return json_response({"error": "since must be an integer"}, 400)
    entries = sb.journal.entries(since=since, api=request.args.get("api"))
    return json_response(
        {"entries": [e.as_dict() for e in entries], "lastSeq": sb.journal.last_seq()}
    )


def clear_journal(sb: Sandbox, request: Request) -> Response:
    sb.journal.clear()
    return json_response(None, 204)


def add_fault(sb: Sandbox, request: Request) -> Response:
    """`POST /_sandbox/faults {"path_prefix", "status", "body", "headers", "method", "times"}`."""
    try:
        spec = read_json(request) or {}
        sb.faults.append(Fault(**spec))
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"bad fault: {exc}"}, 400)
    return json_response({"faults": len(sb.faults)}, 201)


def put_profile(sb: Sandbox, request: Request) -> Response:
    """`PUT /_sandbox/faults/profile {"seed", "rates": {kind: chance}, "latency_ms", ...}`:
    this profile from now on (counts from zero); the report, as GET shows it."""
    try:
        body = read_json(request)
        sb.set_fault_profile(profile_from(body))
    except ProfileError as exc:
        return json_response({"error": f"fault profile: {exc}"}, 400)
    except ValueError as exc:
        return json_response({"error": f"body must be a fault profile as JSON: {exc}"}, 400)
    return json_response(sb.fault_report())


def get_profile(sb: Sandbox, request: Request) -> Response:
    """`GET /_sandbox/faults/profile`: the profile (null when off, its seed always shown),
    the faults served per kind and the draws' denominators (requests, records, changes,
    webhook events)."""
    return json_response(sb.fault_report())


def delete_profile(sb: Sandbox, request: Request) -> Response:
    """`DELETE /_sandbox/faults/profile`: no more faults; the report of the run it ends."""
    report = sb.fault_report()
    sb.set_fault_profile(None)
    return json_response(report)


def stamp(sb: Sandbox, request: Request, object_type: str) -> Response:
    """`POST /_sandbox/hubspot/contacts/stamp {"ids": [...] | "count": N, "at": ms | ISO,
    "properties": {...}}`: many records changed at one instant (`Sandbox.stamp_modified`)."""
    from connector.sandbox.hubspot.values import parse_datetime_ms

    try:
        body = read_json(request) or {}
        if not isinstance(body, dict) or set(body) - {"ids", "count", "at", "properties"}:
            msg = 'body must be {"ids": [...] or "count": N, "at", "properties"}'
            raise ValueError(msg)
        ids, count, at = body.get("ids"), body.get("count"), body.get("at")
        if ids is not None and not isinstance(ids, list):
            msg = "ids: a list of record ids"
            raise ValueError(msg)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            msg = "count: an integer"
            raise ValueError(msg)
        at_ms = None if at is None else parse_datetime_ms(str(at))
        if at is not None and at_ms is None:
            msg = f"at: {at!r} is not epoch milliseconds or an ISO 8601 date-time"
            raise ValueError(msg)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            msg = "properties: an object of property values"
            raise ValueError(msg)
        stamped = sb.stamp_modified(
            object_type, ids=ids, count=count, at_ms=at_ms, properties=properties
        )
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)
    otype = sb.portal.types[object_type]
    first = sb.portal.stores[object_type].get(stamped[0]) if stamped else None
    instant = first.props.get(otype.modified) if first else None
    return json_response({"count": len(stamped), "ids": stamped, "modified": instant})


def reset(sb: Sandbox, request: Request) -> Response:
    """`POST /_sandbox/reset`: back to the seed (or to the seed in the body); a seed that does
    not load answers 400 naming the record and field, and leaves the sandbox as it was."""
    from connector.sandbox.seed import SeedError

    try:
        body = read_json(request)
    except ValueError as exc:
        return json_response({"error": f"body must be a seed as JSON: {exc}"}, 400)
    try:
        sb.reset(body if isinstance(body, dict) else None)
    except SeedError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response({"status": "reset"})


def calculated(sb: Sandbox, request: Request, object_type: str, record_id: str) -> Response:
    """`POST /_sandbox/hubspot/contacts/{id}/calculated {"properties": {...}}`: HubSpot itself
    changes a record's properties, read-only ones included (a scoring rule recomputing
    `hubspotscore`, say), stamping its last-modified date as such a change does."""
    otype = sb.portal.types.get(object_type)
    store = sb.portal.stores.get(object_type) if otype else None
    record = store.get(record_id) if store else None
    if otype is None or record is None:
        return json_response({"error": f"no {object_type} record {record_id}"}, 404)
    try:
        body = read_json(request) or {}
    except ValueError as exc:
        return json_response({"error": f"body must be JSON: {exc}"}, 400)
    values = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(values, dict):
        return json_response({"error": 'body must be {"properties": {...}}'}, 400)
    changes, issues = sb.portal.prepare(otype, values, seed=True)
    if issues:
        return json_response({"error": "; ".join(i.message for i in issues)}, 400)
    from connector.sandbox.hubspot.portal import CALCULATED_SOURCE

    sb.portal.update(otype, record, changes, CALCULATED_SOURCE)
    return json_response(sb.portal.view(otype, record, list(values)))


def expire_sessions(sb: Sandbox, request: Request) -> Response:
    """`POST /_sandbox/expire-sessions`: every Salesforce token stops working (tests re-auth)."""
    sb.org.sessions.clear()
    return json_response(None, 204)
