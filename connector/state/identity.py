"""What a HubSpot contact merge or deletion does to the store, inside the caller's transaction
(`StateStore.merge_contacts`, `StateStore.close_link`).

A merge moves what the store knows of the merged-away contacts to the survivor: the link kept
(`keep`, from whichever contact it came), the written hashes that go with it, their work
(write-backs owed combined, other work re-keyed), their open dead letters resolved (the ids
never come again). A merged-away contact whose link was not kept (its Lead is the duplicate)
keeps its row closed, its Salesforce ids retrievable; one whose link moved has its row removed
(the survivor's row carries its ids now). A deletion closes the contact's link the same way.

Every step reads what is there and writes only what is missing, so running a merge again (the
event delivered twice, or a run killed after the commit) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from connector.model import Link
from connector.state.keys import contact_fields_key, contact_key, contact_sending_key
from connector.state.schema import dead_letters, links, work, written_hashes
from connector.state.work import WRITEBACK, owe

#: Streams whose rows are about the merge or deletion itself: never re-keyed.
OWN_STREAMS = ("hubspot.merges", "hubspot.deletions")

Insert = Callable[[sa.Table], Any]


def merge(
    connection: sa.Connection,
    insert: Insert,
    *,
    survivor: str,
    merged: Sequence[str],
    keep: Link | None,
    kept_from: str | None,
    now: datetime,
) -> dict[str, int]:
    """Move the merged-away contacts' store rows to `survivor` (see the module); counts of
    what moved, per kind."""
    others = [m for m in dict.fromkeys(merged) if m != survivor]
    moved = {"links": 0, "hashes": 0, "work": 0, "resolved": 0}
    if keep is not None:
        _write_link(connection, insert, keep, survivor, now)
    for hubspot_id in others:
        if hubspot_id == kept_from:
            moved["links"] += connection.execute(
                sa.delete(links).where(links.c.hubspot_id == hubspot_id)
            ).rowcount
        else:
            moved["links"] += close(connection, hubspot_id, f"merged into {survivor}", now)
    moved["hashes"] = _move_hashes(connection, insert, survivor, others, kept_from, now)
    moved["work"] = _move_work(connection, insert, survivor, others, now)
    if others:
        moved["resolved"] = connection.execute(
            sa.update(dead_letters)
            .where(
                dead_letters.c.record_id.in_(others),
                dead_letters.c.resolved_at.is_(None),
                dead_letters.c.stream.not_in(OWN_STREAMS),
            )
            .values(resolved_at=now)
        ).rowcount
    return moved


def close(connection: sa.Connection, hubspot_id: str, reason: str, now: datetime) -> int:
    """Close the open link of `hubspot_id` (kept, with its Salesforce ids); 1 when it was
    open, 0 when there was none or it was closed already."""
    return int(
        connection.execute(
            sa.update(links)
            .where(links.c.hubspot_id == hubspot_id, links.c.closed_at.is_(None))
            .values(closed_at=now, closed_reason=reason, updated_at=now)
        ).rowcount
    )


def _write_link(
    connection: sa.Connection, insert: Insert, keep: Link, survivor: str, now: datetime
) -> None:
    row = {
        "hubspot_id": survivor,
        "salesforce_object": keep.object,
        "salesforce_id": keep.salesforce_id,
        "lead_id": keep.lead_id,
        "contact_id": keep.contact_id,
        "account_id": keep.account_id,
        "opportunity_id": keep.opportunity_id,
        "updated_at": now,
        "closed_at": None,
        "closed_reason": None,
    }
    statement = insert(links)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[links.c.hubspot_id],
            set_={name: statement.excluded[name] for name in row if name != "hubspot_id"},
        ),
        row,
    )


def _move_hashes(
    connection: sa.Connection,
    insert: Insert,
    survivor: str,
    others: Sequence[str],
    kept_from: str | None,
    now: datetime,
) -> int:
    """The hashes follow the link kept: those of the contact it came from become the
    survivor's; every merged-away contact's are dropped (their Lead is not written for them
    again)."""
    if not others:
        return 0
    moved = 0
    if kept_from is not None and kept_from != survivor:
        pairs = {
            contact_key(kept_from): contact_key(survivor),
            contact_fields_key(kept_from): contact_fields_key(survivor),
            contact_sending_key(kept_from): contact_sending_key(survivor),
        }
        rows = connection.execute(
            sa.select(written_hashes).where(written_hashes.c.record_key.in_(list(pairs)))
        ).all()
        if rows:
            statement = insert(written_hashes)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[written_hashes.c.record_key, written_hashes.c.direction],
                    set_={"hash": statement.excluded.hash, "written_at": now},
                ),
                [
                    {
                        "record_key": pairs[row.record_key],
                        "direction": row.direction,
                        "hash": row.hash,
                        "written_at": now,
                    }
                    for row in rows
                ],
            )
            moved = len(rows)
    keys = [
        k for h in others for k in (contact_key(h), contact_fields_key(h), contact_sending_key(h))
    ]
    connection.execute(sa.delete(written_hashes).where(written_hashes.c.record_key.in_(keys)))
    return moved


def _move_work(
    connection: sa.Connection, insert: Insert, survivor: str, others: Sequence[str], now: datetime
) -> int:
    """The merged-away contacts' work becomes the survivor's: a write-back owed is added to
    what the survivor is owed; other work is kept unless the survivor has the same already."""
    if not others:
        return 0
    query = sa.select(work).where(work.c.record_id.in_(others), work.c.stream.not_in(OWN_STREAMS))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = connection.execute(query).all()
    for row in rows:
        if row.kind == WRITEBACK:
            current = connection.execute(
                sa.select(work.c.payload).where(
                    work.c.stream == row.stream,
                    work.c.record_id == survivor,
                    work.c.kind == WRITEBACK,
                )
            ).scalar()
            # The survivor's own debts win over the merged-away contact's.
            payload = owe(dict(row.payload), dict(current or {}))
            statement = insert(work)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[work.c.stream, work.c.record_id, work.c.kind],
                    set_={"payload": statement.excluded.payload, "updated_at": now},
                ),
                _work_row(row, survivor, payload, now),
            )
        else:
            connection.execute(
                insert(work).on_conflict_do_nothing(
                    index_elements=[work.c.stream, work.c.record_id, work.c.kind]
                ),
                _work_row(row, survivor, dict(row.payload), now),
            )
    if rows:
        connection.execute(
            sa.delete(work).where(work.c.record_id.in_(others), work.c.stream.not_in(OWN_STREAMS))
        )
    return len(rows)


def _work_row(row: Any, survivor: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "stream": row.stream,
        "record_id": survivor,
        "kind": row.kind,
        "reason": f"{row.reason} (contact {row.record_id} merged into {survivor})",
        "payload": payload,
        "not_before": row.not_before,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "updated_at": now,
    }
