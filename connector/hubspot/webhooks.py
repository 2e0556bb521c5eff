"""HubSpot webhooks v3 intake, pure: is a request HubSpot's (`verify`), which events does it
carry (`parse`), and which contacts do they ask us to sync (`contact_ids`).

No I/O and no web framework: the service's endpoint hands in the method, the URI HubSpot
called, the raw body, the headers and the clock, and turns a `WebhookRefused` into its HTTP
status. The sandbox signs its deliveries with `sign`, so the two sides share one
implementation of the signature.

The v3 signature, as HubSpot documents it ("Validate the v3 request signature",
https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests):
base64 of HMAC-SHA256, keyed with the app's client secret, over the UTF-8 bytes of
`method + uri + body + timestamp`, where `uri` is the full URI HubSpot called (scheme, host,
path and query) with the percent-escapes of ``: / ? @ ! $ ' ( ) * , ;`` decoded, `body` the raw
request body and `timestamp` the `X-HubSpot-Request-Timestamp` header (epoch milliseconds).
Requests whose timestamp is older than five minutes are to be refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from connector.errors import LeadbridgeError

SIGNATURE_HEADER: Final = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER: Final = "X-HubSpot-Request-Timestamp"
#: The setting holding the app's client secret (named in the one refusal that is ours to fix).
SECRET_SETTING: Final = "LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET"  # noqa: S105 - a setting name

#: HubSpot: "reject the request if the timestamp is older than 5 minutes".
MAX_AGE_MS: Final = 5 * 60 * 1000
#: A timestamp this far ahead of our clock is still taken: HubSpot's clock and ours are both
#: NTP-synchronised but never equal. Beyond it the request is refused, because a timestamp in
#: the future would stretch the five-minute replay window by as much.
CLOCK_SKEW_MS: Final = 60 * 1000
#: HubSpot sends at most 100 events per request (its webhooks guide); more is not HubSpot.
MAX_EVENTS: Final = 100
#: The largest body the endpoint reads. 100 events of HubSpot's shape are ~30 KB, a long
#: property value included well under this; the endpoint refuses a longer `Content-Length`
#: before reading, and reads at most this many bytes plus one.
MAX_BODY_BYTES: Final = 1024 * 1024

#: The escapes HubSpot's v3 instructions decode in the URI before signing. A single pass, so
#: `%253A` stays as it is (only `%25` would turn it into `%3A`, and `%25` is not listed);
#: hexadecimal digits in either case, as RFC 3986 section 2.1 makes them equivalent.
_URI_DECODED: Final = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
_URI_ESCAPE = re.compile("%(" + "|".join(_URI_DECODED) + ")", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,16}")

Reason = Literal[
    "no_secret",
    "missing_signature",
    "missing_timestamp",
    "bad_timestamp",
    "stale",
    "future",
    "bad_signature",
    "too_large",
    "not_json",
    "not_a_batch",
    "too_many_events",
    "bad_event",
]


class WebhookRefused(LeadbridgeError):
    """A webhook request we do not take: answer `status`, queue nothing.

    `reason` is a short code fit for a metric label and a log event; the message is one line
    naming what is wrong, never the secret, the signature or the body.
    """

    def __init__(self, status: int, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


# -- the signature ------------------------------------------------------------------------
def canonical_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the escapes of its v3 table decoded, nothing else."""
    return _URI_ESCAPE.sub(lambda m: _URI_DECODED[m.group(1).upper()], uri)


def called_uri(scheme: str, host: str, path: str, query: str = "") -> str:
    """The full URI HubSpot called, from its parts as the request carried them.

    `host` is the `Host` HubSpot sent (with its port, if any); `path` and `query` are raw, as
    on the request line (ASGI's `raw_path` and `query_string`, not the decoded `path`). Behind
    a proxy the endpoint takes `scheme` and `host` from forwarded headers of trusted proxies
    only; that choice is the endpoint's.
    """
    uri = f"{scheme.lower()}://{host}{path or '/'}"
    return f"{uri}?{query}" if query else uri


