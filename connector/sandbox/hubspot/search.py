"""`POST /crm/v3/objects/{type}/search`: request checks, filter evaluation, sorting and paging.

Follows HubSpot's search guide (developers.hubspot.com/docs/api-reference/search/guide):
filterGroups are ORed, the filters inside a group ANDed; at most 5 groups of 6 filters and 18
filters in all; pages of 10 by default and 200 at most; `after` is an integer offset; a query
can never reach past the 10,000th result (400). Values compare case-insensitively except for
enumerations (case-sensitive), and `IN`/`NOT_IN` on strings match the lowercased value, so
their values must be lowercase. Dates and datetimes compare as epoch milliseconds (values may
be epoch ms or ISO 8601), numbers numerically. Without sorts, results come oldest first.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connector.sandbox.hubspot.order import Bound, Order, merged
from connector.sandbox.hubspot.portal import ObjectType, Portal, Record, Store
from connector.sandbox.hubspot.properties import PropertyDef
from connector.sandbox.hubspot.values import typed

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000
MAX_QUERY = 3000
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
#: Properties the free-text `query` looks in (the guide's "default searchable properties").
QUERY_PROPERTIES = {
    "contacts": (
        "firstname",
        "lastname",
        "email",
        "phone",
        "hs_additional_emails",
        "fax",
        "mobilephone",
        "company",
        "hs_marketable_until_renewal",
    ),
    "companies": ("website", "phone", "name", "domain"),
}
_TOKEN_SPLIT = re.compile(r"[\s,;:/()\[\]<>\"'@.+_-]+")

Matcher = Callable[[Record], bool]


class SearchError(Exception):
    """A search request HubSpot would refuse with 400 VALIDATION_ERROR."""


class PastResultsCap(SearchError):
    """A page reaching past the 10,000th result (`max_results`): refused like any bad search."""


@dataclass(frozen=True)
class Page:
    total: int
    records: list[Record]
    next_after: str | None


def search(
    portal: Portal,
    otype: ObjectType,
    body: Any,
    *,
    hidden: frozenset[str] = frozenset(),
    max_results: int = MAX_RESULTS,
) -> Page:
    """Run a search request body against the portal; `SearchError` for a refused request.

    Records whose ids are in `hidden` are not in the index yet (a fault profile's search lag):
    left out of the results and the total. `max_results` is HubSpot's 10,000 unless a test
    lowers it."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        msg = "Invalid input JSON: expected an object"
        raise SearchError(msg)
    limit = _int(body.get("limit", DEFAULT_LIMIT), "limit")
    if limit < 0 or limit > MAX_LIMIT:
        msg = f"limit must be between 0 and {MAX_LIMIT}, but was {limit}"
        raise SearchError(msg)
    after = _int(body.get("after") or 0, "after")
    if after < 0:
        msg = f"after must be a non-negative integer, but was {after}"
        raise SearchError(msg)
    if after + limit > max_results:
        msg = (
            f"Paging past {max_results:,} results is not supported: after ({after}) plus limit "
            f"({limit}) exceeds {max_results:,}. Narrow the query and page again."
        )
        raise PastResultsCap(msg)
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY):
        msg = f"query must be a string of at most {MAX_QUERY} characters"
        raise SearchError(msg)

    raw_groups = _groups(body.get("filterGroups"))
    groups = [_compile_group(otype, group) for group in raw_groups]
    text = _query_matcher(otype, query) if query else None
    name, descending = _sort_rule(otype, body.get("sorts"))
    plan = _plan(portal.stores[otype.name], otype, raw_groups, name)
    tests = [
        _all([f for j, f in enumerate(group) if (i, j) not in plan.covered])
        for i, group in enumerate(groups)
    ]
    found = plan.records
    if hidden:
        found = [r for r in found if r.id not in hidden]
    checks = [t for t in tests if t is not None]
    if checks and len(checks) == len(tests):  # (None: a group every record read matches)
        test = checks[0] if len(checks) == 1 else _any(checks)
        found = [r for r in found if test(r)]
    matches = [r for r in found if text(r)] if text is not None else list(found)
    if plan.order != name or descending:
        _sort(otype, matches, name, descending=descending)
    page = matches[after : after + limit]
    more = after + limit < len(matches) and limit > 0
    return Page(len(matches), page, str(after + limit) if more else None)


def _all(tests: list[Matcher]) -> Matcher | None:
    """One matcher for a group's filters (None: no filter left to test)."""
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda r: all(f(r) for f in tests)


