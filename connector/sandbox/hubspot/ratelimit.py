"""HubSpot's request budgets for one private-app token: a rolling 10-second window, a daily
count, and the search endpoints' own per-second limit.

Per HubSpot's usage guidelines the search endpoints are exempt from the ten-second limit (their
OpenAPI spec marks them `x-hubspot-rate-limit-exemptions: [ten-secondly]`) and their responses
carry no rate-limit headers, but they still count against the daily budget. Refused requests
are not counted, so a client that backs off gets through once the window has moved on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 10.0
SEARCH_WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    """The outcome of counting one request: the policy it broke (if any) and the headers."""

    policy: str | None  # None, "TEN_SECONDLY_ROLLING", "DAILY" or "SECONDLY"
    headers: dict[str, str]


class RateLimiter:
    """Counts requests against the limits; `clock` returns epoch seconds (injectable)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._window: deque[float] = deque()
        self._search: deque[float] = deque()
        self._day: int | None = None
        self.daily_used = 0

    def standard(self, ten_second_limit: int, daily_limit: int, *, enforce: bool) -> Verdict:
        """Count a non-search call; refuse it when a budget is spent and limits are enforced."""
        now = self.clock()
        self._roll(now)
        policy = None
        if enforce and self.daily_used >= daily_limit:
            policy = "DAILY"
        elif enforce and len(self._window) >= ten_second_limit:
            policy = "TEN_SECONDLY_ROLLING"
        if policy is None:
            self._window.append(now)
            self.daily_used += 1
        remaining = max(ten_second_limit - len(self._window), 0)
        return Verdict(policy, self._headers(ten_second_limit, daily_limit, remaining))

    def spent(self, ten_second_limit: int, daily_limit: int) -> dict[str, str]:
        """The headers of an answer refused because the ten-second window is spent (the fault
        profile's storms): nothing counted, nothing left in the window."""
        self._roll(self.clock())
        return self._headers(ten_second_limit, daily_limit, 0)

    def _headers(self, ten_second_limit: int, daily_limit: int, remaining: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(daily_limit - self.daily_used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(ten_second_limit),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
        }

    def search(self, per_second: int, daily_limit: int, *, enforce: bool) -> Verdict:
        """Count a search call against the per-second search limit and the daily budget."""
        now = self.clock()
        self._roll(now)
        policy = None
        if enforce and self.daily_used >= daily_limit:
            policy = "DAILY"
        elif enforce and len(self._search) >= per_second:
            policy = "SECONDLY"
        if policy is None:
            self._search.append(now)
            self.daily_used += 1
        return Verdict(policy, {})

    def _roll(self, now: float) -> None:
        day = int(now // 86_400)
        if day != self._day:
            self._day = day
            self.daily_used = 0
        while self._window and self._window[0] <= now - WINDOW_SECONDS:
            self._window.popleft()
        while self._search and self._search[0] <= now - SEARCH_WINDOW_SECONDS:
            self._search.popleft()
