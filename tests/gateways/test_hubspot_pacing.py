"""The HubSpot gateway against the sandbox's ten-second window (enforced as HubSpot does, on a
clock shared with the pacer): near the window it waits, it never collects a 429."""

from __future__ import annotations

import requests

from connector.sandbox.server import SandboxServer
from tests.gateways.hubspot_support import contacts_seed, fast_gateway, statuses

SEED = contacts_seed(12, lambda i: 1_700_000_000_000 + i)
IDS = [str(1001 + i) for i in range(12)]
BATCH_READ = "/crm/v3/objects/contacts/batch/read"


def _someone_else_calls(server: SandboxServer, times: int) -> None:
    """Another client of the same app (a second worker, a `sync --once` beside the service)
    spends `times` calls of the window."""
    for _ in range(times):
        answer = requests.get(
            f"{server.url}/crm/v3/objects/contacts/1001",
            headers={"Authorization": "Bearer sandbox-token"},
            verify=str(server.ca_file),
            timeout=10,
        )
        assert answer.status_code == 200


def test_a_window_smaller_than_the_setting_is_learned_and_waited_for(sandbox):
    """A portal allowing 5 calls per 10 s while the setting says 150: twelve calls go through
    without one 429, waiting for the window as HubSpot's headers describe it."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_ten_second_limit = 5
    gateway, time = fast_gateway(server, hubspot_batch_size=1)

    found = gateway.read_contacts(IDS, ["email"])

    assert [c.id for c in found] == IDS
    assert statuses(server, BATCH_READ) == [200] * 12
    assert sum(time.sleeps) >= 10.0  # twelve calls at five per window span two windows


def test_a_window_other_clients_spent_is_waited_out(sandbox):
    """Another client spent four of the five calls of the window: the gateway's first call
    takes the last, and the next waits the window out instead of meeting HubSpot's 429."""
    server = sandbox(SEED)
    server.sandbox.config.hubspot_ten_second_limit = 5
    gateway, time = fast_gateway(server, hubspot_batch_size=6)
    _someone_else_calls(server, 4)

    found = gateway.read_contacts(IDS, ["email"])

    assert [c.id for c in found] == IDS
    assert statuses(server, BATCH_READ) == [200, 200]
    assert time.sleeps == [10.0]
