"""Failures shown to people: the lines of `leadbridge dlq list` and its JSON rows. Pure: dead
letters in, escaped and clipped text out (the demo shows the same table)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from connector.display import clip, for_terminal, show
from connector.model import DeadLetter

#: Streams whose failures a pass tries again when put back (`leadbridge dlq retry`, the status
#: page's Retry); other letters are for a person to resolve in Salesforce or HubSpot (e.g. an
#: opportunity update sales owns) and then drop.
RETRYABLE = ("hubspot.contacts", "salesforce.leads", "hubspot.conversions")

#: Characters of a reason in the table (the whole reason: `dlq show` or `--format json`).
REASON_WIDTH = 90


def when(moment: datetime | None) -> str:
    """A stored time as people read it (UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def table(
    letters: Sequence[DeadLetter],
    queued: Collection[tuple[str, str]] = (),
    stream: str | None = None,
) -> str:
    """One line per failure, oldest first: record, stream, code, fields, tries, when, reason;
    `queued` names the (stream, record) put back for the next pass."""
    if not letters:
        return "no failures waiting" + (f" in {stream}" if stream else "")
    lines = [f"{len(letters)} failures waiting (oldest first)"]
    for d in letters:
        retry = ", retry queued" if (d.stream, d.record_id) in queued else ""
        fields = ",".join(d.fields) or "-"
        lines.append(
            f"  {d.record_id:<20} {d.stream:<20} {d.code or '-':<28} {fields:<16} "
            f"{d.attempts}x, last {when(d.last_failed_at)}{retry}: {clip(d.reason, REASON_WIDTH)}"
        )
    return for_terminal("\n".join(lines))


def as_json(letter: DeadLetter, *, queued: bool) -> dict[str, Any]:
    """One failure for machines: everything the store keeps, the values sent clipped."""
    return {
        "record_id": letter.record_id,
        "stream": letter.stream,
        "code": letter.code,
        "fields": list(letter.fields),
        "reason": letter.reason,
        "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at.isoformat() if letter.first_failed_at else None,
        "last_failed_at": letter.last_failed_at.isoformat() if letter.last_failed_at else None,
        "sent": {name: show(value) for name, value in letter.payload.items()},
        "retry_queued": queued,
    }
