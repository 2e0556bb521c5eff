"""The spine every stream shares: a pass (the stream's work and failures read again by id,
then what changed since its cursor, a page at a time), a run over given ids (what a webhook
or a person names), the failure of one record (a dead letter, counted in the summary, logged),
and the summary people read.

A run holds its stream from start to end (`StateStore.hold`): a second run of the same stream,
in another process or thread, waits as the stream's `wait` says, or stops with `StreamBusy`.
A service's run of the records webhooks named (`run_work`) holds the stream shared instead, and
each of its records alone: such runs go on side by side on PostgreSQL, never beside a pass.

A stream supplies only what differs: `_by_ids` (read these records by id and handle them as a
page that does not move the cursor) and `_changed` (the pages since the cursor); each page is
decided, pushed and recorded in one transaction by the stream's own `_page`. Work (hand-overs,
conversions in flight, retries) and dead letters are read from the store here, the same way
for every stream (`connector.state.work`).
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import structlog

from connector.display import for_terminal
from connector.errors import BudgetReserved
from connector.mapping.plan import values_hash
from connector.model import DeadLetter
from connector.state.hold import Wait
from connector.state.store import Commit, StateStore
from connector.state.work import Work, as_read
from connector.streams.erased import SKIPPED, ErasedPeople
from connector.streams.windows import Search, Sweep, reads, settled_stream

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: `Stream.run_work`: a page of records (one batch read), how long a run gathering waits at most
#: (beyond its batch window) for the runs beside it to end, how often it looks again meanwhile.
GATHER_PAGE = 100
GATHER_PATIENCE = 1.0
GATHER_PAUSE = 0.05


def new_run_id() -> str:
    """A short id naming one run of a stream in logs, the audit and summaries."""
    return uuid.uuid4().hex[:12]


def pages(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass
class Summary:
    """What one run of a stream did: its failures here, the stream's own counts in subclasses;
    `render` for people (never a control character, never an endless line)."""

    run_id: str
    failures: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    stream: str = ""  # the stream that ran
    ran: list[Work] = field(default_factory=list)  # a run of work: the work it did
    more: bool = False  # a run of work: it stopped at a page, other records' work left
    erased: int = 0  # records of people erased for privacy, left alone ("skipped: erased")

    @property
    def failed(self) -> int:
        return len(self.failures)

    def lines(self) -> list[str]:
        """The summary's lines, before they are made safe for a terminal."""
        raise NotImplementedError

    def render(self) -> str:
        lines = self.lines()
        if self.erased:
            lines.append(f"  {SKIPPED} {self.erased} (people erased for privacy: never written)")
        return for_terminal("\n".join(lines))

    def counts(self) -> dict[str, int]:
        """The numbers of the run, for its `stream.done` log event."""
        return {
            name: value
            for name, value in vars(self).items()
            if isinstance(value, int) and not isinstance(value, bool) and name != "stream"
        } | {"failed": self.failed}


@dataclass(frozen=True)
class Due:
    """What a stream must look at again by id before its cursor's pages: its work and its open
    failures, as the run began."""

    work: dict[str, list[Work]]  # record id -> the stream's work on it
    dead: dict[str, DeadLetter]  # record id -> its open failure

    @property
    def ids(self) -> list[str]:
        return sorted({*self.work, *self.dead})

    def kinds(self, record_id: str) -> set[str]:
        return {w.kind for w in self.work.get(record_id, ())}

    def forced(self) -> set[str]:
        """Records a person put back, or queued for a resync: tried whatever held them."""
        return {
            r for r, items in self.work.items() if any(w.kind in ("retry", "resync") for w in items)
        }

    def held(self) -> dict[str, tuple[str | None, str]]:
        """The failures a record seen again unchanged waits behind: record id -> (code, hash
        of what was refused); none for a record a person put back."""
        forced = self.forced()
        return {
            record_id: (d.code, values_hash(d.payload))
            for record_id, d in self.dead.items()
            if record_id not in forced
        }


