"""Alerts: which conditions hold now, and the messages that say so. Pure: observations in,
alerts and webhook payloads out (the service reads, claims and sends: `connector.service.alerting`).

Conditions, each keyed so it is sent at most once per period (the state store keeps when each
key was last sent):

- a dead-letter spike: at least `dead_letter_spike` records of one stream failed within the
  period (`dead_letters:<stream>`);
- a stream lagging: its cursor further behind than `lag_seconds` (`lag:<stream>`);
- the API budget at the reserve: Salesforce's calls left before the reserve kept for people
  at or under nothing, or HubSpot's daily calls left under the same share of its day
  (`budget:<remote>`);
- a lead past its SLA (`sla:<lead id>`), from the breaches the SLA report computes
  (`breach_alerts`).

A bound of 0 turns its condition off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.display import clip

#: Characters of an alert's text in a chat message.
TEXT_LIMIT = 1000


@dataclass(frozen=True)
class Alert:
    """One condition that holds: its key (what "once per period" counts), what kind it is, one
    line for people, and the figures behind it (structured, for the log event)."""

    key: str
    kind: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bounds:
    """When a condition holds (0: never)."""

    dead_letter_spike: int = 10
    lag_seconds: float = 3600.0
    period_seconds: float = 3600.0
    #: HubSpot's daily calls left under this share of its day is "at the reserve" (percent).
    reserve_percent: float = 20.0


@dataclass(frozen=True)
class Observed:
    """What the service reads before evaluating: new failures per stream within the period,
    cursor lag per stream (seconds), the budget figures of `/metrics` (`Snapshot.budget`)."""

    new_failures: Mapping[str, int]
    lag: Mapping[str, float]
    budget: Mapping[str, float]


@dataclass(frozen=True)
class Breach:
    """A lead past its SLA, as the SLA report computes it."""

    lead_id: str
    stage: str
    owner_id: str | None
    hours_over: float
    bound_hours: float
    hubspot_id: str | None = None
    #: The target missed (its name in sla.yaml) and when the Lead was handed over: what a
    #: re-route gives as its reason.
    target: str | None = None
    handoff: datetime | None = None


def evaluate(observed: Observed, bounds: Bounds) -> list[Alert]:
    """The conditions that hold now, in a stable order."""
    alerts: list[Alert] = []
    period = _duration(bounds.period_seconds)
    if bounds.dead_letter_spike > 0:
        for stream, count in sorted(observed.new_failures.items()):
            if count >= bounds.dead_letter_spike:
                alerts.append(
                    Alert(
                        f"dead_letters:{stream}",
                        "dead_letter_spike",
                        f"{count} records of {stream} failed within {period} "
                        f"(alert from {bounds.dead_letter_spike}): leadbridge dlq list",
                        {"stream": stream, "failed": count, "bound": bounds.dead_letter_spike},
                    )
                )
    if bounds.lag_seconds > 0:
        for stream, seconds in sorted(observed.lag.items()):
            if seconds > bounds.lag_seconds:
                alerts.append(
                    Alert(
                        f"lag:{stream}",
                        "stream_lag",
                        f"{stream} is {_duration(seconds)} behind "
                        f"(alert past {_duration(bounds.lag_seconds)})",
                        {
                            "stream": stream,
                            "lag_seconds": round(seconds),
                            "bound": bounds.lag_seconds,
                        },
                    )
                )
    alerts.extend(_budget(observed.budget, bounds.reserve_percent))
    return alerts


def _budget(budget: Mapping[str, float], reserve_percent: float) -> list[Alert]:
    alerts = []
    left = budget.get("salesforce_left_before_reserve")
    if left is not None and left <= 0:
        alerts.append(
            Alert(
                "budget:salesforce",
                "api_budget",
                f"Salesforce API budget at the reserve: {budget.get('salesforce_used', 0):.0f} of "
                f"{budget.get('salesforce_max', 0):.0f} daily requests used; passes wait",
                {"remote": "salesforce", **_picked(budget, "salesforce_")},
            )
        )
    daily = budget.get("hubspot_daily_left")
    daily_max = budget.get("hubspot_daily_max")
    if daily is not None and daily_max and daily < daily_max * reserve_percent / 100:
        alerts.append(
            Alert(
                "budget:hubspot",
                "api_budget",
                f"HubSpot daily API budget under the reserve: {daily:.0f} of {daily_max:.0f} left",
                {"remote": "hubspot", **_picked(budget, "hubspot_")},
            )
        )
    return alerts


def breach_alerts(breaches: Iterable[Breach]) -> list[Alert]:
    """One alert per lead past its SLA (keyed by the lead, so a lead still in breach is alerted
    again only after the period)."""
    return [
        Alert(
            f"sla:{b.lead_id}",
            "sla_breach",
            f"Lead {b.lead_id} is {b.hours_over:.1f} h past its {b.bound_hours:g} h SLA "
            f"in stage {b.stage}" + (f" (owner {b.owner_id})" if b.owner_id else ""),
            {
                "lead_id": b.lead_id,
                "hubspot_id": b.hubspot_id,
                "stage": b.stage,
                "owner_id": b.owner_id,
                "hours_over": round(b.hours_over, 2),
                "bound_hours": b.bound_hours,
            },
        )
        for b in breaches
    ]


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack incoming webhook's message (`text`, mrkdwn)."""
    return {"text": f":rotating_light: *leadbridge*: {_text(alert)}"}


def teams_payload(alert: Alert, at: datetime) -> dict[str, Any]:
    """A Microsoft Teams incoming webhook's message: an Adaptive Card in a message envelope,
    as Teams' Workflows webhooks ("when a Teams webhook request is received") and its older
    incoming-webhook connectors take it."""
    facts = [{"title": str(k), "value": clip(str(v), 200)} for k, v in alert.details.items()]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": f"leadbridge: {alert.kind.replace('_', ' ')}",
                "weight": "Bolder",
                "size": "Medium",
                "color": "Attention",
            },
            {"type": "TextBlock", "text": _text(alert), "wrap": True},
            {"type": "FactSet", "facts": [*facts, {"title": "at", "value": at.isoformat()}]},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def _text(alert: Alert) -> str:
    return clip(alert.text, TEXT_LIMIT)


def _picked(budget: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): v for k, v in budget.items() if k.startswith(prefix)}


def _duration(seconds: float) -> str:
    """`90 s`, `12 min`, `3.5 h`."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
