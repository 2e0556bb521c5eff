"""The service's worker: one thread that runs the streams, so a slow Salesforce call never
delays webhook intake (which only records work and wakes this thread).

- A pass of every stream at start, then one starting every poll interval: the safety net for
  webhooks that never came.
- Between passes, the contacts webhooks named (work recorded by the endpoint) are run by id
  through the same stream code as a poll, collected for the batch window first, so a burst of
  100 changes costs what one poll page costs. During a pass they run between its pages
  (`Stream.between_pages`): a long pass never holds them up.
- The mapping files are reloaded when they change: an edit that fails validation (structure or
  the live schemas) is refused and logged, and the service goes on with the last good version.
- A stop ends the run in flight after its page is recorded (`Stream.should_stop`).

The gateways are synchronous and used from this thread only.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
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
from connector.settings import Settings
from connector.state.hold import Wait
from connector.streams.base import Stream
from connector.wiring import Connector, build, load_mapping_files

log = structlog.get_logger(__name__)

#: `Stream.between_pages`: given the function that runs records by id inside a pass.
BetweenPages = Callable[[Callable[[Sequence[str]], None]], None]

#: A change webhooks name is recorded as work of these streams; conversion only when the
#: contact's lifecycle stage changed (see the webhook endpoint).
WEBHOOK_STREAMS = ("hubspot.contacts", "hubspot.conversions")


@dataclass
class Health:
    """What `/readyz` answers from: the last pass, the last error, the mapping versions."""

    started: float
    last_pass_ok: float | None = None  # monotonic time of the last pass that finished
    last_error: str | None = None
    mapping_live: str = ""
    mapping_refused: tuple[str, str] | None = None  # (version, why)
    passes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def mapping_version(directory: Path) -> str:
    """A short fingerprint of every mapping file's name and content (the version live)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


