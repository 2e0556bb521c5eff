"""The reports' queries: the `journeys` table (one row per journey, `transitions` grouped) kept
in step with the transitions as they are recorded, and read by the reports; on PostgreSQL the
reports' aggregates themselves (counts, `percentile_cont`), so a million transitions' journeys
are summed where they lie instead of travelling row by row. SQLite has no percentile
aggregate: there the journeys are read and `connector.reports.inputs` aggregates them (the
same figures; a test holds the two to it). The SLA's rows count on PostgreSQL the breaches
that the deadlines' pieces settle (`connector.reports.sla.Deadlines`), so only the Leads no
piece settles leave the database for their deadline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import Grouping

from connector.model import Journey
from connector.reports.inputs import (
    NONE,
    ChannelGroup,
    ChannelInput,
    FunnelGroup,
    FunnelInput,
    Opened,
    Overdue,
    SlaGroup,
    SlaInput,
    late_journey,
)
from connector.reports.sla import DAY, EPOCH, Deadlines
from connector.state.schema import journeys
from connector.state.schema import transitions as t

#: The stages a `Journey` has a time for, in its fields' order.
JOURNEY_STAGES = ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")
_TOUCHES = ("touched", "accepted", "rejected", "sql")
#: Journeys per refreshing statement: two bound values each, under SQLite's old limit of 999.
_KEYS_PER_STATEMENT = 400


def _first(stage: str) -> sa.ColumnElement[Any]:
    return sa.type_coerce(sa.func.min(sa.case((t.c.stage == stage, t.c.at))), t.c.at.type)


def _value(stage: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.max(sa.case((t.c.stage == stage, column)))


def grouped(keys: list[tuple[str, str]]) -> sa.Select[Any]:
    """The journeys of `keys` grouped from their transitions, with `journeys`' columns in its
    order. `entered`: MQL, else handoff; the owner: the first touch's, else the handoff's."""
    entered = sa.type_coerce(sa.func.coalesce(_first("mql"), _first("handoff")), t.c.at.type)
    owner = sa.func.coalesce(
        *(_value(stage, t.c.owner_id) for stage in ("touched", "accepted", "rejected", "handoff"))
    )
    return (
        sa.select(
            t.c.hubspot_id,
            t.c.lead_id,
            entered,
            *(_first(stage) for stage in JOURNEY_STAGES),
            owner,
            _value("handoff", t.c.queue),
            sa.func.max(t.c.source),
            sa.func.max(t.c.campaign),
            _value("rejected", t.c.reason),
            _value("opportunity", t.c.opportunity_id),
        )
        .where(sa.tuple_(t.c.hubspot_id, t.c.lead_id).in_(keys))
        .group_by(t.c.hubspot_id, t.c.lead_id)
    )


def refresh_journeys(connection: sa.Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Group the journeys of `keys` (HubSpot id, Lead id) afresh from their transitions into
    `journeys`, in the caller's transaction (after it wrote their transitions). Each journey's
    row is locked first (an upsert), so a concurrent transaction recording the same journey
    waits for this one and then groups its transitions too (PostgreSQL's read committed: the
    next statement sees what committed meanwhile); keys in order, so two never deadlock. A
    journey left without transitions (an erasure re-keyed them) loses its row."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    ordered = sorted(set(keys))
    values = [c.name for c in journeys.c if not c.primary_key]
    index = [journeys.c.hubspot_id, journeys.c.lead_id]
    for begin in range(0, len(ordered), _KEYS_PER_STATEMENT):
        chunk = ordered[begin : begin + _KEYS_PER_STATEMENT]
        lock = insert(journeys).values([{"hubspot_id": h, "lead_id": lead} for h, lead in chunk])
        connection.execute(
            lock.on_conflict_do_update(
                index_elements=index, set_={"hubspot_id": lock.excluded.hubspot_id}
            )
        )
        fill = insert(journeys).from_select([c.name for c in journeys.c], grouped(chunk))
        connection.execute(
            fill.on_conflict_do_update(
                index_elements=index, set_={name: fill.excluded[name] for name in values}
            )
        )
        recorded = sa.select(t.c.id).where(
            t.c.hubspot_id == journeys.c.hubspot_id, t.c.lead_id == journeys.c.lead_id
        )
        gone = sa.tuple_(journeys.c.hubspot_id, journeys.c.lead_id).in_(chunk)
        connection.execute(sa.delete(journeys).where(gone, ~recorded.exists()))


def _cohort(
    since: datetime | None, until: datetime | None, *, untouched: bool = False
) -> list[sa.ColumnElement[bool]]:
    j = journeys
    where: list[sa.ColumnElement[bool]] = [j.c.entered.is_not(None)]
    if since is not None:
        where.append(j.c.entered >= since)
    if until is not None:
        where.append(j.c.entered < until)
    if untouched:
        where += [j.c.handoff.is_not(None), *(j.c[s].is_(None) for s in _TOUCHES)]
    return where


def journey_select(
    since: datetime | None, until: datetime | None, *, untouched: bool = False
) -> sa.Select[Any]:
    """One row per journey (HubSpot contact and Lead) that entered in [since, until), with
    `Journey`'s columns in its order; `untouched`: only those handed over and not touched."""
    return sa.select(*journeys.c).where(*_cohort(since, until, untouched=untouched))


