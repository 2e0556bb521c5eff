"""The sandbox's fault profile: a chance per fault kind, and latency, switched on for a run.

A profile says how often each kind of failure happens (0 to 1) and how slow answers are
(`latency_ms` plus up to `jitter_ms`). Its chances are drawn from seeded generators, one per
concern (requests, records, changes, latency, details, webhook events), so a run that sends the
same requests in the same order meets the same faults, and turning one kind on does not move
the draws of another. A profile without a seed gets one when it is set, shown by `GET
/_sandbox/faults/profile`, so any run can be repeated.

Kinds, each served as the real API answers (the API modules hold the shapes and their sources):

- per request (at most one per request; their chances add up to at most 1):
  `hubspot_rate_limit` and `hubspot_rate_limit_retry_after` (HubSpot's 429, the second with a
  `Retry-After` header), `salesforce_request_limit` (403 `REQUEST_LIMIT_EXCEEDED`),
  `server_error` (500/502/503 as each API sends them), `connection_reset` (the connection is
  closed without an answer, the request not served), `lost_answer` (a write is served and
  committed, then its answer is lost: the connection reset or a 5xx), `slow_answer` (served,
  then answered only after `slow_answer_ms`, past the client's timeout), `session_expiry` (the
  Salesforce session the request carries ends just before it is served: 401
  `INVALID_SESSION_ID`, or the SOAP fault). A storm: once a rate limit hits, the next
  `rate_limit_burst - 1` requests to that API are refused the same way.
- per record of a Salesforce sObject Collections write: `row_lock` (`UNABLE_TO_LOCK_ROW` for
  that record, the others written).
- per change to a HubSpot record: `search_lag` (the record is left out of search results for
  `search_lag_ms` after the change, as HubSpot's search index lags its writes).
- per webhook event: `webhook_drop`, `webhook_duplicate`, `webhook_reorder` (the subscription's
  own fault settings still apply: each chance is the larger of the two).

Counted without a chance: `search_window` (searches refused for paging past HubSpot's 10,000
results) and `shared_modified` (records given one last-modified instant by the admin action).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from werkzeug.wrappers import Request

#: Per-request kinds, in the order a request's draw walks them.
REQUEST_KINDS = (
    "hubspot_rate_limit",
    "hubspot_rate_limit_retry_after",
    "salesforce_request_limit",
    "server_error",
    "connection_reset",
    "lost_answer",
    "slow_answer",
    "session_expiry",
)
RECORD_KINDS = ("row_lock",)
CHANGE_KINDS = ("search_lag",)
WEBHOOK_KINDS = ("webhook_drop", "webhook_duplicate", "webhook_reorder")
KINDS = (*REQUEST_KINDS, *RECORD_KINDS, *CHANGE_KINDS, *WEBHOOK_KINDS)
#: Kinds counted, never drawn.
OBSERVED = ("search_window", "shared_modified")
#: The kinds a client can survive by retrying (or by reading again later): not the spent daily
#: Salesforce budget, and not the webhook kinds, which a poll makes up for.
RETRYABLE = (
    "hubspot_rate_limit",
    "hubspot_rate_limit_retry_after",
    "server_error",
    "connection_reset",
    "lost_answer",
    "slow_answer",
    "session_expiry",
    "row_lock",
    "search_lag",
)
RATE_LIMITS = ("hubspot_rate_limit", "hubspot_rate_limit_retry_after", "salesforce_request_limit")
SERVER_ERROR_STATUSES = (500, 502, 503, 504)
LOST_ANSWER_FORMS = ("reset", "5xx", "either")
#: Writes that are reads: HubSpot's searches and batch reads, the OAuth token call.
_READ_SUFFIXES = ("/search", "/batch/read", "/oauth2/token")
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: (default, least, most) of the numeric settings.
_NUMBERS = {
    "latency_ms": (0, 0, 600_000),
    "jitter_ms": (0, 0, 600_000),
    "slow_answer_ms": (35_000, 0, 3_600_000),
    "retry_after_s": (1, 0, 3600),
    "rate_limit_burst": (1, 1, 10_000),
    "search_lag_ms": (5_000, 0, 3_600_000),
}
_KEYS = ("seed", "rates", *_NUMBERS, "server_error_statuses", "lost_answer_as")


class ProfileError(ValueError):
    """A fault profile the sandbox refuses; the message names the field."""


class DropConnection(ConnectionResetError):
    """Raised by the sandbox's WSGI app to close the connection without an answer; the server's
    request handler (`connector.sandbox.server`) turns it into a TCP reset."""


@dataclass(frozen=True)
class FaultProfile:
    """How often each kind of fault happens, and how slow answers are. See the module
    docstring for the kinds; `as_dict` and `profile_from` are its JSON form."""

    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None
    latency_ms: int = 0
    jitter_ms: int = 0
    slow_answer_ms: int = 35_000
    retry_after_s: int = 1
    rate_limit_burst: int = 1
    search_lag_ms: int = 5_000
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    lost_answer_as: str = "either"

    def rate(self, kind: str) -> float:
        return float(self.rates.get(kind, 0.0))

    @classmethod
    def spread(
        cls, total: float, kinds: Iterable[str] = RETRYABLE, **settings: Any
    ) -> FaultProfile:
        """A profile giving `total` as the chance of a fault per request, shared evenly by the
        per-request kinds among `kinds`; the per-record, per-change and per-event kinds among
        them get `total` each."""
        wanted = list(dict.fromkeys(kinds))
        per_request = [k for k in wanted if k in REQUEST_KINDS]
        rates = {k: total / len(per_request) for k in per_request}
        rates.update({k: total for k in wanted if k not in REQUEST_KINDS})
        return profile_from({**settings, "rates": rates})

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rates": {k: self.rates[k] for k in KINDS if self.rates.get(k)},
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "slow_answer_ms": self.slow_answer_ms,
            "retry_after_s": self.retry_after_s,
            "rate_limit_burst": self.rate_limit_burst,
            "search_lag_ms": self.search_lag_ms,
            "server_error_statuses": list(self.server_error_statuses),
            "lost_answer_as": self.lost_answer_as,
        }


def profile_from(data: Any) -> FaultProfile:
    """A `FaultProfile` from its JSON form, every field checked (`ProfileError` names it)."""
    if isinstance(data, FaultProfile):
        return data
    if not isinstance(data, Mapping):
        msg = f"a fault profile is an object with some of {list(_KEYS)}"
        raise ProfileError(msg)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        msg = f"{unknown[0]}: unknown; expected some of {list(_KEYS)}"
        raise ProfileError(msg)
    rates = _rates(data.get("rates") or {})
    numbers = {name: _number(data, name, *bounds) for name, bounds in _NUMBERS.items()}
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        msg = "seed: an integer, or null for one picked when the profile is set"
        raise ProfileError(msg)
    statuses = data.get("server_error_statuses", [500, 502, 503])
    if (
        not isinstance(statuses, list | tuple)
        or not statuses
        or any(s not in SERVER_ERROR_STATUSES or isinstance(s, bool) for s in statuses)
    ):
        msg = f"server_error_statuses: a non-empty list of {list(SERVER_ERROR_STATUSES)}"
        raise ProfileError(msg)
    lost = data.get("lost_answer_as", "either")
    if lost not in LOST_ANSWER_FORMS:
        msg = f"lost_answer_as: one of {list(LOST_ANSWER_FORMS)}"
        raise ProfileError(msg)
    return FaultProfile(
        rates=rates,
        seed=seed,
        server_error_statuses=tuple(statuses),
        lost_answer_as=lost,
        **numbers,
    )


def _rates(raw: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        msg = "rates: an object of fault kind → chance from 0 to 1"
        raise ProfileError(msg)
    rates: dict[str, float] = {}
    for kind, value in raw.items():
        if kind not in KINDS:
            msg = f"rates.{kind}: unknown fault kind; expected one of {list(KINDS)}"
            raise ProfileError(msg)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            msg = f"rates.{kind}: a chance from 0 to 1"
            raise ProfileError(msg)
        rates[kind] = float(value)
    per_request = sum(rates.get(k, 0.0) for k in REQUEST_KINDS)
    if per_request > 1 + 1e-9:
        msg = (
            f"rates: the per-request kinds' chances add up to {per_request:g}; at most one "
            "fault can meet a request, so they may add up to 1 at most"
        )
        raise ProfileError(msg)
    return rates


def _number(data: Mapping[str, Any], name: str, default: int, least: int, most: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        msg = f"{name}: an integer from {least} to {most}"
        raise ProfileError(msg)
    return value


@dataclass(frozen=True)
class Target:
    """What a request is, as far as fault kinds care."""

    api: str  # "salesforce" or "hubspot"
    method: str
    path: str
    session: str | None = None  # the live Salesforce session it carries, if any

    @property
    def write(self) -> bool:
        return self.method in _WRITE_METHODS and not self.path.endswith(_READ_SUFFIXES)

    @property
    def search(self) -> bool:
        return self.api == "hubspot" and self.path.endswith("/search")

    @property
    def salesforce_call(self) -> bool:
        """A counted Salesforce API call (REST data or SOAP), not the login or versions list."""
        return self.api == "salesforce" and (
            self.path.startswith("/services/data/v") or self.path.startswith("/services/Soap/")
        )

    @property
    def soap(self) -> bool:
        return self.path.startswith("/services/Soap/")

    def eligible(self, kind: str) -> bool:
        if kind in ("hubspot_rate_limit", "hubspot_rate_limit_retry_after"):
            return self.api == "hubspot"
        if kind == "salesforce_request_limit":
            return self.salesforce_call
        if kind == "lost_answer":
            return self.write
        if kind == "session_expiry":
            return self.salesforce_call and self.session is not None
        return kind in REQUEST_KINDS


@dataclass(frozen=True)
class Decision:
    """What the profile does to one request: the fault kind (or None) and the delay."""

    kind: str | None
    latency_s: float = 0.0
    status: int = 500  # the 5xx of `server_error`, or of a `lost_answer` answered
    reset: bool = False  # a `lost_answer` whose connection is reset (else a 5xx)
    retry_after_s: int | None = None  # for `hubspot_rate_limit_retry_after`
    slow_s: float = 0.0


class FaultInjector:
    """The profile in force and what it has done; every method runs under the sandbox's lock
    (the webhook sender counts its own events and is asked for them)."""

    def __init__(self) -> None:
        self.profile: FaultProfile | None = None
        self._counts: Counter[str] = Counter()
        self._draws: Counter[str] = Counter()
        self._rngs: dict[str, random.Random] = {}
        self._storms: dict[str, tuple[str, int]] = {}
        self._hidden: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self.webhook_counts: Callable[[], Mapping[str, int]] = dict

    def set(self, profile: FaultProfile | Mapping[str, Any] | None) -> FaultProfile | None:
        """Switch to `profile` (None: off); the draws start again from its seed and the counts
        from zero. A profile without a seed gets one, so the run can be repeated."""
        chosen = None if profile is None else profile_from(profile)
        if chosen is not None and chosen.seed is None:
            chosen = replace(chosen, seed=random.SystemRandom().randrange(2**31))
        with self._lock:
            self.profile = chosen
            self._counts.clear()
            self._draws.clear()
            self._storms.clear()
            self._hidden.clear()
            seed = chosen.seed if chosen else 0
            # String seeds hash with SHA-512: the same on every run and platform.
            self._rngs = {
                name: random.Random(f"{seed}:{name}")  # noqa: S311 - fault injection
                for name in ("requests", "details", "latency", "records", "changes")
            }
        return chosen

    # -- per request ------------------------------------------------------------------------
    def decide(self, target: Target) -> Decision | None:
        """The fault (if any) and delay for one API request; None without a profile."""
        profile = self.profile
        if profile is None:
            return None
        with self._lock:
            self._draws["requests"] += 1
            draw = self._rngs["requests"].random()
            kind = self._storm(target.api)
            if kind is None:
                total = 0.0
                for candidate in REQUEST_KINDS:
                    if target.eligible(candidate):
                        total += profile.rate(candidate)
                        if draw < total:
                            kind = candidate
                            break
                if kind in RATE_LIMITS and profile.rate_limit_burst > 1:
                    self._storms[target.api] = (kind, profile.rate_limit_burst - 1)
            latency = profile.latency_ms / 1000
            if profile.jitter_ms:
                latency += self._rngs["latency"].uniform(0, profile.jitter_ms) / 1000
            if kind is None:
                return Decision(None, latency)
            details = self._rngs["details"]
            statuses = profile.server_error_statuses
            status = statuses[int(details.random() * len(statuses)) % len(statuses)]
            forms = {"reset": True, "5xx": False}
            reset = forms.get(profile.lost_answer_as, details.random() < 0.5)
            return Decision(
                kind,
                latency,
                status=status,
                reset=reset,
                retry_after_s=profile.retry_after_s,
                slow_s=profile.slow_answer_ms / 1000 if kind == "slow_answer" else 0.0,
            )

    def _storm(self, api: str) -> str | None:
        """The rate limit a storm still refuses this API's requests with, if one blows."""
        storm = self._storms.get(api)
        if storm is None:
            return None
        kind, left = storm
        if left <= 1:
            del self._storms[api]
        else:
            self._storms[api] = (kind, left - 1)
        return kind

    # -- per record, per change -----------------------------------------------------------
    def row_locked(self) -> bool:
        """Whether the next record of a Collections write finds its row locked."""
        return self._chance("row_lock", "records")

    def changed(self, object_type: str, record_id: str, at_ms: int) -> None:
        """A HubSpot record changed at `at_ms`: perhaps leave it out of search for a while.
        A later change is indexed after an earlier one, never before it."""
        profile = self.profile
        if profile is None or not self._chance("search_lag", "changes"):
            return
        with self._lock:
            hidden = self._hidden.setdefault(object_type, {})
            hidden[record_id] = max(hidden.get(record_id, 0), at_ms + profile.search_lag_ms)

    def hidden(self, object_type: str, now_ms: int) -> frozenset[str]:
        """Ids of `object_type` records search does not show yet."""
        with self._lock:
            hidden = self._hidden.get(object_type)
            if not hidden:
                return frozenset()
            for record_id in [i for i, until in hidden.items() if until <= now_ms]:
                del hidden[record_id]
            return frozenset(hidden)

    def _chance(self, kind: str, stream: str) -> bool:
        profile = self.profile
        if profile is None:
            return False
        with self._lock:
            self._draws[stream] += 1
            hit = self._rngs[stream].random() < profile.rate(kind)
            if hit:
                self._counts[kind] += 1
            return hit

    # -- what happened ----------------------------------------------------------------------
    def count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self._counts[kind] += n

    def counts(self) -> dict[str, int]:
        """Faults served per kind (every kind named, zero included) since the profile was
        set; the webhook kinds as the sender counted them."""
        with self._lock:
            counts = {k: self._counts.get(k, 0) for k in (*KINDS, *OBSERVED)}
        sent = self.webhook_counts()
        counts.update({k: sent.get(k, 0) for k in WEBHOOK_KINDS})
        return counts

    def report(self) -> dict[str, Any]:
        """`GET /_sandbox/faults/profile`: the profile (null when off), the faults served per
        kind, and how many requests, records, changes and events the chances were drawn for."""
        counts = self.counts()
        with self._lock:
            draws = {k: self._draws.get(k, 0) for k in ("requests", "records", "changes")}
        draws["events"] = self.webhook_counts().get("events", 0)
        return {
            "profile": self.profile.as_dict() if self.profile else None,
            "counts": counts,
            "draws": draws,
        }


def target_of(request: Request, api: str, sessions: Mapping[str, str]) -> Target:
    """The `Target` of a request; `sessions` are the org's live Salesforce sessions."""
    token = None
    if api == "salesforce":
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip() in sessions:
            token = value.strip()
        elif request.path.startswith("/services/Soap/"):
            token = _soap_session(request.get_data(cache=True), sessions)
    return Target(api, request.method, request.path, token)


def _soap_session(body: bytes, sessions: Mapping[str, str]) -> str | None:
    """The session id a SOAP envelope's SessionHeader carries, if it is a live one."""
    start = body.find(b"sessionId>")
    if start < 0:
        return None
    end = body.find(b"<", start)
    token = body[start + len(b"sessionId>") : end].decode("utf-8", "replace").strip()
    return token if token in sessions else None
