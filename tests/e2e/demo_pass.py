"""The demo seed's first pass as the end-to-end tests of interrupted passes compare with: what
a person can see of it in both systems, and what one pass with budget to spare leaves."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer

ROOT = Path(__file__).parents[2]
MAPPINGS = ROOT / "mappings"
DEMO_SEED = ROOT / "connector" / "sandbox" / "seeds" / "demo.json"
EXT = "HubSpot_Contact_Id__c"


def sync() -> Result:
    """`leadbridge sync --once`, whatever its exit status."""
    return CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)


def outcome(server: SandboxServer, store: Path) -> dict[str, Any]:
    """What a person can see of the work in both systems (the ids of new records aside), and
    the round-robin turns routing counted in the state store at `store`."""
    with closing(sqlite3.connect(store)) as db:
        turns = dict(
            ((r, m), t) for r, m, t in db.execute("SELECT rule, member, turns FROM round_robin")
        )
    org = server.sandbox.org.records
    leads = [r for r in org["Lead"].values() if r.get(EXT)]
    by_contact = {r[EXT]: r for r in leads}
    contacts = list(server.sandbox.portal.stores["contacts"].live())
    return {
        "Leads per contact": Counter(Counter(r[EXT] for r in leads).values()),
        "contacts with a Lead": sorted(by_contact),
        "converted": sorted(r[EXT] for r in leads if r.get("IsConverted")),
        "owners": {r[EXT]: r.get("OwnerId") for r in leads},  # routing's round-robin turns
        "objects": {name: len(org[name]) for name in ("Account", "Contact", "Opportunity")},
        "lead ids written back": sorted(c.id for c in contacts if c.props.get("salesforceleadid")),
        "lead ids that are not the Lead's": [
            c.id
            for c in contacts
            if c.props.get("salesforceleadid")
            and by_contact.get(c.id, {}).get("Id") != c.props["salesforceleadid"]
        ],
        "contact ids written back": len(
            [c for c in contacts if c.props.get("salesforcecontactid")]
        ),
        "stages": Counter(c.props.get("lifecyclestage") for c in contacts),
        "round-robin turns": turns,
    }


def undisturbed(
    sandbox: Callable[..., SandboxServer],
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The outcome of one pass over the demo seed with budget to spare, in a state store of
    its own; the CLI then points at the test's own store again."""
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, MAPPINGS)
    store = tmp_path / "reference.db"
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{store}")
    result = sync()
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return outcome(server, store)
