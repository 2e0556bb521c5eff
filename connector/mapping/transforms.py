"""Value transforms named in mapping files, compiled into plain functions."""

from __future__ import annotations

from collections.abc import Callable

from connector.mapping.model import Transform, Truncate

Fn = Callable[[str], str]


def compile_transform(spec: Transform) -> Fn:
    """One transform spec as a function from text to text."""
    if isinstance(spec, Truncate):
        limit = spec.truncate
        return lambda value: value[:limit]
    return {"strip": str.strip, "lower": str.lower, "upper": str.upper}[spec]


def chain(specs: list[Transform]) -> Fn:
    """All transforms of a field, applied in order."""
    fns = [compile_transform(s) for s in specs]

    def run(value: str) -> str:
        for fn in fns:
            value = fn(value)
        return value

    return run
