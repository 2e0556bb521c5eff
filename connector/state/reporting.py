"""The reports' queries over the transitions table: journeys grouped from their stages, and
on PostgreSQL the reports' aggregates themselves (counts, `percentile_cont`), so a million
transitions are summed where they lie instead of travelling row by row. SQLite has no
percentile aggregate: there the journeys are read and `connector.reports.inputs` aggregates
them (the same figures; a test holds the two to it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from connector.model import Journey
from connector.reports.inputs import (
    NONE,
    ChannelGroup,
    ChannelInput,
    FunnelGroup,
    FunnelInput,
    Opened,
    SlaGroup,
    SlaInput,
    late_journey,
)
from connector.state.schema import transitions as t

#: The stages a `Journey` has a time for, in its fields' order.
JOURNEY_STAGES = ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")
_TOUCHES = ("touched", "accepted", "rejected", "sql")


def _first(stage: str) -> sa.ColumnElement[Any]:
    return sa.type_coerce(sa.func.min(sa.case((t.c.stage == stage, t.c.at))), t.c.at.type)


def _value(stage: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.max(sa.case((t.c.stage == stage, column)))


def journey_select(
    since: datetime | None, until: datetime | None, *, untouched: bool = False
) -> sa.Select[Any]:
    """One row per journey (HubSpot contact and Lead) that entered in [since, until), with
    `Journey`'s columns in its order; `untouched`: only those handed over and not touched."""
    entered = sa.type_coerce(sa.func.coalesce(_first("mql"), _first("handoff")), t.c.at.type)
    owner = sa.func.coalesce(
        *(_value(stage, t.c.owner_id) for stage in ("touched", "accepted", "rejected", "handoff"))
    )
    query = sa.select(
        t.c.hubspot_id.label("hubspot_id"),
        t.c.lead_id.label("lead_id"),
        entered.label("entered"),
        *(_first(stage).label(stage) for stage in JOURNEY_STAGES),
        owner.label("owner_id"),
        _value("handoff", t.c.queue).label("queue"),
        sa.func.max(t.c.source).label("source"),
        sa.func.max(t.c.campaign).label("campaign"),
        _value("rejected", t.c.reason).label("reason"),
        _value("opportunity", t.c.opportunity_id).label("opportunity_id"),
    ).group_by(t.c.hubspot_id, t.c.lead_id)
    having: list[sa.ColumnElement[bool]] = [entered.is_not(None)]
    if since is not None:
        having.append(entered >= sa.type_coerce(since, t.c.at.type))
    if until is not None:
        having.append(entered < sa.type_coerce(until, t.c.at.type))
    if untouched:
        having += [_first("handoff").is_not(None), *(_first(s).is_(None) for s in _TOUCHES)]
    return query.having(*having)


def journey(row: Any) -> Journey:
    return Journey(*row)


# -- PostgreSQL aggregates ------------------------------------------------------------------
def _journeys_once(
    connection: sa.Connection,
    since: datetime | None,
    until: datetime | None,
    *,
    untouched: bool = False,
) -> sa.Table:
    """The cohort's journeys grouped once into a temporary table (dropped with the
    transaction), so a report's several statements read 1/4 of the rows, not every
    transition again."""
    select = journey_select(since, until, untouched=untouched)
    name = "report_journeys"
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    compiled = select.compile(dialect=connection.dialect)
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {compiled}", compiled.params
    )
    return sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column.name, column.type) for column in select.selected_columns),
    )


def _seconds(start: Any, end: Any) -> Any:
    """`end - start` in seconds, a double (PostgreSQL's extract gives numeric)."""
    return sa.cast(sa.extract("epoch", end - start), sa.Float)


def _hours(start: Any, end: Any) -> Any:
    return _seconds(start, end) / 3600


def _percentiles(value: Any) -> tuple[Any, Any]:
    return (
        sa.func.percentile_cont(0.5).within_group(value),
        sa.func.percentile_cont(0.9).within_group(value),
    )


def _key(j: Any, by: str) -> Any:
    if by == "month":
        return sa.func.to_char(sa.func.timezone("UTC", j.c.entered), "YYYY-MM")
    return sa.func.coalesce(j.c.source if by == "source" else j.c.campaign, NONE)


