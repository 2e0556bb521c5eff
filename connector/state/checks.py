"""Proves at open that a store's database is usable: every table and column, and writable.

The schema revision alone proves neither: a table dropped by hand (or a restore that missed one)
leaves `alembic_version` at head, and a read-only file or role answers every read. Either would
otherwise be found by the first `record()` of a pass, after Salesforce and HubSpot were written.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from connector.errors import ConfigError
from connector.state.schema import metadata

_FIX = "restore it from a backup, or point LEADBRIDGE_DATABASE_URL at a new database"


def check_schema(connection: sa.Connection, *, where: str, revision: str) -> None:
    """Raise `ConfigError` unless every table and column `schema.metadata` declares exists.

    `where` names the database (password hidden), `revision` the schema revision it is at.
    Columns are compared by name: types are reflected differently by each database.
    """
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    problems: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            problems.append(f"table {table.name} is missing")
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        lacking = [column.name for column in table.columns if column.name not in have]
        if lacking:
            problems.append(f"table {table.name} lacks column {', '.join(lacking)}")
    if problems:
        msg = (
            f"LEADBRIDGE_DATABASE_URL: the state store at {where} is damaged "
            f"({'; '.join(problems)}, though it is at schema revision {revision}): {_FIX}"
        )
        raise ConfigError(msg)


def check_writable(
    connection: sa.Connection, *, where: str, reason: Callable[[BaseException], str]
) -> None:
    """Raise `ConfigError` unless every table of the schema takes an INSERT.

    Each INSERT selects no row, so it leaves nothing behind and locks no row, yet it takes the
    write path a real one takes: SQLite's write transaction (refused on a read-only file or
    `mode=ro` URI), PostgreSQL's read-only transaction check and INSERT privilege (whose
    error names the table). `reason` turns the driver's error into the one-line,
    password-free text shown.
    """
    for table in metadata.sorted_tables:
        columns = list(table.columns)
        nothing = sa.select(*columns).where(sa.false())
        try:
            connection.execute(sa.insert(table).from_select(columns, nothing))
        except sa.exc.DBAPIError as exc:
            msg = (
                f"LEADBRIDGE_DATABASE_URL: cannot write to the state store at {where} "
                f"({reason(exc)}): give leadbridge write access to it, or point the setting at "
                "a writable database"
            )
            raise ConfigError(msg) from exc
