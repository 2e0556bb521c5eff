"""The SLA's counts as the store settles them from the deadlines' pieces (`Deadlines`) are
the counts of a plain per-Lead check, and its open breaches (`report sla --open`) the breaches
of that check, deadlines and order included, on SQLite and PostgreSQL
(LEADBRIDGE_TEST_DATABASE_URL): handoffs on weekends, at night and across daylight-saving
changes, owners in three time zones, targets by queue and source, in working hours or not,
touches right at their deadline, a report run right at a deadline or a microsecond after."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from connector.model import Journey, Transition
from connector.reports.config import SlaConfig, Target, WorkingHours
from connector.reports.inputs import first_touch
from connector.reports.sla import (
    NONE,
    Breach,
    Deadlines,
    deadline,
    open_breaches,
    period_rows,
)
from connector.state import StateStore

#: Five weeks over Europe's and the US's spring daylight-saving changes (8 and 29 March 2026).
START = datetime(2026, 3, 1, tzinfo=UTC)
WEEKS = 5
NOW = START + timedelta(days=20, hours=13, minutes=7)
OWNERS = ("005BER", "005NYC", "005TYO", "00GHOT", None)
SOURCES = ("PAID_SEARCH", "REFERRALS", "EMAIL_MARKETING", None)
CONFIG = SlaConfig(
    time_zone="Europe/Berlin",
    owners={"005NYC": "America/New_York", "005TYO": "Asia/Tokyo"},
    targets=(
        Target(name="hot queue", minutes=15, queues=("00GHOT",)),
        Target(
            name="paid, around the clock", minutes=30, working_hours=False, sources=("PAID_SEARCH",)
        ),
        Target(name="referrals, over days", minutes=600, sources=("REFERRALS",)),
        Target(name="email", minutes=62.5, sources=("EMAIL_MARKETING",)),
    ),
)
#: The same file edited: other hours (Saturdays too), other minutes, a target for every Lead.
EDITED = SlaConfig(
    time_zone="America/New_York",
    working_hours=WorkingHours(
        days=("mon", "tue", "wed", "thu", "fri", "sat"), start="08:30", end="12:15"
    ),
    owners={"005BER": "Europe/Berlin", "005TYO": "Asia/Tokyo"},
    targets=(
        Target(name="hot queue", minutes=7.3333333, queues=("00GHOT",)),
        Target(name="everyone", minutes=240),
    ),
)

#: Only a target that counts every hour: no pieces at all.
AROUND_THE_CLOCK = SlaConfig(targets=(Target(name="any hour", minutes=20, working_hours=False),))


def _generated(seed: int = 18, count: int = 700) -> list[Transition]:
    """Journeys handed over at any moment of the five weeks; a third never touched, the
    others touched after up to three days, some exactly at their deadline (or the latest of
    their UTC day) or a microsecond either side."""
    rng = random.Random(seed)
    made: list[Transition] = []
    for n in range(count):
        hubspot_id, lead_id = str(500 + n), f"00Q{n:015d}"
        handoff = START + timedelta(
            seconds=rng.randrange(WEEKS * 7 * 86400), microseconds=rng.randrange(1_000_000)
        )
        owner = rng.choice(OWNERS)
        queue = "00GHOT" if owner == "00GHOT" or rng.random() < 0.1 else None
        common = {"source": rng.choice(SOURCES)}
        made += [
            Transition("mql", hubspot_id, lead_id, handoff - timedelta(minutes=5), **common),
            Transition(
                "handoff", hubspot_id, lead_id, handoff, owner_id=owner, queue=queue, **common
            ),
        ]
        roll = rng.random()
        if roll < 0.33:
            continue
        toucher = owner if owner != "00GHOT" else rng.choice(OWNERS[:3])
        journey = Journey(hubspot_id, lead_id, handoff, handoff=handoff, owner_id=toucher)
        due = _due(journey, queue, common["source"], CONFIG)
        if roll < 0.38:  # the latest deadline of a handoff that UTC day
            midnight = datetime.combine(handoff.date() + timedelta(days=1), time(), UTC)
            due = _due(replace(journey, handoff=midnight), queue, common["source"], CONFIG)
        if roll < 0.45 and due is not None:
            touched = due + timedelta(microseconds=rng.choice((-1, 0, 1)))
        else:
            touched = handoff + timedelta(seconds=rng.randrange(3 * 86400))
        stage = rng.choice(("touched", "touched", "accepted", "rejected"))
        made.append(Transition(stage, hubspot_id, lead_id, touched, owner_id=toucher))
    return made


def _due(
    journey: Journey, queue: str | None, source: str | None, config: SlaConfig
) -> datetime | None:
    target = config.target(queue, source)
    if target is None or journey.handoff is None:
        return None
    return deadline(journey.handoff, target, config.working_hours, config.zone(journey.owner_id))


def _open_per_lead(journeys: list[Journey], config: SlaConfig, now: datetime) -> list[Breach]:
    """The breaches open at `now`, one Lead at a time, oldest deadline first."""
    found = []
    for j in journeys:
        due = _due(j, j.queue, j.source, config)
        target = config.target(j.queue, j.source)
        if j.handoff is None or due is None or target is None or first_touch(j) or now <= due:
            continue
        found.append(
            Breach(j.hubspot_id, j.lead_id, j.owner_id, j.queue, target.name, j.handoff, due, None)
        )
    return sorted(found, key=lambda b: (b.deadline, b.hubspot_id))


def _per_lead(
    journeys: list[Journey], config: SlaConfig
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Handed over, breaches and open breaches per owner and queue, one Lead at a time."""
    handed: Counter[tuple[str, str]] = Counter()
    missed: Counter[tuple[str, str]] = Counter()
    still: Counter[tuple[str, str]] = Counter()
    for j in journeys:
        if j.handoff is None:
            continue
        key = (j.owner_id or NONE, j.queue or NONE)
        handed[key] += 1
        due = _due(j, j.queue, j.source, config)
        touched = first_touch(j)
        if due is not None and (touched or NOW) > due:
            missed[key] += 1
            still[key] += touched is None
    return {key: (n, missed[key], still[key]) for key, n in handed.items()}


