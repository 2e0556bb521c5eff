"""`HubSpotGateway.changed_contacts` against the sandbox, through the real hubspot-api-client."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from connector.hubspot.gateway import HubSpotGateway
from connector.model import SearchFilter
from tests.conftest import hubspot_client
from tests.gateways.hubspot_support import (
    contacts_seed,
    fast_gateway,
    gateway_settings,
    statuses,
)

BASE_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def _at(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def test_450_contacts_take_three_searches_each_once_oldest_first(sandbox):
    """A pass over 450 changes costs 3 searches and yields each contact once, oldest first."""
    # Newer ids are older changes, so id order and change order disagree.
    server = sandbox(contacts_seed(450, lambda i: BASE_MS + (449 - i) * 1000))
    gateway, _ = fast_gateway(server)

    pages = list(gateway.changed_contacts(None, ["email"]))

    contacts = [c for page in pages for c in page]
    assert [c.id for c in contacts] == [str(1001 + i) for i in reversed(range(450))]
    assert [c.updated_at for c in contacts] == [_at(BASE_MS + k * 1000) for k in range(450)]
    assert contacts[0].email == "c449@acme.test"
    assert set(contacts[0].properties) >= {"email", "lastmodifieddate", "hs_object_id"}
    assert statuses(server) == [200, 200, 200]


def test_since_includes_a_contact_modified_exactly_then(sandbox):
    """`since` is inclusive to the millisecond: a change at that instant is not lost."""
    server = sandbox(contacts_seed(3, lambda i: BASE_MS - 1 + i))  # since-1ms, since, since+1ms
    gateway, _ = fast_gateway(server)

    pages = list(gateway.changed_contacts(_at(BASE_MS), ["email"]))

    assert [[c.id for c in page] for page in pages] == [["1002", "1003"]]
    assert pages[0][0].updated_at == _at(BASE_MS)


def test_any_of_groups_are_ored_and_each_anded_with_since(sandbox):
    """MQL-style filters: stage IN [...] OR score >= 70, both only among recent changes."""
    rows = [
        ("1001", "marketingqualifiedlead", None, 10),  # stage matches
        ("1002", "salesqualifiedlead", "20", 20),  # stage matches
        ("1003", "lead", "70", 30),  # score matches (at the boundary)
        ("1004", "lead", "69", 40),  # neither
        ("1005", "subscriber", None, 50),  # neither
        ("1006", "marketingqualifiedlead", "90", -1),  # both, but changed before since
        ("1007", "customer", "95", 60),  # score matches
    ]
    seed = {
        "hubspot": {
            "contacts": [
                {
                    "id": cid,
                    "properties": {
                        "lifecyclestage": stage,
                        "lastmodifieddate": str(BASE_MS + offset),
                        **({"hubspotscore": score} if score is not None else {}),
                    },
                }
                for cid, stage, score, offset in rows
            ]
        }
    }
    server = sandbox(seed)
    gateway, _ = fast_gateway(server)
    any_of = [
        [
            SearchFilter(
                "lifecyclestage", "IN", values=("marketingqualifiedlead", "salesqualifiedlead")
            )
        ],
        [SearchFilter("hubspotscore", "GTE", "70")],
    ]

    pages = list(gateway.changed_contacts(_at(BASE_MS), ["lifecyclestage"], any_of=any_of))

    contacts = [c for page in pages for c in page]
    assert [c.id for c in contacts] == ["1001", "1002", "1003", "1007"]
    assert contacts[0].properties["lifecyclestage"] == "marketingqualifiedlead"


def test_more_than_ten_thousand_changes_come_back_once_without_a_refused_page(sandbox):
    """Past HubSpot's 10,000-results cap the window restarts: all 10,450, once, no 400."""
    server = sandbox(contacts_seed(10_450, lambda i: BASE_MS + i))
    gateway, _ = fast_gateway(server)

    pages = list(gateway.changed_contacts(None, ["email"]))

    ids = [c.id for page in pages for c in page]
    assert ids == [str(1001 + i) for i in range(10_450)]
    stamps = [c.updated_at for page in pages for c in page]
    assert stamps == sorted(stamps)
    # Every page starts at the last instant seen (GTE), repeating that one contact: 200 new,
    # then 199 new a page, so 53 pages and never an offset near the cap.
    assert statuses(server) == [200] * 53


def test_an_instant_shared_by_more_than_a_window_is_read_by_id(sandbox):
    """10,300 contacts changed in one millisecond (a bulk import) all come back, once."""
    shared, later = 10_300, 100
    server = sandbox(
        contacts_seed(shared + later, lambda i: BASE_MS if i < shared else BASE_MS + i)
    )
    gateway, _ = fast_gateway(server)

    pages = list(gateway.changed_contacts(_at(BASE_MS), ["email"]))

    ids = [c.id for page in pages for c in page]
    assert len(ids) == len(set(ids)) == shared + later
    assert ids == [str(1001 + i) for i in range(shared + later)]
    stamps = [c.updated_at for page in pages for c in page]
    assert set(stamps[:shared]) == {_at(BASE_MS)}
    # 1 page shows the instant fills a page, then that instant by hs_object_id (10,300 / 200 =
    # 52 pages, re-reading the 200 seen), then 1 page after it.
    assert statuses(server) == [200] * (1 + 52 + 1)


