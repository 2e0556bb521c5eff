"""`bench/throughput.py`, small: one and two `leadbridge run` workers on one PostgreSQL schema at
one low rate. Throughput is not asserted (CI is a loaded 2-core machine); that the table is
printed for both worker counts, no change is lost, and the CPU of the sandbox's, the
generator's and the workers' processes is measured (each runs in a process of its own) is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set: several workers need PostgreSQL"
    ),
]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "throughput.py"


def test_the_bench_prints_its_table_for_one_and_two_workers() -> None:
    """Five seconds of changes at 5 a second with 1 and then 2 workers: a row each, every change
    synced, with changes synced per second, p95, calls per 1,000 changes, the CPU each process
    spent (the sandbox, the generator and the workers each in a process of its own, so each has
    a figure), and the CPU per change with the machine's cores named."""
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--workers",
            "1,2",
            "--rates",
            "5",
            "--seconds",
            "5",
            "--database-url",
            str(PG_URL),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr[-2000:]
    assert "synced/s" in out and "all/1000" in out and "saturated" in out, out
    assert re.search(r"sandbox: https://127\.0\.0\.1:\d+, process \d+", out), out
    for workers in (1, 2):
        row = re.search(
            rf"^ +{workers} +5 +([\d.]+) +([\d.]+) +([\d.]+) +0 +(\d+) +"
            r"([\d.]+) +[\d.]+ +([\d.]+) +[\d.]+ +([\d.]+) +(?:[\d.]+ +){6}",
            out,
            re.M,
        )
        assert row, out
        offered, synced, p95, per_thousand, sandbox, generator, worker = (
            float(v) for v in row.groups()
        )
        assert offered > 0 and synced > 0 and p95 > 0 and per_thousand > 0
        assert sandbox > 0 and generator > 0 and worker > 0, row.group(0)
        assert f"{workers} worker(s): kept up to" in out or f"{workers}: none" in out, out
    per_change = re.findall(r"CPU ms per change: sandbox ([\d.]+) .* \((\d+) cores last to", out)
    assert len(per_change) == 2, out
    assert all(float(ms) > 0 and int(cores) == os.cpu_count() for ms, cores in per_change), out
