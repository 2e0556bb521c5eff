"""The funnel: how many of a cohort reached each stage (MQL -> accepted (SAL) -> SQL ->
opportunity -> won), the conversion rate from each stage to the next, and the median and p90
time spent in each stage, per month, source or campaign.

A journey counts at every stage up to the furthest it reached (a Lead converted without an
explicit acceptance was accepted too). Won is the linked opportunity's outcome in Salesforce;
the time in the opportunity stage runs to its close date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal

from connector.model import Journey, OpportunityOutcome
from connector.reports.inputs import NONE, FunnelGroup, FunnelInput, funnel_input
from connector.reports.stats import percentile, rate

By = Literal["month", "source", "campaign"]
#: The funnel's stages, in order (`FunnelRow` has a count for each).
FUNNEL_STAGES = ("mql", "sal", "sql", "opportunity", "won")
TOTAL = "(all)"


@dataclass(frozen=True)
class StageTime:
    """Time spent in one stage by the journeys that left it for the next, in hours."""

    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class FunnelRow:
    """One group's funnel: counts per stage, each stage's rate from the one before, and the
    time spent in each stage before the next (`times`, keyed by the stage left)."""

    by: str
    group: str
    mql: int
    sal: int
    sql: int
    opportunity: int
    won: int
    sal_rate: float | None
    sql_rate: float | None
    opportunity_rate: float | None
    won_rate: float | None
    times: dict[str, StageTime]

    def counts(self) -> dict[str, int]:
        return {stage: getattr(self, stage) for stage in FUNNEL_STAGES}


def funnel(
    journeys: Iterable[Journey],
    outcomes: Mapping[str, OpportunityOutcome],
    *,
    by: By = "month",
) -> list[FunnelRow]:
    """The funnel of these journeys (see `funnel_rows`)."""
    return funnel_rows(funnel_input(journeys, by), outcomes, by=by)


def funnel_rows(
    found: FunnelInput, outcomes: Mapping[str, OpportunityOutcome], *, by: By = "month"
) -> list[FunnelRow]:
    """One row per group (months in order, other groups by size), then the whole cohort;
    won from the opportunities' `outcomes`."""
    won: dict[str | None, list[float]] = {}
    for opened in found.opened:
        outcome = outcomes.get(opened.opportunity_id)
        if outcome is None or not outcome.is_won:
            continue
        closed = (
            datetime.combine(outcome.close_date, time(), tzinfo=UTC)
            if outcome.close_date
            else opened.at
        )
        hours = max((closed - opened.at).total_seconds(), 0.0) / 3600
        won.setdefault(opened.group, []).append(hours)
        won.setdefault(None, []).append(hours)
    named = [g for g in found.groups if g.group is not None]
    total = [g for g in found.groups if g.group is None]
    if by == "month":
        named.sort(key=lambda g: g.group or "")
    else:
        named.sort(key=lambda g: (-g.mql, g.group or ""))
    return [
        *(_row(by, g, won.get(g.group, []), g.group or NONE) for g in named),
        *(_row(by, g, won.get(None, []), TOTAL) for g in total),
    ]


def _row(by: str, group: FunnelGroup, won_hours: list[float], name: str) -> FunnelRow:
    times = {stage: StageTime(*group.hours.get(stage, (None, None))) for stage in group.hours}
    times["opportunity"] = StageTime(percentile(won_hours, 0.5), percentile(won_hours, 0.9))
    return FunnelRow(
        by=by,
        group=name,
        mql=group.mql,
        sal=group.sal,
        sql=group.sql,
        opportunity=group.opportunity,
        won=len(won_hours),
        sal_rate=rate(group.sal, group.mql),
        sql_rate=rate(group.sql, group.sal),
        opportunity_rate=rate(group.opportunity, group.sql),
        won_rate=rate(len(won_hours), group.opportunity),
        times=times,
    )
