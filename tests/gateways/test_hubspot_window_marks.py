"""`HubSpotGateway.contacts_in_window`: a backfill's read, resumable from the mark after any
page, against the sandbox through the real hubspot-api-client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connector.model import ReadMark
from tests.gateways.hubspot_support import contacts_seed, fast_gateway

BASE_MS = 1_700_000_000_000


def _at(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _stamps(kind: str, count: int):
    if kind == "distinct":
        return lambda i: BASE_MS + (count - i) * 7  # id order and change order disagree
    if kind == "pairs":
        return lambda i: BASE_MS + (i // 2) * 10  # two contacts at each instant
    return lambda i: BASE_MS if i < count - 30 else BASE_MS + i  # a bulk import, then more


@pytest.mark.parametrize("kind", ["distinct", "pairs", "instant"])
def test_a_read_resumed_from_any_pages_mark_reads_the_rest_once(sandbox, kind):
    """Stopped after any page and resumed from its mark (kept as JSON), the read yields every
    contact once in all: whatever instants the pages share or split."""
    count = 530
    server = sandbox(contacts_seed(count, _stamps(kind, count)))
    gateway, _ = fast_gateway(server, hubspot_search_page_size=50)

    pages = list(gateway.contacts_in_window(None, _at(BASE_MS + 10**7), ["email"]))
    everyone = [c.id for page, _ in pages for c in page]
    assert sorted(everyone, key=int) == [str(1001 + i) for i in range(count)]
    assert len(everyone) == count

    for stop in range(len(pages)):
        before = [c.id for page, _ in pages[: stop + 1] for c in page]
        kept = json.loads(json.dumps(pages[stop][1].as_json()))
        rest = [
            c.id
            for page, _ in gateway.contacts_in_window(
                None, _at(BASE_MS + 10**7), ["email"], start=ReadMark.from_json(kept)
            )
            for c in page
        ]
        assert sorted(before + rest, key=int) == [str(1001 + i) for i in range(count)], stop
        assert len(pages[stop][1].ids) <= 100  # the mark stays small whatever the instant


def test_count_contacts_is_one_search(sandbox):
    """The total a progress bar shows costs one search of one result."""
    server = sandbox(contacts_seed(120, lambda i: BASE_MS + i))
    gateway, _ = fast_gateway(server)
    mark = server.sandbox.journal.last_seq()

    assert gateway.count_contacts(_at(BASE_MS + 20), _at(BASE_MS + 29)) == 10
    assert len(server.sandbox.journal.entries(since=mark)) == 1
