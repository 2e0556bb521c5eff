"""What the end-to-end tests share: the CLI pointed at the test's sandbox and state database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.sandbox.env import sandbox_env
from connector.sandbox.server import SandboxServer


@pytest.fixture
def point_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[SandboxServer, Path], None]:
    """`point_cli(server, mappings)`: `leadbridge` commands run in-process from here on talk to
    `server` (the settings `leadbridge sandbox env` prints), read `mappings` and keep their
    state in this test's own SQLite file."""

    def point(server: SandboxServer, mappings: Path) -> None:
        for key, value in sandbox_env(server.port, server.tls.directory).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(mappings))
        monkeypatch.chdir(tmp_path)

    return point


def sync_once() -> Result:
    """`leadbridge sync --once`, which must succeed."""
    result = CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result
