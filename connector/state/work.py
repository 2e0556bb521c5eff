"""Work: what a stream still has to do for a record, recorded in the same transaction as what
made it due, and done by the stream's next pass. Work is not failure: it never goes to the
dead-letter store, which is for what a person must look at.

The kinds:
- `recheck`: a hand-over, a record another stream must read again by Id (a Lead a rep changed
  that our update then made ours; a contact whose Lead a person converted);
- `pending`: a conversion sent to Salesforce whose answer is not recorded yet;
- `retry`: a failed record a person put back (`leadbridge dlq retry`);
- `resync`: a record whose Salesforce side drifted from what the mapping makes of it
  (`leadbridge reconcile --repair`): written again whatever was written before, through the
  same conflict rules;
- `writeback`: properties owed to a HubSpot contact (Salesforce ids, the converted stage, routing
  facts), settled per property only when HubSpot confirmed the value owed; so a pass stopped
  anywhere between Salesforce's answer and HubSpot's leaves the debt in the store, and the next
  pass pays it.

This module is the one place that says how work is made (`hand_over`, `pending`, `retry`) and
how write-back debts and confirmations combine; pure, without the database. Designed so that a
job queue (several workers on PostgreSQL) can carry the same rows later: a row is (stream,
record, kind), the unit a worker would lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

Kind = Literal["recheck", "pending", "retry", "resync", "writeback"]

#: The stream that pays write-backs owed to HubSpot contacts, and their kind.
WRITEBACK_STREAM = "hubspot.writeback"
WRITEBACK: Kind = "writeback"

Properties = dict[str, str | None]


@dataclass(frozen=True)
class Work:
    """One thing `stream` must do for `record_id`, and why."""

    stream: str
    record_id: str
    kind: Kind
    reason: str
    payload: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None
    attempts: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None  # as read: when it was last made or made anew


#: No work read (a page of the stream's cursor).
NO_WORK: Mapping[str, Sequence[Work]] = MappingProxyType({})


def as_read(work: Mapping[str, Sequence[Work]], ids: Iterable[str]) -> dict[str, datetime]:
    """For the records in `ids` with work read, the newest change of that work as read: what
    a batch that did the work closes (`Commit.done_as_read`). Work made anew after the read (a
    webhook naming the record again while the batch ran) is newer, and stays."""
    newest: dict[str, datetime] = {}
    for record_id in ids:
        times = [w.updated_at for w in work.get(record_id, ()) if w.updated_at is not None]
        if times:
            newest[record_id] = max(times)
    return newest


def hand_over(stream: str, record_id: str, reason: str) -> Work:
    """`stream` must read `record_id` again by Id next pass."""
    return Work(stream, record_id, "recheck", reason)


def pending(stream: str, record_id: str, reason: str, **payload: Any) -> Work:
    """A change sent for `record_id` whose answer `stream` has not recorded yet."""
    return Work(stream, record_id, "pending", reason, dict(payload))


def retry(stream: str, record_id: str, reason: str) -> Work:
    """A person asked for another try of a failed record, whatever held it."""
    return Work(stream, record_id, "retry", reason)


def resync(stream: str, record_id: str, reason: str) -> Work:
    """Write `record_id` again whatever was written before (its other side drifted)."""
    return Work(stream, record_id, "resync", reason)


@dataclass(frozen=True)
class OwedWriteBack:
    """Properties owed to one HubSpot contact, with the tries that did not settle them."""

    hubspot_id: str
    properties: Properties
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime | None = None


def same(a: str | None, b: str | None) -> bool:
    """Whether two HubSpot property values are the same (HubSpot keeps no empty string)."""
    return (a or "") == (b or "")


def owe(stored: Mapping[str, str | None], owed: Mapping[str, str | None]) -> Properties:
    """What is owed after a new debt: a later value of a property replaces the earlier one."""
    return {**stored, **owed}


def settle(stored: Mapping[str, str | None], confirmed: Mapping[str, str | None]) -> Properties:
    """What is still owed after HubSpot confirmed `confirmed`: a property whose owed value is
    the value confirmed is paid; one owed anew with another value since stays."""
    return {
        name: value
        for name, value in stored.items()
        if name not in confirmed or not same(confirmed[name], value)
    }


def outstanding(owed: Mapping[str, str | None], shown: Mapping[str, str | None]) -> Properties:
    """The owed properties a contact does not show yet (what a write must still carry)."""
    return {name: value for name, value in owed.items() if not same(shown.get(name), value)}
