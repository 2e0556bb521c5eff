"""What each report needs from the store, aggregated as far as the store can: the counts and
percentiles of every group, and the few rows the rest needs (opportunities, for their outcomes
in Salesforce; Leads that may have missed their SLA, for their working-hours deadline).

`StateStore` answers these with SQL aggregates on PostgreSQL (a million transitions never
leave the database row by row); the builders here make the same from journeys in Python, which
the store uses on SQLite (no percentile aggregate there) and tests hold the SQL to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connector.model import Journey
from connector.reports.stats import percentile

#: What a journey without a source or campaign is grouped under.
NONE = "(none)"
#: The stages whose time a funnel measures in SQL, each to the next: MQL -> SAL -> SQL -> opp.
TIMED_STAGES = ("mql", "sal", "sql")


@dataclass(frozen=True)
class FunnelGroup:
    """One group's counts per stage and (median, p90) hours spent in each timed stage before
    the next; `group` None is the whole cohort."""

    group: str | None
    mql: int
    sal: int
    sql: int
    opportunity: int
    hours: dict[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class Opened:
    """A journey's opportunity, for its outcome: its group and when it was opened."""

    group: str
    opportunity_id: str
    at: datetime


@dataclass(frozen=True)
class FunnelInput:
    groups: list[FunnelGroup]
    opened: list[Opened]


@dataclass(frozen=True)
class SlaGroup:
    """One owner and queue: Leads handed over, touched, (median, p90) minutes to first touch;
    and the breaches the store counted without their deadlines (`connector.reports.sla.
    Deadlines`), of which `open_breaches` untouched."""

    owner_id: str | None
    queue: str | None
    handed_over: int
    touched: int
    median_minutes: float | None
    p90_minutes: float | None
    breaches: int = 0
    open_breaches: int = 0


@dataclass(frozen=True)
class SlaInput:
    groups: list[SlaGroup]
    #: The journeys that may have missed a target: untouched, or touched later than the
    #: shortest target's minutes after the handoff (working hours only make deadlines later),
    #: as far as the SLA needs them (`late_journey`); read with `Deadlines`, only those whose
    #: breach the groups' counts do not settle.
    late: list[Journey]


@dataclass(frozen=True)
class Overdue:
    """A Lead handed over and not touched that may be past its target's deadline, as far as
    the SLA needs it (`late_journey`); with its `deadline` when the store told it from its
    piece of time (`connector.reports.sla.Deadlines`), else None (computed per Lead)."""

    journey: Journey
    deadline: datetime | None = None


@dataclass(frozen=True)
class ChannelGroup:
    """One source and campaign: handed over, accepted, rejected (by reason), converted."""

    source: str | None
    campaign: str | None
    handed_over: int
    accepted: int
    rejected: int
    converted: int
    reasons: dict[str | None, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelInput:
    groups: list[ChannelGroup]
    #: (source, campaign, opportunity id) of every converted journey with an opportunity.
    opportunities: list[tuple[str | None, str | None, str]]


def month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def group_key(journey: Journey, by: str) -> str:
    if by == "month":
        return month(journey.entered)
    return (journey.source if by == "source" else journey.campaign) or NONE


def sal_at(j: Journey) -> datetime | None:
    return j.accepted or j.sql or j.opportunity


def sql_at(j: Journey) -> datetime | None:
    return j.sql or j.opportunity


def first_touch(journey: Journey) -> datetime | None:
    """The first moment sales did anything with the Lead."""
    moments = [m for m in (journey.touched, journey.accepted, journey.rejected, journey.sql) if m]
    return min(moments) if moments else None


def _hours(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> list[float]:
    return [(b - a).total_seconds() / 3600 for a, b in pairs if a is not None and b is not None]


def _funnel_group(group: str | None, journeys: Sequence[Journey]) -> FunnelGroup:
    spans = {
        "mql": _hours((j.entered, sal_at(j)) for j in journeys),
        "sal": _hours((sal_at(j), sql_at(j)) for j in journeys),
        "sql": _hours((sql_at(j), j.opportunity) for j in journeys),
    }
    return FunnelGroup(
        group=group,
        mql=len(journeys),
        sal=sum(1 for j in journeys if sal_at(j)),
        sql=sum(1 for j in journeys if sql_at(j)),
        opportunity=sum(1 for j in journeys if j.opportunity),
        hours={s: (percentile(v, 0.5), percentile(v, 0.9)) for s, v in spans.items()},
    )


def funnel_input(journeys: Iterable[Journey], by: str) -> FunnelInput:
    everyone = list(journeys)
    groups: dict[str | None, list[Journey]] = {}
    for journey in everyone:
        groups.setdefault(group_key(journey, by), []).append(journey)
    return FunnelInput(
        groups=[*(_funnel_group(k, v) for k, v in groups.items()), _funnel_group(None, everyone)],
        opened=[
            Opened(group_key(j, by), j.opportunity_id, j.opportunity)
            for j in everyone
            if j.opportunity and j.opportunity_id
        ],
    )


def late_journey(
    hubspot_id: str,
    lead_id: str,
    handoff: datetime,
    touched: datetime | None,
    owner_id: str | None,
    queue: str | None,
    source: str | None,
) -> Journey:
    """A journey as far as its SLA goes: its ids, handoff, first touch (as `touched`), owner,
    queue and source."""
    return Journey(
        hubspot_id,
        lead_id,
        handoff,
        handoff=handoff,
        touched=touched,
        owner_id=owner_id,
        queue=queue,
        source=source,
    )


def sla_input(journeys: Iterable[Journey], shortest_minutes: float | None) -> SlaInput:
    groups: dict[tuple[str | None, str | None], list[float | None]] = {}
    late: list[Journey] = []
    for journey in journeys:
        if journey.handoff is None:
            continue
        touched = first_touch(journey)
        waited = (touched - journey.handoff).total_seconds() / 60 if touched else None
        groups.setdefault((journey.owner_id, journey.queue), []).append(waited)
        if shortest_minutes is not None and (waited is None or waited > shortest_minutes):
            late.append(
                late_journey(
                    journey.hubspot_id,
                    journey.lead_id,
                    journey.handoff,
                    touched,
                    journey.owner_id,
                    journey.queue,
                    journey.source,
                )
            )
    rows = []
    for (owner, queue), waits in groups.items():
        minutes = [w for w in waits if w is not None]
        rows.append(
            SlaGroup(
                owner,
                queue,
                len(waits),
                len(minutes),
                percentile(minutes, 0.5),
                percentile(minutes, 0.9),
            )
        )
    return SlaInput(rows, late)


def channel_input(journeys: Iterable[Journey]) -> ChannelInput:
    groups: dict[tuple[str | None, str | None], list[Journey]] = {}
    for journey in journeys:
        if journey.handoff is not None:
            groups.setdefault((journey.source, journey.campaign), []).append(journey)
    return ChannelInput(
        groups=[
            ChannelGroup(
                source,
                campaign,
                handed_over=len(js),
                accepted=sum(1 for j in js if sal_at(j)),
                rejected=sum(1 for j in js if j.rejected),
                converted=sum(1 for j in js if sql_at(j)),
                reasons=dict(Counter(j.reason for j in js if j.rejected)),
            )
            for (source, campaign), js in groups.items()
        ],
        opportunities=[
            (j.source, j.campaign, j.opportunity_id)
            for js in groups.values()
            for j in js
            if sql_at(j) and j.opportunity_id
        ],
    )
