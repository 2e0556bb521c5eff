"""The sandbox: one WSGI application serving Salesforce (`/services/`) and HubSpot (`/crm/`).

All state lives in memory in one `Sandbox`; a single lock serialises requests so the org and the
portal change atomically per call, as the real services appear to a client. Every request served
is journaled (`/_sandbox/journal`), which is how tests and benchmarks count API calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response, read_json
from connector.sandbox.journal import Journal

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
    base_url: str = "https://127.0.0.1"


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
        self._seed = seed or {}
        self.org, self.portal = load_seed(self._seed, self.config)
        self.portal.on_change = self.webhooks.record
        self._map, self._handlers = self._build_routes()

    # -- admin ----------------------------------------------------------------------------
    def reset(self, seed: dict[str, Any] | None = None) -> None:
        """Forget every change: reload the seed (or a new one), clear journal and faults, and
        stop the webhook subscription (its deliveries forgotten too)."""
        from connector.sandbox.seed import load_seed

        with self.lock:
            seed = self._seed if seed is None else seed
            self.org, self.portal = load_seed(seed, self.config)  # a broken seed changes nothing
            self._seed = seed
            self.journal.clear()
            self.faults.clear()
            self.webhooks.reset()
            self.portal.on_change = self.webhooks.record

    def inject_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

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
            response = self._dispatch(request, api)
        if api != "sandbox":
            self.journal.add(
                time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                api=api,
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                user=request.environ.get("sandbox.user"),
            )
        return response(environ, start_response)

    def _dispatch(self, request: Request, api: str) -> Response:
        for fault in self.faults:
            if fault.matches(request):
                fault.times -= 1
                return json_response(fault.body, fault.status, fault.headers)
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
