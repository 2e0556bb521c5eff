"""The lead lifecycle scenario of issue 6, counted: edits crossing between the two systems, sales
feedback, conversion, a replay, and the quiet pass after.

Runs `sync --once` passes (feedback → contacts → conversion, as the CLI does) against an
in-process sandbox with the shipped lead.yaml (Phone and Title made two-way), status.yaml and
conversion.yaml (no routing). Marketing's edits go through the HubSpot API, the rep's through
the Salesforce API as the rep. Counts records written per side (what the connector sent) and
API calls (the sandbox's journal), and prints:

- writes per crossing: records leadbridge wrote per edit made on the other side (target 1.00),
  and edits that came back (target 0);
- the conversion: Leads converted and opportunities created, and both again when the same SQL
  contacts are read again (targets: 0 more; a crash replay is tested in tests/e2e);
- the pass after: records written (target 0).

    .venv/bin/python bench/lifecycle_scenario.py [--contacts 40] [--rounds 20]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from connector.hubspot.gateway import HubSpotGateway
from connector.logging import configure_logging
from connector.model import RecordUpdate
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.soql import soql
from connector.sandbox.env import sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.wiring import open_connector

MAPPINGS = Path(__file__).parents[1] / "mappings"
REP = "rep@lifecycle.example"
TWO_WAY = {
    "{hubspot: jobtitle, salesforce: Title, transform: [strip]}": (
        "{hubspot: jobtitle, salesforce: Title, transform: [strip], direction: both, "
        "conflict: salesforce_wins}"
    ),
    "{hubspot: phone, salesforce: Phone, transform: [strip]}": (
        "{hubspot: phone, salesforce: Phone, transform: [strip], direction: both, "
        "conflict: newest_wins}"
    ),
}


def make_seed(contacts: int) -> dict[str, Any]:
    people = [
        {
            "id": str(5000 + i),
            "properties": {
                "email": f"buyer{i}@lifecycle{i % 7}.example",
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "company": f"Lifecycle {i % 7}",
                "jobtitle": "Buyer",
                "phone": f"+46 70 000 {i:04d}",
                "lifecyclestage": "marketingqualifiedlead",
            },
        }
        for i in range(contacts)
    ]
    rep = {"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}
    return {"hubspot": {"contacts": people}, "salesforce": {"User": [rep]}}


class Counted:
    """Records leadbridge writes, per side, through its own gateway instances."""

    def __init__(self, salesforce: SalesforceGateway, hubspot: HubSpotGateway) -> None:
        self.salesforce: Counter[str] = Counter()
        self.hubspot: Counter[str] = Counter()
        self.converted = 0
        self.opportunities = 0
        for name in ("upsert_leads", "update_leads"):
            self._wrap(salesforce, name, lambda args: [u.hubspot_id for u in args[0]])
        self._wrap(salesforce, "update_records", lambda args: [u.key for u in args[1]])
        original = salesforce.convert_leads

        def convert(converts: Any) -> Any:
            results = original(converts)
            self.converted += sum(r.success for r in results)
            self.opportunities += sum(bool(r.success and r.opportunity_id) for r in results)
            return results

        salesforce.convert_leads = convert  # type: ignore[method-assign]
        update_contacts = hubspot.update_contacts

        def update(updates: Any) -> Any:
            self.hubspot.update(updates.keys())
            return update_contacts(updates)

        hubspot.update_contacts = update  # type: ignore[method-assign]

    def _wrap(self, gateway: Any, name: str, keys: Any) -> None:
        original = getattr(gateway, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.salesforce.update(keys(args))
            return original(*args, **kwargs)

        setattr(gateway, name, counted)

    def reset(self) -> None:
        self.salesforce.clear()
        self.hubspot.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configure_logging("json", level="error")

    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(make_seed(args.contacts), tls_dir=Path(tmp) / "tls") as server,
    ):
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        for name in ("status.yaml", "conversion.yaml"):
            shutil.copy(MAPPINGS / name, mappings / name)
        text = (MAPPINGS / "lead.yaml").read_text()
        for shipped, two_way in TWO_WAY.items():
            text = text.replace(shipped, two_way)
        (mappings / "lead.yaml").write_text(text)
        settings = sandbox_settings(
            server, database_url=f"sqlite:///{tmp}/bench.db", mappings_dir=mappings
        )
        rep = SalesforceGateway.connect(settings.model_copy(update={"salesforce_username": REP}))
        marketing = HubSpotGateway.connect(settings)
        journal = server.sandbox.journal
        with open_connector(settings) as connector:
            counted = Counted(connector.salesforce, connector.hubspot)

            def sync() -> Counter[str]:
                mark = journal.last_seq()
                counted.reset()
                for _summary in connector.run_pass():
                    pass
                return Counter(e.api for e in journal.entries(since=mark))

            calls = sync()
            leads = _leads(rep)
            print(f"first pass: {len(leads)} Leads created; API calls {dict(calls)}")

            ids = sorted(leads)[: min(10, len(leads))]
            edits = crossed = came_back = 0
            round_calls: Counter[str] = Counter()
            for round_ in range(args.rounds):
                field, prop = ("Phone", "phone") if round_ % 2 == 0 else ("Title", "jobtitle")
                in_hubspot = {
                    c: {prop: f"hs{round_}-{c}"} for i, c in enumerate(ids) if (i + round_) % 2
                }
                in_salesforce = {
                    c: {field: f"sf{round_}-{c}"} for i, c in enumerate(ids) if not (i + round_) % 2
                }
                marketing.update_contacts(in_hubspot)
                rep.update_records(
                    "Lead", [RecordUpdate(c, leads[c], v) for c, v in in_salesforce.items()]
                )
                edits += len(in_hubspot) + len(in_salesforce)
                round_calls += sync()
                crossed += sum(counted.salesforce[c] for c in in_hubspot)
                crossed += sum(counted.hubspot[c] for c in in_salesforce)
                came_back += sum(counted.hubspot[c] for c in in_hubspot)
                came_back += sum(counted.salesforce[c] for c in in_salesforce)
            print(
                f"two-way: {edits} alternating edits over {len(ids)} contacts in {args.rounds} "
                f"passes; records written per crossing {crossed / edits:.2f} (target 1.00), "
                f"edits that came back {came_back} (target 0); API calls per edit: "
                f"Salesforce {round_calls['salesforce'] / edits:.2f}, "
                f"HubSpot {round_calls['hubspot'] / edits:.2f}"
            )

            accepted = sorted(leads)[: len(leads) // 2]
            rep.update_records(
                "Lead",
                [RecordUpdate(c, leads[c], {"Status": "Working - Contacted"}) for c in accepted],
            )
            calls = sync()
            print(
                f"feedback: rep accepted {len(accepted)} Leads; contacts written "
                f"{sum(counted.hubspot.values())}; API calls {dict(calls)}"
            )
            marketing.update_contacts(
                {c: {"lifecyclestage": "salesqualifiedlead"} for c in accepted}
            )
            calls = sync()
            print(
                f"conversion: {len(accepted)} SQL contacts -> converted {counted.converted}, "
                f"opportunities {counted.opportunities}; API calls {dict(calls)}"
            )
            before = (counted.converted, counted.opportunities)
            calls = sync()  # the overlap window reads the same SQL contacts again
            more = (counted.converted - before[0], counted.opportunities - before[1])
            print(
                f"again (same SQL contacts re-read): converted {more[0]} more, opportunities "
                f"{more[1]} more (target 0, 0)"
            )
            calls = sync()
            written = sum(counted.salesforce.values()) + sum(counted.hubspot.values())
            print(f"the pass after: records written {written} (target 0); API calls {dict(calls)}")
            _print_totals(server)


def _leads(rep: SalesforceGateway) -> dict[str, str]:
    rows = rep.query(
        soql("SELECT Id, HubSpot_Contact_Id__c FROM Lead WHERE HubSpot_Contact_Id__c != null")
    )
    return {str(r["HubSpot_Contact_Id__c"]): str(r["Id"]) for r in rows}


def _print_totals(server: SandboxServer) -> None:
    org = server.sandbox.org.records
    converted = sum(bool(lead.get("IsConverted")) for lead in org["Lead"].values())
    print(
        f"in Salesforce: {len(org['Lead'])} Leads ({converted} converted), "
        f"{len(org['Contact'])} Contacts, {len(org['Account'])} Accounts, "
        f"{len(org['Opportunity'])} Opportunities"
    )


if __name__ == "__main__":
    main()
