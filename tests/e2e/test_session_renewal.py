"""`leadbridge sync --once` when Salesforce ends the session in the middle of a pass: it logs
in again and sends the refused write once more, so every record is written exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer
from tests.e2e.demo_pass import DEMO_SEED, MAPPINGS, outcome, sync, undisturbed


@pytest.mark.parametrize(
    ("expired_at", "write", "status"),
    [
        (2, "/services/data/v59.0/composite/sobjects", 401),  # linking Leads found by email
        (3, "/services/Soap/u/59.0", 500),  # convertLead: a SOAP fault
    ],
)
def test_a_session_expired_between_two_writes_loses_no_write(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    expired_at: int,
    write: str,
    status: int,
) -> None:
    """Every session ends as the pass's `expired_at`-th Salesforce write arrives (after the
    Leads were upserted): that write is refused (INVALID_SESSION_ID), leadbridge logs in and
    sends it again, once; the pass ends as an undisturbed one does."""
    reference = undisturbed(sandbox, point_cli, tmp_path, monkeypatch)
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, MAPPINGS)
    dispatch = server.sandbox._dispatch
    writes = 0

    def expire_then_dispatch(request: Request, api: str) -> Response:
        nonlocal writes
        if api == "salesforce" and (request.method == "PATCH" or "/Soap/" in request.path):
            writes += 1
            if writes == expired_at:
                server.sandbox.org.sessions.clear()
        return dispatch(request, api)

    monkeypatch.setattr(server.sandbox, "_dispatch", expire_then_dispatch)

    result = sync()

    assert result.exit_code == 0, result.output
    calls = [(e.method, e.path, e.status) for e in server.sandbox.journal.entries()]
    calls = [c for c in calls if c[1].startswith("/services/")]
    refused = [i for i, call in enumerate(calls) if call[2] != 200]
    assert len(refused) == 1
    at = refused[0]
    assert calls[at][1:] == (write, status)
    assert calls[at + 1] == ("POST", "/services/oauth2/token", 200)
    assert calls[at + 2] == (calls[at][0], write, 200)
    assert sum(1 for c in calls if c[1] == write and c[2] == 200) == 1
    assert outcome(server, tmp_path / "state.db") == reference
