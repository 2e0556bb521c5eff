"""The sandbox sends HubSpot's webhooks as HubSpot does: signed v3, batched up to 100, retried,
and on request dropped, duplicated, reordered or delayed; a local receiver checks them with the
service's own `verify`."""

from __future__ import annotations

import time

import pytest

from connector.hubspot.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    contact_ids,
    parse_batch,
)
from connector.sandbox.hubspot.portal import APP_ID
from connector.sandbox.hubspot.webhooks import PORTAL_ID
from connector.sandbox.server import SandboxServer
from tests.sandbox.webhook_support import (
    SECRET,
    deliveries,
    session,
    settled,
    subscribe,
)

SEED = {
    "hubspot": {
        "contacts": [
            {"id": "101", "properties": {"email": "ada@acme.test", "firstname": "Ada"}},
            {"id": "102", "properties": {"email": "alan@acme.test", "firstname": "Alan"}},
        ]
    }
}
#: The fields of HubSpot's documented event shape (its webhooks guide and example payloads).
EVENT_KEYS = {
    "eventId",
    "subscriptionId",
    "portalId",
    "appId",
    "occurredAt",
    "subscriptionType",
    "attemptNumber",
    "objectId",
    "changeSource",
}


def _create(server: SandboxServer, count: int, start: int = 0) -> list[str]:
    inputs = [{"properties": {"email": f"p{start + i}@new.test"}} for i in range(count)]
    answer = session(server).post(
        f"{server.url}/crm/v3/objects/contacts/batch/create", json={"inputs": inputs}
    )
    assert answer.status_code == 201, answer.text
    return [r["id"] for r in answer.json()["results"]]


def test_api_changes_arrive_signed_in_hubspots_shape(sandbox, receiver) -> None:
    """Create, update, batch update, a HubSpot-calculated change and delete through the API
    arrive as HubSpot's events, for the subscribed types and properties only, each request
    signed v3 so that the service's `verify` accepts it (a query with escapes included)."""
    server = sandbox(SEED)
    target = receiver()
    url = target.url + "?portal=sandbox&tag=a%3Ab"
    sub = subscribe(server, url)
    ids = {(s["eventType"], s.get("propertyName", "")): s["id"] for s in sub["subscriptions"]}
    api = session(server)
    created = api.post(
        f"{server.url}/crm/v3/objects/contacts",
        json={"properties": {"email": "grace@navy.test", "firstname": "Grace"}},
    ).json()["id"]
    api.patch(
        f"{server.url}/crm/v3/objects/contacts/101",
        json={"properties": {"lifecyclestage": "marketingqualifiedlead", "lastname": "L"}},
    )
    api.post(
        f"{server.url}/crm/v3/objects/contacts/batch/update",
        json={"inputs": [{"id": "102", "properties": {"firstname": "Alan M."}}]},
    )
    api.post(
        f"{server.url}/_sandbox/hubspot/contacts/101/calculated",
        json={"properties": {"firstname": "Ada L."}},
    )
    api.delete(f"{server.url}/crm/v3/objects/contacts/102")
    settled(server)
    for request in target.received:
        request.verify()
        assert request.headers["Content-Type"] == "application/json"
    events = target.events()
    seen = [
        (e["subscriptionType"], str(e["objectId"]), e.get("propertyName"), e.get("propertyValue"))
        for e in events
    ]
    assert sorted(seen, key=str) == sorted(
        [
            ("contact.creation", created, None, None),
            ("contact.propertyChange", "101", "lifecyclestage", "marketingqualifiedlead"),
            ("contact.propertyChange", "102", "firstname", "Alan M."),
            ("contact.propertyChange", "101", "firstname", "Ada L."),
            ("contact.deletion", "102", None, None),
        ],
        key=str,
    )
    for event in events:
        assert set(event) >= EVENT_KEYS
        assert (event["portalId"], event["appId"], event["attemptNumber"]) == (
            PORTAL_ID,
            APP_ID,
            0,
        )
        key = (event["subscriptionType"], event.get("propertyName") or "")
        assert event["subscriptionId"] == ids[key]
    sources = {e.get("propertyValue"): (e["changeSource"], e.get("sourceId")) for e in events}
    assert sources["Alan M."] == ("INTEGRATION", str(APP_ID))
    assert sources["Ada L."][0] == "CALCULATED"
    creation = next(e for e in events if e["subscriptionType"] == "contact.creation")
    assert creation["changeFlag"] == "NEW"
    assert len({e["eventId"] for e in events}) == len(events)


