"""The store's tables as SQLAlchemy Core objects, and the column types both databases share.

The migrations in `migrations/versions/` create these tables; `tests/unit/test_state_store.py`
checks that a migrated database and these definitions agree, so a change here needs a revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

# Named constraints, so later migrations can refer to them (and SQLite batch mode can copy them).
metadata = sa.MetaData(
    naming_convention={"pk": "pk_%(table_name)s", "ix": "ix_%(table_name)s_%(column_0_name)s"}
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware in UTC, on SQLite too.

    SQLite has no time zones, so the UTC wall time is stored there; PostgreSQL gets a
    `timestamptz`. A naive datetime is refused: its zone would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"naive datetime {value.isoformat()} for the state store: give it a time zone"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON: `jsonb` on PostgreSQL (indexable, compact), JSON text on SQLite."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("value", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("hubspot_id", sa.Text, primary_key=True),
    sa.Column("salesforce_object", sa.Text, nullable=False),
    sa.Column("salesforce_id", sa.Text, nullable=False),
    sa.Column("lead_id", sa.Text, nullable=True),
    sa.Column("contact_id", sa.Text, nullable=True),
    sa.Column("account_id", sa.Text, nullable=True),
    sa.Column("opportunity_id", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Set when the contact was deleted or merged away (migration 0007): the row is kept so
    # its Salesforce ids stay retrievable, and no stream reads it as a link.
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("closed_reason", sa.Text, nullable=True),
)

written_hashes = sa.Table(
    "written_hashes",
    metadata,
    sa.Column("record_key", sa.Text, primary_key=True),
    sa.Column("direction", sa.Text, primary_key=True),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("written_at", UTCDateTime, nullable=False),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("record_id", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=True),
    sa.Column("fields", json_type(), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed_at", UTCDateTime, nullable=False),
    sa.Column("last_failed_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("record_id", sa.Text, nullable=True),
    sa.Column("details", json_type(), nullable=False),
    sa.Index("ix_audit_record_id", "record_id"),
    sa.Index("ix_audit_kind", "kind"),
)

round_robin = sa.Table(
    "round_robin",
    metadata,
    sa.Column("rule", sa.Text, primary_key=True),
    sa.Column("member", sa.Text, primary_key=True),
    sa.Column("turns", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

work = sa.Table(
    "work",
    metadata,
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("record_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("not_before", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("options", json_type(), nullable=False),
    sa.Column("state", json_type(), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("hubspot_id", sa.Text, nullable=True),
    sa.Column("lead_id", sa.Text, nullable=True),
    sa.Column("contact_id", sa.Text, nullable=True),
    sa.Column("account_id", sa.Text, nullable=True),
    sa.Column("opportunity_id", sa.Text, nullable=True),
    sa.Column("email_hash", sa.Text, nullable=True),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("erased_at", UTCDateTime, nullable=False),
    sa.Column("hubspot_outcome", sa.Text, nullable=True),
    sa.Column("salesforce_outcome", sa.Text, nullable=True),
    sa.Column("removed", json_type(), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_tombstones_hubspot_id", "hubspot_id", unique=True),
    sa.Index("ix_tombstones_email_hash", "email_hash"),
    sa.Index("ix_tombstones_lead_id", "lead_id"),
    sa.Index("ix_tombstones_contact_id", "contact_id"),
)

alerts_sent = sa.Table(
    "alerts_sent",
    metadata,
    sa.Column("condition", sa.Text, primary_key=True),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("details", json_type(), nullable=False),
)

transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("hubspot_id", sa.Text, nullable=True),
    sa.Column("lead_id", sa.Text, nullable=True),
    sa.Column("contact_id", sa.Text, nullable=True),
    sa.Column("opportunity_id", sa.Text, nullable=True),
    sa.Column("owner_id", sa.Text, nullable=True),
    sa.Column("queue", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("campaign", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    # One row per stage of a journey (contact and Lead): a replayed batch records nothing new.
    sa.Index("ix_transitions_journey", "hubspot_id", "lead_id", "stage", unique=True),
    sa.Index("ix_transitions_stage_at", "stage", "at"),
)

#: One row per journey (HubSpot contact and Lead): `transitions` grouped, kept in step with it
#: in the transaction that records them (`connector.state.reporting.refresh_journeys`), so the
#: reports aggregate one narrow row per journey instead of grouping every transition each run.
#: `entered`: the MQL time, else the handoff (None: neither yet, counted in no cohort).
journeys = sa.Table(
    "journeys",
    metadata,
    sa.Column("hubspot_id", sa.Text, primary_key=True),
    sa.Column("lead_id", sa.Text, primary_key=True),
    sa.Column("entered", UTCDateTime, nullable=True),
    *(
        sa.Column(stage, UTCDateTime, nullable=True)
        for stage in ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")
    ),
    sa.Column("owner_id", sa.Text, nullable=True),
    sa.Column("queue", sa.Text, nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("campaign", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("opportunity_id", sa.Text, nullable=True),
    sa.Index("ix_journeys_entered", "entered"),
    sa.Index("ix_journeys_handoff", "handoff"),
)
