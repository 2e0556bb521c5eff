"""Alembic environment: runs the revisions on the connection `connector.state.migrate` hands in.

There is no alembic.ini and no engine here: the store opens the database, takes the migration
lock, starts the transaction and passes its connection in `config.attributes["connection"]`.
A new revision is a hand-written file in `versions/` (`0002_what.py`, `down_revision = "0001"`)
that spells its types out instead of importing `connector.state.schema`; use
`op.batch_alter_table` for changes SQLite cannot ALTER in place.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    msg = "the state store's migrations run through connector.state.migrate, on a connection"
    raise RuntimeError(msg)

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
