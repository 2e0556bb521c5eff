"""The service's alerts: every `LEADBRIDGE_ALERT_CHECK_SECONDS` a thread reads what the gauges
read (`Service.snapshot`) and the failures of the period, evaluates the conditions
(`connector.alerts`), claims in the state store those not sent within the period (so of several
workers one sends each), and sends each claimed alert: a structured log event (`alert.fired`)
always, and a POST to `LEADBRIDGE_ALERT_WEBHOOK_URL` when set, as a Slack (`text`) or Teams
(Adaptive Card) message (`LEADBRIDGE_ALERT_WEBHOOK_FORMAT`).

`on_breaches` is the hook for the leads past their SLA: each check passes it the SLA report's
open breaches (`connector.reports.sla.open_breaches`, as `leadbridge report sla --open`; none
without `mappings/sla.yaml`), and it claims and sends one alert per lead per period, and,
when given a `Reroute`, hands each newly breached lead to it (the service gives none: no
re-routing is built).

A webhook that fails is logged (`alert.webhook_failed`, without its URL: it holds a secret);
the alert stays claimed, so a flapping receiver cannot turn one condition into a storm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests
import structlog

from connector.alerts import (
    Alert,
    Bounds,
    Breach,
    Observed,
    breach_alerts,
    evaluate,
    slack_payload,
    teams_payload,
)
from connector.reports.config import FILE as SLA_FILE
from connector.reports.config import load_sla
from connector.reports.sla import open_breaches
from connector.settings import Settings
from connector.state.store import StateStore
from connector.streams.windows import is_settled_mark

log = structlog.get_logger(__name__)

#: Seconds a webhook receiver has to answer.
POST_TIMEOUT = 10.0


class Reroute(Protocol):
    """Hands a lead past its SLA to its next owner; returns the new owner's id (None: none)."""

    def __call__(self, breach: Breach, reason: str) -> str | None: ...


def bounds(settings: Settings) -> Bounds:
    return Bounds(
        dead_letter_spike=settings.alert_dead_letter_spike,
        lag_seconds=settings.alert_lag_seconds,
        period_seconds=settings.alert_period_seconds,
        reserve_percent=settings.salesforce_api_reserve_percent,
    )


class Alerter:
    """Evaluates, claims and sends alerts over one store."""

    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        budget: Callable[[], dict[str, float]],
        *,
        post: Callable[..., Any] = requests.post,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.budget = budget
        self.bounds = bounds(settings)
        self._post = post
        self._now = now
        url = settings.alert_webhook_url
        self._url = url.get_secret_value() if url else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadbridge-alerts", daemon=True)

    # -- the checks -------------------------------------------------------------------------
    def observe(self) -> Observed:
        now = self._now()
        period = timedelta(seconds=self.bounds.period_seconds)
        lag = {
            stream: (now - value).total_seconds()
            for stream, value in self.store.cursors().items()
            if value is not None and not is_settled_mark(stream)
        }
        return Observed(self.store.failures_since(now - period), lag, self.budget())

    def check(self) -> list[Alert]:
        """One round: the conditions that hold, those due sent, then the SLA report's open
        breaches through `on_breaches`; the alerts sent."""
        sent = self.send(evaluate(self.observe(), self.bounds))
        return sent + self.on_breaches(self.sla_breaches())

    def sla_breaches(self) -> list[Breach]:
        """The Leads past their first-touch target now, untouched (`leadbridge report sla
        --open`: the same function), as alerts take them; none without `sla.yaml`."""
        directory = Path(self.settings.mappings_dir)
        if not (directory / SLA_FILE).exists():
            return []
        config = load_sla(directory)
        now = self._now()
        minutes = {t.name: t.minutes for t in config.targets}
        return [
            Breach(
                lead_id=b.lead_id,
                stage=f"handed over, untouched ({b.target})",
                owner_id=b.owner_id,
                hours_over=max((now - b.deadline).total_seconds(), 0.0) / 3600,
                bound_hours=minutes[b.target] / 60,
                hubspot_id=b.hubspot_id,
            )
            for b in open_breaches(self.store, config, now=now)
        ]

    def on_breaches(
        self, breaches: Sequence[Breach], reroute: Reroute | None = None
    ) -> list[Alert]:
        """The SLA report's hook: alert each lead past its SLA (once per period), and hand each
        newly alerted one to `reroute` when given; the alerts sent."""
        sent = self.send(breach_alerts(breaches))
        if reroute is None:
            return sent
        by_key = {f"sla:{b.lead_id}": b for b in breaches}
        for alert in sent:
            breach = by_key[alert.key]
            reason = f"SLA breach: {alert.text}"
            try:
                owner = reroute(breach, reason)
            except Exception as exc:
                log.error("alert.reroute_failed", lead_id=breach.lead_id, error=str(exc))
                continue
            log.info("alert.rerouted", lead_id=breach.lead_id, owner_id=owner, reason=reason)
        return sent

    def send(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Claim `alerts` in the store (those sent within the period are not), log and POST
        each claimed one; the claimed."""
        wanted = {a.key: a for a in alerts}
        if not wanted:
            return []
        period = timedelta(seconds=self.bounds.period_seconds)
        claimed = self.store.claim_alerts(
            {key: {"kind": a.kind, **a.details} for key, a in wanted.items()}, period
        )
        sent = [wanted[key] for key in claimed]
        for alert in sent:
            log.warning(
                "alert.fired",
                condition=alert.key,
                kind=alert.kind,
                text=alert.text,
                **alert.details,
            )
            self._deliver(alert)
        return sent

    def _deliver(self, alert: Alert) -> None:
        if not self._url:
            return
        if self.settings.alert_webhook_format == "teams":
            payload = teams_payload(alert, self._now())
        else:
            payload = slack_payload(alert)
        try:
            answer = self._post(self._url, json=payload, timeout=POST_TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            log.error(
                "alert.webhook_failed",
                condition=alert.key,
                status=status,
                error=type(exc).__name__,
            )

    # -- the thread -------------------------------------------------------------------------
    def start(self) -> None:
        if self.settings.alert_check_seconds > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.alert_check_seconds):
            try:
                self.check()
            except Exception as exc:
                log.error("alert.check_failed", error=str(exc))
