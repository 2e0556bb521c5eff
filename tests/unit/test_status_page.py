"""The status page's routes in-process (Starlette's TestClient) over a real state store: hostile
values escaped in the tables and the SVG, the funnel and SLA panels drawn from given rows and
left out when nothing fills them (saying why), filled from the reports over the store's
transitions, and Retry only with the admin token. The browser test
(tests/e2e/test_status_page.py) runs it under `leadbridge run`."""

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

from connector.model import DeadLetter, Transition
from connector.service.metrics import Metrics
from connector.service.page import report_panels, status_routes
from connector.service.panels import (
    FunnelRow,
    OpenBreach,
    ReportPanels,
    SlaRow,
    bar_chart,
    percentile,
)
from connector.service.tasks import Health
from connector.settings import Settings
from connector.state import AuditEvent, Commit, StateStore

TOKEN = "unit-admin-token-0123456789"
HOSTILE = '<script>alert("x")</script>'
SINCE = datetime(2026, 11, 7, tzinfo=UTC)


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
    panels = ReportPanels(
        HOSTILE,
        SINCE,
        funnel=[FunnelRow(HOSTILE, 3)],
        sla=[SlaRow(HOSTILE, HOSTILE, 3, 2, 1, 1)],
        breaches=[OpenBreach(HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, SINCE)],
    )

    html = _client(store, panels=lambda s, now: panels).get("/").text

    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[31m" in html  # control characters shown, not sent
    assert "(2,0" in html  # the long reason clipped, its length said
    assert html.count("<svg") == 2  # the funnel's and the SLA's charts


def test_panels_from_rows_and_left_out_without_them(store: StateStore) -> None:
    rows = [FunnelRow("MQL", 10, 1.0, 2.0), FunnelRow("SQL (converted)", 4)]
    sla = [SlaRow("005A", "(none)", 4, within=3, breached=1, open_breaches=1)]
    due = datetime(2026, 12, 1, 9, tzinfo=UTC)
    breach = OpenBreach("00Q1", "101", "005A", "(none)", "first touch", due)
    note = "No SLA panel: there is no sla.yaml in the mappings directory."

    def filled(s: StateStore, now: datetime) -> ReportPanels:
        return ReportPanels("cohort: the last days", SINCE, rows, sla, [breach])

    def empty(s: StateStore, now: datetime) -> ReportPanels:
        return ReportPanels("cohort: the last days", SINCE, None, None, sla_note=note)

    both = _client(store, panels=filled).get("/").text
    neither = _client(store, panels=empty).get("/").text

    assert 'data-panel="funnel"' in both and 'data-panel="sla"' in both
    assert "60 min" in both and "2.0 h" in both and ">75%<" in both
    assert 'data-breach="00Q1"' in both and "2026-12-01 09:00:00Z" in both
    assert "cohort: the last days" in both and "Won is left out" in both
    assert 'data-panel="funnel"' not in neither and 'data-panel="sla"' not in neither
    assert "<svg" not in neither and note in neither
    assert "No lead entered the funnel in the period." in neither


def test_bar_widths_follow_the_values() -> None:
    chart = bar_chart([("a", 10, "10"), ("b", 5, "5"), ("c", 0, "0")])

    widths = [b.width for b in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile([5, 1, 3, 2, 4], 0.9) == 5
    assert percentile([], 0.5) is None


SLA_YAML = """
time_zone: UTC
targets:
  - name: first touch in an hour
    minutes: 60
    working_hours: false
"""


def test_the_panels_are_the_reports_over_the_cohort(tmp_path: Path) -> None:
    """`report_panels` fills the funnel (MQL -> SAL -> SQL -> opportunity, time in each stage)
    and the SLA (per owner and queue, and the breaches open now) of the leads that entered in
    the last 30 days; an older lead counts in neither, and without sla.yaml there is no SLA
    panel."""
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    old, t1, t2 = now - 40 * day, now - 3 * day, now - 2 * day
    transitions = [
        # before the period: counts nowhere
        Transition("mql", "9", "00Q9", old),
        Transition("handoff", "9", "00Q9", old, owner_id="005A"),
        # 1: touched in 10 minutes, accepted 2 h, converted 6 h, opportunity 8 h after MQL
        Transition("mql", "1", "00Q1", t1),
        Transition("handoff", "1", "00Q1", t1, owner_id="005A"),
        Transition("touched", "1", "00Q1", t1 + timedelta(minutes=10), owner_id="005A"),
        Transition("accepted", "1", "00Q1", t1 + 2 * hour),
        Transition("sql", "1", "00Q1", t1 + 6 * hour),
        Transition("opportunity", "1", "00Q1", t1 + 8 * hour, opportunity_id="006A"),
        # 2: touched 3 h after the handoff (breached, closed)
        Transition("mql", "2", "00Q2", t2),
        Transition("handoff", "2", "00Q2", t2, owner_id="005A"),
        Transition("touched", "2", "00Q2", t2 + 3 * hour, owner_id="005A"),
        # 3: handed over to a queue, never touched (an open breach)
        Transition("mql", "3", "00Q3", t2),
        Transition("handoff", "3", "00Q3", t2, owner_id="00GQ", queue="00GQ"),
    ]
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    with StateStore.open(f"sqlite:///{tmp_path / 'a.db'}") as store:
        store.record(Commit("hubspot.contacts", transitions=transitions), run_id="t")
        without = report_panels(store, now, mappings_dir=mappings)
        (mappings / "sla.yaml").write_text(SLA_YAML)
        panels = report_panels(store, now, mappings_dir=mappings)

    assert panels.since == now - 30 * day and "cohort" in panels.cohort
    assert panels.funnel == [
        FunnelRow("MQL", 3, 2.0, 2.0),
        FunnelRow("accepted (SAL)", 1, 4.0, 4.0),
        FunnelRow("SQL (converted)", 1, 2.0, 2.0),
        FunnelRow("opportunity", 1),
    ]
    assert panels.sla == [
        SlaRow("005A", "(none)", 2, within=1, breached=1, open_breaches=0),
        SlaRow("00GQ", "00GQ", 1, within=0, breached=1, open_breaches=1),
    ]
    assert [(b.lead_id, b.hubspot_id, b.deadline) for b in panels.breaches] == [
        ("00Q9", "9", old + hour),  # open whenever it entered, as `report sla --open`
        ("00Q3", "3", t2 + hour),
    ]
    assert without.funnel == panels.funnel and without.sla is None
    assert without.sla_note == "No SLA panel: there is no sla.yaml in the mappings directory."


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
