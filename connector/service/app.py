"""The service's HTTP side: `/healthz`, `/readyz`, `/metrics` and (in `webhooks.py`) the HubSpot
webhook endpoint, as one Starlette app. Handlers never call Salesforce or HubSpot: what they
read of the store runs in a worker thread, and the streams run in the service's worker: a
thread of this process on SQLite (`worker.py`), the job queue several processes share on
PostgreSQL (`queue.py`), both running the same job functions (`tasks.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connector.extras import POSTGRES, needs
from connector.service.alerting import Alerter
from connector.service.metrics import Metrics, Snapshot
from connector.service.tasks import WEBHOOK_STREAMS, Health, Tasks
from connector.service.worker import Worker
from connector.settings import Settings
from connector.streams.windows import is_settled_mark
from connector.wiring import Connector

log = structlog.get_logger(__name__)

#: A pass older than this many poll intervals (or a minute, whichever is longer) makes the
#: service not ready: the APIs have not answered it lately.
STALE_INTERVALS = 2
STALE_AT_LEAST = 60.0


class Runs(Protocol):
    """What runs the jobs: the in-process `Worker` or the shared job `Queue`."""

    tasks: Tasks

    @property
    def connector(self) -> Connector: ...
    @property
    def stopping(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float) -> bool: ...
    def wake(self, streams: Iterable[str] = WEBHOOK_STREAMS) -> None: ...
    def poll_interval(self) -> float: ...
    def problems(self) -> list[str]: ...
    def last_pass_elsewhere(self) -> float | None: ...


class Service:
    """The worker, its health and its metrics: what the endpoints read and the signals stop."""

    def __init__(
        self,
        settings: Settings,
        connector: Connector,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.started_at = time.time()
        self.health = Health(started=clock())
        self.metrics = Metrics(self.snapshot)
        tasks = Tasks(settings, connector, self.metrics, self.health, clock=clock)
        self.worker: Runs
        if connector.store.engine.dialect.name == "postgresql":
            with needs(POSTGRES, setting="LEADBRIDGE_DATABASE_URL"):
                from connector.service.queue import Queue
            self.worker = Queue(tasks)
        else:
            self.worker = Worker(tasks)
        self.alerter = Alerter(
            settings, connector.store, self.budget, salesforce=lambda: _gateway(settings)
        )

    @property
    def connector(self) -> Connector:
        return self.worker.connector

    @property
    def stopping(self) -> bool:
        return self.worker.stopping

    def start(self) -> None:
        self.worker.start()
        self.alerter.start()

    def stop(self) -> None:
        self.alerter.stop()
        self.worker.stop()

    def snapshot(self) -> Snapshot:
        """The gauges' values, read from the store and the gateways."""
        store = self.connector.store
        dead, work = store.counts()
        now = datetime.now(UTC)
        lag = {
            stream: (now - value).total_seconds()
            for stream, value in store.cursors().items()
            if value is not None and not is_settled_mark(stream)
        }
        calls = {
            "salesforce": self.connector.salesforce.calls_sent(),
            "hubspot": self.connector.hubspot.calls_sent(),
        }
        return Snapshot(
            dead_letters=dead, work=work, cursor_lag=lag, budget=self.budget(), calls=calls
        )

    def budget(self) -> dict[str, float]:
        """The API budget as the remotes last reported it, and the poll interval it sets."""
        budget: dict[str, float] = {}
        salesforce = self.connector.salesforce.budget()
        if salesforce is not None:
            budget |= {
                "salesforce_used": salesforce.used,
                "salesforce_max": salesforce.max,
                "salesforce_reserve": salesforce.reserve,
                "salesforce_left_before_reserve": salesforce.remaining_before_reserve,
            }
        hubspot = self.connector.hubspot.budget()
        budget |= {
            "hubspot_window_max": hubspot.window_max,
            "hubspot_window_left": hubspot.window_remaining,
        }
        if hubspot.daily_remaining is not None:
            budget["hubspot_daily_left"] = hubspot.daily_remaining
        if hubspot.daily_max is not None:
            budget["hubspot_daily_max"] = hubspot.daily_max
        budget["poll_interval_seconds"] = self.worker.poll_interval()
        return budget

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the service does its job now, and why not: the state store answers, a pass
        (which calls both APIs) finished lately, and which mapping version is live."""
        problems: list[str] = []
        try:
            self.connector.store.cursors()
            store = "ok"
        except Exception as exc:
            store = f"not answering: {exc}"
            problems.append(f"state store {store}")
        with self.health.lock:
            last, error = self.health.last_pass_ok, self.health.last_error
            live, refused = self.health.mapping_live, self.health.mapping_refused
        ago = None if last is None else self.clock() - last
        try:
            # With several workers, a pass another one finished counts too.
            elsewhere = self.worker.last_pass_elsewhere()
        except Exception as exc:
            elsewhere = None
            log.warning("service.readiness_unknown", error=str(exc))
        if elsewhere is not None:
            ago = elsewhere if ago is None else min(ago, elsewhere)
        bound = max(STALE_INTERVALS * self.settings.poll_seconds, STALE_AT_LEAST)
        if ago is None:
            problems.append(error or "no pass has finished yet")
        elif ago > bound:
            problems.append(f"no pass has finished for {ago:.0f} s: {error}")
        problems.extend(self.worker.problems())
        if self.stopping:
            problems.append("stopping")
        body: dict[str, Any] = {
            "ready": not problems,
            "problems": problems,
            "state_store": store,
            "last_pass_seconds_ago": None if ago is None else round(ago, 1),
            "last_error": error,
            "mappings": {
                "live": live,
                "refused": None if refused is None else {"version": refused[0], "why": refused[1]},
            },
        }
        return not problems, body


def create_app(service: Service, routes: list[Route] | None = None) -> Starlette:
    """The Starlette app over `service` (`routes` adds the webhook endpoint)."""

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        ready, body = await run_in_threadpool(service.readiness)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        await run_in_threadpool(service.metrics.refresh)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *(routes or []),
        ]
    )


def _gateway(settings: Settings) -> Any:
    """A Salesforce gateway of the alert thread's own (a gateway serves one thread at a time)."""
    from connector.salesforce.gateway import SalesforceGateway

    return SalesforceGateway.connect(settings)
