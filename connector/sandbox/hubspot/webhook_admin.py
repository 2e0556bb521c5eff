"""The sandbox's admin endpoints for HubSpot webhooks (`/_sandbox/hubspot/webhooks/...`):
set or stop the subscription, change its faults, inject events, and see what was delivered.

HubSpot configures webhooks in an app's settings; the sandbox takes the same settings (target
URL, client secret, event types, properties) as JSON, plus how the sender batches, retries and
misbehaves. Every refusal is a 400 naming the field.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from connector.hubspot.webhooks import KNOWN_TYPES
from connector.sandbox.http import json_response, read_json
from connector.sandbox.hubspot.webhooks import (
    MAX_BATCH,
    PROPERTY_CHANGES,
    Faults,
    Subscription,
)

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox
    from connector.sandbox.hubspot.portal import Portal

BASE = "/_sandbox/hubspot/webhooks"
_FAULT_KEYS = ("duplicate", "reorder", "delay_ms", "drop", "seed")
#: (default, least, most) of each numeric setting, in milliseconds or counts.
_BOUNDS = {
    "batch_window_ms": (100, 0, 60_000),
    "max_batch": (MAX_BATCH, 1, MAX_BATCH),
    "timeout_ms": (5000, 1, 30_000),
    "max_attempts": (10, 1, 20),
    "retry_base_ms": (1000, 0, 3_600_000),
    "retry_max_ms": (60_000, 0, 86_400_000),
}
_KEYS = ("target_url", "client_secret", "events", "properties", "ca_file", "faults", *_BOUNDS)


class SettingError(ValueError):
    """A subscription or fault setting the sandbox refuses; the message names the field."""


def routes() -> list[tuple[str, list[str], Handler]]:
    return [
        (f"{BASE}/subscription", ["POST"], subscribe),
        (f"{BASE}/subscription", ["GET"], show_subscription),
        (f"{BASE}/subscription", ["DELETE"], unsubscribe),
        (f"{BASE}/faults", ["PUT"], set_faults),
        (f"{BASE}/events", ["POST"], inject_events),
        (f"{BASE}/deliveries", ["GET"], deliveries),
    ]


# -- handlers -----------------------------------------------------------------------------
def subscribe(sb: Sandbox, request: Request) -> Response:
    """`POST .../subscription {"target_url", "client_secret", "events", "properties", ...}`:
    201 with the subscription (its ids, never the secret); replaces any earlier one."""
    try:
        sub = subscription_from(_object(request), sb.portal)
    except SettingError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response({"subscription": sb.webhooks.subscribe(sub).as_dict()}, 201)


def show_subscription(sb: Sandbox, request: Request) -> Response:
    """`GET .../subscription`: the subscription and how many events wait; 404 without one."""
    sub = sb.webhooks.subscription
    if sub is None:
        return json_response({"error": "no webhook subscription"}, 404)
    return json_response({"subscription": sub.as_dict(), "pendingEvents": sb.webhooks.pending()})


def unsubscribe(sb: Sandbox, request: Request) -> Response:
    """`DELETE .../subscription`: stop; what waits is forgotten, and no request starts after
    this answer (one in flight is waited for, up to its timeout)."""
    sb.webhooks.unsubscribe()
    return json_response(None, 204)


def set_faults(sb: Sandbox, request: Request) -> Response:
    """`PUT .../faults {"duplicate", "reorder", "delay_ms", "drop", "seed"}`: from now on."""
    try:
        faults = faults_from(_object(request), "")
    except SettingError as exc:
        return json_response({"error": str(exc)}, 400)
    sub = sb.webhooks.set_faults(faults)
    if sub is None:
        return json_response({"error": "no webhook subscription"}, 404)
    return json_response({"subscription": sub.as_dict()})


def inject_events(sb: Sandbox, request: Request) -> Response:
    """`POST .../events {"events": [{"subscriptionType": "contact.merge", ...}]}`: send
    events the sandbox's writes cannot make (merges, privacy deletions, new types), through
    the same batching, signing and retries; 202 with their eventIds."""
    try:
        body = _object(request)
        specs = body.get("events")
        if set(body) - {"events"} or not isinstance(specs, list):
            msg = 'body must be {"events": [{"subscriptionType": ..., ...}, ...]}'
            raise SettingError(msg)
        for index, spec in enumerate(specs):
            if not isinstance(spec, dict) or not isinstance(spec.get("subscriptionType"), str):
                msg = f"events[{index}]: an event is an object with a subscriptionType"
                raise SettingError(msg)
            if "eventId" in spec and (
                not isinstance(spec["eventId"], int) or isinstance(spec["eventId"], bool)
            ):
                msg = f"events[{index}].eventId: not an integer"
                raise SettingError(msg)
    except SettingError as exc:
        return json_response({"error": str(exc)}, 400)
    if sb.webhooks.subscription is None:
        return json_response({"error": "no webhook subscription"}, 404)
    return json_response({"eventIds": sb.webhooks.inject(specs)}, 202)


def deliveries(sb: Sandbox, request: Request) -> Response:
    """`GET .../deliveries?since=SEQ`: every request sent (or event dropped) after `since`:
    its events, attempt, status or error, duration and outcome (`delivered`, `retrying`,
    `gave_up`, `dropped`), and how many events still wait."""
    try:
        since = int(request.args.get("since", "0"))
    except ValueError:
        return json_response({"error": "since must be an integer"}, 400)
    return json_response(
        {
            "deliveries": sb.webhooks.deliveries(since),
            "lastSeq": sb.webhooks.last_seq(),
            "pendingEvents": sb.webhooks.pending(),
        }
    )


# -- settings -----------------------------------------------------------------------------
def _object(request: Request) -> dict[str, Any]:
    try:
        body = read_json(request)
    except ValueError as exc:
        msg = f"body must be JSON: {exc}"
        raise SettingError(msg) from None
    if not isinstance(body, dict):
        msg = "body must be a JSON object"
        raise SettingError(msg)
    return body


def subscription_from(body: dict[str, Any], portal: Portal) -> Subscription:
    """A `Subscription` from the admin endpoint's JSON, every field checked."""
    unknown = sorted(set(body) - set(_KEYS))
    if unknown:
        msg = f"unknown settings {unknown}; expected some of {list(_KEYS)}"
        raise SettingError(msg)
    target = _target_url(body.get("target_url"))
    secret = body.get("client_secret")
    if not isinstance(secret, str) or not secret:
        msg = "client_secret: the app's client secret, a non-empty string"
        raise SettingError(msg)
    events = _names(body.get("events"), "events")
    if not events:
        msg = "events: name at least one subscription type"
        raise SettingError(msg)
    for index, kind in enumerate(events):
        if kind not in KNOWN_TYPES:
            msg = f"events[{index}]: {kind!r} is not a HubSpot subscription type"
            raise SettingError(msg)
    properties = _names(body.get("properties") or [], "properties")
    _check_properties(events, properties, portal)
    numbers = {name: _number(body, name, *bounds) for name, bounds in _BOUNDS.items()}
    if numbers["retry_max_ms"] < numbers["retry_base_ms"]:
        msg = "retry_max_ms: must be at least retry_base_ms"
        raise SettingError(msg)
    ca_file = body.get("ca_file")
    if ca_file is not None and not isinstance(ca_file, str):
        msg = "ca_file: a path to the CA bundle that signed the target's certificate"
        raise SettingError(msg)
    return Subscription(
        target_url=target,
        client_secret=secret,
        events=tuple(dict.fromkeys(events)),
        properties=tuple(dict.fromkeys(properties)),
        ca_file=ca_file,
        faults=faults_from(body.get("faults") or {}, "faults."),
        batch_window_ms=numbers["batch_window_ms"],
        max_batch=numbers["max_batch"],
        timeout_ms=numbers["timeout_ms"],
        max_attempts=numbers["max_attempts"],
        retry_base_ms=numbers["retry_base_ms"],
        retry_max_ms=numbers["retry_max_ms"],
    )


