"""The ways to start leadbridge: the `leadbridge` script, `python -m connector`, `--version`."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

LEADBRIDGE = str(Path(sys.executable).with_name("leadbridge"))
PYTHON_M = [sys.executable, "-m", "connector"]


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_version_is_the_installed_packages(tmp_path: Path) -> None:
    """`leadbridge --version` prints the version pip installed, and exits 0."""
    result = _run([LEADBRIDGE, "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"leadbridge {version('leadbridge')}\n"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["sync", "--help"], ["sync"], ["no-such-command"]],
    ids=["help", "version", "sync-help", "usage-error", "unknown-command"],
)
def test_python_m_connector_is_the_leadbridge_command(tmp_path: Path, args: list[str]) -> None:
    """`python -m connector ARGS` prints and exits exactly as `leadbridge ARGS` does."""
    script = _run([LEADBRIDGE, *args], tmp_path)
    module = _run([*PYTHON_M, *args], tmp_path)
    assert (module.returncode, module.stdout, module.stderr) == (
        script.returncode,
        script.stdout,
        script.stderr,
    )
    assert "leadbridge" in script.stdout + script.stderr
