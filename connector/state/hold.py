"""One holder per stream: the lock a run of a stream takes before it reads its work, so two
runs of one stream never overlap (two passes at once route contacts twice, count round-robin
turns twice and convert a Lead the other run just converted).

The lock belongs to the database, not to a process, and dies with its holder:

- PostgreSQL: a session-level advisory lock, `pg_try_advisory_lock(NAMESPACE, key)`, on a
  connection of its own kept for the hold (autocommit, so it never idles in a transaction).
  The two-int key form is a key space of its own, apart from the migration's one-bigint lock
  (`connector.state.migrate`); `key` is a stable hash of the schema and the stream, so stores in
  two schemas of one database do not block each other. The server frees the lock when that
  connection closes, a killed process included. The holder's connection carries
  `application_name = "leadbridge pid N on HOST"`, which a loser reads through `pg_locks`.
- SQLite: `flock` on a file beside the database, `<database>.<stream>.lock` (kept: removing a
  lock file while another process may have it open would let two holders in). The holder
  writes its pid and host into it for a loser's message; the kernel frees the lock when the
  holder's file is closed, a killed process included. Each hold opens the file anew, and flock
  locks of separate opens exclude each other, so threads of one process are held apart too.
  A URI database (`sqlite:///file:X?mode=ro&uri=true`) locks beside the file X names.
- An in-memory SQLite database lives in one process: a lock of the store's own.

A lock is not re-entrant: a run holding its stream must not take it again.

Shared holds and record holds (PostgreSQL only): a run of the records webhooks named holds its
stream *shared* and each of its records alone (`RecordLocks`), so such runs go on side by side
on different records, while a pass, holding its stream alone, runs beside none of them. A pass
waiting for its stream queues for it (`AdvisoryLock`'s `queue`): shared holds asked for
meanwhile are refused until it had its turn, so a steady stream of webhook runs never keeps a
pass out. On SQLite (one process, one worker thread) a shared hold is a hold alone and a record
hold holds every record asked for: nothing runs side by side there.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import OID

from connector.errors import ConfigError, StreamBusy

log = structlog.get_logger(__name__)

#: How long a run waits by default for another holder of its stream to finish.
DEFAULT_WAIT_SECONDS = 30.0
#: The first pause between two tries, doubled after each try up to `MAX_PAUSE`: a short hold
#: is noticed quickly, a long one costs four cheap tries a second (a holder in another process
#: is seen gone within `MAX_PAUSE`; one in this process wakes its waiters as it lets go).
FIRST_PAUSE = 0.02
MAX_PAUSE = 0.25
#: The first key of every stream lock (the two-int form): "lbsh" (leadbridge stream hold).
PG_NAMESPACE = 0x6C627368
#: The first key of every record lock: "lbrh" (leadbridge record hold).
PG_RECORD_NAMESPACE = 0x6C627268
#: The longest one try for a stream alone waits in PostgreSQL's queue for it (shared holds
#: asked for meanwhile wait behind it); tries go on as `acquire` says, so a stop is seen within
#: this and `MAX_PAUSE`.
QUEUE_SECONDS = MAX_PAUSE
_APP_PREFIX = "leadbridge "
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out
_PG_NAME_MAX = 63  # NAMEDATALEN - 1: PostgreSQL cuts application_name there


@dataclass(frozen=True)
class Wait:
    """How long a run waits for another holder of its stream before giving up with
    `StreamBusy`: `seconds` 0 does not wait, `math.inf` waits as long as it takes; once `stop`
    is set (a service shutting down) a waiting run gives up (within `MAX_PAUSE`)."""

    seconds: float = DEFAULT_WAIT_SECONDS
    stop: threading.Event | None = None

    def __post_init__(self) -> None:
        if math.isnan(self.seconds) or self.seconds < 0:
            msg = f"a wait of {self.seconds} s: give 0 or more seconds (math.inf: no bound)"
            raise ValueError(msg)


class Lock(Protocol):
    """One try-lock on one stream; a new one per hold."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when someone holds it."""

    def holder(self) -> str | None:
        """Who holds it ("pid 1234 on host"), when that can be known."""

    def release(self) -> None:
        """Give the lock back (only after `try_acquire` returned True)."""

    def close(self) -> None:
        """Free what a try that did not win left open."""


