"""Crash and restart, counted: `leadbridge sync --once` killed (SIGKILL) at random moments over
a few thousand contacts, some converting, then run until it is quiet; then every promise is
checked through the two APIs (simple-salesforce and hubspot-api-client, not leadbridge's own
gateways) and the state store.

The sandbox runs in this process (it outlives every kill); each pass is a real `leadbridge`
process with lead.yaml and conversion.yaml as shipped and its own SQLite store. A third of the
contacts are sales qualified from the start; between kills marketing moves more to SQL (through
HubSpot's API), so conversions are in flight when the kills land. A pass is killed at its k-th
request (k drawn at random up to twice the requests a pass is known to make), on the request's
arrival (everything before it done, its state commits included) or once the sandbox served it
(the write made, its answer lost): so between any two calls of a pass. Prints:

- kills: how many passes were killed (and how many finished before their k-th request);
- Leads: contacts without a Lead, contacts with more than one (targets 0);
- conversion: SQL contacts not converted, Leads converted, opportunities, Accounts and Contacts
  made (targets: every SQL contact converted once, one of each per conversion);
- write-backs: HubSpot contacts missing a Salesforce id or the converted stage (target 0), and
  write-backs still owed and dead letters in the store (target 0).

Exit status 1 when a target is missed.

    .venv/bin/python bench/crash_restart.py [--contacts 3000] [--kills 25] [--seed 7]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
)

from connector.logging import configure_logging
from connector.sandbox.app import SandboxConfig
from connector.sandbox.env import sandbox_env, sandbox_salesforce
from connector.sandbox.server import SandboxServer
from connector.state.store import StateStore

MAPPINGS = Path(__file__).parents[1] / "mappings"
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"
FIRST_ID = 100_000
IDS_PROPERTIES = ["salesforcecontactid", "salesforceaccountid", "salesforceopportunityid"]


def make_seed(contacts: int) -> dict[str, Any]:
    """Contacts at MQL, every third one sales qualified already."""
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": str(FIRST_ID + i),
                    "properties": {
                        "email": f"person{i}@crash{i % 97}.example",
                        "firstname": f"First{i}",
                        "lastname": f"Last{i}",
                        "company": f"Crash Co {i % 97}",
                        "lifecyclestage": (
                            "salesqualifiedlead" if i % 3 == 0 else "marketingqualifiedlead"
                        ),
                    },
                }
                for i in range(contacts)
            ]
        }
    }


def hubspot(server: SandboxServer) -> HubSpot:
    token = server.sandbox.config.hubspot_token
    return HubSpot(access_token=token, host=server.url, ssl_ca_cert=str(server.ca_file))


def promote(client: HubSpot, ids: list[str]) -> None:
    """Marketing sets these contacts to SQL, 100 per batch call."""
    api = client.crm.contacts.batch_api
    for start in range(0, len(ids), 100):
        inputs = [
            {"id": cid, "properties": {"lifecyclestage": "salesqualifiedlead"}}
            for cid in ids[start : start + 100]
        ]
        api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))


class Killer:
    """WSGI middleware around the sandbox: SIGKILLs the pass being run at its k-th request,
    either on arrival (everything the pass did before that request is done, the request never
    served) or once served (its write made in the sandbox, the answer lost with the process)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.at = 0
        self.served_first = False
        self.seen = 0

    def arm(self, process: subprocess.Popen[str], at: int | None, *, served_first: bool) -> None:
        with self.lock:
            self.process, self.at, self.served_first, self.seen = process, at or 0, served_first, 0

    def disarm(self) -> int:
        with self.lock:
            self.process = None
            return self.seen

    def _kill(self) -> None:
        process = self.process
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/_sandbox"):
            return self.app(environ, start_response)
        with self.lock:
            self.seen += 1
            hit = self.process is not None and self.seen == self.at
        if hit and not self.served_first:
            self._kill()
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        body = b"".join(self.app(environ, start_response))
        if hit:
            self._kill()
        return [body]


