"""The demo seed: it loads, it holds the advertised mix, and it is what its script generates."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.app import SandboxConfig
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.properties import _EMAIL as HUBSPOT_EMAIL
from connector.sandbox.salesforce.org import _EMAIL as SALESFORCE_EMAIL
from connector.sandbox.salesforce.org import INTEGRATION_USERNAME, Org
from connector.sandbox.seed import load_seed, read_seed

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "connector" / "sandbox" / "seeds" / "demo.json"
SCRIPT = ROOT / "scripts" / "make_demo_seed.py"
MQL = "marketingqualifiedlead"


@pytest.fixture(scope="module")
def loaded() -> tuple[Org, Portal]:
    return load_seed(read_seed(DEMO), SandboxConfig())


@pytest.fixture(scope="module")
def contacts(loaded: tuple[Org, Portal]) -> list[dict[str, str]]:
    return [record.props for record in loaded[1].stores["contacts"].records.values()]


def mql_emails(contacts: list[dict[str, str]]) -> set[str]:
    return {c["email"] for c in contacts if c.get("lifecyclestage") == MQL and c.get("email")}


def text_values(contacts: list[dict[str, str]]) -> list[str]:
    return [value for c in contacts for value in c.values()]


def test_committed_seed_is_what_the_script_generates(tmp_path: Path) -> None:
    """Rerunning the generator reproduces demo.json byte for byte (no hand edits, no drift)."""
    out = tmp_path / "demo.json"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes() == DEMO.read_bytes()


def test_contacts_span_the_lifecycle_stages(contacts: list[dict[str, str]]) -> None:
    """About 300 contacts, in the advertised shares of each lifecycle stage, all scored."""
    assert 280 <= len(contacts) <= 320
    stages = Counter(c["lifecyclestage"] for c in contacts)
    share = {stage: count / len(contacts) for stage, count in stages.items()}
    assert 0.15 <= share["subscriber"] <= 0.25
    assert 0.20 <= share["lead"] <= 0.30
    assert 0.30 <= share[MQL] <= 0.40
    assert 0.07 <= share["salesqualifiedlead"] <= 0.13
    assert 0.07 <= share["opportunity"] + share["customer"] <= 0.13
    assert set(stages) == {
        "subscriber",
        "lead",
        MQL,
        "salesqualifiedlead",
        "opportunity",
        "customer",
    }
    assert all(c.get("hubspotscore", "").isdigit() for c in contacts)


def test_contacts_are_named_in_many_scripts(contacts: list[dict[str, str]]) -> None:
    """Names come from many countries and writing systems, not only ASCII."""
    assert len({c.get("country") for c in contacts}) >= 15
    names = [c.get("firstname", "") + c.get("lastname", "") for c in contacts]

    def has(low: int, high: int) -> bool:
        return any(low <= ord(ch) <= high for name in names for ch in name)

    assert has(0x00C0, 0x017F)  # Latin with diacritics (Å, ü, ñ, ł)
    assert has(0x4E00, 0x9FFF)  # CJK ideographs
    assert has(0x3040, 0x30FF)  # Japanese kana
    assert has(0x0600, 0x06FF)  # Arabic
    assert any(ch in name for name in names for ch in "ðþÐÞ")  # Icelandic


def test_hostile_values_are_present(
    loaded: tuple[Org, Portal], contacts: list[dict[str, str]]
) -> None:
    """The strings a connector must survive are all in the seed, on MQL contacts."""
    mql = [c for c in contacts if c.get("lifecyclestage") == MQL]
    companies = {c.get("company", "") for c in mql}
    values = text_values(mql)
    assert "O'Reilly & Sons" in companies
    assert "Bobby'); DELETE FROM Lead;--" in companies
    assert any("\\" in v for v in companies)
    assert any("%" in v and "_" in v for v in companies)
    assert any(ord(ch) >= 0x1F300 for v in values for ch in v)  # emoji
    assert any(0x0600 <= ord(ch) <= 0x06FF for v in companies for ch in v)  # right-to-left
    assert any("\u202e" in v for v in values)  # a right-to-left override
    assert any("\u200b" in v for v in companies)  # zero-width space
    assert any("\n" in v for v in values)
    limit = loaded[0].schema["Lead"].fields["Company"].length
    assert limit == 255
    assert any(len(v) == 300 for v in companies)
    assert any(not c.get("lastname") for c in mql)
    assert any(not c.get("email") for c in mql)


def test_an_email_hubspot_accepts_and_salesforce_refuses(contacts: list[dict[str, str]]) -> None:
    """One MQL email passes HubSpot's check but fails Salesforce's (INVALID_EMAIL_ADDRESS)."""
    refused = [
        email
        for email in mql_emails(contacts)
        if HUBSPOT_EMAIL.match(email) and not SALESFORCE_EMAIL.match(email)
    ]
    assert refused == ["jürgen.groß@donauwelle-systeme.de"]


def test_existing_leads_match_mql_contacts_without_hubspot_ids(
    loaded: tuple[Org, Portal], contacts: list[dict[str, str]]
) -> None:
    """Salesforce already has leads for some MQL emails, not yet linked: to link, not duplicate."""
    leads = loaded[0].records["Lead"].values()
    matching = sorted(
        lead["Email"].lower() for lead in leads if lead["Email"].lower() in mql_emails(contacts)
    )
    assert matching == [
        "emma.johnson@soylentfoods.com",
        "haruto.sato@gmail.com",
        "lucas.martin@brioche.fr",
        "mia.schulz@umbrella-logistik.de",
    ]
    assert all(lead["HubSpot_Contact_Id__c"] is None for lead in leads)
    assert not any(lead["IsConverted"] for lead in leads)


def test_existing_contacts_share_emails_with_mql_contacts_in_another_case(
    loaded: tuple[Org, Portal], contacts: list[dict[str, str]]
) -> None:
    """Some MQL contacts are already customers: same email, different letter case."""
    emails = mql_emails(contacts)
    shared = [
        c["Email"] for c in loaded[0].records["Contact"].values() if c["Email"].lower() in emails
    ]
    assert sorted(shared) == [
        "Karin.Lund@GLOBEX.se",
        "OLA.NORDMANN@nordvik.no",
        "Peter.Gibbons@Initech.co.uk",
    ]
    assert all(email not in emails for email in shared)


def test_salesforce_org_has_reps_a_queue_and_a_global_hierarchy(loaded: tuple[Org, Portal]) -> None:
    """Users, roles, queues and accounts give routing something real to decide between."""
    records = loaded[0].records
    users = [u for u in records["User"].values() if u["Username"] != INTEGRATION_USERNAME]
    assert 6 <= sum(u["IsActive"] for u in users) <= 8
    assert sum(not u["IsActive"] for u in users) == 1
    assert 1 <= len(records["UserRole"]) <= 3
    assert any(g["Type"] == "Queue" for g in records["Group"].values())
    assert loaded[0].assignment_owner_id in records["Group"]

    accounts = records["Account"]
    assert 10 <= len(accounts) <= 14
    tops = [a for a in accounts.values() if a["Global_Account__c"]]
    assert len(tops) == 1 and tops[0]["ParentId"] is None
    depth = {a["Id"]: _depth(a, accounts) for a in accounts.values()}
    assert max(depth.values()) == 3
    deepest = next(a for a in accounts.values() if depth[a["Id"]] == 3)
    assert accounts[accounts[deepest["ParentId"]]["ParentId"]] is tops[0]
    assert sum(depth[a["Id"]] == 1 and not a["Global_Account__c"] for a in accounts.values()) >= 5
    assert 2 <= len(records["Opportunity"]) <= 4


def test_account_websites_match_contact_email_domains(
    loaded: tuple[Org, Portal], contacts: list[dict[str, str]]
) -> None:
    """Domain matching has work to do: many contacts' email domains are account websites."""
    websites = {
        a["Website"].removeprefix("https://").removeprefix("www.")
        for a in loaded[0].records["Account"].values()
        if a["Website"]
    }
    domains = Counter(c["email"].rpartition("@")[2] for c in contacts if c.get("email"))
    matched = {d for d in domains if d in websites}
    assert len(matched) >= 8
    assert sum(domains[d] for d in matched) >= 40


def test_hubspot_companies_have_associated_contacts(loaded: tuple[Org, Portal]) -> None:
    """8 to 12 companies, each associated with the contacts of its email domain."""
    portal = loaded[1]
    companies = portal.stores["companies"].records
    assert 8 <= len(companies) <= 12
    for company_id, company in companies.items():
        members = portal.company_contacts.get(company_id, [])
        assert members, company.props["name"]
        domain = company.props["domain"]
        for contact_id in members:
            email = portal.stores["contacts"].records[contact_id].props["email"]
            assert email.endswith("@" + domain)


def _depth(account: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> int:
    depth = 1
    while account["ParentId"]:
        account = accounts[account["ParentId"]]
        depth += 1
    return depth