@pytest.fixture
def store(database_url: str) -> Iterator[StateStore]:
    with StateStore.open(database_url) as opened:
        opened.record_transitions(_generated())
        yield opened


@pytest.mark.parametrize(
    "config", [CONFIG, EDITED, AROUND_THE_CLOCK], ids=["sla.yaml", "edited", "no working hours"]
)
def test_sla_rows_settled_by_pieces_are_the_per_lead_counts(
    store: StateStore, config: SlaConfig
) -> None:
    """`report sla`'s breaches and open breaches per owner and queue are those of checking
    every Lead against its own deadline, for the file as it is now (an edit counts at once)."""
    since = START + timedelta(days=3)
    rows = period_rows(store, config, now=NOW, since=since)
    found = {(r.owner_id, r.queue): (r.handed_over, r.breaches, r.open_breaches) for r in rows}
    expected = _per_lead(store.journeys(since=since), config)
    assert found == expected
    assert sum(b for _, b, _ in expected.values()) > sum(o for _, _, o in expected.values()) > 0


@pytest.mark.parametrize(
    "config", [CONFIG, EDITED, AROUND_THE_CLOCK], ids=["sla.yaml", "edited", "no working hours"]
)
def test_open_breaches_told_by_pieces_are_the_per_lead_breaches(
    store: StateStore, config: SlaConfig
) -> None:
    """`report sla --open` (the status page, the alert check) lists the breaches, deadlines
    and order of checking every untouched Lead against its own deadline: at any moment, on a
    weekend, at night, on the days the clocks change, right at a Lead's deadline (not yet
    missed) and a microsecond after (missed), before the first handoffs and after the last."""
    journeys = store.journeys()
    rng = random.Random(3)
    dues = sorted(
        due
        for j in journeys
        if first_touch(j) is None and (due := _due(j, j.queue, j.source, config)) is not None
    )
    picked = rng.sample(dues, 12)
    moments = [
        NOW,
        START - timedelta(days=1),
        START + timedelta(weeks=WEEKS, days=30),
        datetime(2026, 3, 14, 12, tzinfo=UTC),  # a Saturday
        datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York's clocks go forward
        datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),  # Berlin's clocks go forward
        datetime(2026, 3, 17, 16, 50, tzinfo=UTC),  # Berlin's last minutes before closing
        *picked,
        *(due + timedelta(microseconds=1) for due in picked),
        *(due - timedelta(microseconds=1) for due in picked),
    ]
    for now in moments:
        assert open_breaches(store, config, now=now) == _open_per_lead(journeys, config, now)
    assert len(_open_per_lead(journeys, config, NOW)) > 20


