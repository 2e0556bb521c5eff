"""What reading Leads deleted or merged in Salesforce costs a pass (`connector.streams.leads.
removals`), against the sandbox through the real gateways.

Prints, after a first pass links every contact to a Lead: the API calls (Salesforce, HubSpot)
and seconds of a read with nothing removed, then of a read after DELETES Leads were deleted and
MERGES pairs merged by SOAP merge(), per removed Lead; CPU seconds of this process; the load.

    .venv/bin/python bench/removals.py [--contacts 300] [--deletes 100] [--merges 50]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import structlog
from lxml import etree

from connector.sandbox.env import sandbox_env, sandbox_salesforce
from connector.sandbox.server import SandboxServer
from connector.settings import Settings
from connector.wiring import open_connector

MAPPINGS = Path(__file__).parents[1] / "mappings"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"


def seed(contacts: int) -> dict:
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": str(1000 + i),
                    "properties": {
                        "email": f"person{i}@company{i}.example",
                        "lastname": f"Last{i}",
                        "company": f"Company {i}",
                        "lifecyclestage": "marketingqualifiedlead",
                    },
                }
                for i in range(contacts)
            ]
        }
    }


def merge_envelope(token: str, pairs: list[tuple[str, str]]) -> bytes:
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"s": ENV, "p": PARTNER, "o": SOBJECT})
    header = etree.SubElement(
        etree.SubElement(root, f"{{{ENV}}}Header"), f"{{{PARTNER}}}SessionHeader"
    )
    etree.SubElement(header, f"{{{PARTNER}}}sessionId").text = token
    operation = etree.SubElement(etree.SubElement(root, f"{{{ENV}}}Body"), f"{{{PARTNER}}}merge")
    for master, victim in pairs:
        request = etree.SubElement(operation, f"{{{PARTNER}}}request")
        record = etree.SubElement(request, f"{{{PARTNER}}}masterRecord")
        etree.SubElement(record, f"{{{SOBJECT}}}type").text = "Lead"
        etree.SubElement(record, f"{{{SOBJECT}}}Id").text = master
        etree.SubElement(request, f"{{{PARTNER}}}recordToMergeIds").text = victim
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def calls(server: SandboxServer, mark: int) -> tuple[int, int]:
    entries = [
        e for e in server.sandbox.journal.entries(since=mark) if not e.path.endswith("/token")
    ]
    return (
        sum(e.api == "salesforce" for e in entries),
        sum(e.api == "hubspot" for e in entries),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--deletes", type=int, default=100)
    parser.add_argument("--merges", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(seed(args.contacts), tls_dir=tmp) as server,
    ):
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        for name in ("lead.yaml", "status.yaml"):
            shutil.copy(MAPPINGS / name, mappings / name)
        os.environ.update(sandbox_env(server.port, server.tls.directory))
        os.environ["LEADBRIDGE_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'state.db'}"
        os.environ["LEADBRIDGE_MAPPINGS_DIR"] = str(mappings)
        with open_connector(Settings()) as connector:  # type: ignore[call-arg]
            for _ in connector.run_pass():
                pass
            assert connector.leads is not None and connector.leads.removals is not None
            removals = connector.leads.removals

            mark = server.sandbox.journal.last_seq()
            started = time.perf_counter()
            idle = removals.run("bench-idle")
            idle_seconds = time.perf_counter() - started
            sf_idle, hs_idle = calls(server, mark)

            leads = sorted(
                (r["HubSpot_Contact_Id__c"], r["Id"])
                for r in server.sandbox.org.records["Lead"].values()
                if r.get("HubSpot_Contact_Id__c")
            )
            ids = [lead_id for _, lead_id in leads]
            deleted = ids[: args.deletes]
            rest = ids[args.deletes :]
            pairs = list(
                zip(rest[0 : 2 * args.merges : 2], rest[1 : 2 * args.merges : 2], strict=True)
            )
            sf = sandbox_salesforce(server, "integration@sandbox.local")
            for chunk in range(0, len(deleted), 200):
                sf.restful(
                    "composite/sobjects",
                    method="DELETE",
                    params={"ids": ",".join(deleted[chunk : chunk + 200]), "allOrNone": "false"},
                )
            for chunk in range(0, len(pairs), 200):
                sf.session.post(
                    f"https://{sf.sf_instance}/services/Soap/u/59.0",
                    data=merge_envelope(sf.session_id, pairs[chunk : chunk + 200]),
                    headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                    timeout=60,
                ).raise_for_status()

            mark = server.sandbox.journal.last_seq()
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            busy = removals.run("bench-busy")
            busy_seconds = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            sf_busy, hs_busy = calls(server, mark)

    removed = len(deleted) + len(pairs)
    print(f"contacts linked: {len(ids)}")
    print(
        f"read with nothing removed: {sf_idle} Salesforce + {hs_idle} HubSpot calls, "
        f"{idle_seconds:.3f} s (read {idle.read})"
    )
    print(
        f"read after {len(deleted)} deletes and {len(pairs)} merges (merged into another "
        f"contact's Lead): {sf_busy} Salesforce + {hs_busy} HubSpot calls, {busy_seconds:.3f} s; "
        f"closed {busy.closed}, moved {busy.moved}, conflicts {busy.conflicts}, failed "
        f"{len(busy.failures)}"
    )
    print(f"calls per removed Lead: {(sf_busy + hs_busy) / max(removed, 1):.3f}")
    cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
    print(f"CPU seconds of this process (sandbox included) for that read: {cpu_s:.2f}")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
