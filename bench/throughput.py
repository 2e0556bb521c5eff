"""Throughput of several `leadbridge run` workers on one PostgreSQL store: 1, 2 and 4 workers
against the sandbox with webhooks on, at a rising change rate, and where it saturates.

Built from `bench/latency.py`'s pieces (the seed, the service process, the webhook
subscription, the reader of Leads through simple-salesforce, the service's calls from the
sandbox's journal). Every part runs in a process of its own, so what one spends is not taken
from another's GIL:

- the sandbox: one process serving it and nothing else (its state is in memory and one lock
  serialises requests, so it is one process by design; `leadbridge sandbox serve` is the same
  server). The bench drives it through a pipe: reset to a seed, the journal, the time its lock
  was held;
- marketing's changes (`--generators` processes, `--marketers` threads each, through
  hubspot-api-client's `update`): each change is sent back to the bench as it is answered;
- the workers: `--workers` `leadbridge run` processes on a fresh schema of the PostgreSQL at
  `--database-url` (default: LEADBRIDGE_TEST_DATABASE_URL); the sandbox's webhooks go to the
  first (any worker takes webhooks, the job runs on whichever is free);
- the bench itself: the reader (simple-salesforce, every `--read-ms`) and the oracle.

The sandbox answers every API request of the service `--latency` milliseconds (default 100)
after serving it, as Salesforce and HubSpot take about 100 to 300 ms a call: a worker runs one
job at a time and its calls one after another, so it waits on them, as in production. The
delay is the sandbox's fault profile's `latency_ms`: slept after its lock is released, in the
request's own thread (the server answers each connection in a thread of its own), so it holds
up no other request; each row says how many of the service's calls the sandbox had in hand at
once next to the share of the run its lock was held. The bench's own calls (marketing's
changes, the reader's queries: its instruments) are answered at once (`Undelayed`).
`--latency 0` answers everything at once: the sandbox then takes microseconds, a worker never
waits and is bound by CPU.

Each worker count and rate is a run of its own: the sandbox reset to contacts whose Leads are
linked and a day old, then `--seconds` of changes at the rate. Rates rise until the system
falls behind (a change missing at the end, or changes synced per second under 85 % of the rate
offered) or the generator cannot offer the rate.

Prints per worker count and rate: the rate offered (marketing's achieved rate), changes synced
per second (from the first change seen in Salesforce to the last), p95 latency, changes
missing, calls per 1,000 changes (the service's, from the journal), how long the service's
calls took to answer (median and p95, from the journal: the delay included), and what each resource
spent over the run, CPU in seconds per wall second (1.00 is one core: a Python process,
one GIL, saturates there):

- `sbx`: CPU of the sandbox's process; `sbxlk`: the share of the run its lock was held;
- `gen`: CPU of the generator process (the busiest, when several) per second of its own run,
  from the start to its last change; `bench`: of the bench's own (the reader);
- `wrk`: CPU of the busiest worker; `wrks`: of all workers;
- `pg`: CPU of the PostgreSQL backends serving the workers (found by their
  application_name; a backend that came and went within the run is not counted);
- `mach`: the machine's busy cores (of all its cores), `other`: the part of it none of the
  above spent (other programs on the machine, PostgreSQL's background processes);
- `held`: the share of the run the contacts stream was held alone (its passes' job lock, from
  Procrastinate's events): webhook runs of `hubspot.contacts` wait meanwhile; `busy`: the
  workers' time running contacts jobs (less the batch window a webhook job waits at its start,
  `--webhook-batch-ms`), in share of all the workers' time;

and names, with their figures, the resources at 85 % or more of what they can give as where it
saturates: a process at 0.85 CPU/s or more, the sandbox's lock, PostgreSQL's backends at 85 %
of the cores, the machine at 85 % of its cores, the contacts stream.

    .venv/bin/python bench/throughput.py [--workers 1,2,4] [--rates 10,50,100,200,400]
        [--seconds 10] [--latency 100] [--database-url URL] [--generators 1] [--detail]

It prints the sandbox's process id at the start: `py-spy record --pid N` profiles it.

Without a PostgreSQL URL it says so and exits 0 (`make bench` runs on machines without one).
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import sqlalchemy as sa
from latency import (
    FIRST_ID,
    HUBSPOT_TEN_SECOND_LIMIT,
    READER,
    Change,
    Reader,
    Service,
    fmt,
    is_service,
    make_seed,
    parse_rates,
    percentile,
    service_calls,
    subscribe,
)

from connector.logging import configure_logging
from connector.sandbox.app import Sandbox, SandboxConfig
from connector.sandbox.env import sandbox_salesforce
from connector.sandbox.faults import Decision, FaultProfile, Target
from connector.sandbox.journal import Entry
from connector.sandbox.server import HOST
from connector.sandbox.tls import TlsFiles
from connector.service.queue import BY_ID_TASK

TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
#: The contacts stream: its passes hold this job lock (webhook runs are its by-id jobs).
CONTACTS = "hubspot.contacts"
#: A share at or above this is taken for saturated.
SATURATED = 0.85
#: Behind: changes synced per second under this share of the rate offered.
KEEPING_UP = 0.85
#: Processes of their own, started afresh (not forked from the bench's threads).
SPAWN = multiprocessing.get_context("spawn")
#: The delay of each API answer by default: Salesforce's REST and Composite calls and HubSpot's
#: CRM calls answer in about 100 to 300 ms from a client near them, the low end here (a
#: worker then waits on its calls most of the time, as in production, and no more than it
#: would there).
DEFAULT_LATENCY_MS = 100
#: Marks the bench's own calls (marketing's, the reader's): `Undelayed` answers them at once.
BENCH_HEADER = "X-Leadbridge-Bench"
BENCH_ENVIRON = "HTTP_X_LEADBRIDGE_BENCH"
#: A leadbridge worker's hold connection renames itself "leadbridge pid N on HOST".
HOLD_NAME = re.compile(r"leadbridge pid (\d+) ")


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


# -- the sandbox's process --------------------------------------------------------------------
class Undelayed:
    """WSGI middleware around the sandbox app: the bench's own calls (marked with
    `BENCH_HEADER`: marketing's changes, the reader's queries) are answered as soon as they are
    served, so only the service's calls wait `--latency`. The bench's calls are its
    instruments: a change is timed when HubSpot answers it and seen when the reader's answer
    comes, and a delay on them would blur both by a sweep of the reader (a query per 200
    changes, one after another) and need a generator thread per change in flight. The fault
    profile's decision for a marked call is taken without its delay, in the call's own thread
    (the server answers each connection in a thread of its own): no lock is held for it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._bench = threading.local()
        decide = sandbox.injector.decide

        def undelayed(target: Target) -> Decision | None:
            decision = decide(target)
            if decision is not None and getattr(self._bench, "call", False):
                return replace(decision, latency_s=0.0)
            return decision

        setattr(sandbox.injector, "decide", undelayed)  # noqa: B010 - this instance only

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self._bench.call = bool(environ.get(BENCH_ENVIRON))
        try:
            return self.sandbox(environ, start_response)
        finally:
            self._bench.call = False


