"""The SLA: how long handed-over Leads waited for sales' first touch (their status left the
open status, or sales accepted, rejected or converted them, or logged a Task or Event on them:
`connector.reports.touches`), per owner and queue; which
missed their target (`mappings/sla.yaml`, counted in working hours in the owner's time zone);
and the misses still open now (no touch yet, past the deadline).

Deadlines are computed when a report reads, from the `sla.yaml` it was given (nothing is
stored), so an edited target counts at once. A report of counts (`period_rows`) lets the store
count in SQL the breaches that the deadlines' pieces of time settle (`Deadlines`: inside
working hours with time to spare, a handoff is due the target's minutes later; after hours, at
the next hours' deadline), and computes the deadline of the few in between only. The open
breaches (`open_breaches`) use the same pieces: the store returns only the untouched Leads that
may be past due, with the deadline their piece tells where it does."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

from connector.model import Journey
from connector.reports.config import SlaConfig, Target, WorkingHours
from connector.reports.inputs import Overdue, SlaInput, first_touch, sla_input
from connector.reports.stats import rate

NONE = "(none)"
#: How far ahead a deadline is looked for: a target longer than this many days of working
#: hours never falls due.
_HORIZON_DAYS = 3660
#: The store bins handoffs by UTC day, counted from here (`Deadlines.days`).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


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


@dataclass(frozen=True)
class Piece:
    """Handoffs in [start, end) to a Lead with a given target and an owner in a given zone:
    with `shift`, each is due the target's minutes after it (inside working hours, with time
    to spare before they close); else due between `earliest` and `latest`, the deadlines of
    a handoff at `start` and at `end` (a later handoff is never due sooner), exactly when the
    two are equal (after hours, or on a day off: due when the next working hours allow)."""

    start: datetime
    end: datetime
    earliest: datetime
    latest: datetime
    shift: bool


@dataclass(frozen=True)
class Deadlines:
    """What a store needs to count, in SQL, the breaches it can tell without computing a
    Lead's own deadline: each target's fit and minutes (the first that fits a Lead is its
    target), the owners of each time zone, and the handoffs' deadlines by `pieces` of time
    (targets in working hours only: the others are due their minutes after the handoff). A
    Lead whose first touch (else `now`) came after the latest deadline of its piece missed
    its target; at or before the earliest (or its minutes after the handoff, if later), it
    did not; only the few in between need their deadline (`deadline`)."""

    config: SlaConfig
    now: datetime

    @property
    def targets(self) -> tuple[Target, ...]:
        return self.config.targets

    @cached_property
    def zones(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each time zone and the owners in it; the first, the default, has every owner not
        listed under `owners`."""
        default = self.config.time_zone
        others = sorted({z for z in self.config.owners.values() if z != default})
        owners = self.config.owners
        return (
            (default, ()),
            *((zone, tuple(sorted(o for o, z in owners.items() if z == zone))) for zone in others),
        )

    @staticmethod
    def microseconds(target: Target) -> int:
        """A target's minutes as `deadline` counts them (to the microsecond)."""
        return timedelta(minutes=target.minutes) // timedelta(microseconds=1)

    def pieces(self, first: int, last: int) -> dict[tuple[int, int], list[Piece]]:
        """Per working-hours target and zone (their indexes in `targets` and `zones`), the
        pieces of UTC days `first` to `last` (days since 1970-01-01), in order, end to end."""
        hours = self.config.working_hours
        return {
            (index, number): _pieces(target, hours, ZoneInfo(name), first, last)
            for index, target in enumerate(self.targets)
            if target.working_hours
            for number, (name, _) in enumerate(self.zones)
        }


def _pieces(
    target: Target, hours: WorkingHours, zone: ZoneInfo, first: int, last: int
) -> list[Piece]:
    """Cut the days at each opening and closing, and at the target's minutes before closing:
    from opening to there, a handoff is due its minutes later (the first working hours
    `deadline` looks at are those of the handoff's own day, with room enough)."""
    begin, end = EPOCH + first * DAY, EPOCH + (last + 1) * DAY
    allowed = timedelta(minutes=target.minutes)
    weekdays, opening, closing = _working(hours)
    windows = []
    day = (begin - DAY).astimezone(zone).date()
    while day <= (end + DAY).astimezone(zone).date():
        if day.weekday() in weekdays:
            opens, closes = _window(day, zone, opening, closing)
            if opens < closes:
                windows.append((opens, closes))
        day += timedelta(days=1)
    shifted = [(opens, closes - allowed) for opens, closes in windows if closes - allowed > opens]
    cuts = {begin, end}
    cuts.update(moment for window in windows + shifted for moment in window)
    ordered = sorted(moment for moment in cuts if begin <= moment <= end)
    starts = [opens for opens, _ in shifted]
    found = []
    for start, stop in pairwise(ordered):
        at = bisect_right(starts, start) - 1
        if at >= 0 and stop <= shifted[at][1]:
            found.append(Piece(start, stop, start + allowed, stop + allowed, shift=True))
        else:
            found.append(
                Piece(
                    start,
                    stop,
                    deadline(start, target, hours, zone),
                    deadline(stop, target, hours, zone),
                    shift=False,
                )
            )
    return found


class SlaSource(Protocol):
    """Where the SLA's input comes from (`StateStore.sla_input`)."""

    def sla_input(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        shortest_minutes: float | None = None,
        untouched: bool = False,
        deadlines: Deadlines | None = None,
    ) -> SlaInput: ...

    def overdue(self, deadlines: Deadlines) -> list[Overdue]: ...


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
    journeys with a handoff count. Breaches the input counted already (`SlaGroup.breaches`)
    count in the rows and are not listed."""
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
            breaches=missed[(g.owner_id, g.queue)] + g.breaches,
            breach_rate=rate(missed[(g.owner_id, g.queue)] + g.breaches, g.handed_over),
            open_breaches=still[(g.owner_id, g.queue)] + g.open_breaches,
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
    journey: Journey,
    touched: datetime | None,
    config: _Memo,
    now: datetime,
    *,
    due: datetime | None = None,
) -> Breach | None:
    """The Lead's breach, if it missed its target (`due`: its deadline, when known)."""
    handoff = journey.handoff
    target = config.target(journey.queue, journey.source)
    if handoff is None or target is None:
        return None
    if due is None:
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


def period_rows(
    source: SlaSource,
    config: SlaConfig,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SlaRow]:
    """The SLA rows of the cohort that entered in [since, until): `leadbridge report sla` and
    the status page's SLA panel. The source may count the breaches the pieces settle itself
    (`Deadlines`); the deadlines of the others are computed here."""
    found = source.sla_input(
        since=since,
        until=until,
        shortest_minutes=shortest(config),
        deadlines=Deadlines(config, now) if config.targets else None,
    )
    return sla_report(found, config, now=now).rows


def open_breaches(source: SlaSource, config: SlaConfig, *, now: datetime) -> list[Breach]:
    """The breaches open at `now` (handed over, untouched, past the target), whenever the Lead
    entered, oldest deadline first: `leadbridge report sla --open`, the status page and the
    service's alert check. The source may leave out the Leads their pieces of time show
    not due yet and tell the deadline of those their piece settles (`Deadlines`); the
    deadlines of the others are computed here."""
    if not config.targets:
        return []
    memo = _Memo(config)
    breaches = []
    for lead in source.overdue(Deadlines(config, now)):
        breach = _breach(lead.journey, None, memo, now, due=lead.deadline)
        if breach is not None:
            breaches.append(breach)
    breaches.sort(key=lambda b: (b.deadline, b.hubspot_id))
    return breaches
