"""The proof of issue 15, small and seeded: bench/reliability.py with 300 contacts moving
through MQL -> accepted/rejected -> SQL -> converted, edits on both sides, two `leadbridge run`
workers on PostgreSQL, a 10 % profile of the retryable faults and 10 SIGKILLs of random
workers (each restarted). The bench's oracle checks both systems once the workers have settled:
every expectation met, or caught up with the scenario (every change read after HubSpot's search
could show it, nothing left to do), never a wait that merely ran out (that is a timeout, which
fails here as one, not as a loss).

Not asserted here: the rows of findings still being fixed (stale edits, contacts missing a
write-back, echo writes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set: the proof needs PostgreSQL"
    ),
]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reliability.py"
ARGS = ["--contacts", "300", "--workers", "2", "--kills", "10", "--seed", "15"]
# The workers read changes up to 15 s late (the sandbox's search shows one at most 3 s late):
# caught up within about 30 s of the scenario's end, where the default 60 s takes up to 2 min.
ARGS += ["--kill-every", "2", "--overlap", "15", "--settle", "600"]


@pytest.fixture(scope="module")
def table() -> str:
    """The bench's table (it runs once for the module's tests)."""
    result = subprocess.run(
        [sys.executable, str(BENCH), *ARGS],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert "targets missed:" in result.stdout, result.stdout + result.stderr[-3000:]
    print(result.stdout)  # the table, shown with `pytest -rP`
    return result.stdout


def _measured(table: str, row: str) -> str:
    match = re.search(rf"^  {re.escape(row)}\s+(.+?)(?:\s{{2,}}\S.*)?$", table, re.MULTILINE)
    assert match, f"no row {row!r} in\n{table}"
    return match.group(1).strip()


def test_kills_and_faults_lose_nothing_and_duplicate_nothing(table: str) -> None:
    """Ten workers killed at random moments under 10 % retryable faults: every qualified
    contact has exactly one Lead, every SQL contact is converted once with one opportunity,
    every sales decision reaches HubSpot, nothing is lost or dead-lettered unaccounted."""
    settled = _measured(table, "settled (faults off)")
    assert settled.startswith(("met ", "caught up ")), (
        f"the workers did not settle within --settle ({settled}): a bound, not a loss\n{table}"
    )
    assert _measured(table, "workers / kills (SIGKILL, each restarted)") == "2 / 10", table
    faults = re.findall(r"^    faults: \w+\s+(\d+)", table, re.MULTILINE)
    assert sum(int(n) for n in faults) >= 10, table
    faulted = _measured(table, "  leadbridge's requests met by a fault").split(" of ")[0]
    assert int(faulted) >= 1, table
    for row in ("Leads", "conversions", "feedback"):
        expected, present = _measured(table, f"{row} expected / present").split(" / ")
        assert expected == present and int(expected) > 0, (row, table)
    for row in (
        "duplicates (several Leads for one contact)",
        "lost",
        "double conversions",
        "stray opportunities",
        "write-backs still owed",
    ):
        assert _measured(table, row) == "0", (row, table)
    submitted, rest = _measured(table, "submitted = applied + dead-lettered").split(" = ")
    applied, dead = rest.split(" + ")
    assert int(submitted) == int(applied) + int(dead), table
