"""What the service's jobs do, whoever runs them: one step of a pass (one stream's pass), and
the records webhooks named for one stream, by id. The same functions run in-process (the
worker thread over SQLite, `connector.service.worker`) and as Procrastinate jobs on any of
several processes sharing PostgreSQL (`connector.service.queue`); only when they run differs.

- Before each job the mapping files are reloaded when they changed: an edit that fails
  validation (structure or the live schemas) is refused and logged, and the service goes on
  with the last good version.
- An error ends the job, is logged and shown in `/readyz`; the next pass tries again (the work
  a webhook recorded is durable and every pass reads its stream's work first).
- What webhooks name while a stream's pass runs is run between the pass's pages
  (`Stream.between_pages`): a long pass never holds it up.
- A stop ends the run in flight after its page is recorded (`Stream.should_stop`).

The gateways are synchronous and used by one job at a time.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connector.checks.mapping_files import MappingFiles as LoadedFiles
from connector.checks.mapping_files import load_files
from connector.checks.precheck import PASS_FILES
from connector.errors import LeadbridgeError, MappingError
from connector.salesforce.budget import poll_delay
from connector.service.metrics import Metrics
from connector.service.privacy import PRIVACY, erase_deleted
from connector.settings import Settings
from connector.state.hold import Wait
from connector.state.work import Work
from connector.streams.base import Stream
from connector.streams.contacts.stream import STREAM as CONTACTS
from connector.streams.conversions.stream import STREAM as CONVERSIONS
from connector.streams.identity.stream import DELETIONS, MERGES, IdentityEvents
from connector.streams.writeback import WriteBackSummary
from connector.wiring import Connector, build, load_mapping_files

log = structlog.get_logger(__name__)

#: A change webhooks name is recorded as work of these streams, run in this order (an erasure
#: before anything else, merges and deletions before the contacts they change are synced, a new
#: Lead before its conversion); conversion only when the contact's lifecycle stage changed (see
#: the webhook endpoint).
WEBHOOK_STREAMS = (PRIVACY, MERGES, DELETIONS, CONTACTS, CONVERSIONS)
#: The streams of merges and deletions: run by id only (no pass of their own), their work left
#: by a stopped run done before each pass.
IDENTITY_STREAMS = (MERGES, DELETIONS)
#: `Stream.between_pages`: given the function that runs records by id inside a pass.
BetweenPages = Callable[[Callable[[Sequence[str]], None]], None]


@dataclass
class Health:
    """What `/readyz` answers from: the last pass, the last error, the mapping versions."""

    started: float
    last_pass_ok: float | None = None  # monotonic time of the last pass that finished
    last_error: str | None = None
    mapping_live: str = ""
    mapping_refused: tuple[str, str] | None = None  # (version, why)
    passes: int = 0
    runs: dict[str, StreamRun] = field(default_factory=dict)  # stream -> its last run
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class StreamRun:
    """A stream's last run in this process (the status page's): when it ended (epoch
    seconds), whether it finished, the error that ended it."""

    at: float
    ok: bool
    error: str | None = None


def _occurred(work: Iterable[Work]) -> list[float]:
    """When HubSpot says each change a webhook named occurred (epoch seconds, `occurredAt`)."""
    return [
        float(w.payload["occurred_at"]) / 1000
        for w in work
        if isinstance(w.payload.get("occurred_at"), int | float)
    ]


def mapping_version(directory: Path) -> str:
    """A short fingerprint of every mapping file's name and content (the version live)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