def test_contacts_modified_while_paging_are_neither_skipped_nor_repeated(sandbox):
    """Write-backs between pages move contacts to the end: offset paging would skip as many
    others; keyset paging with an upper bound yields all 450 exactly once."""
    server = sandbox(contacts_seed(450, lambda i: BASE_MS + i * 1000))
    gateway, _ = fast_gateway(server)
    client = hubspot_client(server)
    until = _at(server.sandbox.portal.now_ms() - 1)  # the write-backs come after it

    ids: list[str] = []
    for page in gateway.changed_contacts(None, ["email"], until=until):
        ids += [c.id for c in page]
        client.crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(id=c.id, properties={"jobtitle": "Touched"})
                    for c in page[:100]
                ]
            )
        )

    assert sorted(ids, key=int) == [str(1001 + i) for i in range(450)]
    assert len(ids) == 450


def test_real_pacer_keeps_searches_under_hubspots_five_per_second(sandbox):
    """With real time, eleven quick searches are paced to 4 a second: the sandbox refuses none."""
    server = sandbox(contacts_seed(250, lambda i: BASE_MS + i))
    gateway = HubSpotGateway.connect(gateway_settings(server, hubspot_search_page_size=25))

    started = time.monotonic()
    ids = [c.id for page in gateway.changed_contacts(None, ["email"]) for c in page]
    elapsed = time.monotonic() - started

    assert ids == [str(1001 + i) for i in range(250)]
    # 25 new, then 24 new a page (each page repeats the last instant seen): 11 searches.
    assert statuses(server) == [200] * 11
    assert elapsed >= 2.0  # searches 5-8 wait a second, 9-11 another


def test_filters_that_leave_no_room_for_the_cursor_are_refused_before_any_call(sandbox):
    """A group of 5 filters would break reading an instant by id: refused at once, no search."""
    server = sandbox(contacts_seed(1, lambda i: BASE_MS))
    gateway, _ = fast_gateway(server)
    group = [SearchFilter("email", "HAS_PROPERTY")] * 5

    with pytest.raises(ValueError, match="at most 5 groups of 3 filters"):
        gateway.changed_contacts(None, ["email"], any_of=[group])

    assert statuses(server) == []


def _windows_seed() -> dict:
    """50 changes before the late window, 300 in it, 100 between the two windows (read
    already, not settled yet), 300 in the fresh window: 1 s apart, all at stage MQL."""
    offsets = [*range(50), *range(100, 400), *range(500, 600), *range(700, 1000)]
    return contacts_seed(
        len(offsets), lambda i: BASE_MS + offsets[i] * 1000, lifecyclestage="marketingqualifiedlead"
    )


def _late_and_fresh(sandbox, any_of: list) -> tuple[list[str], HubSpotGateway, Any]:
    """The ids read from the seed of `_windows_seed` with its late window, the gateway and the
    server."""
    server = sandbox(_windows_seed())
    gateway, _ = fast_gateway(server)
    late = (_at(BASE_MS + 100_000), _at(BASE_MS + 399_000))
    pages = gateway.changed_contacts(
        _at(BASE_MS + 700_000), ["email"], any_of=any_of, until=_at(BASE_MS + 999_000), earlier=late
    )
    return [c.id for page in pages for c in page], gateway, server


LATE_AND_FRESH = [str(1001 + i) for i in range(50, 350)] + [str(1001 + i) for i in range(450, 750)]


def test_a_late_window_is_read_in_the_same_searches_as_the_fresh_one(sandbox):
    """One filter group sent once per window (HubSpot ORs the groups): the 300 settled changes
    and the 300 new ones, oldest first, each once, in the searches 600 changes cost anyway;
    the 150 changes outside both windows are not read."""
    stage = [[SearchFilter("lifecyclestage", "IN", values=("marketingqualifiedlead",))]]

    ids, gateway, server = _late_and_fresh(sandbox, stage)

    assert ids == LATE_AND_FRESH
    # 200 new, then 199 new a page (each repeats the last instant seen): 4 searches for 600.
    assert statuses(server) == [200] * 4
    assert gateway.searchable_together(stage, windows=2)


def test_a_late_window_that_does_not_fit_one_search_is_read_first_in_searches_of_its_own(
    sandbox,
):
    """Three filter groups twice would pass HubSpot's five: the late window is searched
    alone, then the fresh one; the same 600 changes, each once."""
    groups = [
        [SearchFilter("lifecyclestage", "IN", values=("marketingqualifiedlead",))],
        [SearchFilter("hubspotscore", "GTE", "90")],
        [SearchFilter("email", "HAS_PROPERTY")],
    ]

    ids, gateway, server = _late_and_fresh(sandbox, groups)

    assert ids == LATE_AND_FRESH
    assert statuses(server) == [200] * 4  # 300 = 200 + 100 new, twice
    assert not gateway.searchable_together(groups, windows=2)
