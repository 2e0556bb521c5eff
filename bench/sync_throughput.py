"""Throughput and API cost of the first sync: N new MQL contacts, one `sync --once`.

Uses `mappings/lead.yaml` without routing (routing's calls are measured by
`bench/routing_accuracy.py`). Prints leads per second, Salesforce and HubSpot calls per 1,000
leads (counted in the sandbox's journal, OAuth login included) and duplicates found. Targets
(issue 3): at most 12 Salesforce and 16 HubSpot calls per 1,000 new leads, zero duplicates.

    .venv/bin/python bench/sync_throughput.py [--contacts 10000]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from connector.logging import configure_logging
from connector.sandbox.env import sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.wiring import open_connector

MAPPINGS = Path(__file__).parents[1] / "mappings"


def make_seed(contacts: int) -> dict:
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": str(10_000 + i),
                    "properties": {
                        "email": f"lead{i}@company{i % 1500}.example",
                        "firstname": f"First{i}",
                        "lastname": f"Last{i}",
                        "company": f"Company {i % 1500}",
                        "jobtitle": "Buyer",
                        "country": "Sweden",
                        "lifecyclestage": "marketingqualifiedlead",
                        "hubspotscore": str(50 + i % 50),
                    },
                }
                for i in range(contacts)
            ]
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configure_logging("json", level="error")

    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(make_seed(args.contacts), tls_dir=Path(tmp) / "tls") as server,
    ):
        # lead.yaml only: routing has its own benchmark (bench/routing_accuracy.py).
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
        settings = sandbox_settings(
            server, database_url=f"sqlite:///{tmp}/bench.db", mappings_dir=mappings
        )
        journal = server.sandbox.journal
        started = time.perf_counter()
        with open_connector(settings) as connector:
            summary = connector.contacts.run_once()
        seconds = time.perf_counter() - started

        calls = Counter(e.api for e in journal.entries())
        statuses = Counter((e.api, e.status) for e in journal.entries())
        leads = list(server.sandbox.org.records["Lead"].values())
        by_contact = Counter(lead["HubSpot_Contact_Id__c"] for lead in leads)
        by_email = Counter((lead["Email"] or "").lower() for lead in leads)

    per_k = 1000 / max(summary.created, 1)
    print(
        f"contacts: {args.contacts:,} MQL; created {summary.created:,}, failed "
        f"{summary.failed}, written back {summary.written_back:,}"
    )
    print(f"time: {seconds:.1f} s, {summary.created / seconds:,.0f} leads/s")
    print(
        f"Salesforce calls: {calls['salesforce']} ({calls['salesforce'] * per_k:.1f} per 1,000 "
        "leads, target <= 12)"
    )
    print(
        f"HubSpot calls: {calls['hubspot']} ({calls['hubspot'] * per_k:.1f} per 1,000 leads, "
        "target <= 16)"
    )
    print(
        f"answers other than 200/201: {sorted((k, v) for k, v in statuses.items() if k[1] > 201)}"
    )
    print(
        f"duplicates: {sum(n - 1 for n in by_contact.values() if n > 1)} by HubSpot id, "
        f"{sum(n - 1 for n in by_email.values() if n > 1)} by email"
    )


if __name__ == "__main__":
    main()
