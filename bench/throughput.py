"""Throughput of several `leadbridge run` workers on one PostgreSQL store: 1, 2 and 4 workers
against the sandbox with webhooks on, at a rising change rate, and where it saturates.

Built from `bench/latency.py`'s pieces (the seed, the service process, the webhook
subscription, marketing's changes through HubSpot's API, the reader of Leads through
simple-salesforce, the service's calls from the sandbox's journal). Each worker count and rate
is a run of its own: a fresh sandbox seeded with contacts whose Leads are linked and a day old,
a fresh schema in the PostgreSQL at `--database-url` (default: LEADBRIDGE_TEST_DATABASE_URL),
`--workers` `leadbridge run` processes on it (the sandbox's webhooks go to the first: any
worker takes webhooks, the job runs on whichever is free), then `--seconds` of changes at the
rate. Rates rise until the system falls behind (a change missing at the end, or changes synced
per second under 85 % of the rate offered) or the bench cannot offer the rate (marketing's
threads share the bench's process with the sandbox).

Prints per worker count and rate: the rate offered (marketing's achieved rate), changes synced
per second (from the first change seen in Salesforce to the last), p95 latency, changes
missing, calls per 1,000 changes (the service's, from the journal), and what each resource
spent over the run, in share of what it can give:

- `sbx`: the sandbox's request handling, the time its one lock was held (it serves one request
  at a time) per wall second; `svc`: the journal's duration_ms of the service's own requests
  per wall second (waits for the lock included);
- `bench`: CPU of the bench's process (the sandbox, marketing, the reader: one GIL, one core);
- `pg`: CPU of the postgres processes, in cores (a backend that exits during the run is not
  counted), and `pgq` the time sessions on the store's
  database spent in queries (pg_stat_database.active_time) per wall second;
- `wrk`: CPU of the busiest worker (one GIL: one core at most) and of all workers, in cores;
- `lock`: the share of the run the contacts stream was held alone (its passes' job lock, from
  Procrastinate's events): webhook runs of `hubspot.contacts` wait meanwhile; `busy`: the
  workers' time running contacts jobs (passes and webhook runs, less the batch window a
  webhook job waits at its start, `--webhook-batch-ms`), in share of all the workers' time:
  webhook runs go side by side, one per worker at most;
- `cpu`: the machine's CPU, busy cores of all.

and names the first resource at 85 % or more as where it saturates.

    .venv/bin/python bench/throughput.py [--workers 1,2,4] [--rates 10,50,100,200,400]
        [--seconds 10] [--database-url URL]

Without a PostgreSQL URL it says so and exits 0 (`make bench` runs on machines without one).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from latency import (
    FIRST_ID,
    HUBSPOT_TEN_SECOND_LIMIT,
    MARKETING_CALL,
    READER,
    Change,
    Reader,
    Service,
    fmt,
    make_seed,
    marketing,
    parse_rates,
    percentile,
    service_calls,
    subscribe,
)

from connector.logging import configure_logging
from connector.sandbox.app import SandboxConfig
from connector.sandbox.env import sandbox_salesforce
from connector.sandbox.server import SandboxServer
from connector.service.queue import BY_ID_TASK

TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
#: The contacts stream: its passes hold this job lock (webhook runs are its by-id jobs).
CONTACTS = "hubspot.contacts"
#: A share at or above this is taken for saturated.
SATURATED = 0.85
#: Behind: changes synced per second under this share of the rate offered.
KEEPING_UP = 0.85


class TimedLock:
    """The sandbox's lock, timed: how long it was held, outermost holds only (it is an RLock,
    taken again by the thread holding it)."""

    def __init__(self, inner: threading.RLock) -> None:
        self.inner = inner
        self.held_s = 0.0
        self._depth = threading.local()
        self._since = 0.0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self.inner.acquire(blocking, timeout)
        if got:
            depth = getattr(self._depth, "n", 0)
            if depth == 0:
                self._since = time.perf_counter()
            self._depth.n = depth + 1
        return got

    def release(self) -> None:
        self._depth.n -= 1
        if self._depth.n == 0:
            self.held_s += time.perf_counter() - self._since
        self.inner.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def cpu_ticks(pid: int | str) -> int:
    """User and system CPU of one process so far, in clock ticks (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def postgres_ticks() -> dict[str, int]:
    """CPU of every postgres process on the machine so far, in clock ticks, per process id."""
    ticks: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text(encoding="ascii", errors="replace").strip()
            except OSError:
                continue
            if comm.startswith("postgres"):
                ticks[entry.name] = cpu_ticks(entry.name)
    return ticks


def machine_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far (all cores)."""
    first = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class Usage:
    """What each resource had spent at one instant."""

    at: float
    wall: float
    workers: list[int]
    postgres: dict[str, int]
    bench: int
    machine: tuple[int, int]
    pg_active_ms: float
    sandbox_held_s: float


@dataclass
class Step:
    """One worker count at one rate."""

    workers: int
    rate: float
    changes: list[Change] = field(default_factory=list)
    offered: float = math.nan  # changes per second marketing achieved
    calls: int = 0
    share: dict[str, float] = field(default_factory=dict)
    problem: str | None = None

    @property
    def latencies(self) -> list[float]:
        return sorted(c.seen - c.at for c in self.changes if c.seen is not None)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.changes if c.seen is None)

    @property
    def synced(self) -> float:
        """Changes synced per second, from the first seen in Salesforce to the last."""
        seen = sorted(c.seen for c in self.changes if c.seen is not None)
        if len(seen) < 2 or seen[-1] <= seen[0]:
            return math.nan
        return (len(seen) - 1) / (seen[-1] - seen[0])

    @property
    def behind(self) -> bool:
        return bool(self.missing) or not self.synced >= KEEPING_UP * self.offered

    @property
    def short(self) -> bool:
        """Marketing could not make the changes at the rate asked (the bench's own limit)."""
        return not self.offered >= KEEPING_UP * self.rate

    def per_thousand(self) -> float:
        return self.calls * 1000 / max(1, len(self.changes))

    def saturated(self) -> str:
        """The resources at `SATURATED` or more, busiest first ("-" for none)."""
        limits = {
            "sandbox": self.share.get("sbx", 0),
            "bench process": self.share.get("bench", 0),
            "postgres": self.share.get("pg", 0) / CORES,
            "a worker": self.share.get("wrk", 0),
            "contacts stream held alone": self.share.get("lock", 0),
            "workers (contacts jobs)": self.share.get("busy", 0),
            "machine CPU": self.share.get("cpu", 0),
        }
        full = sorted((v, k) for k, v in limits.items() if v >= SATURATED)
        return ", ".join(k for _, k in reversed(full)) or "-"


@contextmanager
def schema(url: str) -> Iterator[str]:
    """A new, empty schema in the PostgreSQL at `url`, dropped afterwards: its store URL."""
    name = f"lb_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    store = sa.make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield store.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def pg_active_ms(engine: sa.Engine) -> float:
    """Milliseconds sessions on this database have spent in queries so far."""
    with engine.connect() as connection:
        value = connection.exec_driver_sql(
            "SELECT active_time FROM pg_stat_database WHERE datname = current_database()"
        ).scalar()
    return float(value or 0)


def usage(
    services: list[Service], engine: sa.Engine, lock: TimedLock, *, flush: bool = False
) -> Usage:
    if flush:  # pg_stat_database is updated about once a second per session
        time.sleep(1.1)
    return Usage(
        at=time.monotonic(),
        wall=time.time(),
        workers=[cpu_ticks(s.process.pid) for s in services],
        postgres=postgres_ticks(),
        bench=cpu_ticks("self"),
        machine=machine_ticks(),
        pg_active_ms=pg_active_ms(engine),
        sandbox_held_s=lock.held_s,
    )


def contacts_jobs_s(
    engine: sa.Engine, start: float, end: float, window_s: float
) -> tuple[float, float]:
    """Seconds within [start, end] (epoch) that a pass of the contacts stream ran (holding it
    alone), and that contacts jobs of any kind ran, added up over the workers, less the batch
    windows webhook jobs wait at their start."""
    query = sa.text(
        "SELECT extract(epoch FROM s.at), extract(epoch FROM min(e.at)), "
        "  j.task_name = :by_id AND coalesce((j.args->>'window')::boolean, false), "
        "  j.lock IS NOT DISTINCT FROM :stream "
        "FROM procrastinate_jobs j "
        "JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started' "
        "LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.at >= s.at "
        "  AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted', 'deferred_for_retry') "
        "WHERE j.lock = :stream OR (j.task_name = :by_id AND j.args->>'stream' = :stream) "
        "GROUP BY j.id, s.at"
    )
    with engine.connect() as connection:
        rows = connection.execute(query, {"stream": CONTACTS, "by_id": BY_ID_TASK}).all()
    alone = working = 0.0
    for began, ended, windowed, locked in rows:
        began, ended = float(began), float(ended) if ended is not None else end
        inside = max(0.0, min(ended, end) - max(began, start))
        if locked:
            alone += inside
        waited = min(ended, began + window_s) if windowed else began  # the window's end
        working += max(0.0, inside - max(0.0, min(waited, end) - max(began, start)))
    return alone, working


def spent(before: Usage, after: Usage) -> dict[str, float]:
    wall = after.at - before.at
    ticks = TICKS * wall
    workers = [a - b for a, b in zip(after.workers, before.workers, strict=True)]
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    return {
        "sbx": (after.sandbox_held_s - before.sandbox_held_s) / wall,
        "bench": (after.bench - before.bench) / ticks,
        # a backend started since counts whole; one gone since is lost (an undercount)
        "pg": sum(max(0, t - before.postgres.get(pid, 0)) for pid, t in after.postgres.items())
        / ticks,
        "pgq": (after.pg_active_ms - before.pg_active_ms) / 1000 / wall,
        "wrk": max(workers) / ticks,
        "wrk_all": sum(workers) / ticks,
        "cpu": busy / max(1, total),
    }


def measure(
    server: SandboxServer, lock: TimedLock, work: Path, workers: int, rate: float, args: Args
) -> Step:
    """One run: a fresh sandbox and schema, `workers` services, `seconds` of changes."""
    step = Step(workers, rate)
    count = max(2, round(rate * args.seconds))
    server.sandbox.reset(make_seed(count))
    with schema(args.database_url) as url:
        engine = sa.create_engine(url)
        env = {
            "LEADBRIDGE_DATABASE_URL": url,
            "LEADBRIDGE_POLL_SECONDS": str(args.poll_seconds),
            "LEADBRIDGE_WEBHOOK_BATCH_MS": str(args.webhook_batch_ms),
        }
        services = [Service(server, work, env) for _ in range(workers)]
        try:
            for service in services:
                service.wait_ready(timeout=args.ready_timeout)
            reader_client = sandbox_salesforce(server, READER)
            reader_id = server.sandbox.org.user_by_username(READER)["Id"]
            subscribe(server, services[0])
            journal = server.sandbox.journal
            before = usage(services, engine, lock, flush=True)
            mark = journal.last_seq()
            contacts = [str(FIRST_ID + i) for i in range(count)]
            reader = Reader(reader_client, step.changes, args.read_ms / 1000, oldest=1000)
            reader.start()
            marketing(server, contacts, rate, step.changes, args.marketers)
            times = [c.at for c in step.changes]
            step.offered = (len(times) - 1) / max(1e-9, max(times) - min(times))
            deadline = time.monotonic() + args.settle_seconds
            while not reader.all_seen() and time.monotonic() < deadline:
                time.sleep(0.05)
            end = journal.last_seq()
            after = usage(services, engine, lock)
            reader.done.set()
            reader.join(timeout=30)
            if reader.error:
                step.problem = f"reader: {reader.error}"
            entries = [e for e in journal.entries(since=mark) if e.seq <= end]
            calls, _, bench_calls = service_calls(entries, reader_id)
            step.calls = sum(calls.values())
            step.share = spent(before, after)
            wall = after.at - before.at
            alone, working = contacts_jobs_s(
                engine, before.wall, after.wall, args.webhook_batch_ms / 1000
            )
            step.share["lock"] = alone / wall
            step.share["busy"] = working / wall / workers
            service_ms = sum(
                e.duration_ms
                for e in entries
                if not (e.api == "salesforce" and e.user == reader_id)
                and not (e.method == "PATCH" and MARKETING_CALL.fullmatch(e.path))
            )
            step.share["svc"] = service_ms / 1000 / wall
            if bench_calls != len(step.changes):
                step.problem = f"{bench_calls} marketing calls for {len(step.changes)} changes"
        finally:
            for service in services:
                if service.process.poll() is None:
                    service.process.terminate()
            for service in services:
                service.stop()
            engine.dispose()
    return step


class Args(argparse.Namespace):
    workers: list[int]
    rates: list[float]
    seconds: float
    database_url: str
    poll_seconds: float
    webhook_batch_ms: int
    read_ms: float
    marketers: int
    settle_seconds: float
    ready_timeout: float


def parse_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or any(n < 1 for n in counts):
        msg = f"--workers: positive whole numbers separated by commas, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return counts


def row(step: Step) -> str:
    lat = step.latencies
    s = step.share
    return (
        f"  {step.workers:>7} {step.rate:>6g} {fmt(step.offered):>8} {fmt(step.synced):>8} "
        f"{fmt(percentile(lat, 0.95)):>6} {step.missing:>7} {step.per_thousand():>8.0f}  "
        f"{s['sbx']:>4.2f} {s['svc']:>5.2f} {s['bench']:>5.2f} {s['pg']:>4.2f} {s['pgq']:>4.2f} "
        f"{s['wrk']:>4.2f} {s['wrk_all']:>7.2f} {s['lock']:>4.2f} {s['busy']:>4.2f} "
        f"{s['cpu']:>4.2f}  "
        f"{step.saturated()}"
    )


HEADER = (
    f"  {'workers':>7} {'rate/s':>6} {'offered':>8} {'synced/s':>8} {'p95':>6} {'missing':>7} "
    f"{'all/1000':>8}  {'sbx':>4} {'svc':>5} {'bench':>5} {'pg':>4} {'pgq':>4} {'wrk':>4} "
    f"{'wrk_all':>7} {'lock':>4} {'busy':>4} {'cpu':>4}  saturated"
)


def report(steps: list[Step]) -> None:
    print(f"several workers on one PostgreSQL, webhooks on ({CORES} cores on this machine)")
    print(HEADER)
    for step in steps:
        notes = [n for n, on in (("behind", step.behind), ("rate not offered", step.short)) if on]
        print(row(step) + (f"  ({', '.join(notes)})" if notes else ""))
        if step.problem:
            print(f"    problem: {step.problem}")
    print("best rate kept up with, per worker count (changes synced per second):")
    for workers in sorted({s.workers for s in steps}):
        kept = [s for s in steps if s.workers == workers and not s.behind]
        best = max(kept, key=lambda s: s.synced, default=None)
        ran = [s for s in steps if s.workers == workers]
        peak = max((s.synced for s in ran if not math.isnan(s.synced)), default=math.nan)
        print(
            f"  {workers} worker(s): kept up to {best.rate:g}/s" if best else f"  {workers}: none",
            f"(synced {fmt(best.synced) if best else '-'}/s); most synced in a run {fmt(peak)}/s",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=parse_counts, default=parse_counts("1,2,4"))
    parser.add_argument("--rates", type=parse_rates, default=parse_rates("10,50,100,200,400"))
    parser.add_argument("--seconds", type=float, default=10.0, help="of changes per run")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LEADBRIDGE_TEST_DATABASE_URL"),
        help="PostgreSQL to make a schema in (default: LEADBRIDGE_TEST_DATABASE_URL)",
    )
    parser.add_argument("--poll-seconds", type=float, default=30.0, help="the safety net")
    parser.add_argument(
        "--webhook-batch-ms", type=int, default=200, help="the services' batch window"
    )
    parser.add_argument("--read-ms", type=float, default=100.0, help="Salesforce read interval")
    parser.add_argument("--marketers", type=int, default=8, help="threads making the changes")
    parser.add_argument("--settle-seconds", type=float, default=30.0)
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    args = parser.parse_args(namespace=Args())
    if not args.database_url:
        print("bench/throughput.py: skipped, no PostgreSQL (set LEADBRIDGE_TEST_DATABASE_URL)")
        return 0
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    configure_logging("json", level="error")

    config = SandboxConfig(
        hubspot_ten_second_limit=HUBSPOT_TEN_SECOND_LIMIT + math.ceil(20 * max(args.rates))
    )
    steps: list[Step] = []
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer({}, tls_dir=Path(tmp) / "tls", config=config) as server,
    ):
        lock = TimedLock(server.sandbox.lock)
        server.sandbox.lock = lock  # type: ignore[assignment] - timed, same behaviour
        for workers in args.workers:
            for rate in args.rates:
                work = Path(tmp) / f"{workers}-{rate:g}"
                work.mkdir()
                step = measure(server, lock, work, workers, rate, args)
                steps.append(step)
                print(
                    f"  {workers} worker(s) {rate:g}/s: synced {fmt(step.synced)}/s, p95 "
                    f"{fmt(percentile(step.latencies, 0.95))} s, {step.missing} missing, "
                    f"saturated: {step.saturated()}",
                    flush=True,
                )
                if step.behind or step.short:
                    break  # rising further piles up a backlog, or offers no more
    report(steps)
    print(f"{time.monotonic() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
