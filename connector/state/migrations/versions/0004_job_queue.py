"""The job queue several `leadbridge run` processes share on PostgreSQL: Procrastinate's schema
(its tables, types, functions and triggers, all named `procrastinate_*`), in the state store's
schema, applied here so opening the store stays the one step that migrates it.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-11

PostgreSQL only: SQLite is one process, whose worker runs the jobs in-process
(`connector.service.worker`), and gets nothing. The SQL is the `schema.sql` of the installed
Procrastinate, whose migrations it includes up to
`connector.service.queue.SCHEMA_MIGRATION` (checked when a queue starts); a Procrastinate that
adds a migration comes with a revision that applies it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # Sent as one simple query (no parameters, so its '%' stay as they are), in the
    # migration's transaction: a failure leaves no part of it.
    connection.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP TABLE IF EXISTS procrastinate_workers CASCADE")
    functions = connection.execute(
        sa.text(
            "SELECT CAST(CAST(p.oid AS regprocedure) AS text) FROM pg_proc p "
            "WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE :name"
        ),
        {"name": "procrastinate\\_%"},
    ).scalars()
    for function in list(functions):
        op.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    for kind in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {kind} CASCADE")
