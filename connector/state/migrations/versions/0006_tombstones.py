"""Tombstones of erased people: their HubSpot and Salesforce ids and a keyed hash of their
email (HMAC-SHA256 under LEADBRIDGE_PRIVACY_KEY), never an email, name or phone, so no later
poll, backfill, reconcile or replay re-creates them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

`key_id` tells the key apart (a fingerprint, not the key): a hash made under another key matches
nothing. `removed` keeps what the erasure removed from the store, as counts per table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tombstones",
        # INTEGER PRIMARY KEY is SQLite's autoincrementing rowid; BIGSERIAL on PostgreSQL.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("hubspot_id", sa.Text, nullable=True),
        sa.Column("lead_id", sa.Text, nullable=True),
        sa.Column("contact_id", sa.Text, nullable=True),
        sa.Column("account_id", sa.Text, nullable=True),
        sa.Column("opportunity_id", sa.Text, nullable=True),
        sa.Column("email_hash", sa.Text, nullable=True),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("erased_at", TIMESTAMP, nullable=False),
        sa.Column("hubspot_outcome", sa.Text, nullable=True),
        sa.Column("salesforce_outcome", sa.Text, nullable=True),
        sa.Column("removed", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tombstones"),
    )
    op.create_index("ix_tombstones_hubspot_id", "tombstones", ["hubspot_id"], unique=True)
    op.create_index("ix_tombstones_email_hash", "tombstones", ["email_hash"])
    op.create_index("ix_tombstones_lead_id", "tombstones", ["lead_id"])
    op.create_index("ix_tombstones_contact_id", "tombstones", ["contact_id"])


def downgrade() -> None:
    op.drop_table("tombstones")
