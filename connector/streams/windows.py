"""Which change times a pass reads: what is new since the cursor, and, once, what may have
shown late.

A source's search can show a change later than the change's own time (HubSpot's search index
lags its writes by seconds; a long Salesforce transaction commits with an earlier
`SystemModstamp`). A pass that read only from its cursor would step over such a change for
good. Re-reading the whole overlap window every pass catches it, but reads every change
overlap ÷ interval times over: at 100 changes a second, a 60-second overlap and a 5-second
poll, twelve re-reads per change, and passes that take longer than their interval.

So a pass reads two windows (`Reads`): the fresh one, from the cursor to the pass's start, and
the late one, the change times that have become older than the overlap since the late window
was last read (from the stream's *settled* mark to the pass's start less the overlap). Every
change time is read at most twice: when it is new, and once more when it has settled; a change
shown up to the overlap late is caught when it settles. The settled mark moves only when a pass
has read both windows whole (a pass that stops early reads its late window again).

Both windows go in one search when the source's filter limits allow it (no call more than one
window costs). Otherwise the late window costs searches of its own (`Sweep`), after the fresh
one: every pass while changes come in more than a page at a time (an interval's changes: a
small window, never a spike), and in a quiet stream only once it spans the overlap or has
settled up to the cursor, whichever comes first (one search more per overlap, not per pass; a
change shown late is then caught within twice the overlap and an interval). The second case is
the end of a burst: the late window stops at the cursor, so once the stream is quiet it can
never grow to span the overlap, and waiting for that would leave the burst's last changes
unread for as long as nothing else changes.

Pure: the stream searches and records the marks (`settled_stream` names where).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")
#: A search of change times from `since` to `until`, with an `earlier` window in the same
#: queries (None: none), a list of records per page, oldest first.
Search = Callable[
    [datetime | None, datetime | None, tuple[datetime | None, datetime | None] | None],
    Iterator[list[T]],
]


@dataclass(frozen=True)
class Window:
    """Change times from `since` to `until`, both included (None: no bound)."""

    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Reads:
    """What one pass reads: `fresh` (from the cursor), `late` (None: nothing has settled since
    the last pass), and the settled mark to record once the pass has read both."""

    fresh: Window
    late: Window | None
    settled: datetime


SETTLED = ".settled"


def settled_stream(stream: str) -> str:
    """Where a stream's settled mark is kept, beside its cursor."""
    return f"{stream}{SETTLED}"


def is_settled_mark(name: str) -> bool:
    """Whether a cursor of the store is a stream's settled mark (not a stream's cursor: it
    trails by the overlap on purpose)."""
    return name.endswith(SETTLED)


def reads(
    cursor: datetime | None, settled: datetime | None, now: datetime, overlap: timedelta
) -> Reads:
    """The windows of a pass starting `now`, for a stream at `cursor` whose change times up to
    `settled` were read again after they settled (None: never; then the last `overlap` before
    the cursor is read once more, as before this mark was kept)."""
    ripe = now - overlap
    fresh = Window(cursor, now)
    if cursor is None:
        # The first pass reads everything up to now; what is older than the overlap has shown.
        return Reads(fresh, None, ripe)
    start = settled if settled is not None else cursor - overlap
    end = min(ripe, cursor)
    late = Window(start, end) if overlap > timedelta(0) and start < end else None
    return Reads(fresh, late, max(start, ripe))


class Sweep(Generic[T]):
    """The pages of a pass's windows (see the module); `settled` is the mark to record once
    they were all read (None: the late window was not read, the mark stays)."""

    def __init__(
        self, window: Reads, search: Search[T], *, together: bool, overlap: timedelta
    ) -> None:
        self.window = window
        self.search = search
        self.together = together
        self.overlap = overlap
        self.settled: datetime | None = None
        self.late_read = False

    def __iter__(self) -> Iterator[list[T]]:
        fresh, late = self.window.fresh, self.window.late
        if late is None or self.together:
            earlier = None if late is None else (late.since, late.until)
            yield from self.search(fresh.since, fresh.until, earlier)
            self.late_read = late is not None
            self.settled = self.window.settled
            return
        pages = 0
        for page in self.search(fresh.since, fresh.until, None):
            pages += 1
            yield page
        if pages > 1 or self._spans_overlap(late) or self._reaches_cursor(late):
            yield from self.search(late.since, late.until, None)
            self.late_read = True
            self.settled = self.window.settled

    def _spans_overlap(self, late: Window) -> bool:
        if late.since is None or late.until is None:
            return True
        return late.until - late.since >= self.overlap

    def _reaches_cursor(self, late: Window) -> bool:
        """The late window has settled all the way to the cursor: nothing can join it until
        new changes move the cursor (a quiet stream after a burst), so it is read now."""
        return late.until is not None and late.until == self.window.fresh.since
