"""How fast the sandbox starts and serves, so benchmarks of leadbridge measure leadbridge.

Prints: start-up time with 10,000 seeded HubSpot contacts (and 2,000 Salesforce leads), and the
time to serve a 200-record sObject Collections upsert and a 200-contact HubSpot search page
(median and worst of several runs, over HTTPS on loopback with a kept-alive connection).

    .venv/bin/python bench/sandbox_speed.py [--contacts 10000] [--runs 20]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

import requests

from connector.sandbox.env import sandbox_login
from connector.sandbox.server import SandboxServer

API = "/services/data/v59.0"


def make_seed(contacts: int, leads: int) -> dict:
    stages = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead"]
    return {
        "hubspot": {
            "contacts": [
                {
                    "id": str(1000 + i),
                    "properties": {
                        "email": f"person{i}@company{i % 997}.example",
                        "firstname": f"First{i}",
                        "lastname": f"Last{i}",
                        "company": f"Company {i % 997}",
                        "lifecyclestage": stages[i % len(stages)],
                        "hubspotscore": str(i % 100),
                    },
                }
                for i in range(contacts)
            ]
        },
        "salesforce": {
            "Lead": [
                {
                    "LastName": f"Seeded{i}",
                    "Company": f"Company {i % 997}",
                    "Email": f"seeded{i}@company{i % 997}.example",
                    "HubSpot_Contact_Id__c": f"seed-{i}",
                }
                for i in range(leads)
            ]
        },
    }


def timed(call, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    seed = make_seed(args.contacts, args.leads)
    with tempfile.TemporaryDirectory() as tls_dir:
        started = time.perf_counter()
        server = SandboxServer(seed, tls_dir=tls_dir).start()
        session = requests.Session()
        session.trust_env = False
        session.verify = str(server.ca_file)
        session.get(f"{server.url}/_sandbox/health", timeout=10).raise_for_status()
        startup = time.perf_counter() - started
        server.sandbox.config.enforce_rate_limits = False
        try:
            config = server.sandbox.config
            token = sandbox_login(server)["access_token"]
            sf_headers = {"Authorization": f"Bearer {token}"}
            run = iter(range(10**9))

            def upsert() -> None:
                n = next(run)
                body = {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "Lead"},
                            "HubSpot_Contact_Id__c": f"b{n % 3}-{i}",
                            "LastName": f"Bench {n}",
                            "Company": "Bench Co",
                            "Email": f"bench{i}@bench.example",
                        }
                        for i in range(200)
                    ],
                }
                response = session.patch(
                    f"{server.url}{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c",
                    json=body,
                    headers=sf_headers,
                    timeout=10,
                )
                response.raise_for_status()
                assert all(r["success"] for r in response.json())

            def search() -> None:
                response = session.post(
                    f"{server.url}/crm/v3/objects/contacts/search",
                    json={
                        "filterGroups": [
                            {
                                "filters": [
                                    {
                                        "propertyName": "lifecyclestage",
                                        "operator": "EQ",
                                        "value": "marketingqualifiedlead",
                                    }
                                ]
                            }
                        ],
                        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                        "properties": ["email", "lifecyclestage"],
                        "limit": 200,
                    },
                    headers={"Authorization": f"Bearer {config.hubspot_token}"},
                    timeout=10,
                )
                response.raise_for_status()

            upsert()  # warm up: first creates
            up_median, up_worst = timed(upsert, args.runs)
            search()
            se_median, se_worst = timed(search, args.runs)
        finally:
            server.stop()

    print(
        f"sandbox start-up with {args.contacts:,} contacts and {args.leads:,} leads: "
        f"{startup:.2f} s (target < 2 s)"
    )
    print(
        f"collections upsert, 200 Leads: median {up_median:.1f} ms, worst {up_worst:.1f} ms "
        f"over {args.runs} runs (target < 100 ms)"
    )
    print(
        f"HubSpot search, 200 of {args.contacts:,} contacts: median {se_median:.1f} ms, "
        f"worst {se_worst:.1f} ms over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
