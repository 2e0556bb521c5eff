"""Incremental contact search that never skips a record, past HubSpot's 10,000-results cap.

HubSpot's search pages by offset (`after`) over a live result set: a contact modified while we
page (by marketing, or by our own write-back of the page before) leaves its place, every later
one moves up, and the next offset skips one. So this module pages by *keyset* instead: every
page is a fresh query from the last `lastmodifieddate` seen (GTE), skipping the contacts already
yielded at that instant, which also never nears the 10,000 cap. The query has an upper bound,
`until` (the pass's start): contacts changed after it, our write-backs included, belong to the
next pass. If a whole page shares one timestamp (a bulk import can do that), that instant is read
by `lastmodifieddate EQ ts AND hs_object_id GT last_id` sorted by `hs_object_id`, and the pages
go on after it (GT ts). A second, earlier window of change times (a stream's late window,
`connector.streams.windows`) is read in the same queries by sending each filter group once per
window, when HubSpot's limits on groups and filters leave room; otherwise in queries of its own.

`incremental_pages` holds the paging logic only; the gateway hands it `fetch`, which sends one
search request body and returns HubSpot's JSON answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connector.model import MAX_CALLER_FILTERS, HubSpotContact, ReadMark, SearchFilter

log = structlog.get_logger(__name__)

#: HubSpot never returns results past this position of one query.
MAX_RESULTS = 10_000
MODIFIED = "lastmodifieddate"
OBJECT_ID = "hs_object_id"
#: HubSpot's search limits: filter groups, filters per group, filters in all.
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
#: Filters added to each caller's group (change time from and until, and the id when reading an
#: instant by keyset): callers get `MAX_CALLER_FILTERS` per group.
ADDED_FILTERS = MAX_FILTERS_PER_GROUP - MAX_CALLER_FILTERS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Fetch = Callable[[dict[str, Any]], Mapping[str, Any]]


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (rounded down), as HubSpot filters take them."""
    if moment.tzinfo is None:
        msg = f"expected a timezone-aware datetime, got {moment.isoformat()}"
        raise ValueError(msg)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def contact_from_api(raw: Mapping[str, Any]) -> HubSpotContact:
    """A `HubSpotContact` from one `SimplePublicObject` (its `lastmodifieddate` as `updated_at`)."""
    properties = dict(raw.get("properties") or {})
    stamp = properties.get(MODIFIED) or raw.get("updatedAt")
    if not stamp:
        msg = f"HubSpot returned contact {raw.get('id')} without {MODIFIED}"
        raise ValueError(msg)
    updated = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC)
    return HubSpotContact(id=str(raw["id"]), properties=properties, updated_at=updated)


def filter_json(spec: SearchFilter) -> dict[str, Any]:
    """One filter as HubSpot's search body spells it."""
    body: dict[str, Any] = {"propertyName": spec.property, "operator": spec.operator}
    if spec.values:
        body["values"] = list(spec.values)
    if spec.value is not None:
        body["value"] = spec.value
    return body


