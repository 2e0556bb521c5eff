"""The sandbox's HubSpot webhooks: a subscription, and a sender that delivers the portal's
changes to its target URL as HubSpot does.

Every write through the sandbox's HubSpot API (create, update, batch, upsert, archive, the
`calculated` admin call) becomes events of HubSpot's shape (`eventId`, `subscriptionId`,
`portalId`, `appId`, `occurredAt`, `subscriptionType`, `attemptNumber`, `objectId`,
`changeSource`, `sourceId`, `propertyName`/`propertyValue`, `changeFlag`), for the types and
properties subscribed. Events are collected for `batch_window_ms` (or until `max_batch`, at
most HubSpot's 100), signed v3 with the client secret (`connector.hubspot.webhooks.sign`, the
same function the service verifies with) and POSTed from a background thread: the API call
that made the change never waits for a delivery. A delivery that fails (an answer other than
2xx, no connection, no answer within `timeout_ms`, 5 s as HubSpot waits) is sent again with
`attemptNumber` raised, after a back-off doubling from `retry_base_ms` up to `retry_max_ms`,
until `max_attempts` (HubSpot: 10, spread over a day; the sandbox's defaults are seconds so a
test can watch them). On request the sender drops, duplicates, reorders or delays events
(`Faults`), so tests and benchmarks exercise what a receiver must survive; a fault profile
(`connector.sandbox.faults`) sets the same chances for a run (`set_profile`), and the sender
counts what it did.

The sandbox sends `contact.creation` alone for a new contact; whether HubSpot also sends a
`propertyChange` per value set at creation it does not document. A merge through the API
(`POST /crm/v3/objects/{type}/merge`) sends `contact.merge` (or `company.merge`) with the merge
fields HubSpot's changelog lists ("New subscription types for Webhooks": `primaryObjectId`,
`mergedObjectIds`, `newObjectId`, `numberOfPropertiesMoved`; `objectId` is the survivor), plus
the survivor's `propertyChange`s; a GDPR delete sends `contact.privacyDeletion` and a plain
`contact.deletion` (`Portal.purge`). Types the sandbox cannot cause (restores, association
changes, conversations) are sent through `inject` (`POST /_sandbox/hubspot/webhooks/events`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import requests

from connector.hubspot.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from connector.sandbox.hubspot.portal import APP_ID, Change

#: The sandbox portal's id, as its events carry it (the same as the API's rate-limit groups).
PORTAL_ID = 20_000_001
#: HubSpot sends at most 100 events per request.
MAX_BATCH = 100
#: Subscription ids are handed out from here, one per (type, property), as HubSpot does.
FIRST_SUBSCRIPTION_ID = 1_000_001
#: What HubSpot's webhook requests carry as User-Agent (observed), marked as the sandbox's.
USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - leadbridge sandbox"
#: Deliveries kept for `GET /_sandbox/hubspot/webhooks/deliveries` (oldest forgotten first).
LOG_LIMIT = 10_000
_SINGULAR = {"contacts": "contact", "companies": "company"}
#: The types whose subscriptions are per property.
PROPERTY_CHANGES = ("contact.propertyChange", "company.propertyChange")
#: The types the sandbox's own writes make; others come through `inject`.
MADE_BY_WRITES = (
    "contact.creation",
    "contact.propertyChange",
    "contact.deletion",
    "contact.merge",
    "contact.privacyDeletion",
    "company.creation",
    "company.propertyChange",
    "company.deletion",
    "company.merge",
)


@dataclass(frozen=True)
class Faults:
    """What the sender does wrong on purpose: `drop` and `duplicate` are per-event chances
    (a duplicate is the same event, same eventId, in a later request); `reorder` is the chance
    that an event of a window is picked to be shuffled with the other picked ones across the
    window's requests (1, or `true`, shuffles them all); `delay_ms` holds every request back
    that long. `seed` makes the chances repeatable."""

    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: int = 0
    drop: float = 0.0
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "delay_ms": self.delay_ms,
            "drop": self.drop,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Subscription:
    """Where and what to send. `ids` are the subscription ids, per (type, property or "")."""

    target_url: str
    client_secret: str
    events: tuple[str, ...]
    properties: tuple[str, ...] = ()
    batch_window_ms: int = 100
    max_batch: int = MAX_BATCH
    timeout_ms: int = 5000
    max_attempts: int = 10
    retry_base_ms: int = 1000
    retry_max_ms: int = 60_000
    ca_file: str | None = None
    faults: Faults = field(default_factory=Faults)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def wants(self, kind: str, prop: str = "") -> int | None:
        """The subscription id that covers this type (and property), if any."""
        return self.ids.get((kind, prop))

    def as_dict(self) -> dict[str, Any]:
        """What the admin endpoint shows: everything but the secret."""
        return {
            "target_url": self.target_url,
            "events": list(self.events),
            "properties": list(self.properties),
            "batch_window_ms": self.batch_window_ms,
            "max_batch": self.max_batch,
            "timeout_ms": self.timeout_ms,
            "max_attempts": self.max_attempts,
            "retry_base_ms": self.retry_base_ms,
            "retry_max_ms": self.retry_max_ms,
            "ca_file": self.ca_file,
            "faults": self.faults.as_dict(),
            "subscriptions": [
                {"id": sid, "eventType": kind, **({"propertyName": prop} if prop else {})}
                for (kind, prop), sid in self.ids.items()
            ],
        }


@dataclass
class _Delivery:
    """One request to send: its events (as sent) and which attempt it is (0 first)."""

    events: list[dict[str, Any]]
    attempt: int = 0
    copy: bool = False


class WebhookSender:
    """Holds the subscription, the events waiting, and the thread that delivers them.

    `record` and `inject` only queue (they run inside the sandbox's lock); the thread, one
    per subscription, does the sending. `unsubscribe` returns once no request is in flight,
    so nothing arrives after it.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._sub: Subscription | None = None
        self._generation = 0
        self._pending: list[dict[str, Any]] = []
        self._window_started: float | None = None
        self._scheduled: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._inflight = 0
        self._log: list[dict[str, Any]] = []
        self._seq = 0
        self._event_ids = itertools.count(1)
        self._rng = random.Random()  # noqa: S311 - fault injection, not security
        #: The fault profile's chances (None: none), and what the faults did.
        self._profile: Faults | None = None
        self._counts: Counter[str] = Counter()

    # -- the subscription -----------------------------------------------------------------
    def subscribe(self, sub: Subscription) -> Subscription:
        """Replace any subscription; events not yet sent to the old one are forgotten."""
        self.unsubscribe()
        ids = {
            key: FIRST_SUBSCRIPTION_ID + n
            for n, key in enumerate(
                (kind, prop)
                for kind in sub.events
                for prop in (sub.properties if kind in PROPERTY_CHANGES else ("",))
            )
        }
        sub = replace(sub, ids=ids)
        with self._cond:
            self._sub = sub
            self._generation += 1
            seed = self._profile.seed if self._profile else sub.faults.seed
            self._rng = random.Random(seed)  # noqa: S311
            generation = self._generation
        threading.Thread(
            target=self._run, args=(generation,), name="sandbox-webhooks", daemon=True
        ).start()
        return sub

    def set_faults(self, faults: Faults) -> Subscription | None:
        with self._cond:
            if self._sub is None:
                return None
            self._sub = replace(self._sub, faults=faults)
            if self._profile is None:
                self._rng = random.Random(faults.seed)  # noqa: S311
            self._cond.notify_all()
            return self._sub

    def set_profile(self, faults: Faults | None) -> None:
        """The fault profile's chances from now on (None: the subscription's own only), drawn
        from `faults.seed`; the counts start again."""
        with self._cond:
            self._profile = faults
            self._counts.clear()
            seed = faults.seed if faults else (self._sub.faults.seed if self._sub else None)
            self._rng = random.Random(seed)  # noqa: S311

    def fault_counts(self) -> dict[str, int]:
        """Events dropped, copies sent, events moved by a reorder, and every event cut into
        requests since the profile was set (`events`, the chances' denominator)."""
        with self._cond:
            return dict(self._counts)

    def _faults(self, sub: Subscription) -> Faults:
        """The subscription's faults with the profile's chances: the larger of each."""
        own, profile = sub.faults, self._profile
        if profile is None:
            return own
        return replace(
            own,
            drop=max(own.drop, profile.drop),
            duplicate=max(own.duplicate, profile.duplicate),
            reorder=max(own.reorder, profile.reorder),
        )

    @property
    def subscription(self) -> Subscription | None:
        return self._sub

    def unsubscribe(self) -> None:
        """Stop: forget what waits, and wait (bounded) for a request in flight to end."""
        with self._cond:
            timeout = (self._sub.timeout_ms / 1000 + 1) if self._sub else 1.0
            self._sub = None
            self._generation += 1
            self._pending.clear()
            self._window_started = None
            self._scheduled.clear()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._inflight == 0, timeout=timeout)

    def reset(self) -> None:
        """Unsubscribe and forget the deliveries (the sandbox's reset)."""
        self.unsubscribe()
        with self._cond:
            self._log.clear()
            self._seq = 0

    # -- what to send ---------------------------------------------------------------------
    def record(self, change: Change) -> None:
        """Queue the events a portal write makes for the subscription (none without one)."""
        sub = self._sub
        singular = _SINGULAR.get(change.object_type)
        if sub is None or singular is None:
            return
        kind = f"{singular}.{change.kind}"
        events: list[dict[str, Any]] = []
        if change.kind == "propertyChange":
            for name, value in change.values.items():
                sid = sub.wants(kind, name)
                if sid is not None:
                    events.append(self._event(sid, kind, change, name, value))
        else:
            sid = sub.wants(kind)
            if sid is not None:
                events.append(self._event(sid, kind, change))
        if events:
            self._queue(events)

    def inject(self, specs: list[dict[str, Any]]) -> list[int]:
        """Queue events as given (merges, privacy deletions, types HubSpot may add), with the
        fields not given filled in as HubSpot would; their eventIds."""
        sub = self._sub
        if sub is None:
            return []
        now = int(self.clock() * 1000)
        events = []
        for spec in specs:
            event: dict[str, Any] = {
                "eventId": next(self._event_ids),
                "subscriptionId": sub.wants(spec["subscriptionType"]) or FIRST_SUBSCRIPTION_ID,
                "portalId": PORTAL_ID,
                "appId": APP_ID,
                "occurredAt": now,
                "subscriptionType": spec["subscriptionType"],
                "attemptNumber": 0,
            }
            event.update(spec)
            events.append(event)
        self._queue(events)
        return [e["eventId"] for e in events]

    def _event(
        self, sid: int, kind: str, change: Change, name: str | None = None, value: str = ""
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": sid,
            "portalId": PORTAL_ID,
            "appId": APP_ID,
            "occurredAt": change.at_ms,
            "subscriptionType": kind,
            "attemptNumber": 0,
            "objectId": int(change.record_id),
        }
        if name is not None:
            event["propertyName"] = name
            event["propertyValue"] = value
        event["changeSource"] = change.source.type
        if change.source.id is not None:
            event["sourceId"] = change.source.id
        if change.kind == "creation":
            event["changeFlag"] = "NEW"
        event.update(change.merge)
        return event

    def _queue(self, events: list[dict[str, Any]]) -> None:
        with self._cond:
            if self._sub is None:
                return
            if not self._pending:
                self._window_started = time.monotonic()
            self._pending.extend(events)
            self._cond.notify_all()

    # -- what was sent --------------------------------------------------------------------
    def deliveries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            return [d for d in self._log if d["seq"] > since]

    def last_seq(self) -> int:
        return self._seq

    def pending(self) -> int:
        """Events not yet answered 2xx or given up on (queued, scheduled or in flight)."""
        with self._cond:
            scheduled = sum(len(d.events) for _, _, d in self._scheduled)
            return len(self._pending) + scheduled + self._inflight

    # -- the sending thread ---------------------------------------------------------------
    def _run(self, generation: int) -> None:
        session = requests.Session()
        # A proxy or CA bundle named in the environment must not reroute loopback deliveries.
        session.trust_env = False
        try:
            while True:
                with self._cond:
                    job = self._next_job(generation)
                    if job is None:
                        return
                    sub, delivery = job
                    self._inflight += len(delivery.events)
                try:
                    entry = _send(sub, delivery, session, self.clock)
                finally:
                    with self._cond:
                        self._inflight -= len(delivery.events)
                        self._finish(sub, delivery, entry, generation)
                        self._cond.notify_all()
        finally:
            session.close()

    def _next_job(self, generation: int) -> tuple[Subscription, _Delivery] | None:
        """Wait (holding the condition) until a delivery is due; None once unsubscribed."""
        while True:
            sub = self._sub
            if sub is None or generation != self._generation:
                return None
            now = time.monotonic()
            wake: list[float] = []
            if self._pending and self._window_started is not None:
                closes = self._window_started + sub.batch_window_ms / 1000
                if len(self._pending) >= sub.max_batch or now >= closes:
                    self._cut(sub, now)
                else:
                    wake.append(closes)
            if self._scheduled:
                due, _, delivery = self._scheduled[0]
                if due <= now:
                    heapq.heappop(self._scheduled)
                    return sub, delivery
                wake.append(due)
            timeout = max(0.0, min(wake) - now) if wake else None
            self._cond.wait(timeout)

    def _cut(self, sub: Subscription, now: float) -> None:
        """The window's events into requests of at most `max_batch`, faults applied."""
        events, self._pending, self._window_started = self._pending, [], None
        faults = self._faults(sub)
        self._counts["events"] += len(events)
        kept = []
        for event in events:
            if faults.drop and self._rng.random() < faults.drop:
                self._log_entry(sub, _Delivery([event]), outcome="dropped")
                self._counts["webhook_drop"] += 1
            else:
                kept.append(event)
        self._reorder(kept, faults.reorder)
        copies = [
            dict(e) for e in kept if faults.duplicate and self._rng.random() < faults.duplicate
        ]
        self._counts["webhook_duplicate"] += len(copies)
        due = now + faults.delay_ms / 1000
        for chunk in _chunks(kept, sub.max_batch):
            self._schedule(due, _Delivery(chunk))
        for chunk in _chunks(copies, sub.max_batch):
            self._schedule(due, _Delivery(chunk, copy=True))

    def _reorder(self, events: list[dict[str, Any]], chance: float) -> None:
        """Shuffle, in place, the events picked with `chance` among their own places (all of
        them at 1); count the events that moved."""
        if not chance:
            return
        if chance >= 1:
            places = list(range(len(events)))
        else:
            places = [i for i in range(len(events)) if self._rng.random() < chance]
        picked = [events[i] for i in places]
        self._rng.shuffle(picked)
        for place, event in zip(places, picked, strict=True):
            if events[place] is not event:
                self._counts["webhook_reorder"] += 1
            events[place] = event

    def _schedule(self, due: float, delivery: _Delivery) -> None:
        heapq.heappush(self._scheduled, (due, next(self._order), delivery))

    def _finish(
        self, sub: Subscription, delivery: _Delivery, entry: dict[str, Any], generation: int
    ) -> None:
        """Log an attempt; schedule the next one if it failed and attempts are left."""
        ok = entry["status"] is not None and 200 <= entry["status"] < 300
        live = generation == self._generation
        retry = not ok and live and delivery.attempt + 1 < sub.max_attempts
        outcome = "delivered" if ok else ("retrying" if retry else "gave_up")
        self._log_entry(sub, delivery, outcome=outcome, **entry)
        if retry:
            wait_ms = min(sub.retry_max_ms, sub.retry_base_ms * 2**delivery.attempt)
            attempt = delivery.attempt + 1
            events = [{**e, "attemptNumber": attempt} for e in delivery.events]
            self._schedule(
                time.monotonic() + wait_ms / 1000, _Delivery(events, attempt, delivery.copy)
            )

    def _log_entry(self, sub: Subscription, delivery: _Delivery, **fields: Any) -> None:
        self._seq += 1
        self._log.append(
            {
                "seq": self._seq,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "url": sub.target_url,
                "attempt": delivery.attempt,
                "copy": delivery.copy,
                "eventIds": [e.get("eventId") for e in delivery.events],
                "events": delivery.events,
                "status": None,
                "error": None,
                "duration_ms": None,
                **fields,
            }
        )
        del self._log[:-LOG_LIMIT]


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _send(
    sub: Subscription, delivery: _Delivery, session: requests.Session, clock: Callable[[], float]
) -> dict[str, Any]:
    """POST one request, signed as HubSpot signs it; its status, or why there was none."""
    body = json.dumps(delivery.events, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(clock() * 1000)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign("POST", sub.target_url, body, stamp, sub.client_secret),
        TIMESTAMP_HEADER: str(stamp),
    }
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        answer = session.post(
            sub.target_url,
            data=body,
            headers=headers,
            timeout=sub.timeout_ms / 1000,
            allow_redirects=False,
            verify=sub.ca_file or True,
        )
        status = answer.status_code
        answer.close()
    except requests.Timeout:
        error = f"no answer within {sub.timeout_ms} ms"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration = round((time.perf_counter() - started) * 1000, 3)
    return {"status": status, "error": error, "duration_ms": duration}
