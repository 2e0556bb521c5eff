"""The funnel, SLA and channel reports over generated journeys with known rates
(`bench/transitions.py`): the reports print the rates the generator was given."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.errors import MappingError
from connector.model import Journey, Transition
from connector.reports import channels, funnel, sla
from connector.reports.config import SlaConfig, Target, WorkingHours, load_sla
from connector.reports.journeys import journeys
from connector.reports.render import Cohort, channel_records, funnel_records, render
from connector.reports.sla import deadline
from connector.reports.stats import percentile
from tests.benches import load

transitions = load("transitions")
PER_SOURCE = 100
MADE = transitions.generate(months=3, per_source=PER_SOURCE, start=date(2026, 1, 1))
JOURNEYS = journeys(MADE.transitions)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SLA = SlaConfig(targets=(Target(name="first touch", minutes=15),))


def test_funnel_by_source_prints_each_sources_known_rates() -> None:
    """Per source, each stage's rate from the one before is the rate generated."""
    rows = {r.group: r for r in funnel(JOURNEYS, MADE.outcomes, by="source")}
    for source, rates in transitions.SOURCES.items():
        row = rows[source]
        assert row.mql == 3 * PER_SOURCE
        assert row.sal_rate == pytest.approx(rates.sal)
        assert row.sql_rate == pytest.approx(rates.sql)
        assert row.opportunity_rate == pytest.approx(rates.opportunity)
        assert row.won_rate == pytest.approx(rates.won)


def test_funnel_by_month_counts_each_months_cohort() -> None:
    """One row per month the leads entered, then the whole cohort; counts are the generated."""
    rows = funnel(JOURNEYS, MADE.outcomes, by="month")
    assert [r.group for r in rows] == ["2026-01", "2026-02", "2026-03", "(all)"]
    for row in rows[:3]:
        assert row.counts() == {stage: MADE.total(stage, month=row.group) for stage in row.counts()}
    total = rows[-1]
    assert total.mql == 3 * 4 * PER_SOURCE
    assert total.won == MADE.total("won")
    assert total.sal_rate == pytest.approx(MADE.total("sal") / MADE.total("mql"))


def test_funnel_times_in_stage_are_the_generated_ones() -> None:
    """Median and p90 hours in each stage: MQL 2 h, SAL 72 h, SQL 0 h (the opportunity comes
    with the conversion)."""
    (total,) = [r for r in funnel(JOURNEYS, MADE.outcomes) if r.group == "(all)"]
    assert total.times["mql"].median_hours == pytest.approx(2.0)
    assert total.times["mql"].p90_hours == pytest.approx(2.0)
    assert total.times["sal"].median_hours == pytest.approx(72.0)
    assert total.times["sql"].median_hours == pytest.approx(0.0)
    # opportunity to close: the close date's midnight, 10 days after the day it was opened
    won_hours = total.times["opportunity"]
    assert won_hours.median_hours is not None and 216 <= won_hours.median_hours <= 240


def test_rates_over_a_period_count_the_cohort_that_entered_in_it() -> None:
    """A period counts the journeys that entered in it, with every later stage they reached:
    January's conversions made in February count for January."""
    january = journeys(
        MADE.transitions,
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2026, 2, 1, tzinfo=UTC),
    )
    (total,) = [r for r in funnel(january, MADE.outcomes) if r.group == "(all)"]
    assert total.mql == MADE.total("mql", month="2026-01")
    assert total.sql == MADE.total("sql", month="2026-01")
    late = [j for j in january if j.sql and j.sql >= datetime(2026, 2, 1, tzinfo=UTC)]
    assert late  # the generator converts the month's last ones in the next month