class Worker:
    """Runs the streams in its own thread until stopped."""

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
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadbridge-worker", daemon=True)
        self._next_poll = 0.0
        self._woken_at = 0.0  # wall time of the first event since the worker last looked
        directory = Path(settings.mappings_dir)
        self.health.mapping_live = mapping_version(directory)
        pinned = load_files(directory, PASS_FILES)
        if pinned.lead is None or pinned.lead.model != connector.files.plan.mapping:
            self.health.mapping_live = ""  # edited since it was loaded: the loop reloads
        self._attach(connector, pinned)

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New work was recorded (a webhook): run it after the batch window."""
        if not self._wake.is_set():
            self._woken_at = self.wall()
        self._wake.set()

    def stop(self) -> None:
        """Take no new run; the one in flight ends after its page is recorded."""
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; whether it did within `timeout` seconds."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        log.info("service.worker_started", poll_seconds=self.settings.poll_seconds)
        while not self._stopping.is_set():
            self._reload_if_changed()
            now = self.clock()
            if now >= self._next_poll:
                # Counted from this pass's start, so a change no webhook announced waits at
                # most one interval for its pass however long passes take. A pass that
                # overran is followed at once by the next, which takes the webhooks' work by
                # id first (`Stream.run_once`): that work waits only for the pass in flight.
                self._pass()
                self._next_poll = now + self.poll_interval()
                continue
            if self._wake.is_set():
                self._wake.clear()
                # Events arriving within the window become one run.
                if self._stopping.wait(self.settings.webhook_batch_ms / 1000):
                    break
                self._wake.clear()
                self._by_webhook()
                continue
            self._wake.wait(timeout=max(0.0, self._next_poll - now))
        log.info("service.worker_stopped")

    def poll_interval(self) -> float:
        """Seconds to the next pass: the poll interval, longer as the Salesforce budget nears
        the reserve kept for people (`poll_delay`); webhook runs are not slowed: a new lead is
        the work that matters most, and the guard never lets any call cut into the reserve."""
        return poll_delay(self.connector.salesforce.budget(), self.settings.poll_seconds)

    def _pass(self) -> None:
        """One pass of every stream (as `sync --once`); an error is logged and the service goes
        on: the next pass tries again."""
        last = self.clock()
        ok = True
        try:
            for summary in self.connector.run_pass():
                name = summary.stream
                now = self.clock()
                self.metrics.record_run(name, "poll", summary.counts(), now - last, ok=True)
                last = now
                log.info("service.run", stream=name, trigger="poll", **summary.counts())
        except LeadbridgeError as exc:
            ok = False
            self._failed("pass", exc)
        except Exception as exc:
            ok = False
            log.exception("service.pass_crashed")
            self._failed("pass", exc)
        if ok and not self._stopping.is_set():
            with self.health.lock:
                self.health.last_pass_ok = self.clock()
                self.health.last_error = None
                self.health.passes += 1

    def _by_webhook(self) -> None:
        """The records webhooks named, by id, contacts first (a new Lead before its
        conversion)."""
        streams: list[Stream[Any]] = [self.connector.contacts]
        if self.connector.conversions is not None:
            streams.append(self.connector.conversions)
        for stream in streams:
            if self._stopping.is_set():
                return
            ids, occurred = self._named(stream)
            if not ids:
                continue
            started = self.clock()
            try:
                summary = stream.run_ids(ids)
            except LeadbridgeError as exc:
                self._failed(stream.name, exc)
                return
            except Exception as exc:
                log.exception("service.run_crashed", stream=stream.name)
                self._failed(stream.name, exc)
                return
            self._ran(stream, occurred, started, summary.counts())
            log.info("service.run", stream=stream.name, trigger="webhook", **summary.counts())

    def _within_pass(self, stream: Stream[Any]) -> BetweenPages:
        """`stream.between_pages` for a pass: what webhooks named meanwhile runs inside the
        pass, a batch window after the first event (a long pass never holds up what webhooks
        name; the pass's later pages skip what was run). Counted as a webhook run; its records
        are counted in the pass's summary."""

        def between_pages(run: Callable[[Sequence[str]], None]) -> None:
            if not self._wake.is_set() or self._stopping.is_set():
                return
            if self.wall() - self._woken_at < self.settings.webhook_batch_ms / 1000:
                return
            ids, occurred = self._named(stream)
            if ids:
                started = self.clock()
                run(ids)
                self._ran(stream, occurred, started, {})  # its records count in the pass's

        return between_pages

    def _named(self, stream: Stream[Any]) -> tuple[list[str], list[float]]:
        """The records webhooks (or other work) named for `stream`, and when HubSpot says each
        change occurred (epoch seconds, from `occurredAt`)."""
        work = self.connector.store.work(stream.name)
        occurred = [
            float(w.payload["occurred_at"]) / 1000
            for w in work
            if isinstance(w.payload.get("occurred_at"), int | float)
        ]
        return sorted({w.record_id for w in work}), occurred

    def _ran(
        self, stream: Stream[Any], occurred: list[float], started: float, counts: dict[str, int]
    ) -> None:
        """A run by id finished: counted with its records' outcomes, each contact change's
        latency observed."""
        self.metrics.record_run(stream.name, "webhook", counts, self.clock() - started, ok=True)
        if stream is self.connector.contacts:
            done = self.wall()
            for at in occurred:
                self.metrics.latency.observe(max(0.0, done - at))

    def _failed(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {exc}"
        log.error("service.run_failed", what=what, error=str(exc))
        with self.health.lock:
            self.health.last_error = reason

    # -- mapping files ----------------------------------------------------------------------
    def _reload_if_changed(self) -> None:
        """A changed mappings directory is loaded, checked and swapped in; a refused edit is
        logged once and the last good version stays live."""
        directory = Path(self.settings.mappings_dir)
        try:
            version = mapping_version(directory)
        except OSError as exc:
            log.error("service.mappings_unreadable", error=str(exc))
            return
        refused = self.health.mapping_refused
        if version == self.health.mapping_live or (refused and refused[0] == version):
            return
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
            return
        self._attach(candidate, pinned)
        log.info("service.mapping_reloaded", version=version)
        self.metrics.mapping_reloads.labels("loaded").inc()
        with self.health.lock:
            self.health.mapping_live = version
            self.health.mapping_refused = None
        self._version_metrics()
        self._next_poll = 0.0  # the new mapping's first pass now

    def _attach(self, connector: Connector, pinned: LoadedFiles) -> None:
        """Use `connector`'s streams from now on, kept to the files they were built from (the
        worker reloads), each asking this worker whether to stop."""
        connector.pinned = pinned
        self.connector = connector
        # Another holder (a `sync --once` beside the service) is waited for as long as it
        # takes, unless the service is stopping.
        wait = Wait(math.inf, stop=self._stopping)
        for stream in (connector.contacts, connector.leads, connector.conversions):
            if stream is not None:
                stream.should_stop = self._stopping.is_set
                stream.wait = wait
                if stream.name in WEBHOOK_STREAMS:
                    stream.between_pages = self._within_pass(stream)
        connector.writebacks.should_stop = self._stopping.is_set
        connector.writebacks.wait = wait

    def _version_metrics(self) -> None:
        gauge = self.metrics.mapping_version
        gauge.clear()
        gauge.labels(self.health.mapping_live, "live").set(1)
        if self.health.mapping_refused:
            gauge.labels(self.health.mapping_refused[0], "refused").set(0)
