"""`leadbridge sync --once` over a state store that cannot be used: one line, exit 2, and no
write to Salesforce or HubSpot when the store is found unusable at the start."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event

from connector.cli import main
from connector.state.store import StateStore
from tests.e2e.conftest import sync_once

MAPPINGS = Path(__file__).parents[2] / "mappings"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
IDS = [str(cid) for cid in range(700, 780)]
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": cid,
                "properties": {
                    "email": f"person{cid}@store.test",
                    "lastname": f"Last{cid}",
                    "company": "Store Test",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
            # enough that recording them needs new pages in the store (see the full-disk test)
            for cid in IDS
        ]
    }
}


@pytest.fixture
def server(sandbox, tmp_path, point_cli):
    """The sandbox with 80 qualified contacts, the CLI pointed at it with lead.yaml only."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    served = sandbox(SEED)
    point_cli(served, mappings)
    return served


def _sync() -> Result:
    return CliRunner().invoke(main, ["sync", "--once"])


def _remote_writes(server) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in server.sandbox.journal.entries()
        if e.method in WRITES and not e.path.endswith(("/search", "/token"))
    ]


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr  # besides the JSON log events
    assert lines[0].startswith("error: LEADBRIDGE_DATABASE_URL: "), lines[0]
    return lines[0]


def test_read_only_store_stops_the_pass_before_any_remote_write(server, tmp_path, monkeypatch):
    """A read-only store (here a `mode=ro` URI) is one line, exit 2, nothing sent anywhere."""
    path = tmp_path / "state.db"
    StateStore.open(f"sqlite:///{path}").close()
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")

    line = _one_error_line(_sync())

    assert "cannot write to the state store" in line
    assert "readonly database" in line
    assert _remote_writes(server) == []


def test_store_missing_its_links_table_stops_the_pass_before_any_remote_write(
    server, tmp_path, monkeypatch
):
    """A store whose `links` table was dropped is one line, exit 2, nothing sent anywhere."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore.open(url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE links")

    line = _one_error_line(_sync())

    assert "is damaged (table links is missing" in line
    assert _remote_writes(server) == []


def test_store_that_fills_up_mid_pass_is_one_line(server, monkeypatch):
    """A store that cannot grow (a full disk) after the pass began is one line and exit 2."""
    opened = StateStore.open

    def open_then_fill(url: str, **kwargs: Any) -> StateStore:
        store = opened(url, **kwargs)
        store.engine.dispose()

        @event.listens_for(store.engine, "connect")
        def full(dbapi_connection: Any, _record: Any) -> None:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        return store

    monkeypatch.setattr(StateStore, "open", open_then_fill)

    line = _one_error_line(_sync())

    assert line.endswith("failed: database or disk is full")
    assert _remote_writes(server)  # the pass had begun: Salesforce was written first


def test_usable_store_still_syncs(server, tmp_path):
    """The checks at the start refuse nothing healthy: the pass writes the Leads and records."""
    sync_once()
    assert len(server.sandbox.org.records["Lead"]) == len(SEED["hubspot"]["contacts"])
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        assert len(store.links(IDS)) == len(IDS)
