"""What a new user gets from the two ways `.env.example` offers: copy it and fill it in, or let
`leadbridge sandbox env` write a `.env` for the local sandbox."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main

ROOT = Path(__file__).parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with the shipped lead.yaml, and no LEADBRIDGE_* variable set."""
    for key in list(os.environ):
        if key.startswith("LEADBRIDGE_"):
            monkeypatch.delenv(key)
    (tmp_path / "mappings").mkdir()
    shutil.copy(ROOT / "mappings" / "lead.yaml", tmp_path / "mappings" / "lead.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_copied_env_example_says_which_values_to_fill_in(workdir: Path) -> None:
    """`cp .env.example .env; leadbridge sync --once`: one line per value to fill in, exit 2."""
    shutil.copy(ROOT / ".env.example", workdir / ".env")

    result = CliRunner().invoke(main, ["sync", "--once"])

    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: LEADBRIDGE_SALESFORCE_USERNAME: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "error: LEADBRIDGE_SALESFORCE_CONSUMER_KEY: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "error: LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: required when "
        "LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "error: LEADBRIDGE_HUBSPOT_ACCESS_TOKEN: required",
    ]
    assert not (workdir / "leadbridge.db").exists()  # nothing was started


def test_sandbox_env_written_to_dotenv_syncs_against_the_sandbox(workdir: Path, sandbox) -> None:
    """`leadbridge sandbox env ... > .env`, as the example says, is a working set-up."""
    contact = {
        "id": "501",
        "properties": {
            "email": "ada@example-env.test",
            "lastname": "Lovelace",
            "company": "Analytical Engines",
            "lifecyclestage": "marketingqualifiedlead",
        },
    }
    server = sandbox({"hubspot": {"contacts": [contact]}})
    env = CliRunner().invoke(
        main,
        ["sandbox", "env", "--port", str(server.port), "--tls-dir", str(server.tls.directory)],
        catch_exceptions=False,
    )
    (workdir / ".env").write_text(env.stdout, encoding="utf-8")

    result = CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    leads = list(server.sandbox.org.records["Lead"].values())
    assert [lead["Email"] for lead in leads] == ["ada@example-env.test"]
    assert (workdir / "leadbridge.db").is_file()  # the default store, in the working directory
