"""Which change times a pass reads (`connector.streams.windows`): each change twice at most,
once new and once settled, and a quiet stream's late window in one search per overlap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from connector.streams.windows import Reads, Sweep, Window, is_settled_mark, reads, settled_stream

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def s(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_the_first_pass_reads_everything_and_settles_what_is_older_than_the_overlap():
    assert reads(None, None, NOW, MINUTE) == Reads(Window(None, NOW), None, s(-60))


def test_a_pass_reads_from_its_cursor_and_once_more_what_settled_since_the_last_pass():
    """Cursor 3 s ago, late window read to 65 s ago: this pass reads 3 s of new changes and the
    5 s that became a minute old since; nothing in between is read again."""
    window = reads(s(-3), s(-65), NOW, MINUTE)

    assert window.fresh == Window(s(-3), NOW)
    assert window.late == Window(s(-65), s(-60))
    assert window.settled == s(-60)


def test_without_a_settled_mark_the_overlap_before_the_cursor_is_read_once_more():
    """A store from before the mark: the minute before the cursor, as every pass read it."""
    window = reads(s(-3), None, NOW, MINUTE)

    assert window.late == Window(s(-63), s(-60))
    assert window.settled == s(-60)


def test_a_cursor_far_behind_reads_the_late_window_only_up_to_the_cursor():
    """After a long stop the fresh window covers everything since the cursor; the late one
    only what lies before it, and the mark moves to the overlap's edge."""
    window = reads(s(-600), s(-700), NOW, MINUTE)

    assert window.fresh == Window(s(-600), NOW)
    assert window.late == Window(s(-700), s(-600))
    assert window.settled == s(-60)


def test_no_overlap_reads_nothing_twice():
    window = reads(s(-3), s(-5), NOW, timedelta(0))

    assert window.late is None
    assert window.settled == NOW


def test_the_settled_mark_never_goes_back():
    """A clock stepped back does not move the mark to an earlier time."""
    window = reads(s(-3), s(10), NOW, MINUTE)

    assert window.late is None
    assert window.settled == s(10)


def test_the_mark_is_kept_beside_the_stream_and_told_apart():
    assert settled_stream("hubspot.contacts") == "hubspot.contacts.settled"
    assert is_settled_mark("hubspot.contacts.settled")
    assert not is_settled_mark("hubspot.contacts")


class Searches:
    """A source answering each search with the pages given per window, noting the searches."""

    def __init__(self, fresh_pages: int) -> None:
        self.fresh_pages = fresh_pages
        self.calls: list[tuple[datetime | None, datetime | None, object]] = []

    def __call__(
        self,
        since: datetime | None,
        until: datetime | None,
        earlier: tuple[datetime | None, datetime | None] | None,
    ) -> Iterator[list[str]]:
        self.calls.append((since, until, earlier))
        if until == NOW:
            yield from ([f"fresh{i}"] for i in range(self.fresh_pages))
        if earlier is not None or until != NOW:
            yield ["late"]


def test_together_both_windows_are_read_in_the_same_searches_and_settle():
    search = Searches(fresh_pages=1)
    sweep = Sweep(reads(s(-3), s(-65), NOW, MINUTE), search, together=True, overlap=MINUTE)

    assert list(sweep) == [["fresh0"], ["late"]]
    assert search.calls == [(s(-3), NOW, (s(-65), s(-60)))]
    assert sweep.settled == s(-60)


def test_a_quiet_stream_reads_its_late_window_only_once_it_spans_the_overlap():
    """One page of new changes and 5 s settled: one search, the mark stays for next time."""
    search = Searches(fresh_pages=1)
    sweep = Sweep(reads(s(-3), s(-65), NOW, MINUTE), search, together=False, overlap=MINUTE)

    assert list(sweep) == [["fresh0"]]
    assert search.calls == [(s(-3), NOW, None)]
    assert sweep.settled is None


def test_a_quiet_stream_reads_a_late_window_a_minute_wide_after_the_new_changes():
    search = Searches(fresh_pages=0)
    sweep = Sweep(reads(s(-3), s(-120), NOW, MINUTE), search, together=False, overlap=MINUTE)

    assert list(sweep) == [["late"]]
    assert search.calls == [(s(-3), NOW, None), (s(-120), s(-60), None)]
    assert sweep.settled == s(-60)


def test_a_busy_stream_reads_its_late_window_every_pass_after_the_new_changes():
    """More than a page of new changes: the late window (an interval's worth) is read too,
    after them, so new changes never wait behind old ones."""
    search = Searches(fresh_pages=3)
    sweep = Sweep(reads(s(-3), s(-65), NOW, MINUTE), search, together=False, overlap=MINUTE)

    assert list(sweep) == [["fresh0"], ["fresh1"], ["fresh2"], ["late"]]
    assert search.calls == [(s(-3), NOW, None), (s(-65), s(-60), None)]
    assert sweep.settled == s(-60)


def test_a_first_pass_settles_without_a_late_search():
    search = Searches(fresh_pages=2)
    sweep = Sweep(reads(None, None, NOW, MINUTE), search, together=False, overlap=MINUTE)

    assert list(sweep) == [["fresh0"], ["fresh1"]]
    assert search.calls == [(None, NOW, None)]
    assert sweep.settled == s(-60)


def test_a_quiet_stream_reads_a_late_window_that_has_settled_up_to_its_cursor():
    """The end of a burst: the cursor stopped 5 minutes ago, the late window (cut at the
    cursor) is 5 s wide and can never grow to a minute while nothing changes. It is read once
    now, and the mark passes the cursor, so the next quiet pass searches only once."""
    search = Searches(fresh_pages=0)
    window = reads(s(-300), s(-305), NOW, MINUTE)
    sweep = Sweep(window, search, together=False, overlap=MINUTE)

    assert list(sweep) == [["late"]]
    assert search.calls == [(s(-300), NOW, None), (s(-305), s(-300), None)]
    assert sweep.settled == s(-60)
    assert reads(s(-300), sweep.settled, s(5), MINUTE).late is None


def test_a_late_window_cut_by_the_overlap_edge_still_waits_to_span_it():
    """A cursor newer than the overlap's edge: the window can still grow, so a quiet pass
    leaves it for later (one search per overlap)."""
    search = Searches(fresh_pages=1)
    sweep = Sweep(reads(s(-30), s(-65), NOW, MINUTE), search, together=False, overlap=MINUTE)

    assert list(sweep) == [["fresh0"]]
    assert sweep.settled is None
