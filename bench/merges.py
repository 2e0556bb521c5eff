"""Contact merges and deletions, counted: API calls per merge and per deletion, and the time
and CPU they take, against the sandbox in this process.

`--pairs` pairs of qualified contacts are synced (each gets a Lead); then every pair is merged
in HubSpot (the second into the first, so both had a Lead: a duplicate each), the merge events
recorded as the webhook endpoint records them, and the merges carried out with
`on_duplicate_after_merge: merge`; then `--pairs` more contacts are deleted with
`on_contact_deleted: delete`. Prints, per phase: events, seconds, CPU seconds of this process
(sandbox included), calls per event to each API (from the sandbox's journal), and the checks:
live Leads claiming a merged-away or deleted id (target 0), people with more than one live
Lead (target 0), work left (target 0). Exit status 1 when a target is missed.

    .venv/bin/python bench/merges.py [--pairs 100]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import PublicMergeInput

from connector.sandbox.env import sandbox_salesforce, sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.state.store import Commit
from connector.state.work import Work
from connector.streams.identity.stream import DELETIONS, MERGES
from connector.wiring import open_connector

MAPPINGS = Path(__file__).parents[1] / "mappings"
EXT = "HubSpot_Contact_Id__c"


def make_seed(count: int) -> dict[str, Any]:
    contacts = [
        {
            "id": str(1000 + i),
            "properties": {
                "email": f"person{i}@bench-{i}.test",
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "company": f"Company {i}",
                "lifecyclestage": "marketingqualifiedlead",
            },
        }
        for i in range(count)
    ]
    return {"hubspot": {"contacts": contacts}}


def measure(server: SandboxServer, run: Any, events: int, name: str) -> dict[str, Any]:
    """Run one phase; print its events, seconds, CPU seconds and calls per event per API."""
    mark, started, cpu = server.sandbox.journal.last_seq(), time.monotonic(), os.times()
    counts = run().counts()
    elapsed, after = time.monotonic() - started, os.times()
    used = Counter(e.api for e in server.sandbox.journal.entries(since=mark))
    per = ", ".join(f"{api} {n / events:.2f}" for api, n in sorted(used.items()))
    cpu_s = (after.user - cpu.user) + (after.system - cpu.system)
    print(
        f"{name}: {events} events in {elapsed:.2f} s ({cpu_s:.2f} CPU s, sandbox included); "
        f"calls per event: {per}; {counts}"
    )
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    pairs = parser.parse_args().pairs
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(make_seed(3 * pairs), tls_dir=Path(tmp) / "tls") as server,
    ):
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        text = (MAPPINGS / "lead.yaml").read_text(encoding="utf-8")
        for name, value in (
            ("on_duplicate_after_merge", "merge"),
            ("on_contact_deleted", "delete"),
        ):
            text = re.sub(rf"(?m)^  {name}: \w+$", f"  {name}: {value}", text)
        (mappings / "lead.yaml").write_text(text, encoding="utf-8")
        settings = sandbox_settings(
            server, database_url=f"sqlite:///{Path(tmp) / 'state.db'}", mappings_dir=mappings
        )
        api = _hubspot(server).crm.contacts.basic_api
        with open_connector(settings) as connector:
            list(connector.run_pass())
            assert connector.merges is not None and connector.deletions is not None
            merged_away, work = [], []
            for i in range(pairs):
                survivor, other = str(1000 + 2 * i), str(1000 + 2 * i + 1)
                api.merge(PublicMergeInput(primary_object_id=survivor, object_id_to_merge=other))
                merged_away.append(other)
                event = {
                    "event_id": i,
                    "subscription_type": "contact.merge",
                    "primary_object_id": survivor,
                    "merged_object_ids": [other],
                }
                work.append(Work(MERGES, f"{survivor}<{other}", "recheck", "bench", event))
            connector.store.record(Commit("hubspot.webhooks", work=work), run_id="bench")
            measure(server, connector.merges.run_all, pairs, "merges (each with a duplicate)")
            deleted = [str(1000 + 2 * pairs + i) for i in range(pairs)]
            for hubspot_id in deleted:
                api.archive(hubspot_id)
            payloads = [{"subscription_type": "contact.deletion", "object_id": h} for h in deleted]
            work = [
                Work(DELETIONS, f"{p['object_id']}:deletion", "recheck", "bench", p)
                for p in payloads
            ]
            connector.store.record(Commit("hubspot.webhooks", work=work), run_id="bench")
            measure(server, connector.deletions.run_all, pairs, "deletions (Lead deleted)")
            left = len(connector.store.work()) + len(connector.store.owed_writebacks())
        sf = sandbox_salesforce(server, "integration@sandbox.local")
        leads = sf.query_all("SELECT Id, HubSpot_Contact_Id__c FROM Lead")["records"]
        gone = set(merged_away) | set(deleted)
        claims = sum(r[EXT] in gone for r in leads)
        several = sum(n > 1 for n in Counter(r[EXT] for r in leads if r[EXT]).values())
        print(f"live Leads claiming a merged-away or deleted id: {claims} (target 0)")
        print(f"ids with more than one live Lead: {several} (target 0)")
        print(f"work and write-backs left: {left} (target 0)")
        print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    missed = sum(bool(n) for n in (claims, several, left))
    print(f"targets missed: {missed}")
    return 1 if missed else 0


def _hubspot(server: SandboxServer) -> HubSpot:
    """An unmodified hubspot-api-client on the sandbox (as marketing's tools would call it)."""
    token = server.sandbox.config.hubspot_token
    return HubSpot(access_token=token, host=server.url, ssl_ca_cert=str(server.ca_file))


if __name__ == "__main__":
    sys.exit(main())
