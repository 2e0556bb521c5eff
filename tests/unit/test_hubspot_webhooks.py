"""HubSpot webhooks v3 intake (connector.hubspot.webhooks): signature, batch, what to sync."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot.utils.signature import Signature
from hypothesis import given
from hypothesis import strategies as st

from connector.hubspot.webhooks import (
    CLOCK_SKEW_MS,
    MAX_AGE_MS,
    MAX_BODY_BYTES,
    MAX_EVENTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookEvent,
    WebhookRefused,
    called_uri,
    canonical_uri,
    check_size,
    contact_ids,
    parse,
    parse_batch,
    sign,
    verify,
)

# HubSpot's own example values ("Validating requests": the v1 and v2 examples).
DOC_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOC_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)
DOC_URI = "https://www.example.com/webhook_uri"
DOC_V1_HASH = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
DOC_V2_GET_HASH = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"

STAMP = 1_564_113_600_000
NOW = datetime.fromtimestamp(STAMP / 1000, UTC)
URI = "https://leadbridge.example.com/webhooks/hubspot"
SECRET = "app-client-secret-1234"


def _headers(body: bytes, *, uri: str = URI, secret: str = SECRET, stamp: int = STAMP) -> dict:
    return {
        SIGNATURE_HEADER: sign("POST", uri, body, stamp, secret),
        TIMESTAMP_HEADER: str(stamp),
    }


def _refusal(**overrides: Any) -> WebhookRefused:
    request: dict[str, Any] = {
        "method": "POST",
        "uri": URI,
        "body": DOC_BODY,
        "headers": _headers(DOC_BODY),
        "secret": SECRET,
        "now": NOW,
    }
    request.update(overrides)
    with pytest.raises(WebhookRefused) as refused:
        verify(**request)
    return refused.value


def _event(event_id: int, kind: str = "contact.creation", **fields: Any) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionType": kind, "objectId": 100 + event_id, **fields}


def _body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events, separators=(",", ":")).encode()


# -- the signature ------------------------------------------------------------------------
def test_documented_example_signed_as_hubspots_own_client_signs_it() -> None:
    """HubSpot's documented example values (proved byte-exact by its v1 and v2 hashes) sign
    to the same v3 signature as hubspot-api-client computes, and verify."""
    assert hashlib.sha256(DOC_SECRET.encode() + DOC_BODY).hexdigest() == DOC_V1_HASH
    assert hashlib.sha256(f"{DOC_SECRET}GET{DOC_URI}".encode()).hexdigest() == DOC_V2_GET_HASH
    theirs = Signature.get_signature(
        DOC_SECRET, DOC_BODY.decode(), "v3", DOC_URI, "POST", str(STAMP)
    )
    assert sign("POST", DOC_URI, DOC_BODY, STAMP, DOC_SECRET) == theirs
    headers = {SIGNATURE_HEADER: theirs, TIMESTAMP_HEADER: str(STAMP)}
    verify("POST", DOC_URI, DOC_BODY, headers, DOC_SECRET, NOW)


def test_uri_escapes_hubspot_lists_are_decoded_before_signing() -> None:
    """A URI arriving with `%3A`, `%2f`, `%40`... verifies against HubSpot's signature over the
    decoded URI; escapes outside HubSpot's table (`%20`, `%25`) stay as they are."""
    called = "https://hooks.example.com/in%2Fbound?app=a%3Ab&who=x%40y&l=%28%29%2a%2C%3b%21%24%27"
    decoded = "https://hooks.example.com/in/bound?app=a:b&who=x@y&l=()*,;!$'"
    assert canonical_uri(called) == decoded
    assert canonical_uri("https://h/a%20b%253A") == "https://h/a%20b%253A"
    theirs = Signature.get_signature(SECRET, DOC_BODY.decode(), "v3", decoded, "POST", str(STAMP))
    headers = {SIGNATURE_HEADER: theirs, TIMESTAMP_HEADER: str(STAMP)}
    verify("POST", called, DOC_BODY, headers, SECRET, NOW)


