"""`leadbridge dlq`: the failures a person looks at, put back or closes, through the CLI
against the sandbox; hand-overs and conversions in flight are work, never listed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit, StateStore
from connector.state.work import hand_over, pending
from tests.e2e.test_first_sync import SEED

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"

PATCH_LEADS = "/services/data/v59.0/composite/sobjects/Lead/HubSpot_Contact_Id__c"


@pytest.fixture
def run_cli(
    sandbox_server: SandboxServer,
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
) -> Callable[..., Result]:
    """`leadbridge ARGS` in-process against the sandbox with the shipped lead.yaml."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    point_cli(sandbox_server, mappings)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def _store(tmp_path) -> StateStore:
    return StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")


def test_list_shows_failures_only_never_work(sandbox, run_cli, tmp_path):
    """After a pass with two refused contacts, and work handed between streams, `dlq list`
    shows exactly the two failures with Salesforce's code and field; JSON says the same."""
    sandbox(SEED)
    assert run_cli("sync", "--once").exit_code == 0
    with _store(tmp_path) as store:
        store.record(
            Commit(
                stream="hubspot.contacts",
                work=[
                    hand_over("salesforce.leads", "00Q000000000001AAA", "a rep changed it"),
                    pending("hubspot.conversions", "105", "sent", lead_id="00Q000000000002AAA"),
                ],
            ),
            run_id="test",
        )

    table = run_cli("dlq", "list")
    listed = run_cli("dlq", "list", "--format", "json")

    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0] == "2 failures waiting (oldest first)"
    assert "REQUIRED_FIELD_MISSING" in table.output and "STRING_TOO_LONG" in table.output
    rows = json.loads(listed.stdout)
    assert sorted((r["record_id"], r["code"], tuple(r["fields"])) for r in rows) == [
        ("400", "REQUIRED_FIELD_MISSING", ("LastName",)),
        ("401", "STRING_TOO_LONG", ("Company",)),
    ]
    assert "00Q000000000001AAA" not in table.output and "105 " not in table.output


def test_show_names_the_failure_with_the_value_clipped(sandbox, run_cli):
    """`dlq show` prints what the store keeps: the code, the field, the tries and the value
    sent, clipped with its length."""
    sandbox(SEED)
    run_cli("sync", "--once")

    shown = run_cli("dlq", "show", "401")

    assert shown.exit_code == 0, shown.output
    assert "code       STRING_TOO_LONG" in shown.output
    assert "fields     Company" in shown.output
    assert "(300 chars)" in shown.output
    assert max(len(line) for line in shown.output.splitlines()) < 700


def test_retry_tries_a_held_record_again_and_drop_closes_one_with_its_reason(
    sandbox, run_cli, tmp_path
):
    """A refused contact that did not change is held (no call); put back, the next pass sends
    it again (its tries count up); a dropped one is gone from the list, its reason audited."""
    server = sandbox(SEED)
    run_cli("sync", "--once")
    held = run_cli("sync", "--once")  # unchanged since refused: no second try
    mark = server.sandbox.journal.last_seq()

    put_back = run_cli("dlq", "retry", "401")
    again = run_cli("sync", "--once")
    dropped = run_cli("dlq", "drop", "400", "--reason", "a test address")
    left = json.loads(run_cli("dlq", "list", "--format", "json").stdout)

    assert "failed 0" in held.output
    assert put_back.exit_code == 0, put_back.output
    assert "1 failures put back" in put_back.output
    sent = [e for e in server.sandbox.journal.entries(since=mark) if e.path == PATCH_LEADS]
    assert len(sent) == 1  # the retried contact went to Salesforce again
    assert "failed: HubSpot contact 401: STRING_TOO_LONG" in again.output
    assert dropped.exit_code == 0, dropped.output
    assert [(r["record_id"], r["attempts"], r["retry_queued"]) for r in left] == [("401", 2, False)]
    with _store(tmp_path) as store:
        (audit,) = store.audit_events(record_id="400", kind="dlq_drop")
    assert (audit.details["reason"], audit.details["code"]) == (
        "a test address",
        "REQUIRED_FIELD_MISSING",
    )


def test_an_unknown_id_is_one_line_and_exit_1(sandbox, run_cli):
    """An id with no open failure names itself and points at `dlq list`."""
    sandbox(SEED)
    run_cli("sync", "--once")

    for args in (["show", "999"], ["retry", "999"], ["drop", "999", "--reason", "x"]):
        result = run_cli("dlq", *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.splitlines()[-1] == (
            "error: no open failure for record '999': see leadbridge dlq list"
        )


def test_reading_failures_needs_no_credentials(sandbox, run_cli, monkeypatch):
    """`dlq list` reads the state store only: it runs with no Salesforce or HubSpot setting."""
    sandbox(SEED)
    run_cli("sync", "--once")
    for name in ("LEADBRIDGE_SALESFORCE_PASSWORD", "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name)

    result = run_cli("dlq", "list")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 failures waiting")