class Tasks:
    """The job functions over one connector, with the metrics and health they report to."""

    def __init__(
        self,
        settings: Settings,
        connector: Connector,
        metrics: Metrics,
        health: Health,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.connector = connector
        self.metrics = metrics
        self.health = health
        self.clock = clock
        self.wall = wall
        self.stopping = threading.Event()
        self._steps_done: set[str] = set()  # steps finished since the last whole pass
        # Streams whose last run of work stopped at a page with work left (`Stream.run_work`):
        # another job is due for it now.
        self.more_work: set[str] = set()
        directory = Path(settings.mappings_dir)
        self.health.mapping_live = mapping_version(directory)
        pinned = load_files(directory, PASS_FILES)
        if pinned.lead is None or pinned.lead.model != connector.files.plan.mapping:
            self.health.mapping_live = ""  # edited since it was loaded: the next job reloads
        self._attach(connector, pinned)

    def poll_interval(self) -> float:
        """Seconds between passes: the poll interval, longer as the Salesforce budget nears
        the reserve kept for people (`poll_delay`); webhook runs are not slowed: a new lead is
        the work that matters most, and the guard never lets any call cut into the reserve."""
        return poll_delay(self.connector.salesforce.budget(), self.settings.poll_seconds)

    # -- the jobs ---------------------------------------------------------------------------
    def pass_of(self, step: str) -> bool:
        """One step of a pass (`Connector.steps`: one stream's pass), the mapping checked
        first; whether it finished. A step the mapping files do not ask for does nothing."""
        connector = self.connector
        if step not in connector.steps():
            log.debug("service.step_absent", stream=step)
            return True
        started = self.clock()
        try:
            connector.check_mapping()
            summary = connector.run_step(step)
        except LeadbridgeError as exc:
            self._failed(step, exc)
            return False
        except Exception as exc:
            log.exception("service.pass_crashed", stream=step)
            self._failed(step, exc)
            return False
        if isinstance(summary, WriteBackSummary) and not summary.owed:
            return True  # nothing was owed: nothing to count (as `Connector.run_pass`)
        counts = summary.counts()
        self.metrics.record_run(step, "poll", counts, self.clock() - started, ok=True)
        self._note(step)
        log.info("service.run", stream=step, trigger="poll", **counts)
        return True

    def step_passed(self, step: str) -> None:
        """A step finished (as a job of the queue): once every step of the pass has finished
        since the last whole pass, that is a pass (`passed`)."""
        self._steps_done.add(step)
        if self._steps_done >= set(self.connector.steps()):
            self._steps_done.clear()
            self.passed()

    def passed(self) -> None:
        """A pass finished (every step ran): the service is ready, as far as passes go."""
        if self.stopping.is_set():
            return
        with self.health.lock:
            self.health.last_pass_ok = self.clock()
            self.health.last_error = None
            self.health.passes += 1

    def by_id(self, stream_name: str, *, window: float = 0.0) -> bool:
        """The records webhooks named for `stream_name` (its work now), by id, through the same
        stream code as a poll; each contact change's latency observed from HubSpot's
        `occurredAt`. Whether it finished (nothing to do counts as done).

        Contacts run as `Stream.run_work`: beside other such runs, each on the contacts it
        holds (PostgreSQL; several workers), never beside a pass, gathering its batch for the
        batch `window` (seconds) once the runs beside it ended; other streams as `run_ids`,
        holding the stream alone (their batch window is the caller's)."""
        if stream_name == PRIVACY:
            return self._privacy()
        stream = self._stream(stream_name)
        if stream is None or self.stopping.is_set():
            return True
        ids, occurred = self._named(stream)
        if not ids:
            return True
        started = self.clock()
        try:
            if isinstance(stream, Stream) and stream.name == CONTACTS:
                summary = stream.run_work(window=window)
                occurred = _occurred(summary.ran)
                if summary.more:
                    self.more_work.add(stream.name)
            else:
                summary = stream.run_ids(ids)
        except LeadbridgeError as exc:
            self._failed(stream.name, exc)
            return False
        except Exception as exc:
            log.exception("service.run_crashed", stream=stream.name)
            self._failed(stream.name, exc)
            return False
        self._ran(stream, occurred, started, summary.counts())
        log.info("service.run", stream=stream.name, trigger="webhook", **summary.counts())
        return True

    def _privacy(self) -> bool:
        """The privacy deletions webhooks named (`connector.service.privacy`); whether every
        one finished (a refused part stays as work for the next run)."""
        if self.stopping.is_set():
            return True
        started = self.clock()
        try:
            summary = erase_deleted(self.connector)
        except LeadbridgeError as exc:
            self._failed(PRIVACY, exc)
            return False
        except Exception as exc:
            log.exception("service.run_crashed", stream=PRIVACY)
            self._failed(PRIVACY, exc)
            return False
        counts = summary.counts()
        if any(counts.values()):
            self.metrics.record_run(PRIVACY, "webhook", counts, self.clock() - started, ok=True)
            log.info("service.run", stream=PRIVACY, trigger="webhook", **counts)
        return not summary.failed

    def work_waiting(self, stream_name: str) -> bool:
        """Whether `stream_name` has work due now (a run that stopped early left some)."""
        if stream_name == PRIVACY:
            return bool(self.connector.store.work(PRIVACY))
        return self._stream(stream_name) is not None and bool(
            self.connector.store.work(stream_name)
        )

    def _within_pass(self, stream: Stream[Any]) -> BetweenPages:
        """`stream.between_pages`: what webhooks named while the stream's pass runs is run
        between the pass's pages, inside it (the pass holds the stream, so a webhook job would
        wait for its end: a long pass would hold up every webhook). The pass's later pages skip
        what was run; counted as a webhook run, its records in the pass's summary."""

        def between_pages(run: Callable[[Sequence[str]], None]) -> None:
            if self.stopping.is_set():
                return
            ids, occurred = self._named(stream)
            if ids:
                started = self.clock()
                run(ids)
                self._ran(stream, occurred, started, {})

        return between_pages

    def _named(self, stream: Stream[Any] | IdentityEvents) -> tuple[list[str], list[float]]:
        """The records whose work `stream` holds now, and when HubSpot says each change a
        webhook named occurred (`_occurred`)."""
        work = self.connector.store.work(stream.name)
        return sorted({w.record_id for w in work}), _occurred(work)

    def _ran(
        self,
        stream: Stream[Any] | IdentityEvents,
        occurred: list[float],
        started: float,
        counts: dict[str, int],
    ) -> None:
        """A run by id finished: counted with its records' outcomes, each contact change's
        latency observed."""
        self.metrics.record_run(stream.name, "webhook", counts, self.clock() - started, ok=True)
        self._note(stream.name)
        if stream.name == CONTACTS:
            done = self.wall()
            for at in occurred:
                self.metrics.latency.observe(max(0.0, done - at))

    def _stream(self, name: str) -> Stream[Any] | IdentityEvents | None:
        if name == CONTACTS:
            return self.connector.contacts
        if name == CONVERSIONS:
            return self.connector.conversions
        if name == MERGES:
            return self.connector.merges
        if name == DELETIONS:
            return self.connector.deletions
        return None

    def leftover(self) -> bool:
        """Merges and deletions whose run stopped (a kill, an API down) finished now, before a
        pass (they have no pass of their own); whether all finished."""
        done = [self.by_id(name) for name in IDENTITY_STREAMS if self.work_waiting(name)]
        return all(done)

    def _failed(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {exc}"
        log.error("service.run_failed", what=what, error=str(exc))
        with self.health.lock:
            self.health.last_error = reason
        self._note(what, error=str(exc))

    def _note(self, stream: str, error: str | None = None) -> None:
        """`stream`'s run ended now (failed, when `error`)."""
        with self.health.lock:
            self.health.runs[stream] = StreamRun(self.wall(), error is None, error)

    # -- mapping files ----------------------------------------------------------------------
    def reload_if_changed(self) -> bool:
        """A changed mappings directory is loaded, checked and swapped in; a refused edit is
        logged once and the last good version stays live. Whether a new version went live
        (its first pass is due now)."""
        directory = Path(self.settings.mappings_dir)
        try:
            version = mapping_version(directory)
        except OSError as exc:
            log.error("service.mappings_unreadable", error=str(exc))
            return False
        refused = self.health.mapping_refused
        if version == self.health.mapping_live or (refused and refused[0] == version):
            return False
        try:
            pinned = load_files(directory, PASS_FILES)
            files = load_mapping_files(directory)
            candidate = build(
                self.settings,
                files,
                self.connector.store,
                self.connector.salesforce,
                self.connector.hubspot,
            )
            candidate.pinned = pinned
            candidate.check_mapping()
        except (MappingError, LeadbridgeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("service.mapping_refused", version=version, error=first)
            self.metrics.mapping_reloads.labels("refused").inc()
            with self.health.lock:
                self.health.mapping_refused = (version, first)
            self._version_metrics()
            return False
        self._attach(candidate, pinned)
        log.info("service.mapping_reloaded", version=version)
        self.metrics.mapping_reloads.labels("loaded").inc()
        with self.health.lock:
            self.health.mapping_live = version
            self.health.mapping_refused = None
        self._version_metrics()
        return True

    def _attach(self, connector: Connector, pinned: LoadedFiles) -> None:
        """Use `connector`'s streams from now on, kept to the files they were built from (the
        service reloads), each asking whether the service is stopping."""
        connector.pinned = pinned
        self.connector = connector
        # Another holder (a `sync --once` beside the service, or a job another worker still
        # runs) is waited for as long as it takes, unless the service is stopping.
        wait = Wait(math.inf, stop=self.stopping)
        for stream in (connector.contacts, connector.leads, connector.conversions):
            if stream is not None:
                stream.should_stop = self.stopping.is_set
                stream.wait = wait
                if stream.name in WEBHOOK_STREAMS:
                    stream.between_pages = self._within_pass(stream)
        connector.writebacks.should_stop = self.stopping.is_set
        connector.writebacks.wait = wait
        for events in (connector.merges, connector.deletions):
            if events is not None:
                events.should_stop = self.stopping.is_set
                events.wait = wait

    def _version_metrics(self) -> None:
        gauge = self.metrics.mapping_version
        gauge.clear()
        gauge.labels(self.health.mapping_live, "live").set(1)
        if self.health.mapping_refused:
            gauge.labels(self.health.mapping_refused[0], "refused").set(0)
