"""Alerts sent: when each alert condition (a dead-letter spike in a stream, a stream lagging, the
API budget at the reserve, a lead past its SLA) was last sent, so it is sent at most once per
period however many workers see it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alerts_sent",
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("condition", name="pk_alerts_sent"),
    )


def downgrade() -> None:
    op.drop_table("alerts_sent")
