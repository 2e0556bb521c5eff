"""The proof of issue 15, small and seeded: bench/reliability.py with 300 contacts moving
through MQL -> accepted/rejected -> SQL -> converted, edits on both sides, two `leadbridge run`
workers on PostgreSQL, a 10 % profile of the retryable faults and 10 SIGKILLs of random
workers (each restarted). The bench's oracle checks both systems at the end."""

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
ARGS += ["--kill-every", "2", "--quiet", "30"]


@pytest.fixture(scope="module")
def table() -> str:
    """The bench's table (it runs once for the module's tests)."""
    result = subprocess.run(
        [sys.executable, str(BENCH), *ARGS],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert "targets missed:" in result.stdout, result.stdout + result.stderr[-3000:]
    return result.stdout


def _measured(table: str, row: str) -> str:
    match = re.search(rf"^  {re.escape(row)}\s+(.+?)(?:\s{{2,}}\S.*)?$", table, re.MULTILINE)
    assert match, f"no row {row!r} in\n{table}"
    return match.group(1).strip()


def test_kills_and_faults_lose_nothing_and_duplicate_nothing(table: str) -> None:
    """Ten workers killed at random moments under 10 % retryable faults: every qualified
    contact has exactly one Lead, every SQL contact is converted once with one opportunity,
    every sales decision reaches HubSpot, nothing is lost or dead-lettered unaccounted."""
    assert _measured(table, "workers / kills (SIGKILL, each restarted)") == "2 / 10", table
    faulted = _measured(table, "  leadbridge's requests met by a fault").split(" of ")[0]
    assert int(faulted) >= 10, table
    for row in ("Leads", "conversions", "feedback"):
        expected, present = _measured(table, f"{row} expected / present").split(" / ")
        assert expected == present and int(expected) > 0, table
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