def run_pass(env: dict[str, str], killer: Killer, kill_at: int | None) -> tuple[str, int]:
    """One `leadbridge sync --once`, killed at its `kill_at`-th request (None: never), on
    arrival or once served (at random): ("killed" | "ok" | "failed …", its requests)."""
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [str(LEADBRIDGE), "sync", "--once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    killer.arm(process, kill_at, served_first=bool(random.getrandbits(1)))
    _, err = process.communicate()
    calls = killer.disarm()
    if process.returncode == -signal.SIGKILL:
        return "killed", calls
    if process.returncode != 0:
        last = (err or "").strip().splitlines()[-1:] or [""]
        return f"failed {process.returncode}: {last[0][:200]}", calls
    return "ok", calls


def check(server: SandboxServer, database_url: str, ids: list[str]) -> dict[str, int]:
    """Every promise, through the APIs and the store: the figures, each with its target 0."""
    sf = sandbox_salesforce(server)
    leads = sf.query_all(
        "SELECT Id, HubSpot_Contact_Id__c, IsConverted, ConvertedContactId, ConvertedAccountId, "
        "ConvertedOpportunityId FROM Lead"
    )["records"]
    per_contact = Counter(lead["HubSpot_Contact_Id__c"] for lead in leads)
    lead_of = {lead["HubSpot_Contact_Id__c"]: lead for lead in leads}
    opportunities = {row["Id"] for row in sf.query_all("SELECT Id FROM Opportunity")["records"]}
    accounts = sf.query_all("SELECT Id FROM Account")["records"]
    contacts = sf.query_all("SELECT Id FROM Contact")["records"]
    converted = [lead for lead in leads if lead["IsConverted"]]

    shown: dict[str, dict[str, Any]] = {}
    api = hubspot(server).crm.contacts.batch_api
    names = ["lifecyclestage", "salesforceleadid", *IDS_PROPERTIES]
    for start in range(0, len(ids), 100):
        batch = BatchReadInputSimplePublicObjectId(
            inputs=[{"id": cid} for cid in ids[start : start + 100]], properties=names
        )
        for contact in api.read(batch).results:
            shown[contact.id] = contact.properties
    sql = [
        cid
        for cid in ids
        if shown[cid].get("lifecyclestage") in ("salesqualifiedlead", "opportunity")
    ]
    missing_writeback = sum(1 for cid in ids if not written_back(lead_of.get(cid), shown[cid]))
    with StateStore.open(database_url) as store:
        owed = len(store.owed_writebacks(limit=1_000_000))
        dead = len(store.dead_letters())
    return (
        {
            "contacts without a Lead": sum(1 for cid in ids if per_contact[cid] == 0),
            "contacts with several Leads": sum(1 for cid in ids if per_contact[cid] > 1),
            "SQL contacts not converted": sum(1 for cid in sql if not lead_of[cid]["IsConverted"]),
            "opportunities not of a converted Lead": len(
                opportunities - {lead["ConvertedOpportunityId"] for lead in converted}
            ),
            "converted Leads without an opportunity": sum(
                1 for lead in converted if lead["ConvertedOpportunityId"] not in opportunities
            ),
            "Accounts beyond one per conversion": len(accounts) - len(converted),
            "Contacts beyond one per conversion": len(contacts) - len(converted),
            "HubSpot contacts missing a write-back": missing_writeback,
            "write-backs still owed": owed,
            "dead letters": dead,
        },
        len(converted),
        len(sql),
    )


def written_back(lead: dict[str, Any] | None, shown: dict[str, Any]) -> bool:
    """Whether the contact shows its Lead's id and, once converted, what it became."""
    if lead is None or shown.get("salesforceleadid") != lead["Id"]:
        return False
    if not lead["IsConverted"]:
        return True
    became = [
        lead["ConvertedContactId"],
        lead["ConvertedAccountId"],
        lead["ConvertedOpportunityId"],
    ]
    return [shown.get(n) for n in IDS_PROPERTIES] == became and (
        shown.get("lifecyclestage") == "opportunity"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=25, help="passes to kill (at most)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the kill points")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    random.seed(args.seed)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # answers to killed passes
    configure_logging("json", level="error")
    started = time.monotonic()
    ids = [str(FIRST_ID + i) for i in range(args.contacts)]
    later = [cid for i, cid in enumerate(ids) if i % 3 == 1]  # promoted to SQL between kills
    rng.shuffle(later)

    with tempfile.TemporaryDirectory() as tmp:
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        for name in ("lead.yaml", "conversion.yaml"):
            shutil.copy(MAPPINGS / name, mappings / name)
        config = SandboxConfig(enforce_rate_limits=False)
        with SandboxServer(
            make_seed(args.contacts), tls_dir=Path(tmp) / "tls", config=config
        ) as server:
            database_url = f"sqlite:///{Path(tmp) / 'state.db'}"
            env = {
                **os.environ,
                **sandbox_env(server.port, server.tls.directory, config),
                "LEADBRIDGE_DATABASE_URL": database_url,
                "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
                "LEADBRIDGE_LOG_LEVEL": "error",
                "LEADBRIDGE_LOG_FORMAT": "json",
            }
            client = hubspot(server)
            killer = Killer(server._server.app)  # the bench wraps the sandbox
            server._server.app = killer
            outcomes: Counter[str] = Counter()
            # Kill points are drawn up to twice the requests a pass is known to make (the last
            # that finished, or the deepest kill yet), so they spread over whole passes.
            calls = 20
            for kill in range(args.kills):
                share = later[
                    kill * len(later) // args.kills : (kill + 1) * len(later) // args.kills
                ]
                promote(client, share)
                for _attempt in range(3):  # a pass that finishes first is tried again
                    kill_at = rng.randint(1, 2 * calls)
                    outcome, served = run_pass(env, killer, kill_at)
                    outcomes[outcome.split(":")[0]] += 1
                    if outcome.startswith("failed"):
                        print(f"  a pass failed: {outcome}")
                    if outcome == "killed":
                        calls = max(calls, kill_at)
                        break
                    calls = max(served, 1)
            settle = 0
            quiet = 0
            while quiet < 2 and settle < 10:  # until two passes in a row finish cleanly
                settle += 1
                outcome, _ = run_pass(env, killer, None)
                quiet = quiet + 1 if outcome == "ok" else 0
                if outcome != "ok":
                    print(f"  a settling pass failed: {outcome}")
            figures, converted, sql = check(server, database_url, ids)

    print(f"crash and restart: {args.contacts} contacts, {sql} sales qualified (seed {args.seed})")
    print(
        f"  passes killed {outcomes['killed']}, finished {outcomes['ok']}, failed "
        f"{sum(n for k, n in outcomes.items() if k.startswith('failed'))}; then {settle} passes "
        "to settle"
    )
    print(f"  Leads converted {converted}")
    missed = 0
    for name, value in figures.items():
        print(f"  {name}: {value} (target 0)")
        missed += value != 0
    print(f"  {time.monotonic() - started:.0f} s in all; targets missed: {missed}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
