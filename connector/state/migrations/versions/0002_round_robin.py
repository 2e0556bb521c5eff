"""Round-robin turns of the routing rules: how many leads each user of a rule has had.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "round_robin",
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("member", sa.Text, nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("rule", "member", name="pk_round_robin"),
    )


def downgrade() -> None:
    op.drop_table("round_robin")
