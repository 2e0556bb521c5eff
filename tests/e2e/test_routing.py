"""Routing against the sandbox: global hierarchies, regional rules, cycles, hostile names, the
Salesforce call budget for a batch, and `leadbridge routing explain`."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.model import LeadUpsert
from connector.routing.router import Router, RoutingInput, load_routing
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.reads import SalesforceReads
from connector.sandbox.env import sandbox_env, sandbox_settings
from connector.sandbox.server import SandboxServer
from connector.settings import Settings

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
HOSTILE = 'O\'Neil "Quoted" Back\\slash 100% Ltd'


def _user(ref: str, first: str, last: str, **extra: Any) -> dict[str, Any]:
    username = f"{first}.{last}@acme-sales.test".lower()
    return {
        "Id": ref,
        "Username": username,
        "FirstName": first,
        "LastName": last,
        "Email": username,
        **extra,
    }


def seed(*, global_flag: bool = True, extra_accounts: list[dict[str, Any]] | None = None) -> dict:
    """Users and queues as the shipped routing.yaml names them, and a Globex hierarchy:
    Globex Sverige AB → Globex Nordics AB → Globex EMEA GmbH → Globex Corporation."""
    return {
        "salesforce": {
            "UserRole": [{"Id": "@role-global", "Name": "Global Account Director"}],
            "Group": [
                {
                    "Id": "@inbound",
                    "Name": "Inbound Leads",
                    "DeveloperName": "Inbound_Leads",
                    "Type": "Queue",
                },
                {
                    "Id": "@nordics",
                    "Name": "Nordics Inbound",
                    "DeveloperName": "Nordics_Inbound",
                    "Type": "Queue",
                },
            ],
            "User": [
                _user("@gad", "Greta", "Lindqvist", UserRoleId="@role-global"),
                _user("@nils", "Nils", "Nordstrom"),
                _user("@dora", "Dorothea", "Brandt"),
                _user("@olli", "Oliver", "Hughes"),
                _user("@sam", "Samantha", "Reyes"),
                _user("@tyler", "Tyler", "Brooks"),
            ],
            "Account": [
                {
                    "Id": "@globex",
                    "Name": "Globex Corporation",
                    "Website": "https://www.globex.com",
                    "Global_Account__c": global_flag,
                    "OwnerId": "@gad",
                    "BillingCountry": "United States",
                },
                {
                    "Id": "@emea",
                    "Name": "Globex EMEA GmbH",
                    "ParentId": "@globex",
                    "Website": "globex.de",
                    "OwnerId": "@dora",
                },
                {
                    "Id": "@nordic",
                    "Name": "Globex Nordics AB",
                    "ParentId": "@emea",
                    "Website": "globex-nordics.com",
                    "OwnerId": "@nils",
                },
                {
                    "Id": "@sweden",
                    "Name": "Globex Sverige AB",
                    "ParentId": "@nordic",
                    "Website": "https://globex.se",
                    "OwnerId": "@nils",
                    "BillingCountry": "Sweden",
                },
                {
                    "Id": "@loop-a",
                    "Name": "Loop A AB",
                    "ParentId": "@loop-b",
                    "Website": "loopa.se",
                },
                {
                    "Id": "@loop-b",
                    "Name": "Loop B AB",
                    "ParentId": "@loop-a",
                    "Website": "loopb.se",
                },
                {"Id": "@hostile", "Name": HOSTILE, "BillingCountry": "Ireland"},
                {"Id": "@decoy", "Name": "Zqaxbv Corp"},
                *(extra_accounts or []),
            ],
            "Opportunity": [
                {
                    "Name": "Globex EMEA expansion",
                    "AccountId": "@emea",
                    "StageName": "Negotiation/Review",
                    "CloseDate": "2027-03-31",
                    "OwnerId": "@dora",
                },
                {
                    "Name": "Globex renewal (won)",
                    "AccountId": "@globex",
                    "StageName": "Closed Won",
                    "CloseDate": "2026-01-31",
                    "OwnerId": "@olli",
                },
            ],
        },
        "hubspot": {
            "contacts": [
                {
                    "id": "101",
                    "properties": {
                        "email": "sven@globex.se",
                        "company": "Globex Sverige AB",
                        "country": "Sweden",
                        "lifecyclestage": "marketingqualifiedlead",
                    },
                }
            ]
        },
    }


def settings_for(server: SandboxServer) -> Settings:
    return sandbox_settings(server, mappings_dir=MAPPINGS)


def ids(server: SandboxServer, sobject: str, key: str = "Name") -> dict[str, str]:
    """Salesforce ids by name (Username for users, DeveloperName for queues)."""
    return {r[key]: r["Id"] for r in server.sandbox.org.records[sobject].values() if r.get(key)}


def calls_since(server: SandboxServer, seq: int) -> list[Any]:
    return server.sandbox.journal.entries(since=seq, api="salesforce")


class QuerySpy(SalesforceReads):
    """The gateway, keeping the SOQL texts of each call the Router makes (the journal does not
    show the queries a Composite call carries): its typed reads are the gateway's, over the
    gateway's `query` and `query_many`."""

    def __init__(self, gateway: SalesforceGateway) -> None:
        self.gateway = gateway
        self.calls: list[list[str]] = []

    def query(self, text: str) -> list[dict[str, Any]]:
        self.calls.append([text])
        return self.gateway.query(text)

    def query_many(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        self.calls.append(list(texts))
        return self.gateway.query_many(texts)

    def objects(self) -> list[list[str]]:
        """The object each query of each call read."""
        return [[re.search(r" FROM (\w+)", t).group(1) for t in texts] for texts in self.calls]  # type: ignore[union-attr]


def composite_calls(count: int) -> list[tuple[str, str]]:
    return [("POST", "/services/data/v59.0/composite")] * count


@pytest.fixture
def connect(
    sandbox: Callable[..., SandboxServer],
) -> Callable[..., tuple[SandboxServer, SalesforceGateway, int]]:
    """Seed the sandbox, log in; the journal position after the login."""

    def start(data: dict) -> tuple[SandboxServer, SalesforceGateway, int]:
        server = sandbox(data)
        gateway = SalesforceGateway.connect(settings_for(server))
        return server, gateway, server.sandbox.journal.last_seq()

    return start


def lead(hubspot_id: str, email: str, company: str, **facts: Any) -> RoutingInput:
    return RoutingInput(hubspot_id=hubspot_id, email=email, company=company, **facts)


def test_subsidiary_three_levels_under_a_global_parent_goes_to_the_global_owner(connect) -> None:
    """The global owner, the global flag and the matched account, written in one upsert."""
    server, gateway, seq = connect(seed())
    accounts, users = ids(server, "Account"), ids(server, "User", "Username")
    spy = QuerySpy(gateway)
    router = Router(load_routing(MAPPINGS), spy)

    decision = router.route([lead("101", "sven@globex.se", "Globex Sverige AB", country="Sweden")])[
        "101"
    ]

    gad = users["greta.lindqvist@acme-sales.test"]
    assert (decision.owner_id, decision.owner_kind, decision.global_lead) == (gad, "User", True)
    assert decision.matched_account_id == accounts["Globex Sverige AB"]
    assert decision.ultimate_parent_id == accounts["Globex Corporation"]
    assert [n["name"] for n in decision.explain["hierarchy"]] == [
        "Globex Sverige AB",
        "Globex Nordics AB",
        "Globex EMEA GmbH",
        "Globex Corporation",
    ]
    assert decision.watchers == (users["dorothea.brandt@acme-sales.test"],)  # the open one only
    # three API calls: the candidates (with the hierarchy), the opportunities, then the users
    # and the queues together
    assert [(e.method, e.path) for e in calls_since(server, seq)] == composite_calls(3)
    assert spy.objects() == [["Account"], ["Opportunity"], ["User", "Group"]]

    [result] = gateway.upsert_leads(
        [
            LeadUpsert(
                "101", {"LastName": "Sven", "Company": "Globex Sverige AB", **decision.lead_fields}
            )
        ]
    )
    assert result.success, result.reason
    written = server.sandbox.org.records["Lead"][result.salesforce_id]
    assert (written["OwnerId"], written["Global_Lead__c"], written["Matched_Account__c"]) == (
        gad,
        True,
        accounts["Globex Sverige AB"],
    )


def test_same_company_without_the_flag_goes_to_the_regional_queue(connect) -> None:
    """Without Global_Account__c, routing.yaml's nordics rule takes the Swedish lead."""
    server, gateway, _seq = connect(seed(global_flag=False))
    router = Router(load_routing(MAPPINGS), gateway)

    decision = router.route([lead("101", "sven@globex.se", "Globex Sverige AB", country="Sweden")])[
        "101"
    ]

    assert (decision.owner_id, decision.owner_kind) == (
        ids(server, "Group", "DeveloperName")["Nordics_Inbound"],
        "Group",
    )
    assert decision.global_lead is False
    assert decision.matched_account_id == ids(server, "Account")["Globex Sverige AB"]
    assert decision.rule.startswith("regional: rule 'nordics' (country in [Sweden, Norway")


def test_parent_id_cycle_ends_with_an_error_not_a_hang(connect) -> None:
    """Two accounts pointing at each other: the lead goes to review with the cycle named."""
    server, gateway, seq = connect(seed())
    accounts = ids(server, "Account")
    assert (
        server.sandbox.org.records["Account"][accounts["Loop A AB"]]["ParentId"]
        == (accounts["Loop B AB"])
    )
    spy = QuerySpy(gateway)
    router = Router(load_routing(MAPPINGS), spy)

    decision = router.route([lead("7", "anna@loopa.se", "Loop A AB", country="Sweden")])["7"]

    assert decision.owner_id == ids(server, "Group", "DeveloperName")["Inbound_Leads"]
    assert decision.global_lead is False
    assert decision.rule == (
        f"review: hierarchy of Loop A AB ({accounts['Loop A AB']}): ParentId cycle: "
        f"Loop A AB ({accounts['Loop A AB']}) → Loop B AB ({accounts['Loop B AB']}) → "
        f"Loop A AB ({accounts['Loop A AB']})"
    )
    assert [(e.method, e.path) for e in calls_since(server, seq)] == composite_calls(3)
    assert spy.objects() == [["Account"], ["Opportunity"], ["User", "Group"]]


def test_company_names_with_quotes_backslashes_and_percent_match_only_literally(connect) -> None:
    """Hostile names travel escaped: the literal account matches, a wildcard look-alike does
    not, and no query is refused."""
    server, gateway, seq = connect(seed())
    accounts = ids(server, "Account")
    spy = QuerySpy(gateway)
    router = Router(load_routing(MAPPINGS), spy)

    decisions = router.route(
        [
            lead("1", "kate@gmail.com", HOSTILE, country="Ireland"),
            lead("2", "joe@gmail.com", "Zq_x%v"),  # `_` and `%` as wildcards would find Zqaxbv
        ]
    )

    assert decisions["1"].matched_account_id == accounts[HOSTILE]
    assert [c["account_id"] for c in decisions["1"].explain["candidates"]] == [accounts[HOSTILE]]
    assert decisions["2"].matched_account_id is None
    assert decisions["2"].explain["candidates"] == []
    # a refused query would fail its Composite call (and the routing): none was
    assert all(e.status == 200 for e in calls_since(server, seq))
    [candidate_query] = spy.calls[0]
    assert "Name LIKE '%zq\\_x\\%v%'" in candidate_query  # escaped inside LIKE


def test_two_hundred_leads_cost_at_most_five_salesforce_calls(connect, capsys) -> None:
    """A batch of 200 leads (domains, subsidiaries, names, free mail) takes ≤ 5 API calls."""
    extra = []
    for n in range(50):
        extra.append({"Id": f"@p{n}", "Name": f"Parent Holding {n}", "Website": f"parent{n}.com"})
        extra.append(
            {
                "Id": f"@s{n}",
                "Name": f"Subsidiary {n} AB",
                "ParentId": f"@p{n}",
                "Website": f"sub{n}.se",
                "BillingCountry": "Sweden",
            }
        )
    server, gateway, seq = connect(seed(extra_accounts=extra))
    countries = ["Sweden", "Germany", "United Kingdom", "United States", "Brazil"]
    leads = [lead(f"g{i}", f"p{i}@globex.se", "Globex Sverige AB") for i in range(50)]
    leads += [lead(f"s{i}", f"p{i}@sub{i}.se", f"Subsidiary {i} AB") for i in range(50)]
    leads += [
        lead(f"f{i}", f"p{i}@gmail.com", f"Freelancer {i}", country=countries[i % 5])
        for i in range(50)
    ]
    leads += [lead(f"h{i}", f"p{i}@web.de", HOSTILE if i % 2 else "Loop B AB") for i in range(50)]
    spy = QuerySpy(gateway)
    router = Router(load_routing(MAPPINGS), spy)

    decisions = router.route(leads)

    sent = calls_since(server, seq)
    with capsys.disabled():
        print(f"\nrouting 200 leads: {len(sent)} Salesforce calls")
    assert len(decisions) == 200
    assert [(e.method, e.path) for e in sent] == composite_calls(3)
    assert spy.objects() == [["Account"], ["Opportunity"], ["User", "Group"]]
    # each query's subrequest URL stays within what a GET URI may hold
    urls = [f"/services/data/v59.0/query?{urlencode({'q': t})}" for c in spy.calls for t in c]
    assert all(len(url) < 16_384 for url in urls)
    accounts = ids(server, "Account")
    assert sum(d.global_lead for d in decisions.values()) == 50
    assert {decisions[f"s{i}"].ultimate_parent_id for i in range(50)} == {
        accounts[f"Parent Holding {i}"] for i in range(50)
    }
    assert all("ParentId cycle" in decisions[f"h{i}"].rule for i in range(0, 50, 2))


@pytest.fixture
def run_cli(sandbox_server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `leadbridge ARGS` in-process with settings pointing at the sandbox."""
    for key, value in sandbox_env(sandbox_server.port, sandbox_server.tls.directory).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", str(MAPPINGS))
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def test_routing_explain_prints_the_decision_path_and_writes_nothing(sandbox, run_cli) -> None:
    """`routing explain EMAIL` shows candidates, hierarchy, verdict, rule and owner; --json
    parses; neither writes to Salesforce or HubSpot."""
    server = sandbox(seed())
    accounts = ids(server, "Account")
    gad = ids(server, "User", "Username")["greta.lindqvist@acme-sales.test"]
    records = copy.deepcopy(server.sandbox.org.records)

    text = run_cli("routing", "explain", "Sven@Globex.se")
    as_json = run_cli("routing", "explain", "sven@globex.se", "--json")

    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == (
        "HubSpot contact 101: company 'Globex Sverige AB', email domain globex.se, country 'Sweden'"
    )
    assert lines[2].startswith(f"  1. Globex Sverige AB ({accounts['Globex Sverige AB']}): domain")
    assert f"chosen account: Globex Sverige AB ({accounts['Globex Sverige AB']})" in lines
    assert (
        f"         → Globex Corporation ({accounts['Globex Corporation']})  (ultimate parent)"
        in (lines)
    )
    assert "global: yes: ultimate parent Globex Corporation has Global_Account__c = true" in lines
    assert f"owner: Greta Lindqvist ({gad}), a user" in lines
    assert any(line.startswith("watcher: Dorothea Brandt") for line in lines)
    assert as_json.exit_code == 0, as_json.output
    record = json.loads(as_json.stdout)
    assert record["owner"] == {"id": gad, "kind": "User", "name": "Greta Lindqvist"}
    assert record["global"]["value"] is True
    assert record["lead_fields"]["Matched_Account__c"] == accounts["Globex Sverige AB"]
    # the Composite calls carry queries only: Salesforce's records are as they were
    writes = [
        e
        for e in server.sandbox.journal.entries()
        if e.method in WRITES and not e.path.endswith(("/token", "/search", "/composite"))
    ]
    assert writes == []
    assert server.sandbox.org.records == records


def test_routing_explain_unknown_email_fails_with_a_message(sandbox, run_cli) -> None:
    """No contact with that email: exit status 1 and one clear line."""
    sandbox(seed())

    result = run_cli("routing", "explain", "nobody@example.com")

    assert result.exit_code == 1
    assert "error: no HubSpot contact has the email 'nobody@example.com'" in result.output
