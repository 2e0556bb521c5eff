"""The status page's routes in-process (Starlette's TestClient) over a real state store: hostile
values escaped in the tables and the SVG, the funnel and SLA panels drawn from given rows and
left out when nothing fills them, the funnel read from the audit log, and Retry only with the
admin token. The browser test (tests/e2e/test_status_page.py) runs it under `leadbridge run`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connector.model import DeadLetter
from connector.service.metrics import Metrics
from connector.service.page import report_panels, status_routes
from connector.service.panels import FunnelRow, ReportPanels, SlaRow, bar_chart, percentile
from connector.service.tasks import Health
from connector.settings import Settings
from connector.state import AuditEvent, Commit, StateStore

TOKEN = "unit-admin-token-0123456789"
HOSTILE = '<script>alert("x")</script>'


class FakeConnector:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def steps(self) -> list[str]:
        return ["hubspot.contacts"]


class FakeWorker:
    def __init__(self) -> None:
        self.woken: list[list[str]] = []

    def wake(self, streams: list[str]) -> None:
        self.woken.append(list(streams))


class FakeService:
    """What the page reads of `Service`: settings, the store, the gauges' snapshot, health,
    metrics, the worker to wake."""

    def __init__(self, store: StateStore, token: str | None) -> None:
        from connector.service.metrics import Snapshot

        self.settings = Settings.model_construct(admin_token=SecretStr(token) if token else None)
        self.connector = FakeConnector(store)
        self.metrics = Metrics()
        self.health = Health(started=0.0)
        self.started_at = time.time()
        self.worker = FakeWorker()
        self.lock = threading.Lock()
        self._snapshot = lambda: Snapshot(
            dead_letters=store.counts()[0],
            work={},
            cursor_lag={},
            budget={"salesforce_used": 6.0},
            calls={},
        )

    def snapshot(self) -> Any:
        return self._snapshot()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def _client(store: StateStore, token: str | None = TOKEN, panels: Any = None) -> TestClient:
    service = FakeService(store, token)
    routes = status_routes(service, panels) if panels else status_routes(service)  # type: ignore[arg-type]
    client = TestClient(Starlette(routes=routes))
    client.service = service  # type: ignore[attr-defined]
    return client


def _fail(store: StateStore, stream: str, record_id: str, reason: str = "refused") -> None:
    letter = DeadLetter(stream=stream, record_id=record_id, reason=reason, code="X")
    store.record(Commit(stream=stream, failures=[letter]), run_id="test")


def _retries(store: StateStore) -> list[tuple[str, str]]:
    return [(w.stream, w.record_id) for w in store.work() if w.kind == "retry"]


def test_hostile_values_are_escaped_everywhere(store: StateStore) -> None:
    _fail(store, "hubspot.contacts", HOSTILE, reason=f"Company {HOSTILE}\n\x1b[31m" + "y" * 2000)
    explain = {"hubspot_id": "7", "lead": {"company": HOSTILE}, "rule": HOSTILE, "owner": {}}
    store.record(
        Commit(stream="hubspot.contacts", audit=[AuditEvent("routing", "7", explain)]),
        run_id="t",
    )
    panels = ReportPanels(funnel=[FunnelRow(HOSTILE, 3)], sla=[SlaRow(HOSTILE, 24, 2, 1)])

    html = _client(store, panels=lambda s, now: panels).get("/").text

    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[31m" in html  # control characters shown, not sent
    assert "(2,0" in html  # the long reason clipped, its length said
    assert html.count("<svg") == 2  # the funnel's and the SLA's charts


def test_panels_from_rows_and_left_out_without_them(store: StateStore) -> None:
    rows = [FunnelRow("routed", 10), FunnelRow("converted", 4, 3600.0, 7200.0)]
    sla = [SlaRow("sales accepted", 24, within=3, breached=1)]

    both = _client(store, panels=lambda s, now: ReportPanels(funnel=rows, sla=sla)).get("/").text
    neither = _client(store, panels=lambda s, now: ReportPanels(None, None)).get("/").text

    assert 'data-panel="funnel"' in both and 'data-panel="sla"' in both
    assert "60 min" in both and "2.0 h" in both and ">75%<" in both
    assert "Funnel" not in neither and "SLA" not in neither and "<svg" not in neither


def test_bar_widths_follow_the_values() -> None:
    chart = bar_chart([("a", 10, "10"), ("b", 5, "5"), ("c", 0, "0")])

    widths = [b.width for b in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile([5, 1, 3, 2, 4], 0.9) == 5
    assert percentile([], 0.5) is None


def test_the_funnel_is_read_from_the_audit_log(tmp_path: Path) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    clock = {"now": now - timedelta(days=40)}
    with StateStore.open(f"sqlite:///{tmp_path / 'a.db'}", clock=lambda: clock["now"]) as store:

        def event(kind: str, record: str, at: datetime) -> None:
            clock["now"] = at
            store.record(Commit(stream="s", audit=[AuditEvent(kind, record, {})]), run_id="t")

        event("routing", "old", now - timedelta(days=40))  # before the 30 days
        event("routing", "1", now - timedelta(days=3))
        event("routing", "2", now - timedelta(days=2))
        event("routing", "3", now - timedelta(days=1))
        event("conversion", "1", now - timedelta(days=3) + timedelta(hours=2))
        event("conversion", "2", now - timedelta(days=2) + timedelta(hours=6))
        event("conversion", "old", now - timedelta(days=1))  # routed before the period

        panels = report_panels(store, now)

    assert panels.sla is None
    assert panels.funnel == [
        FunnelRow("routed to sales (Lead created)", 3),
        FunnelRow("converted", 2, 2 * 3600.0, 6 * 3600.0),
    ]


def test_retry_only_with_the_admin_token(store: StateStore) -> None:
    _fail(store, "hubspot.contacts", "400")
    _fail(store, "hubspot.conversions.opportunity", "500")
    client = _client(store)
    page = client.get("/").text
    assert '<form method="post" action="/dead-letters/retry">' in page
    assert 'value="hubspot.contacts|400"' in page
    assert 'value="hubspot.conversions.opportunity|500"' not in page  # fixed at the source

    wrong = client.post(
        "/dead-letters/retry", data={"token": "nope", "retry": "hubspot.contacts|400"}
    )
    missing = client.post("/dead-letters/retry", data={"retry": "hubspot.contacts|400"})
    assert wrong.status_code == 403 and missing.status_code == 403
    assert "wrong admin token" in wrong.text
    assert _retries(store) == []

    not_retryable = client.post(
        "/dead-letters/retry",
        data={"token": TOKEN, "retry": "hubspot.conversions.opportunity|500"},
    )
    unknown = client.post(
        "/dead-letters/retry", data={"token": TOKEN, "retry": "hubspot.contacts|9"}
    )
    assert not_retryable.status_code == 400 and unknown.status_code == 404
    assert _retries(store) == []

    done = client.post(
        "/dead-letters/retry",
        data={"token": TOKEN, "retry": "hubspot.contacts|400"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/?retried=400"
    assert _retries(store) == [("hubspot.contacts", "400")]
    assert client.service.worker.woken == [["hubspot.contacts"]]  # type: ignore[attr-defined]
    assert "(retry queued)" in client.get("/").text


def test_without_an_admin_token_the_page_is_read_only(store: StateStore) -> None:
    _fail(store, "hubspot.contacts", "400")
    client = _client(store, token=None)

    page = client.get("/")
    refused = client.post(
        "/dead-letters/retry", data={"token": "", "retry": "hubspot.contacts|400"}
    )

    assert page.status_code == 200 and "<form" not in page.text and "Retry" not in page.text
    assert "Read-only (no LEADBRIDGE_ADMIN_TOKEN set)" in page.text
    assert refused.status_code == 403 and _retries(store) == []
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