@dataclass(frozen=True)
class _Span:
    """Change times from `start` to `end` in epoch ms, both included (None: no bound)."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class _Position:
    """Where the next page starts: `lastmodifieddate` GTE (or GT) `ms` (None: the beginning)."""

    ms: int | None
    inclusive: bool = True

    def filters(self, span: _Span) -> list[dict[str, Any]] | None:
        """The filters reading what is left of `span` from here; None when nothing is."""
        end, ms = span.end, self.ms
        if end is not None and ms is not None and (end < ms or (end == ms and not self.inclusive)):
            return None
        out = []
        if self.ms is None or (span.start is not None and span.start > self.ms):
            if span.start is not None:
                out.append({"propertyName": MODIFIED, "operator": "GTE", "value": str(span.start)})
        else:
            operator = "GTE" if self.inclusive else "GT"
            out.append({"propertyName": MODIFIED, "operator": operator, "value": str(self.ms)})
        if span.end is not None:
            out.append({"propertyName": MODIFIED, "operator": "LTE", "value": str(span.end)})
        return out


class _Query:
    """Builds the request bodies of one `changed_contacts` call over one or more windows of
    change times (each caller group is sent once per window still ahead: HubSpot ORs them)."""

    def __init__(
        self,
        properties: Sequence[str],
        any_of: Sequence[Sequence[SearchFilter]],
        limit: int,
        spans: Sequence[_Span],
    ) -> None:
        check_filters(any_of, windows=len(spans))
        self.properties = list(dict.fromkeys([*properties, MODIFIED, OBJECT_ID]))
        self.groups = [[filter_json(f) for f in group] for group in any_of] or [[]]
        self.limit = limit
        self.spans = list(spans)

    def window(self, position: _Position) -> dict[str, Any] | None:
        """The next page from `position`; None when every window lies behind it."""
        ahead = [f for span in self.spans if (f := position.filters(span)) is not None]
        if not ahead:
            return None
        groups = [[*group, *extra] for extra in ahead for group in self.groups]
        return self._body(groups, MODIFIED)

    def instant(self, ms: int, last_id: int) -> dict[str, Any]:
        extra = [
            {"propertyName": MODIFIED, "operator": "EQ", "value": str(ms)},
            {"propertyName": OBJECT_ID, "operator": "GT", "value": str(last_id)},
        ]
        return self._body([[*group, *extra] for group in self.groups], OBJECT_ID)

    def _body(self, groups: list[list[dict[str, Any]]], sort: str) -> dict[str, Any]:
        return {
            # An empty group would match everything, so would the OR: then send no groups.
            "filterGroups": [{"filters": g} for g in groups] if all(groups) else [],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": self.limit,
        }


def fits(any_of: Sequence[Sequence[SearchFilter]], windows: int) -> bool:
    """Whether `any_of`, sent once per window, stays within HubSpot's search limits."""
    try:
        check_filters(any_of, windows=windows)
    except ValueError:
        return False
    return True


def check_filters(any_of: Sequence[Sequence[SearchFilter]], *, windows: int = 1) -> None:
    """Refuse up front filters that would leave no room for the two this module adds to each
    group (HubSpot would only refuse them once an instant needs reading by id), each group
    sent once per window of change times."""
    groups = max(len(any_of), 1)
    filters = (sum(len(g) for g in any_of) + ADDED_FILTERS * groups) * windows
    widest = max((len(g) for g in any_of), default=0)
    if groups * windows > MAX_GROUPS or widest > MAX_CALLER_FILTERS or filters > MAX_FILTERS:
        msg = (
            f"too many search filters: at most {MAX_GROUPS} groups of {MAX_CALLER_FILTERS} "
            f"filters, {MAX_FILTERS - ADDED_FILTERS * groups} in all for {groups} groups "
            f"(HubSpot's limits less the {ADDED_FILTERS} filters added to each group)"
        )
        raise ValueError(msg)


class _Seen:
    """The contacts yielded at the latest instant so far: the only ones a new window repeats.

    Remembering just these keeps memory flat on a backfill of millions. A contact changed again
    while the call pages comes back with its new change time: that is a new change, yielded.
    Within an instant read in id order (`_instant_pages`), every id up to `upto` counts as
    yielded and the set keeps only those above it, so it never grows past a page or two.
    """

    def __init__(self, start: ReadMark | None = None) -> None:
        self.ms: int | None = start.ms if start else None
        self.ids: set[str] = set(start.ids) if start else set()
        self.upto: int | None = start.upto if start else None

    def fresh(self, contacts: list[HubSpotContact]) -> list[HubSpotContact]:
        """Drop contacts already yielded; note the others; sorted by (updated_at, id)."""
        kept = sorted(
            (c for c in contacts if not self._yielded(c)),
            key=lambda c: (c.updated_at, int(c.id)),
        )
        for contact in kept:
            ms = epoch_ms(contact.updated_at)
            if self.ms is None or ms > self.ms:
                self.ms, self.ids, self.upto = ms, set(), None
            if ms == self.ms:
                self.ids.add(contact.id)
        return kept

    def _yielded(self, contact: HubSpotContact) -> bool:
        if epoch_ms(contact.updated_at) != self.ms:
            return False
        return contact.id in self.ids or (self.upto is not None and int(contact.id) <= self.upto)

    def read_upto(self, ms: int, last_id: int) -> None:
        """Every contact at `ms` with an id up to `last_id` was read (an instant in id order)."""
        if self.ms != ms:
            self.ms, self.ids, self.upto = ms, set(), None
        self.upto = max(self.upto or 0, last_id)
        self.ids = {i for i in self.ids if int(i) > self.upto}

    def start_of(self, ms: int) -> int:
        """The id an instant's read by id starts after (0: its beginning)."""
        return self.upto or 0 if self.ms == ms else 0

    def mark(self) -> ReadMark | None:
        if self.ms is None:
            return None
        return ReadMark(self.ms, tuple(sorted(self.ids, key=int)), self.upto)


