"""`bench/throughput.py`, small: one and two `leadbridge run` workers on one PostgreSQL schema at
one low rate. Throughput is not asserted (CI is a loaded 2-core machine); that the table is
printed for both worker counts, no change is lost, the CPU of the sandbox's, the generator's and
the workers' processes is measured (each runs in a process of its own), and the sandbox answers
after `--latency` (default 100 ms) without serving the delays one after another, is."""

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


ANSWERS = re.compile(
    r"API answers: the service's (\d+) calls took median ([\d.]+) ms, p95 ([\d.]+) ms, "
    r"([\d.]+) of them in the sandbox at once on average; its lock held ([\d.]+) of the run"
)


def _bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH), *args, "--database-url", str(PG_URL)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return result.stdout


def test_the_bench_prints_its_table_for_one_and_two_workers() -> None:
    """Five seconds of changes at 5 a second with 1 and then 2 workers, the sandbox answering
    after the default 100 ms: a row each, every change synced, with changes synced per second,
    p95, calls per 1,000 changes, the CPU each process spent (the sandbox, the generator and
    the workers each in a process of its own, so each has a figure), and the CPU per change with
    the machine's cores named; the service's calls took 100 ms or more to answer, and the
    sandbox's lock was held for less of the run than they spent in it (their delays were not
    slept under it, one after another)."""
    out = _bench("--workers", "1,2", "--rates", "5", "--seconds", "5")
    assert "answers every API request of the service 100 ms after serving it" in out, out
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
    answers = [[float(v) for v in m.groups()] for m in ANSWERS.finditer(out)]
    assert len(answers) == 2, out
    for calls, median, p95, in_hand, lock in answers:
        assert calls > 0 and median >= 100 and p95 >= median, out
        assert 0 < lock < in_hand, out


def test_latency_zero_answers_at_once() -> None:
    """`--latency 0`, the CPU-bound case: one worker at 5 changes a second keeps up, and the
    service's calls are answered as soon as they are served, well under the default 100 ms."""
    out = _bench("--workers", "1", "--rates", "5", "--seconds", "3", "--latency", "0")
    assert "answers every API request of the service 0 ms after serving it" in out, out
    assert re.search(r"^ +1 +5 +[\d.]+ +[\d.]+ +[\d.]+ +0 +\d+ ", out, re.M), out
    answers = [[float(v) for v in m.groups()] for m in ANSWERS.finditer(out)]
    assert len(answers) == 1, out
    calls, median, _p95, _in_hand, _lock = answers[0]
    assert calls > 0 and median < 50, out
