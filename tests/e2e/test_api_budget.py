"""`leadbridge sync --once` keeps the Salesforce API budget's reserve for people: against the
sandbox's org with a small daily limit, the pass stops before the reserve with one line (exit
75), a sales rep's own calls still work, and the next pass, once the budget has room, finishes
the work with nothing lost or written twice."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer
from tests.conftest import sf_client
from tests.e2e.demo_pass import DEMO_SEED, MAPPINGS, outcome, sync, undisturbed

REP = "greta.lindqvist@acme-sales.test"


@pytest.mark.parametrize(
    ("limit", "stopped", "done"),
    [
        # 4 calls spent, 4 left above the reserve of 2: not enough to route and write the page
        (10, "writing 163 contacts to Salesforce needs 6 calls", "sync "),
        # the Leads are written (the known ones' statuses read again after, one call: a rep's
        # change made meanwhile goes to feedback); converting them would take the first call of
        # the reserve (18: sales feedback's pass also reads what was removed in Salesforce,
        # one call)
        (18, "converting 60 Leads needs 1 call", "conversion "),
    ],
)
def test_a_pass_stops_before_the_reserve_and_the_next_finishes_it(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    stopped: str,
    done: str,
) -> None:
    """With a small daily limit the pass stops before the reserve (20 %): one line naming the
    setting, exit 75, what it did printed; the reserve is untouched and a rep's own call is
    answered; with the budget raised the next pass ends where one unhindered pass does."""
    reference = undisturbed(sandbox, point_cli, tmp_path, monkeypatch)
    server = sandbox(read_seed(DEMO_SEED))
    org = server.sandbox.org
    org.daily_api_limit = limit
    reserve = math.ceil(limit * 0.2)
    point_cli(server, MAPPINGS)

    first = sync()

    assert first.exit_code == 75, first.output
    (line,) = [x for x in first.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: Salesforce API budget: ")
    assert "(LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT=20: " in line
    assert stopped in line
    assert done in first.stdout  # the summary of the stream that stopped
    assert org.api_used <= limit - reserve
    statuses = {e.status for e in server.sandbox.journal.entries(api="salesforce")}
    assert 403 not in statuses  # never REQUEST_LIMIT_EXCEEDED
    rep_limits = sf_client(server, REP).limits()["DailyApiRequests"]
    assert rep_limits["Remaining"] >= reserve - 1  # the rep's own call took one

    org.daily_api_limit = 100_000  # the budget has room again
    second = sync()

    assert second.exit_code == 0, second.output
    assert outcome(server, tmp_path / "state.db") == reference


def test_a_rep_is_never_refused_after_a_pass_on_a_tight_budget(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
) -> None:
    """Before, one pass spent a limit of 12 to the last call and met REQUEST_LIMIT_EXCEEDED,
    and so did the reps after it; now the pass leaves the reserve and the rep's query works."""
    server = sandbox(read_seed(DEMO_SEED))
    server.sandbox.org.daily_api_limit = 12
    point_cli(server, MAPPINGS)

    result = sync()

    assert result.exit_code == 75, result.output
    assert server.sandbox.org.api_used <= 12 - 3
    rep = sf_client(server, REP)
    assert rep.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1