def faults_from(data: Any, where: str) -> Faults:
    """`Faults` from `{"duplicate": 0.1, "reorder": 0.5, "delay_ms": 500, "drop": 0.0}`
    (`"reorder": true` is 1: every event of a window shuffled)."""
    if not isinstance(data, dict):
        msg = f"{where or 'faults'}: expected an object of {list(_FAULT_KEYS)}"
        raise SettingError(msg)
    unknown = sorted(set(data) - set(_FAULT_KEYS))
    if unknown:
        msg = f"{where}{unknown[0]}: unknown; expected some of {list(_FAULT_KEYS)}"
        raise SettingError(msg)
    chances = {}
    for name in ("duplicate", "drop"):
        value = data.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            msg = f"{where}{name}: a chance between 0 and 1"
            raise SettingError(msg)
        chances[name] = float(value)
    reorder = data.get("reorder", 0.0)
    if not isinstance(reorder, int | float) or not 0 <= reorder <= 1:
        msg = f"{where}reorder: a chance between 0 and 1 (true: 1, every event)"
        raise SettingError(msg)
    delay = _number(data, "delay_ms", 0, 0, 600_000, where)
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        msg = f"{where}seed: an integer, or null"
        raise SettingError(msg)
    return Faults(reorder=float(reorder), delay_ms=delay, seed=seed, **chances)


def _target_url(value: Any) -> str:
    """HubSpot requires HTTPS; the sandbox also takes http:// on the loopback interface (a
    service behind a TLS proxy, or a test's receiver)."""
    if not isinstance(value, str) or not value:
        msg = "target_url: the URL to POST events to"
        raise SettingError(msg)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"target_url: {value!r} is not an http(s) URL"
        raise SettingError(msg)
    if parts.scheme == "http" and not _loopback(parts.hostname):
        msg = "target_url: http:// only on the loopback interface; use https://"
        raise SettingError(msg)
    return value


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        msg = f"{where}: a list of names"
        raise SettingError(msg)
    return value


def _check_properties(events: list[str], properties: list[str], portal: Portal) -> None:
    """Each propertyChange subscription is per property, as in HubSpot: at least one, and
    each a property of a subscribed object type."""
    changes = [kind for kind in events if kind in PROPERTY_CHANGES]
    if changes and not properties:
        msg = f"properties: {changes[0]} needs the properties to watch"
        raise SettingError(msg)
    if properties and not changes:
        msg = "properties: given, but no propertyChange subscription uses them"
        raise SettingError(msg)
    known: set[str] = set()
    for kind in changes:
        otype = portal.types["contacts" if kind.startswith("contact.") else "companies"]
        known.update(otype.properties)
    for index, name in enumerate(properties):
        if name not in known:
            msg = f"properties[{index}]: no property {name!r}"
            raise SettingError(msg)


def _number(
    data: dict[str, Any], name: str, default: int, least: int, most: int, where: str = ""
) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        msg = f"{where}{name}: an integer from {least} to {most}"
        raise SettingError(msg)
    return value