def test_headers_are_found_whatever_their_case() -> None:
    """Servers hand headers lower-cased (ASGI does); they verify all the same."""
    headers = {k.lower(): v for k, v in _headers(DOC_BODY).items()}
    verify("POST", URI, DOC_BODY, headers, SECRET, NOW)


def test_called_uri_rebuilds_what_hubspot_called() -> None:
    """Scheme, host with its port, the raw path and the query make the URI HubSpot signed."""
    assert called_uri("HTTPS", "hooks.example.com:8443", "/webhooks/hubspot", "a=1&b=%3A") == (
        "https://hooks.example.com:8443/webhooks/hubspot?a=1&b=%3A"
    )
    assert called_uri("https", "hooks.example.com", "/webhooks/hubspot", "") == (
        "https://hooks.example.com/webhooks/hubspot"
    )


SIGNED = _headers(DOC_BODY)
ONLY_STAMP = {TIMESTAMP_HEADER: str(STAMP)}


@pytest.mark.parametrize(
    ("case", "overrides", "reason"),
    [
        ("tampered body", {"body": DOC_BODY.replace(b":123", b":124")}, "bad_signature"),
        ("tampered URI", {"uri": URI.replace("leadbridge", "attacker")}, "bad_signature"),
        ("tampered method", {"method": "PUT"}, "bad_signature"),
        ("wrong secret", {"secret": SECRET + "x"}, "bad_signature"),
        ("stale", {"now": NOW + timedelta(milliseconds=MAX_AGE_MS + 1)}, "stale"),
        ("future", {"now": NOW - timedelta(milliseconds=CLOCK_SKEW_MS + 1)}, "future"),
        ("no signature", {"headers": ONLY_STAMP}, "missing_signature"),
        ("no timestamp", {"headers": {SIGNATURE_HEADER: "c2ln"}}, "missing_timestamp"),
        ("no headers", {"headers": {}}, "missing_signature"),
        ("empty signature", {"headers": {**ONLY_STAMP, SIGNATURE_HEADER: ""}}, "missing_signature"),
        ("stamp not ms", {"headers": {**SIGNED, TIMESTAMP_HEADER: "2019-07-26"}}, "bad_timestamp"),
        (
            "stamp replaced",
            {"headers": {**SIGNED, TIMESTAMP_HEADER: str(STAMP + 1)}},
            "bad_signature",
        ),
    ],
)
def test_every_refusal_is_401_with_its_reason(
    case: str, overrides: dict[str, Any], reason: str
) -> None:
    """Tampered body, URI or method, a wrong secret, a stale or future timestamp, missing or
    malformed headers: each is refused with 401 and says which."""
    refused = _refusal(**overrides)
    assert (refused.status, refused.reason) == (401, reason), case
    assert SECRET not in str(refused)


def test_timestamp_bounds_are_inclusive() -> None:
    """Exactly five minutes old, or exactly the allowed skew ahead, still verifies."""
    verify("POST", URI, DOC_BODY, _headers(DOC_BODY), SECRET, NOW + timedelta(minutes=5))
    ahead = NOW - timedelta(milliseconds=CLOCK_SKEW_MS)
    verify("POST", URI, DOC_BODY, _headers(DOC_BODY), SECRET, ahead)


def test_no_secret_refuses_with_503_naming_the_setting() -> None:
    """Without a secret nothing can be verified: refused (503, HubSpot retries), never taken."""
    refused = _refusal(secret="")
    assert refused.status == 503
    assert "LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET" in str(refused)


def test_naive_clock_is_a_programming_error() -> None:
    """`now` must be timezone-aware: a naive time would shift the window by the UTC offset."""
    with pytest.raises(ValueError, match="timezone-aware"):
        verify("POST", URI, DOC_BODY, _headers(DOC_BODY), SECRET, NOW.replace(tzinfo=None))


