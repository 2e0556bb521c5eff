""" "Did you mean": the close name for a typo, shared by the loader and the schema checks."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`; did you mean 'x'?` when one of `candidates` is close to `word` (case aside), else ""."""
    names = list(candidates)
    if not names:
        return ""
    exact = [c for c in names if c.lower() == word.lower() and c != word]
    if exact:
        return f"; did you mean '{exact[0]}'?"
    by_lower = {c.lower(): c for c in names}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""
