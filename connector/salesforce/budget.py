"""The Salesforce daily API budget: how much is left, the reserve kept for people, and whether
leadbridge may make one more call.

Every API call of an org counts against one allowance per rolling 24 hours, shared by every
integration and by the sales reps' own tools; once it is spent Salesforce refuses them all
(`REQUEST_LIMIT_EXCEEDED`). Each answer reports the count (`Sforce-Limit-Info:
api-usage=USED/MAX`). leadbridge leaves a reserve for people (`reserve_percent` of the maximum,
`LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT`) and never spends it: a call that would leave less
than the reserve is not sent (`BudgetReserved`).

`Budget` and `poll_delay` are pure; `BudgetGuard` is the one piece of state, kept by the HTTP
session every Salesforce call goes through (`connector.salesforce.session`). Until the first
answer of a process the usage is unknown and the first call goes unchecked: its answer says
where the budget stands (asking `GET /limits` first would cost the same call, and one more in
every process). A count older than `STALE_AFTER` seconds is learned again the same way, since
the 24-hour window rolls on and other clients spend meanwhile.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from connector.errors import BudgetReserved

log = structlog.get_logger(__name__)

#: The setting that names the reserve, for messages.
RESERVE_SETTING = "LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT"
#: Seconds after which a count is no longer trusted to refuse a call: the next call is let
#: through to learn it again (at most one call per this long while the reserve holds).
STALE_AFTER = 900.0
#: Below this share of the budget leadbridge may spend (the maximum less the reserve), the
#: service polls less often and low-priority work waits (`Budget.tight`, `poll_delay`).
SLOW_BELOW = 0.25
#: The longest `poll_delay`: a service held by the reserve looks again this often.
LONGEST_DELAY = STALE_AFTER


def reserve_calls(maximum: int, percent: float) -> int:
    """The calls kept for people out of a daily `maximum`: `percent` of it, rounded up."""
    return math.ceil(maximum * percent / 100) if maximum > 0 else 0


@dataclass(frozen=True)
class Budget:
    """Where the org's daily API budget stands, as of the latest answer (and the calls sent
    since): `used` of `max` calls, `reserve` of them kept for people."""

    used: int
    max: int
    reserve: int

    @property
    def remaining(self) -> int:
        """Calls left today, the reserve included."""
        return max(0, self.max - self.used)

    @property
    def remaining_before_reserve(self) -> int:
        """Calls leadbridge may still make today."""
        return max(0, self.remaining - self.reserve)

    @property
    def share_left(self) -> float:
        """The part of leadbridge's own share (the maximum less the reserve) still unspent,
        from 1.0 (untouched) to 0.0 (the reserve reached)."""
        spendable = self.max - self.reserve
        return self.remaining_before_reserve / spendable if spendable > 0 else 0.0

    def allows(self, calls: int = 1) -> bool:
        """Whether `calls` more calls leave the reserve whole."""
        return self.remaining - calls >= self.reserve

    @property
    def reserved(self) -> bool:
        """Not one more call: the rest is the reserve."""
        return not self.allows(1)

    @property
    def tight(self) -> bool:
        """Less than `SLOW_BELOW` of leadbridge's share left: poll less, defer what can wait."""
        return self.share_left < SLOW_BELOW


def poll_delay(
    budget: Budget | None,
    base_interval: float,
    *,
    slow_below: float = SLOW_BELOW,
    longest: float = LONGEST_DELAY,
) -> float:
    """Seconds until the next poll: `base_interval` while the budget is unknown or more than
    `slow_below` of leadbridge's share is left; below that, longer in proportion to how little
    is left (a tenth of the share left with `slow_below` 0.25: 2.5 times the interval), and
    `longest` (never less than the interval) once the reserve is reached. Never shorter as the
    budget shrinks."""
    ceiling = max(longest, base_interval)
    if budget is None:
        return base_interval
    if budget.reserved:
        return ceiling
    share = budget.share_left
    if share >= slow_below:
        return base_interval
    return min(ceiling, base_interval * slow_below / share)


def refusal(budget: Budget, percent: float, calls: int = 1, what: str | None = None) -> str:
    """The one line that says why a call was not sent, naming the setting."""
    need = f"; {what} needs {calls:,} call{'' if calls == 1 else 's'}" if what else ""
    return (
        f"Salesforce API budget: {budget.remaining:,} of {budget.max:,} calls left today and "
        f"the reserve ({RESERVE_SETTING}={percent:g}: {budget.reserve:,} calls) is kept for "
        f"people{need}: the pass stops here and the next goes on from there once the budget has "
        "room"
    )


class BudgetGuard:
    """The daily budget as one process knows it: the latest reported count plus the calls sent
    since. `admit` before each call, `settle` with its answer's count.

    Thread-safe: the service's worker threads may share one gateway.
    """

    def __init__(
        self,
        reserve_percent: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.reserve_percent = reserve_percent
        self._clock = clock
        self._stale_after = stale_after
        self._lock = threading.Lock()
        self._used = 0
        self._max: int | None = None
        self._in_flight = 0
        self._known_at: float | None = None
        self.sent = 0  # calls this process sent (its own count, for metrics)

    def budget(self) -> Budget | None:
        """Where the budget stands (None until an answer has said): the calls in flight count
        as spent."""
        with self._lock:
            return self._budget()

    def ensure(self, calls: int, what: str) -> None:
        """Raise `BudgetReserved` unless `calls` more calls fit above the reserve: asked before
        work that must not stop half-way (a conversion and the update of its opportunity).
        Sends nothing and counts nothing; an unknown or stale count lets it pass."""
        with self._lock:
            budget = self._budget()
            if budget is None or self._stale() or budget.allows(calls):
                return
        self._refuse(budget, calls, what)

    def admit(self) -> None:
        """Count one call about to be sent, or raise `BudgetReserved` if it would spend the
        reserve. With the count unknown or stale the call goes: its answer tells."""
        with self._lock:
            budget = self._budget()
            if budget is None or self._stale() or budget.allows(1):
                self._in_flight += 1
                self.sent += 1
                if budget is not None:
                    self._known_at = self._clock()  # one call learns it again, not every one
                return
        self._refuse(budget, 1, None)

    def settle(self, usage: tuple[int, int] | None) -> None:
        """A call admitted before has its answer (or none): its count, when it carried one,
        replaces what was known; without one the call is taken as counted."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if usage is None:
                self._used += 1
                return
            self._used, self._max = usage
            self._known_at = self._clock()

    def _budget(self) -> Budget | None:
        if self._max is None:
            return None
        return Budget(
            used=self._used + self._in_flight,
            max=self._max,
            reserve=reserve_calls(self._max, self.reserve_percent),
        )

    def _stale(self) -> bool:
        return self._known_at is None or self._clock() - self._known_at >= self._stale_after

    def _refuse(self, budget: Budget, calls: int, what: str | None) -> None:
        log.warning(
            "salesforce.budget.reserved",
            used=budget.used,
            max=budget.max,
            reserve=budget.reserve,
            calls=calls,
        )
        raise BudgetReserved(refusal(budget, self.reserve_percent, calls, what))