def funnel_input(
    connection: sa.Connection, since: datetime | None, until: datetime | None, by: str
) -> FunnelInput:
    """Counts and percentiles per group and for the whole cohort (ROLLUP), and the opened
    opportunities, in two statements."""
    j = _journeys_once(connection, since, until)
    sal = sa.func.coalesce(j.c.accepted, j.c.sql, j.c.opportunity)
    sql = sa.func.coalesce(j.c.sql, j.c.opportunity)
    key = _key(j, by).label("key")
    spans = {
        "mql": _hours(j.c.entered, sal),
        "sal": _hours(sal, sql),
        "sql": _hours(sql, j.c.opportunity),
    }
    query = sa.select(
        key,
        sa.func.grouping(key),
        sa.func.count(),
        sa.func.count(sal),
        sa.func.count(sql),
        sa.func.count(j.c.opportunity),
        *(p for span in spans.values() for p in _percentiles(span)),
    ).group_by(sa.func.rollup(key))
    groups = []
    for row in connection.execute(query):
        name, total, mql, sal_n, sql_n, opp_n, *figures = row
        hours = {s: (figures[2 * i], figures[2 * i + 1]) for i, s in enumerate(spans)}
        groups.append(FunnelGroup(None if total else name, mql, sal_n, sql_n, opp_n, hours))
    opened = sa.select(_key(j, by), j.c.opportunity_id, j.c.opportunity).where(
        j.c.opportunity.is_not(None), j.c.opportunity_id.is_not(None)
    )
    return FunnelInput(groups, [Opened(*row) for row in connection.execute(opened)])


def sla_input(
    connection: sa.Connection,
    since: datetime | None,
    until: datetime | None,
    shortest_minutes: float | None,
    *,
    untouched: bool = False,
) -> SlaInput:
    """Per owner and queue: counts and percentiles of the minutes to first touch; and the
    journeys that may have missed a target (untouched, or touched after `shortest_minutes`)."""
    j = _journeys_once(connection, since, until, untouched=untouched)
    touch = sa.func.least(*(j.c[s] for s in _TOUCHES))
    minutes = _seconds(j.c.handoff, touch) / 60
    handed = j.c.handoff.is_not(None)
    query = (
        sa.select(
            j.c.owner_id,
            j.c.queue,
            sa.func.count(),
            sa.func.count(touch),
            *_percentiles(minutes),
        )
        .where(handed)
        .group_by(j.c.owner_id, j.c.queue)
    )
    groups = [SlaGroup(*row) for row in connection.execute(query)]
    late: list[Journey] = []
    if shortest_minutes is not None:
        query = sa.select(
            j.c.hubspot_id,
            j.c.lead_id,
            j.c.handoff,
            sa.type_coerce(touch, j.c.handoff.type),
            j.c.owner_id,
            j.c.queue,
            j.c.source,
        ).where(handed, sa.or_(touch.is_(None), minutes > shortest_minutes))
        late = [late_journey(*row) for row in connection.execute(query)]
    return SlaInput(groups, late)


def channel_input(
    connection: sa.Connection, since: datetime | None, until: datetime | None
) -> ChannelInput:
    """Per source and campaign: counts, rejection reasons, and the converted journeys'
    opportunities, in three statements."""
    j = _journeys_once(connection, since, until)
    handed = j.c.handoff.is_not(None)
    sql = sa.func.coalesce(j.c.sql, j.c.opportunity)
    query = (
        sa.select(
            j.c.source,
            j.c.campaign,
            sa.func.count(),
            sa.func.count(sa.func.coalesce(j.c.accepted, sql)),
            sa.func.count(j.c.rejected),
            sa.func.count(sql),
        )
        .where(handed)
        .group_by(j.c.source, j.c.campaign)
    )
    reasons: dict[tuple[str | None, str | None], dict[str | None, int]] = {}
    query_reasons = (
        sa.select(j.c.source, j.c.campaign, j.c.reason, sa.func.count())
        .where(handed, j.c.rejected.is_not(None))
        .group_by(j.c.source, j.c.campaign, j.c.reason)
    )
    for source, campaign, reason, n in connection.execute(query_reasons):
        reasons.setdefault((source, campaign), {})[reason] = n
    groups = [
        ChannelGroup(s, c, handed_n, acc, rej, conv, reasons.get((s, c), {}))
        for s, c, handed_n, acc, rej, conv in connection.execute(query)
    ]
    opportunities = sa.select(j.c.source, j.c.campaign, j.c.opportunity_id).where(
        handed, sql.is_not(None), j.c.opportunity_id.is_not(None)
    )
    return ChannelInput(groups, [tuple(row) for row in connection.execute(opportunities)])