def sign(method: str, uri: str, body: bytes, timestamp: int | str, secret: str) -> str:
    """`X-HubSpot-Signature-v3` for a request: base64(HMAC-SHA256(secret, method + uri + body
    + timestamp)), over the URI as HubSpot signs it (`canonical_uri`) and the raw body."""
    message = b"".join(
        (
            method.upper().encode("utf-8"),
            canonical_uri(uri).encode("utf-8"),
            body,
            str(timestamp).encode("ascii"),
        )
    )
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: datetime,
) -> None:
    """Return when the request is HubSpot's, signed within the last five minutes; raise
    `WebhookRefused` otherwise (503 when no secret is set, 401 for everything else).

    `uri` is the full URI HubSpot called (see `called_uri`), `headers` looked up without
    regard to case, `now` a timezone-aware time. The timestamp is checked before the
    signature, and the signatures are compared in constant time.
    """
    if not secret:
        message = f"{SECRET_SETTING} is not set: webhook signatures cannot be checked"
        raise WebhookRefused(503, "no_secret", message)
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise WebhookRefused(401, "missing_signature", f"no {SIGNATURE_HEADER} header")
    stamp = _header(headers, TIMESTAMP_HEADER)
    if not stamp:
        raise WebhookRefused(401, "missing_timestamp", f"no {TIMESTAMP_HEADER} header")
    stamp = stamp.strip()
    if not _DIGITS.fullmatch(stamp):
        message = f"{TIMESTAMP_HEADER} is not epoch milliseconds"
        raise WebhookRefused(401, "bad_timestamp", message)
    age_ms = _epoch_ms(now) - int(stamp)
    if age_ms > MAX_AGE_MS:
        message = f"{TIMESTAMP_HEADER} is {age_ms // 1000} s old (at most {MAX_AGE_MS // 1000} s)"
        raise WebhookRefused(401, "stale", message)
    if -age_ms > CLOCK_SKEW_MS:
        message = (
            f"{TIMESTAMP_HEADER} is {-age_ms // 1000} s in the future "
            f"(at most {CLOCK_SKEW_MS // 1000} s of clock skew)"
        )
        raise WebhookRefused(401, "future", message)
    expected = sign(method, uri, body, stamp, secret)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8")):
        message = f"{SIGNATURE_HEADER} does not match the request (URI, body or secret differ)"
        raise WebhookRefused(401, "bad_signature", message)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _epoch_ms(now: datetime) -> int:
    if now.tzinfo is None:
        msg = "now must be timezone-aware (UTC)"
        raise ValueError(msg)
    return int(now.timestamp() * 1000)


