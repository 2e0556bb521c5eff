"""One holder per stream (`StateStore.hold`) on SQLite and, when LEADBRIDGE_TEST_DATABASE_URL is
set, PostgreSQL: between stores, threads and real processes (tests/holder.py), a killed holder
included."""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from connector.errors import StreamBusy
from connector.state import StateStore
from connector.state.hold import PG_NAMESPACE, AdvisoryLock, Wait, lock_path, sqlite_file
from tests.conftest import PG_URL, pg_schema, until
from tests.holder import Holder

STREAM = "hubspot.contacts"
NOW = Wait(0)
#: The bound of every wait below that must end by the holder's release, never by itself.
LONG = Wait(60)


def busy_logged(logs: list[dict[str, Any]], stream: str = STREAM) -> Callable[[], bool]:
    """Whether a run logged that it found `stream` held and is waiting."""
    return lambda: any(e["event"] == "state.stream_busy" and e["stream"] == stream for e in logs)


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[StateStore, StateStore]]:
    """Two stores over one database: two leadbridge processes, as far as the locks can tell."""
    with StateStore.open(database_url) as first, StateStore.open(database_url) as second:
        yield first, second


def test_a_second_run_of_a_held_stream_is_refused_naming_the_holder(
    stores: tuple[StateStore, StateStore],
) -> None:
    """While one run holds a stream, another that does not wait gets StreamBusy: one line naming
    the stream and the holder's pid and host."""
    first, second = stores
    with (
        first.hold(STREAM, wait=NOW),
        pytest.raises(StreamBusy) as caught,
        second.hold(STREAM, wait=NOW),
    ):
        pytest.fail("two runs held hubspot.contacts at once")
    message = str(caught.value)
    assert message.startswith(
        f"stream hubspot.contacts is held by another leadbridge "
        f"(pid {os.getpid()} on {socket.gethostname()}"
    )
    assert message.endswith(": not waiting for it to finish")
    assert "\n" not in message
    assert caught.value.stream == STREAM


def test_other_streams_run_while_one_is_held(stores: tuple[StateStore, StateStore]) -> None:
    """Holding one stream holds no other: the locks are per stream."""
    first, second = stores
    with first.hold(STREAM, wait=NOW), second.hold("salesforce.leads", wait=NOW):
        pass


def test_the_stream_is_free_after_the_block_even_when_it_failed(
    stores: tuple[StateStore, StateStore],
) -> None:
    """A run that raised has let its stream go: the next run takes it at once."""
    first, second = stores
    with pytest.raises(RuntimeError), first.hold(STREAM, wait=NOW):
        raise RuntimeError
    with second.hold(STREAM, wait=NOW):
        pass
    with first.hold(STREAM, wait=NOW):
        pass


def test_a_bounded_wait_gives_up_saying_how_long_it_waited(
    stores: tuple[StateStore, StateStore],
) -> None:
    """A run that waits a bounded time for a holder that does not finish stops with StreamBusy
    saying it gave up after that time."""
    first, second = stores
    with (
        first.hold(STREAM, wait=NOW),
        pytest.raises(StreamBusy) as caught,
        second.hold(STREAM, wait=Wait(0.2)),
    ):
        pytest.fail("two runs held hubspot.contacts at once")
    assert str(caught.value).endswith(": gave up after waiting 0.2 s for it to finish")


def test_a_waiting_run_starts_once_the_holder_is_done(
    stores: tuple[StateStore, StateStore],
) -> None:
    """A run that waits starts as soon as the holder lets go, never before."""
    first, second = stores
    released = threading.Event()
    entered: list[bool] = []

    def second_run() -> None:
        with second.hold(STREAM, wait=LONG):
            entered.append(released.is_set())

    with capture_logs() as logs, ThreadPoolExecutor(max_workers=1) as pool:
        with first.hold(STREAM, wait=NOW):
            waiting = pool.submit(second_run)
            until(busy_logged(logs), "the second run waiting")
            released.set()
        waiting.result(timeout=30)
    assert entered == [True]
    assert [e["event"] for e in logs if e["event"] == "state.stream_held"] == ["state.stream_held"]


