"""Salesforce-shaped record ids: 15 case-sensitive characters plus the 3-character checksum."""

from __future__ import annotations

import itertools
import threading

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Group": "00G",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "UserRole": "00E",
    "LeadStatus": "01J",
    "Organization": "00D",
}


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique."""
    suffix = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        suffix.append(_ALPHABET[bits])
    return "".join(suffix)


def to18(id15: str) -> str:
    """Extend a 15-character id to its 18-character form (an 18-character id is returned as is)."""
    if len(id15) == 18:
        return id15
    if len(id15) != 15:
        msg = f"not a Salesforce id: {id15!r}"
        raise ValueError(msg)
    return id15 + checksum(id15)


def is_valid_id(value: str) -> bool:
    """True for a syntactically valid 15- or 18-character id (checksum verified for 18)."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        return False
    return len(value) == 15 or value[15:].upper() == checksum(value[:15])


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out))


class IdFactory:
    """Unique ids per object type: key prefix, pod, counter, checksum (`00QKb0000000001MAA`)."""

    def __init__(self, pod: str = "Kb") -> None:
        self._pod = pod
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, sobject: str) -> str:
        prefix = KEY_PREFIXES[sobject]
        with self._lock:
            counter = self._counters.setdefault(sobject, itertools.count(1))
            n = next(counter)
        id15 = prefix + self._pod + "0000" + _base62(n, 6)
        return to18(id15)


def prefix_object(record_id: str) -> str | None:
    """The object type an id's key prefix names, if it is one the sandbox knows."""
    for name, prefix in KEY_PREFIXES.items():
        if record_id.startswith(prefix):
            return name
    return None