def me() -> str:
    """This process, as a loser's message names it."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


def acquire(
    lock: Lock,
    stream: str,
    wait: Wait,
    *,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], object] = time.sleep,
) -> float:
    """Take `lock`, trying again with growing pauses for as long as `wait` allows (`pause` may
    return early, when a holder in this process lets go); the seconds waited, or `StreamBusy`
    naming the stream and its holder."""
    if lock.try_acquire():
        return 0.0
    started = clock()
    log.info(
        "state.stream_busy",
        stream=stream,
        holder=lock.holder(),
        wait=wait.seconds if math.isfinite(wait.seconds) else "forever",
    )
    step = FIRST_PAUSE
    while True:
        left = wait.seconds - (clock() - started)
        if left <= 0:
            raise StreamBusy(stream, holder=lock.holder(), waited=wait.seconds)
        pause(min(step, left))
        if wait.stop is not None and wait.stop.is_set():
            raise StreamBusy(stream, holder=lock.holder(), waited=wait.seconds, stopping=True)
        if lock.try_acquire():
            waited = clock() - started
            log.info("state.stream_held", stream=stream, waited=round(waited, 3))
            return waited
        step = min(step * 2, MAX_PAUSE)


# -- SQLite ----------------------------------------------------------------------------------


def sqlite_file(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL (absolute), or None for an in-memory database:
    `sqlite://`, `:memory:`, and with `uri=true` `file::memory:` or `mode=memory`."""
    database = url.database or ""
    if database in ("", ":memory:"):
        return None
    if str(url.query.get("uri", "")).lower() in ("true", "1", "yes", "on"):
        if url.query.get("mode") == "memory":
            return None
        parts = urlsplit(database)
        if parts.scheme == "file":
            database = unquote(parts.path)
            if database in ("", ":memory:"):
                return None
    return Path(database).expanduser().absolute()


def lock_path(database: Path, stream: str) -> Path:
    """`<database>.<stream>.lock`, beside the database (a stream name is a plain dotted word;
    anything else in it is quoted, so it cannot leave the directory)."""
    safe = "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in stream)
    return database.with_name(f"{database.name}.{safe}.lock")


class FileLock:
    """`flock` on the stream's lock file; the holder's pid and host written in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                msg = (
                    f"LEADBRIDGE_DATABASE_URL: cannot open the lock file {self.path} "
                    f"({exc.strerror})"
                )
                raise ConfigError(msg) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            msg = f"LEADBRIDGE_DATABASE_URL: cannot lock {self.path} ({exc.strerror})"
            raise ConfigError(msg) from None
        who = {"pid": os.getpid(), "host": socket.gethostname(), "thread": _thread()}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(who).encode(), 0)
        return True

    def holder(self) -> str | None:
        try:
            who = json.loads(self.path.read_text(encoding="utf-8"))
            pid, host = int(who["pid"]), str(who["host"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # being written, or emptied by a release just now
        if pid == os.getpid() and host == socket.gethostname():
            return f"pid {pid} on {host}: this process, thread {who.get('thread')}"
        return f"pid {pid} on {host}"

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            self.close()  # closing the file frees the lock

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LocalLock:
    """A lock of this process (an in-memory database, which no other process can open)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._held = False

    def try_acquire(self) -> bool:
        self._held = self._lock.acquire(blocking=False)
        return self._held

    def holder(self) -> str | None:
        return f"{me()}: this process"

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()

    def close(self) -> None:
        """Nothing is open before the lock is held."""


def _thread() -> str:
    return threading.current_thread().name


# -- PostgreSQL ------------------------------------------------------------------------------


# The catalog views a loser reads to name the holder.
_pg_locks = sa.table(
    "pg_locks",
    *(
        sa.column(name)
        for name in ("pid", "locktype", "objsubid", "database", "classid", "objid", "mode")
    ),
    sa.column("granted", sa.Boolean),
)
_pg_stat_activity = sa.table("pg_stat_activity", sa.column("pid"), sa.column("application_name"))
_pg_database = sa.table("pg_database", sa.column("oid"), sa.column("datname"))


