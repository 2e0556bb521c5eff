"""The service's worker on SQLite (the embedded default): one thread that runs the job
functions (`connector.service.tasks`) in-process, so a slow Salesforce call never delays webhook
intake (which only records work and wakes this thread). With PostgreSQL the same functions run
as jobs of a queue shared by several processes (`connector.service.queue`).

- A pass of every stream at start, then one starting every poll interval: the safety net for
  webhooks that never came.
- Between passes, the contacts webhooks named (work recorded by the endpoint) are run by id
  through the same stream code as a poll, collected for the batch window first, so a burst of
  100 changes costs what one poll page costs.
- A mapping edit that goes live is followed by its first pass at once.
- A stop ends the run in flight after its page is recorded (`Stream.should_stop`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import structlog

from connector.service.privacy import PRIVACY
from connector.service.tasks import IDENTITY_STREAMS, WEBHOOK_STREAMS, Tasks
from connector.wiring import Connector

log = structlog.get_logger(__name__)


class Worker:
    """Runs the job functions in its own thread until stopped."""

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadbridge-worker", daemon=True)
        self._next_poll = 0.0

    @property
    def connector(self) -> Connector:
        return self.tasks.connector

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self, streams: Iterable[str] = WEBHOOK_STREAMS) -> None:
        """New work was recorded (a webhook): run it after the batch window."""
        self._wake.set()

    def stop(self) -> None:
        """Take no new run; the one in flight ends after its page is recorded."""
        self.tasks.stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self.tasks.stopping.is_set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; whether it did within `timeout` seconds."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def poll_interval(self) -> float:
        return self.tasks.poll_interval()

    def problems(self) -> list[str]:
        """Nothing beyond what `/readyz` reads from the health (one process does it all)."""
        return []

    def last_pass_elsewhere(self) -> float | None:
        """No other process runs passes on this store's behalf."""
        return None

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        tasks, stopping = self.tasks, self.tasks.stopping
        log.info("service.worker_started", poll_seconds=tasks.settings.poll_seconds)
        while not stopping.is_set():
            if tasks.reload_if_changed():
                self._next_poll = 0.0  # the new mapping's first pass now
            now = tasks.clock()
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
                if stopping.wait(tasks.settings.webhook_batch_ms / 1000):
                    break
                self._wake.clear()
                self._by_webhook()
                continue
            self._wake.wait(timeout=max(0.0, self._next_poll - now))
        log.info("service.worker_stopped")

    def _pass(self) -> None:
        """One pass: every step in order; an error ends the pass (logged, shown in /readyz)
        and the next pass tries again. Merges and deletions a stopped run left go first (one
        that fails again is logged and tried next time; the pass goes on)."""
        self.tasks.leftover()
        for step in self.connector.steps():
            if self.stopping or not self.tasks.pass_of(step):
                return
        self.tasks.passed()

    def _by_webhook(self) -> None:
        """The records webhooks named, by id: merges and deletions, then contacts, then
        conversions (a new Lead before its conversion)."""
        for stream in WEBHOOK_STREAMS:
            # A refused erasure, or a merge or deletion that failed (logged, tried again),
            # holds up no contact.
            if not self.tasks.by_id(stream) and stream not in (PRIVACY, *IDENTITY_STREAMS):
                return