def test_events_are_batched_up_to_the_limit(sandbox, receiver) -> None:
    """150 creations in quick succession arrive in requests of at most 100 events, the first
    one full, and the service's parser takes each."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, batch_window_ms=1000)
    created = _create(server, 100) + _create(server, 50, start=100)
    settled(server)
    sizes = [len(r.events) for r in target.received]
    assert max(sizes) == 100
    assert sizes[0] == 100
    assert sum(sizes) == 150
    batches = [parse_batch(r.body) for r in target.received]
    synced = [i for b in batches for i in contact_ids(b.events, ["firstname"]).sync]
    assert sorted(synced) == sorted(created)


def test_a_failed_delivery_is_retried_with_its_attempt_number(sandbox, receiver) -> None:
    """An answer of 500 is retried after the back-off: the same events, attemptNumber 1,
    signed again with a fresh timestamp; the deliveries say so."""
    server = sandbox(SEED)
    target = receiver([500])
    subscribe(server, target.url, retry_base_ms=100)
    _create(server, 1)
    first, second = target.wait_for(2)
    settled(server)
    assert [e["eventId"] for e in first.events] == [e["eventId"] for e in second.events]
    assert [e["attemptNumber"] for e in second.events] == [1]
    assert second.at - first.at >= 0.1
    second.verify()
    assert int(second.headers[TIMESTAMP_HEADER]) >= int(first.headers[TIMESTAMP_HEADER]) + 100
    assert second.headers[SIGNATURE_HEADER] != first.headers[SIGNATURE_HEADER]
    outcomes = [(d["attempt"], d["status"], d["outcome"]) for d in deliveries(server)["deliveries"]]
    assert outcomes == [(0, 500, "retrying"), (1, 204, "delivered")]


def test_no_answer_in_time_or_no_connection_is_retried_then_given_up(sandbox, receiver) -> None:
    """A receiver slower than the timeout is tried again; a target that refuses connections
    is tried `max_attempts` times, then given up on (the back-off is bounded)."""
    server = sandbox(SEED)
    slow = receiver()
    slow.stall_s = 1.0
    subscribe(server, slow.url, timeout_ms=300, retry_base_ms=50)
    _create(server, 1)
    settled(server)
    assert [d["outcome"] for d in deliveries(server)["deliveries"]] == ["retrying", "delivered"]
    assert "no answer within 300 ms" in deliveries(server)["deliveries"][0]["error"]

    closed = receiver()
    closed.close()
    subscribe(server, closed.url, max_attempts=3, retry_base_ms=10, retry_max_ms=20)
    since = deliveries(server)["lastSeq"]
    _create(server, 1, start=1)
    settled(server)
    tried = [d for d in deliveries(server)["deliveries"] if d["seq"] > since]
    assert [(d["attempt"], d["status"], d["outcome"]) for d in tried] == [
        (0, None, "retrying"),
        (1, None, "retrying"),
        (2, None, "gave_up"),
    ]
    assert all(d["error"] for d in tried)


def test_duplicates_are_sent_again_in_another_request(sandbox, receiver) -> None:
    """With `duplicate: 1.0` every event arrives twice, same eventId, in separate requests."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, faults={"duplicate": 1.0})
    _create(server, 3)
    settled(server)
    requests_ids = [[e["eventId"] for e in r.events] for r in target.received]
    flat = [i for ids in requests_ids for i in ids]
    assert len(flat) == 6 and len(set(flat)) == 3
    assert all(len(set(ids)) == len(ids) for ids in requests_ids)
    assert [d["copy"] for d in deliveries(server)["deliveries"]] == [False, True]