def host_sandbox(control: Connection, tls_dir: str, ten_second_limit: int, latency_ms: int) -> None:
    """The sandbox's process: serve it, each of the service's API requests answered
    `latency_ms` after it was served (its fault profile's latency, slept outside its lock, in
    the request's own thread; the bench's own calls at once: `Undelayed`), and answer the
    bench's requests on `control` until told to stop or the bench is gone."""
    from connector.sandbox.server import SandboxServer

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    configure_logging("json", level="error")
    # Kept across resets: `Sandbox.reset` goes back to the profile it started with.
    profile = FaultProfile(latency_ms=latency_ms, seed=0) if latency_ms else None
    config = SandboxConfig(hubspot_ten_second_limit=ten_second_limit, fault_profile=profile)
    with SandboxServer({}, tls_dir=tls_dir, config=config) as server:
        lock = TimedLock(server.sandbox.lock)
        server.sandbox.lock = lock  # timed, same behaviour
        server._server.app = Undelayed(server.sandbox)  # the bench's calls answered at once
        control.send(server.port)
        while True:
            try:
                op, arg = control.recv()
            except (EOFError, OSError):
                return  # the bench is gone
            if op == "stop":
                return
            if op == "reset":
                server.sandbox.reset(arg)
                control.send(None)
            elif op == "held":
                control.send(lock.held_s)
            elif op == "user":
                control.send(server.sandbox.org.user_by_username(arg)["Id"])
            elif op == "last_seq":
                control.send(server.sandbox.journal.last_seq())
            elif op == "entries":
                control.send(server.sandbox.journal.entries(since=arg))


