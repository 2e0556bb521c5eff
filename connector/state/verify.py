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


def check_usable(
    connection: sa.Connection,
    *,
    where: str,
    revision: str,
    reason: Callable[[BaseException], str],
) -> None:
    """Raise `ConfigError` unless every table of the schema takes an INSERT of all its columns.

    Each INSERT selects no row from its own table, so it leaves nothing behind and locks no
    row, yet it names every column (a missing table or column fails it) and takes the write
    path a real one takes: SQLite's write transaction (refused on a read-only file or a
    `mode=ro` URI), PostgreSQL's read-only transaction check and INSERT privilege. Only when
    one fails is the catalog read, to say which it was. `where` names the database (password
    hidden), `revision` the schema revision it is at, and `reason` turns the driver's error
    into the one-line, password-free text shown.
    """
    try:
        with connection.begin_nested():  # PostgreSQL's transaction stays usable to look why
            for table in metadata.sorted_tables:
                columns = list(table.columns)
                nothing = sa.select(*columns).where(sa.false())
                connection.execute(sa.insert(table).from_select(columns, nothing))
    except sa.exc.DBAPIError as exc:
        _check_schema(connection, where=where, revision=revision)
        msg = (
            f"LEADBRIDGE_DATABASE_URL: cannot write to the state store at {where} "
            f"({reason(exc)}): give leadbridge write access to it, or point the setting at "
            "a writable database"
        )
        raise ConfigError(msg) from exc


def _check_schema(connection: sa.Connection, *, where: str, revision: str) -> None:
    """Raise `ConfigError` naming every table and column of `schema.metadata` that is missing.

    Columns are compared by name: types are reflected differently by each database.
    """
    present = {
        table: {column["name"] for column in columns}
        for (_schema, table), columns in sa.inspect(connection).get_multi_columns().items()
    }
    problems: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            problems.append(f"table {table.name} is missing")
            continue
        lacking = [
            column.name for column in table.columns if column.name not in present[table.name]
        ]
        if lacking:
            problems.append(f"table {table.name} lacks column {', '.join(lacking)}")
    if problems:
        msg = (
            f"LEADBRIDGE_DATABASE_URL: the state store at {where} is damaged "
            f"({'; '.join(problems)}, though it is at schema revision {revision}): {_FIX}"
        )
        raise ConfigError(msg)
