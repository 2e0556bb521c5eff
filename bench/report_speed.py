"""How fast the funnel, SLA and channel reports run over 1,000,000 transitions, on PostgreSQL
and on SQLite.

A store is filled with twelve months of generated journeys (`bench/transitions.py`, about
four transitions each); each report is then timed as `leadbridge report` runs it over every
journey: the store's aggregates (in SQL on PostgreSQL; on SQLite the journeys read and
aggregated in Python) and the report's pure part. "journeys alone" is reading every journey
row by row, for comparison. The opportunities'
outcomes come from the generator (what the one batched Salesforce read would answer) and are
not timed: that read is API calls, counted instead (`opportunity queries`). Best of three
rounds on PostgreSQL, one on SQLite; wall and this process's CPU seconds (PostgreSQL's own
work is in its server process, so there wall counts), with the load average. Target: under
2 s each on PostgreSQL.

    .venv/bin/python bench/report_speed.py [--transitions N] [--pg-url postgresql+psycopg://...]

Without `--pg-url` (or LEADBRIDGE_TEST_DATABASE_URL) only SQLite is measured. On PostgreSQL
the store goes to a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import transitions as generated

from connector.reports.channels import channel_rows
from connector.reports.config import SlaConfig, Target
from connector.reports.funnel import funnel_rows
from connector.reports.sla import open_breaches, period_rows
from connector.salesforce.soql import MAX_IN_LIST_CHARS, in_chunks
from connector.state.store import StateStore

TARGET_SECONDS = 2.0
ROUNDS = 3
MONTHS = 12
#: Transitions a generated journey has on average (measured on the generator).
PER_JOURNEY = 4.085
SLA = SlaConfig(time_zone="UTC", targets=(Target(name="first touch", minutes=15),))
NOW = datetime(2027, 6, 1, tzinfo=UTC)


@contextmanager
def pg_store(url: str) -> Iterator[str]:
    schema = f"lb_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            sa.make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def timed(work: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Best wall and CPU seconds of `rounds` runs."""
    best = (float("inf"), float("inf"))
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def measure(name: str, url: str, made: Any, rounds: int) -> None:
    started = time.perf_counter()
    with StateStore.open(url) as store:
        generated.fill(store, made.transitions, chunk=20_000)
        filled = time.perf_counter() - started
        journeys = store.journeys()
        print(
            f"{name}: {len(made.transitions):,} transitions, {len(journeys):,} journeys "
            f"(filled in {filled:.0f} s)"
        )
        del journeys
        outcomes = made.outcomes

        def funnel(by: Any) -> Any:
            return funnel_rows(store.funnel_input(by=by), outcomes, by=by)

        reports = {
            "funnel (by month)": lambda: funnel("month"),
            "funnel (by source)": lambda: funnel("source"),
            "sla": lambda: period_rows(store, SLA, now=NOW),
            "sla --open": lambda: open_breaches(store, SLA, now=NOW),
            "channels": lambda: channel_rows(store.channel_input(), outcomes),
        }
        query_wall, query_cpu = timed(store.journeys, 1)
        print(f"  journeys alone (1 round) {query_wall:6.2f} s wall  {query_cpu:6.2f} s CPU")
        for report, work in reports.items():
            wall, cpu = timed(work, rounds)
            verdict = ("ok" if wall < TARGET_SECONDS else "MISSED") if name == "PostgreSQL" else ""
            print(f"  {report:<24} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {verdict}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("LEADBRIDGE_TEST_DATABASE_URL"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    per_source = round(args.transitions / PER_JOURNEY / MONTHS / len(generated.SOURCES))
    made = generated.generate(months=MONTHS, per_source=per_source)
    opportunities = len(made.outcomes)
    calls = len(list(in_chunks(sorted(made.outcomes), MAX_IN_LIST_CHARS)))
    print(
        f"load average {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()}); "
        f"{opportunities:,} opportunities: {calls} opportunity queries "
        f"({-(-calls // 5)} Composite calls) for a report over everything"
    )
    if args.pg_url:
        with pg_store(args.pg_url) as url:
            measure("PostgreSQL", url, made, ROUNDS)
    else:
        print("PostgreSQL: not measured (no --pg-url or LEADBRIDGE_TEST_DATABASE_URL)")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            measure("SQLite", f"sqlite:///{Path(directory) / 'report.db'}", made, 1)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