class SandboxProcess:
    """The sandbox in a process of its own; what latency.py's pieces need of a server (`port`,
    `url`, `tls`, `ca_file`, `sandbox.config`), and the bench's requests over a pipe."""

    def __init__(self, tls_dir: Path, ten_second_limit: int, latency_ms: int = 0) -> None:
        self._control, child = SPAWN.Pipe()
        self.process = SPAWN.Process(
            target=host_sandbox,
            args=(child, str(tls_dir), ten_second_limit, latency_ms),
            name="sandbox",
            daemon=True,
        )
        self.process.start()
        child.close()
        if not self._control.poll(120):
            msg = "the sandbox's process did not start within 120 s"
            raise RuntimeError(msg)
        self.port: int = self._control.recv()
        self.url = f"https://{HOST}:{self.port}"
        self.tls = TlsFiles(Path(tls_dir).resolve())
        self.ca_file = self.tls.ca
        # the credentials it accepts: SandboxConfig's defaults, as in host_sandbox
        self.sandbox = SimpleNamespace(config=SandboxConfig())
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def ask(self, op: str, arg: Any = None) -> Any:
        with self._lock:
            self._control.send((op, arg))
            return self._control.recv()

    def stop(self) -> None:
        with suppress(OSError), self._lock:
            self._control.send(("stop", None))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
        self._control.close()


