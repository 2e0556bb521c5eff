"""Reading a stream's cursor for `mappings plan` without writing to the state store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connector.state.peek import peek_cursor
from connector.state.store import Commit, StateStore

AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def test_no_store_yet_is_no_cursor_and_no_file_is_made(tmp_path: Path):
    """Before the first pass there is nothing to read; the peek creates neither the file nor
    its directory."""
    url = f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    assert peek_cursor(url, "hubspot.contacts").exists is False
    assert list(tmp_path.iterdir()) == []


def _files(directory: Path) -> list[Path]:
    """The files beside the store but SQLite's own shared-memory and WAL files (a read-only
    connection to a WAL database may leave them, empty; they hold no data)."""
    return sorted(p for p in directory.iterdir() if not p.name.endswith(("-shm", "-wal")))


def test_the_cursor_is_read_and_the_store_left_as_it_was(tmp_path: Path):
    """The cursor a pass recorded, aware UTC; the database's bytes are as they were (no
    migration, no write) and no other file appears."""
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    with StateStore.open(url) as store:
        store.record(Commit(stream="hubspot.contacts", cursor=AT), run_id="r1")
    before = (path.read_bytes(), _files(tmp_path))

    peek = peek_cursor(url, "hubspot.contacts")

    assert (peek.value, peek.exists, peek.problem) == (AT, True, None)
    assert peek_cursor(url, "salesforce.leads").value is None
    assert (path.read_bytes(), _files(tmp_path)) == before
    with StateStore.open(url) as store:  # the store opens and writes as before
        store.record(Commit(stream="hubspot.contacts", cursor=AT.replace(hour=10)), run_id="r2")
    assert peek_cursor(url, "hubspot.contacts").value == AT.replace(hour=10)


def test_an_unreadable_store_says_why(tmp_path: Path):
    """A file that is not a database: a reason, not an exception."""
    path = tmp_path / "state.db"
    path.write_bytes(b"not a database" * 100)
    peek = peek_cursor(f"sqlite:///{path}", "hubspot.contacts")
    assert peek.value is None
    assert peek.problem is not None and "not a database" in peek.problem
