"""The state store: what the engine knows between passes, kept so a pass can be replayed safely.

Cursors, links (HubSpot contact → Salesforce ids), hashes of what we wrote (to skip our own
echoes), dead letters and the audit log, in SQLAlchemy Core over SQLite (the embedded default) or
PostgreSQL. Everything one batch learns is recorded by `record()` in one transaction, so the
cursor never moves past writes that are not recorded. Reads and writes are batched: a call costs
a constant number of statements, never one per record.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
import structlog
import tenacity
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from connector.errors import ConfigError
from connector.extras import POSTGRES, needs
from connector.model import DeadLetter, Journey, Link, SalesforceObject, Transition
from connector.reports import inputs
from connector.reports.inputs import ChannelInput, FunnelInput, Overdue, SlaInput
from connector.reports.sla import Deadlines, shortest
from connector.state import erasure, identity, migrate, reporting, verify
from connector.state.hold import (
    QUEUE_SECONDS,
    AdvisoryLock,
    FileLock,
    LocalLock,
    Lock,
    RecordLocks,
    Wait,
    _sqlstate,
    acquire,
    lock_path,
    sqlite_file,
)
from connector.state.privacy import (
    OUTCOMES,
    PERSON_COLUMNS,
    PRIVACY_KEY_SETTING,
    REASONS,
    Erasure,
    Outcome,
    PrivacyKey,
    Reason,
    Tombstone,
    Tombstoned,
    normalise_email,
    salesforce_columns,
    searched_values,
)
from connector.state.schema import (
    alerts_sent,
    audit,
    checkpoints,
    cursors,
    dead_letters,
    links,
    round_robin,
    tombstones,
    transitions,
    work,
    written_hashes,
)
from connector.state.work import WRITEBACK, WRITEBACK_STREAM, OwedWriteBack, Work, owe, settle

log = structlog.get_logger(__name__)

# Ids per IN list: well under SQLite's bound-variable limit (999 before SQLite 3.32).
IN_CHUNK = 500
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
_WRITE = "leadbridge_write"  # execution option: this transaction will write
_URL_HELP = "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
_LINK_IDS = ("lead_id", "contact_id", "account_id", "opportunity_id")
#: A link row no contact deletion or merge closed (`identity`).
_OPEN = links.c.closed_at.is_(None)


@dataclass(frozen=True)
class ClosedLink:
    """A link closed because its HubSpot contact was deleted or merged into another: the
    Salesforce ids it had, when and why it was closed."""

    link: Link
    closed_at: datetime
    reason: str


#: PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
#: whole, and the same transaction again can succeed (`StateStore.record` tries it again).
_TRY_AGAIN = frozenset({"40P01", "40001"})
#: How many times `record` tries one batch PostgreSQL rolled back for a deadlock.
RECORD_TRIES = 5


#: The alert-claim key prefix of a Lead's re-route after an SLA breach (`reroute:<Lead id>`).
REROUTE = "reroute:"


class AuditEvent(NamedTuple):
    """One thing worth explaining later (a routing decision, a skip): recorded with run and time."""

    kind: str
    record_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    """An audit event as stored: with its sequence number, time (UTC) and run."""

    id: int
    at: datetime
    run_id: str
    kind: str
    record_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    """Where a one-off run (a backfill) stands: the options it was started with, its state
    (position, counts so far: the run's own JSON), whether it finished, and when it started."""

    name: str
    options: dict[str, Any]
    state: dict[str, Any]
    done: bool = False
    started_at: datetime | None = None


@dataclass
class Commit:
    """Everything one batch of a stream records, in one transaction.

    `hashes` are keyed by record key, for `direction`; `other_hashes` (direction -> key -> hash)
    are those of another direction the batch also changed (a stream writing HubSpot records what
    the contact now maps to Salesforce, so the contacts stream sees it as our echo). `expected`
    (direction -> key -> hash, None for none) makes a hash of either conditional: it is written
    only if the key still holds that hash (was still absent) when the batch is recorded, so a
    batch whose knowledge is older than what another stream recorded since leaves that be.
    `failures`
    add dead letters or, for one still open, count another attempt; `resolved` names this
    stream's records that now succeeded. `cursor=None` leaves the stream's cursor where it is.

    Write-backs owed to HubSpot contacts (`connector.state.work`): `owed` adds debts (contact id
    -> properties, merged into what the contact is owed already), `confirmed` names what HubSpot
    confirmed (a property is paid when the value owed is the value confirmed), `unconfirmed`
    counts a try that did not settle the contact's debt, with the reason.

    Other work (`connector.state.work`: hand-overs, conversions in flight, retries): `done`
    names this stream's records whose work is done (closed first), `work` adds work for any
    stream (a later row for the same stream, record and kind replaces the earlier).
    `done_as_read` (record id -> the newest change of its work when the batch read it) keeps
    what was made anew since: a webhook naming a record again while its batch ran leaves work
    the batch did not do, which stays for the next run.

    `checkpoint`: where a one-off run stands once this batch is recorded (replacing what was
    kept under its name), so a run killed after the commit goes on after the batch.

    `transitions`: the stages leads entered with this batch (for the reports); a stage a
    journey has already is kept as first recorded.
    """

    stream: str
    links: list[Link] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    direction: str = "to_salesforce"
    other_hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    expected: dict[str, dict[str, str | None]] = field(default_factory=dict)
    failures: list[DeadLetter] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    cursor: datetime | None = None
    audit: list[AuditEvent] = field(default_factory=list)
    owed: dict[str, dict[str, str | None]] = field(default_factory=dict)
    confirmed: dict[str, dict[str, str | None]] = field(default_factory=dict)
    unconfirmed: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    done_as_read: dict[str, datetime] = field(default_factory=dict)
    work: list[Work] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    transitions: list[Transition] = field(default_factory=list)


def _audit_entry(row: Any) -> AuditEntry:
    """An `audit` row as the entry the store returns."""
    return AuditEntry(
        id=row.id,
        at=row.at,
        run_id=row.run_id,
        kind=row.kind,
        record_id=row.record_id,
        details=row.details,
    )


def _transition_row(t: Transition, at: datetime, now: datetime) -> dict[str, Any]:
    """A `transitions` row for `t`, entered `at`, recorded `now`."""
    return {
        "stage": t.stage,
        "at": at,
        "hubspot_id": t.hubspot_id,
        "lead_id": t.lead_id,
        "contact_id": t.contact_id,
        "opportunity_id": t.opportunity_id,
        "owner_id": t.owner_id,
        "queue": t.queue,
        "source": t.source,
        "campaign": t.campaign,
        "reason": t.reason,
        "recorded_at": now,
    }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{what} {value.isoformat()} has no time zone: the state store keeps UTC"
        raise ValueError(msg)
    return value.astimezone(UTC)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


class StateStore:
    """The store over one database; build it with `StateStore.open(url)`.

    Safe to share between threads (connections come from the engine's pool).
    """

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # Where the streams' lock files go (resolved now: a later chdir must not move them);
        # None on PostgreSQL and for an in-memory SQLite database.
        self._sqlite_file = sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
        self._local_locks: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()
        # Notified whenever a hold of this store ends, so its waiting threads try at once.
        self._released = threading.Condition()
        # Privacy keys whose tombstones were checked (`_check_key`; None: no key given).
        self._keys_checked: set[str | None] = set()

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = _utcnow) -> StateStore:
        """Connect to `url` (LEADBRIDGE_DATABASE_URL), migrate its schema and prove it usable.

        Every table and column of the schema must be there and take a write, so a damaged or
        read-only store stops the start before any remote write, not at the first `record()`
        after Salesforce was written. Raises `ConfigError` naming the setting (never the
        password) for that, a wrong URL or a database that cannot be reached; and from then on
        for any failure of the database itself (see `_name_the_setting`).
        """
        engine = _create_engine(url)
        where = engine.url.render_as_string(hide_password=True)
        try:
            connection = engine.connect()
        except (sa.exc.DBAPIError, OSError) as exc:
            engine.dispose()
            reason = _reason(exc, engine.url)
            msg = f"LEADBRIDGE_DATABASE_URL: cannot open the state store at {where}: {reason}"
            raise ConfigError(msg) from exc
        try:
            with connection:
                connection.execution_options(**{_WRITE: True})
                with connection.begin():
                    migrate.upgrade(connection, where=where)
                    verify.check_usable(
                        connection,
                        where=where,
                        revision=migrate.head(),
                        reason=lambda exc: _reason(exc, engine.url),
                    )
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            reason = _reason(exc, engine.url)
            msg = f"LEADBRIDGE_DATABASE_URL: cannot use the state store at {where}: {reason}"
            raise ConfigError(msg) from exc
        except BaseException:
            engine.dispose()
            raise
        _name_the_setting(engine, where)
        log.info("state.opened", database=where, dialect=engine.dialect.name)
        return cls(engine, clock=clock)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for row leases, tests and tools that need the connection)."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def hold(self, stream: str, *, wait: Wait, shared: bool = False) -> Iterator[None]:
        """Hold `stream` for the block: no other run of it, in any process or thread using this
        database, runs meanwhile (`connector.state.hold`). Waits as `wait` says for a holder to
        finish, then raises `StreamBusy` naming the stream and, when known, its holder. The
        lock is released at the end of the block, and by the database or the kernel if this
        process dies. Not re-entrant.

        `shared` (PostgreSQL): other shared holders of `stream` may run meanwhile (each holding
        its records, `hold_records`), a holder alone may not; elsewhere a hold is alone."""
        lock = self._lock(stream, shared=shared, queue=min(wait.seconds, QUEUE_SECONDS))
        try:
            acquire(lock, stream, wait, pause=self._pause)
        except BaseException:
            lock.close()
            raise
        try:
            yield
        finally:
            lock.release()
            with self._released:
                self._released.notify_all()

    @property
    def holds_records(self) -> bool:
        """Whether runs holding a stream shared hold their records each (PostgreSQL), so they
        run side by side; elsewhere a shared hold is a hold alone."""
        return self._engine.dialect.name == "postgresql"

    @contextmanager
    def hold_records(
        self, stream: str, record_ids: Sequence[str], *, limit: int | None = None
    ) -> Iterator[list[str]]:
        """Hold those of `record_ids` no other run holds now, for the block, tried in the order
        given until `limit` are held: the ones held, sorted (the others are another run's: this
        one leaves them). Never waits. Inside a shared hold of `stream` on PostgreSQL;
        elsewhere the caller holds `stream` alone and every record is held already (up to
        `limit`). Released at the end of the block, and by the database if this process
        dies."""
        if not self.holds_records:
            yield sorted(list(dict.fromkeys(record_ids))[:limit])
            return
        locks = RecordLocks(self._engine, stream)
        try:
            held = locks.try_acquire(record_ids, limit)
            yield held
        finally:
            locks.release()

    def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when a hold of this store ends meanwhile."""
        with self._released:
            self._released.wait(seconds)

    def _lock(self, stream: str, *, shared: bool = False, queue: float = 0.0) -> Lock:
        if self._engine.dialect.name == "postgresql":
            return AdvisoryLock(self._engine, stream, shared=shared, queue=queue)
        if self._sqlite_file is not None:
            return FileLock(lock_path(self._sqlite_file, stream))
        with self._local_guard:
            return LocalLock(self._local_locks.setdefault(stream, threading.Lock()))

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield connection

    # reads

    def cursor(self, stream: str) -> datetime | None:
        """Where `stream` stopped (aware UTC), or None before its first recorded batch."""
        with self._read() as connection:
            return connection.scalar(sa.select(cursors.c.value).where(cursors.c.stream == stream))

    def links(self, hubspot_ids: Iterable[str]) -> dict[str, Link]:
        """The links of those HubSpot contacts that have one, keyed by HubSpot id."""
        ids = list(dict.fromkeys(hubspot_ids))
        found: dict[str, Link] = {}
        with self._read() as connection:
            for chunk in _chunks(ids):
                query = sa.select(links).where(links.c.hubspot_id.in_(chunk), _OPEN)
                for row in connection.execute(query):
                    found[row.hubspot_id] = _link(row)
        return found

    def closed_links(self, hubspot_ids: Iterable[str]) -> dict[str, ClosedLink]:
        """The closed links of those HubSpot contacts (deleted, or merged into another): their
        Salesforce ids kept, with when and why the link was closed."""
        ids = list(dict.fromkeys(hubspot_ids))
        found: dict[str, ClosedLink] = {}
        with self._read() as connection:
            for chunk in _chunks(ids):
                query = sa.select(links).where(
                    links.c.hubspot_id.in_(chunk), links.c.closed_at.is_not(None)
                )
                for row in connection.execute(query):
                    found[row.hubspot_id] = ClosedLink(
                        _link(row), row.closed_at, row.closed_reason or ""
                    )
        return found

    def hashes(self, keys: Iterable[str], direction: str) -> dict[str, str]:
        """The hash of the values last written for each known record key, in `direction`."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._read() as connection:
            for chunk in _chunks(wanted):
                query = sa.select(written_hashes.c.record_key, written_hashes.c.hash).where(
                    written_hashes.c.direction == direction,
                    written_hashes.c.record_key.in_(chunk),
                )
                for key, value in connection.execute(query):
                    found[key] = value
        return found

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Open dead letters and queued work (write-backs included), per stream: two grouped
        counts, for the service's gauges."""
        failures = (
            sa.select(dead_letters.c.stream, sa.func.count())
            .where(dead_letters.c.resolved_at.is_(None))
            .group_by(dead_letters.c.stream)
        )
        queued = sa.select(work.c.stream, sa.func.count()).group_by(work.c.stream)
        with self._read() as connection:
            return (
                {stream: n for stream, n in connection.execute(failures)},
                {stream: n for stream, n in connection.execute(queued)},
            )

    def cursors(self) -> dict[str, datetime | None]:
        """Every stream's cursor (aware UTC)."""
        with self._read() as connection:
            return {
                stream: value
                for stream, value in connection.execute(
                    sa.select(cursors.c.stream, cursors.c.value)
                )
            }

    def dead_letters(
        self, stream: str | None = None, *, include_resolved: bool = False
    ) -> list[DeadLetter]:
        """Records that failed (open ones unless `include_resolved`), oldest failure first."""
        query = sa.select(dead_letters).order_by(
            dead_letters.c.stream, dead_letters.c.first_failed_at, dead_letters.c.record_id
        )
        if stream is not None:
            query = query.where(dead_letters.c.stream == stream)
        if not include_resolved:
            query = query.where(dead_letters.c.resolved_at.is_(None))
        with self._read() as connection:
            return [
                DeadLetter(
                    stream=row.stream,
                    record_id=row.record_id,
                    reason=row.reason,
                    code=row.code,
                    fields=tuple(row.fields),
                    payload=row.payload,
                    attempts=row.attempts,
                    first_failed_at=row.first_failed_at,
                    last_failed_at=row.last_failed_at,
                )
                for row in connection.execute(query)
            ]

    def audit_events(
        self,
        record_id: str | None = None,
        kind: str | None = None,
        *,
        since: datetime | None = None,
    ) -> list[AuditEntry]:
        """The audit log, oldest first, optionally of one record and/or one kind, and from
        `since` on."""
        query = sa.select(audit).order_by(audit.c.id)
        if record_id is not None:
            query = query.where(audit.c.record_id == record_id)
        if kind is not None:
            query = query.where(audit.c.kind == kind)
        if since is not None:
            query = query.where(audit.c.at >= _aware(since, "since"))
        with self._read() as connection:
            return [_audit_entry(row) for row in connection.execute(query)]

    def recent_audit(self, kind: str, *, limit: int = 50) -> list[AuditEntry]:
        """The newest `limit` audit events of `kind`, newest first (the status page's)."""
        query = sa.select(audit).where(audit.c.kind == kind).order_by(audit.c.id.desc())
        with self._read() as connection:
            return [_audit_entry(row) for row in connection.execute(query.limit(limit))]

    def failures_since(self, since: datetime) -> dict[str, int]:
        """Open dead letters per stream whose first failure came at or after `since`."""
        query = (
            sa.select(dead_letters.c.stream, sa.func.count())
            .where(
                dead_letters.c.resolved_at.is_(None),
                dead_letters.c.first_failed_at >= _aware(since, "since"),
            )
            .group_by(dead_letters.c.stream)
        )
        with self._read() as connection:
            return {stream: n for stream, n in connection.execute(query)}

    def claim_alerts(
        self, conditions: Mapping[str, dict[str, Any]], period: timedelta
    ) -> list[str]:
        """The conditions (key -> details) whose alert is due: never sent, or last sent at least
        `period` ago. Each returned is marked sent now, in one transaction, so of several
        workers seeing the same condition exactly one sends its alert per period."""
        now = _aware(self._clock(), "clock")
        claimed: list[str] = []
        insert = self._insert(alerts_sent)
        upsert = insert.on_conflict_do_update(
            index_elements=[alerts_sent.c.condition],
            set_={"sent_at": insert.excluded.sent_at, "details": insert.excluded.details},
            where=alerts_sent.c.sent_at <= now - period,
        ).returning(alerts_sent.c.condition)
        with self._write() as connection:
            for condition, details in conditions.items():
                row = {"condition": condition, "sent_at": now, "details": details}
                # RETURNING names a row inserted or updated (rowcount is -1 on psycopg here)
                if connection.execute(upsert, row).first() is not None:
                    claimed.append(condition)
        return claimed

    # -- re-routes after an SLA breach (`connector.service.reroute`) ---------------------------
    # A Lead's re-route is claimed before Salesforce is asked to move it and finished (the
    # routing decision recorded) after: a claim that never expires, kept with the alerts'
    # (`reroute:<Lead id>`), so of several workers, or a check after a crash, none moves the
    # Lead twice; a claim not finished is finished by the next check.

    def reroutes(self, lead_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The re-route claims of these Leads (details, `done` once recorded), by Lead id."""
        keys = {f"{REROUTE}{i}": i for i in lead_ids}
        found: dict[str, dict[str, Any]] = {}
        with self._read() as connection:
            for chunk in _chunks(sorted(keys)):
                query = sa.select(alerts_sent.c.condition, alerts_sent.c.details).where(
                    alerts_sent.c.condition.in_(chunk)
                )
                for condition, details in connection.execute(query):
                    found[keys[condition]] = dict(details)
        return found

    def claim_reroute(self, lead_id: str, details: Mapping[str, Any]) -> bool:
        """Claim the re-route of `lead_id` with `details` (who from, who to, why): True for the
        one caller that claimed it, False when it was claimed before (by anyone, ever)."""
        now = _aware(self._clock(), "clock")
        insert = (
            self._insert(alerts_sent)
            .on_conflict_do_nothing(index_elements=[alerts_sent.c.condition])
            .returning(alerts_sent.c.condition)
        )
        row = {"condition": f"{REROUTE}{lead_id}", "sent_at": now, "details": dict(details)}
        with self._write() as connection:
            return connection.execute(insert, row).first() is not None

    def finish_reroute(
        self,
        lead_id: str,
        details: Mapping[str, Any],
        decision: AuditEvent | None,
        *,
        run_id: str,
    ) -> None:
        """Mark the claimed re-route of `lead_id` done (`details`, its outcome) and record its
        routing decision (`decision`, None when the Lead was not moved), in one transaction."""
        now = _aware(self._clock(), "clock")
        with self._write() as connection:
            connection.execute(
                sa.update(alerts_sent)
                .where(alerts_sent.c.condition == f"{REROUTE}{lead_id}")
                .values(details={**details, "done": True})
            )
            if decision is not None:
                self._write_audit(connection, [decision], run_id, now)

    def owed_writebacks(self, *, after: str | None = None, limit: int = 100) -> list[OwedWriteBack]:
        """Write-backs owed to HubSpot contacts, in contact id order after `after` (keyset
        paging: a debt paid meanwhile cannot make a reader skip one)."""
        query = (
            sa.select(work)
            .where(work.c.stream == WRITEBACK_STREAM, work.c.kind == WRITEBACK)
            .order_by(work.c.record_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(work.c.record_id > after)
        with self._read() as connection:
            return [
                OwedWriteBack(
                    hubspot_id=row.record_id,
                    properties=dict(row.payload),
                    attempts=row.attempts,
                    last_error=row.last_error,
                    created_at=row.created_at,
                )
                for row in connection.execute(query)
            ]

    def work(self, stream: str | None = None) -> list[Work]:
        """The work due now (its `not_before` passed) for `stream` (every stream's when None),
        write-backs aside (`owed_writebacks`), in stream and record order."""
        now = _aware(self._clock(), "clock")
        query = (
            sa.select(work)
            .where(
                work.c.kind != WRITEBACK,
                sa.or_(work.c.not_before.is_(None), work.c.not_before <= now),
            )
            .order_by(work.c.stream, work.c.record_id, work.c.kind)
        )
        if stream is not None:
            query = query.where(work.c.stream == stream)
        with self._read() as connection:
            return [
                Work(
                    stream=row.stream,
                    record_id=row.record_id,
                    kind=row.kind,
                    reason=row.reason,
                    payload=dict(row.payload),
                    not_before=row.not_before,
                    attempts=row.attempts,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
                for row in connection.execute(query)
            ]

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint of the one-off run `name`, if one was recorded."""
        with self._read() as connection:
            row = connection.execute(
                sa.select(checkpoints).where(checkpoints.c.name == name)
            ).first()
        if row is None:
            return None
        return Checkpoint(
            name=row.name,
            options=dict(row.options),
            state=dict(row.state),
            done=bool(row.done),
            started_at=row.started_at,
        )

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Record a checkpoint on its own (a run starting, or finishing without a batch)."""
        with self._write() as connection:
            self._write_checkpoint(connection, checkpoint, _aware(self._clock(), "clock"))

    def drop_checkpoint(self, name: str) -> None:
        """Forget the checkpoint of `name` (`--restart`)."""
        with self._write() as connection:
            connection.execute(sa.delete(checkpoints).where(checkpoints.c.name == name))

    def link_count(self) -> int:
        """How many HubSpot contacts are linked to Salesforce."""
        with self._read() as connection:
            query = sa.select(sa.func.count()).select_from(links).where(_OPEN)
            return int(connection.scalar(query) or 0)

    def linked_ids(self, *, after: str | None = None, limit: int = 500) -> list[Link]:
        """Links in HubSpot id order after `after` (keyset paging: a population read in
        pieces, whatever its size)."""
        query = sa.select(links).where(_OPEN).order_by(links.c.hubspot_id).limit(limit)
        if after is not None:
            query = query.where(links.c.hubspot_id > after)
        with self._read() as connection:
            return [_link(row) for row in connection.execute(query)]

    def next_turns(self, rule: str) -> dict[str, int]:
        """How many leads each member of the round-robin `rule` has had so far."""
        query = sa.select(round_robin.c.member, round_robin.c.turns).where(
            round_robin.c.rule == rule
        )
        with self._read() as connection:
            return {member: turns for member, turns in connection.execute(query)}

    def record_turns(self, rule: str, turns: Mapping[str, int]) -> None:
        """Add `turns` (member → leads just given) to `rule`'s counts, in one transaction.

        Increments, not totals: workers routing at the same time add up instead of overwriting.
        """
        now = _aware(self._clock(), "clock")
        rows = [
            {"rule": rule, "member": member, "turns": count, "updated_at": now}
            for member, count in turns.items()
            if count
        ]
        if not rows:
            return
        insert = self._insert(round_robin)
        upsert = insert.on_conflict_do_update(
            index_elements=[round_robin.c.rule, round_robin.c.member],
            set_={
                "turns": round_robin.c.turns + insert.excluded.turns,
                "updated_at": insert.excluded.updated_at,
            },
        )
        with self._write() as connection:
            connection.execute(upsert, rows)

    # records removed in Salesforce (connector.streams.leads.removals)

    def links_by_salesforce_ids(self, salesforce_ids: Iterable[str]) -> dict[str, Link]:
        """The links whose record (`salesforce_id`) is one of these ids, keyed by that id."""
        ids = list(dict.fromkeys(i for i in salesforce_ids if i))
        found: dict[str, Link] = {}
        with self._read() as connection:
            for chunk in _chunks(ids):
                query = (
                    sa.select(links)
                    .where(links.c.salesforce_id.in_(chunk))
                    .order_by(links.c.hubspot_id)
                )
                for row in connection.execute(query):
                    found.setdefault(row.salesforce_id, _link(row))
        return found

    def record_removals(
        self,
        commit: Commit,
        *,
        moved: Sequence[Link] = (),
        closed: Sequence[str] = (),
        run_id: str,
    ) -> None:
        """Record what removals in Salesforce did, in one transaction with `commit`: the
        `moved` links rewritten as given (a merge's kept record replaces the lost one), the
        links of the `closed` HubSpot contacts deleted (their ids stay in `commit.audit`)."""

        def rewrite(connection: sa.Connection, now: datetime) -> None:
            for link in moved:
                connection.execute(
                    sa.update(links)
                    .where(links.c.hubspot_id == link.hubspot_id)
                    .values(
                        salesforce_object=link.object,
                        salesforce_id=link.salesforce_id,
                        lead_id=link.lead_id,
                        contact_id=link.contact_id,
                        account_id=link.account_id,
                        opportunity_id=link.opportunity_id,
                        updated_at=now,
                    )
                )
            for chunk in _chunks(list(dict.fromkeys(closed))):
                connection.execute(sa.delete(links).where(links.c.hubspot_id.in_(chunk)))

        self._record(commit, run_id=run_id, before=rewrite)
        log.info("state.removals", moved=len(moved), closed=len(set(closed)))

    # erasure (connector.state.erasure)

    def erase(
        self,
        *,
        hubspot_id: str | None = None,
        email: str | None = None,
        salesforce_ids: Iterable[str | None] = (),
        also: Iterable[str | None] = (),
        reason: Reason,
        key: Any,
    ) -> Erasure:
        """Erase a person from the store in one transaction, and keep their tombstone.

        The person is named by their HubSpot contact id, email and/or Salesforce Lead and
        Contact ids (`salesforce_ids`, told apart by prefix; Account and Opportunity ids are
        kept in the tombstone); their link adds the ids not given. Every table is treated as
        `erasure.RULES` says: links, written hashes and work deleted, dead letters and audit
        details blanked (counts, kinds and times stay), backfill checkpoints scrubbed. Rows of
        any record whose text holds the email or a value in `also` (the name, the phone, as the
        store may hold them: at least 5 characters each) are treated as the person's.

        The tombstone keeps the ids and HMAC-SHA256 of the normalised email under `key`
        (LEADBRIDGE_PRIVACY_KEY: `ConfigError` naming it when None), never the email. Erasing the
        same person again changes nothing and says so (`Erasure.already`). The log line says
        counts, never who.

        On SQLite deleted content is zeroed in the file (secure_delete) and the write-ahead log
        is emptied afterwards (`wal_kept` in the log line when a reader kept it from that). On
        PostgreSQL the tables it changed are vacuumed afterwards (`_vacuum`: the old row
        versions removed at once; `vacuumed` in the log line).
        """
        privacy_key = PrivacyKey(key)
        if reason not in REASONS:
            msg = f"unknown erasure reason {reason!r}: one of {', '.join(REASONS)}"
            raise ValueError(msg)
        given = salesforce_columns(salesforce_ids)
        email_hash = privacy_key.email_hash(email)
        if not (hubspot_id or email_hash or any(c in given for c in PERSON_COLUMNS)):
            msg = (
                "an erasure names the person: a HubSpot contact id, an email, or a Lead or "
                "Contact id"
            )
            raise ValueError(msg)
        searched = searched_values([normalise_email(email), *also])
        now = _aware(self._clock(), "clock")
        started = time.monotonic()
        with self._write() as connection:
            result, person = erasure.erase(
                connection,
                hubspot_id=hubspot_id,
                salesforce_ids=given,
                email_hash=email_hash,
                key_id=privacy_key.id,
                searched=searched,
                reason=reason,
                now=now,
            )
        wal_kept = vacuumed = False
        if self._engine.dialect.name == "sqlite":
            wal_kept = self._truncate_wal()
        else:
            vacuumed = self._vacuum([t for t, n in result.removed.items() if n])
        log.info(
            "state.erased",
            tombstone=result.tombstone_id,
            reason=reason,
            already=result.already,
            ids=len(person.ids),
            values_searched=len(searched),
            seconds=round(time.monotonic() - started, 3),
            wal_kept=wal_kept,
            vacuumed=vacuumed,
            **{f"removed_{table}": n for table, n in result.removed.items()},
        )
        return result

    def _vacuum(self, tables: Sequence[str]) -> bool:
        """PostgreSQL: VACUUM the tables an erasure changed (outside a transaction, as VACUUM
        must be), so the person's old row versions are removed from the tables at once instead
        of when autovacuum comes by. Plain VACUUM takes no lock a reader or writer waits for;
        it frees the space for reuse but PostgreSQL does not zero it, and the write-ahead log
        and base backups keep the old pages until they are recycled or expire (README: "what
        is left on disk"). False when it failed (logged; the erasure stands)."""
        if not tables:
            return False
        quote = self._engine.dialect.identifier_preparer.quote
        try:
            with self._engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in tables:
                    connection.exec_driver_sql(f"VACUUM {quote(table)}")
        except sa.exc.DBAPIError as exc:
            log.warning("state.vacuum_failed", error=type(exc.orig).__name__)
            return False
        return True

    def _truncate_wal(self) -> bool:
        """Copy SQLite's write-ahead log into the file and empty it: the log keeps the pages
        as they were before the erasure until then. True when a reader kept it from finishing
        (the next erasure or checkpoint finishes it)."""
        with self._engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
        return bool(busy)

    def tombstoned(
        self,
        *,
        hubspot_ids: Iterable[str] = (),
        emails: Iterable[str | None] = (),
        salesforce_ids: Iterable[str] = (),
        key: Any = None,
    ) -> Tombstoned:
        """Which of these HubSpot contact ids, emails (any case or surrounding space) and
        Salesforce Lead or Contact ids are erased people's, so a poll, backfill, reconcile or
        replay skips them: one query for a page of contacts.

        Emails are matched through their keyed hash, so they need `key` (LEADBRIDGE_PRIVACY_KEY);
        without it they are not looked up, unless tombstones keep email hashes, which is a
        `ConfigError` naming the setting, as is a key other than the one they were made with.
        """
        hubspot = list(dict.fromkeys(i for i in hubspot_ids if i))
        salesforce = list(dict.fromkeys(i for i in salesforce_ids if i))
        wanted = list(dict.fromkeys(e for e in emails if e))
        privacy_key = PrivacyKey(key) if key is not None and wanted else None
        hashes: dict[str, list[str]] = {}
        if privacy_key is not None:
            for email in wanted:
                email_hash = privacy_key.email_hash(email)
                if email_hash is not None:
                    hashes.setdefault(email_hash, []).append(email)
        if not (hubspot or hashes or salesforce or wanted):
            return Tombstoned()
        with self._read() as connection:
            if wanted:
                self._check_key(connection, privacy_key)
            ids, found, sf = erasure.tombstoned(
                connection,
                hubspot_ids=hubspot,
                email_hashes=list(hashes),
                salesforce_ids=salesforce,
                key_id=privacy_key.id if privacy_key else None,
            )
        return Tombstoned(
            hubspot_ids=frozenset(ids),
            emails=frozenset(e for h in found for e in hashes[h]),
            salesforce_ids=frozenset(sf),
        )

    def _check_key(self, connection: sa.Connection, key: PrivacyKey | None) -> None:
        """Once per key and store: tombstones' email hashes were made under this key (or none
        keeps one, when no key is given); `ConfigError` naming the setting otherwise."""
        key_id = key.id if key else None
        if key_id in self._keys_checked:
            return
        others = {k: n for k, n in erasure.key_ids(connection).items() if k != key_id}
        if others:
            count = sum(others.values())
            if key is None:
                msg = (
                    f"{PRIVACY_KEY_SETTING} is not set, and {count} tombstones of erased people "
                    "are matched by their email's keyed hash: set the key they were made with"
                )
            else:
                msg = (
                    f"{PRIVACY_KEY_SETTING} is not the key {count} tombstones of erased people "
                    f"were made with (key id {', '.join(sorted(others))}, this one {key_id}): "
                    "their emails would not be recognised; set the key they were made with"
                )
            raise ConfigError(msg)
        self._keys_checked.add(key_id)

    def erasure_outcome(
        self,
        tombstone_id: int,
        *,
        hubspot: Outcome | None = None,
        salesforce: Outcome | None = None,
    ) -> None:
        """Record what became of an erased person in HubSpot and/or Salesforce (a word from
        `privacy.OUTCOMES`, never a remote error's text: it may quote the person)."""
        values = {
            f"{system}_outcome": outcome
            for system, outcome in (("hubspot", hubspot), ("salesforce", salesforce))
            if outcome is not None
        }
        unknown = [v for v in values.values() if v not in OUTCOMES]
        if unknown:
            msg = f"unknown erasure outcome {unknown[0]!r}: one of {', '.join(OUTCOMES)}"
            raise ValueError(msg)
        if not values:
            return
        with self._write() as connection:
            if not erasure.set_outcome(
                connection, tombstone_id, values, _aware(self._clock(), "clock")
            ):
                msg = f"no tombstone {tombstone_id}"
                raise ValueError(msg)

    def find_tombstone(
        self,
        *,
        hubspot_id: str | None = None,
        email: str | None = None,
        salesforce_ids: Iterable[str | None] = (),
        key: Any = None,
    ) -> Tombstone | None:
        """The tombstone of the person with this HubSpot contact id, email (through its keyed
        hash: `key` needed) or Lead or Contact id; the oldest when several match; None when the
        person was never erased. Reads only."""
        conditions: list[sa.ColumnElement[bool]] = []
        if hubspot_id:
            conditions.append(tombstones.c.hubspot_id == hubspot_id)
        if email:
            privacy_key = PrivacyKey(key)
            email_hash = privacy_key.email_hash(email)
            if email_hash is not None:
                conditions.append(
                    sa.and_(
                        tombstones.c.email_hash == email_hash,
                        tombstones.c.key_id == privacy_key.id,
                    )
                )
        ids = [i for i in salesforce_ids if i]
        if ids:
            conditions += [tombstones.c.lead_id.in_(ids), tombstones.c.contact_id.in_(ids)]
        if not conditions:
            return None
        query = sa.select(tombstones.c.id).where(sa.or_(*conditions)).order_by(tombstones.c.id)
        with self._read() as connection:
            found = connection.execute(query.limit(1)).scalar()
        if found is None:
            return None
        (tombstone,) = self.tombstones(after=int(found) - 1, limit=1)
        return tombstone

    def tombstones(self, *, after: int | None = None, limit: int = 100) -> list[Tombstone]:
        """Tombstones in the order they were made, after `after` (keyset paging)."""
        query = sa.select(tombstones).order_by(tombstones.c.id).limit(limit)
        if after is not None:
            query = query.where(tombstones.c.id > after)
        with self._read() as connection:
            return [
                Tombstone(
                    id=int(row.id),
                    hubspot_id=row.hubspot_id,
                    lead_id=row.lead_id,
                    contact_id=row.contact_id,
                    account_id=row.account_id,
                    opportunity_id=row.opportunity_id,
                    email_hash=row.email_hash,
                    key_id=row.key_id,
                    reason=row.reason,
                    erased_at=row.erased_at,
                    hubspot_outcome=row.hubspot_outcome,
                    salesforce_outcome=row.salesforce_outcome,
                    removed=dict(row.removed),
                )
                for row in connection.execute(query)
            ]

    # contact merges and deletions (connector.state.identity)

    def merge_contacts(
        self,
        survivor: str,
        merged: Sequence[str],
        *,
        keep: Link | None,
        kept_from: str | None,
        commit: Commit,
        run_id: str,
    ) -> dict[str, int]:
        """Move what the store knows of the `merged` HubSpot contacts to `survivor` and record
        `commit` (the merge's own work, write-back and audit), in one transaction: `keep` is
        the link the survivor keeps (from `kept_from`'s row), the merged-away contacts' written
        hashes and work follow (`identity.merge`). Running it again changes nothing more.
        Counts of what moved."""
        now = _aware(self._clock(), "clock")
        failures = {(f.stream, f.record_id): f for f in commit.failures}.values()
        with self._write() as connection:
            moved = identity.merge(
                connection,
                self._insert,
                survivor=survivor,
                merged=merged,
                keep=keep,
                kept_from=kept_from,
                now=now,
            )
            self._record_in(connection, commit, failures, None, run_id, now)
        log.info("state.contacts_merged", run_id=run_id, merged=len(merged), **moved)
        return moved

    def close_link(self, hubspot_id: str, reason: str, *, commit: Commit, run_id: str) -> bool:
        """Close `hubspot_id`'s link (a deleted contact: kept with its Salesforce ids, read by
        `closed_links` only) and record `commit`, in one transaction; whether it was open."""
        now = _aware(self._clock(), "clock")
        failures = {(f.stream, f.record_id): f for f in commit.failures}.values()
        with self._write() as connection:
            closed = identity.close(connection, hubspot_id, reason, now)
            self._record_in(connection, commit, failures, None, run_id, now)
        log.info("state.link_closed", run_id=run_id, closed=bool(closed))
        return bool(closed)

    def note_sending(
        self,
        stream: str,
        sending: Mapping[str, str],
        *,
        first: Mapping[str, str] | None = None,
        run_id: str,
    ) -> None:
        """Note, before `stream` sends them, the fingerprints of the field values it is about
        to write (`contact_sending_key` -> JSON), in a transaction of their own: the batch's
        record, made after its writes, may never come. `first`: agreements (key -> JSON) to
        record only where none is recorded yet (a new record's first values)."""
        first = dict(first or {})
        if sending or first:
            self._record(
                Commit(
                    stream=stream,
                    hashes={**sending, **first},
                    direction="to_salesforce",
                    expected={"to_salesforce": dict.fromkeys(first)},
                ),
                run_id=run_id,
            )

    # the one write

    def record(self, commit: Commit, *, run_id: str) -> None:
        """Record a batch in one transaction: all of it, or (on any error) none of it."""
        self._record(commit, run_id=run_id)

    def _record(
        self,
        commit: Commit,
        *,
        run_id: str,
        before: Callable[[sa.Connection, datetime], None] | None = None,
    ) -> None:
        """`record`, with `before` run first in the same transaction."""
        now = _aware(self._clock(), "clock")
        cursor = None if commit.cursor is None else _aware(commit.cursor, f"{commit.stream} cursor")
        failures = {
            (failure.stream, failure.record_id): failure for failure in commit.failures
        }.values()
        for attempt in range(1, RECORD_TRIES + 1):
            try:
                with self._write() as connection:
                    if before is not None:
                        before(connection, now)
                    self._record_in(connection, commit, failures, cursor, run_id, now)
                break
            except ConfigError as exc:
                # Two batches locking rows both write (a contact's hashes, written by more than
                # one stream), each waiting for the other: PostgreSQL rolls one back whole. Given
                # up, that batch's writes to Salesforce and HubSpot, made already, would be made
                # again by the next pass with nothing recorded to weigh them by.
                if attempt == RECORD_TRIES or _sqlstate(exc) not in _TRY_AGAIN:
                    raise
                log.info("state.record_again", stream=commit.stream, attempt=attempt)
        log.info(
            "state.recorded",
            run_id=run_id,
            stream=commit.stream,
            links=len(commit.links),
            hashes=len(commit.hashes),
            failures=len(failures),
            resolved=len(commit.resolved),
            owed=len(commit.owed),
            work=len(commit.work),
            done=len(commit.done),
            confirmed=len(commit.confirmed),
            transitions=len(commit.transitions),
            cursor=cursor.isoformat() if cursor else None,
        )

    def _record_in(
        self,
        connection: sa.Connection,
        commit: Commit,
        failures: Iterable[DeadLetter],
        cursor: datetime | None,
        run_id: str,
        now: datetime,
    ) -> None:
        """`record`'s writes, inside the caller's transaction."""
        self._write_links(connection, commit.links, now)
        self._write_hashes(
            connection,
            commit.hashes,
            commit.direction,
            now,
            commit.expected.get(commit.direction, {}),
        )
        for direction, batch in sorted(commit.other_hashes.items()):
            expected = commit.expected.get(direction, {})
            self._write_hashes(connection, batch, direction, now, expected)
        self._resolve(connection, commit.stream, commit.resolved, now)
        self._write_failures(connection, failures, now)
        self._write_writebacks(connection, commit, now)
        self._write_work(connection, commit, now)
        if cursor is not None:
            self._write_cursor(connection, commit.stream, cursor, now)
        self._write_audit(connection, commit.audit, run_id, now)
        if commit.checkpoint is not None:
            self._write_checkpoint(connection, commit.checkpoint, now)
        self._write_transitions(connection, commit.transitions, now)

    def _write_checkpoint(
        self, connection: sa.Connection, checkpoint: Checkpoint, now: datetime
    ) -> None:
        started = (
            now
            if checkpoint.started_at is None
            else _aware(checkpoint.started_at, f"{checkpoint.name} started_at")
        )
        insert = self._insert(checkpoints)
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=[checkpoints.c.name],
                set_={
                    name: insert.excluded[name]
                    for name in ("options", "state", "done", "started_at", "updated_at")
                },
            ),
            {
                "name": checkpoint.name,
                "options": checkpoint.options,
                "state": checkpoint.state,
                "done": checkpoint.done,
                "started_at": started,
                "updated_at": now,
            },
        )

    def _write_links(self, connection: sa.Connection, batch: list[Link], now: datetime) -> None:
        """Upsert by HubSpot id; an id not given keeps its stored value (lead_id survives).

        A link to the Contact a Lead was converted to never goes back to that Lead (Salesforce
        converts one way): a batch that updated the Lead before the conversion, recorded after
        it (another worker's page in flight), leaves the conversion's link be."""
        merged: dict[str, dict[str, Any]] = {}
        for link in batch:
            row = merged.setdefault(link.hubspot_id, {"hubspot_id": link.hubspot_id})
            row["salesforce_object"] = link.object
            row["salesforce_id"] = link.salesforce_id
            for name in _LINK_IDS:
                value = getattr(link, name)
                if value is not None or name not in row:
                    row[name] = value
            row["updated_at"] = now
        if not merged:
            return
        insert = self._insert(links)
        upsert = insert.on_conflict_do_update(
            index_elements=[links.c.hubspot_id],
            set_={
                "salesforce_object": insert.excluded.salesforce_object,
                "salesforce_id": insert.excluded.salesforce_id,
                **{
                    name: sa.func.coalesce(insert.excluded[name], links.c[name])
                    for name in _LINK_IDS
                },
                "updated_at": insert.excluded.updated_at,
                # A link written again is open again (a restored contact).
                "closed_at": None,
                "closed_reason": None,
            },
            where=sa.not_(
                sa.and_(
                    links.c.salesforce_object == "Contact",
                    insert.excluded.salesforce_object == "Lead",
                    sa.func.coalesce(links.c.lead_id, "") == insert.excluded.lead_id,
                )
            ),
        )
        connection.execute(upsert, list(merged.values()))

    def _write_hashes(
        self,
        connection: sa.Connection,
        batch: dict[str, str],
        direction: str,
        now: datetime,
        expected: Mapping[str, str | None] | None = None,
    ) -> None:
        """Write `batch`; a key in `expected` only if it still holds that hash (is still
        absent, for None): one statement per such key, decided by the database on the row
        itself (an upsert's conflict clause), so no concurrent writer slips in between."""
        if not batch:
            return
        expected = expected or {}
        insert = self._insert(written_hashes)
        keys = [written_hashes.c.record_key, written_hashes.c.direction]
        newer = {"hash": insert.excluded.hash, "written_at": insert.excluded.written_at}
        upsert = insert.on_conflict_do_update(index_elements=keys, set_=newer)
        # In key order, as every batch writes them: two batches writing the same keys lock
        # them in the same order, so neither holds one the other waits for.
        ordered = sorted(batch.items())
        rows = [
            {"record_key": key, "direction": direction, "hash": value, "written_at": now}
            for key, value in ordered
            if key not in expected
        ]
        if rows:
            connection.execute(upsert, rows)
        for key, value in ordered:
            if key not in expected:
                continue
            row = {"record_key": key, "direction": direction, "hash": value, "written_at": now}
            was = expected[key]
            if was is None:
                connection.execute(insert.on_conflict_do_nothing(index_elements=keys), row)
            else:
                connection.execute(
                    insert.on_conflict_do_update(
                        index_elements=keys, set_=newer, where=written_hashes.c.hash == was
                    ),
                    row,
                )

    def _resolve(
        self, connection: sa.Connection, stream: str, record_ids: list[str], now: datetime
    ) -> None:
        for chunk in _chunks(list(dict.fromkeys(record_ids))):
            connection.execute(
                sa.update(dead_letters)
                .where(
                    dead_letters.c.stream == stream,
                    dead_letters.c.record_id.in_(chunk),
                    dead_letters.c.resolved_at.is_(None),
                )
                .values(resolved_at=now)
            )

    def _write_failures(
        self, connection: sa.Connection, batch: Iterable[DeadLetter], now: datetime
    ) -> None:
        """Add dead letters; one still open counts another attempt, a resolved one reopens.

        The store counts attempts itself: a failure's own `attempts` is not read.
        """
        rows = []
        for failure in batch:
            failed_at = (
                now
                if failure.last_failed_at is None
                else _aware(failure.last_failed_at, f"{failure.record_id} last_failed_at")
            )
            first = (
                failed_at
                if failure.first_failed_at is None
                else _aware(failure.first_failed_at, f"{failure.record_id} first_failed_at")
            )
            rows.append(
                {
                    "stream": failure.stream,
                    "record_id": failure.record_id,
                    "reason": failure.reason,
                    "code": failure.code,
                    "fields": list(failure.fields),
                    "payload": failure.payload,
                    "attempts": 1,
                    "first_failed_at": first,
                    "last_failed_at": failed_at,
                    "resolved_at": None,
                }
            )
        if not rows:
            return
        insert = self._insert(dead_letters)
        still_open = dead_letters.c.resolved_at.is_(None)
        upsert = insert.on_conflict_do_update(
            index_elements=[dead_letters.c.stream, dead_letters.c.record_id],
            set_={
                "reason": insert.excluded.reason,
                "code": insert.excluded.code,
                "fields": insert.excluded.fields,
                "payload": insert.excluded.payload,
                "attempts": sa.case(
                    (still_open, dead_letters.c.attempts + 1), else_=insert.excluded.attempts
                ),
                "first_failed_at": sa.case(
                    (still_open, dead_letters.c.first_failed_at),
                    else_=insert.excluded.first_failed_at,
                ),
                "last_failed_at": insert.excluded.last_failed_at,
                "resolved_at": insert.excluded.resolved_at,
            },
        )
        connection.execute(upsert, rows)

    def _write_work(self, connection: sa.Connection, commit: Commit, now: datetime) -> None:
        """Close the work `done` names (of the commit's stream, write-backs aside; of a record in
        `done_as_read`, only work not made anew since the batch read it), then add
        `work`: a row already there for the same stream, record and kind is replaced, keeping
        when it was first due."""
        done = list(dict.fromkeys(commit.done))
        for chunk in _chunks([r for r in done if r not in commit.done_as_read]):
            connection.execute(
                sa.delete(work).where(
                    work.c.stream == commit.stream,
                    work.c.kind != WRITEBACK,
                    work.c.record_id.in_(chunk),
                )
            )
        as_read = [
            {"done_id": r, "as_read": _aware(commit.done_as_read[r], "done_as_read")}
            for r in done
            if r in commit.done_as_read
        ]
        if as_read:
            connection.execute(
                sa.delete(work).where(
                    work.c.stream == commit.stream,
                    work.c.kind != WRITEBACK,
                    work.c.record_id == sa.bindparam("done_id"),
                    work.c.updated_at <= sa.bindparam("as_read"),
                ),
                as_read,
            )
        rows = {
            (item.stream, item.record_id, item.kind): {
                "stream": item.stream,
                "record_id": item.record_id,
                "kind": item.kind,
                "reason": item.reason,
                "payload": item.payload,
                "not_before": (
                    None if item.not_before is None else _aware(item.not_before, "not_before")
                ),
                "attempts": item.attempts,
                "last_error": None,
                "created_at": now,
                "updated_at": now,
            }
            for item in commit.work
        }
        if not rows:
            return
        insert = self._insert(work)
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=[work.c.stream, work.c.record_id, work.c.kind],
                set_={
                    name: insert.excluded[name]
                    for name in ("reason", "payload", "not_before", "attempts", "updated_at")
                },
            ),
            list(rows.values()),
        )

    def _write_writebacks(self, connection: sa.Connection, commit: Commit, now: datetime) -> None:
        """Debts first, then confirmations, per contact: read (locked on PostgreSQL), combined
        (`connector.state.work`), written back; a contact owed nothing more loses its row."""
        ids = sorted({*commit.owed, *commit.confirmed, *commit.unconfirmed})
        if not ids:
            return
        stored: dict[str, Any] = {}
        for chunk in _chunks(ids):
            query = sa.select(work).where(
                work.c.stream == WRITEBACK_STREAM,
                work.c.kind == WRITEBACK,
                work.c.record_id.in_(chunk),
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            stored.update({row.record_id: row for row in connection.execute(query)})
        upserts: list[dict[str, Any]] = []
        paid: list[str] = []
        for record_id in ids:
            row = stored.get(record_id)
            payload = owe(dict(row.payload) if row else {}, commit.owed.get(record_id, {}))
            payload = settle(payload, commit.confirmed.get(record_id, {}))
            if not payload:
                if row is not None:
                    paid.append(record_id)
                continue
            error = commit.unconfirmed.get(record_id)
            upserts.append(
                {
                    "stream": WRITEBACK_STREAM,
                    "record_id": record_id,
                    "kind": WRITEBACK,
                    "reason": "owed to HubSpot",
                    "payload": payload,
                    "attempts": (row.attempts if row else 0) + (error is not None),
                    "last_error": error if error is not None else (row.last_error if row else None),
                    "created_at": row.created_at if row else now,
                    "updated_at": now,
                }
            )
        for chunk in _chunks(paid):
            connection.execute(
                sa.delete(work).where(
                    work.c.stream == WRITEBACK_STREAM,
                    work.c.kind == WRITEBACK,
                    work.c.record_id.in_(chunk),
                )
            )
        if upserts:
            insert = self._insert(work)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[work.c.stream, work.c.record_id, work.c.kind],
                    set_={
                        name: insert.excluded[name]
                        for name in ("payload", "attempts", "last_error", "updated_at")
                    },
                ),
                upserts,
            )

    def _write_cursor(
        self, connection: sa.Connection, stream: str, value: datetime, now: datetime
    ) -> None:
        insert = self._insert(cursors)
        upsert = insert.on_conflict_do_update(
            index_elements=[cursors.c.stream],
            set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
        )
        connection.execute(upsert, {"stream": stream, "value": value, "updated_at": now})

    def _write_audit(
        self, connection: sa.Connection, events: list[AuditEvent], run_id: str, now: datetime
    ) -> None:
        if not events:
            return
        rows = [
            {
                "at": now,
                "run_id": run_id,
                "kind": kind,
                "record_id": record_id,
                "details": details,
            }
            for kind, record_id, details in events
        ]
        connection.execute(sa.insert(audit), rows)

    def _write_transitions(
        self, connection: sa.Connection, batch: list[Transition], now: datetime
    ) -> None:
        if not batch:
            return
        rows = {
            (t.hubspot_id, t.lead_id, t.stage): _transition_row(
                t, now if t.at is None else _aware(t.at, f"{t.stage} of {t.hubspot_id}"), now
            )
            for t in reversed(batch)  # the first of a batch's repeats is kept
        }
        insert = self._insert(transitions).on_conflict_do_nothing(
            index_elements=[transitions.c.hubspot_id, transitions.c.lead_id, transitions.c.stage]
        )
        connection.execute(insert, list(rows.values()))
        reporting.refresh_journeys(connection, [(h, lead) for h, lead, _ in rows])

    def record_transitions(self, batch: Iterable[Transition]) -> None:
        """Record transitions on their own (history brought in from elsewhere, generated data),
        in one transaction; those a journey has already are kept as first recorded."""
        now = _aware(self._clock(), "clock")
        with self._write() as connection:
            self._write_transitions(connection, list(batch), now)

    def record_touches(self, batch: Iterable[Transition]) -> None:
        """Record `touched` transitions (a first activity, `connector.service.touches`) where
        they are the earliest: a journey's touch recorded later than one of these is moved
        back to it, in one transaction. Transitions of other stages are refused."""
        now = _aware(self._clock(), "clock")
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for t in batch:
            if t.stage != "touched" or t.at is None:
                msg = f"record_touches takes timed touched transitions, not {t.stage!r}"
                raise ValueError(msg)
            at = _aware(t.at, f"touched of {t.hubspot_id}")
            kept = rows.get((t.hubspot_id, t.lead_id))
            if kept is not None and kept["at"] <= at:
                continue
            rows[(t.hubspot_id, t.lead_id)] = _transition_row(t, at, now)
        if not rows:
            return
        insert = self._insert(transitions)
        upsert = insert.on_conflict_do_update(
            index_elements=[transitions.c.hubspot_id, transitions.c.lead_id, transitions.c.stage],
            set_={
                "at": insert.excluded.at,
                "owner_id": insert.excluded.owner_id,
                "reason": insert.excluded.reason,
                "recorded_at": insert.excluded.recorded_at,
            },
            where=insert.excluded.at < transitions.c.at,
        )
        with self._write() as connection:
            connection.execute(upsert, list(rows.values()))
            reporting.refresh_journeys(connection, list(rows))

    # reports (connector.state.reporting)

    def journeys(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        untouched: bool = False,
    ) -> list[Journey]:
        """The journeys (HubSpot contact and Lead) that entered the funnel (MQL, else handoff)
        in [since, until), each with the time it entered every stage: one grouped query.
        `untouched`: only those handed over and not touched yet (whenever they entered)."""
        query = reporting.journey_select(*self._period(since, until), untouched=untouched)
        with self._read() as connection:
            return [reporting.journey(row) for row in connection.execute(query)]

    def funnel_input(
        self, *, since: datetime | None = None, until: datetime | None = None, by: str = "month"
    ) -> FunnelInput:
        """What the funnel report needs of the cohort: aggregated in the database on
        PostgreSQL, from the journeys elsewhere."""
        if not self._aggregates:
            return inputs.funnel_input(self.journeys(since=since, until=until), by)
        with self._read() as connection:
            return reporting.funnel_input(connection, *self._period(since, until), by)

    def sla_input(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        shortest_minutes: float | None = None,
        untouched: bool = False,
        deadlines: Deadlines | None = None,
    ) -> SlaInput:
        """What the SLA report needs of the cohort (`untouched`: of the Leads handed over and
        not touched yet, whenever they entered). With `deadlines`, PostgreSQL counts the
        breaches their pieces settle and leaves those Leads out (SQLite lists every Lead that
        may have missed a target, as without)."""
        if not self._aggregates:
            found = self.journeys(since=since, until=until, untouched=untouched)
            return inputs.sla_input(found, shortest_minutes)
        with self._read() as connection:
            period = self._period(since, until)
            return reporting.sla_input(
                connection, *period, shortest_minutes, untouched=untouched, deadlines=deadlines
            )

    def overdue(self, deadlines: Deadlines) -> list[Overdue]:
        """The Leads handed over and not touched that may be past their target's deadline
        at `deadlines.now`: on PostgreSQL only those their piece of time does not settle as
        not due yet, with the deadline where their piece tells it; elsewhere every Lead
        with a target, each deadline left to compute."""
        if not self._aggregates:
            found = self.journeys(untouched=True)
            late = inputs.sla_input(found, shortest(deadlines.config)).late
            return [Overdue(journey) for journey in late]
        with self._read() as connection:
            return reporting.overdue(connection, deadlines)

    def channel_input(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> ChannelInput:
        """What the channel report needs of the cohort."""
        if not self._aggregates:
            return inputs.channel_input(self.journeys(since=since, until=until))
        with self._read() as connection:
            return reporting.channel_input(connection, *self._period(since, until))

    @property
    def _aggregates(self) -> bool:
        """Whether the database aggregates the reports itself (percentile_cont: PostgreSQL)."""
        return self._engine.dialect.name == "postgresql"

    @staticmethod
    def _period(
        since: datetime | None, until: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        return (
            None if since is None else _aware(since, "since"),
            None if until is None else _aware(until, "until"),
        )


def _create_engine(url: str) -> sa.Engine:
    """An engine for `url`, set up for the store; `ConfigError` when the URL cannot be used."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        msg = f"LEADBRIDGE_DATABASE_URL is not a database URL: {_URL_HELP}"
        raise ConfigError(msg) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        msg = (
            f"LEADBRIDGE_DATABASE_URL names an unsupported database {parsed.drivername!r}: "
            f"{_URL_HELP}"
        )
        raise ConfigError(msg)
    kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver leadbridge[postgres] installs; SQLAlchemy's default is
            # psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        kwargs["pool_pre_ping"] = True
    else:
        _make_parent_dir(parsed)
    try:
        with needs(POSTGRES, setting="LEADBRIDGE_DATABASE_URL"):
            engine = sa.create_engine(parsed, **kwargs)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        msg = f"LEADBRIDGE_DATABASE_URL: no driver for {parsed.drivername!r} ({exc}): {_URL_HELP}"
        raise ConfigError(msg) from None
    if backend == "sqlite":
        _tune_sqlite(engine)
    return engine


def _reason(exc: BaseException, url: sa.URL) -> str:
    """The database's own words for `exc`, on one line, with the URL's password masked."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason


def _name_the_setting(engine: sa.Engine, where: str) -> None:
    """From here on, a failure of the database is one `ConfigError` line naming the setting.

    `open()` proved the store usable, but a disk fills, a file is removed, a server stops in
    the middle of a pass; what the user must look at then is LEADBRIDGE_DATABASE_URL's
    database, not a traceback through SQLAlchemy. Done once, on the engine, so every statement
    (the store's and that of any caller of `StateStore.engine`) is covered. Errors about the
    data sent (IntegrityError, DataError) are leadbridge's bugs and keep their traceback; a
    failed pre-ping is left to the pool, which reconnects.
    """

    @event.listens_for(engine, "handle_error")
    def _on_error(context: sa.engine.ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        if context.is_pre_ping or not isinstance(error, sa.exc.DBAPIError):
            return
        if isinstance(error, sa.exc.IntegrityError | sa.exc.DataError):
            return
        reason = _reason(error, engine.url)
        msg = f"LEADBRIDGE_DATABASE_URL: the state store at {where} failed: {reason}"
        raise ConfigError(msg) from error


def _make_parent_dir(url: sa.URL) -> None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri"):
        return
    parent = Path(database).expanduser().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"LEADBRIDGE_DATABASE_URL: cannot create the directory {parent} ({exc.strerror})"
        raise ConfigError(msg) from None


def _tune_sqlite(engine: sa.Engine) -> None:
    """WAL (readers never block the writer), a busy timeout, and real transactions.

    sqlite3's legacy transaction control begins no transaction for DDL and SELECT; SQLAlchemy
    emits BEGIN itself instead (its documented recipe), so migrations are atomic too, and a
    writing transaction takes the write lock up front (`BEGIN IMMEDIATE`), so a second process
    waits out the busy timeout rather than failing midway.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_MS)}")
            # Deleted and overwritten content is zeroed in the file, so what an erasure
            # removes (`StateStore.erase`) is gone from the disk, not only from the tables.
            cursor.execute("PRAGMA secure_delete = ON")
            _while_busy(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY, with any extended code: another connection holds a lock this one needs."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _while_busy(statement: Callable[[], object]) -> None:
    """Run `statement` again, for as long as the busy timeout, while SQLite answers BUSY.

    For what SQLite fails at once instead of calling its busy handler: switching a file still in
    rollback mode to WAL reads page 1 and then upgrades to the write lock, and an upgrade from a
    read never waits (SQLite's deadlock avoidance). So workers opening a fresh file together
    would all but one fail with "database is locked". Once the file is in WAL (persistent), the
    pragma takes no write lock and succeeds at the first attempt.
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_sqlite_busy),
        wait=tenacity.wait_random_exponential(multiplier=0.005, max=0.25),
        stop=tenacity.stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
        reraise=True,
    )
    retrying(statement)


def _link(row: Any) -> Link:
    """A `links` row as the `Link` it stores."""
    return Link(
        hubspot_id=row.hubspot_id,
        object=cast(SalesforceObject, row.salesforce_object),
        salesforce_id=row.salesforce_id,
        lead_id=row.lead_id,
        contact_id=row.contact_id,
        account_id=row.account_id,
        opportunity_id=row.opportunity_id,
    )
