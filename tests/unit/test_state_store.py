"""The state store on SQLite (a temporary file) and, when LEADBRIDGE_TEST_DATABASE_URL is set,
on PostgreSQL (a schema of its own per test: the `database_url` fixture of tests/conftest.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from structlog.testing import capture_logs

from connector.errors import ConfigError
from connector.model import DeadLetter, Link
from connector.state import AuditEvent, Commit, StateStore, migrate
from connector.state.schema import metadata
from connector.state.store import IN_CHUNK

PG_URL = os.environ.get("LEADBRIDGE_TEST_DATABASE_URL")
STREAM = "hubspot.contacts"
T0 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


class Clock:
    """The store's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[StateStore]:
    with StateStore.open(database_url, clock=clock) as opened:
        yield opened


@contextmanager
def statements(target: Any) -> Iterator[list[str]]:
    """The SQL statements sent through `target` (an engine, or sa.Engine for all), BEGIN aside."""
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            seen.append(" ".join(statement.split()))

    event.listen(target, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", listener)


def lead_link(hubspot_id: str, lead_id: str = "00Q000000000001AAA") -> Link:
    return Link(hubspot_id=hubspot_id, object="Lead", salesforce_id=lead_id, lead_id=lead_id)


def failure(record_id: str, reason: str = "REQUIRED_FIELD_MISSING: LastName") -> DeadLetter:
    return DeadLetter(
        stream=STREAM,
        record_id=record_id,
        reason=reason,
        code="REQUIRED_FIELD_MISSING",
        fields=("LastName",),
        payload={"email": "x@example.test", "lifecyclestage": "marketingqualifiedlead"},
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# cursors


def test_cursor_round_trips_as_aware_utc(store: StateStore) -> None:
    """A cursor given in any zone reads back as the same instant in UTC, to the microsecond."""
    assert store.cursor(STREAM) is None
    cest = timezone(timedelta(hours=2))
    store.record(
        Commit(STREAM, cursor=datetime(2026, 11, 23, 12, 30, 1, 654321, tzinfo=cest)), run_id="r1"
    )

    value = store.cursor(STREAM)

    assert value == datetime(2026, 11, 23, 10, 30, 1, 654321, tzinfo=UTC)
    assert value is not None and value.tzinfo is UTC
    assert store.cursor("salesforce.leads") is None


def test_commit_without_cursor_leaves_the_cursor(store: StateStore) -> None:
    """A batch recorded with cursor=None does not move (or clear) the stream's cursor."""
    store.record(Commit(STREAM, cursor=T0), run_id="r1")
    store.record(Commit(STREAM, links=[lead_link("101")]), run_id="r2")
    assert store.cursor(STREAM) == T0


def test_naive_cursor_is_refused_before_anything_is_written(store: StateStore) -> None:
    """A cursor without a time zone is an error, and the rest of its batch is not recorded."""
    with pytest.raises(ValueError, match=r"hubspot\.contacts cursor .* has no time zone"):
        store.record(
            Commit(STREAM, links=[lead_link("101")], cursor=datetime(2026, 1, 1)),  # noqa: DTZ001
            run_id="r1",
        )
    assert store.links(["101"]) == {}
    assert store.cursor(STREAM) is None


# links


def test_links_upsert_and_accumulate_ids_through_conversion(store: StateStore) -> None:
    """A converted lead's link gains contact, account and opportunity ids and keeps its lead id."""
    store.record(Commit(STREAM, links=[lead_link("101", "00QLEAD"), lead_link("102")]), run_id="r1")
    converted = Link(
        hubspot_id="101",
        object="Contact",
        salesforce_id="003CONTACT",
        contact_id="003CONTACT",
        account_id="001ACCOUNT",
        opportunity_id="006OPP",
    )
    store.record(Commit(STREAM, links=[converted]), run_id="r2")

    found = store.links(["101", "102", "999", "101"])

    assert found == {
        "101": Link(
            hubspot_id="101",
            object="Contact",
            salesforce_id="003CONTACT",
            lead_id="00QLEAD",
            contact_id="003CONTACT",
            account_id="001ACCOUNT",
            opportunity_id="006OPP",
        ),
        "102": lead_link("102"),
    }


def test_a_converted_link_never_goes_back_to_its_lead(store: StateStore) -> None:
    """A batch that updated the Lead before its conversion, recorded after the conversion's
    link (another worker's page in flight), leaves the Contact link; another Lead is linked."""
    store.record(Commit(STREAM, links=[lead_link("101", "00QLEAD")]), run_id="r1")
    converted = Link("101", "Contact", "003CONTACT", lead_id="00QLEAD", contact_id="003CONTACT")
    store.record(Commit(STREAM, links=[converted]), run_id="r2")

    store.record(Commit(STREAM, links=[lead_link("101", "00QLEAD")]), run_id="r3")
    assert store.links(["101"])["101"] == converted

    store.record(Commit(STREAM, links=[lead_link("101", "00QOTHER")]), run_id="r4")
    assert store.links(["101"])["101"] == Link(
        "101", "Lead", "00QOTHER", lead_id="00QOTHER", contact_id="003CONTACT"
    )


def test_links_repeated_in_one_batch_merge(store: StateStore) -> None:
    """Two links for one contact in a batch make one row: the later ids win, earlier ones stay."""
    later = Link(hubspot_id="101", object="Contact", salesforce_id="003C", contact_id="003C")
    store.record(Commit(STREAM, links=[lead_link("101", "00QL"), later]), run_id="r1")
    assert store.links(["101"])["101"] == Link(
        hubspot_id="101", object="Contact", salesforce_id="003C", lead_id="00QL", contact_id="003C"
    )


# written hashes


def test_hashes_are_kept_per_direction(store: StateStore) -> None:
    """The same record key has its own last-written hash in each direction; a write replaces it."""
    store.record(Commit(STREAM, hashes={"101": "a1", "102": "b1"}), run_id="r1")
    store.record(
        Commit("salesforce.leads", hashes={"101": "z1"}, direction="to_hubspot"), run_id="r1"
    )
    store.record(Commit(STREAM, hashes={"101": "a2"}), run_id="r2")

    assert store.hashes(["101", "102", "103"], "to_salesforce") == {"101": "a2", "102": "b1"}
    assert store.hashes(["101", "102"], "to_hubspot") == {"101": "z1"}
    assert store.hashes([], "to_hubspot") == {}


def test_an_expected_hash_is_replaced_only_while_it_is_still_there(store: StateStore) -> None:
    """`expected`: a batch that read a hash (or its absence) replaces it only if nothing else
    was recorded there since; the batch's other hashes are written as always."""
    store.record(Commit(STREAM, hashes={"101": "a1", "102": "b1"}), run_id="r1")
    store.record(Commit(STREAM, hashes={"101": "a2", "103": "c2"}), run_id="r2")  # since read

    store.record(
        Commit(
            STREAM,
            hashes={"101": "a3", "102": "b3", "103": "c3", "104": "d3", "105": "e3"},
            expected={"to_salesforce": {"101": "a1", "102": "b1", "103": None, "104": None}},
        ),
        run_id="r3",
    )

    found = store.hashes(["101", "102", "103", "104", "105"], "to_salesforce")
    assert found == {"101": "a2", "102": "b3", "103": "c2", "104": "d3", "105": "e3"}


# dead letters


def test_dead_letter_repeat_bumps_attempts_and_keeps_first_failure(
    store: StateStore, clock: Clock
) -> None:
    """A record failing again counts an attempt, takes the new reason, keeps its first time."""
    store.record(Commit(STREAM, failures=[failure("101")]), run_id="r1")
    t1 = clock.advance(minutes=20)
    store.record(Commit(STREAM, failures=[failure("101", "STRING_TOO_LONG: Company")]), run_id="r2")

    assert store.dead_letters() == [
        DeadLetter(
            stream=STREAM,
            record_id="101",
            reason="STRING_TOO_LONG: Company",
            code="REQUIRED_FIELD_MISSING",
            fields=("LastName",),
            payload={"email": "x@example.test", "lifecyclestage": "marketingqualifiedlead"},
            attempts=2,
            first_failed_at=T0,
            last_failed_at=t1,
        )
    ]


def test_resolved_dead_letter_leaves_the_default_list(store: StateStore, clock: Clock) -> None:
    """A record that succeeds is resolved: hidden by default, listed with include_resolved."""
    store.record(Commit(STREAM, failures=[failure("101"), failure("102")]), run_id="r1")
    other = DeadLetter(stream="salesforce.leads", record_id="101", reason="x")
    store.record(Commit("salesforce.leads", failures=[other]), run_id="r1")
    clock.advance(minutes=1)

    store.record(Commit(STREAM, resolved=["101"]), run_id="r2")

    assert [(d.stream, d.record_id) for d in store.dead_letters()] == [
        ("hubspot.contacts", "102"),
        ("salesforce.leads", "101"),
    ]
    assert [d.record_id for d in store.dead_letters(STREAM)] == ["102"]
    assert [d.record_id for d in store.dead_letters(STREAM, include_resolved=True)] == [
        "101",
        "102",
    ]


def test_dead_letter_failing_after_resolution_reopens_fresh(
    store: StateStore, clock: Clock
) -> None:
    """A resolved record that fails again is a new failure: one attempt, first failed now."""
    store.record(Commit(STREAM, failures=[failure("101")]), run_id="r1")
    store.record(Commit(STREAM, failures=[failure("101")]), run_id="r2")
    clock.advance(hours=1)
    store.record(Commit(STREAM, resolved=["101"]), run_id="r3")
    t2 = clock.advance(hours=1)

    store.record(Commit(STREAM, failures=[failure("101")]), run_id="r4")

    (letter,) = store.dead_letters()
    assert (letter.attempts, letter.first_failed_at, letter.last_failed_at) == (1, t2, t2)


# audit


def test_audit_events_carry_run_and_time_and_filter(store: StateStore, clock: Clock) -> None:
    """Audit events are stored in order with their run id and time, and filter by record/kind."""
    store.record(
        Commit(
            STREAM,
            audit=[
                AuditEvent("routing", "101", {"owner": "005A", "reasons": ["domain match"]}),
                AuditEvent("skip.echo", "102", {}),
            ],
        ),
        run_id="run-1",
    )
    t1 = clock.advance(seconds=5)
    store.record(
        Commit(STREAM, audit=[AuditEvent("routing", "102", {"owner": "00G"})]), run_id="run-2"
    )

    every = store.audit_events()
    assert [(e.run_id, e.kind, e.record_id, e.details, e.at) for e in every] == [
        ("run-1", "routing", "101", {"owner": "005A", "reasons": ["domain match"]}, T0),
        ("run-1", "skip.echo", "102", {}, T0),
        ("run-2", "routing", "102", {"owner": "00G"}, t1),
    ]
    assert [e.id for e in every] == sorted(e.id for e in every)
    assert [e.kind for e in store.audit_events(record_id="102")] == ["skip.echo", "routing"]
    assert [e.record_id for e in store.audit_events(kind="routing")] == ["101", "102"]
    assert [e.run_id for e in store.audit_events("102", "routing")] == ["run-2"]


# atomicity


def _break_after_links(monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    def boom(*args: Any) -> None:
        raise RuntimeError("crash after the links were written")

    monkeypatch.setattr(StateStore, "_write_audit", boom)
    return RuntimeError


def _break_last_audit_row(monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    return sa.exc.IntegrityError  # the last audit event below has no kind (NOT NULL)


@pytest.mark.parametrize("breaker", [_break_after_links, _break_last_audit_row])
def test_record_is_all_or_nothing(
    store: StateStore,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    breaker: Callable[[pytest.MonkeyPatch], type[Exception]],
) -> None:
    """A batch that fails after its links were written leaves cursor, links, hashes untouched."""
    store.record(
        Commit(STREAM, links=[lead_link("101", "00QOLD")], hashes={"101": "h1"}, cursor=T0),
        run_id="r1",
    )
    store.record(Commit(STREAM, failures=[failure("105")]), run_id="r1")
    clock.advance(minutes=5)
    expected_error = breaker(monkeypatch)
    doomed = Commit(
        STREAM,
        links=[lead_link("101", "00QNEW"), lead_link("102")],
        hashes={"101": "h2", "102": "h2"},
        failures=[failure("103")],
        resolved=["105"],
        cursor=T0 + timedelta(hours=1),
        audit=[AuditEvent("routing", "102", {}), AuditEvent(None, "101", {})],  # type: ignore[arg-type]
    )

    with statements(store.engine) as sent, pytest.raises(expected_error):
        store.record(doomed, run_id="r2")

    assert any(s.startswith("INSERT INTO links") for s in sent)  # it failed midway, not before
    assert store.cursor(STREAM) == T0
    assert store.links(["101", "102"]) == {"101": lead_link("101", "00QOLD")}
    assert store.hashes(["101", "102"], "to_salesforce") == {"101": "h1"}
    assert [d.record_id for d in store.dead_letters()] == ["105"]
    assert store.audit_events() == []


# batching


def test_thousand_links_take_a_constant_number_of_statements(store: StateStore) -> None:
    """1,000 links and hashes are written in one statement each and read back in 2 IN-chunks."""
    ids = [str(100000 + n) for n in range(1000)]
    commit = Commit(
        STREAM,
        links=[lead_link(i, f"00Q{i}") for i in ids],
        hashes={i: f"hash-{i}" for i in ids},
        cursor=T0,
    )

    with statements(store.engine) as written:
        store.record(commit, run_id="r1")
    with statements(store.engine) as read_links:
        found = store.links(ids)
    with statements(store.engine) as read_hashes:
        hashes = store.hashes(ids, "to_salesforce")

    assert [s.split(" (")[0] for s in written] == [
        "INSERT INTO links",
        "INSERT INTO written_hashes",
        "INSERT INTO cursors",
    ]
    assert IN_CHUNK == 500
    assert len(read_links) == 2 and all(s.startswith("SELECT") for s in read_links)
    assert len(read_hashes) == 2
    assert len(found) == 1000 and found["100999"] == lead_link("100999", "00Q100999")
    assert len(hashes) == 1000 and hashes["100000"] == "hash-100000"


# reopening and migrations


def test_reopening_keeps_state(database_url: str) -> None:
    """What one process recorded is there for the next one that opens the same database."""
    with StateStore.open(database_url) as first:
        first.record(
            Commit(STREAM, links=[lead_link("101")], failures=[failure("102")], cursor=T0),
            run_id="r1",
        )
    with StateStore.open(database_url) as second:
        assert second.cursor(STREAM) == T0
        assert second.links(["101"]) == {"101": lead_link("101")}
        assert [d.record_id for d in second.dead_letters()] == ["102"]


#: The job queue several services share on PostgreSQL (Procrastinate's, revision 0004).
QUEUE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}


def test_fresh_database_is_migrated_to_head_and_reopening_is_a_no_op(database_url: str) -> None:
    """Opening creates the schema at the newest revision (on PostgreSQL with the job queue's
    tables); opening again changes nothing."""
    with (
        capture_logs() as first_logs,
        StateStore.open(database_url) as store,
        store.engine.connect() as connection,
    ):
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert versions.scalars().all() == [migrate.head()] == ["0010"]
        assert set(sa.inspect(connection).get_table_names()) == {
            "alembic_version",
            "cursors",
            "links",
            "written_hashes",
            "dead_letters",
            "audit",
            "round_robin",
            "work",
            "checkpoints",
            "tombstones",
            "alerts_sent",
            "transitions",
            "journeys",
        } | (QUEUE_TABLES if database_url.startswith("postgresql") else set())
    assert [e["event"] for e in first_logs if e["event"] == "state.migrated"] == ["state.migrated"]

    with capture_logs() as again_logs, statements(sa.Engine) as sent:
        StateStore.open(database_url).close()

    assert not [e for e in again_logs if e["event"] == "state.migrated"]
    assert any("alembic_version" in s for s in sent)  # the listener did see the version check
    changes = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    writes = [s for s in sent if s.upper().startswith(changes)]
    # the only writing statements are the write probes: one per table, each selecting no row
    assert sorted(s.split(" (")[0] for s in writes) == sorted(
        f"INSERT INTO {name}" for name in metadata.tables
    )
    assert all(s.endswith(("WHERE 0 = 1", "WHERE false")) for s in writes), writes


def test_migrated_schema_matches_the_tables_the_store_uses(store: StateStore) -> None:
    """The migrations and `connector.state.schema` describe the same tables, columns, indexes
    (the job queue's tables are Procrastinate's own, described by its schema)."""

    def ours(name: str | None, kind: str, parent: dict[str, str | None]) -> bool:
        return not (kind == "table" and (name or "").startswith("procrastinate_"))

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_database_from_a_newer_leadbridge_is_refused(database_url: str) -> None:
    """A schema revision this version does not know stops the start with a clear message."""
    with StateStore.open(database_url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")

    with pytest.raises(ConfigError, match=r"LEADBRIDGE_DATABASE_URL: .* revision 0099, newer"):
        StateStore.open(database_url)


def read_only(database_url: str) -> str:
    """The same database, opened read-only: a `mode=ro` URI file, or a read-only PG session."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///file:{url.database}?mode=ro&uri=true"
    options = f"{url.query['options']} -cdefault_transaction_read_only=on"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_read_only_store_is_refused_at_open(database_url: str) -> None:
    """A store that reads but cannot be written stops the start, one line naming the setting."""
    with StateStore.open(database_url) as store:
        store.record(Commit(STREAM, cursor=T0), run_id="r1")

    with pytest.raises(ConfigError) as caught:
        StateStore.open(read_only(database_url))

    message = str(caught.value)
    assert message.startswith("LEADBRIDGE_DATABASE_URL: cannot write to the state store at ")
    assert "read" in message and "only" in message  # the database's own reason
    assert "\n" not in message
    with StateStore.open(database_url) as store:
        assert store.cursor(STREAM) == T0  # nothing was changed by the refused open


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("DROP TABLE links", "table links is missing"),
        ("ALTER TABLE dead_letters DROP COLUMN payload", "table dead_letters lacks column payload"),
    ],
)
def test_store_missing_a_table_or_column_is_refused_at_open(
    database_url: str, damage: str, expected: str
) -> None:
    """A table or column gone while the revision says head: one line naming the setting."""
    with StateStore.open(database_url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql(damage)

    with pytest.raises(ConfigError) as caught:
        StateStore.open(database_url)

    message = str(caught.value)
    assert message.startswith("LEADBRIDGE_DATABASE_URL: the state store at ")
    assert f"is damaged ({expected}, though it is at schema revision {migrate.head()})" in message
    assert "restore it from a backup" in message
    assert "\n" not in message


def test_store_damaged_after_open_fails_as_one_line(store: StateStore) -> None:
    """A table gone in the middle of a pass is a ConfigError naming the setting, no traceback."""
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE links")

    with pytest.raises(ConfigError) as caught:
        store.links(["101"])

    message = str(caught.value)
    assert message.startswith("LEADBRIDGE_DATABASE_URL: the state store at ")
    assert "links" in message and "\n" not in message
    assert "SELECT" not in message  # the statement and its parameters stay out


def test_full_disk_during_a_record_fails_as_one_line(tmp_path: Path) -> None:
    """A SQLite file that cannot grow (a full disk) fails `record()` naming the setting."""
    store = StateStore.open(f"sqlite:///{tmp_path / 'leadbridge.db'}")
    store.engine.dispose()  # new connections from here on get the cap below

    @event.listens_for(store.engine, "connect")
    def cap(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    many = [lead_link(str(n), f"00Q{n:015d}") for n in range(5000)]
    with store, pytest.raises(ConfigError) as caught:
        store.record(Commit(STREAM, links=many, cursor=T0), run_id="r1")

    assert str(caught.value).endswith("failed: database or disk is full")
    assert str(caught.value).startswith("LEADBRIDGE_DATABASE_URL: the state store at sqlite:///")


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_connection_dropped_between_passes_reconnects(database_url: str) -> None:
    """A pooled connection the server closed is replaced by the pool, not reported as an error."""
    with StateStore.open(database_url) as store:
        with store.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = sa.create_engine(database_url)
        try:
            with admin.connect() as connection:
                connection.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        finally:
            admin.dispose()

        assert store.cursor("no.such.stream") is None


# SQLite specifics and bad configuration


def test_sqlite_file_gets_wal_busy_timeout_and_its_directory(tmp_path: Path) -> None:
    """The default SQLite store makes its directory, uses WAL and waits on a locked database."""
    path = tmp_path / "deep" / "er" / "leadbridge.db"
    with StateStore.open(f"sqlite:///{path}") as store, store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert path.is_file()


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql"])
def test_unreachable_postgres_is_a_config_error_without_the_password(scheme: str) -> None:
    """A database that does not answer stops the start naming the setting, never the password.

    A plain postgresql:// URL gets psycopg 3, the driver leadbridge installs.
    """
    url = f"{scheme}://leadbridge:s3cret-pw@127.0.0.1:{closed_port()}/leadbridge"

    with pytest.raises(ConfigError) as caught:
        StateStore.open(url)

    message = str(caught.value)
    assert message.startswith("LEADBRIDGE_DATABASE_URL: cannot open the state store at ")
    assert "postgresql+psycopg://leadbridge:***@127.0.0.1" in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a database url", "is not a database URL"),
        ("postgres://leadbridge:s3cret-pw@db.internal/leadbridge", "unsupported database"),
        ("mysql://leadbridge:s3cret-pw@db.internal/leadbridge", "unsupported database"),
    ],
)
def test_bad_url_is_a_config_error_without_the_password(url: str, expected: str) -> None:
    """A malformed or unsupported URL is named as LEADBRIDGE_DATABASE_URL, password hidden."""
    with pytest.raises(ConfigError, match=expected) as caught:
        StateStore.open(url)
    assert str(caught.value).startswith("LEADBRIDGE_DATABASE_URL")
    assert "s3cret-pw" not in str(caught.value)


def test_sqlite_path_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    """A SQLite path under a regular file is reported as a setting to fix, not a traceback."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="LEADBRIDGE_DATABASE_URL: cannot create the directory"):
        StateStore.open(f"sqlite:///{blocker / 'state' / 'leadbridge.db'}")


# several processes or threads on one database


def test_workers_opening_a_fresh_database_together_all_start(database_url: str) -> None:
    """Workers started at once on an empty database migrate it once; none of them fails."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: StateStore.open(database_url), range(4)))
    try:
        with stores[0].engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert versions.scalars().all() == [migrate.head()] == ["0010"]
    finally:
        for store in stores:
            store.close()


def test_sqlite_open_waits_while_another_connection_locks_a_fresh_file(tmp_path: Path) -> None:
    """Opening a fresh SQLite file another worker is switching to WAL waits, then starts."""
    path = tmp_path / "leadbridge.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        # still in rollback mode, write lock held: what a worker switching the file to WAL holds
        holder.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(max_workers=1) as pool:
            opening = pool.submit(StateStore.open, f"sqlite:///{path}")
            time.sleep(0.3)
            assert not opening.done()
            holder.execute("COMMIT")
            store = opening.result(timeout=10)
    finally:
        holder.close()
    with store, store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert migrate.current(connection) == (migrate.head(),)


def test_sqlite_writer_waits_for_another_writer(tmp_path: Path) -> None:
    """A second writer on the same SQLite file waits for the first instead of failing."""
    path = tmp_path / "leadbridge.db"
    with StateStore.open(f"sqlite:///{path}") as store:
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
            with ThreadPoolExecutor(max_workers=1) as pool:
                waiting = pool.submit(store.record, Commit(STREAM, cursor=T0), run_id="r1")
                time.sleep(0.3)
                assert not waiting.done()
                holder.execute("COMMIT")
                waiting.result(timeout=10)
        finally:
            holder.close()
        assert store.cursor(STREAM) == T0


# work: write-backs owed to HubSpot

IDS = {
    "salesforcecontactid": "003A",
    "salesforceaccountid": "001A",
    "lifecyclestage": "opportunity",
}


def test_an_owed_write_back_stays_until_hubspot_confirmed_every_property(
    store: StateStore, clock: Clock
) -> None:
    """A debt recorded with its link is read back whole; a confirmation of part of it leaves
    the rest owed; confirming the rest removes it."""
    store.record(Commit(stream="c", links=[lead_link("101")], owed={"101": IDS}), run_id="r")
    (owed,) = store.owed_writebacks()
    assert (owed.hubspot_id, owed.properties, owed.attempts) == ("101", IDS, 0)
    assert owed.created_at == T0

    part = {"salesforcecontactid": "003A", "salesforceaccountid": "001A"}
    store.record(Commit(stream="c", confirmed={"101": part}), run_id="r")
    assert [o.properties for o in store.owed_writebacks()] == [{"lifecyclestage": "opportunity"}]

    store.record(Commit(stream="c", confirmed={"101": IDS}), run_id="r")
    assert store.owed_writebacks() == []


def test_a_value_owed_anew_is_not_paid_by_confirming_the_older_one(store: StateStore) -> None:
    """Owed 003A, then 003B (a later answer) before HubSpot confirmed 003A: 003B stays owed."""
    store.record(Commit(stream="c", owed={"101": {"salesforcecontactid": "003A"}}), run_id="r")
    store.record(Commit(stream="c", owed={"101": {"salesforcecontactid": "003B"}}), run_id="r")
    store.record(Commit(stream="c", confirmed={"101": {"salesforcecontactid": "003A"}}), run_id="r")
    assert [o.properties for o in store.owed_writebacks()] == [{"salesforcecontactid": "003B"}]


def test_a_refused_write_back_counts_its_tries_and_keeps_the_reason(
    store: StateStore, clock: Clock
) -> None:
    """Each unconfirmed try adds one attempt and the latest reason; the debt is unchanged."""
    store.record(
        Commit(stream="c", owed={"101": IDS}, unconfirmed={"101": "PROPERTY_DOESNT_EXIST"}),
        run_id="r",
    )
    clock.advance(minutes=5)
    store.record(Commit(stream="c", unconfirmed={"101": "still refused"}), run_id="r")
    (owed,) = store.owed_writebacks()
    assert (owed.properties, owed.attempts, owed.last_error) == (IDS, 2, "still refused")
    assert owed.created_at == T0


def test_owed_write_backs_page_by_contact_id(store: StateStore) -> None:
    """Keyset pages in contact id order, none skipped, none twice."""
    ids = [f"{n:03d}" for n in range(250)]
    store.record(Commit(stream="c", owed={i: {"p": i} for i in ids}), run_id="r")
    seen: list[str] = []
    after = None
    while page := store.owed_writebacks(after=after, limit=100):
        seen += [o.hubspot_id for o in page]
        after = page[-1].hubspot_id
    assert seen == ids


def test_a_failed_transaction_records_no_debt(store: StateStore) -> None:
    """A debt is recorded with the link in one transaction: both or neither."""
    unwritable = AuditEvent("x", "101", {"not json": object()})  # fails after the debt's rows
    bad = Commit(stream="c", links=[lead_link("101")], owed={"101": IDS}, audit=[unwritable])
    with pytest.raises((sa.exc.StatementError, TypeError)):  # as each driver reports it
        store.record(bad, run_id="r")
    assert store.owed_writebacks() == []
    assert store.links(["101"]) == {}


def test_upgrading_an_older_store_owes_every_converted_contact_its_ids(database_url: str) -> None:
    """A store from before the work table may hold conversions whose write-back was lost: the
    migration owes each converted link (a Contact that was our Lead) its three ids, no stage,
    and nothing for a Lead or a Contact linked by email."""
    from alembic import command

    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        command.upgrade(migrate._config(connection), "0002")
        rows = [
            ("101", "Contact", "003A", "00QA", "003A", "001A", "006A"),
            ("102", "Lead", "00QB", "00QB", None, None, None),
            ("103", "Contact", "003C", None, "003C", None, None),  # a customer linked by email
            ("104", "Contact", "003D", "00QD", "003D", "001D", None),  # converted, no opportunity
        ]
        connection.execute(
            sa.text(
                "INSERT INTO links (hubspot_id, salesforce_object, salesforce_id, lead_id, "
                "contact_id, account_id, opportunity_id, updated_at) VALUES "
                "(:h, :o, :s, :l, :c, :a, :p, :t)"
            ),
            [
                dict(zip("hoslcap", row, strict=False), t=datetime(2026, 1, 1))  # noqa: DTZ001
                for row in rows
            ],
        )
    engine.dispose()

    with StateStore.open(database_url) as store:
        owed = {o.hubspot_id: o.properties for o in store.owed_writebacks()}

    assert owed == {
        "101": {
            "salesforcecontactid": "003A",
            "salesforceaccountid": "001A",
            "salesforceopportunityid": "006A",
        },
        "104": {
            "salesforcecontactid": "003D",
            "salesforceaccountid": "001D",
            "salesforceopportunityid": None,
        },
    }


def test_work_is_added_replaced_and_done_per_stream(store: StateStore, clock: Clock) -> None:
    """Work for a stream is read back due, once per record and kind (a later row replaces the
    earlier); `done` closes the commit's own stream's work only, never a write-back owed."""
    from connector.state.work import hand_over, pending

    store.record(
        Commit(
            stream="hubspot.contacts",
            work=[
                hand_over("salesforce.leads", "00QA", "first"),
                hand_over("salesforce.leads", "00QA", "again"),
                pending("hubspot.conversions", "101", "sent", lead_id="00QB"),
            ],
            owed={"101": {"salesforcecontactid": "003A"}},
        ),
        run_id="r",
    )
    assert [(w.stream, w.record_id, w.kind, w.reason) for w in store.work()] == [
        ("hubspot.conversions", "101", "pending", "sent"),
        ("salesforce.leads", "00QA", "recheck", "again"),
    ]
    assert store.work("hubspot.conversions")[0].payload == {"lead_id": "00QB"}

    store.record(Commit(stream="salesforce.leads", done=["00QA", "101"]), run_id="r")
    store.record(Commit(stream="hubspot.writeback", done=["101"]), run_id="r")

    assert [(w.stream, w.record_id) for w in store.work()] == [("hubspot.conversions", "101")]
    assert [o.hubspot_id for o in store.owed_writebacks()] == ["101"]


def test_work_made_anew_after_its_batch_read_it_stays(store: StateStore, clock: Clock) -> None:
    """A batch closes the work it read, not work made anew since (a webhook naming the record
    again while the batch ran): that stays for the next run, and a record without newer work
    is closed as before."""
    from connector.state.work import as_read, hand_over

    store.record(
        Commit(
            stream="webhooks",
            work=[
                hand_over("hubspot.contacts", "101", "first change"),
                hand_over("hubspot.contacts", "102", "first change"),
            ],
        ),
        run_id="r",
    )
    read = {w.record_id: [w] for w in store.work("hubspot.contacts")}
    clock.advance(seconds=1)
    store.record(
        Commit(stream="webhooks", work=[hand_over("hubspot.contacts", "101", "second change")]),
        run_id="r",
    )

    done = ["101", "102"]
    store.record(
        Commit(stream="hubspot.contacts", done=done, done_as_read=as_read(read, done)),
        run_id="r",
    )

    assert [(w.record_id, w.reason) for w in store.work("hubspot.contacts")] == [
        ("101", "second change")
    ]


def test_work_not_due_yet_waits(store: StateStore, clock: Clock) -> None:
    """Work with a `not_before` in the future is not read until then."""
    from connector.state.work import Work

    later = Work("hubspot.contacts", "101", "retry", "put back", not_before=T0 + timedelta(hours=1))
    store.record(Commit(stream="x", work=[later]), run_id="r")
    assert store.work() == []
    clock.advance(hours=2)
    assert [w.record_id for w in store.work()] == ["101"]


def test_upgrading_moves_hand_overs_and_pending_conversions_out_of_the_dead_letters(
    database_url: str,
) -> None:
    """Earlier versions wrote hand-overs (RECHECK) and conversion markers (CONVERSION_PENDING)
    as dead letters: the migration makes them work of their stream and leaves only failures."""
    from alembic import command

    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    at = datetime(2026, 1, 1)  # noqa: DTZ001 - SQLite keeps UTC wall time
    with engine.begin() as connection:
        command.upgrade(migrate._config(connection), "0002")
        rows = [
            ("salesforce.leads", "00QA", "read again by Id", "RECHECK", {}, None),
            ("hubspot.conversions", "101", "sent", "CONVERSION_PENDING", {"lead_id": "00QB"}, None),
            ("hubspot.conversions", "102", "old", "RECHECK", {}, at),  # resolved long ago
            ("hubspot.contacts", "103", "Email: invalid", "INVALID_EMAIL_ADDRESS", {}, None),
        ]
        table = sa.table(
            "dead_letters",
            *(sa.column(c) for c in ("stream", "record_id", "reason", "code", "attempts")),
            sa.column("fields", sa.JSON),
            sa.column("payload", sa.JSON),
            *(sa.column(c) for c in ("first_failed_at", "last_failed_at", "resolved_at")),
        )
        connection.execute(
            sa.insert(table),
            [
                {
                    "stream": stream,
                    "record_id": record,
                    "reason": reason,
                    "code": code,
                    "fields": [],
                    "payload": payload,
                    "attempts": 1,
                    "first_failed_at": at,
                    "last_failed_at": at,
                    "resolved_at": resolved,
                }
                for stream, record, reason, code, payload, resolved in rows
            ],
        )
    engine.dispose()

    with StateStore.open(database_url) as store:
        work = [(w.stream, w.record_id, w.kind, w.payload) for w in store.work()]
        failures = [(d.stream, d.record_id) for d in store.dead_letters(include_resolved=True)]

    assert work == [
        ("hubspot.conversions", "101", "pending", {"lead_id": "00QB"}),
        ("salesforce.leads", "00QA", "recheck", {}),
    ]
    assert failures == [("hubspot.contacts", "103")]
