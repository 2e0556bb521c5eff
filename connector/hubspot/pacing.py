"""Keep HubSpot calls under the private-app rate limits before HubSpot has to refuse one.

Two moving windows: at most `requests_per_10s` calls in any 10 seconds (HubSpot allows 100 on
Free/Starter, 190 on Pro/Enterprise) and at most `searches_per_second` searches in any second
(HubSpot allows 5; searches are exempt from the ten-second limit, so they count only there).
A call is entered in its window when its answer arrives, not when it leaves: HubSpot counts it
somewhere in between, so measuring from the answer can never let a window hold one too many.

Other workers may spend the same app's budget. Every non-search answer reports what is left
(`X-HubSpot-RateLimit-Remaining` of `-Max` per `-Interval-Milliseconds`); once it falls to a
tenth of the maximum the pacer spaces calls out, more the less is left; once it is none, the
next call waits out the whole window the report described, and it never plans for more calls
than the reported maximum.

`budget()` is a read-only view of both (this process's window and HubSpot's last report,
the daily allowance too), for metrics.

`clock` and `sleep` are injectable so tests are instant and exact. One pacer per gateway: it is
not meant to be shared between threads.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 10.0
SEARCH_WINDOW_SECONDS = 1.0
#: Below this share of `X-HubSpot-RateLimit-Max` remaining, calls are spaced out.
LOW_SHARE = 0.1


@dataclass(frozen=True)
class HubSpotBudget:
    """HubSpot's rate limits as one pacer sees them: calls left in the moving 10-second window
    (this process's own count, or HubSpot's report when lower and still current) of
    `window_max`, and the app's daily calls left of `daily_max` as HubSpot last reported them
    (None until it has)."""

    window_max: int
    window_remaining: int
    daily_max: int | None = None
    daily_remaining: int | None = None


class Pacer:
    """Waits as long as needed before each call so that no window is ever overfilled."""

    def __init__(
        self,
        *,
        requests_per_10s: int = 150,
        searches_per_second: int = 4,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.requests_per_10s = requests_per_10s
        self.searches_per_second = searches_per_second
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._max: int | None = None  # the app's limit per interval, as HubSpot last reported it
        self._remaining: int | None = None
        self._interval = WINDOW_SECONDS
        self._reported_at: float | None = None
        self._ours_at_report = 0  # this pacer's calls in the window the report described
        self._daily_max: int | None = None
        self._daily_remaining: int | None = None
        self.sent = 0  # calls this pacer let through (searches included), for metrics

    @contextmanager
    def call(self, *, search: bool = False) -> Iterator[None]:
        """Wrap one HTTP call: wait for room before it, enter it in its window once answered."""
        window, size, limit = (
            (self._searches, SEARCH_WINDOW_SECONDS, self.searches_per_second)
            if search
            else (self._calls, WINDOW_SECONDS, self._call_limit())
        )
        wait = self._room(window, size, limit)
        if not search:
            wait = max(wait, self._spacing())
        if wait > 0:
            log.debug("hubspot.pace", wait_s=round(wait, 3), search=search)
            self._sleep(wait)
        try:
            yield
        finally:
            window.append(self._clock())
            self.sent += 1

    def budget(self) -> HubSpotBudget:
        """What is left now, in the window and for the day (see `HubSpotBudget`)."""
        limit = self._call_limit()
        self._room(self._calls, WINDOW_SECONDS, limit)  # drop calls older than the window
        left = max(0, limit - len(self._calls))
        reported = self._remaining
        if (
            reported is not None
            and self._reported_at is not None
            and self._clock() - self._reported_at < self._interval
        ):
            left = min(left, reported)
        return HubSpotBudget(
            window_max=limit,
            window_remaining=left,
            daily_max=self._daily_max,
            daily_remaining=self._daily_remaining,
        )

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Note the budget HubSpot reports in an answer's `X-HubSpot-RateLimit-*` headers."""
        if not headers:
            return
        daily = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if daily is not None:
            self._daily_remaining = daily
            self._daily_max = _int_header(headers, "X-HubSpot-RateLimit-Daily") or self._daily_max
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining is None:
            return
        self._remaining = remaining
        self._max = _int_header(headers, "X-HubSpot-RateLimit-Max") or self._max
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        self._interval = interval_ms / 1000 if interval_ms else WINDOW_SECONDS
        self._reported_at = self._clock()
        self._ours_at_report = sum(1 for t in self._calls if t > self._reported_at - self._interval)

    def _call_limit(self) -> int:
        if self._max is None:
            return self.requests_per_10s
        return max(1, min(self.requests_per_10s, self._max))

    def _room(self, window: deque[float], size: float, limit: int) -> float:
        """Seconds until the window has room for one more call (0: it has room now)."""
        now = self._clock()
        while window and window[0] <= now - size:
            window.popleft()
        if len(window) < limit:
            return 0.0
        # The call may go once the oldest calls that make it too full have left the window.
        return window[len(window) - limit] + size - now

    def _spacing(self) -> float:
        """Extra wait when HubSpot reports the app's shared budget nearly spent."""
        if self._remaining is None or self._max is None or self._reported_at is None:
            return 0.0
        now = self._clock()
        if now - self._reported_at >= self._interval:
            return 0.0  # that report is older than the window it described
        low = max(1, int(self._max * LOW_SHARE))
        if self._remaining > low:
            return 0.0
        if self._remaining <= 0:
            if self._ours_at_report >= self._max:
                return 0.0  # all ours: the window (`_room`) knows when the oldest leaves
            # Others hold part of it, and HubSpot does not say when their calls leave: only
            # the whole window it described is sure to have let them all go.
            return max(0.0, self._reported_at + self._interval - now)
        gap = self._interval / self._max * (low - self._remaining + 1)
        return max(0.0, self._reported_at + gap - now)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    try:
        return int(str(value))
    except ValueError:
        return None
