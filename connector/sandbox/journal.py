"""The sandbox's journal: every request it served, so tests and benchmarks can count API calls."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One served request."""

    seq: int
    time: str  # ISO 8601 UTC
    api: str  # "salesforce", "hubspot" or "sandbox" (admin endpoints are not journaled)
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    user: str | None  # Salesforce user id or HubSpot token label that made the call
    #: The fault profile's kind that met the request (`connector.sandbox.faults`), if any;
    #: `status` is what the client got, 0 for a connection closed without an answer.
    fault: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Journal:
    """Append-only, thread-safe list of `Entry`; sequence numbers start at 1."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._lock = threading.Lock()

    def add(self, **fields: Any) -> Entry:
        """Append an entry of `fields` (every field of `Entry` but `seq`), numbered next."""
        with self._lock:
            entry = Entry(seq=len(self._entries) + 1, **fields)
            self._entries.append(entry)
            return entry

    def entries(self, *, since: int = 0, api: str | None = None) -> list[Entry]:
        """Entries with `seq > since`, optionally only one API's."""
        with self._lock:
            picked = self._entries[since:]
        return [e for e in picked if api is None or e.api == api]

    def last_seq(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
