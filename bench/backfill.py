"""A backfill at volume: `leadbridge backfill` of N contacts (100,000 by default) against the
sandbox, through sObject Collections (the threshold above N) and through Bulk API 2.0 (the
default threshold, 10,000).

The sandbox runs in this process; the backfill is its own `leadbridge backfill` process, whose
resident memory (VmRSS) is sampled every `--sample` seconds. Per path it prints records per hour
(contacts read over the command's wall time, start-up included), the RSS at its start, peak and
end, the API calls per remote and per 1,000 records (from the sandbox's journal, the OAuth login
included; each Salesforce call by kind), and what the run left: Leads per contact, duplicates,
ids written back. Uses `mappings/lead.yaml` without routing (routing's calls are
`bench/routing_accuracy.py`'s).

Targets (issue 16): >= 1,000,000 records an hour; RSS flat (nothing holds the whole population:
the peak does not grow with N); on the Bulk path at most 1 Salesforce call per 1,000 records.
Exit status 1 when a run leaves a duplicate, a contact without its Lead, or misses a target.

    .venv/bin/python bench/backfill.py [--contacts 100000] [--paths collections,bulk]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.logging import configure_logging
from connector.sandbox.env import sandbox_env
from connector.sandbox.server import SandboxServer

MAPPINGS = Path(__file__).parents[1] / "mappings"
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"
FIRST_ID = 100_000
#: Every KNOWN_EVERY-th contact's email is already a Lead's, every CUSTOMER_EVERY-th a Contact's.
KNOWN_EVERY = 97
CUSTOMER_EVERY = 211


def make_seed(contacts: int) -> dict[str, Any]:
    """`contacts` MQL contacts with distinct emails and change times; about 1 % of them have
    a Lead with their email in Salesforce already (linked, not created), 0.5 % a Contact."""
    base_ms = 1_700_000_000_000
    people = []
    leads = []
    customers = []
    for i in range(contacts):
        email = f"person{i}@bulk{i % 997}.example"
        people.append(
            {
                "id": str(FIRST_ID + i),
                "properties": {
                    "email": email,
                    "firstname": f"First{i}",
                    "lastname": f"Last{i}",
                    "company": f"Bulk Co {i % 997}",
                    "jobtitle": "Buyer",
                    "lifecyclestage": "marketingqualifiedlead",
                    "lastmodifieddate": str(base_ms + i * 1000),
                },
            }
        )
        if i % CUSTOMER_EVERY == 7:
            customers.append(
                {"AccountId": "@acct", "LastName": f"Customer{i}", "Email": email.upper()}
            )
        elif i % KNOWN_EVERY == 5:
            leads.append({"LastName": f"Known{i}", "Company": "Known Co", "Email": email})
    return {
        "hubspot": {"contacts": people},
        "salesforce": {
            "Account": [{"Id": "@acct", "Name": "Customers Inc"}],
            "Contact": customers,
            "Lead": leads,
        },
    }


@dataclass
class Memory:
    """A process's VmRSS (KiB), sampled from /proc until it exits."""

    pid: int
    every: float
    samples: list[int] = field(default_factory=list)

    def read(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def run(self, process: subprocess.Popen[str]) -> None:
        while process.poll() is None:
            kib = self.read()
            if kib:
                self.samples.append(kib)
            time.sleep(self.every)


def kind(api: str, method: str, path: str) -> str:
    """A call's kind, for the breakdown."""
    if api == "salesforce":
        if path.endswith("/token"):
            return "login"
        if "/jobs/ingest" in path:
            return "bulk ingest"
        if "/jobs/query" in path:
            return "bulk query"
        if "/composite/sobjects" in path:
            return "collections"
        if path.endswith("/composite"):
            return "composite (queries)"
        if "/query" in path:
            return "query"
        return f"{method} other"
    if path.endswith("/search"):
        return "search"
    if "/batch/" in path:
        return "batch " + path.rsplit("/", 1)[-1]
    return f"{method} other"


def one_path(name: str, contacts: int, threshold: int, sample: float, tmp: Path) -> bool:
    """One backfill of `contacts` with `--bulk-threshold threshold`; prints its figures and
    answers whether every target held."""
    work = tmp / name
    work.mkdir()
    mappings = work / "mappings"
    mappings.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
    print(f"\n{name}: seeding {contacts:,} contacts ...", flush=True)
    with SandboxServer(make_seed(contacts), tls_dir=work / "tls") as server:
        env = {
            **os.environ,
            **sandbox_env(server.port, server.tls.directory),
            "LEADBRIDGE_DATABASE_URL": f"sqlite:///{work / 'state.db'}",
            "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
            "LEADBRIDGE_LOG_FORMAT": "json",
            "LEADBRIDGE_LOG_LEVEL": "warning",
        }
        journal = server.sandbox.journal
        mark = journal.last_seq()
        command = [str(LEADBRIDGE), "backfill", "--bulk-threshold", str(threshold)]
        started = time.perf_counter()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        process = subprocess.Popen(  # noqa: S603 - our own entry point
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=work,
        )
        memory = Memory(process.pid, sample)
        sampler = threading.Thread(target=memory.run, args=(process,), daemon=True)
        sampler.start()
        output, _ = process.communicate()
        seconds = time.perf_counter() - started
        sampler.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        mine = resource.getrusage(resource.RUSAGE_SELF)
        sandbox_cpu = mine.ru_utime + mine.ru_stime - own.ru_utime - own.ru_stime

        entries = [e for e in journal.entries(since=mark)]
        calls = Counter(e.api for e in entries)
        kinds = Counter((e.api, kind(e.api, e.method, e.path)) for e in entries)
        errors = Counter((e.api, e.status) for e in entries if e.status >= 300)
        leads = list(server.sandbox.org.records["Lead"].values())
        by_contact = Counter(
            lead["HubSpot_Contact_Id__c"] for lead in leads if lead.get("HubSpot_Contact_Id__c")
        )
        store = server.sandbox.portal.stores["contacts"]
        written_back = sum(
            1
            for i in range(contacts)
            if (record := store.get(str(FIRST_ID + i))) is not None
            and (record.props.get("salesforceleadid") or record.props.get("salesforcecontactid"))
        )
        jobs = sum(1 for e in entries if e.method == "POST" and e.path.endswith("/jobs/ingest"))

    customers = sum(1 for i in range(contacts) if i % CUSTOMER_EVERY == 7)
    want_leads = contacts - customers
    duplicates = sum(n - 1 for n in by_contact.values() if n > 1)
    per_k = 1000 / contacts
    rate = contacts / seconds * 3600
    rss = memory.samples or [0]
    sf_per_k = calls["salesforce"] * per_k
    print(f"{name}: leadbridge backfill --bulk-threshold {threshold:,} (exit {process.returncode})")
    print(
        f"  records: {contacts:,} in {seconds:.1f} s = {rate:,.0f} records/hour "
        "(target >= 1,000,000)"
    )
    print(
        f"  CPU: leadbridge {cpu:.0f} s ({contacts / max(cpu, 0.001) * 3600:,.0f} records per "
        f"CPU-hour), the sandbox (this process) {sandbox_cpu:.0f} s"
    )
    marks = ", ".join(
        f"{p} % {rss[min(len(rss) - 1, len(rss) * p // 100)] / 1024:.0f}" for p in (10, 50, 90)
    )
    print(
        f"  RSS (MiB): start {rss[0] / 1024:.0f}, peak {max(rss) / 1024:.0f}, end "
        f"{rss[-1] / 1024:.0f}; at {marks} of the run ({len(rss)} samples every {sample:g} s)"
    )
    target = " (target <= 1)" if name == "bulk" else ""
    print(f"  Salesforce calls: {calls['salesforce']:,} = {sf_per_k:.2f} per 1,000 records{target}")
    for (api, what), n in sorted(kinds.items()):
        if api == "salesforce":
            print(f"    {what}: {n:,}")
    print(
        f"  HubSpot calls: {calls['hubspot']:,} = {calls['hubspot'] * per_k:.2f} per 1,000 records"
    )
    for (api, what), n in sorted(kinds.items()):
        if api == "hubspot":
            print(f"    {what}: {n:,}")
    if jobs:
        print(f"  Bulk API 2.0 ingest jobs: {jobs}")
    print(
        f"  Leads made for contacts: {len(by_contact):,} of {want_leads:,} (the rest link to "
        f"a Contact); duplicates {duplicates}; ids written back to {written_back:,}"
    )
    if errors:
        print(f"  answers >= 300: {sorted(errors.items())}")
    report = [line for line in output.splitlines() if line.strip()]
    print("  report: " + " | ".join(line.strip() for line in report[-6:]))
    ok = (
        process.returncode == 0
        and duplicates == 0
        and len(by_contact) == want_leads
        and written_back == contacts
        and rate >= 1_000_000
        and (name != "bulk" or sf_per_k <= 1.0)
    )
    print(f"  {'all targets held' if ok else 'TARGET MISSED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--paths", default="collections,bulk", help="collections, bulk or both")
    parser.add_argument("--sample", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument(
        "--bulk-threshold", type=int, default=10_000, help="the Bulk path's --bulk-threshold"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    configure_logging("json", level="error")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in paths:
            threshold = args.contacts + 1 if name == "collections" else args.bulk_threshold
            ok = one_path(name, args.contacts, threshold, args.sample, Path(tmp)) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
