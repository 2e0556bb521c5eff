"""The store's journeys: the grouped query gives what the reports' Python grouping gives, on
SQLite and PostgreSQL (LEADBRIDGE_TEST_DATABASE_URL), and a replayed batch records nothing
twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from connector.model import Transition
from connector.reports import funnel, inputs
from connector.reports.journeys import journeys
from connector.state import Commit, StateStore
from tests.benches import load

transitions = load("transitions")
MADE = transitions.generate(months=2, per_source=30, start=date(2026, 1, 1))
T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[StateStore]:
    with StateStore.open(database_url) as opened:
        yield opened


def _key(j: object) -> tuple[str, str]:
    return (j.hubspot_id, j.lead_id)  # type: ignore[attr-defined]


def test_store_journeys_are_the_python_grouping(store: StateStore) -> None:
    """Every journey's stage times, owner, queue, source, campaign, reason and opportunity
    come out of the grouped query as the reports' own grouping makes them, for a period too."""
    transitions.fill(store, MADE.transitions, chunk=500)
    assert sorted(store.journeys(), key=_key) == sorted(journeys(MADE.transitions), key=_key)
    since, until = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    february = store.journeys(since=since, until=until)
    assert sorted(february, key=_key) == sorted(
        journeys(MADE.transitions, since=since, until=until), key=_key
    )
    (total,) = [r for r in funnel(february, MADE.outcomes) if r.group == "(all)"]
    assert total.mql == MADE.total("mql", month="2026-02")


def _same(found: object, expected: object) -> None:
    """Two report inputs alike: groups and rows in any order, figures to rounding."""
    for name in vars(expected):
        ours, theirs = getattr(found, name), getattr(expected, name)
        assert sorted(map(repr, _rounded(ours))) == sorted(map(repr, _rounded(theirs))), name


def _rounded(rows: list[object]) -> list[object]:
    def fix(value: object) -> object:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in sorted(value.items(), key=repr)}
        if isinstance(value, tuple):
            return tuple(fix(v) for v in value)
        return value

    return [
        {k: fix(v) for k, v in vars(row).items()} if hasattr(row, "__dict__") else fix(row)
        for row in rows
    ]


@pytest.mark.parametrize("by", ["month", "source", "campaign"])
def test_store_report_inputs_are_the_python_ones(store: StateStore, by: str) -> None:
    """What the store aggregates for each report (SQL on PostgreSQL) is what the reports'
    Python makes of the same journeys: counts, percentiles, late Leads, reasons."""
    transitions.fill(store, MADE.transitions)
    since = datetime(2026, 2, 1, tzinfo=UTC)
    python = journeys(MADE.transitions, since=since)
    _same(store.funnel_input(since=since, by=by), inputs.funnel_input(python, by))
    _same(store.sla_input(since=since, shortest_minutes=15), inputs.sla_input(python, 15))
    untouched = [j for j in journeys(MADE.transitions) if j.handoff and not j.touched]
    _same(store.sla_input(shortest_minutes=15, untouched=True), inputs.sla_input(untouched, 15))
    _same(store.channel_input(since=since), inputs.channel_input(python))


def test_untouched_journeys_are_those_handed_over_and_never_touched(store: StateStore) -> None:
    """`untouched` finds the handed-over Leads sales has done nothing with, whenever they
    entered."""
    transitions.fill(store, MADE.transitions)
    untouched = store.journeys(untouched=True)
    assert len(untouched) == MADE.total("mql") - MADE.total("touched")
    assert all(j.touched is None and j.accepted is None and j.rejected is None for j in untouched)


def test_a_replayed_batch_records_each_stage_once_at_its_first_time(store: StateStore) -> None:
    """The same transitions recorded again (a batch replayed after a kill), later and with
    another owner, change nothing: the first recording stands."""
    first = [
        Transition("handoff", "1", "00Q1", T0, owner_id="005A", source="REFERRALS"),
        Transition("touched", "1", "00Q1", T0 + timedelta(minutes=3), owner_id="005A"),
    ]
    store.record(Commit("hubspot.contacts", transitions=first), run_id="r1")
    again = [
        Transition("handoff", "1", "00Q1", T0 + timedelta(hours=1), owner_id="005B"),
        Transition("touched", "1", "00Q1", T0 + timedelta(hours=1), owner_id="005B"),
        Transition("accepted", "1", "00Q1", T0 + timedelta(hours=1), owner_id="005B"),
    ]
    store.record(Commit("salesforce.leads", transitions=again), run_id="r2")
    (journey,) = store.journeys()
    assert (journey.entered, journey.touched, journey.owner_id, journey.source) == (
        T0,
        T0 + timedelta(minutes=3),
        "005A",
        "REFERRALS",
    )
    assert journey.accepted == T0 + timedelta(hours=1)


def test_a_transition_without_a_time_takes_the_recording_time(database_url: str) -> None:
    """A stream's handoff is timed when its batch is recorded (the store's clock)."""
    with StateStore.open(database_url, clock=lambda: T0) as store:
        store.record(
            Commit("hubspot.contacts", transitions=[Transition("handoff", "1", "00Q1")]),
            run_id="r",
        )
        (journey,) = store.journeys()
    assert journey.handoff == journey.entered == T0


def test_the_journeys_migration_groups_the_transitions_recorded_before_it(
    database_url: str,
) -> None:
    """A store at 0009 holds transitions and no journeys table: upgrading to 0010 fills the
    table with every journey as the reports' own grouping makes them (and their reports)."""
    from alembic import command

    from connector.state import migrate

    with StateStore.open(database_url) as store:
        transitions.fill(store, MADE.transitions, chunk=2_000)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(migrate._config(connection), "0009")
        assert "journeys" not in sa.inspect(connection).get_table_names()
    with engine.begin() as connection:
        command.upgrade(migrate._config(connection), "head")
    engine.dispose()
    with StateStore.open(database_url) as store:
        assert sorted(store.journeys(), key=_key) == sorted(journeys(MADE.transitions), key=_key)
        _same(
            store.funnel_input(by="source"),
            inputs.funnel_input(journeys(MADE.transitions), "source"),
        )
