"""`leadbridge report funnel|sla|channels` after demo-like syncs against the sandbox: the
stages the streams recorded (handoff, a rep's acceptance and rejection, a conversion, its
opportunity won in Salesforce) come out of every format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.cli import main
from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer
from tests.conftest import sf_client
from tests.e2e.conftest import sync_once

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
DEMO_SEED = ROOT / "connector" / "sandbox" / "seeds" / "demo.json"
EXT = "HubSpot_Contact_Id__c"
REP = "oliver.hughes@acme-sales.test"


def report(*args: str) -> str:
    result = CliRunner().invoke(main, ["report", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _json(*args: str) -> dict[str, Any]:
    return json.loads(report(*args, "--format", "json"))


def _total(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r[key] == "(all)"]
    return row


def test_reports_show_what_the_streams_recorded(
    sandbox: Callable[..., SandboxServer], point_cli: Callable[[SandboxServer, Path], None]
) -> None:
    """After a first sync every handed-over Lead is in the funnel; a rep's acceptance, a
    rejection with its reason, and an opportunity closed won in Salesforce show in the funnel,
    SLA and channel reports, in table, CSV and JSON."""
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, MAPPINGS)
    sync_once()

    before = _total(_json("funnel")["rows"], "month")
    org = server.sandbox.org.records
    ours = {r[EXT]: r for r in org["Lead"].values() if r.get(EXT)}
    handed = len(ours)
    assert before["mql"] == handed > 5
    converted = [r for r in ours.values() if r.get("IsConverted")]
    open_leads = sorted(
        (r for r in ours.values() if not r.get("IsConverted")), key=lambda r: r[EXT]
    )
    accepted, rejected = open_leads[0], open_leads[1]

    rep = sf_client(server, REP)
    rep.Lead.update(accepted["Id"], {"Status": "Working - Contacted"})
    rep.Lead.update(
        rejected["Id"], {"Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget"}
    )
    opportunity = next(r["ConvertedOpportunityId"] for r in converted)  # the demo converts one
    rep.Opportunity.update(opportunity, {"StageName": "Closed Won", "Amount": 5000})
    sync_once()

    funnel = _total(_json("funnel")["rows"], "month")
    assert funnel["mql"] == handed
    assert funnel["sal"] == 1 + len(converted)  # the accepted one, and the converted ones
    assert funnel["sql"] == len(converted)
    assert funnel["won"] == 1

    channels = _json("channels")
    assert "cohort" in channels["cohort"]["note"]
    total = _total(channels["rows"], "source")
    assert total["handed_over"] == handed
    assert total["rejected"] == 1 and total["reasons"] == {"No budget": 1}
    assert total["won_amount"] == 5000
    sources = {r["source"] for r in channels["rows"]} - {"(all)"}
    assert "EMAIL_MARKETING" in sources  # HubSpot's original source, as the contacts show it

    sla = _json("sla")["rows"]
    assert sum(r["handed_over"] for r in sla) == handed
    assert sum(r["touched"] for r in sla) == 2 + len(converted)
    table = report("sla")
    assert table.splitlines()[0] == "sla report" and "cohort" in table.splitlines()[1]
    rows = list(
        csv.DictReader(io.StringIO(report("channels", "--format", "csv").split("\n", 1)[1]))
    )
    assert _total(rows, "source")["handed_over"] == str(handed)
    breaches = _json("sla", "--open")["rows"]  # the demo's Leads were handed over long ago
    assert {b["lead_id"] for b in breaches} <= {r["Id"] for r in ours.values()}
    assert accepted["Id"] not in {b["lead_id"] for b in breaches}