def pg_key(schema: str, stream: str) -> int:
    """The second key of a stream's advisory lock: a stable hash of the schema holding the
    state tables and the stream, in 31 bits (so `pg_locks`, which shows it as an oid, shows the
    same number)."""
    digest = hashlib.blake2b(f"{schema}\x00{stream}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


class AdvisoryLock:
    """A session-level advisory lock on a connection kept for the hold: alone, or `shared`
    with other shared holders. `queue`: seconds a try for the lock alone may wait in the
    server's queue for it (0: a try never waits), so shared holds asked for meanwhile wait
    behind it."""

    def __init__(
        self, engine: sa.Engine, stream: str, *, shared: bool = False, queue: float = 0.0
    ) -> None:
        self._engine = engine
        self._stream = stream
        self._shared = shared
        self._queue = 0.0 if shared else max(0.0, queue)
        self._connection: sa.Connection | None = None
        self._key = 0

    def _connect(self) -> sa.Connection:
        if self._connection is None:
            connection = self._engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            schema = connection.scalar(sa.select(sa.func.current_schema())) or ""
            self._key = pg_key(schema, self._stream)
            self._connection = connection
        return self._connection

    def try_acquire(self) -> bool:
        connection = self._connect()
        if self._queue:
            taken = self._queued(connection)
        else:
            functions = sa.func
            try_lock = (
                functions.pg_try_advisory_lock_shared
                if self._shared
                else functions.pg_try_advisory_lock
            )
            taken = bool(connection.scalar(sa.select(try_lock(PG_NAMESPACE, self._key))))
        if taken:
            name = f"{_APP_PREFIX}{me()}"[:_PG_NAME_MAX]
            connection.execute(sa.select(sa.func.set_config("application_name", name, sa.false())))
        return bool(taken)

    def _queued(self, connection: sa.Connection) -> bool:
        """Wait in the server's queue for the lock alone, at most `queue` seconds."""
        timeout = max(1, round(self._queue * 1000))
        connection.exec_driver_sql(f"SET lock_timeout = {timeout}")
        try:
            connection.execute(sa.select(sa.func.pg_advisory_lock(PG_NAMESPACE, self._key)))
        except Exception as exc:  # the store names its setting: a ConfigError from it
            if _sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            # A timeout that fires as the lock is granted still cancels the statement, the lock
            # held (a session's advisory lock outlives the error): taken, then.
            return self._held_here(connection)
        finally:
            connection.exec_driver_sql("RESET lock_timeout")
        return True

    def _held_here(self, connection: sa.Connection) -> bool:
        """Whether this session holds the lock alone."""
        return self._holds_here(connection, mode="ExclusiveLock")

    def _holds_here(self, connection: sa.Connection, mode: str | None = None) -> bool:
        """Whether this session holds the lock (in `mode`, when given)."""
        query = sa.select(sa.func.count()).where(
            _pg_locks.c.locktype == "advisory",
            _pg_locks.c.granted.is_(True),
            _pg_locks.c.pid == sa.func.pg_backend_pid(),
            _pg_locks.c.objsubid == 2,
            _pg_locks.c.classid == sa.cast(sa.literal(PG_NAMESPACE), OID),
            _pg_locks.c.objid == sa.cast(sa.literal(self._key), OID),
        )
        if mode is not None:
            query = query.where(_pg_locks.c.mode == mode)
        return bool(connection.scalar(query))

    def holder(self) -> str | None:
        connection = self._connect()
        database = (
            sa.select(_pg_database.c.oid)
            .where(_pg_database.c.datname == sa.func.current_database())
            .scalar_subquery()
        )
        query = (
            sa.select(_pg_locks.c.pid, _pg_stat_activity.c.application_name)
            .select_from(
                _pg_locks.outerjoin(_pg_stat_activity, _pg_stat_activity.c.pid == _pg_locks.c.pid)
            )
            .where(
                _pg_locks.c.locktype == "advisory",
                _pg_locks.c.granted.is_(True),
                _pg_locks.c.objsubid == 2,  # the two-int key space
                _pg_locks.c.database == database,
                _pg_locks.c.classid == sa.cast(sa.literal(PG_NAMESPACE), OID),
                _pg_locks.c.objid == sa.cast(sa.literal(self._key), OID),
            )
        )
        row = connection.execute(query).first()
        if row is None:
            return None
        name = row.application_name or ""
        if name.startswith(_APP_PREFIX):
            return name.removeprefix(_APP_PREFIX)
        return f"PostgreSQL backend pid {row.pid}"

    def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._connection = None
        unlock = sa.func.pg_advisory_unlock_shared if self._shared else sa.func.pg_advisory_unlock
        try:
            freed = connection.scalar(sa.select(unlock(PG_NAMESPACE, self._key)))
            # Held twice by this session (never meant to be: a session is one hold), it would
            # stay held on the pooled connection after this hold: let go of it wholly.
            while freed and self._holds_here(connection):
                log.warning("state.stream_held_twice", stream=self._stream)
                connection.scalar(sa.select(unlock(PG_NAMESPACE, self._key)))
            connection.exec_driver_sql("RESET application_name")
        except Exception as exc:  # the session is gone, and the lock with it
            connection.invalidate()
            freed, reason = False, str(exc)
        except BaseException:
            connection.invalidate()  # closing the session frees the lock
            raise
        else:
            reason = "the lock was not held any more"
        finally:
            connection.close()
        if not freed:
            # The session was lost during the hold (a server restart, a killed backend):
            # another run may have held the stream meanwhile.
            log.warning("state.stream_hold_lost", stream=self._stream, reason=reason)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of the driver's error `exc` is or was caused by (None: not the driver's)."""
    seen = 0
    while exc is not None and seen < 5:
        for error in (exc, getattr(exc, "orig", None)):
            state = getattr(error, "sqlstate", None)
            if isinstance(state, str):
                return state
        exc, seen = exc.__cause__, seen + 1
    return None


def record_key(schema: str, stream: str, record_id: str) -> int:
    """The second key of a record's advisory lock (as `pg_key`, the record's id added)."""
    digest = hashlib.blake2b(f"{schema}\x00{stream}\x00{record_id}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big") & 0x7FFFFFFF


class RecordLocks:
    """Session-level advisory locks on records of one stream, on a connection kept for the
    hold: `try_acquire` takes those no one holds (never waiting, so two runs taking records in
    any order never wait for each other) and says which; `release` gives them all back. Two
    records whose keys collide are held together (one waits for the other's run: never
    wrong)."""

    def __init__(self, engine: sa.Engine, stream: str) -> None:
        self._engine = engine
        self._stream = stream
        self._connection: sa.Connection | None = None

    def try_acquire(self, record_ids: Sequence[str], limit: int | None = None) -> list[str]:
        """The records of `record_ids` now held by this hold (the others are another's), tried
        in the order given until `limit` are held (every one when None)."""
        if self._connection is None:
            connection = self._engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
        connection = self._connection
        schema = connection.scalar(sa.select(sa.func.current_schema())) or ""
        keys: dict[int, list[str]] = {}
        for record_id in dict.fromkeys(record_ids):
            keys.setdefault(record_key(schema, self._stream, record_id), []).append(record_id)
        if not keys or limit == 0:
            return []
        # Tried one key after the other in the array's order, until the limit is met.
        array = sa.cast(sa.bindparam("keys"), postgresql.ARRAY(sa.Integer))
        ordered = sa.func.unnest(array).table_valued("k", with_ordinality="n")
        tried = ordered.render_derived(name="t")
        query = (
            sa.select(tried.c.k)
            .select_from(tried)
            .where(sa.func.pg_try_advisory_lock(sa.bindparam("namespace"), tried.c.k))
            .limit(sa.bindparam("limit"))
        )
        taken = connection.scalars(
            query, {"keys": list(keys), "namespace": PG_RECORD_NAMESPACE, "limit": limit}
        ).all()
        return sorted(record_id for key in taken for record_id in keys[key])

    def release(self) -> None:
        """Give every record back (the session's record locks: it holds nothing else)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(sa.select(sa.func.pg_advisory_unlock_all()))
        except BaseException:
            connection.invalidate()  # closing the session frees the locks
            raise
        finally:
            connection.close()