def test_postgresql_tells_most_open_deadlines_from_pieces(database_url: str) -> None:
    """On PostgreSQL the untouched Leads their pieces show not due yet stay in the database,
    and most of those read come with their deadline (no per-Lead computation)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads every journey")
    with StateStore.open(database_url) as store:
        store.record_transitions(_generated())
        untouched = store.journeys(untouched=True)
        read = store.overdue(Deadlines(CONFIG, NOW))
    told = [lead for lead in read if lead.deadline is not None]
    assert len(read) < len(untouched) * 0.8
    assert len(told) > len(read) * 0.8
    assert len(told) > 20


def test_postgresql_reads_only_the_leads_the_pieces_leave_open(database_url: str) -> None:
    """On PostgreSQL the Leads whose breach their pieces settle stay in the database: far
    fewer are read than may have missed a target."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads every journey")
    with StateStore.open(database_url) as store:
        store.record_transitions(_generated())
        every = store.sla_input(shortest_minutes=15)
        bounded = store.sla_input(shortest_minutes=15, deadlines=Deadlines(CONFIG, NOW))
    assert sum(g.breaches for g in bounded.groups) > 0
    assert len(bounded.late) < len(every.late) / 2


def test_pieces_hold_every_deadline() -> None:
    """The pieces of each target and zone run end to end over the days asked; a handoff's
    deadline is its target's minutes later in a `shift` piece, else between its piece's
    earliest and latest, in every zone, on weekends and daylight-saving days too."""
    rng = random.Random(7)
    first = (START - datetime(1970, 1, 1, tzinfo=UTC)).days
    for config in (CONFIG, EDITED):
        plan = Deadlines(config, NOW)
        every = plan.pieces(first, first + WEEKS * 7 - 1)
        for pieces in every.values():
            assert pieces[0].start == START and pieces[-1].end == START + timedelta(weeks=WEEKS)
            assert all(a.end == b.start for a, b in pairwise(pieces))
        assert any(p.shift for pieces in every.values() for p in pieces)
        assert any(p.earliest == p.latest for pieces in every.values() for p in pieces)
        for _ in range(3000):
            handoff = START + timedelta(
                seconds=rng.randrange(WEEKS * 7 * 86400), microseconds=rng.randrange(10**6)
            )
            index = rng.randrange(len(config.targets))
            target = config.targets[index]
            if not target.working_hours:
                continue
            zone = rng.randrange(len(plan.zones))
            due = deadline(handoff, target, config.working_hours, ZoneInfo(plan.zones[zone][0]))
            (piece,) = [p for p in every[(index, zone)] if p.start <= handoff < p.end]
            if piece.shift:
                assert due == handoff + timedelta(minutes=target.minutes)
            else:
                assert max(piece.earliest, handoff) <= due <= piece.latest