# -- marketing's process ----------------------------------------------------------------------
def generate(
    url: str,
    ca_file: str,
    token: str,
    contacts: list[str],
    rate: float,
    threads: int,
    out: Any,
    go: Any,
) -> None:
    """A generator process: change one contact's first name per tick, `rate` ticks a second,
    each a new contact, `threads` people at once taking turns (one slow answer does not hold
    the rate back); every change is put on `out` as (contact, value, monotonic time) when
    HubSpot answers, then ("done", CPU seconds, wall seconds) from `go` to the last answer.
    Starts when `go` is set (after "ready" on `out`)."""
    from hubspot import HubSpot
    from hubspot.crm.contacts import SimplePublicObjectInput

    apis = [
        HubSpot(access_token=token, host=url, ssl_ca_cert=ca_file).crm.contacts.basic_api
        for _ in range(min(threads, len(contacts)))
    ]
    for api in apis:
        api.api_client.set_default_header(BENCH_HEADER, "1")
    out.put("ready")
    go.wait()
    # CLOCK_MONOTONIC is the machine's: the bench compares these times with its reader's
    cpu, start = time.process_time(), time.monotonic() + 0.05

    def person(first: int) -> None:
        api = apis[first]
        for n in range(first, len(contacts), len(apis)):
            wait = start + n / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            value = f"Changed{contacts[n]}"
            try:
                api.update(contacts[n], SimplePublicObjectInput(properties={"firstname": value}))
            except Exception as exc:  # shown by the bench, the rest goes on
                out.put(f"error: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            out.put((contacts[n], value, time.monotonic()))

    people = [threading.Thread(target=person, args=(i,), daemon=True) for i in range(len(apis))]
    for thread in people:
        thread.start()
    for thread in people:
        thread.join()
    out.put(("done", time.process_time() - cpu, time.monotonic() - start))


class Generators:
    """`count` generator processes sharing the changes (each takes every count-th contact at
    rate / count), their changes gathered into `changes` as they come."""

    def __init__(
        self,
        server: SandboxProcess,
        contacts: list[str],
        rate: float,
        count: int,
        threads: int,
        changes: list[Change],
    ) -> None:
        self.changes = changes
        self.errors: list[str] = []
        #: Per process, CPU seconds and wall seconds from the start to its last change.
        self.spent: list[tuple[float, float]] = []
        self._queue = SPAWN.Queue()
        self._go = SPAWN.Event()
        count = max(1, min(count, len(contacts)))
        self.processes = [
            SPAWN.Process(
                target=generate,
                args=(
                    server.url,
                    str(server.ca_file),
                    server.sandbox.config.hubspot_token,
                    contacts[i::count],
                    rate / count,
                    threads,
                    self._queue,
                    self._go,
                ),
                name=f"generator-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        for process in self.processes:
            process.start()
        ready = 0
        while ready < len(self.processes):
            if self._queue.get(timeout=120) == "ready":
                ready += 1

    def run(self) -> None:
        """Start them and gather their changes until each is done."""
        self._go.set()
        done = 0
        while done < len(self.processes):
            item = self._queue.get(timeout=600)
            if isinstance(item, str):
                self.errors.append(item)
            elif item[0] == "done":
                self.spent.append((item[1], item[2]))
                done += 1
            else:
                contact, value, at = item
                self.changes.append(Change(contact, value, at))
        for process in self.processes:
            process.join(timeout=30)

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
        self._queue.close()


# -- what each resource spent -----------------------------------------------------------------
def cpu_ticks(pid: int | str) -> int:
    """User and system CPU of one process so far, in clock ticks (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def postgres_ticks() -> dict[int, int]:
    """CPU of every postgres process on the machine so far, in clock ticks, per process id."""
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text(encoding="ascii", errors="replace").strip()
            except OSError:
                continue
            if comm.startswith("postgres"):
                ticks[int(entry.name)] = cpu_ticks(entry.name)
    return ticks


def machine_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far (all cores)."""
    first = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def load_average() -> str:
    """`uptime`'s load averages (1, 5, 15 minutes)."""
    return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])


def our_backends(engine: sa.Engine, app: str, workers: list[int]) -> set[int]:
    """The PostgreSQL backends serving the workers: connected with the store URL's
    application_name, or a worker's hold connection named after its process id."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
        ).all()
    found = set()
    for pid, name in rows:
        held = HOLD_NAME.match(name or "")
        if name == app or (held and int(held.group(1)) in workers):
            found.add(int(pid))
    return found


@dataclass
class Usage:
    """What each resource had spent at one instant."""

    at: float
    wall: float
    sandbox: int
    bench: int
    workers: list[int]
    postgres: dict[int, int]
    backends: set[int]
    machine: tuple[int, int]
    sandbox_held_s: float


@dataclass
class Run:
    """The processes of one run, to measure."""

    server: SandboxProcess
    services: list[Service]
    engine: sa.Engine
    app: str

    def usage(self) -> Usage:
        workers = [int(s.process.pid) for s in self.services]
        return Usage(
            at=time.monotonic(),
            wall=time.time(),
            sandbox=cpu_ticks(self.server.pid),
            bench=cpu_ticks("self"),
            workers=[cpu_ticks(pid) for pid in workers],
            postgres=postgres_ticks(),
            backends=our_backends(self.engine, self.app, workers),
            machine=machine_ticks(),
            sandbox_held_s=self.server.ask("held"),
        )


def spent(before: Usage, after: Usage, generators: list[tuple[float, float]]) -> dict[str, Any]:
    """CPU per wall second of each process (1.0: one core), and the shares. A generator's is
    per second of its own run (from the start to its last change), the others' per second of
    the whole measure (the changes and the settle after)."""
    wall = after.at - before.at
    ticks = TICKS * wall

    def each(b: list[int], a: list[int]) -> list[float]:
        return [(y - x) / ticks for x, y in zip(b, a, strict=True)]

    workers = each(before.workers, after.workers)
    # a backend started since counts whole; one gone since is lost (an undercount)
    backends = before.backends | after.backends
    pg = sum(max(0, after.postgres.get(p, 0) - before.postgres.get(p, 0)) for p in backends)
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    share: dict[str, Any] = {
        "sbx": (after.sandbox - before.sandbox) / ticks,
        "sbxlk": (after.sandbox_held_s - before.sandbox_held_s) / wall,
        "gen": max(cpu / max(1e-9, run) for cpu, run in generators),
        "gen_all": sum(cpu for cpu, _ in generators) / wall,
        "bench": (after.bench - before.bench) / ticks,
        "wrk": max(workers),
        "wrks": sum(workers),
        "each_worker": workers,
        "pg": pg / ticks,
        "backends": len(backends),
        "mach": CORES * busy / max(1, total),
        "wall": wall,
    }
    ours = share["sbx"] + share["gen_all"] + share["bench"] + share["wrks"] + share["pg"]
    share["other"] = max(0.0, share["mach"] - ours)
    return share


@dataclass
class Step:
    """One worker count at one rate."""

    workers: int
    rate: float
    changes: list[Change] = field(default_factory=list)
    offered: float = math.nan  # changes per second marketing achieved
    calls: int = 0
    by_call: Counter[str] = field(default_factory=Counter)  # "api METHOD path", ids folded
    share: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    load: str = ""
    #: How long the sandbox took over each of the service's calls (ms, its journal's
    #: duration: the delay of `--latency` included), and over all of them added up (s).
    answers_ms: list[float] = field(default_factory=list)
    all_answers_s: float = 0.0

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
        """Marketing could not make the changes at the rate asked (the generator's limit)."""
        return not self.offered >= KEEPING_UP * self.rate

    def per_thousand(self) -> float:
        return self.calls * 1000 / max(1, len(self.changes))

    def saturated(self) -> str:
        """The resources at `SATURATED` or more of what they can give, busiest first, with
        their figures ("-" for none)."""
        s = self.share
        limits = [
            (s["mach"] / CORES, f"machine {s['mach']:.2f}/{CORES} cores"),
            (s["sbx"], f"sandbox {s['sbx']:.2f} CPU/s"),
            (s["sbxlk"], f"sandbox lock {s['sbxlk']:.2f}"),
            (s["gen"], f"generator {s['gen']:.2f} CPU/s"),
            (s["bench"], f"bench {s['bench']:.2f} CPU/s"),
            (s["wrk"], f"a worker {s['wrk']:.2f} CPU/s"),
            (s["pg"] / CORES, f"postgres {s['pg']:.2f}/{CORES} cores"),
            (s["held"], f"contacts stream held alone {s['held']:.2f}"),
            (s["busy"], f"workers busy on contacts jobs {s['busy']:.2f}"),
        ]
        full = sorted(((v, k) for v, k in limits if v >= SATURATED), reverse=True)
        return ", ".join(k for _, k in full) or "-"

    def detail(self) -> str:
        """CPU per wall second of every process of the run."""
        s = self.share
        workers = " ".join(f"{w:.2f}" for w in s["each_worker"])
        return (
            f"    CPU s per s: sandbox {s['sbx']:.2f}, generator {s['gen']:.2f}, bench "
            f"{s['bench']:.2f}, workers {workers}, postgres backends {s['pg']:.2f} "
            f"({s['backends']}), machine {s['mach']:.2f} of {CORES} cores (other "
            f"{s['other']:.2f}); load {self.load}"
        )

    def answers(self) -> str:
        """How long the service's calls took to answer, and how many of them the sandbox had in
        hand at once on average (their time in it over the run's, Little's law), next to the
        share of the run its lock was held: had the delays been slept under the lock, it would
        have been held at least that much."""
        ms, s = sorted(self.answers_ms), self.share
        in_hand = self.all_answers_s / s["wall"] if s.get("wall") else math.nan
        return (
            f"    API answers: the service's {len(ms)} calls took median "
            f"{fmt(percentile(ms, 0.5))} ms, p95 {fmt(percentile(ms, 0.95))} ms, {in_hand:.2f} "
            f"of them in the sandbox at once on average; its lock held {s.get('sbxlk', 0):.2f} "
            "of the run"
        )

    def per_change(self) -> str:
        """CPU milliseconds per change of each part, and the rate at which it would take a
        whole core (the generator, the sandbox: one process each, one GIL) or all of them:
        where it saturates, whatever else the machine runs."""
        s, n = self.share, max(1, len(self.changes))

        def ms(cpu_per_s: float) -> float:
            return 1000 * cpu_per_s * s["wall"] / n

        def lasts(ms_each: float, cores: float) -> str:
            return f"~{1000 * cores / ms_each:.0f}/s" if ms_each > 0 else "-"

        sandbox, generator, workers = ms(s["sbx"]), ms(s["gen_all"]), ms(s["wrks"])
        postgres, bench = ms(s["pg"]), ms(s["bench"])
        total = sandbox + generator + workers + postgres + bench
        return (
            f"    CPU ms per change: sandbox {sandbox:.1f} (one core lasts to "
            f"{lasts(sandbox, 1)}), generator {generator:.1f} ({lasts(generator, 1)} a process), "
            f"workers {workers:.1f} ({lasts(workers, min(self.workers, CORES))} on "
            f"{min(self.workers, CORES)} core(s)), postgres {postgres:.1f}, bench {bench:.1f}; "
            f"all {total:.1f} ({CORES} cores last to {lasts(total, CORES)})"
        )


@contextmanager
def schema(url: str) -> Iterator[tuple[str, str, str]]:
    """A new, empty schema in the PostgreSQL at `url`, dropped afterwards: the store URL the
    workers connect with (their backends named by an application_name of their own), the
    bench's URL for it, and that name."""
    name = f"lb_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    store = sa.make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
    workers = store.update_query_dict({"application_name": name})
    try:
        yield (
            workers.render_as_string(hide_password=False),
            store.render_as_string(hide_password=False),
            name,
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


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


def measure(server: SandboxProcess, work: Path, workers: int, rate: float, args: Args) -> Step:
    """One run: the sandbox reset, a fresh schema, `workers` services, `seconds` of changes."""
    step = Step(workers, rate)
    count = max(2, round(rate * args.seconds))
    server.ask("reset", make_seed(count))
    with schema(args.database_url) as (url, bench_url, app):
        engine = sa.create_engine(bench_url)
        env = {
            "LEADBRIDGE_DATABASE_URL": url,
            "LEADBRIDGE_POLL_SECONDS": str(args.poll_seconds),
            "LEADBRIDGE_WEBHOOK_BATCH_MS": str(args.webhook_batch_ms),
        }
        services = [Service(server, work, env) for _ in range(workers)]
        generators: Generators | None = None
        try:
            for service in services:
                service.wait_ready(timeout=args.ready_timeout)
            reader_client = sandbox_salesforce(server, READER)
            reader_client.session.headers[BENCH_HEADER] = "1"
            reader_id = server.ask("user", READER)
            subscribe(server, services[0])
            contacts = [str(FIRST_ID + i) for i in range(count)]
            generators = Generators(
                server, contacts, rate, args.generators, args.marketers, step.changes
            )
            run = Run(server, services, engine, app)
            before = run.usage()
            mark = server.ask("last_seq")
            reader = Reader(reader_client, step.changes, args.read_ms / 1000, oldest=1000)
            reader.start()
            generators.run()
            times = [c.at for c in step.changes]
            step.offered = (len(times) - 1) / max(1e-9, max(times) - min(times))
            deadline = time.monotonic() + args.settle_seconds
            while not reader.all_seen() and time.monotonic() < deadline:
                time.sleep(0.05)
            end = server.ask("last_seq")
            after = run.usage()
            step.load = load_average()
            reader.done.set()
            reader.join(timeout=30)
            if reader.error:
                step.problem = f"reader: {reader.error}"
            entries: list[Entry] = [e for e in server.ask("entries", mark) if e.seq <= end]
            calls, step.by_call, bench_calls = service_calls(entries, reader_id)
            step.answers_ms = [e.duration_ms for e in entries if is_service(e, reader_id)]
            step.all_answers_s = sum(step.answers_ms) / 1000
            step.calls = sum(calls.values())
            step.share = spent(before, after, generators.spent)
            wall = after.at - before.at
            alone, working = contacts_jobs_s(
                engine, before.wall, after.wall, args.webhook_batch_ms / 1000
            )
            step.share["held"] = alone / wall
            step.share["busy"] = working / wall / workers
            if generators.errors:
                step.problem = f"{len(generators.errors)} changes failed: {generators.errors[0]}"
            elif bench_calls != len(step.changes):
                step.problem = f"{bench_calls} marketing calls for {len(step.changes)} changes"
        finally:
            if generators is not None:
                generators.stop()
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
    generators: int
    marketers: int
    latency: int
    settle_seconds: float
    ready_timeout: float
    detail: bool


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
        f"{s['sbx']:>4.2f} {s['sbxlk']:>5.2f} {s['gen']:>4.2f} {s['bench']:>5.2f} "
        f"{s['wrk']:>4.2f} {s['wrks']:>4.2f} {s['pg']:>4.2f} "
        f"{s['mach']:>4.2f} {s['other']:>5.2f} {s['held']:>4.2f} {s['busy']:>4.2f}  "
        f"{step.saturated()}"
    )


HEADER = (
    f"  {'workers':>7} {'rate/s':>6} {'offered':>8} {'synced/s':>8} {'p95':>6} {'missing':>7} "
    f"{'all/1000':>8}  {'sbx':>4} {'sbxlk':>5} {'gen':>4} {'bench':>5} {'wrk':>4} {'wrks':>4} "
    f"{'pg':>4} {'mach':>4} {'other':>5} {'held':>4} {'busy':>4}  saturated"
)


def report(steps: list[Step], detail: bool, latency_ms: int) -> None:
    print(
        f"several workers on one PostgreSQL, webhooks on; the sandbox answers every API request "
        f"of the service {latency_ms} ms after serving it (--latency; the bench's own at once); "
        f"this machine has {CORES} cores, shared "
        "by the sandbox, the generator, the bench, the workers and PostgreSQL (and whatever "
        "else runs on it: `other`); CPU in seconds per wall second, 1.00 = one core, where a "
        "Python process (one GIL) saturates"
    )
    print(HEADER)
    for step in steps:
        notes = [n for n, on in (("behind", step.behind), ("rate not offered", step.short)) if on]
        print(row(step) + (f"  ({', '.join(notes)})" if notes else ""))
        print(step.detail())
        print(step.answers())
        print(step.per_change())
        if detail:
            for call, n in step.by_call.most_common():
                print(f"      {n * 1000 / max(1, len(step.changes)):>8.0f}/1000  {call}")
        if step.problem:
            print(f"    problem: {step.problem}")
    print("best rate kept up with, per worker count (changes synced per second):")
    for workers in sorted({s.workers for s in steps}):
        kept = [s for s in steps if s.workers == workers and not (s.behind or s.short)]
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
    parser.add_argument("--generators", type=int, default=1, help="processes making changes")
    parser.add_argument("--marketers", type=int, default=8, help="threads per generator")
    parser.add_argument(
        "--latency",
        type=int,
        default=DEFAULT_LATENCY_MS,
        metavar="MS",
        help=f"the sandbox answers each of the service's API requests MS after serving it "
        f"(default {DEFAULT_LATENCY_MS}, as Salesforce and HubSpot do; 0: at once, the CPU-bound "
        "case)",
    )
    parser.add_argument("--settle-seconds", type=float, default=30.0)
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument(
        "--detail", action="store_true", help="the service's calls per 1,000 changes by endpoint"
    )
    args = parser.parse_args(namespace=Args())
    if not args.database_url:
        print("bench/throughput.py: skipped, no PostgreSQL (set LEADBRIDGE_TEST_DATABASE_URL)")
        return 0
    configure_logging("json", level="error")

    # Marketing's calls do not spend the connector's window (another app, or people in
    # HubSpot's UI): the one token's limit is raised by what the bench spends, twice over.
    limit = HUBSPOT_TEN_SECOND_LIMIT + math.ceil(20 * max(args.rates))
    steps: list[Step] = []
    started = time.monotonic()
    print(f"load average at the start (1, 5, 15 min): {load_average()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = SandboxProcess(Path(tmp) / "tls", limit, args.latency)
        print(
            f"sandbox: {server.url}, process {server.pid}, answering every API request of the "
            f"service {args.latency} ms after serving it",
            flush=True,
        )
        try:
            for workers in args.workers:
                for rate in args.rates:
                    work = Path(tmp) / f"{workers}-{rate:g}"
                    work.mkdir()
                    step = measure(server, work, workers, rate, args)
                    steps.append(step)
                    print(
                        f"  {workers} worker(s) {rate:g}/s: synced {fmt(step.synced)}/s, p95 "
                        f"{fmt(percentile(step.latencies, 0.95))} s, {step.missing} missing, "
                        f"saturated: {step.saturated()}",
                        flush=True,
                    )
                    if step.behind or step.short:
                        break  # rising further piles up a backlog, or offers no more
        finally:
            server.stop()
    report(steps, args.detail, args.latency)
    print(f"{time.monotonic() - started:.0f} s in all; load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
