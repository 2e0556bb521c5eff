"""How alike two company names are, 0..100, once normalized (`normalize.name_key`).

Pure; rapidfuzz does the string comparison.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from connector.routing.normalize import NameKey


def similarity(a: NameKey, b: NameKey) -> float:
    """How alike two normalized names are, 0..100: the better of their spellings compared
    whole and with their words sorted (rapidfuzz's normalized Indel similarity)."""
    return max(
        fuzz.ratio(a.compact, b.compact),
        fuzz.ratio(a.sorted_compact, b.sorted_compact),
    )
