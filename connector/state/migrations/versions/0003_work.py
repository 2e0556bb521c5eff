"""Work apart from failures: what a stream still owes or must do (hand-overs, conversions in
flight, retries a person asked for, write-backs HubSpot has not confirmed), in a `work` table;
`dead_letters` keeps failures only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Work is not failure: a row here is done by the next pass of its stream; dead letters stay for
what a person must look at. The hand-overs (`RECHECK`) and conversion markers
(`CONVERSION_PENDING`) that earlier versions wrote as dead letters move to `work`.

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
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("not_before", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("stream", "record_id", "kind", name="pk_work"),
    )
    _move_hand_overs()
    _owe_converted_ids()


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    dead_letters = sa.table(
        "dead_letters",
        sa.column("stream"),
        sa.column("record_id"),
        sa.column("reason"),
        sa.column("code"),
        sa.column("payload", JSON),
        sa.column("first_failed_at", TIMESTAMP),
        sa.column("resolved_at", TIMESTAMP),
    )
    work = sa.table(
        "work",
        sa.column("stream"),
        sa.column("record_id"),
        sa.column("kind"),
        sa.column("reason"),
        sa.column("payload", JSON),
        sa.column("not_before", TIMESTAMP),
        sa.column("attempts"),
        sa.column("last_error"),
        sa.column("created_at", TIMESTAMP),
        sa.column("updated_at", TIMESTAMP),
    )
    return dead_letters, work


def _now() -> datetime:
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the store keeps UTC wall time on SQLite
    return now


def _move_hand_overs() -> None:
    """Open hand-overs and conversion markers become work of their stream; none stays a dead
    letter (resolved ones were never failures either)."""
    connection = op.get_bind()
    dead_letters, work = _tables()
    kinds = {"RECHECK": "recheck", "CONVERSION_PENDING": "pending"}
    now = _now()
    query = sa.select(dead_letters).where(
        dead_letters.c.code.in_(list(kinds)), dead_letters.c.resolved_at.is_(None)
    )
    rows = [
        {
            "stream": row.stream,
            "record_id": row.record_id,
            "kind": kinds[row.code],
            "reason": row.reason,
            "payload": row.payload or {},
            "not_before": None,
            "attempts": 0,
            "last_error": None,
            "created_at": row.first_failed_at or now,
            "updated_at": now,
        }
        for row in connection.execute(query)
    ]
    if rows:
        connection.execute(sa.insert(work), rows)
    connection.execute(sa.delete(dead_letters).where(dead_letters.c.code.in_(list(kinds))))


def _owe_converted_ids() -> None:
    connection = op.get_bind()
    links = sa.table(
        "links",
        sa.column("hubspot_id"),
        sa.column("salesforce_object"),
        sa.column("lead_id"),
        *(sa.column(name) for name in IDS.values()),
    )
    _, work = _tables()
    now = _now()
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
                    "stream": "hubspot.writeback",
                    "record_id": row.hubspot_id,
                    "kind": "writeback",
                    "reason": "the ids of a conversion made before write-backs were work",
                    "payload": {prop: getattr(row, column) for prop, column in IDS.items()},
                    "not_before": None,
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
