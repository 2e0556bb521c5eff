"""The SLA: how long handed-over Leads waited for sales' first touch (their status left the
open status, or sales accepted, rejected or converted them, or logged a Task or Event on them:
`connector.reports.touches`), per owner and queue; which
missed their target (`mappings/sla.yaml`, counted in working hours in the owner's time zone);
and the misses still open now (no touch yet, past the deadline)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from connector.model import Journey
from connector.reports.config import SlaConfig, Target, WorkingHours
from connector.reports.inputs import SlaInput, first_touch, sla_input
from connector.reports.stats import rate

NONE = "(none)"
#: How far ahead a deadline is looked for: a target longer than this many days of working
#: hours never falls due.
_HORIZON_DAYS = 3660


@dataclass(frozen=True)
class Breach:
    """A Lead that missed its first-touch target (`touched` None: still untouched)."""

    hubspot_id: str
    lead_id: str
    owner_id: str | None
    queue: str | None
    target: str
    handoff: datetime
    deadline: datetime
    touched: datetime | None

    @property
    def open(self) -> bool:
        return self.touched is None


@dataclass(frozen=True)
class SlaRow:
    """One owner and queue: Leads handed over, touched, the wall-clock minutes from handoff
    to first touch (median, p90), how many missed their target, and how many of those are
    still untouched."""

    owner_id: str
    queue: str
    handed_over: int
    touched: int
    median_minutes: float | None
    p90_minutes: float | None
    breaches: int
    breach_rate: float | None
    open_breaches: int


@dataclass(frozen=True)
class SlaReport:
    rows: list[SlaRow]
    #: Every breach still open at `now`, oldest deadline first.
    open_breaches: list[Breach]


class SlaSource(Protocol):
    """Where the SLA's input comes from (`StateStore.sla_input`)."""

    def sla_input(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        shortest_minutes: float | None = None,
        untouched: bool = False,
    ) -> SlaInput: ...


def shortest(config: SlaConfig) -> float | None:
    """The fewest minutes any target allows (a Lead touched sooner missed none)."""
    return min((t.minutes for t in config.targets), default=None)


def deadline(start: datetime, target: Target, hours: WorkingHours, zone: ZoneInfo) -> datetime:
    """When `target` falls due for a Lead handed over at `start`: its minutes later, counted in
    working hours in `zone` when the target says so. Far in the future when it never does."""
    allowed = timedelta(minutes=target.minutes)
    if not target.working_hours:
        return start + allowed
    day = start.astimezone(zone).date()
    weekdays, opening, closing = _working(hours)
    for _ in range(_HORIZON_DAYS):
        if day.weekday() in weekdays:
            opens, closes = _window(day, zone, opening, closing)
            begin = max(start, opens)
            if begin < closes:
                if closes - begin >= allowed:
                    return begin + allowed
                allowed -= closes - begin
        day += timedelta(days=1)
    return datetime.max.replace(tzinfo=UTC)


@lru_cache(maxsize=64)
def _working(hours: WorkingHours) -> tuple[frozenset[int], time, time]:
    """The working days and hours, parsed once (the report asks for every late Lead)."""
    return hours.weekdays, hours.opens, hours.closes


@lru_cache(maxsize=4096)
def _window(day: date, zone: ZoneInfo, opens: time, closes: time) -> tuple[datetime, datetime]:
    """A working day's hours in UTC (DST-aware); the same few days come up again and again."""
    return (
        datetime.combine(day, opens, tzinfo=zone).astimezone(UTC),
        datetime.combine(day, closes, tzinfo=zone).astimezone(UTC),
    )


def sla(journeys: Iterable[Journey], config: SlaConfig, *, now: datetime) -> SlaReport:
    """The SLA of these journeys (see `sla_report`)."""
    return sla_report(sla_input(journeys, shortest(config)), config, now=now)


def sla_report(found: SlaInput, config: SlaConfig, *, now: datetime) -> SlaReport:
    """Per owner and queue (most Leads handed over first), and the open breaches. Only
    journeys with a handoff count."""
    missed: Counter[tuple[str | None, str | None]] = Counter()
    still: Counter[tuple[str | None, str | None]] = Counter()
    breaches: list[Breach] = []
    memo = _Memo(config)
    for journey in found.late:
        breach = _breach(journey, first_touch(journey), memo, now)
        if breach is None:
            continue
        missed[(journey.owner_id, journey.queue)] += 1
        if breach.open:
            still[(journey.owner_id, journey.queue)] += 1
            breaches.append(breach)
    rows = [
        SlaRow(
            owner_id=g.owner_id or NONE,
            queue=g.queue or NONE,
            handed_over=g.handed_over,
            touched=g.touched,
            median_minutes=g.median_minutes,
            p90_minutes=g.p90_minutes,
            breaches=missed[(g.owner_id, g.queue)],
            breach_rate=rate(missed[(g.owner_id, g.queue)], g.handed_over),
            open_breaches=still[(g.owner_id, g.queue)],
        )
        for g in found.groups
    ]
    rows.sort(key=lambda r: (-r.handed_over, r.owner_id, r.queue))
    breaches.sort(key=lambda b: (b.deadline, b.hubspot_id))
    return SlaReport(rows, breaches)


class _Memo:
    """A config's target per queue and source and zone per owner, each looked up once: a
    report checks tens of thousands of late Leads against a handful of each."""

    def __init__(self, config: SlaConfig) -> None:
        self.working_hours = config.working_hours
        self._config = config
        self._targets: dict[tuple[str | None, str | None], Target | None] = {}
        self._zones: dict[str | None, ZoneInfo] = {}

    def target(self, queue: str | None, source: str | None) -> Target | None:
        key = (queue, source)
        if key not in self._targets:
            self._targets[key] = self._config.target(queue, source)
        return self._targets[key]

    def zone(self, owner_id: str | None) -> ZoneInfo:
        if owner_id not in self._zones:
            self._zones[owner_id] = self._config.zone(owner_id)
        return self._zones[owner_id]


def _breach(
    journey: Journey, touched: datetime | None, config: _Memo, now: datetime
) -> Breach | None:
    handoff = journey.handoff
    target = config.target(journey.queue, journey.source)
    if handoff is None or target is None:
        return None
    due = deadline(handoff, target, config.working_hours, config.zone(journey.owner_id))
    if (touched or now) <= due:
        return None
    return Breach(
        hubspot_id=journey.hubspot_id,
        lead_id=journey.lead_id,
        owner_id=journey.owner_id,
        queue=journey.queue,
        target=target.name,
        handoff=handoff,
        deadline=due,
        touched=touched,
    )


def period_report(
    source: SlaSource,
    config: SlaConfig,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SlaReport:
    """The SLA of the cohort that entered in [since, until): `leadbridge report sla` and the
    status page's SLA panel."""
    found = source.sla_input(since=since, until=until, shortest_minutes=shortest(config))
    return sla_report(found, config, now=now)


def open_breaches(source: SlaSource, config: SlaConfig, *, now: datetime) -> list[Breach]:
    """The breaches open at `now` (handed over, untouched, past the target), whenever the Lead
    entered, oldest deadline first: `leadbridge report sla --open`, the status page and the
    service's alert check."""
    found = source.sla_input(shortest_minutes=shortest(config), untouched=True)
    return sla_report(found, config, now=now).open_breaches
