"""`leadbridge demo`: the first sync, end to end, against a sandbox that lives for the demo only.

Starts the sandbox with the bundled demo seed on a free loopback port, points the connector at it
(the same settings `leadbridge sandbox env` prints), runs two passes of `sync --once` into a
throwaway state database, and prints what happened and a few Leads read back from Salesforce.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from connector.salesforce.soql import soql
from connector.sandbox.env import sandbox_env
from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer
from connector.settings import load_settings
from connector.sync.service import open_engine, run_pass

DEMO_SEED = Path(__file__).parent / "sandbox" / "seeds" / "demo.json"


def run_demo(mappings_dir: Path, echo: Callable[[str], object] = print) -> None:
    """Run the demo, printing as it goes."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    seed = read_seed(DEMO_SEED)
    with (
        tempfile.TemporaryDirectory(prefix="leadbridge-demo-") as tmp,
        SandboxServer(seed, tls_dir=Path(tmp) / "tls") as server,
    ):
        env = sandbox_env(server.port, server.tls.directory)
        settings = load_settings(
            **{key.removeprefix("LEADBRIDGE_").lower(): value for key, value in env.items()},
            database_url=f"sqlite:///{tmp}/demo.db",
            mappings_dir=mappings_dir,
        )
        counts = server.sandbox.portal.counts()
        org = server.sandbox.org.records
        echo(
            f"sandbox: {server.url} with {counts.get('contacts', 0)} HubSpot contacts, "
            f"{len(org['Lead'])} Salesforce leads, {len(org['Contact'])} contacts, "
            f"{len(org['Account'])} accounts"
        )
        journal = server.sandbox.journal
        with open_engine(settings) as engine:
            echo("\n== first pass: leadbridge sync --once")
            for summary in run_pass(settings, engine):
                echo(summary.render())
            echo(_calls(Counter(e.api for e in journal.entries())))

            echo("\n== a few Leads read back from Salesforce, with the owner routing chose")
            for global_lead in (True, False):
                rows = engine.salesforce.query(
                    soql(
                        "SELECT Id, Name, Company, Status, Owner.Name, Global_Lead__c, "
                        "HubSpot_Contact_Id__c FROM Lead WHERE HubSpot_Contact_Id__c != null "
                        "AND Global_Lead__c = {} ORDER BY CreatedDate DESC LIMIT {}",
                        global_lead,
                        3,
                    )
                )
                for row in rows:
                    owner = (row.get("Owner") or {}).get("Name")
                    kind = "global  " if row["Global_Lead__c"] else "regional"
                    echo(
                        f"  {row['Id']}  {kind} {row['Name']!s:<22.22} "
                        f"{row['Company']!s:<26.26} owner {owner!s:<18} "
                        f"(HubSpot {row['HubSpot_Contact_Id__c']})"
                    )

            echo("\n== second pass: nothing changed, so nothing is written")
            mark = journal.last_seq()
            for summary in run_pass(settings, engine):
                echo(summary.render())
            echo(_calls(Counter(e.api for e in journal.entries(since=mark))))
            writes = [
                e
                for e in journal.entries(since=mark)
                if e.method in ("POST", "PATCH", "DELETE")
                and "/search" not in e.path
                and "/query" not in e.path
                and "/oauth2/" not in e.path
            ]
            echo(f"  writes in the second pass: {len(writes)}")


def _calls(by_api: Counter[str]) -> str:
    return (
        f"  API calls: Salesforce {by_api.get('salesforce', 0)}, HubSpot {by_api.get('hubspot', 0)}"
    )
