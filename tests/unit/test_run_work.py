"""`Stream.run_work`, the runs of the records webhooks named, over a real store: on PostgreSQL
they go side by side, each on records no other run holds, a page each; a run gathering beside
another waits for it to end and goes with one batch; on SQLite a run holds the stream alone and
does all the work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.errors import StreamBusy
from connector.state import StateStore
from connector.state.hold import PG_RECORD_NAMESPACE, Wait, record_key
from connector.state.store import Commit
from connector.state.work import hand_over
from connector.streams.base import Due, Stream, Summary
from tests.conftest import PG_URL, pg_schema, until

STREAM = "test.records"


@dataclass
class Ran(Summary):
    def lines(self) -> list[str]:
        return []


class Records(Stream[Ran]):
    """A stream whose runs note each batch (its records, when it began and ended), take
    `seconds` over it and mark its work done."""

    name = STREAM
    summary_type = Ran

    def __init__(self, store: StateStore, seconds: float, batches: list[Batch]) -> None:
        self.store = store
        self.seconds = seconds
        self.batches = batches
        self.wait = Wait(30)

    def _by_ids(self, ids: list[str], summary: Ran, due: Due) -> None:
        began = time.monotonic()
        time.sleep(self.seconds)
        self.store.record(Commit(stream=STREAM, done=ids), run_id=summary.run_id)
        self.batches.append(Batch(ids, began, time.monotonic()))

    def _changed(self, summary: Ran, due: Due) -> None:
        raise AssertionError("a run of work reads no changes")


@dataclass(frozen=True)
class Batch:
    ids: list[str]
    began: float
    ended: float


def _owe(store: StateStore, *ids: str) -> None:
    commit = Commit(stream="hubspot.webhooks", work=[hand_over(STREAM, i, "named") for i in ids])
    store.record(commit, run_id="webhook")


@pytest.fixture
def pg() -> Iterator[tuple[StateStore, StateStore]]:
    if not PG_URL:
        pytest.skip("LEADBRIDGE_TEST_DATABASE_URL not set")
    with pg_schema() as url, StateStore.open(url) as one, StateStore.open(url) as two:
        yield one, two


@pytest.mark.postgres
def test_a_run_gathering_beside_another_waits_for_it_and_goes_with_one_batch(
    pg: tuple[StateStore, StateStore],
) -> None:
    """While one run works on three records, two more are named a little apart: the next run
    (another worker) does not go with the first of them alone nor touch the three, but waits
    for the first run to end and does both in one batch."""
    one, two = pg
    batches: list[Batch] = []
    _owe(one, "a", "b", "c")
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(Records(one, 0.6, batches).run_work)
        until(lambda: _held(one), "the first run holding its records")
        _owe(two, "d")
        second = pool.submit(Records(two, 0.0, batches).run_work)
        time.sleep(0.15)
        _owe(two, "e")
        ran = [{w.record_id for w in f.result(timeout=30).ran} for f in (first, second)]
    assert ran == [{"a", "b", "c"}, {"d", "e"}]
    assert [b.ids for b in batches] == [["a", "b", "c"], ["d", "e"]]
    assert batches[1].began >= batches[0].ended
    assert one.work(STREAM) == []


@pytest.mark.postgres
def test_runs_go_side_by_side_with_a_page_each_never_one_record_in_two(
    pg: tuple[StateStore, StateStore],
) -> None:
    """Four records named, runs of two at most: the first run takes a page (two, the oldest
    work first) and says work is left; a second run beside it takes the other two at once,
    without waiting for the first."""
    one, two = pg
    batches: list[Batch] = []
    for record in ("d", "c", "b", "a"):
        _owe(one, record)
    first_stream, second_stream = Records(one, 0.8, batches), Records(two, 0.8, batches)
    first_stream.gather_page = second_stream.gather_page = 2  # type: ignore[misc]
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(first_stream.run_work)
        until(lambda: _held(one), "the first run holding its records")
        second = pool.submit(second_stream.run_work)
        summaries = [f.result(timeout=30) for f in (first, second)]
    assert [sorted(w.record_id for w in s.ran) for s in summaries] == [["c", "d"], ["a", "b"]]
    assert summaries[0].more  # a page, work left: another job is due
    assert batches[1].began < batches[0].ended  # side by side
    assert one.work(STREAM) == []


def test_on_sqlite_a_run_does_all_the_work_holding_the_stream_alone(tmp_path: Path) -> None:
    """SQLite (one process, one worker thread): a run of work takes every record, however many,
    and a second run waits for it to end."""
    url = f"sqlite:///{tmp_path / 'leadbridge.db'}"
    batches: list[Batch] = []
    with StateStore.open(url) as one, StateStore.open(url) as two:
        _owe(one, "a", "b", "c")
        first_stream = Records(one, 0.4, batches)
        first_stream.gather_page = 2  # type: ignore[misc]
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(first_stream.run_work)
            until(lambda: _busy(two), "the first run holding the stream")
            second = pool.submit(Records(two, 0.0, batches).run_work)
            summaries = [f.result(timeout=30) for f in (first, second)]
    assert [sorted(w.record_id for w in s.ran) for s in summaries] == [["a", "b", "c"], []]
    assert [b.ids for b in batches] == [["a", "b", "c"]]


def _held(store: StateStore) -> bool:
    """Whether a run holds some record of the stream's work (seen in `pg_locks`, so looking
    takes no lock a run could find held)."""
    ids = [w.record_id for w in store.work(STREAM)]
    with store.engine.connect() as connection:
        schema = connection.scalar(sa.select(sa.func.current_schema())) or ""
        query = sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::text::bigint = :namespace AND objid::text::bigint = ANY(:keys)"
        )
        keys = [record_key(schema, STREAM, i) for i in ids]
        return bool(connection.scalar(query, {"namespace": PG_RECORD_NAMESPACE, "keys": keys}))


def _busy(store: StateStore) -> bool:
    """Whether another run holds the stream."""
    try:
        with store.hold(STREAM, wait=Wait(0)):
            return False
    except StreamBusy:
        return True


@pytest.mark.postgres
def test_a_run_alone_gathers_for_its_batch_window(pg: tuple[StateStore, StateStore]) -> None:
    """With no run beside it, a run waits its batch window before it goes: what is named
    meanwhile goes in the same batch."""
    one, two = pg
    batches: list[Batch] = []
    _owe(one, "a")
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = pool.submit(Records(one, 0.0, batches).run_work, window=0.5)
        time.sleep(0.1)
        _owe(two, "b")
        assert sorted(w.record_id for w in run.result(timeout=30).ran) == ["a", "b"]
    assert [b.ids for b in batches] == [["a", "b"]]
