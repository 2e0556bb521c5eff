"""Checkpoints of one-off runs (`leadbridge backfill`, `backfill --mapping-changed`): where a
run stands, recorded in the same transaction as each batch it wrote, so a stopped or killed run
goes on from there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
