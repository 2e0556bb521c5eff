"""`leadbridge demo`: the first sync, end to end, against a sandbox that lives for the demo only.

Starts the sandbox with the bundled demo seed on a free loopback port, points the connector at it
(the same settings `leadbridge sandbox env` prints), runs two passes of `sync --once` into a
throwaway state database, prints what happened and a few Leads read back from Salesforce; then a
sales rep works some Leads and a third pass carries the feedback to HubSpot.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.failures import table
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.env import sandbox_settings
from connector.sandbox.seed import read_seed
from connector.sandbox.server import SandboxServer
from connector.wiring import open_connector

DEMO_SEED = Path(__file__).parent / "sandbox" / "seeds" / "demo.json"


def run_demo(mappings_dir: Path, echo: Callable[[str], object] = print) -> None:
    """Run the demo, printing as it goes."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    seed = read_seed(DEMO_SEED)
    with (
        tempfile.TemporaryDirectory(prefix="leadbridge-demo-") as tmp,
        SandboxServer(seed, tls_dir=Path(tmp) / "tls") as server,
    ):
        settings = sandbox_settings(
            server, database_url=f"sqlite:///{tmp}/demo.db", mappings_dir=mappings_dir
        )
        counts = server.sandbox.portal.counts()
        org = server.sandbox.org.records
        echo(
            f"sandbox: {server.url} with {counts.get('contacts', 0)} HubSpot contacts, "
            f"{len(org['Lead'])} Salesforce leads, {len(org['Contact'])} contacts, "
            f"{len(org['Account'])} accounts"
        )
        journal = server.sandbox.journal
        with open_connector(settings) as connector:
            echo("\n== first pass: leadbridge sync --once")
            for summary in connector.run_pass():
                echo(summary.render())
            echo(_calls(Counter(e.api for e in journal.entries())))

            echo("\n== a few Leads read back from Salesforce, with the owner routing chose")
            ext = settings.salesforce_external_id_field
            for global_lead in (True, False):
                rows = connector.salesforce.routed_leads(ext, global_lead=global_lead, limit=3)
                for row in rows:
                    owner = (row.get("Owner") or {}).get("Name")
                    kind = "global  " if row["Global_Lead__c"] else "regional"
                    echo(
                        f"  {row['Id']}  {kind} {row['Name']!s:<22.22} "
                        f"{row['Company']!s:<26.26} owner {owner!s:<18} "
                        f"(HubSpot {row[ext]})"
                    )

            echo("\n== second pass: nothing changed, so nothing is written")
            mark = journal.last_seq()
            for summary in connector.run_pass():
                echo(summary.render())
            echo(_calls(Counter(e.api for e in journal.entries(since=mark))))
            # Reads sent as POST are no writes: HubSpot searches, and Salesforce Composite calls,
            # which leadbridge sends only to batch queries (the read of deletions and merges);
            # its Salesforce writes go to /composite/sobjects.
            writes = [
                e
                for e in journal.entries(since=mark)
                if e.method in ("POST", "PATCH", "DELETE")
                and "/search" not in e.path
                and "/query" not in e.path
                and "/oauth2/" not in e.path
                and not e.path.endswith("/composite")
            ]
            echo(f"  writes in the second pass: {len(writes)}")

            rep = "oliver.hughes@acme-sales.test"
            echo(f"\n== sales works its leads: {rep} accepts 3 and rejects 2 in Salesforce")
            worked = _sales_works(settings, rep, echo)
            echo("\n== third pass: the feedback reaches marketing in HubSpot")
            mark = journal.last_seq()
            for summary in connector.run_pass():
                echo(summary.render())
            echo(_calls(Counter(e.api for e in journal.entries(since=mark))))
            wanted = [
                "hs_lead_status",
                "lifecyclestage",
                "sales_rejection_reason",
                "salesforce_owner_email",
                "sales_accepted_at",
            ]
            for contact in connector.hubspot.read_contacts(worked, wanted):
                shown = ", ".join(f"{k}={contact.properties.get(k)}" for k in wanted[:3])
                extra = contact.properties.get("sales_accepted_at") or ""
                echo(f"  HubSpot {contact.id}: {shown}" + (f", accepted {extra}" if extra else ""))

            echo("\n== leadbridge dlq list: what waits for a person (failures only, never work)")
            echo(table(connector.store.dead_letters()))


def _sales_works(settings: Any, username: str, echo: Callable[[str], object]) -> list[str]:
    """A rep, logged in as themselves, accepts three of their Leads and rejects two with a
    reason; the HubSpot ids of the five."""
    rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": username}))
    ext = settings.salesforce_external_id_field
    leads = rep.open_leads_owned_by(ext, username, limit=5)
    changes = [{"Status": "Working - Contacted"}] * 3 + [
        {"Status": "Closed - Not Converted", "Rejection_Reason__c": "No budget this year"},
        {"Status": "Closed - Not Converted", "Rejection_Reason__c": "Student, not a buyer"},
    ]
    updates = [
        RecordUpdate(lead[ext], lead["Id"], change)
        for lead, change in zip(leads, changes, strict=False)
    ]
    for update, lead in zip(updates, leads, strict=False):
        echo(f"  {lead['Id']}  {lead['Name']!s:<22.22} -> {update.fields['Status']}")
    rep.update_records("Lead", updates)
    return [u.key for u in updates]


def _calls(by_api: Counter[str]) -> str:
    return (
        f"  API calls: Salesforce {by_api.get('salesforce', 0)}, HubSpot {by_api.get('hubspot', 0)}"
    )
