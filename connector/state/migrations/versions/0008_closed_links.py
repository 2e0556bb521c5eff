"""Closed links: a HubSpot contact deleted, or merged into another, keeps its link row with
when and why it was closed, so its Salesforce ids stay retrievable (a privacy deletion of the
same contact, which HubSpot sends beside the plain one, needs them) while no stream uses it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

A closed row is read by `StateStore.closed_links` only; `links`, `linked_ids` and `link_count`
see open links. Writing a link for the same contact again (a restored contact) reopens it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("links", sa.Column("closed_at", TIMESTAMP, nullable=True))
    op.add_column("links", sa.Column("closed_reason", sa.Text, nullable=True))


def downgrade() -> None:
    # Closed links go with their marker: without it every reader would take them as open.
    op.execute(sa.text("DELETE FROM links WHERE closed_at IS NOT NULL"))
    with op.batch_alter_table("links") as batch:
        batch.drop_column("closed_reason")
        batch.drop_column("closed_at")