@given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=64), data=st.data())
def test_any_signed_request_verifies_and_any_changed_byte_does_not(
    body: bytes, secret: str, data: st.DataObject
) -> None:
    """verify(sign(x)) passes for any body and secret; changing any one byte of the body, or
    any one letter of the URI's path, makes it fail."""
    headers = _headers(body, secret=secret)
    verify("POST", URI, body, headers, secret, NOW)
    if body:
        index = data.draw(st.integers(0, len(body) - 1))
        other = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
        changed = body[:index] + bytes([other]) + body[index + 1 :]
        with pytest.raises(WebhookRefused):
            verify("POST", URI, changed, headers, secret, NOW)
    path_start = URI.index("/webhooks")
    index = data.draw(st.integers(path_start + 1, len(URI) - 1).filter(lambda i: URI[i].isalpha()))
    letter = data.draw(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz").filter(lambda c: c != URI[index])
    )
    with pytest.raises(WebhookRefused):
        verify("POST", URI[:index] + letter + URI[index + 1 :], body, headers, secret, NOW)


# -- the batch ----------------------------------------------------------------------------
def test_documented_example_parses_typed() -> None:
    """HubSpot's example event comes out typed, ids as strings."""
    (event,) = parse(DOC_BODY)
    assert event == WebhookEvent(
        event_id=1,
        subscription_type="contact.creation",
        object_id="123",
        occurred_at=1564113600000,
        attempt_number=0,
        subscription_id=12345,
        portal_id=62515,
        app_id=54321,
        change_source="CRM",
        change_flag="NEW",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not_json"),
        (b"", "not_json"),
        (b"\xff\xfe[]", "not_json"),
        (b"[NaN]", "not_json"),
        (b'{"eventId": 1}', "not_a_batch"),
        (b"[1, 2]", "not_a_batch"),
        (b'[{"subscriptionType": "contact.creation"}]', "bad_event"),
        (b'[{"eventId": 1}]', "bad_event"),
        (b'[{"eventId": true, "subscriptionType": "contact.creation"}]', "bad_event"),
        (b'[{"eventId": 1, "subscriptionType": "x.y", "objectId": "12a"}]', "bad_event"),
        (b'[{"eventId": 1, "subscriptionType": "x.y", "mergedObjectIds": 7}]', "bad_event"),
    ],
)
def test_what_is_not_a_batch_of_events_is_400(body: bytes, reason: str) -> None:
    """Non-JSON, JSON that is not an array of event objects, an event without an integer
    eventId and a subscriptionType: 400, saying which."""
    with pytest.raises(WebhookRefused) as refused:
        parse(body)
    assert (refused.value.status, refused.value.reason) == (400, reason)


def test_at_most_100_events_and_101_is_400() -> None:
    """100 events are taken; 101 are not a HubSpot batch (400: the body is not too large)."""
    assert len(parse(_body([_event(i) for i in range(MAX_EVENTS)]))) == MAX_EVENTS
    with pytest.raises(WebhookRefused) as refused:
        parse(_body([_event(i) for i in range(MAX_EVENTS + 1)]))
    assert (refused.value.status, refused.value.reason) == (400, "too_many_events")


def test_oversized_body_is_413() -> None:
    """A body over the bound is refused with 413 before it is parsed; the endpoint checks the
    Content-Length with the same bound."""
    big = _body([_event(1, "contact.propertyChange", propertyValue="x" * MAX_BODY_BYTES)])
    with pytest.raises(WebhookRefused) as refused:
        parse(big)
    assert (refused.value.status, refused.value.reason) == (413, "too_large")
    check_size(MAX_BODY_BYTES)
    with pytest.raises(WebhookRefused):
        check_size(MAX_BODY_BYTES + 1)