def incremental_pages(
    fetch: Fetch,
    since: datetime | None,
    properties: Sequence[str],
    any_of: Sequence[Sequence[SearchFilter]],
    limit: int,
    until: datetime | None = None,
    *,
    earlier: tuple[datetime | None, datetime | None] | None = None,
) -> Iterator[list[HubSpotContact]]:
    """Every contact matching `any_of` modified from `since` to `until` (both inclusive), once,
    oldest first; with `earlier`, also those modified in that window (both inclusive, before
    `since`), in the same queries when HubSpot's limits allow it, else in queries of their own
    first."""
    fresh = _span(since, until)
    if earlier is None:
        queries = [_Query(properties, any_of, limit, [fresh])]
    elif fits(any_of, windows=2):
        queries = [_Query(properties, any_of, limit, [_span(*earlier), fresh])]
    else:
        queries = [
            _Query(properties, any_of, limit, [_span(*earlier)]),
            _Query(properties, any_of, limit, [fresh]),
        ]
    for query in queries:
        for page, _mark in _pages(fetch, query):
            yield page


def _span(since: datetime | None, until: datetime | None) -> _Span:
    return _Span(
        None if since is None else epoch_ms(since), None if until is None else epoch_ms(until)
    )


def marked_pages(
    fetch: Fetch,
    since: datetime | None,
    until: datetime | None,
    properties: Sequence[str],
    any_of: Sequence[Sequence[SearchFilter]],
    limit: int,
    *,
    start: ReadMark | None = None,
) -> Iterator[tuple[list[HubSpotContact], ReadMark]]:
    """Every contact matching `any_of` modified from `since` to `until` (both inclusive), once,
    oldest first, each page with the mark a later read of the same window goes on from
    (`start`: what an earlier, stopped read had reached). Nothing depends on HubSpot's offset,
    so no 10,000-result cap applies, however many contacts the window holds."""
    return _pages(fetch, _Query(properties, any_of, limit, [_span(since, until)]), start)


def total(
    fetch: Fetch,
    since: datetime | None,
    until: datetime | None,
    any_of: Sequence[Sequence[SearchFilter]],
) -> int:
    """How many contacts `marked_pages` would read (HubSpot's `total`: one search of one
    result), for a progress bar's estimate."""
    body = _Query([], any_of, 1, [_span(since, until)]).window(_Position(None))
    answer = fetch(body) if body is not None else {}
    return int(answer.get("total") or 0)


def _pages(
    fetch: Fetch, query: _Query, start: ReadMark | None = None
) -> Iterator[tuple[list[HubSpotContact], ReadMark]]:
    """The query's contacts, by keyset on the change time, oldest first, from `start`."""
    seen = _Seen(start)
    position = _Position(start.ms) if start else _Position(None)
    while (body := query.window(position)) is not None:
        answer = fetch(body)
        contacts = [contact_from_api(r) for r in answer.get("results") or []]
        page = seen.fresh(contacts)
        mark = seen.mark()
        if page and mark is not None:
            yield page, mark
        if not contacts or _next_after(answer) is None:
            return
        stamps = [epoch_ms(c.updated_at) for c in contacts]
        if min(stamps) == max(stamps):
            # A whole page at one instant: read that instant by id, then go on after it.
            yield from _instant_pages(fetch, query, seen, stamps[0])
            position = _Position(stamps[0], inclusive=False)
        else:
            position = _Position(max(stamps))


def _instant_pages(
    fetch: Fetch, query: _Query, seen: _Seen, ms: int
) -> Iterator[tuple[list[HubSpotContact], ReadMark]]:
    """Every contact modified exactly at `ms`, by keyset on `hs_object_id` (no offset cap)."""
    log.info("hubspot.search.instant", ms=ms)
    last_id = seen.start_of(ms)
    while True:
        answer = fetch(query.instant(ms, last_id))
        contacts = [contact_from_api(r) for r in answer.get("results") or []]
        page = seen.fresh(contacts)
        if contacts:
            last_id = max(int(c.id) for c in contacts)
            seen.read_upto(ms, last_id)
        mark = seen.mark()
        if page and mark is not None:
            yield page, mark
        if not contacts or _next_after(answer) is None:
            return


def _next_after(answer: Mapping[str, Any]) -> int | None:
    paging = answer.get("paging") or {}
    after = (paging.get("next") or {}).get("after")
    return None if after in (None, "") else int(after)
