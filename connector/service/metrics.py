"""The service's Prometheus metrics, on a registry of their own (served at `/metrics`).

Counters move as runs finish; gauges (dead letters open, work queued, cursor lag, the API
budget) are read from the store and the gateways when `/metrics` is scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Seconds buckets for a change reaching Salesforce: webhooks aim at about a second, polls at
#: the poll interval.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
PASS_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)


@dataclass(frozen=True)
class Snapshot:
    """What the gauges show, read at scrape time."""

    dead_letters: Mapping[str, int]  # stream -> open failures
    work: Mapping[str, int]  # stream -> work queued
    cursor_lag: Mapping[str, float]  # stream -> seconds since its cursor
    budget: Mapping[str, float]  # "<remote>_<what>" -> value (calls left, used, max)
    calls: Mapping[str, int]  # remote -> calls this process sent


class Metrics:
    """Every metric the service exports."""

    def __init__(self, snapshot: Callable[[], Snapshot] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "leadbridge_records",
            "Records handled by a stream run, by outcome (created, updated, failed, ...)",
            ["stream", "outcome"],
            registry=r,
        )
        self.runs = Counter(
            "leadbridge_runs",
            "Stream runs, by trigger and result",
            ["stream", "trigger", "result"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "leadbridge_run_seconds",
            "Duration of a stream run",
            ["stream", "trigger"],
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.webhooks = Counter(
            "leadbridge_webhook_requests",
            "HubSpot webhook requests, by outcome (accepted, or why refused)",
            ["outcome"],
            registry=r,
        )
        self.webhook_events = Counter(
            "leadbridge_webhook_events",
            "HubSpot webhook events accepted, by subscription type",
            ["type"],
            registry=r,
        )
        self.latency = Histogram(
            "leadbridge_change_to_sync_seconds",
            "From a change in HubSpot (the webhook's occurredAt) to its run finishing",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.mapping_reloads = Counter(
            "leadbridge_mapping_reloads", "Mapping file edits, by result", ["result"], registry=r
        )
        self.dead_letters = Gauge(
            "leadbridge_dead_letters_open", "Failures waiting for a person", ["stream"], registry=r
        )
        self.work = Gauge("leadbridge_work_queued", "Work queued", ["stream"], registry=r)
        self.cursor_lag = Gauge(
            "leadbridge_cursor_lag_seconds",
            "Seconds since a stream's cursor",
            ["stream"],
            registry=r,
        )
        self.budget = Gauge(
            "leadbridge_api_budget", "API budget as the remotes report it", ["remote"], registry=r
        )
        self.calls = Gauge(
            "leadbridge_api_calls_sent",
            "API calls this process has sent, per remote (logins aside)",
            ["remote"],
            registry=r,
        )
        self.mapping_version = Gauge(
            "leadbridge_mapping_version_info",
            "The mapping files live (1) and the last refused edit (0)",
            ["version", "state"],
            registry=r,
        )
        self._snapshot = snapshot

    def refresh(self) -> None:
        """Read the gauges (called before each scrape)."""
        if self._snapshot is None:
            return
        snap = self._snapshot()
        for gauge, values in (
            (self.dead_letters, snap.dead_letters),
            (self.work, snap.work),
            (self.cursor_lag, snap.cursor_lag),
        ):
            gauge.clear()
            for stream, value in values.items():
                gauge.labels(stream).set(value)
        self.budget.clear()
        for remote, value in snap.budget.items():
            self.budget.labels(remote).set(value)
        for remote, n in snap.calls.items():
            self.calls.labels(remote).set(n)

    def record_run(
        self, stream: str, trigger: str, counts: Mapping[str, int], seconds: float, *, ok: bool
    ) -> None:
        """One stream run finished: its outcomes, its duration, whether it stopped early."""
        self.runs.labels(stream, trigger, "ok" if ok else "error").inc()
        self.run_seconds.labels(stream, trigger).observe(seconds)
        for outcome, n in counts.items():
            if n:
                self.records.labels(stream, outcome).inc(n)