def test_reorder_shuffles_and_delay_holds_back(sandbox, receiver) -> None:
    """`reorder` sends a window's events out of order (all of them); `delay_ms` holds every
    request back at least that long."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(
        server,
        target.url,
        max_batch=5,
        faults={"reorder": True, "seed": 7, "delay_ms": 300},
    )
    started = time.monotonic()
    _create(server, 20)
    settled(server)
    ids = [e["eventId"] for e in target.events()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 20
    assert ids != sorted(ids)
    assert all(len(r.events) <= 5 for r in target.received)
    assert min(r.at for r in target.received) - started >= 0.3


def test_dropped_events_are_never_sent_but_are_listed(sandbox, receiver) -> None:
    """With `drop: 1.0` nothing arrives (a missed webhook, for the poll to catch); the
    deliveries list each dropped event."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, faults={"drop": 1.0})
    _create(server, 2)
    seen = settled(server)
    time.sleep(0.2)
    assert target.received == []
    assert [d["outcome"] for d in seen["deliveries"]] == ["dropped", "dropped"]


def test_nothing_is_delivered_after_delete(sandbox, receiver) -> None:
    """DELETE stops the subscription: events waiting in the window are forgotten and later
    changes send nothing."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, batch_window_ms=400)
    _create(server, 1)
    api = session(server)
    assert api.delete(f"{server.url}/_sandbox/hubspot/webhooks/subscription").status_code == 204
    _create(server, 1, start=1)
    time.sleep(0.8)
    assert target.received == []
    assert api.get(f"{server.url}/_sandbox/hubspot/webhooks/subscription").status_code == 404
    assert deliveries(server)["pendingEvents"] == 0


def test_api_answers_do_not_wait_fordeliveries(sandbox, receiver) -> None:
    """While the receiver holds a delivery unanswered, the sandbox's HubSpot API goes on
    answering at once: delivery runs in its own thread, outside the API's lock."""
    server = sandbox(SEED)
    target = receiver(hold=True)
    subscribe(server, target.url)
    _create(server, 1)
    assert target.holding.wait(5)
    api = session(server)
    started = time.monotonic()
    for n in range(10):
        answer = api.patch(
            f"{server.url}/crm/v3/objects/contacts/101",
            json={"properties": {"firstname": f"Ada {n}"}},
        )
        assert answer.status_code == 200
    elapsed = time.monotonic() - started
    assert not target.gate.is_set()
    assert elapsed < 3.0
    assert deliveries(server)["pendingEvents"] >= 1
    target.release()
    settled(server)
    assert len(target.events()) == 11