def test_a_stop_ends_a_wait_at_once(stores: tuple[StateStore, StateStore]) -> None:
    """A run waiting without a bound gives up as soon as its process stops (a service shutting
    down), saying so."""
    first, second = stores
    stop = threading.Event()

    def second_run() -> None:
        with second.hold(STREAM, wait=Wait(math.inf, stop=stop)):
            pytest.fail("two runs held hubspot.contacts at once")

    with (
        capture_logs() as logs,
        ThreadPoolExecutor(max_workers=1) as pool,
        first.hold(STREAM, wait=NOW),
    ):
        waiting = pool.submit(second_run)
        until(busy_logged(logs), "the second run waiting")
        stop.set()
        with pytest.raises(StreamBusy, match="stopped waiting for it: this process is stopping"):
            waiting.result(timeout=30)


def test_threads_of_one_process_take_turns(stores: tuple[StateStore, StateStore]) -> None:
    """Eight threads over two stores of one database, each holding the stream: never two at
    once, and every one gets its turn."""
    inside: list[int] = []
    most: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(8)

    def run(store: StateStore) -> None:
        start.wait(timeout=30)
        with store.hold(STREAM, wait=LONG):
            with guard:
                inside.append(1)
                most.append(len(inside))
            time.sleep(0.01)  # widens the window a second holder would need; not a sequencer
            with guard:
                inside.pop()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for done in [pool.submit(run, stores[i % 2]) for i in range(8)]:
            done.result(timeout=60)
    assert len(most) == 8
    assert max(most) == 1


def test_a_holder_in_another_process_is_named_and_waited_for(database_url: str) -> None:
    """A stream held by another process is refused naming that process's pid; once it lets go,
    the stream is free."""
    with StateStore.open(database_url) as store, Holder(database_url, STREAM) as holder:
        with (
            pytest.raises(StreamBusy, match=rf"\(pid {holder.pid} on "),
            store.hold(STREAM, wait=NOW),
        ):
            pytest.fail("two processes held hubspot.contacts at once")
        holder.release()
        with store.hold(STREAM, wait=NOW):
            pass


def test_a_killed_holder_frees_the_stream(database_url: str) -> None:
    """A holder killed with SIGKILL (no clean-up runs) leaves no lock behind: the next run takes
    the stream (on PostgreSQL once the server has seen the connection close)."""
    with StateStore.open(database_url) as store, Holder(database_url, STREAM) as holder:
        with pytest.raises(StreamBusy), store.hold(STREAM, wait=NOW):
            pytest.fail("two processes held hubspot.contacts at once")
        holder.kill()
        with store.hold(STREAM, wait=LONG):
            pass


def test_holding_a_stream_does_not_stop_a_store_from_opening(database_url: str) -> None:
    """The stream locks are apart from the lock that serialises migrations: a process starting
    while a stream is held opens its store."""
    with StateStore.open(database_url) as store, store.hold(STREAM, wait=NOW):
        StateStore.open(database_url).close()


# SQLite: where the lock files are


def test_sqlite_lock_files_sit_beside_the_database(tmp_path: Path) -> None:
    """On SQLite a stream's lock is the file <database>.<stream>.lock, kept after the run (empty:
    no holder named)."""
    database = tmp_path / "leadbridge.db"
    with StateStore.open(f"sqlite:///{database}") as store:
        with store.hold(STREAM, wait=NOW):
            held = (tmp_path / "leadbridge.db.hubspot.contacts.lock").read_text()
            assert f'"pid": {os.getpid()}' in held
        assert (tmp_path / "leadbridge.db.hubspot.contacts.lock").read_text() == ""


