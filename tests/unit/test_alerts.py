"""Alerts: the conditions (`connector.alerts`, pure), "at most once per condition per period"
kept in the state store (SQLite, and PostgreSQL when LEADBRIDGE_TEST_DATABASE_URL is set), the
Slack and Teams messages as a receiver on loopback gets them, and the SLA-breach hook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connector.alerts import Bounds, Breach, Observed, breach_alerts, evaluate
from connector.model import DeadLetter, Transition
from connector.service.alerting import Alerter
from connector.settings import Settings
from connector.state import Commit, StateStore

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BOUNDS = Bounds(dead_letter_spike=3, lag_seconds=600, period_seconds=3600, reserve_percent=20)
QUIET = Observed(new_failures={}, lag={}, budget={})
SECRET_PATH = "/hooks/T000/B000/s3cr3t-hook-path"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps each JSON body, answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[StateStore]:
    with StateStore.open(database_url, clock=clock) as opened:
        yield opened


def _settings(url: str | None, fmt: str = "slack") -> Settings:
    return Settings.model_construct(
        alert_webhook_url=SecretStr(url) if url else None,
        alert_webhook_format=fmt,
        alert_dead_letter_spike=BOUNDS.dead_letter_spike,
        alert_lag_seconds=BOUNDS.lag_seconds,
        alert_period_seconds=BOUNDS.period_seconds,
    )


def _alerter(store: StateStore, clock: Clock, url: str | None, fmt: str = "slack", **budget):
    return Alerter(_settings(url, fmt), store, lambda: dict(budget), now=clock)


def _fail(store: StateStore, stream: str, *ids: str) -> None:
    failures = [DeadLetter(stream=stream, record_id=i, reason=f"{i} refused") for i in ids]
    store.record(Commit(stream=stream, failures=failures), run_id="test")


# -- the conditions (pure) ------------------------------------------------------------------


def test_each_condition_holds_from_its_bound_and_not_below() -> None:
    observed = Observed(
        new_failures={"hubspot.contacts": 3, "salesforce.leads": 2},
        lag={"hubspot.contacts": 601, "salesforce.leads": 600},
        budget={"salesforce_left_before_reserve": 0, "salesforce_used": 80, "salesforce_max": 100},
    )

    alerts = evaluate(observed, BOUNDS)

    assert [a.key for a in alerts] == [
        "dead_letters:hubspot.contacts",
        "lag:hubspot.contacts",
        "budget:salesforce",
    ]
    assert alerts[0].text.startswith("3 records of hubspot.contacts failed within 60 min")
    assert alerts[1].text == "hubspot.contacts is 10 min behind (alert past 10 min)"
    assert evaluate(QUIET, BOUNDS) == []


def test_a_zero_bound_turns_its_condition_off_and_hubspot_daily_budget_counts() -> None:
    observed = Observed(
        new_failures={"hubspot.contacts": 500},
        lag={"hubspot.contacts": 10**6},
        budget={"hubspot_daily_left": 199, "hubspot_daily_max": 1000},
    )
    off = Bounds(dead_letter_spike=0, lag_seconds=0, period_seconds=60, reserve_percent=20)

    assert [a.key for a in evaluate(observed, off)] == ["budget:hubspot"]
    roomy = Observed({}, {}, {"hubspot_daily_left": 200, "hubspot_daily_max": 1000})
    assert evaluate(roomy, off) == []


# -- once per condition per period (the store) ----------------------------------------------


def test_a_condition_is_claimed_once_per_period_even_by_two_workers(
    database_url: str, store: StateStore, clock: Clock
) -> None:
    period = timedelta(hours=1)
    with StateStore.open(database_url, clock=clock) as other:
        first = store.claim_alerts({"lag:a": {}, "lag:b": {}}, period)
        again = other.claim_alerts({"lag:a": {}, "lag:b": {}}, period)
        clock.advance(minutes=59)
        within = other.claim_alerts({"lag:a": {}}, period)
        clock.advance(minutes=1)
        after = other.claim_alerts({"lag:a": {}}, period)

    assert sorted(first) == ["lag:a", "lag:b"]
    assert again == [] and within == []
    assert after == ["lag:a"]


# -- sending (a receiver on loopback) -------------------------------------------------------


def test_a_dead_letter_spike_is_posted_once_as_slack_text_then_again_after_the_period(
    store: StateStore, clock: Clock, receiver: Receiver
) -> None:
    _fail(store, "hubspot.contacts", "1", "2", "3")
    alerter = _alerter(store, clock, receiver.url)

    with capture_logs() as logs:
        sent = alerter.check()
        clock.advance(minutes=30)
        _fail(store, "hubspot.contacts", "4")
        quiet = alerter.check()

    assert [a.key for a in sent] == ["dead_letters:hubspot.contacts"] and quiet == []
    assert len(receiver.bodies) == 1
    assert set(receiver.bodies[0]) == {"text"}
    assert "4 records of hubspot.contacts failed" not in receiver.bodies[0]["text"]
    assert "3 records of hubspot.contacts failed within 60 min" in receiver.bodies[0]["text"]
    fired = [e for e in logs if e["event"] == "alert.fired"]
    assert len(fired) == 1 and fired[0]["stream"] == "hubspot.contacts" and fired[0]["failed"] == 3

    clock.advance(minutes=31)  # past the period: only failure 4 is still within it
    assert alerter.check() == []
    _fail(store, "hubspot.contacts", "5", "6", "7")
    assert [a.key for a in alerter.check()] == ["dead_letters:hubspot.contacts"]
    assert len(receiver.bodies) == 2
    assert "4 records of hubspot.contacts failed" in receiver.bodies[1]["text"]


def test_lag_and_budget_alerts_as_teams_adaptive_cards(
    store: StateStore, clock: Clock, receiver: Receiver
) -> None:
    store.record(Commit(stream="hubspot.contacts", cursor=T0 - timedelta(hours=2)), run_id="t")
    store.record(Commit(stream="salesforce.leads", cursor=T0 - timedelta(minutes=1)), run_id="t")
    alerter = _alerter(
        store,
        clock,
        receiver.url,
        "teams",
        salesforce_left_before_reserve=0,
        salesforce_used=80_000,
        salesforce_max=100_000,
    )

    sent = alerter.check()

    assert [a.key for a in sent] == ["lag:hubspot.contacts", "budget:salesforce"]
    cards = [body["attachments"][0] for body in receiver.bodies]
    assert [c["contentType"] for c in cards] == ["application/vnd.microsoft.card.adaptive"] * 2
    title, text, facts = cards[0]["content"]["body"]
    assert title["text"] == "leadbridge: stream lag"
    assert text["text"] == "hubspot.contacts is 2.0 h behind (alert past 10 min)"
    assert cards[1]["content"]["body"][0]["text"] == "leadbridge: api budget"
    assert "80000 of 100000 daily requests used" in cards[1]["content"]["body"][1]["text"]
    shown = {f["title"]: f["value"] for f in facts["facts"]}
    assert shown["stream"] == "hubspot.contacts" and shown["at"] == T0.isoformat()


def test_a_failing_receiver_is_logged_without_its_url_and_not_retried_into_a_storm(
    store: StateStore, clock: Clock, receiver: Receiver
) -> None:
    receiver.status = 500
    _fail(store, "hubspot.contacts", "1", "2", "3")
    alerter = _alerter(store, clock, receiver.url)

    with capture_logs() as logs:
        alerter.check()
        alerter.check()

    assert len(receiver.bodies) == 1
    failed = [e for e in logs if e["event"] == "alert.webhook_failed"]
    assert len(failed) == 1 and failed[0]["status"] == 500
    assert "s3cr3t" not in repr(logs)


def test_without_a_webhook_url_alerts_are_log_events_only(store: StateStore, clock: Clock) -> None:
    _fail(store, "hubspot.contacts", "1", "2", "3")
    posted: list[Any] = []
    alerter = Alerter(
        _settings(None), store, dict, now=clock, post=lambda *a, **k: posted.append(a)
    )

    with capture_logs() as logs:
        sent = alerter.check()

    assert len(sent) == 1 and posted == []
    assert [e["condition"] for e in logs if e["event"] == "alert.fired"] == [
        "dead_letters:hubspot.contacts"
    ]


# -- the SLA-breach hook --------------------------------------------------------------------

BREACHES = [
    Breach("00Q1", "sales accepted", "005A", hours_over=5.25, bound_hours=24, hubspot_id="101"),
    Breach("00Q2", "working", None, hours_over=1, bound_hours=48),
]


def test_breaches_are_alerted_once_per_lead_and_each_open_one_handed_to_the_reroute(
    store: StateStore, clock: Clock, receiver: Receiver
) -> None:
    """Each lead past its SLA is alerted once per period; the re-route hook gets every open
    breach on every check (it moves each Lead once per breach itself: its claim in the store,
    `tests/unit/test_reroute.py`), and a hook that fails leaves the alerts sent."""
    alerter = _alerter(store, clock, receiver.url)
    seen: list[list[str]] = []

    def reroute(breaches: Sequence[Breach]) -> list[Any]:
        seen.append([b.lead_id for b in breaches])
        if len(seen) == 2:
            raise RuntimeError("Salesforce is away")
        return []

    first = alerter.on_breaches(BREACHES, reroute)
    clock.advance(minutes=10)
    with capture_logs() as logs:
        second = alerter.on_breaches([*BREACHES, Breach("00Q3", "working", None, 2, 48)], reroute)

    assert [a.key for a in first] == ["sla:00Q1", "sla:00Q2"]
    assert [a.key for a in second] == ["sla:00Q3"]
    assert seen == [["00Q1", "00Q2"], ["00Q1", "00Q2", "00Q3"]]
    assert [e["error"] for e in logs if e["event"] == "alert.reroute_failed"] == [
        "Salesforce is away"
    ]
    assert [b["text"].endswith("in stage working") for b in receiver.bodies] == [False, True, True]


def test_breach_alerts_are_keyed_by_lead() -> None:
    assert [a.key for a in breach_alerts(BREACHES)] == ["sla:00Q1", "sla:00Q2"]
    assert breach_alerts(BREACHES)[1].details["owner_id"] is None


def test_the_checks_alert_the_sla_reports_open_breaches_once_per_period(
    store: StateStore, clock: Clock, receiver: Receiver, tmp_path: Path
) -> None:
    """The periodic check passes the SLA report's open breaches (`report sla --open`) to
    `on_breaches`: a Lead handed over and untouched past its target is one alert per period;
    once touched it is alerted no more; without sla.yaml nothing is checked."""
    (tmp_path / "sla.yaml").write_text(
        "targets:\n  - name: first touch\n    minutes: 30\n    working_hours: false\n"
    )
    settings = _settings(receiver.url).model_copy(update={"mappings_dir": tmp_path})
    alerter = Alerter(settings, store, dict, now=clock)
    handoff = [Transition("handoff", "101", "00Q1", T0, owner_id="005A")]
    store.record(Commit("hubspot.contacts", transitions=handoff), run_id="t")

    clock.advance(minutes=20)
    before_due = alerter.check()
    clock.advance(minutes=40)  # 30 minutes past the deadline
    first = alerter.check()
    clock.advance(minutes=10)
    within_period = alerter.check()
    clock.advance(seconds=BOUNDS.period_seconds)
    next_period = alerter.check()
    touched = [Transition("touched", "101", "00Q1", clock.now, owner_id="005A")]
    store.record(Commit("salesforce.leads", transitions=touched), run_id="t")
    clock.advance(seconds=BOUNDS.period_seconds)
    after_touch = alerter.check()
    (tmp_path / "sla.yaml").unlink()
    store.record(
        Commit(
            "hubspot.contacts",
            transitions=[Transition("handoff", "102", "00Q2", T0, owner_id="005A")],
        ),
        run_id="t",
    )
    without_file = alerter.check()

    assert before_due == [] and within_period == [] and after_touch == [] and without_file == []
    assert [a.key for a in first] == ["sla:00Q1"] and [a.key for a in next_period] == ["sla:00Q1"]
    assert first[0].details == {
        "lead_id": "00Q1",
        "hubspot_id": "101",
        "stage": "handed over, untouched (first touch)",
        "owner_id": "005A",
        "hours_over": 0.5,
        "bound_hours": 0.5,
    }
    assert [b["text"] for b in receiver.bodies][:1] == [
        ":rotating_light: *leadbridge*: Lead 00Q1 is 0.5 h past its 0.5 h SLA in stage "
        "handed over, untouched (first touch) (owner 005A)"
    ]
    assert len(receiver.bodies) == 2


def test_an_erased_persons_open_breach_is_not_alerted(
    store: StateStore, clock: Clock, receiver: Receiver, tmp_path: Path
) -> None:
    """A person erased while her Lead waited keeps her journey counted in the reports, under a
    key of its own; no alert names that key as a Lead to act on, another's breach still is."""
    (tmp_path / "sla.yaml").write_text(
        "targets:\n  - name: first touch\n    minutes: 30\n    working_hours: false\n"
    )
    settings = _settings(receiver.url).model_copy(update={"mappings_dir": tmp_path})
    alerter = Alerter(settings, store, dict, now=clock)
    handoffs = [
        Transition("handoff", "101", "00Q1", T0, owner_id="005A"),
        Transition("handoff", "102", "00Q2", T0, owner_id="005A"),
    ]
    store.record(Commit("hubspot.contacts", transitions=handoffs), run_id="t")
    store.erase(hubspot_id="101", salesforce_ids=["00Q1"], reason="request", key="k" * 32)

    clock.advance(minutes=60)
    alerts = alerter.check()

    assert [a.key for a in alerts] == ["sla:00Q2"]