def test_channels_give_accepted_and_rejected_shares_reasons_and_amounts() -> None:
    """Per source and campaign: handed over, accepted and rejected shares, the reasons,
    converted, and the opportunities' amounts (all, and won)."""
    rows = {r.source: r for r in channels(JOURNEYS, MADE.outcomes)}
    for source, rates in transitions.SOURCES.items():
        row = rows[source]
        assert row.campaign == transitions.CAMPAIGNS[source]
        assert row.handed_over == 3 * PER_SOURCE
        assert row.accepted_rate == pytest.approx(rates.sal)
        not_accepted = 3 * PER_SOURCE - row.accepted
        assert row.rejected == round(not_accepted * rates.rejected)
        assert sum(row.reasons.values()) == row.rejected
        assert set(row.reasons) <= set(transitions.REASONS)
        assert row.converted == MADE.total("sql", source=source)
        assert row.opportunity_amount == transitions.AMOUNT * MADE.total(
            "opportunity", source=source
        )
        assert row.won_amount == transitions.AMOUNT * MADE.total("won", source=source)
    assert rows["(all)"].won_amount == transitions.AMOUNT * MADE.total("won")


def test_sla_counts_the_late_touches_and_the_untouched_as_breaches() -> None:
    """With a 15-minute target, the touches generated 30 minutes after the handoff are
    breaches; the Leads never touched are breaches still open; the others wait 10 minutes."""
    report = sla(JOURNEYS, SLA, now=NOW)
    untouched = MADE.total("mql") - MADE.total("touched")
    assert sum(r.handed_over for r in report.rows) == MADE.total("mql")
    assert sum(r.breaches for r in report.rows) == MADE.total("late") + untouched
    assert sum(r.open_breaches for r in report.rows) == untouched == len(report.open_breaches)
    assert {b.touched for b in report.open_breaches} == {None}
    assert {r.median_minutes for r in report.rows if r.touched} == {10.0}
    assert {r.p90_minutes for r in report.rows if r.touched} == {30.0}
    # Leads still in the queue, untouched, are the queue's; touched ones their rep's, by queue
    (waiting,) = [r for r in report.rows if r.owner_id == transitions.QUEUE]
    assert waiting.touched == 0 and waiting.open_breaches == waiting.handed_over
    assert {r.queue for r in report.rows} == {transitions.QUEUE, "(none)"}


def test_sla_breach_is_not_open_before_its_deadline() -> None:
    """An untouched Lead is no breach until its target's time has run out."""
    handoff = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, inside working hours
    journey = Journey("1", "00Q1", handoff, handoff=handoff, owner_id="005A")
    assert sla([journey], SLA, now=handoff + timedelta(minutes=14)).open_breaches == []
    (breach,) = sla([journey], SLA, now=handoff + timedelta(minutes=16)).open_breaches
    assert breach.deadline == handoff + timedelta(minutes=15)


def test_deadline_counts_working_hours_in_the_owners_time_zone() -> None:
    """A Lead handed over on Friday 16:55 in Berlin is due Monday 09:10 Berlin time; one
    handed over at night is due 15 minutes after the day starts; with `working_hours: false`
    15 minutes later whatever the hour."""
    berlin = ZoneInfo("Europe/Berlin")
    hours = WorkingHours()
    friday = datetime(2026, 3, 27, 16, 55, tzinfo=berlin)  # DST starts that Sunday
    due = deadline(friday.astimezone(UTC), Target(name="t", minutes=15), hours, berlin)
    assert due.astimezone(berlin) == datetime(2026, 3, 30, 9, 10, tzinfo=berlin)
    night = datetime(2026, 3, 31, 23, 0, tzinfo=berlin)
    due = deadline(night, Target(name="t", minutes=15), hours, berlin)
    assert due.astimezone(berlin) == datetime(2026, 4, 1, 9, 15, tzinfo=berlin)
    anytime = Target(name="t", minutes=15, working_hours=False)
    assert deadline(night, anytime, hours, berlin) == night + timedelta(minutes=15)


def test_owner_time_zone_decides_the_deadline() -> None:
    """The same handoff is due at once in the morning in New York and the next day in Tokyo
    (where it came after hours)."""
    config = SlaConfig(
        time_zone="America/New_York",
        owners={"005TOKYO": "Asia/Tokyo"},
        targets=(Target(name="t", minutes=15),),
    )
    handoff = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 New York, 23:00 Tokyo
    ny = Journey("1", "00Q1", handoff, handoff=handoff, owner_id="005NY")
    tokyo = Journey("2", "00Q2", handoff, handoff=handoff, owner_id="005TOKYO")
    now = handoff + timedelta(hours=1)
    assert [b.hubspot_id for b in sla([ny, tokyo], config, now=now).open_breaches] == ["1"]