S = TypeVar("S", bound=Summary)


class Stream(ABC, Generic[S]):
    """One stream over the state store; subclasses name it, its summary and its sources."""

    #: The stream's name: its cursor, its work and its dead letters are kept under it.
    name: ClassVar[str]
    #: The summary a run returns.
    summary_type: ClassVar[type[Any]]
    #: Whether each pass reads the stream's open failures again by id (else a failure waits
    #: for its record to change, or for a person to put it back).
    reread_failures: ClassVar[bool] = True

    store: StateStore
    #: Asked between pages: when it answers True the run ends after the page in flight is
    #: recorded (a service stopping); the next run goes on from there.
    should_stop: Callable[[], bool] | None = None
    #: How long a run waits for another holder of this stream (`connector.wiring` sets it for
    #: the command or service that runs the stream).
    wait: Wait = Wait()

    #: Called before each page of a pass's changes with a function that runs records by id
    #: inside the pass (the stream is held already, so nothing else could run them): a service
    #: hands it the ids webhooks named meanwhile, so they never wait for a long pass to end.
    between_pages: Callable[[Callable[[Sequence[str]], None]], None] | None = None
    #: The summary of the pass in flight while it reads its changes (None otherwise).
    _pass_summary: Any = None
    #: A run of the records webhooks named (`run_work`) takes at most this many beside other
    #: runs (a page: one batch read), and waits at most this long (beyond its batch window) for
    #: the runs beside it to end before it goes with less.
    gather_page: ClassVar[int] = GATHER_PAGE
    gather_patience: float = GATHER_PATIENCE

    #: Who is erased (`connector.streams.erased`): `connector.wiring` gives it the privacy key
    #: and privacy.yaml's `after_erasure`; without them, ids only (and emails, when no
    #: tombstone keeps an email hash).
    _erased: ErasedPeople | None = None

    @property
    def erased(self) -> ErasedPeople:
        if self._erased is None:
            self._erased = ErasedPeople(self.store)
        return self._erased

    @erased.setter
    def erased(self, value: ErasedPeople) -> None:
        self._erased = value

    def until_stopped(self, items: Iterable[T]) -> Iterator[T]:
        """`items` (pages) until a stop is asked for; the page in flight is always finished.
        In a pass's changes, records named meanwhile are run by id before each page
        (`between_pages`)."""
        for item in items:
            if self.should_stop is not None and self.should_stop():
                log.info("stream.stopped_early", stream=self.name)
                return
            if self.between_pages is not None and self._pass_summary is not None:
                self.between_pages(self._run_within_pass)
            yield item

    def _run_within_pass(self, ids: Sequence[str]) -> None:
        """These records by id, inside the pass in flight (counted in its summary); their work
        is done with them, as by `run_ids`."""
        summary, self._pass_summary = self._pass_summary, None  # no pass within the run
        try:
            wanted = sorted(dict.fromkeys(str(i) for i in ids))
            if wanted:
                log.info("stream.within_pass", stream=self.name, records=len(wanted))
                self._by_ids(wanted, summary, self.due())
        finally:
            self._pass_summary = summary

    def run_once(self, run_id: str | None = None) -> S:
        """One pass: the stream's work and failures by id, then what changed since its cursor.
        The stream is held throughout; `StreamBusy` when another run holds it past `wait`."""
        summary: S = self.summary_type(run_id or new_run_id(), stream=self.name)
        with self.store.hold(self.name, wait=self.wait):
            due = self.due()
            self._prepare(summary, due)
            log.info("stream.start", stream=self.name, run_id=summary.run_id)
            ids = due.ids if self.reread_failures else sorted(due.work)
            with self._stops_with(summary):
                if ids:
                    self._by_ids(ids, summary, due)
                self._pass_summary = summary
                try:
                    self._changed(summary, due)
                finally:
                    self._pass_summary = None
                self._finish(summary)
        log.info("stream.done", stream=self.name, run_id=summary.run_id, **summary.counts())
        return summary

    def run_ids(self, ids: Sequence[str], run_id: str | None = None) -> S:
        """Only these records, read by id (what a webhook or a person names); the cursor stays
        where it is. Work and failures of other records wait for the next pass. The stream is
        held as by `run_once`."""
        summary: S = self.summary_type(run_id or new_run_id(), stream=self.name)
        with self.store.hold(self.name, wait=self.wait):
            due = self.due()
            self._prepare(summary, due)
            wanted = sorted(dict.fromkeys(str(i) for i in ids))
            if wanted:
                with self._stops_with(summary):
                    self._by_ids(wanted, summary, due)
        log.info("stream.done", stream=self.name, run_id=summary.run_id, **summary.counts())
        return summary

    def run_work(self, run_id: str | None = None, *, window: float = 0.0) -> S:
        """The records webhooks named (the stream's work now), read by id, each in one run at a
        time. The stream is held shared, so runs of this kind go on side by side (in other
        processes) while a pass, which holds it alone, waits for them, and they for it.

        A run gathers its batch (`_gathered`): a page of records no other run holds at once,
        else what came within `window` seconds (the batch window) after the runs beside it
        ended, so a batch is as large as one run at a time would have made it, and runs go side
        by side only with a page each (or when one beside takes longer than
        `gather_patience`). Of what it holds, it does the records whose work is still there
        (done by another run meanwhile: nothing left to do); `summary.ran` is their work,
        `summary.more` says it stopped at a page with other records' work left (perhaps held
        by other runs), or that a webhook named its records again while it ran (their work
        stays). Reading a record only once it is held, a run reads it after any run
        that wrote it before: a later run never writes older values, and one that finds what
        an earlier one wrote writes nothing (the written hashes, recorded with the write).
        Without record holds (SQLite) the stream is held alone and a run does all its work,
        as `run_ids` would."""
        summary: S = self.summary_type(run_id or new_run_id(), stream=self.name)
        with (
            self.store.hold(self.name, wait=self.wait, shared=True),
            self._gathered(summary, window) as held,
        ):
            due = self.due()
            ran = [i for i in held if i in due.work]
            summary.ran = [w for i in ran for w in due.work[i]]
            if ran:
                self._prepare(summary, due)
                with self._stops_with(summary):
                    self._by_ids(ran, summary, due)
                summary.more = summary.more or self._made_anew(ran, due)
        log.info("stream.done", stream=self.name, run_id=summary.run_id, **summary.counts())
        return summary

    def _made_anew(self, ran: list[str], due: Due) -> bool:
        """Whether a webhook named any of these records again while the run did them: its
        work stays (the run read the record before it, `Commit.done_as_read`), and another run
        must come for it."""
        read = as_read(due.work, ran)
        return any(
            w.updated_at is not None and w.record_id in read and w.updated_at > read[w.record_id]
            for w in self.store.work(self.name)
        )

    @contextmanager
    def _gathered(self, summary: S, window: float) -> Iterator[list[str]]:
        """The records of the stream's work this run holds for the block (`run_work`), oldest
        work first. One run gathers at a time (a hold of `<stream>.gather`), looking again
        every `GATHER_PAUSE`. It goes with a page as soon as it holds one; with less once no
        other run holds any of the work (they ended: their work is done) and `window` more
        seconds passed, or once `gather_patience` passed beyond the window; with nothing when
        every record is another run's, or the service stops (its work waits for another)."""
        if not self.store.holds_records:
            with self.store.hold_records(self.name, self._oldest_first()) as held:
                yield held
            return
        with ExitStack() as kept:
            with self.store.hold(f"{self.name}.gather", wait=self.wait):
                started = time.monotonic()
                alone: float | None = None  # since when no other run holds any of the work
                while True:
                    ids = self._oldest_first()
                    with ExitStack() as attempt:  # let go unless kept
                        held = attempt.enter_context(
                            self.store.hold_records(self.name, ids, limit=self.gather_page)
                        )
                        now = time.monotonic()
                        if alone is None and len(held) == len(ids):
                            alone = now
                        full = len(held) >= self.gather_page
                        stopping = self.should_stop is not None and self.should_stop()
                        if stopping:
                            held = []
                        if (
                            stopping
                            or full
                            or not held
                            or (alone is not None and now - alone >= window)
                            or now - started >= window + self.gather_patience
                        ):
                            kept.enter_context(attempt.pop_all())
                            summary.more = full and len(ids) > len(held)
                            break
                    time.sleep(GATHER_PAUSE)
            yield held

    def _oldest_first(self) -> list[str]:
        """The records the stream has work for, the oldest work first."""
        work = sorted(
            self.store.work(self.name),
            key=lambda w: (w.created_at.timestamp() if w.created_at else 0.0, w.record_id),
        )
        return list(dict.fromkeys(w.record_id for w in work))

    @contextmanager
    def _stops_with(self, summary: S) -> Iterator[None]:
        """A run the API budget's reserve stops carries what it did by then (the pages before
        were recorded; the one it stopped in was not, and the next run does it again)."""
        try:
            yield
        except BudgetReserved as stop:
            log.warning(
                "stream.stopped", stream=self.name, run_id=summary.run_id, **summary.counts()
            )
            if stop.summary is None:
                stop.summary = summary
            raise

    def sweep(
        self, now: datetime, overlap: timedelta, search: Search[T], *, together: bool
    ) -> Sweep[T]:
        """The pages a pass starting `now` reads: since the cursor, and the change times
        settled since they were last read (`connector.streams.windows`). `together`: the source
        can read both windows in the same searches."""
        settled = self.store.cursor(settled_stream(self.name))
        window = reads(self.store.cursor(self.name), settled, now, overlap)
        return Sweep(window, search, together=together, overlap=overlap)

    def settle(self, sweep: Sweep[Any], summary: S) -> None:
        """Record that the pass read its late window whole: it is not read again. A pass that
        stopped early, or did not read it, reads it again next time."""
        if sweep.settled is None or (self.should_stop is not None and self.should_stop()):
            return
        commit = Commit(stream=settled_stream(self.name), cursor=sweep.settled)
        self.store.record(commit, run_id=summary.run_id)

    def due(self) -> Due:
        """The stream's work and open failures now."""
        work: dict[str, list[Work]] = {}
        for item in self.store.work(self.name):
            work.setdefault(item.record_id, []).append(item)
        dead = {d.record_id: d for d in self.store.dead_letters(self.name)}
        return Due(work, dead)

    def fail(
        self,
        commit: Commit,
        summary: S,
        record_id: str,
        reason: str,
        *,
        code: str | None,
        fields: tuple[str, ...] = (),
        payload: dict[str, Any] | None = None,
    ) -> None:
        """One record failed: a dead letter in the page's commit (another try of one still
        open counts up), the summary's failures, a warning in the log."""
        commit.failures.append(
            DeadLetter(
                self.name, record_id, reason, code=code, fields=fields, payload=payload or {}
            )
        )
        summary.failures.append((record_id, reason))
        log.warning("stream.record_failed", stream=self.name, record_id=record_id, code=code)

    # -- what a stream supplies --------------------------------------------------------------
    def _prepare(self, summary: S, due: Due) -> None:
        """Before anything is read (a check of the stream's mapping, say)."""

    @abstractmethod
    def _by_ids(self, ids: list[str], summary: S, due: Due) -> None:
        """Read these records by id and handle them as pages that leave the cursor alone,
        doing the work `due` holds for them."""

    @abstractmethod
    def _changed(self, summary: S, due: Due) -> None:
        """The records changed since the cursor, a page at a time, each recorded with the
        cursor it reached; records `due` named were handled by id already this pass."""

    def _finish(self, summary: S) -> None:
        """After the pass (counts the summary reads from the store, say)."""
