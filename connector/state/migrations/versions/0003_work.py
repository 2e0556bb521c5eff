"""Work: what is owed to a remote system and not yet confirmed (write-backs to HubSpot).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Work is not failure: a row here is done by the next pass that reaches the remote, whatever
stream it runs; dead letters stay for what a person must look at.

Before this revision a conversion whose HubSpot write-back was interrupted could leave the
contact without its Account and Opportunity ids for good. So every converted link (a Contact
that was our Lead) is owed its three ids once: the next pass reads those contacts (one call per
100) and writes only to the ones that lack them. The stage is not owed: marketing may have moved
the contact since, and the ids are facts where the stage is not.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


#: The properties a conversion writes back (its stream), spelled out here so this revision
#: keeps doing the same whatever that module becomes.
IDS = {
    "salesforcecontactid": "contact_id",
    "salesforceaccountid": "account_id",
    "salesforceopportunityid": "opportunity_id",
}
CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "work",
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("kind", "record_id", name="pk_work"),
    )
    _owe_converted_ids()


def _owe_converted_ids() -> None:
    connection = op.get_bind()
    links = sa.table(
        "links",
        sa.column("hubspot_id"),
        sa.column("salesforce_object"),
        sa.column("lead_id"),
        *(sa.column(name) for name in IDS.values()),
    )
    work = sa.table(
        "work",
        sa.column("kind"),
        sa.column("record_id"),
        sa.column("payload", JSON),
        sa.column("attempts"),
        sa.column("last_error"),
        sa.column("created_at", TIMESTAMP),
        sa.column("updated_at", TIMESTAMP),
    )
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the store keeps UTC wall time on SQLite
    query = (
        sa.select(links)
        .where(links.c.salesforce_object == "Contact", links.c.lead_id.is_not(None))
        .order_by(links.c.hubspot_id)
    )
    rows = connection.execute(query).yield_per(CHUNK)
    for chunk in rows.partitions(CHUNK):
        connection.execute(
            sa.insert(work),
            [
                {
                    "kind": "hubspot.writeback",
                    "record_id": row.hubspot_id,
                    "payload": {prop: getattr(row, column) for prop, column in IDS.items()},
                    "attempts": 0,
                    "last_error": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for row in chunk
            ],
        )


def downgrade() -> None:
    op.drop_table("work")
