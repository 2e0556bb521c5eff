"""Shape comparison for fidelity tests: same keys at every level, same JSON value types."""

from __future__ import annotations

from typing import Any


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_diff(
    documented: Any, actual: Any, path: str = "$", *, nullable: bool = True
) -> list[str]:
    """Differences in shape between a documented example and an actual body.

    Objects must have the same keys; arrays are compared element-wise against the documented
    first element; a documented null matches any type (the docs often show null where data would
    be) when `nullable` is true.
    """
    diffs: list[str] = []
    dk, ak = _kind(documented), _kind(actual)
    if dk == "null" and nullable:
        return diffs
    if dk != ak and not (ak == "null" and nullable):
        return [f"{path}: documented {dk}, got {ak}"]
    if dk == "object" and ak == "object":
        missing = sorted(set(documented) - set(actual))
        extra = sorted(set(actual) - set(documented))
        diffs += [f"{path}.{k}: missing" for k in missing]
        diffs += [f"{path}.{k}: not in the documented example" for k in extra]
        for key in set(documented) & set(actual):
            diffs += shape_diff(documented[key], actual[key], f"{path}.{key}", nullable=nullable)
    elif dk == "array" and ak == "array" and documented:
        for i, item in enumerate(actual):
            diffs += shape_diff(documented[0], item, f"{path}[{i}]", nullable=nullable)
    return diffs
