"""The deployment files: the systemd unit passes systemd's own check and runs the command a
user installs; the image runs `leadbridge run` as a non-root user with a health check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LEADBRIDGE = Path(sys.executable).with_name("leadbridge")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong (with the unit's binary path pointed at
    this checkout's `leadbridge`, since /opt/leadbridge is not installed here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    text = (DEPLOY / "leadbridge.service").read_text(encoding="utf-8")
    assert "/opt/leadbridge/bin/leadbridge run" in text
    unit = tmp_path / "leadbridge.service"
    unit.write_text(text.replace("/opt/leadbridge/bin/leadbridge", str(LEADBRIDGE)), "utf-8")

    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_the_unit_gives_leadbridge_time_to_finish_its_batch() -> None:
    """systemd waits longer than leadbridge's stop bound (20 s) before it kills."""
    text = (DEPLOY / "leadbridge.service").read_text(encoding="utf-8")
    assert "KillSignal=SIGTERM" in text
    assert "TimeoutStopSec=30" in text


def test_the_image_runs_the_service_unprivileged_with_a_health_check() -> None:
    """The image's entry point is `leadbridge run` on the exposed port, as a non-root user,
    stopped with SIGTERM, checked on /healthz (hadolint, in `make lint`, checks the rest)."""
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    entry = '["/opt/leadbridge/bin/leadbridge", "run", "--host", "0.0.0.0", "--port", "8080"]'
    assert f"ENTRYPOINT {entry}" in text
    assert "EXPOSE 8080" in text and "STOPSIGNAL SIGTERM" in text
    assert "USER 10001" in text and "/healthz" in text