def _any(checks: list[Matcher]) -> Matcher:
    """One matcher for the groups (HubSpot ORs them)."""

    def match(record: Record) -> bool:
        for check in checks:  # noqa: SIM110 - a loop: any() of a generator is 3x slower here
            if check(record):
                return True
        return False

    return match


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        value = str(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        msg = f"{name} must be an integer, but was {value!r}"
        raise SearchError(msg) from None


def _groups(raw: Any) -> list[list[dict[str, Any]]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        msg = "filterGroups must be an array"
        raise SearchError(msg)
    if len(raw) > MAX_GROUPS:
        msg = f"Too many filter groups: {len(raw)}. The maximum is {MAX_GROUPS}."
        raise SearchError(msg)
    groups: list[list[dict[str, Any]]] = []
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            msg = "each filter group needs a filters array of objects"
            raise SearchError(msg)
        if len(filters) > MAX_FILTERS_PER_GROUP:
            msg = (
                f"Too many filters in a filter group: {len(filters)}. The maximum is "
                f"{MAX_FILTERS_PER_GROUP}."
            )
            raise SearchError(msg)
        groups.append(filters)
    total = sum(len(g) for g in groups)
    if total > MAX_FILTERS:
        msg = f"Too many filters: {total}. The maximum across all filter groups is {MAX_FILTERS}."
        raise SearchError(msg)
    return groups


def _compile_group(otype: ObjectType, filters: list[dict[str, Any]]) -> list[Matcher]:
    return [_compile(otype, f) for f in filters]


def _compile(otype: ObjectType, spec: dict[str, Any]) -> Matcher:
    name = spec.get("propertyName")
    operator = spec.get("operator")
    if not isinstance(name, str) or name not in otype.properties:
        msg = f'Property "{name}" does not exist'
        raise SearchError(msg)
    if operator not in OPERATORS:
        msg = f"Unknown filter operator {operator!r}; expected one of {list(OPERATORS)}"
        raise SearchError(msg)
    prop = otype.properties[name]
    if operator == "HAS_PROPERTY":
        return lambda r: name in r.props
    if operator == "NOT_HAS_PROPERTY":
        return lambda r: name not in r.props
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            msg = f"operator {operator} needs a non-empty values array"
            raise SearchError(msg)
        wanted = {_filter_value(prop, v, exact=True) for v in values}
        inside = _membership(prop, wanted)
        return inside if operator == "IN" else (lambda r: not inside(r))
    if "value" not in spec or spec["value"] is None:
        msg = f"operator {operator} needs a value"
        raise SearchError(msg)
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = _token_matcher(name, str(spec["value"]))
        return contains if operator == "CONTAINS_TOKEN" else (lambda r: not contains(r))
    value = _filter_value(prop, spec["value"])
    if operator == "BETWEEN":
        if spec.get("highValue") is None:
            msg = "operator BETWEEN needs a highValue"
            raise SearchError(msg)
        high = _filter_value(prop, spec["highValue"])
        return _compare(prop, lambda v: value <= v <= high)
    if operator == "EQ":
        return _equals(prop, value)
    if operator == "NEQ":
        equals = _equals(prop, value)
        return lambda r: not equals(r)
    tests: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < value,
        "LTE": lambda v: v <= value,
        "GT": lambda v: v > value,
        "GTE": lambda v: v >= value,
    }
    return _compare(prop, tests[operator])


def _filter_value(prop: PropertyDef, raw: Any, *, exact: bool = False) -> Any:
    """A filter value in the comparable form of its property (see module docstring)."""
    text = "true" if raw is True else "false" if raw is False else str(raw)
    if prop.type in ("number", "datetime", "date"):
        value = typed(prop.type, text)
        if value is None:
            kind = "number" if prop.type == "number" else "date (epoch milliseconds or ISO 8601)"
            msg = f"{text} is not a valid {kind} for property {prop.name}"
            raise SearchError(msg)
        return value
    if prop.type == "enumeration" or exact:
        return text
    return text.lower()


def _stored(prop: PropertyDef, record: Record) -> Any:
    if prop.type in ("number", "datetime", "date"):
        return record.typed(prop.name, prop.type)
    stored = record.props.get(prop.name)
    if stored is None or prop.type == "enumeration":
        return stored
    return stored.lower()


def _compare(prop: PropertyDef, test: Callable[[Any], bool]) -> Matcher:
    def match(record: Record) -> bool:
        value = _stored(prop, record)
        return value is not None and test(value)

    return match


def _equals(prop: PropertyDef, value: Any) -> Matcher:
    if prop.type == "enumeration" and prop.field_type == "checkbox":
        return lambda r: value in (r.props.get(prop.name) or "").split(";")
    return _compare(prop, lambda v: v == value)


def _membership(prop: PropertyDef, wanted: set[Any]) -> Matcher:
    if prop.type == "enumeration" and prop.field_type == "checkbox":
        return lambda r: bool(wanted & set((r.props.get(prop.name) or "").split(";")))
    if prop.type == "enumeration":  # compared as stored: no value (None) is never wanted
        return lambda r: r.props.get(prop.name) in wanted
    return _compare(prop, lambda v: v in wanted)


def _token_matcher(name: str, raw: str) -> Matcher:
    pattern = raw.lower().replace("[", "[[]").replace("?", "[?]")

    def match(record: Record) -> bool:
        stored = record.props.get(name)
        if stored is None:
            return False
        value = stored.lower()
        if fnmatch.fnmatchcase(value, pattern):
            return True
        return any(fnmatch.fnmatchcase(t, pattern) for t in _TOKEN_SPLIT.split(value) if t)

    return match


def _query_matcher(otype: ObjectType, query: str) -> Matcher:
    needle = query.strip().lower()
    names = [n for n in QUERY_PROPERTIES.get(otype.name, ()) if n in otype.properties]

    def match(record: Record) -> bool:
        return any(needle in (record.props.get(n) or "").lower() for n in names)

    return match


def _sort_rule(otype: ObjectType, sorts: Any) -> tuple[str, bool]:
    """The property and direction of the first sort rule (HubSpot applies one); by default
    `createdate` ascending (oldest first)."""
    name, descending = "createdate", False
    if isinstance(sorts, list) and sorts:
        rule = sorts[0]
        if isinstance(rule, str):
            name, descending = rule.lstrip("-"), rule.startswith("-")
        elif isinstance(rule, dict):
            name = str(rule.get("propertyName", ""))
            direction = str(rule.get("direction", "ASCENDING")).upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                msg = f"direction must be ASCENDING or DESCENDING, but was {direction!r}"
                raise SearchError(msg)
            descending = direction == "DESCENDING"
        if name not in otype.properties:
            msg = f'Property "{name}" does not exist'
            raise SearchError(msg)
    return name, descending


def _sort(otype: ObjectType, records: list[Record], name: str, *, descending: bool) -> None:
    """Sort in place by property `name`. Records without a value for it come last; ties keep
    id order (in both directions)."""
    records.sort(key=lambda r: int(r.id))
    prop = otype.properties[name]
    present = [r for r in records if _stored(prop, r) is not None]
    missing = [r for r in records if _stored(prop, r) is None]
    present.sort(key=lambda r: _stored(prop, r), reverse=descending)
    records[:] = present + missing


@dataclass(frozen=True)
class _Plan:
    """The live records a search needs to test; the property they come ordered by (by value,
    then id; None: in no order); the filters, as (group, filter) positions, every one of them
    passes already."""

    records: Iterable[Record]
    order: str | None = None
    covered: frozenset[tuple[int, int]] = frozenset()


def _plan(store: Store, otype: ObjectType, groups: list[list[dict[str, Any]]], sort: str) -> _Plan:
    """Which records a search reads, from the ranges its filters give ordered properties.

    A group only matches records inside the range its filters give an ordered property
    (`Store.orders`), so when every group bounds one, the records in those ranges are enough:
    per group the narrowest range, read in that property's order when every group picked the
    same property. When every group picked the same range, its filters on that property hold
    for every record read. Without filters, every live record, in the sort property's order
    when all have it."""
    if not groups:
        whole = store.orders.get(sort)
        if whole is not None and whole.absent == 0:
            return _Plan(whole.records([(0, len(whole.keys()))]), sort)
        return _Plan(store.live())
    picks: list[tuple[str, tuple[int, int], list[int]]] = []
    for group in groups:
        ranged = _ranged(store, group)
        if not ranged:
            return _Plan(store.live())
        spans = {
            prop: _span(store.orders[prop], otype.properties[prop], [group[j] for j in at])
            for prop, at in ranged.items()
        }
        prop = min(spans, key=lambda p: spans[p][1] - spans[p][0])
        picks.append((prop, spans[prop], ranged[prop]))
    names = {prop for prop, _, _ in picks}
    if len(names) > 1:
        found: dict[str, Record] = {}
        for prop, span, _ in picks:
            found.update((r.id, r) for r in store.orders[prop].records([span]))
        return _Plan(found.values())
    (prop,) = names
    order = store.orders[prop]
    if len({span for _, span, _ in picks}) > 1:
        return _Plan(order.records(merged([span for _, span, _ in picks])), prop)
    covered = frozenset((i, j) for i, (_, _, at) in enumerate(picks) for j in at)
    return _Plan(order.records([picks[0][1]]), prop, covered)


#: Operators that bound a property's value, by the bounds they set.
_RANGES = ("EQ", "GT", "GTE", "LT", "LTE", "BETWEEN")


def _ranged(store: Store, group: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The positions of a group's filters that bound an ordered property, by property."""
    out: dict[str, list[int]] = {}
    for j, spec in enumerate(group):
        name = spec.get("propertyName")
        if name in store.orders and spec.get("operator") in _RANGES:
            out.setdefault(str(name), []).append(j)
    return out


def _span(order: Order, prop: PropertyDef, filters: list[dict[str, Any]]) -> tuple[int, int]:
    """The positions in `order` of the values every one of `filters` lets through."""
    start, end = 0, len(order.keys())
    for spec in filters:
        operator = spec["operator"]
        value = _filter_value(prop, spec["value"])
        low = high = None
        if operator in ("EQ", "GTE", "BETWEEN"):
            low = Bound(value, inclusive=True)
        elif operator == "GT":
            low = Bound(value, inclusive=False)
        if operator in ("EQ", "LTE"):
            high = Bound(value, inclusive=True)
        elif operator == "LT":
            high = Bound(value, inclusive=False)
        elif operator == "BETWEEN":
            high = Bound(_filter_value(prop, spec["highValue"]), inclusive=True)
        first, last = order.span(low, high)
        start, end = max(start, first), min(end, last)
    return start, max(start, end)
