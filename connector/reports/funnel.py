"""The funnel: how many of a cohort reached each stage (MQL -> accepted (SAL) -> SQL ->
opportunity -> won), the conversion rate from each stage to the next, and the median and p90
time spent in each stage, per month, source or campaign.

A journey counts at every stage up to the furthest it reached (a Lead converted without an
explicit acceptance was accepted too). Won is the linked opportunity's outcome in Salesforce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import pairwise
from typing import Literal

from connector.model import Journey, OpportunityOutcome
from connector.reports.stats import percentile, rate

By = Literal["month", "source", "campaign"]
#: The funnel's stages, in order (`FunnelRow` has a count for each).
FUNNEL_STAGES = ("mql", "sal", "sql", "opportunity", "won")
#: What a journey without a value is grouped under.
NONE = "(none)"
TOTAL = "(all)"


@dataclass(frozen=True)
class StageTime:
    """Time spent in one stage by the journeys that left it for the next, in hours."""

    count: int
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


def reached(journey: Journey, outcomes: Mapping[str, OpportunityOutcome]) -> dict[str, datetime]:
    """When the journey reached each funnel stage it reached (a later stage implies the
    earlier ones, at the later time when the earlier was never recorded)."""
    times: dict[str, datetime] = {"mql": journey.entered}
    sql = journey.sql or journey.opportunity
    sal = journey.accepted or sql
    if sal is not None:
        times["sal"] = sal
    if sql is not None:
        times["sql"] = sql
    if journey.opportunity is not None:
        times["opportunity"] = journey.opportunity
    outcome = outcomes.get(journey.opportunity_id or "")
    if journey.opportunity is not None and outcome is not None and outcome.is_won:
        closed = outcome.close_date
        times["won"] = (
            datetime.combine(closed, time(), tzinfo=UTC) if closed else journey.opportunity
        )
    return times


def funnel(
    journeys: Iterable[Journey],
    outcomes: Mapping[str, OpportunityOutcome],
    *,
    by: By = "month",
) -> list[FunnelRow]:
    """One row per group (months in order, other groups by size), then the whole cohort."""
    key = _KEYS[by]
    groups: dict[str, list[dict[str, datetime]]] = {}
    everyone: list[dict[str, datetime]] = []
    for journey in journeys:
        times = reached(journey, outcomes)
        groups.setdefault(key(journey), []).append(times)
        everyone.append(times)
    names = sorted(groups) if by == "month" else sorted(groups, key=lambda g: (-len(groups[g]), g))
    return [*(_row(by, name, groups[name]) for name in names), _row(by, TOTAL, everyone)]


def _row(by: str, group: str, journeys: list[dict[str, datetime]]) -> FunnelRow:
    counts = {stage: sum(stage in j for j in journeys) for stage in FUNNEL_STAGES}
    times: dict[str, StageTime] = {}
    for left, entered in pairwise(FUNNEL_STAGES):
        hours = [
            max((j[entered] - j[left]).total_seconds(), 0.0) / 3600
            for j in journeys
            if entered in j
        ]
        times[left] = StageTime(len(hours), percentile(hours, 0.5), percentile(hours, 0.9))
    return FunnelRow(
        by=by,
        group=group,
        **counts,
        sal_rate=rate(counts["sal"], counts["mql"]),
        sql_rate=rate(counts["sql"], counts["sal"]),
        opportunity_rate=rate(counts["opportunity"], counts["sql"]),
        won_rate=rate(counts["won"], counts["opportunity"]),
        times=times,
    )


_KEYS: dict[str, Callable[[Journey], str]] = {
    "month": lambda j: j.entered.astimezone(UTC).strftime("%Y-%m"),
    "source": lambda j: j.source or NONE,
    "campaign": lambda j: j.campaign or NONE,
}
