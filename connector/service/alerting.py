"""The service's alerts: every `LEADBRIDGE_ALERT_CHECK_SECONDS` a thread reads what the gauges
read (`Service.snapshot`) and the failures of the period, evaluates the conditions
(`connector.alerts`), claims in the state store those not sent within the period (so of several
workers one sends each), and sends each claimed alert: a structured log event (`alert.fired`)
always, and a POST to `LEADBRIDGE_ALERT_WEBHOOK_URL` when set, as a Slack (`text`) or Teams
(Adaptive Card) message (`LEADBRIDGE_ALERT_WEBHOOK_FORMAT`).

`on_breaches` is the hook for the leads past their SLA: each check passes it the SLA report's
open breaches (`connector.reports.sla.open_breaches`, as `leadbridge report sla --open`; none
without `mappings/sla.yaml`), and it claims and sends one alert per lead per period, and,
when given a `Reroute`, hands it every open breach (`connector.service.reroute` moves each
Lead once per breach, when sla.yaml's `reroute.after_breach` asks for it).

Given a way to Salesforce (the service gives one: a gateway of the alert thread's own), each
check first reads the activities of the Leads waiting for a first touch
(`connector.service.touches`): a Task or Event since the handoff is a first touch, so a Lead
called but not yet given a new status is neither alerted nor re-routed.

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
from connector.reports.config import SlaConfig, load_sla
from connector.reports.sla import open_breaches
from connector.routing.config import FILE as ROUTING_FILE
from connector.routing.config import load_routing
from connector.service.reroute import LeadOwners, Rerouter
from connector.service.touches import ActivitySource, record_first_activities
from connector.settings import Settings
from connector.state.erasure import ERASED_KEY_PREFIX
from connector.state.store import StateStore
from connector.streams.windows import is_settled_mark

log = structlog.get_logger(__name__)

#: Seconds a webhook receiver has to answer.
POST_TIMEOUT = 10.0


class Reroute(Protocol):
    """Hands the leads past their SLA to their next owners (once per breach: the callee keeps
    count); what became of those it acted on."""

    def __call__(self, breaches: Sequence[Breach]) -> Sequence[Any]: ...


class Salesforce(LeadOwners, ActivitySource, Protocol):
    """What the alert check asks of Salesforce: activities, Lead owners, users, updates."""


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
        salesforce: Callable[[], Salesforce] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.budget = budget
        self.bounds = bounds(settings)
        self._post = post
        self._now = now
        self._connect = salesforce
        self._salesforce: Salesforce | None = None
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
        directory = Path(self.settings.mappings_dir)
        if not (directory / SLA_FILE).exists():
            return sent
        config = load_sla(directory)
        self.read_touches()
        return sent + self.on_breaches(self.sla_breaches(config), self.rerouter(config))

    def read_touches(self) -> None:
        """Record the first touches the waiting Leads' activities make (nothing without a
        way to Salesforce); a failed read is logged, and the check goes on without it."""
        salesforce = self.salesforce()
        if salesforce is None:
            return
        try:
            record_first_activities(self.store, salesforce, self._now())
        except Exception as exc:
            log.error("alert.touches_failed", error=str(exc))

    def rerouter(self, config: SlaConfig) -> Reroute | None:
        """The re-route of breached Leads when sla.yaml asks for it (and the service has a way
        to Salesforce and a routing.yaml); None otherwise."""
        routing_file = Path(self.settings.mappings_dir) / ROUTING_FILE
        if not config.reroute.after_breach or not routing_file.exists():
            return None
        salesforce = self.salesforce()
        if salesforce is None:
            return None
        routing = load_routing(self.settings.mappings_dir)
        return Rerouter(routing, config, self.store, salesforce, now=self._now)

    def salesforce(self) -> Salesforce | None:
        """The alert thread's own gateway, connected on first use (None: none given, or it
        could not connect: logged, and tried again next check; the alerts go out anyway)."""
        if self._salesforce is None and self._connect is not None:
            try:
                self._salesforce = self._connect()
            except Exception as exc:
                log.error("alert.salesforce_unavailable", error=str(exc))
        return self._salesforce

    def sla_breaches(self, config: SlaConfig | None = None) -> list[Breach]:
        """The Leads past their first-touch target now, untouched (`leadbridge report sla
        --open`: the same function), as alerts take them; none without `sla.yaml`."""
        if config is None:
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
                target=b.target,
                handoff=b.handoff,
            )
            for b in open_breaches(self.store, config, now=now)
            # An erased person's journey stays counted, but no one can touch her Lead now.
            if not b.lead_id.startswith(ERASED_KEY_PREFIX)
        ]

    def on_breaches(
        self, breaches: Sequence[Breach], reroute: Reroute | None = None
    ) -> list[Alert]:
        """The SLA report's hook: alert each lead past its SLA (once per period), and hand
        every one to `reroute` when given (it re-routes each once per breach); the alerts
        sent. A failed re-route is logged; the alerts stand."""
        sent = self.send(breach_alerts(breaches))
        if reroute is None or not breaches:
            return sent
        try:
            reroute(breaches)
        except Exception as exc:
            log.error("alert.reroute_failed", leads=len(breaches), error=str(exc))
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
