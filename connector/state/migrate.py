"""Brings a store's database to the newest schema: alembic, run from the package, no alembic.ini.

Migrations run inside the caller's transaction, so a failed upgrade leaves the old schema. On
PostgreSQL a transaction-scoped advisory lock serialises workers that start together; on SQLite
the caller's `BEGIN IMMEDIATE` does the same.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from connector.errors import ConfigError

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant shared by every leadbridge process; "lbst" (leadbridge state) in ASCII.
_PG_LOCK_KEY = 0x6C627374


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    # Config values go through configparser interpolation: a '%' in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this leadbridge knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package ships its revisions
        msg = f"no migrations found in {MIGRATIONS_DIR}"
        raise RuntimeError(msg)
    return revision


def current(connection: sa.Connection) -> tuple[str, ...]:
    """The revisions the database is at (empty: never migrated)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade(connection: sa.Connection, *, where: str) -> bool:
    """Upgrade to head in the caller's transaction; True when anything ran.

    `where` names the database (password hidden) for the error raised when it was migrated by a
    newer leadbridge than this one.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    script = ScriptDirectory.from_config(_config())
    at = current(connection)
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = sorted(set(at) - known)
    if unknown:
        msg = (
            f"LEADBRIDGE_DATABASE_URL: the state store at {where} is at schema revision "
            f"{', '.join(unknown)}, newer than this leadbridge knows ({head()}): upgrade leadbridge"
        )
        raise ConfigError(msg)
    if set(at) == set(script.get_heads()):
        return False
    command.upgrade(_config(connection), "head")
    log.info("state.migrated", database=where, from_revision=",".join(at) or None, to=head())
    return True
