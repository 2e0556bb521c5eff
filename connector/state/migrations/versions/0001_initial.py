"""The first schema: cursors, links, written hashes, dead letters, audit.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Types are spelled out here rather than imported from `connector.state.schema`, so that this
revision keeps creating the same tables whatever the schema module later becomes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("value", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("stream", name="pk_cursors"),
    )
    op.create_table(
        "links",
        sa.Column("hubspot_id", sa.Text, nullable=False),
        sa.Column("salesforce_object", sa.Text, nullable=False),
        sa.Column("salesforce_id", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Text, nullable=True),
        sa.Column("contact_id", sa.Text, nullable=True),
        sa.Column("account_id", sa.Text, nullable=True),
        sa.Column("opportunity_id", sa.Text, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("hubspot_id", name="pk_links"),
    )
    op.create_table(
        "written_hashes",
        sa.Column("record_key", sa.Text, nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("written_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("record_key", "direction", name="pk_written_hashes"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_failed_at", TIMESTAMP, nullable=False),
        sa.Column("last_failed_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("stream", "record_id", name="pk_dead_letters"),
    )
    op.create_table(
        "audit",
        # INTEGER PRIMARY KEY is SQLite's autoincrementing rowid; BIGSERIAL on PostgreSQL.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_record_id", "audit", ["record_id"])
    op.create_index("ix_audit_kind", "audit", ["kind"])


def downgrade() -> None:
    for table in ("audit", "dead_letters", "written_hashes", "links", "cursors"):
        op.drop_table(table)