def test_a_sqlite_uri_and_a_path_to_one_file_share_the_lock(tmp_path: Path) -> None:
    """A store opened through a SQLite URI (uri=true) holds the same locks as one opened by the
    file's path."""
    database = tmp_path / "leadbridge.db"
    with (
        StateStore.open(f"sqlite:///{database}") as by_path,
        StateStore.open(f"sqlite:///file:{database}?uri=true") as by_uri,
        by_path.hold(STREAM, wait=NOW),
        pytest.raises(StreamBusy),
        by_uri.hold(STREAM, wait=NOW),
    ):
        pytest.fail("two stores of one file held hubspot.contacts at once")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///leadbridge.db", "{cwd}/leadbridge.db"),
        ("sqlite:////var/lib/lb/state.db", "/var/lib/lb/state.db"),
        ("sqlite:///file:/var/lib/lb/state.db?mode=ro&uri=true", "/var/lib/lb/state.db"),
        ("sqlite:///file:state.db?uri=true", "{cwd}/state.db"),
        ("sqlite:///file:///var/lib/lb/st%20ate.db?uri=true", "/var/lib/lb/st ate.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file::memory:?cache=shared&uri=true", None),
        ("sqlite:///file:lb?mode=memory&cache=shared&uri=true", None),
    ],
)
def test_the_file_a_sqlite_url_names(url: str, expected: str | None) -> None:
    """Every SQLite URL form maps to the file its locks sit beside, or to none in memory."""
    found = sqlite_file(sa.make_url(url))
    wanted = None if expected is None else Path(expected.format(cwd=Path.cwd()))
    assert found == wanted


def test_a_stream_name_cannot_lead_its_lock_file_elsewhere(tmp_path: Path) -> None:
    """Whatever a stream is called, its lock file stays beside the database."""
    assert lock_path(tmp_path / "lb.db", "../../etc/x").parent == tmp_path


def test_an_in_memory_store_holds_its_streams_itself() -> None:
    """An in-memory SQLite store, which no other process can open, holds its streams with a lock
    of its own (a second hold of a held stream is refused)."""
    with (
        StateStore.open("sqlite://") as store,
        store.hold(STREAM, wait=NOW),
        pytest.raises(StreamBusy, match="this process"),
        store.hold(STREAM, wait=NOW),
    ):
        pytest.fail("hubspot.contacts held twice")


# PostgreSQL: one database, several schemas


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set")
def test_stores_in_two_schemas_of_one_database_do_not_hold_each_other() -> None:
    """Advisory locks belong to the database; the key holds the schema too, so two leadbridges
    keeping their state in two schemas of one database run the same stream at once."""
    with (
        pg_schema() as one,
        pg_schema() as other,
        StateStore.open(one) as first,
        StateStore.open(other) as second,
        first.hold(STREAM, wait=NOW),
        second.hold(STREAM, wait=NOW),
    ):
        pass


def test_a_wait_must_be_zero_or_more_seconds() -> None:
    """A negative or NaN wait is a programming error, refused where it is made."""
    for seconds in (-1.0, math.nan):
        with pytest.raises(ValueError, match="give 0 or more seconds"):
            Wait(seconds)


# Shared holds and record holds: runs of the records webhooks named


def test_a_pass_and_a_run_of_named_records_never_run_at_once(
    stores: tuple[StateStore, StateStore],
) -> None:
    """A run of named records holds its stream shared, a pass holds it alone: neither starts
    while the other runs, whichever came first (on SQLite a shared hold is a hold alone)."""
    first, second = stores
    with (
        first.hold(STREAM, wait=NOW, shared=True),
        pytest.raises(StreamBusy),
        second.hold(STREAM, wait=NOW),
    ):
        pytest.fail("a pass ran beside a run of named records")
    with (
        first.hold(STREAM, wait=NOW),
        pytest.raises(StreamBusy),
        second.hold(STREAM, wait=NOW, shared=True),
    ):
        pytest.fail("a run of named records ran beside a pass")


