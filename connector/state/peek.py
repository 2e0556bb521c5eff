"""A stream's cursor, read without opening the store for writing.

`mappings plan` says which records the next pass will send (those changed since the stream's
cursor) and must write nothing: `StateStore.open` creates or migrates the schema, and on SQLite
switches the file to WAL, so this reads the `cursors` table over a read-only connection
instead (SQLite `mode=ro`; a PostgreSQL transaction set READ ONLY), and never creates a file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from connector.extras import POSTGRES, MissingExtra, needs
from connector.state.schema import cursors


@dataclass(frozen=True)
class CursorPeek:
    """What the store says of a stream's cursor: `value` (None: no pass recorded one, or the
    store does not exist yet: `exists`), or `problem`, why it could not be read."""

    value: datetime | None = None
    exists: bool = True
    problem: str | None = None


def peek_cursor(url: str, stream: str) -> CursorPeek:
    """The cursor of `stream` in the store at `url` (LEADBRIDGE_DATABASE_URL), read-only."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return CursorPeek(problem="LEADBRIDGE_DATABASE_URL is not a database URL")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_read_only(parsed)
        if engine is None:
            return CursorPeek(exists=False)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            with needs(POSTGRES):
                engine = sa.create_engine(
                    parsed, connect_args={"connect_timeout": 10}, poolclass=sa.pool.NullPool
                )
        except MissingExtra as exc:
            return CursorPeek(problem=str(exc))
        except (ImportError, sa.exc.NoSuchModuleError):
            return CursorPeek(problem=f"no driver for {parsed.drivername!r}")
    else:
        return CursorPeek(problem=f"unsupported database {parsed.drivername!r}")
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            if not sa.inspect(connection).has_table(cursors.name):
                return CursorPeek(exists=False)
            value = connection.scalar(sa.select(cursors.c.value).where(cursors.c.stream == stream))
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        if parsed.password:
            reason = reason.replace(parsed.password, "***")
        return CursorPeek(problem=reason)
    finally:
        engine.dispose()
    return CursorPeek(value=value)


def _sqlite_read_only(url: sa.URL) -> sa.Engine | None:
    """An engine opening the SQLite file of `url` read-only; None when there is no file (no
    pass has run against it)."""
    database = url.database or ""
    if url.query.get("uri"):  # already a URI (`file:...?mode=ro&uri=true`): as given
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser()
    if not path.is_file():
        return None
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True),
        poolclass=sa.pool.NullPool,
    )
