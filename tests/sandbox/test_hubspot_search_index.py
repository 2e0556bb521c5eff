"""The search's ordered indexes (`connector.sandbox.hubspot.order`) stay true as contacts are
created, updated, merged, archived and GDPR-deleted: a window of `lastmodifieddate` (or of
`createdate`, or of ids) finds a contact where its current values put it, and nowhere else."""

from __future__ import annotations

import random
from typing import Any

from hubspot.crm.contacts import (
    PublicGdprDeleteInput,
    PublicMergeInput,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.search import search
from connector.sandbox.hubspot.values import typed
from tests.conftest import hubspot_client

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MOD = "lastmodifieddate"


def _seed(count: int) -> dict[str, Any]:
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": str(1000 + i),
                    "properties": {
                        "email": f"c{i}@example.test",
                        "createdate": str(BASE_MS - 86_400_000 + i),
                        MOD: str(BASE_MS + i * 1000),
                        "lifecyclestage": "lead" if i % 2 else "marketingqualifiedlead",
                    },
                }
                for i in range(count)
            ]
        }
    }


def _window(client, low: int, high: int, sort: str = MOD, **extra: Any) -> list[str]:
    """Ids of the contacts modified in [low, high), every page, in the order answered."""
    ids: list[str] = []
    after = None
    while True:
        page = client.crm.contacts.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(
                filter_groups=[
                    {
                        "filters": [
                            {"propertyName": MOD, "operator": "GTE", "value": str(low)},
                            {"propertyName": MOD, "operator": "LT", "value": str(high)},
                            *extra.get("filters", []),
                        ]
                    }
                ],
                sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
                limit=3,
                after=after,
            )
        )
        ids += [r.id for r in page.results]
        if page.paging is None:
            return ids
        after = page.paging.next.after


def test_a_contact_is_found_where_its_writes_move_it(sandbox):
    """Created, updated (its lastmodifieddate moves), merged, archived and GDPR-deleted
    contacts leave the windows they were in and turn up in the window of their new time."""
    server = sandbox(_seed(8))
    server.sandbox.config.enforce_rate_limits = False  # the clock stands still
    now = [BASE_MS + 3_600_000]
    server.sandbox.portal.clock = lambda: now[0] / 1000
    client = hubspot_client(server)
    everything = [f"{1000 + i}" for i in range(8)]
    assert _window(client, BASE_MS, BASE_MS + 8000) == everything

    client.crm.contacts.basic_api.update("1002", SimplePublicObjectInput({"firstname": "Moved"}))
    assert _window(client, BASE_MS, BASE_MS + 8000) == [i for i in everything if i != "1002"]
    assert _window(client, now[0], now[0] + 1) == ["1002"]

    now[0] += 1000
    created = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "new@example.test"})
    )
    assert _window(client, now[0] - 1000, now[0] + 1) == ["1002", created.id]

    now[0] += 1000
    client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="1004", object_id_to_merge="1005")
    )
    client.crm.contacts.basic_api.archive("1006")
    client.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id="1007"))
    assert _window(client, BASE_MS, BASE_MS + 8000) == ["1000", "1001", "1003"]
    assert _window(client, now[0], now[0] + 1) == ["1004"]
    # The same window sorted by id, read within one instant by id (leadbridge's keyset).
    by_id = {"propertyName": "hs_object_id", "operator": "GT", "value": "1000"}
    assert _window(client, BASE_MS, BASE_MS + 8000, "hs_object_id", filters=[by_id]) == [
        "1001",
        "1003",
    ]


def _oracle(portal: Portal, body: dict[str, Any]) -> list[str]:
    """What a search answers, worked out the slow way: every live contact tested, then sorted
    by the sort property (no value last, ties by id)."""

    def value(record: Any, name: str) -> Any:
        kind = "number" if name == "hs_object_id" else "datetime"
        return typed(kind, record.props[name]) if name in record.props else None

    def holds(record: Any, spec: dict[str, Any]) -> bool:
        if spec["operator"] == "IN":
            return record.props.get(spec["propertyName"]) in spec["values"]
        have = value(record, spec["propertyName"])
        if have is None:
            return False
        want = int(spec["value"])
        return {
            "EQ": have == want,
            "GT": have > want,
            "GTE": have >= want,
            "LT": have < want,
            "LTE": have <= want,
            "BETWEEN": want <= have <= int(spec.get("highValue", 0)),
        }[spec["operator"]]

    live = [
        r
        for r in portal.stores["contacts"].live()
        if any(all(holds(r, f) for f in g["filters"]) for g in body["filterGroups"])
    ]
    rule = body["sorts"][0]
    live.sort(key=lambda r: int(r.id))
    live.sort(
        key=lambda r: value(r, rule["propertyName"]), reverse=rule["direction"] == "DESCENDING"
    )
    return [r.id for r in live]


def _random_body(rng: random.Random, now: int) -> dict[str, Any]:
    def bound(prop: str) -> dict[str, Any]:
        if prop == "hs_object_id":
            value = rng.randrange(995, 1070)
        elif prop == "createdate":
            value = BASE_MS - 86_400_000 + rng.randrange(-5, 70)
        else:
            value = rng.choice([BASE_MS + rng.randrange(-2, 60) * 1000, now - rng.randrange(0, 20)])
        operator = rng.choice(["EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"])
        spec = {"propertyName": prop, "operator": operator, "value": str(value)}
        if operator == "BETWEEN":
            spec["highValue"] = str(value + rng.randrange(0, 30_000))
        return spec

    groups = []
    for _ in range(rng.randrange(1, 4)):
        props = rng.sample([MOD, "createdate", "hs_object_id"], rng.randrange(1, 3))
        filters = [bound(p) for p in props for _ in range(rng.randrange(1, 3))]
        if rng.random() < 0.5:
            filters.append({"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead"]})
        groups.append({"filters": filters})
    sort = rng.choice([MOD, "createdate", "hs_object_id"])
    direction = rng.choice(["ASCENDING", "ASCENDING", "DESCENDING"])
    return {
        "filterGroups": groups,
        "sorts": [{"propertyName": sort, "direction": direction}],
        "limit": 200,
    }


def test_ranges_answer_as_a_full_scan_after_random_writes():
    """After each of 300 random creates, updates, backdated updates, merges, archives and GDPR
    deletes, random range searches answer exactly what testing every contact answers."""
    rng = random.Random(16)
    now = [BASE_MS + 100_000]
    portal = Portal.from_seed(_seed(60)["hubspot"])
    portal.clock = lambda: now[0] / 1000
    otype = portal.stores["contacts"].type
    store = portal.stores["contacts"]
    for step in range(300):
        now[0] += rng.choice([0, 1, 7])
        live = list(store.live())
        action = rng.random()
        if action < 0.15 or len(live) < 3:
            portal.create(otype, {"email": f"n{step}@example.test", "lifecyclestage": "lead"})
        elif action < 0.55:
            at = rng.choice([None, BASE_MS + rng.randrange(0, 60) * 1000])
            portal.update(otype, rng.choice(live), {"firstname": f"F{step}"}, at_ms=at)
        elif action < 0.7:
            primary, other = rng.sample(live, 2)
            portal.merge(otype, primary, other)
        elif action < 0.85:
            portal.archive(otype, rng.choice(live))
        else:
            portal.purge(otype, rng.choice(live))
        for _ in range(3):
            body = _random_body(rng, now[0])
            page = search(portal, otype, body)
            want = _oracle(portal, body)
            assert page.total == len(want), (step, body)
            assert [r.id for r in page.records] == want[:200], (step, body)