def test_on_sqlite_runs_of_named_records_take_turns_holding_every_record(tmp_path: Path) -> None:
    """SQLite (one process, one worker thread): a shared hold is a hold alone, and a run holds
    every record it names: nothing runs side by side."""
    url = f"sqlite:///{tmp_path / 'leadbridge.db'}"
    with StateStore.open(url) as first, StateStore.open(url) as second:
        assert not first.holds_records
        with first.hold(STREAM, wait=NOW, shared=True):
            with first.hold_records(STREAM, ["2", "1", "2"]) as held:
                assert held == ["1", "2"]
            with pytest.raises(StreamBusy), second.hold(STREAM, wait=NOW, shared=True):
                pytest.fail("two runs held hubspot.contacts at once on SQLite")


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set")
def test_runs_of_named_records_go_side_by_side_each_holding_its_own_records() -> None:
    """Two processes' runs of named records hold the stream at once; a record one of them holds
    is not the other's (it is left to its holder, never waited for), and is free once the
    holder's run ends; a record holder that dies frees its records too."""
    with (
        pg_schema() as url,
        StateStore.open(url) as first,
        StateStore.open(url) as second,
    ):
        assert first.holds_records
        with first.hold(STREAM, wait=NOW, shared=True):
            with first.hold_records(STREAM, ["2", "1"]) as mine:
                assert mine == ["1", "2"]
                with (
                    second.hold(STREAM, wait=NOW, shared=True),
                    second.hold_records(STREAM, ["3", "2"]) as theirs,
                ):
                    assert theirs == ["3"]
                    with first.hold_records(STREAM, ["3", "4"]) as more:
                        assert more == ["4"]  # a record hold is not re-entrant either
            with second.hold_records(STREAM, ["1", "2", "3"]) as after:
                assert after == ["1", "2", "3"]
            with (
                first.hold_records(STREAM, ["4"]),
                second.hold_records(STREAM, ["9", "4", "7", "5"], limit=2) as page,
            ):
                assert page == ["7", "9"]  # in the order asked, the held one passed over
        with (
            second.hold_records("hubspot.deals", ["1"]) as other_stream,
            first.hold_records(STREAM, ["1"]) as same_id,
        ):
            assert (other_stream, same_id) == (["1"], ["1"])  # records are per stream


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set")
def test_a_waiting_pass_is_not_kept_out_by_runs_of_named_records_that_overlap() -> None:
    """Runs of named records that always overlap (one starts before the last ends, so the
    stream is never free of them) do not keep a pass out: the waiting pass queues for the
    stream, new shared holds wait behind it, and it runs within a couple of seconds."""
    stop = threading.Event()
    with pg_schema() as url, StateStore.open(url) as runs, StateStore.open(url) as passes:

        def run_after_run(offset: float) -> int:
            time.sleep(offset)
            done = 0
            while not stop.is_set():
                with runs.hold(STREAM, wait=LONG, shared=True):
                    time.sleep(0.1)
                done += 1
            return done

        with ThreadPoolExecutor(max_workers=3) as pool:
            overlapping = [pool.submit(run_after_run, n * 0.04) for n in range(3)]
            time.sleep(0.5)
            started = time.monotonic()
            try:
                with passes.hold(STREAM, wait=Wait(30)):
                    waited = time.monotonic() - started
            finally:
                stop.set()
            assert all(f.result(timeout=30) > 1 for f in overlapping)
    assert waited < 3, waited


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set")
def test_a_hold_taken_twice_by_its_session_is_let_go_wholly() -> None:
    """A lock timeout that fires as the lock is granted leaves the session holding it; taken
    again on that session it is held twice. Its hold's end lets go of it wholly, so the pooled
    connection never keeps the stream from the next run."""
    with pg_schema() as url, StateStore.open(url) as first, StateStore.open(url) as second:
        lock = first._lock(STREAM)
        assert lock.try_acquire()
        assert isinstance(lock, AdvisoryLock) and lock._connection is not None
        again = sa.select(sa.func.pg_advisory_lock(PG_NAMESPACE, lock._key))
        lock._connection.execute(again)  # as a timed-out try that was granted, then a retry
        lock.release()
        with second.hold(STREAM, wait=NOW):
            pass