# -- the events ---------------------------------------------------------------------------
#: Subscription types HubSpot documents for the webhooks API (legacy `object.action` names and
#: the generic `object.*` ones, which carry `objectTypeId`). Anything else is kept, as
#: `known=False`, and reported: HubSpot adds types, and a new one must not lose the batch.
_OBJECTS: Final = ("contact", "company", "deal", "ticket", "product", "line_item", "object")
_ACTIONS: Final = (
    "creation",
    "deletion",
    "propertyChange",
    "merge",
    "restore",
    "associationChange",
)
KNOWN_TYPES: Final = frozenset(
    {f"{obj}.{action}" for obj in _OBJECTS for action in _ACTIONS}
    | {"contact.privacyDeletion"}
    | {
        f"conversation.{action}"
        for action in ("creation", "deletion", "privacyDeletion", "propertyChange", "newMessage")
    }
)
#: HubSpot's object type id of contacts, as generic (`object.*`) events name it.
CONTACT_TYPE_ID: Final = "0-1"


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a batch, typed. Ids are strings, as the rest of leadbridge holds them.

    Only `event_id` and `subscription_type` are required: HubSpot's other fields depend on
    the type (`property_name` and `property_value` for a property change, `primary_object_id`
    and `merged_object_ids` for a merge), and an event of a type we do not know may carry
    none of them.
    """

    event_id: int
    subscription_type: str
    object_id: str | None = None
    occurred_at: int | None = None  # epoch milliseconds
    attempt_number: int = 0
    subscription_id: int | None = None
    portal_id: int | None = None
    app_id: int | None = None
    change_source: str | None = None
    source_id: str | None = None
    change_flag: str | None = None
    property_name: str | None = None
    property_value: str | None = None
    object_type_id: str | None = None
    primary_object_id: str | None = None
    merged_object_ids: tuple[str, ...] = ()
    new_object_id: str | None = None
    number_of_properties_moved: int | None = None
    association_type: str | None = None
    from_object_id: str | None = None
    to_object_id: str | None = None
    association_removed: bool | None = None

    @property
    def known(self) -> bool:
        """Whether HubSpot documents this subscription type."""
        return self.subscription_type in KNOWN_TYPES

    @property
    def object_name(self) -> str:
        """`contact` for `contact.creation`; a generic `object.*` event on contacts too."""
        name = self.subscription_type.partition(".")[0]
        if name == "object" and self.object_type_id == CONTACT_TYPE_ID:
            return "contact"
        return name

    @property
    def action(self) -> str:
        """`creation` for `contact.creation`."""
        return self.subscription_type.partition(".")[2]


@dataclass(frozen=True)
class Batch:
    """What one request carried: its events, first of each `eventId`, in the order sent."""

    events: tuple[WebhookEvent, ...]
    duplicates: int  # events dropped because an earlier one had the same eventId

    @property
    def unknown_types(self) -> tuple[str, ...]:
        """Subscription types of this batch HubSpot does not document (to report them)."""
        return tuple(dict.fromkeys(e.subscription_type for e in self.events if not e.known))


def check_size(length: int) -> None:
    """Refuse (413) a body longer than `MAX_BODY_BYTES`; the endpoint calls it with the
    `Content-Length` before reading, and `parse_batch` with the body it got."""
    if length > MAX_BODY_BYTES:
        message = f"body of {length} bytes is over the {MAX_BODY_BYTES}-byte limit"
        raise WebhookRefused(413, "too_large", message)


def parse(body: bytes) -> list[WebhookEvent]:
    """The events of a request body, duplicates dropped (see `parse_batch`)."""
    return list(parse_batch(body).events)


def parse_batch(body: bytes) -> Batch:
    """A request body as HubSpot sends it: a JSON array of at most 100 event objects.

    Refuses with 413 a body over `MAX_BODY_BYTES`; with 400 one that is not UTF-8 JSON, not an
    array of objects, longer than 100 events (HubSpot never sends more, so it is a malformed
    batch, not a large body: 413 is for size), or holding an event without an integer
    `eventId` and a `subscriptionType`, or with a documented field of the wrong type. A later
    event with an `eventId` already seen in the batch is dropped and counted.
    """
    check_size(len(body))
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRefused(400, "not_json", f"body is not JSON: {_short(exc)}") from None
    if not isinstance(data, list):
        message = f"body is a JSON {_json_kind(data)}, not an array of events"
        raise WebhookRefused(400, "not_a_batch", message)
    if len(data) > MAX_EVENTS:
        message = f"{len(data)} events in one request; HubSpot sends at most {MAX_EVENTS}"
        raise WebhookRefused(400, "too_many_events", message)
    events: list[WebhookEvent] = []
    seen: set[int] = set()
    duplicates = 0
    for index, raw in enumerate(data):
        event = _event(raw, index)
        if event.event_id in seen:
            duplicates += 1
            continue
        seen.add(event.event_id)
        events.append(event)
    return Batch(tuple(events), duplicates)


def _no_constant(name: str) -> Any:
    msg = f"{name} is not a JSON value"
    raise ValueError(msg)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"


def _event(raw: object, index: int) -> WebhookEvent:
    where = f"event {index}"
    if not isinstance(raw, dict):
        message = f"{where} is a JSON {_json_kind(raw)}, not an event object"
        raise WebhookRefused(400, "not_a_batch", message)
    event_id = _int(raw, "eventId", where, required=True)
    kind = _text(raw, "subscriptionType", where)
    if event_id is None or not kind:
        message = f"{where} has no subscriptionType"
        raise WebhookRefused(400, "bad_event", message)
    merged = raw.get("mergedObjectIds")
    if merged is None:
        merged_ids: tuple[str, ...] = ()
    elif isinstance(merged, list):
        merged_ids = tuple(_id_value(v, f"{where}: mergedObjectIds") for v in merged)
    else:
        message = f"{where}: mergedObjectIds is not an array of ids"
        raise WebhookRefused(400, "bad_event", message)
    removed = raw.get("associationRemoved")
    if removed is not None and not isinstance(removed, bool):
        raise WebhookRefused(400, "bad_event", f"{where}: associationRemoved is not a boolean")
    return WebhookEvent(
        event_id=event_id,
        subscription_type=kind,
        object_id=_id(raw, "objectId", where),
        occurred_at=_int(raw, "occurredAt", where),
        attempt_number=_int(raw, "attemptNumber", where) or 0,
        subscription_id=_int(raw, "subscriptionId", where),
        portal_id=_int(raw, "portalId", where),
        app_id=_int(raw, "appId", where),
        change_source=_text(raw, "changeSource", where),
        source_id=_text(raw, "sourceId", where),
        change_flag=_text(raw, "changeFlag", where),
        property_name=_text(raw, "propertyName", where),
        property_value=_text(raw, "propertyValue", where),
        object_type_id=_text(raw, "objectTypeId", where),
        primary_object_id=_id(raw, "primaryObjectId", where),
        merged_object_ids=merged_ids,
        new_object_id=_id(raw, "newObjectId", where),
        number_of_properties_moved=_int(raw, "numberOfPropertiesMoved", where),
        association_type=_text(raw, "associationType", where),
        from_object_id=_id(raw, "fromObjectId", where),
        to_object_id=_id(raw, "toObjectId", where),
        association_removed=removed,
    )


def _int(raw: dict[str, Any], key: str, where: str, *, required: bool = False) -> int | None:
    """An integer field; a string of digits is taken too (ids can outgrow a JSON number in
    some clients)."""
    value = raw.get(key)
    if value is None:
        if required:
            raise WebhookRefused(400, "bad_event", f"{where} has no {key}")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise WebhookRefused(400, "bad_event", f"{where}: {key} is not an integer")


def _id(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    return None if value is None else _id_value(value, f"{where}: {key}")


def _id_value(value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise WebhookRefused(400, "bad_event", f"{where} is not an object id")


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    """A string field. Numbers and booleans are taken as their JSON text (a property value
    may come as either); a lone UTF-16 surrogate, which JSON can carry but no UTF-8 store can,
    becomes `?`, since these values only say what changed (the contact is read again)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if not isinstance(value, str):
        raise WebhookRefused(400, "bad_event", f"{where}: {key} is not a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


# -- what to do about them ----------------------------------------------------------------
@dataclass(frozen=True)
class ContactChanges:
    """What a batch asks of leadbridge.

    `sync`: the contact ids to read and run through the contacts stream (created, restored,
    or a watched property changed), first occurrence first. `merges` and `deletions`
    (`contact.deletion`, `contact.privacyDeletion`) are kept whole for their own handling,
    never dropped. `ignored`: documented events that ask nothing of us (other objects,
    properties the mapping does not read, association changes). `unknown`: subscription types
    HubSpot did not document when this was written, to report.
    """

    sync: tuple[str, ...]
    merges: tuple[WebhookEvent, ...]
    deletions: tuple[WebhookEvent, ...]
    ignored: tuple[WebhookEvent, ...]
    unknown: tuple[WebhookEvent, ...]


def contact_ids(
    events: Iterable[WebhookEvent], watched_properties: Collection[str] | None
) -> ContactChanges:
    """Sort events by what they ask: see `ContactChanges`. `watched_properties` are the
    contact properties the mapping reads; None counts a change of any property."""
    sync: dict[str, None] = {}
    merges: list[WebhookEvent] = []
    deletions: list[WebhookEvent] = []
    ignored: list[WebhookEvent] = []
    unknown: list[WebhookEvent] = []
    for event in events:
        if not event.known:
            unknown.append(event)
            continue
        if event.object_name != "contact":
            ignored.append(event)
            continue
        action = event.action
        if action == "merge":
            merges.append(event)
        elif action in ("deletion", "privacyDeletion"):
            deletions.append(event)
        elif event.object_id is None:
            unknown.append(event)  # documented type, but no contact named: nothing to sync
        elif action in ("creation", "restore") or (
            action == "propertyChange"
            and (
                watched_properties is None
                or (event.property_name is not None and event.property_name in watched_properties)
            )
        ):
            sync.setdefault(event.object_id, None)
        else:
            ignored.append(event)
    return ContactChanges(
        sync=tuple(sync),
        merges=tuple(merges),
        deletions=tuple(deletions),
        ignored=tuple(ignored),
        unknown=tuple(unknown),
    )
