"""SOQL's lookups by a text field (`Email IN (...)`, `Email = '...'`) read an index the org
keeps (`Org.lookup`) instead of testing every record: they answer exactly what the full scan
answers, in the same order, while Leads are created, change email (case too), are deleted,
restored by a rolled-back transaction and have their LeadStatus picklist replaced."""

from __future__ import annotations

import random

from connector.sandbox.app import SandboxConfig
from connector.sandbox.salesforce.soql import run
from connector.sandbox.seed import load_seed


def _ids(org, where: str) -> list[str]:
    result = run(org, f"SELECT Id, Email FROM Lead WHERE {where}")  # noqa: S608 - test literals
    return [r["Id"] for r in result.records]


def test_lookups_answer_as_the_full_scan_after_random_writes():
    rng = random.Random(16)
    org = load_seed({"salesforce": {"Lead": []}}, SandboxConfig())[0]
    user = org.integration_user_id()
    emails = [f"p{i}@Example.test" for i in range(12)]

    def any_email() -> str:
        email = rng.choice(emails)
        return email.upper() if rng.random() < 0.3 else email

    for step in range(250):
        live = list(org.records["Lead"])
        action = rng.random()
        if action < 0.35 or not live:
            values = {"LastName": f"L{step}", "Company": "Co", "Email": any_email()}
            if rng.random() < 0.1:
                values.pop("Email")
            org.create("Lead", values, user)
        elif action < 0.65:
            org.update("Lead", rng.choice(live), {"Email": any_email()}, user)
        elif action < 0.8:
            org.delete("Lead", rng.choice(live))
        elif action < 0.95:
            with org.transaction() as tx:
                org.update("Lead", rng.choice(live), {"Email": any_email()}, user)
                org.delete("Lead", rng.choice(live))
                org.create("Lead", {"LastName": "Gone", "Company": "Co", "Email": "x@y.test"}, user)
                tx.rollback()
        else:
            org.set_lead_statuses((("Open", False, True), ("Done", True, False)))
        wanted = rng.sample(emails, rng.randrange(1, 4))
        listed = ", ".join(f"'{e.lower() if rng.random() < 0.5 else e}'" for e in wanted)
        for where in (
            f"Email IN ({listed})",
            f"Email = '{wanted[0]}'",
            f"IsConverted = false AND Email IN ({listed})",
        ):
            # An OR is never looked up: the same condition, every record tested.
            assert _ids(org, where) == _ids(org, f"({where}) OR Id = null"), (step, where)
        first = org.lead_statuses()[0]
        label = first["MasterLabel"]
        status = run(org, f"SELECT Id FROM LeadStatus WHERE MasterLabel = '{label}'")  # noqa: S608
        assert [r["Id"] for r in status.records] == [first["Id"]]