def test_duplicate_event_ids_are_dropped_and_counted() -> None:
    """A repeated eventId (a retry's copy in the same batch) is dropped; the first stays."""
    batch = parse_batch(_body([_event(1), _event(2), _event(1, attemptNumber=1), _event(2)]))
    assert [e.event_id for e in batch.events] == [1, 2]
    assert batch.events[0].attempt_number == 0
    assert batch.duplicates == 2


def test_unknown_subscription_types_are_kept_and_reported() -> None:
    """A type HubSpot adds later neither crashes nor disappears: it is kept and named."""
    batch = parse_batch(_body([_event(1), {"eventId": 2, "subscriptionType": "contact.teleport"}]))
    assert [e.known for e in batch.events] == [True, False]
    assert batch.unknown_types == ("contact.teleport",)
    changes = contact_ids(batch.events, ["email"])
    assert [e.event_id for e in changes.unknown] == [2]


def test_property_values_of_any_json_scalar_and_lone_surrogates_are_text() -> None:
    """A number or boolean property value is its JSON text; a lone surrogate becomes `?`, so
    whatever is recorded can be stored as UTF-8."""
    change = {"subscriptionType": "contact.propertyChange", "objectId": 5}
    score = _body([{"eventId": 1, **change, "propertyName": "hubspotscore", "propertyValue": 40}])
    name = b'[{"eventId": 2, "subscriptionType": "x.y", "propertyValue": "A\\ud800"}]'
    (first,) = parse(score)
    (second,) = parse(name)
    assert first.property_value == "40"
    assert second.property_value == "A?"


# -- what to sync -------------------------------------------------------------------------
def test_contact_ids_sync_created_restored_and_watched_changes_once_each() -> None:
    """Creation, restore and a change of a property the mapping reads name a contact to sync,
    once, in first-seen order; a change of any other property asks nothing."""
    events = parse(
        _body(
            [
                _event(1, "contact.propertyChange", objectId=7, propertyName="lifecyclestage"),
                _event(2, "contact.creation", objectId=8),
                _event(3, "contact.propertyChange", objectId=9, propertyName="hs_analytics_x"),
                _event(4, "contact.propertyChange", objectId=8, propertyName="email"),
                _event(5, "contact.restore", objectId=10),
                _event(6, "company.creation", objectId=7),
                _event(7, "contact.associationChange", objectId=7),
            ]
        )
    )
    changes = contact_ids(events, {"email", "lifecyclestage"})
    assert changes.sync == ("7", "8", "10")
    assert [e.event_id for e in changes.ignored] == [3, 6, 7]
    assert contact_ids(events, None).sync == ("7", "8", "9", "10")


def test_merges_and_deletions_are_kept_whole_not_synced() -> None:
    """contact.merge, contact.deletion and contact.privacyDeletion are recorded as their own
    kinds, with what HubSpot said about them, for their own handling."""
    events = parse(
        _body(
            [
                _event(1, "contact.merge", objectId=7, primaryObjectId=7, mergedObjectIds=[8, 9]),
                _event(2, "contact.deletion", objectId=8),
                _event(3, "contact.privacyDeletion", objectId=9),
            ]
        )
    )
    changes = contact_ids(events, {"email"})
    assert changes.sync == ()
    (merge,) = changes.merges
    assert (merge.primary_object_id, merge.merged_object_ids) == ("7", ("8", "9"))
    assert [e.object_id for e in changes.deletions] == ["8", "9"]


def test_generic_object_events_on_contacts_count_as_contact_events() -> None:
    """`object.creation` with objectTypeId 0-1 (the newer generic subscriptions) is a contact
    creation; on another object type it asks nothing."""
    events = parse(
        _body(
            [
                _event(1, "object.creation", objectId=7, objectTypeId="0-1"),
                _event(2, "object.creation", objectId=8, objectTypeId="0-2"),
            ]
        )
    )
    changes = contact_ids(events, [])
    assert changes.sync == ("7",)
    assert [e.event_id for e in changes.ignored] == [2]
