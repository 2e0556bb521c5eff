"""Journeys: one row per journey (HubSpot contact and Lead) with the time of each stage and
what the reports group by, kept in step with `transitions` as they are recorded, so the
funnel, SLA and channel reports aggregate one narrow row per journey instead of grouping a
million transitions on every run. Filled here from the transitions recorded so far.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
STAGES = ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")


def _first(stage: str) -> str:
    return f"MIN(CASE WHEN stage = '{stage}' THEN at END)"


def _value(stage: str, column: str) -> str:
    return f"MAX(CASE WHEN stage = '{stage}' THEN {column} END)"


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("hubspot_id", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("entered", TIMESTAMP, nullable=True),
        *(sa.Column(stage, TIMESTAMP, nullable=True) for stage in STAGES),
        sa.Column("owner_id", sa.Text, nullable=True),
        sa.Column("queue", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("campaign", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("opportunity_id", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("hubspot_id", "lead_id", name="pk_journeys"),
    )
    # The same grouping as connector.state.reporting.grouped, written out (a migration does not
    # follow later code): entered is the MQL, else the handoff; the owner the first touch's.
    owner = ", ".join(_value(s, "owner_id") for s in ("touched", "accepted", "rejected", "handoff"))
    op.execute(
        "INSERT INTO journeys (hubspot_id, lead_id, entered, "
        + ", ".join(STAGES)
        + ", owner_id, queue, source, campaign, reason, opportunity_id) "
        + f"SELECT hubspot_id, lead_id, COALESCE({_first('mql')}, {_first('handoff')}), "
        + ", ".join(_first(s) for s in STAGES)
        + f", COALESCE({owner}), {_value('handoff', 'queue')}, MAX(source), MAX(campaign), "
        + f"{_value('rejected', 'reason')}, {_value('opportunity', 'opportunity_id')} "
        + "FROM transitions WHERE hubspot_id IS NOT NULL AND lead_id IS NOT NULL "
        + "GROUP BY hubspot_id, lead_id"
    )
    op.create_index("ix_journeys_entered", "journeys", ["entered"])
    op.create_index("ix_journeys_handoff", "journeys", ["handoff"])


def downgrade() -> None:
    op.drop_table("journeys")
