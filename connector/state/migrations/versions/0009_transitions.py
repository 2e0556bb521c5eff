"""Transitions: each stage a lead's journey entered (MQL, handoff, first touch, accepted,
rejected, SQL, opportunity) with its time, ids, owner, queue, source, campaign and rejection
reason, for the funnel, SLA and channel reports. Ids only, never a name, email or phone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

The audit log records what the streams did, not when a lead entered a stage nor its source:
reports need both, aggregated over a million rows, so they get a table of their own. One row
per stage of a journey (HubSpot contact and Lead; unique), so a replayed batch adds nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transitions",
        # INTEGER PRIMARY KEY is SQLite's autoincrementing rowid; BIGSERIAL on PostgreSQL.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("hubspot_id", sa.Text, nullable=True),
        sa.Column("lead_id", sa.Text, nullable=True),
        sa.Column("contact_id", sa.Text, nullable=True),
        sa.Column("opportunity_id", sa.Text, nullable=True),
        sa.Column("owner_id", sa.Text, nullable=True),
        sa.Column("queue", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("campaign", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transitions"),
    )
    op.create_index(
        "ix_transitions_journey", "transitions", ["hubspot_id", "lead_id", "stage"], unique=True
    )
    op.create_index("ix_transitions_stage_at", "transitions", ["stage", "at"])


def downgrade() -> None:
    op.drop_table("transitions")
