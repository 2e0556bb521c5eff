"""Refused values as a user sees them: `leadbridge sync --once` against the sandbox, where
Salesforce echoes the value it refused (a 10 kB street, an escape sequence in a last name)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore
from tests.e2e.test_first_sync import _contact

MAPPINGS = Path(__file__).parents[2] / "mappings"
TITLE = "\x1b]0;pwned\x07"  # an xterm "set the window title" sequence
LAST_NAME = TITLE + "Smith" + "x" * 100  # Salesforce: STRING_TOO_LONG (LastName, 80)
STREET = ("1 Long Road\n" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 200)[
    :10_240
]  # Salesforce: STRING_TOO_LONG (Street, 255)
#: No line of the summary, and no reason kept, should be longer than this.
LINE_BOUND = 200
#: Nor any line of the output, JSON log events included.
LOG_LINE_BOUND = 500
#: Any C0 or C1 control character but the line feed, and DEL.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


SEED = {
    "hubspot": {
        "contacts": [
            _contact("100"),
            _contact("501", lastname=LAST_NAME),
            _contact("502", address=STREET),
        ]
    }
}


def _lead_mappings(tmp_path: Path) -> Path:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    return mappings


def test_refused_values_reach_the_terminal_escaped_clipped_and_the_store_keeps_the_code(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
) -> None:
    """A summary of refused values is short, carries no control character, and the dead letter
    keeps Salesforce's code and message with the value clipped and its length said."""
    point_cli(sandbox(SEED), _lead_mappings(tmp_path))

    result = CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    output = result.output
    assert not CONTROL.search(output), [
        line for line in output.splitlines() if CONTROL.search(line)
    ]
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= LOG_LINE_BOUND
    summary = [line for line in lines if not line.startswith("{")]  # JSON log events aside
    assert len(summary) <= 12, summary
    assert max(len(line) for line in summary) <= LINE_BOUND
    failed = {
        line.split(":")[1].split()[-1]: line
        for line in summary
        if line.startswith("  failed: HubSpot contact ")
    }
    assert set(failed) == {"501", "502"}
    # The sandbox, like Salesforce, may refuse the last name or the full name built from it.
    assert "STRING_TOO_LONG: " in failed["501"]
    assert "'\\x1b]0;pwned\\x07Smithxxx" in failed["501"]
    assert f"…' ({len(LAST_NAME)} chars) (max length=" in failed["501"]
    assert "(10,240 chars) (max length=255) (Street)" in failed["502"]

    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        dead = {d.record_id: d for d in store.dead_letters("hubspot.contacts")}
    assert set(dead) == {"501", "502"}
    street = dead["502"]
    assert street.code == "STRING_TOO_LONG"
    assert street.fields == ("Street",)
    assert street.reason.startswith(
        "STRING_TOO_LONG: Street: data value too large: '1 Long Road\\nLorem ipsum"
    )
    assert street.reason.endswith("…' (10,240 chars) (max length=255) (Street)")
    assert len(street.reason) <= LINE_BOUND
    name = dead["501"]
    assert name.code == "STRING_TOO_LONG"
    assert "\x1b" not in name.reason and "\x07" not in name.reason
    assert f"…' ({len(LAST_NAME)} chars) (max length=" in name.reason
    assert len(name.reason) <= LINE_BOUND
