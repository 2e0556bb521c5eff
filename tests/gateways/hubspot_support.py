"""Helpers for the HubSpot gateway tests: settings for a sandbox, a fake clock, seeds."""

from __future__ import annotations

from typing import Any

from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.settings import Settings

#: 2027-01-15T08:00:00Z: the instant fake clocks start at.
START = 1_800_000_000.0
SEARCH_PATH = "/crm/v3/objects/contacts/search"


def gateway_settings(server: SandboxServer, **overrides: Any) -> Settings:
    """Settings pointing at `server` (as `leadbridge sandbox env` sets them), with overrides."""
    return sandbox_settings(server, **overrides)


class FakeTime:
    """A clock that only `sleep` moves; shared by the pacer and the sandbox's rate limiter."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_gateway(server: SandboxServer, **overrides: Any) -> tuple[HubSpotGateway, FakeTime]:
    """A gateway whose pacer and retries sleep on a fake clock that the sandbox reads too, so
    the sandbox's rate limits hold exactly as in real time while the test runs instantly."""
    time = FakeTime()
    server.sandbox.portal.clock = time.clock
    gateway = HubSpotGateway.connect(
        gateway_settings(server, **overrides), sleep=time.sleep, clock=time.clock
    )
    return gateway, time


def contacts_seed(count: int, stamp_ms: Any, **properties: Any) -> dict[str, Any]:
    """`count` contacts with ids 1001..; `stamp_ms(i)` gives the i-th one's lastmodifieddate."""
    rows = [
        {
            "id": str(1001 + i),
            "properties": {
                "email": f"c{i}@acme.test",
                "lastmodifieddate": str(stamp_ms(i)),
                **properties,
            },
        }
        for i in range(count)
    ]
    return {"hubspot": {"contacts": rows}}


def statuses(server: SandboxServer, path: str = SEARCH_PATH) -> list[int]:
    """The statuses of the HubSpot requests the sandbox served on `path`, in order."""
    return [e.status for e in server.sandbox.journal.entries(api="hubspot") if e.path == path]
