"""Percentiles as PostgreSQL's `percentile_cont` computes them (linear interpolation between
the closest ranks), so a figure is the same whichever database the store is on."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The `fraction` (0..1) continuous percentile of `values`; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    """`part` of `whole` as a fraction; None when there is no whole."""
    return part / whole if whole else None
