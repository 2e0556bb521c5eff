"""A store's live records in the order of one datetime or number property, for search.

HubSpot's search reads ranges of `createdate`, the last-modified date and `hs_object_id`
(leadbridge pages by `lastmodifieddate` GTE/LTE windows and, within one instant, by
`hs_object_id` GT), sorted by one of them. Scanning and sorting every contact for each page
made a 100,000-contact backfill spend most of its time in the sandbox; an `Order` keeps the
live records' (value, numeric id) keys sorted, so a range is two bisections and comes out in
the order search sorts by (value, then id: `search._sort`'s tie rule).

`Store.reindex` (called after every create, update, archive, merge and purge) calls `place()`;
the sorted list is built on the first read (a seed of 100,000 contacts is loaded without
sorting on every insert) and then kept up to date write by write.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connector.sandbox.hubspot.values import typed

if TYPE_CHECKING:
    from connector.sandbox.hubspot.portal import Record

Key = tuple[Any, int]


@dataclass(frozen=True)
class Bound:
    """One end of a range of values; `inclusive` says whether the value itself is in it."""

    value: Any
    inclusive: bool


class Order:
    """Keys (comparable value, numeric id) of the live records that have a value for `name`,
    sorted; `absent` counts the live records without one."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self._at: dict[str, Key] = {}
        self._absent: set[str] = set()
        self._keys: list[Key] | None = None
        self._records: dict[int, Record] = {}

    @property
    def absent(self) -> int:
        return len(self._absent)

    def place(self, record: Record, before: dict[str, str]) -> None:
        """Put `record` where its current value and state (live or not) belong (`before`: its
        values before the write; a live record whose value stayed stays where it is)."""
        stored = record.props.get(self.name)
        live = record.id in self._at or record.id in self._absent
        if live and not record.archived and before.get(self.name) == stored:
            return
        old = self._at.pop(record.id, None)
        if old is not None and self._keys is not None:
            del self._keys[bisect_left(self._keys, old)]
        self._absent.discard(record.id)
        self._records.pop(int(record.id), None)
        if record.archived:
            return
        value = None if stored is None else typed(self.kind, stored)
        if value is None:
            self._absent.add(record.id)
            return
        key = (value, int(record.id))
        self._at[record.id] = key
        self._records[key[1]] = record
        if self._keys is not None:
            insort(self._keys, key)

    def span(self, low: Bound | None, high: Bound | None) -> tuple[int, int]:
        """Positions [start, end) of the keys whose value lies between `low` and `high`."""
        keys = self.keys()
        start, end = 0, len(keys)
        if low is not None:
            probe = (low.value,) if low.inclusive else (low.value, math.inf)
            start = bisect_left(keys, probe)
        if high is not None:
            probe = (high.value, math.inf) if high.inclusive else (high.value,)
            end = bisect_left(keys, probe)
        return start, max(start, end)

    def records(self, spans: list[tuple[int, int]]) -> list[Record]:
        """The records of non-overlapping spans given in order, in key order."""
        keys = self.keys()
        by_id = self._records
        return [by_id[record_id] for start, end in spans for _, record_id in keys[start:end]]

    def keys(self) -> list[Key]:
        if self._keys is None:
            self._keys = sorted(self._at.values())
        return self._keys


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of positions merged where they overlap or touch, in order, empty ones dropped."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