def test_injected_merge_arrives_like_any_event(sandbox, receiver) -> None:
    """A merge injected (as an admin can, besides merging through the API) arrives signed, with
    HubSpot's fields filled in, and the service's intake keeps it as a merge."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, events=["contact.merge"], properties=[])
    answer = session(server).post(
        f"{server.url}/_sandbox/hubspot/webhooks/events",
        json={
            "events": [
                {
                    "subscriptionType": "contact.merge",
                    "objectId": 101,
                    "primaryObjectId": 101,
                    "mergedObjectIds": [102],
                    "newObjectId": 101,
                }
            ]
        },
    )
    assert answer.status_code == 202
    (request,) = target.wait_for(1)
    request.verify()
    (event,) = request.events
    assert EVENT_KEYS - {"changeSource", "objectId"} <= set(event)
    assert event["eventId"] == answer.json()["eventIds"][0]
    changes = contact_ids(parse_batch(request.body).events, ["email"])
    assert [m.merged_object_ids for m in changes.merges] == [("102",)]


def test_reset_stops_the_subscription(sandbox, receiver) -> None:
    """The sandbox's reset forgets the subscription and its deliveries, as it forgets faults."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url)
    server = sandbox(SEED)
    _create(server, 1)
    time.sleep(0.3)
    assert target.received == []
    assert deliveries(server) == {"deliveries": [], "lastSeq": 0, "pendingEvents": 0}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"target_url": "http://example.com/hook"}, "loopback"),
        ({"target_url": "ftp://127.0.0.1/hook"}, "not an http(s) URL"),
        ({"client_secret": ""}, "client_secret"),
        ({"events": ["contact.teleport"]}, "not a HubSpot subscription type"),
        ({"properties": []}, "needs the properties"),
        ({"properties": ["no_such_property"]}, "no property 'no_such_property'"),
        ({"max_batch": 101}, "max_batch: an integer from 1 to 100"),
        ({"faults": {"duplicate": 2}}, "faults.duplicate"),
        ({"faults": {"shuffle": True}}, "faults.shuffle"),
        ({"colour": "blue"}, "unknown settings"),
    ],
)
def test_bad_subscription_settings_are_400_naming_the_field(sandbox, change, error) -> None:
    """A setting the sandbox cannot honour is refused with 400 naming it; nothing is set."""
    server = sandbox(SEED)
    body = {
        "target_url": "http://127.0.0.1:9/hook",
        "client_secret": SECRET,
        "events": ["contact.propertyChange"],
        "properties": ["firstname"],
        **change,
    }
    api = session(server)
    answer = api.post(f"{server.url}/_sandbox/hubspot/webhooks/subscription", json=body)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert api.get(f"{server.url}/_sandbox/hubspot/webhooks/subscription").status_code == 404


def test_subscription_is_shown_without_its_secret_and_faults_change_live(sandbox) -> None:
    """GET shows the subscription (ids per type and property) but never the client secret;
    PUT faults changes them on the live subscription, 404 without one."""
    server = sandbox(SEED)
    api = session(server)
    base = f"{server.url}/_sandbox/hubspot/webhooks"
    assert api.put(f"{base}/faults", json={"drop": 0.5}).status_code == 404
    subscribe(server, "http://127.0.0.1:9/hook")
    shown = api.get(f"{base}/subscription")
    assert SECRET not in shown.text
    assert [s.get("propertyName") for s in shown.json()["subscription"]["subscriptions"]] == [
        None,
        "firstname",
        "lifecyclestage",
        None,
    ]
    changed = api.put(f"{base}/faults", json={"delay_ms": 250, "reorder": True})
    assert changed.json()["subscription"]["faults"]["delay_ms"] == 250
    api.delete(f"{base}/subscription")


def test_a_fault_profile_drops_duplicates_and_reorders_by_chance(sandbox, receiver) -> None:
    """The fault profile's webhook chances apply to the subscription's events (seeded), and
    the profile's report counts what was done: every event either arrives (at least once)
    or is listed as dropped, and the copies and moves counted are the ones sent."""
    server = sandbox(SEED)
    target = receiver()
    subscribe(server, target.url, max_batch=10)
    server.sandbox.set_fault_profile(
        {
            "seed": 11,
            "rates": {"webhook_drop": 0.2, "webhook_duplicate": 0.2, "webhook_reorder": 0.5},
        }
    )
    created = _create(server, 60)
    seen = settled(server)
    report = server.sandbox.fault_report()
    counts = report["counts"]
    dropped = [d["eventIds"][0] for d in seen["deliveries"] if d["outcome"] == "dropped"]
    arrived = [e["eventId"] for e in target.events()]
    assert report["draws"]["events"] == len(created) == 60
    assert counts["webhook_drop"] == len(dropped) > 0
    assert len(set(arrived) | set(dropped)) == 60
    assert not set(arrived) & set(dropped)
    assert counts["webhook_duplicate"] == len(arrived) - len(set(arrived)) > 0
    assert counts["webhook_reorder"] > 0
    firsts = list(dict.fromkeys(arrived))
    assert firsts != sorted(firsts)