def test_sla_targets_apply_by_queue_then_fall_through() -> None:
    """The first target whose queues fit a Lead is its target; a Lead no target fits has
    none (measured, never a breach)."""
    config = SlaConfig(
        targets=(Target(name="hot", minutes=5, working_hours=False, queues=("00GHOT",)),)
    )
    handoff = datetime(2026, 3, 2, 10, tzinfo=UTC)
    hot = Journey("1", "00Q1", handoff, handoff=handoff, queue="00GHOT", owner_id="00GHOT")
    cold = Journey("2", "00Q2", handoff, handoff=handoff, owner_id="005A")
    report = sla([hot, cold], config, now=handoff + timedelta(days=3))
    assert [(b.hubspot_id, b.target) for b in report.open_breaches] == [("1", "hot")]


def test_sla_yaml_errors_are_one_line_each_naming_file_line_and_key(tmp_path: Path) -> None:
    """An unknown time zone, a bad time and an unknown key are each reported at their line."""
    (tmp_path / "sla.yaml").write_text(
        "time_zone: Europe/Berln\n"
        "working_hours:\n"
        "  start: '9h'\n"
        "targets:\n"
        "  - name: first touch\n"
        "    minuts: 15\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as caught:
        load_sla(tmp_path)
    lines = str(caught.value).splitlines()
    assert any(
        line.startswith(f"{tmp_path / 'sla.yaml'}:1:") and "Europe/Berln" in line for line in lines
    )
    assert any(":3:" in line and "'9h'" in line for line in lines)
    assert any(":6:" in line and "minuts" in line for line in lines)


def test_the_shipped_sla_yaml_loads() -> None:
    """mappings/sla.yaml as shipped is valid and has a target."""
    config = load_sla(Path(__file__).resolve().parents[2] / "mappings")
    assert config.targets


def test_every_format_says_which_cohort_it_counts() -> None:
    """Table, CSV and JSON each say the rates are over the cohort that entered in the period;
    CSV and JSON carry the same numbers."""
    cohort = Cohort(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    records = funnel_records(funnel(JOURNEYS, MADE.outcomes, by="source"))
    table = render("funnel", records, cohort, "table")
    assert "cohort" in table.splitlines()[1] and "2026-01-01" in table
    text = render("funnel", records, cohort, "csv")
    assert text.startswith("# cohort: ")
    parsed = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    body = json.loads(render("funnel", records, cohort, "json"))
    assert "cohort" in body["cohort"]["note"]
    assert [r["source"] for r in parsed] == [r["source"] for r in body["rows"]]
    assert [float(r["sal_rate"]) for r in parsed] == [r["sal_rate"] for r in body["rows"]]
    channel = json.loads(render("channels", channel_records(channels(JOURNEYS, {})), None, "json"))
    assert channel["rows"][0]["reasons"]


def test_percentile_interpolates_like_percentile_cont() -> None:
    """Median and p90 as PostgreSQL's percentile_cont: linear between the closest ranks."""
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(range(1, 11), 0.9) == pytest.approx(9.1)
    assert percentile([], 0.5) is None


def test_a_stage_recorded_twice_keeps_its_first_time() -> None:
    """Journeys take each stage's first time; the journey enters at its MQL, else its
    handoff; transitions without a journey start are no journey."""
    t0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
    found = journeys(
        [
            Transition("handoff", "1", "00Q1", t0),
            Transition("touched", "1", "00Q1", t0 + timedelta(hours=2), owner_id="005B"),
            Transition("touched", "1", "00Q1", t0 + timedelta(hours=1), owner_id="005A"),
            Transition("accepted", "2", "00Q2", t0),
        ]
    )
    assert found == [
        Journey("1", "00Q1", t0, handoff=t0, touched=t0 + timedelta(hours=1), owner_id="005A")
    ]
