"""`leadbridge` when a host is slow, busy, gone or configured with a password in its URL: what
may pass is retried and the pass succeeds; what a setting causes is one line naming it, with
no password, no library repr and no traceback."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.sandbox.app import Fault
from connector.sandbox.server import SandboxServer
from tests.relay import Relay

MAPPINGS = Path(__file__).parents[2] / "mappings"
TOKEN_PATH = "/services/oauth2/token"
PASSWORD = "PW-s3cret"
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": "101",
                "properties": {
                    "email": "ada@example-101.test",
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "company": "Analytical",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
        ]
    }
}
#: What urllib3's and requests' own texts look like; none of it may reach a person.
LIBRARY_TEXT = ("NewConnectionError", "HTTPSConnection", "urllib3", "Errno", "MaxRetryError")


@pytest.fixture
def cli(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxServer:
    """The CLI pointed at the seeded sandbox (lead.yaml only: no routing owners needed), logging
    JSON lines; returns the server."""
    server = sandbox(SEED)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    point_cli(server, mappings)
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_SCHEMA_CACHE", str(tmp_path / "schema.json"))
    return server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sync() -> Result:
    return CliRunner().invoke(main, ["sync", "--once"])


def events(result: Result, name: str) -> list[dict[str, Any]]:
    """The JSON log events called `name` in the command's stderr."""
    found = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                found.append(event)
    return found


def the_one_error(result: Result) -> str:
    """The command's only `error:` line, after checking it failed cleanly with status 2."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    assert not [text for text in LIBRARY_TEXT if text in result.output], result.output
    assert PASSWORD not in result.output
    return errors[0]


def token_statuses(server: SandboxServer) -> list[int]:
    return [e.status for e in server.sandbox.journal.entries() if e.path == TOKEN_PATH]


def test_a_busy_login_is_retried_and_the_pass_succeeds(cli: SandboxServer) -> None:
    """The first login answers 503: logged as a retry like any API call's, then the pass
    logs in, syncs and exits 0."""
    cli.sandbox.inject_fault(Fault(TOKEN_PATH, 503, {"error": "unavailable"}, times=1))

    result = sync()

    assert result.exit_code == 0, result.output
    assert token_statuses(cli)[:2] == [503, 200]
    retries = events(result, "api.retry")
    assert [(e["remote"], e["attempt"], e["status"]) for e in retries] == [("salesforce", 1, 503)]
    assert len(cli.sandbox.org.records["Lead"]) == 1


def test_a_login_that_times_out_is_retried_and_the_pass_succeeds(
    cli: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first login connection never answers: it times out, is retried (not blamed on the
    login URL), and the pass exits 0."""
    with Relay(cli.port, silent=1) as relay:
        monkeypatch.setenv("LEADBRIDGE_SALESFORCE_LOGIN_URL", relay.url)
        monkeypatch.setenv("LEADBRIDGE_SALESFORCE_TIMEOUT_SECONDS", "2")

        result = sync()

    assert result.exit_code == 0, result.output
    assert relay.accepted >= 2
    assert "LEADBRIDGE_SALESFORCE_LOGIN_URL" not in result.output
    retries = events(result, "api.retry")
    assert [(e["remote"], e["attempt"], e["status"]) for e in retries] == [("salesforce", 1, 0)]
    assert token_statuses(cli)[:1] == [200]
    assert len(cli.sandbox.org.records["Lead"]) == 1


def test_a_refused_login_url_is_one_line_naming_it_without_its_password(
    cli: SandboxServer, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    """A login URL whose port is closed (with a password in it): exit 2 at once, one line with
    host, cause and setting, the password masked."""
    monkeypatch.setenv(
        "LEADBRIDGE_SALESFORCE_LOGIN_URL", f"https://user:{PASSWORD}@127.0.0.1:{closed_port}"
    )

    result = sync()

    assert the_one_error(result) == (
        f"error: cannot reach Salesforce at https://user:***@127.0.0.1:{closed_port} "
        "(connection refused); check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )
    assert events(result, "api.retry") == []


@pytest.mark.parametrize("userinfo", ["", f"u:{PASSWORD}@"], ids=["plain", "with-password"])
def test_hubspot_unreachable_is_one_line_like_salesforces(
    cli: SandboxServer, monkeypatch: pytest.MonkeyPatch, closed_port: int, userinfo: str
) -> None:
    """A HubSpot base URL at a closed port: exit 2, one line saying host, cause and setting
    as the Salesforce side says it, no urllib3 repr, no traceback, no password."""
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_BASE_URL", f"https://{userinfo}127.0.0.1:{closed_port}")

    result = sync()

    shown = "u:***@" if userinfo else ""
    assert the_one_error(result) == (
        f"error: cannot reach HubSpot at https://{shown}127.0.0.1:{closed_port} "
        "(connection refused); check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert events(result, "api.retry") == []


def test_validate_keeps_passwords_in_urls_out_of_its_report_and_cache(
    cli: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`mappings validate` names where it read the schemas from: never a URL's password, in
    its JSON report or in the cache file it writes."""
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_LOGIN_URL", f"https://user:{PASSWORD}@{cli.url[8:]}")
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_BASE_URL", f"https://u:{PASSWORD}@{cli.url[8:]}")

    result = CliRunner().invoke(main, ["mappings", "validate", "--format", "json"])

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert json.loads(result.stdout)["schema"]["source"] == {
        "salesforce": f"https://user:***@{cli.url[8:]}/",
        "hubspot": f"https://u:***@{cli.url[8:]}/",
    }
    assert PASSWORD not in (tmp_path / "schema.json").read_text()