def journey(row: Any) -> Journey:
    return Journey(*row)


# -- PostgreSQL aggregates ------------------------------------------------------------------
def _journeys(since: datetime | None, until: datetime | None, *, untouched: bool = False) -> Any:
    """The cohort's journeys, as a subquery the report's statements select from."""
    return journey_select(since, until, untouched=untouched).subquery("j")


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
    j = _journeys(since, until)
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
    deadlines: Deadlines | None = None,
) -> SlaInput:
    """Per owner and queue: counts and percentiles of the minutes to first touch; and the
    journeys that may have missed a target (untouched, or touched after `shortest_minutes`).
    With `deadlines`, the groups count the breaches their pieces settle, and only the
    journeys they leave open are read."""
    j = _journeys(since, until, untouched=untouched)
    if deadlines is not None and shortest_minutes is not None:
        return _bounded_sla_input(connection, j, deadlines)
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


def _bounded_sla_input(connection: sa.Connection, j: Any, deadlines: Deadlines) -> SlaInput:
    """`sla_input` with the breaches counted that the deadlines' pieces settle, in one
    statement (`_Pieced`); the journeys their piece leaves open come back as arrays per
    group."""
    p = _Pieced(connection, j, deadlines)
    k = p.k
    end = sa.func.coalesce(k.c.touch, sa.bindparam("now", deadlines.now, type_=p.moment))
    targeted = k.c.target.is_not(None)
    m = (
        sa.select(
            *(k.c[name] for name in ("owner_id", "queue", *_LATE)),
            sa.and_(targeted, end > p.latest).label("missed"),
            sa.and_(targeted, end > p.earliest, end <= p.latest).label("maybe"),
        )
        .offset(0)
        .subquery("m")
    )
    query = sa.select(
        m.c.owner_id,
        m.c.queue,
        sa.func.count(),
        sa.func.count(m.c.touch),
        *_percentiles(_seconds(m.c.handoff, m.c.touch) / 60),
        sa.func.count().filter(m.c.missed),
        sa.func.count().filter(m.c.missed, m.c.touch.is_(None)),
        *(sa.func.array_agg(m.c[name]).filter(m.c.maybe) for name in _LATE),
    ).group_by(m.c.owner_id, m.c.queue)
    groups, late = [], []
    for row in connection.execute(query):
        owner, queue = row[0], row[1]
        groups.append(SlaGroup(*row[:8]))
        ids, leads, handoffs, touches, sources = (values or [] for values in row[8:])
        late += [
            late_journey(i, lead, handoff.astimezone(UTC), _utc(touch), owner, queue, source)
            for i, lead, handoff, touch, source in zip(
                ids, leads, handoffs, touches, sources, strict=True
            )
        ]
    return SlaInput(groups, late)


def overdue(connection: sa.Connection, deadlines: Deadlines) -> list[Overdue]:
    """The Leads handed over and not touched that may be past their target's deadline at
    `deadlines.now`, in one statement (`_Pieced`): those whose piece tells their deadline
    exactly (due the target's minutes after the handoff, or at the deadline their piece
    shares) only when it has passed, with it; the others (handed over in a target's last
    minutes before closing) when their earliest possible deadline has passed, without."""
    j = _journeys(None, None, untouched=True)
    p = _Pieced(connection, j, deadlines)
    k = p.k
    now = sa.bindparam("now", deadlines.now, type_=p.moment)
    exact = sa.case((p.earliest == p.latest, p.earliest), else_=sa.null())
    query = sa.select(
        k.c.hubspot_id,
        k.c.lead_id,
        k.c.handoff,
        k.c.owner_id,
        k.c.queue,
        k.c.source,
        sa.type_coerce(exact, p.moment),
    ).where(k.c.target.is_not(None), now > p.earliest)
    return [
        Overdue(late_journey(i, lead, handoff, None, owner, queue, source), due)
        for i, lead, handoff, owner, queue, source, due in connection.execute(query)
    ]


class _Pieced:
    """Each handed-over journey of `j` with its target (the first that fits), its owner's
    zone, and the piece holding its handoff (`Deadlines.pieces`, bound as arrays: a binary
    search of their starts, `width_bucket`), as the subquery `k`; and the `earliest` and
    `latest` its deadline can be (equal when its piece tells it exactly: a `shift` piece,
    or no piece, a target not in working hours, is due the target's minutes after the
    handoff)."""

    def __init__(self, connection: sa.Connection, j: Any, deadlines: Deadlines) -> None:
        handed = j.c.handoff.is_not(None)
        lowest, highest = connection.execute(
            sa.select(sa.func.min(j.c.handoff), sa.func.max(j.c.handoff)).where(handed)
        ).one()
        pieces = {} if lowest is None else deadlines.pieces(_day(lowest), _day(highest))
        self.moment = moment = j.c.handoff.type
        touch = sa.type_coerce(sa.func.least(*(j.c[s] for s in _TOUCHES)), moment)
        target, zone = _target_of(j, deadlines), _zone_of(j, deadlines)
        whens, offset = [], 0
        for (index, number), found in pieces.items():
            starts = sa.bindparam(None, [p.start for p in found], type_=postgresql.ARRAY(moment))
            bucket = sa.func.width_bucket(j.c.handoff, starts) + offset
            whens.append((sa.and_(target == index, zone == number), bucket))
            offset += len(found)
        self.every = [p for found in pieces.values() for p in found]
        self.k = k = (
            sa.select(
                j.c.hubspot_id,
                j.c.lead_id,
                j.c.handoff,
                touch.label("touch"),
                j.c.owner_id,
                j.c.queue,
                j.c.source,
                target.label("target"),
                (sa.case(*whens) if whens else sa.cast(sa.null(), sa.Integer)).label("piece"),
            )
            .where(handed)
            .offset(0)  # computed once per journey, not inlined in every use below
            .subquery("k")
        )
        allowed = k.c.handoff + _allowed(k.c.target, deadlines)
        exact = sa.or_(k.c.piece.is_(None), self._at("shift", sa.Boolean))
        self.earliest = sa.case(
            (exact, allowed), else_=sa.func.greatest(allowed, self._at("earliest", moment))
        )
        self.latest = sa.case((exact, allowed), else_=self._at("latest", moment))

    def _at(self, name: str, kind: Any) -> Any:
        """The piece's `name`, from an array of every piece's."""
        values = sa.bindparam(
            None, [getattr(p, name) for p in self.every], type_=postgresql.ARRAY(kind)
        )
        return sa.type_coerce(Grouping(values), postgresql.ARRAY(kind))[self.k.c.piece]


#: A late journey's columns besides its group's owner and queue (`late_journey`'s order).
_LATE = ("hubspot_id", "lead_id", "handoff", "touch", "source")


def _utc(moment: datetime | None) -> datetime | None:
    """A moment read from an array (which the column type does not convert), in UTC."""
    return None if moment is None else moment.astimezone(UTC)


def _day(moment: datetime) -> int:
    """A moment's UTC day, counted from 1970-01-01."""
    return (moment - EPOCH) // DAY


def _target_of(j: Any, deadlines: Deadlines) -> Any:
    """The index of a journey's target: the first whose queues and sources fit it."""
    whens = []
    for index, target in enumerate(deadlines.targets):
        fits: list[sa.ColumnElement[bool]] = [sa.true()]
        if target.queues:
            fits.append(j.c.queue.in_(target.queues))
        if target.sources:
            fits.append(j.c.source.in_(target.sources))
        whens.append((sa.and_(*fits), index))
    return sa.case(*whens, else_=sa.null())


def _zone_of(j: Any, deadlines: Deadlines) -> Any:
    """The index of a journey's owner's zone (`Deadlines.zones`; 0, the default, else)."""
    owner = sa.func.coalesce(j.c.owner_id, "")
    whens = [
        (owner.in_(owners), index) for index, (_, owners) in enumerate(deadlines.zones) if owners
    ]
    return sa.case(*whens, else_=0) if whens else sa.literal(0)


def _allowed(target: Any, deadlines: Deadlines) -> Any:
    """A target's minutes as an interval of microseconds (a `timedelta` would bind as days,
    which PostgreSQL adds in the session's time zone)."""
    micros = sa.case(
        *((target == i, Deadlines.microseconds(t)) for i, t in enumerate(deadlines.targets))
    )
    return sa.type_coerce(sa.literal_column("INTERVAL '1 microsecond'") * micros, sa.Interval)


def channel_input(
    connection: sa.Connection, since: datetime | None, until: datetime | None
) -> ChannelInput:
    """Per source and campaign: counts, rejection reasons, and the converted journeys'
    opportunities, in three statements."""
    j = _journeys(since, until)
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
