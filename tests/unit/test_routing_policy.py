"""Routing policy: global hierarchies, ambiguity, regional rules, round-robin, default queue;
and the router's queries for a batch, against a fake Salesforce."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from connector.errors import MappingError
from connector.routing.config import RoutingConfig
from connector.routing.decision import Opportunity, RoutingDecision, RoutingInput
from connector.routing.directory import Directory, QueueInfo, UserInfo, check_config_refs
from connector.routing.explain import render_text
from connector.routing.hierarchy import AccountNode, Hierarchy
from connector.routing.match import Match
from connector.routing.policy import Policy, RoundRobin
from connector.routing.router import (
    Router,
    parse_employees,
    routing_input,
)
from connector.salesforce.reads import MAX_QUERY_URI_BYTES, SalesforceReads
from connector.state.store import StateStore

GAD = "005000000000001AAA"  # Greta, global account director
NILS = "005000000000002AAA"
DORA = "005000000000003AAA"
FRED = "005000000000004AAA"  # inactive
OLLI = "005000000000005AAA"
SAM = "005000000000006AAA"
INBOUND = "00G000000000001AAA"
NORDICS = "00G000000000002AAA"
REVIEW = "00G000000000003AAA"
GLOBAL_TEAM = "00G000000000004AAA"

USERS = [
    UserInfo(
        GAD, "Greta Lindqvist", "greta@acme.test", active=True, role="Global Account Director"
    ),
    UserInfo(NILS, "Nils Nordström", "nils@acme.test", active=True, role="Regional Sales Rep"),
    UserInfo(DORA, "Dorothea Brandt", "dora@acme.test", active=True, role="Regional Sales Rep"),
    UserInfo(FRED, "Fredrik Holm", "fred@acme.test", active=False, role="Regional Sales Rep"),
    UserInfo(OLLI, "Oliver Hughes", "olli@acme.test", active=True),
    UserInfo(SAM, "Samantha Reyes", "sam@acme.test", active=True),
]
QUEUES = [
    QueueInfo(INBOUND, "Inbound Leads", "Inbound_Leads"),
    QueueInfo(NORDICS, "Nordics Inbound", "Nordics_Inbound"),
    QueueInfo(REVIEW, "Lead Review", "Lead_Review"),
    QueueInfo(GLOBAL_TEAM, "Global Accounts", "Global_Accounts"),
]
DIRECTORY = Directory(USERS, QUEUES)


def acc(n: int) -> str:
    return f"001{n:012d}AAA"


GLOBEX, EMEA, NORDIC_SUB, SWEDEN_SUB = acc(1), acc(2), acc(3), acc(4)
INITECH, INITECH_SE = acc(10), acc(11)


def hierarchy(*nodes: AccountNode, error: str | None = None) -> Hierarchy:
    return Hierarchy(account_id=nodes[0].id, chain=nodes, error=error)


def node(account_id: str, name: str, parent: str | None, owner: str, **values: Any) -> AccountNode:
    return AccountNode(account_id, name, parent, owner, values)


def globex(*, flag: bool = True, account_type: str = "Customer - Direct") -> dict[str, Hierarchy]:
    """Globex Sweden AB → Globex Nordics AB → Globex EMEA GmbH → Globex Corporation."""
    top = node(GLOBEX, "Globex Corporation", None, GAD, Global_Account__c=flag, Type=account_type)
    emea = node(EMEA, "Globex EMEA GmbH", GLOBEX, DORA, Global_Account__c=False, Type=None)
    nordic = node(NORDIC_SUB, "Globex Nordics AB", EMEA, NILS, Global_Account__c=False, Type=None)
    sweden = node(SWEDEN_SUB, "Globex Sweden AB", NORDIC_SUB, NILS)
    return {
        SWEDEN_SUB: hierarchy(sweden, nordic, emea, top),
        NORDIC_SUB: hierarchy(nordic, emea, top),
    }


def initech() -> dict[str, Hierarchy]:
    top = node(INITECH, "Initech Ltd", None, OLLI, Global_Account__c=False)
    sub = node(INITECH_SE, "Initech Sverige AB", INITECH, NILS, Global_Account__c=False)
    return {INITECH_SE: hierarchy(sub, top), INITECH: hierarchy(top)}


def match(account_id: str, score: float = 100.0, tier: str = "domain") -> Match:
    return Match(account_id, tier, score, ("Email domain globex.se",), "domain matches")  # type: ignore[arg-type]


BASE: dict[str, Any] = {
    "rules": [
        {
            "name": "nordics",
            "when": {"country": ["Sweden", "Norway"]},
            "assign": {"queue": "Nordics_Inbound"},
        },
        {
            "name": "dach",
            "when": {"country": ["Germany"], "employees": {"min": 100}},
            "assign": {"users": [{"user": "dora@acme.test"}]},
        },
    ],
    "review": {"queue": "Lead_Review"},
    "default": {"queue": "Inbound_Leads"},
}


def config(**changes: Any) -> RoutingConfig:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return RoutingConfig.model_validate(data)


def lead(**facts: Any) -> RoutingInput:
    values = {"hubspot_id": "101", "email": "sven@globex.se", "company": "Globex Sweden AB"}
    return RoutingInput(**{**values, **facts})


def decide(
    cfg: RoutingConfig,
    routed: RoutingInput,
    matches: list[Match],
    hierarchies: dict[str, Hierarchy],
    opportunities: list[Opportunity] | None = None,
    round_robin: RoundRobin | None = None,
) -> RoutingDecision:
    names = {n.id: n.name for h in hierarchies.values() for n in h.chain}
    policy = Policy(cfg, DIRECTORY, round_robin or RoundRobin(), account_name=names.get)
    return policy.decide(routed, matches, hierarchies, opportunities or [])


# -- global ------------------------------------------------------------------------------------


def test_global_by_flag_goes_to_the_ultimate_parents_owner_never_a_regional_rule() -> None:
    """A subsidiary three levels under a flagged parent: its owner, marked global, matched."""
    decision = decide(config(), lead(country="Sweden"), [match(SWEDEN_SUB)], globex())

    assert (decision.owner_id, decision.owner_kind) == (GAD, "User")
    assert decision.global_lead is True
    assert (decision.matched_account_id, decision.ultimate_parent_id) == (SWEDEN_SUB, GLOBEX)
    assert decision.rule == (
        "global: ultimate parent Globex Corporation has Global_Account__c = true; "
        "owner of Globex Corporation"
    )
    assert decision.lead_fields == {
        "OwnerId": GAD,
        "Global_Lead__c": True,
        "Matched_Account__c": SWEDEN_SUB,
    }
    explain = decision.explain
    assert [n["name"] for n in explain["hierarchy"]] == [
        "Globex Sweden AB",
        "Globex Nordics AB",
        "Globex EMEA GmbH",
        "Globex Corporation",
    ]
    assert explain["ultimate_parent"]["id"] == GLOBEX
    assert explain["chosen_account"] == {"id": SWEDEN_SUB, "name": "Globex Sweden AB"}
    assert explain["global"]["value"] is True
    assert explain["owner"] == {"id": GAD, "kind": "User", "name": "Greta Lindqvist"}
    assert explain["lead"]["email_domain"] == "globex.se"
    assert "sven" not in str(explain)  # the audit payload holds the domain, not the address


def test_same_hierarchy_without_the_flag_goes_to_the_regional_rule() -> None:
    """Without Global_Account__c the lead follows the regional rules, matched but not global."""
    decision = decide(config(), lead(country="Sweden"), [match(SWEDEN_SUB)], globex(flag=False))

    assert (decision.owner_id, decision.owner_kind) == (NORDICS, "Group")
    assert decision.global_lead is False
    assert decision.rule == "regional: rule 'nordics' (country in [Sweden, Norway])"
    assert decision.lead_fields == {
        "OwnerId": NORDICS,
        "Global_Lead__c": False,
        "Matched_Account__c": SWEDEN_SUB,
    }
    assert decision.explain["global"]["reason"] == (
        "ultimate parent Globex Corporation has Global_Account__c = false, not true"
    )


def test_global_by_account_type() -> None:
    """`account_type` makes a hierarchy global by its ultimate parent's Type."""
    cfg = config(**{"global": {"when": [{"account_type": ["Customer - Direct"]}]}})

    direct = decide(cfg, lead(), [match(SWEDEN_SUB)], globex(flag=False))
    prospect = decide(cfg, lead(), [match(SWEDEN_SUB)], globex(flag=False, account_type="Prospect"))

    assert (direct.owner_id, direct.global_lead) == (GAD, True)
    assert direct.rule.startswith(
        "global: ultimate parent Globex Corporation has Type 'Customer - Direct', "
        "which is in [Customer - Direct]"
    )
    assert (prospect.owner_id, prospect.global_lead) == (INBOUND, False)
    assert prospect.rule == "default queue: no regional rule fits (country none, employees none)"


def test_global_by_owner_role() -> None:
    """`owner_role` makes a hierarchy global by the role of its ultimate parent's owner."""
    cfg = config(**{"global": {"when": [{"owner_role": ["global account director"]}]}})

    by_role = decide(cfg, lead(), [match(SWEDEN_SUB)], globex(flag=False))
    other = decide(cfg, lead(country="Sweden"), [match(INITECH_SE)], initech())

    assert (by_role.owner_id, by_role.global_lead) == (GAD, True)
    assert by_role.explain["global"]["reason"] == (
        "owner Greta Lindqvist of ultimate parent Globex Corporation has role "
        "'Global Account Director', which is in [global account director]"
    )
    assert (other.owner_id, other.global_lead) == (NORDICS, False)
    assert other.explain["global"]["reason"] == (
        "owner Oliver Hughes of ultimate parent Initech Ltd has role null, "
        "which is not in [global account director]"
    )


def test_global_team_queue_takes_global_leads() -> None:
    """With `team_queue`, global leads go to that queue instead of the parent's owner."""
    cfg = config(**{"global": {"team_queue": "Global_Accounts"}})

    decision = decide(cfg, lead(), [match(SWEDEN_SUB)], globex())

    assert (decision.owner_id, decision.owner_kind, decision.global_lead) == (
        GLOBAL_TEAM,
        "Group",
        True,
    )
    assert decision.rule.endswith("; the global-account team queue Global Accounts")


def test_global_lead_with_an_inactive_owner_goes_to_review_not_a_region() -> None:
    """Salesforce refuses inactive owners: the global lead goes to review, still global."""
    hierarchies = globex()
    top = hierarchies[SWEDEN_SUB].chain[-1]
    inactive_top = AccountNode(top.id, top.name, None, FRED, top.values)
    hierarchies[SWEDEN_SUB] = hierarchy(*hierarchies[SWEDEN_SUB].chain[:-1], inactive_top)

    decision = decide(config(), lead(country="Sweden"), [match(SWEDEN_SUB)], hierarchies)

    assert (decision.owner_id, decision.global_lead) == (REVIEW, True)
    assert decision.rule == (
        "review: ultimate parent Globex Corporation has Global_Account__c = true, "
        "but its owner Fredrik Holm is inactive or unknown"
    )


def test_open_opportunity_owners_in_the_hierarchy_are_watchers() -> None:
    """Owners of open opportunities on the hierarchy's accounts are watchers; others are not."""
    opportunities = [
        Opportunity("006000000000001AAA", GLOBEX, GAD),
        Opportunity("006000000000002AAA", EMEA, DORA),
        Opportunity("006000000000003AAA", NORDIC_SUB, GAD),
        Opportunity("006000000000004AAA", INITECH, OLLI),  # another hierarchy
    ]

    decision = decide(config(), lead(), [match(SWEDEN_SUB)], globex(), opportunities)

    assert decision.watchers == (GAD, DORA)
    assert decision.explain["watchers"] == [
        {
            "id": GAD,
            "name": "Greta Lindqvist",
            "opportunities": [
                {"id": "006000000000001AAA", "account_id": GLOBEX},
                {"id": "006000000000003AAA", "account_id": NORDIC_SUB},
            ],
        },
        {
            "id": DORA,
            "name": "Dorothea Brandt",
            "opportunities": [{"id": "006000000000002AAA", "account_id": EMEA}],
        },
    ]


# -- ambiguity and broken hierarchies ----------------------------------------------------------


def test_close_matches_in_different_hierarchies_go_to_review_never_a_guess() -> None:
    """Two matches within the margin in different hierarchies: the review queue, no account."""
    hierarchies = {**globex(), **initech()}
    matches = [match(SWEDEN_SUB, 96.0, "name"), match(INITECH_SE, 94.0, "name")]

    decision = decide(config(), lead(country="Sweden"), matches, hierarchies)

    assert (decision.owner_id, decision.matched_account_id) == (REVIEW, None)
    assert decision.global_lead is False
    assert decision.rule == (
        f"review: ambiguous between Globex Sweden AB ({SWEDEN_SUB}) [name 96] and "
        f"Initech Sverige AB ({INITECH_SE}) [name 94]"
    )
    assert decision.lead_fields["Matched_Account__c"] is None
    assert [c["account_id"] for c in decision.explain["candidates"]] == [SWEDEN_SUB, INITECH_SE]


def test_close_matches_in_one_hierarchy_or_outside_the_margin_are_not_ambiguous() -> None:
    """Same hierarchy within the margin, or another one beyond it: the best match stands."""
    hierarchies = {**globex(), **initech()}
    same = [match(SWEDEN_SUB, 96.0, "name"), match(NORDIC_SUB, 95.0, "name")]
    far = [match(SWEDEN_SUB, 96.0, "name"), match(INITECH_SE, 92.0, "name")]

    for matches in (same, far):
        decision = decide(config(), lead(), matches, hierarchies)
        assert (decision.owner_id, decision.matched_account_id) == (GAD, SWEDEN_SUB)


def test_broken_hierarchy_goes_to_review_with_the_reason_or_default_without_review() -> None:
    """A ParentId cycle routes the lead to review (default without one), naming the loop."""
    a = node(acc(20), "Loop A", acc(21), NILS)
    b = node(acc(21), "Loop B", acc(20), NILS)
    broken = {acc(20): hierarchy(a, b, error="ParentId cycle: Loop A → Loop B → Loop A")}

    reviewed = decide(config(), lead(country="Sweden"), [match(acc(20))], broken)
    defaulted = decide(config(review=None), lead(country="Sweden"), [match(acc(20))], broken)

    assert (reviewed.owner_id, reviewed.global_lead) == (REVIEW, False)
    assert reviewed.rule == (
        f"review: hierarchy of Loop A ({acc(20)}): ParentId cycle: Loop A → Loop B → Loop A"
    )
    assert reviewed.explain["hierarchy_error"] == "ParentId cycle: Loop A → Loop B → Loop A"
    assert defaulted.owner_id == INBOUND
    assert defaulted.rule.startswith("default queue: review (no review queue configured): ")


# -- regional rules and the default queue ------------------------------------------------------


def test_first_fitting_rule_wins_and_conditions_combine() -> None:
    """Rules are tried in order; country codes and names are one country; all conditions hold."""
    rules = [
        {
            "name": "se-tech",
            "when": {"country": ["SE"], "industry": ["Technology"], "employees": {"max": 499}},
            "assign": {"users": [{"user": NILS}]},
        },
        {"name": "sweden", "when": {"country": ["Sweden"]}, "assign": {"queue": "Nordics_Inbound"}},
        {"name": "ca", "when": {"state": ["CA", "California"]}, "assign": {"queue": INBOUND}},
    ]
    cfg = config(rules=rules)
    cases = {
        "se-tech": lead(country="Sverige", industry="technology", employees=200),
        "sweden": lead(country="Sweden", industry="Technology", employees=500),
        "ca": lead(country="United States", state="california"),
    }

    chosen = {
        name: decide(cfg, routed, [], {}).rule.split("'")[1] for name, routed in cases.items()
    }
    no_rule = decide(cfg, lead(country="Sweden", industry=None, employees=None), [], {})

    assert chosen == {"se-tech": "se-tech", "sweden": "sweden", "ca": "ca"}
    assert no_rule.rule == "regional: rule 'sweden' (country in [Sweden])"
    assert decide(cfg, cases["se-tech"], [], {}).rule == (
        "regional: rule 'se-tech' (country in [SE], industry in [Technology], employees 0-499)"
    )


def test_nothing_fits_goes_to_the_default_queue() -> None:
    """No match and no fitting rule: the default queue, not global, nothing matched; the rule
    says which of the lead's values no rule took."""
    decision = decide(config(), lead(email="x@gmail.com", country="Brazil"), [], {})

    assert (decision.owner_id, decision.owner_kind, decision.rule) == (
        INBOUND,
        "Group",
        "default queue: no regional rule fits (country 'Brazil', employees none)",
    )
    assert decision.lead_fields == {
        "OwnerId": INBOUND,
        "Global_Lead__c": False,
        "Matched_Account__c": None,
    }
    assert decision.explain["global"] == {
        "value": False,
        "reason": "no matching account",
        "flagged": False,
    }


def test_rule_whose_users_are_all_inactive_falls_to_the_default_queue() -> None:
    """A fitting rule with no active user cannot take the lead: the default, with the reason."""
    rules = [{"name": "gone", "assign": {"users": [{"user": "fred@acme.test"}]}}]

    decision = decide(config(rules=rules), lead(), [], {})

    assert decision.owner_id == INBOUND
    assert decision.rule == "default queue: rule 'gone' fits, but none of its users is active"


def test_lead_fields_left_out_when_routing_yaml_says_null() -> None:
    """An org without the custom fields: only OwnerId is written."""
    cfg = config(lead_fields={"global_flag": None, "matched_account": None})

    decision = decide(cfg, lead(), [match(SWEDEN_SUB)], globex())

    assert decision.lead_fields == {"OwnerId": GAD}


# -- round-robin -------------------------------------------------------------------------------

WEIGHTED = [
    {
        "name": "us",
        "assign": {
            "users": [
                {"user": "sam@acme.test", "weight": 3},
                {"user": "fred@acme.test", "weight": 5},  # inactive: skipped
                {"user": OLLI},
                {"user": "nils@acme.test"},
            ]
        },
    }
]


def test_weighted_round_robin_is_exact_and_deterministic_over_100_leads() -> None:
    """Weights 3:1:1 over the active users give exactly 60/20/20, in a fixed order."""
    cfg = config(rules=WEIGHTED)
    round_robin = RoundRobin()

    owners = [
        decide(cfg, lead(hubspot_id=str(i)), [], {}, round_robin=round_robin).owner_id
        for i in range(100)
    ]

    assert Counter(owners) == {SAM: 60, OLLI: 20, NILS: 20}
    assert owners[:10] == [SAM, OLLI, NILS, SAM, SAM, SAM, OLLI, NILS, SAM, SAM]
    again = RoundRobin()
    assert [decide(cfg, lead(), [], {}, round_robin=again).owner_id for _ in range(100)] == owners


def test_round_robin_turns_persist_in_the_state_store(tmp_path: Path) -> None:
    """Turns recorded in the store carry on in the next pass (a new RoundRobin), as increments."""
    cfg = config(rules=WEIGHTED)
    memory = RoundRobin()
    sequence = [decide(cfg, lead(), [], {}, round_robin=memory).owner_id for _ in range(10)]

    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        owners = []
        for _pass in range(2):  # two passes of five leads, a new RoundRobin each
            round_robin = RoundRobin(store)
            round_robin.begin()
            owners += [
                decide(cfg, lead(), [], {}, round_robin=round_robin).owner_id for _ in range(5)
            ]
            round_robin.commit()
        turns = store.next_turns("us")

    assert owners == sequence
    assert turns == {SAM: 6, OLLI: 2, NILS: 2}


def test_returning_user_catches_up_without_taking_a_burst() -> None:
    """A user back after 50 leads went to the other takes two extra turns, then alternates."""
    cfg = config(rules=[{"name": "pair", "assign": {"users": [{"user": SAM}, {"user": OLLI}]}}])
    round_robin = RoundRobin()
    for _ in range(50):
        round_robin.pick("pair", [(SAM, 1)])

    owners = [decide(cfg, lead(), [], {}, round_robin=round_robin).owner_id for _ in range(6)]

    assert owners == [OLLI, OLLI, SAM, OLLI, SAM, OLLI]


def test_turns_of_a_batch_that_failed_are_not_kept() -> None:
    """A batch that raises takes no turns: the next batch starts where the last good one ended."""
    members = [(SAM, 1), (OLLI, 1)]
    round_robin = RoundRobin()
    assert round_robin.pick("pair", members) == SAM
    round_robin.commit()

    assert round_robin.pick("pair", members) == OLLI
    round_robin.discard()

    assert round_robin.pick("pair", members) == OLLI


# -- configuration against Salesforce ----------------------------------------------------------


def test_unknown_users_and_queues_in_routing_yaml_are_all_reported() -> None:
    """Every user and queue Salesforce lacks is named with where routing.yaml names it."""
    cfg = config(
        rules=[
            {"name": "x", "assign": {"users": [{"user": "nobody@acme.test"}, {"user": GAD}]}},
            {"name": "y", "assign": {"queue": "No_Such_Queue"}},
        ],
        default={"queue": "Missing_Default"},
    )

    with pytest.raises(MappingError) as caught:
        check_config_refs(cfg, DIRECTORY)

    assert str(caught.value).splitlines() == [
        "routing.yaml: rules[x].assign.users: no Salesforce user 'nobody@acme.test' "
        "(a Username or 005… id)",
        "routing.yaml: default: no Salesforce queue 'Missing_Default' (a DeveloperName or 00G… id)",
        "routing.yaml: rules[y].assign.queue: no Salesforce queue 'No_Such_Queue' "
        "(a DeveloperName or 00G… id)",
    ]


@pytest.mark.parametrize(
    ("raw", "count"),
    [("250", 250), ("25-50", 25), ("10,000+", 10000), ("1000+", 1000), ("", None), ("n/a", None)],
)
def test_employee_counts_from_hubspot_ranges(raw: str, count: int | None) -> None:
    """HubSpot's `numemployees` ranges are read by their lower bound."""
    assert parse_employees(raw) == count


# -- the router's queries ----------------------------------------------------------------------


class FakeSalesforce(SalesforceReads):
    """Answers queries by the object they read; records every text. Its typed reads are the
    gateway's, so the texts are those the gateway sends."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.sent: list[str] = []

    def query(self, text: str) -> list[dict[str, Any]]:
        self.sent.append(text)
        source = text.split(" FROM ")[1].split(" ")[0]
        return copy.deepcopy(self.answers[source])


def _account_row(
    account_id: str, name: str, website: str, parent: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "Id": account_id,
        "Name": name,
        "ParentId": None,
        "OwnerId": NILS,
        "Global_Account__c": False,
        "Website": website,
        "BillingCountry": "Sweden",
        "Parent": parent,
    }


class BatchingSalesforce(FakeSalesforce):
    """A fake Salesforce with `query_many` too; records the texts of each call."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(answers)
        self.calls: list[list[str]] = []

    def query(self, text: str) -> list[dict[str, Any]]:
        self.calls.append([text])
        return super().query(text)

    def query_many(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        self.calls.append(list(texts))
        return [FakeSalesforce.query(self, text) for text in texts]


def _globex_answers() -> dict[str, list[dict[str, Any]]]:
    """Globex Nordics AB (globex.se) under the global Globex Corporation, an open opportunity
    on the parent, the users and queues routing needs."""
    top = {
        "Name": "Globex Corporation",
        "ParentId": None,
        "OwnerId": GAD,
        "Global_Account__c": True,
        "Parent": None,
    }
    sub = _account_row(NORDIC_SUB, "Globex Nordics AB", "https://globex.se", top)
    sub["ParentId"] = GLOBEX
    return {
        "Account": [sub],
        "Opportunity": [{"Id": "006000000000001AAA", "OwnerId": GAD, "AccountId": GLOBEX}],
        "User": [
            {
                "Id": GAD,
                "Name": "Greta Lindqvist",
                "Username": "greta@acme.test",
                "IsActive": True,
                "UserRole": {"Name": "Global Account Director"},
            },
            {
                "Id": DORA,
                "Name": "Dorothea Brandt",
                "Username": "dora@acme.test",
                "IsActive": True,
                "UserRole": None,
            },
        ],
        "Group": [{"Id": q.id, "Name": q.name, "DeveloperName": q.developer_name} for q in QUEUES],
    }


def _globex_leads() -> list[RoutingInput]:
    return [
        lead(hubspot_id=str(100 + i), email=f"p{i}@globex.se", country="Sweden") for i in range(3)
    ] + [lead(hubspot_id="200", email="x@gmail.com", company="", country="Norway")]


def test_router_routes_a_batch_in_four_queries_and_reads_nothing_twice() -> None:
    """Candidates (with five hierarchy levels), opportunities, users, queues: one query each;
    a second batch of the same pass reads only the candidates again."""
    sf = FakeSalesforce(_globex_answers())
    router = Router(config(), sf)

    decisions = router.route(_globex_leads())

    assert len(sf.sent) == 4
    candidates, opportunities, users, queues = sf.sent
    levels = ("", "Parent.", "Parent.Parent.", "Parent.Parent.Parent.", "Parent." * 4)
    fields = ", ".join(
        f"{p}{n}" for p in levels for n in ("Name", "ParentId", "OwnerId", "Global_Account__c")
    )
    head = f"SELECT Id, {fields}, Website, BillingCountry FROM Account "  # noqa: S608
    assert candidates.startswith(head)
    assert "Website LIKE '%globex.se%'" in candidates
    assert opportunities == (
        "SELECT Id, OwnerId, AccountId FROM Opportunity WHERE IsClosed = false "  # noqa: S608
        f"AND AccountId IN ('{GLOBEX}','{NORDIC_SUB}')"
    )
    assert users == (
        "SELECT Id, Name, Username, IsActive, UserRole.Name FROM User "  # noqa: S608
        f"WHERE Id IN ('{GAD}') OR Username IN ('dora@acme.test')"
    )
    assert queues == (
        "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue' "
        "AND DeveloperName IN ('Inbound_Leads','Lead_Review','Nordics_Inbound')"
    )
    assert {k: (d.owner_id, d.global_lead) for k, d in decisions.items()} == {
        "100": (GAD, True),
        "101": (GAD, True),
        "102": (GAD, True),
        "200": (NORDICS, False),
    }
    assert decisions["100"].watchers == (GAD,)
    assert router.names[GLOBEX] == "Globex Corporation"

    router.route([lead(hubspot_id="300", email="q@globex.se")])

    assert len(sf.sent) == 5 and " FROM Account " in sf.sent[4]


def test_router_sends_independent_queries_together() -> None:
    """With `query_many`, a batch costs three calls: the candidate queries, the opportunities,
    then the users and the queues together; the same queries as one at a time, same decisions."""
    plain, batching = FakeSalesforce(_globex_answers()), BatchingSalesforce(_globex_answers())

    expected = Router(config(), plain).route(_globex_leads())
    decisions = Router(config(), batching).route(_globex_leads())

    candidates, opportunities, users, queues = plain.sent
    assert batching.calls == [[candidates], [opportunities], [users, queues]]
    assert decisions == expected


def test_router_sends_the_candidate_queries_of_a_large_batch_in_one_call() -> None:
    """200 leads at distinct companies need two candidate queries (each within what a request
    URI holds): they go in one `query_many` call; with no account matched, no opportunity is
    read, and the users and queues take the second call."""
    batching = BatchingSalesforce(_globex_answers())
    leads = [
        lead(
            hubspot_id=str(i),
            email=f"someone@verylongcompanyname{i:03d}-holding.se",
            company=f"Verylongcompanyname {i:03d} Holding AB",
        )
        for i in range(200)
    ]

    Router(config(), batching).route(leads)

    candidates, directory = batching.calls
    assert len(candidates) == 2
    assert all(" FROM Account WHERE " in text for text in candidates)
    assert all(len(urlencode({"q": text})) <= MAX_QUERY_URI_BYTES for text in candidates)
    assert all(f"'%verylongcompanyname{i:03d}-holding.se%'" in candidates[0] for i in range(200))
    assert [text.split(" FROM ")[1].split(" ")[0] for text in directory] == ["User", "Group"]


LUMBEXIA = acc(20)


def _lumbexia_answers() -> dict[str, list[dict[str, Any]]]:
    """Lumbexia (website lumbexia.com, more domains in Domains__c), a global account."""
    row = _account_row(LUMBEXIA, "Lumbexia Oy", "http://lumbexia.com/", None)
    row.update(
        OwnerId=GAD,
        Global_Account__c=True,
        Domains__c="lumbexia.no\nhttps://www.lumbexia.fi/en; lumbexia.dk",
    )
    answers = _globex_answers()
    answers.update(Account=[row], Opportunity=[])
    return answers


def test_router_searches_and_reads_the_configured_domain_fields() -> None:
    """With `domain_fields: [Website, Domains__c]` the candidate query searches and selects
    both, and a lead at a domain Domains__c lists matches its account by domain."""
    sf = FakeSalesforce(_lumbexia_answers())
    cfg = config(matching={"domain_fields": ["Website", "Domains__c"]})

    decision = Router(cfg, sf).route([lead(email="aino@lumbexia.fi", company="")])["101"]

    levels = ("", "Parent.", "Parent.Parent.", "Parent.Parent.Parent.", "Parent." * 4)
    fields = ", ".join(
        f"{p}{n}" for p in levels for n in ("Name", "ParentId", "OwnerId", "Global_Account__c")
    )
    assert sf.sent[0] == (
        f"SELECT Id, {fields}, Website, Domains__c, BillingCountry FROM Account "  # noqa: S608
        "WHERE Website LIKE '%lumbexia.fi%' OR Domains__c LIKE '%lumbexia.fi%'"
    )
    assert (decision.matched_account_id, decision.owner_id, decision.global_lead) == (
        LUMBEXIA,
        GAD,
        True,
    )
    assert decision.explain["candidates"][0]["fields"] == [
        "Email domain lumbexia.fi",
        "Account domain lumbexia.fi",
    ]


def test_router_reads_no_domain_field_it_is_not_given() -> None:
    """With the default `domain_fields: [Website]`, Domains__c is neither searched nor read:
    the lead at lumbexia.fi matches nothing and goes to the default queue."""
    sf = FakeSalesforce(_lumbexia_answers())

    decision = Router(config(), sf).route([lead(email="aino@lumbexia.fi", company="")])["101"]

    assert sf.sent[0].endswith(
        ", Website, BillingCountry FROM Account WHERE Website LIKE '%lumbexia.fi%'"
    )
    assert (decision.matched_account_id, decision.owner_id) == (None, INBOUND)


def test_routing_input_reads_the_properties_routing_yaml_names() -> None:
    """A HubSpot contact becomes a RoutingInput by the `hubspot` property names."""
    from datetime import UTC, datetime

    from connector.model import HubSpotContact

    contact = HubSpotContact(
        id="7",
        properties={
            "email": " Sven@Globex.se ",
            "company": "Globex",
            "country": "Sweden",
            "state": "",
            "numemployees": "25-50",
            "industry": None,
        },
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert routing_input(contact, config()) == RoutingInput(
        hubspot_id="7",
        email="Sven@Globex.se",
        company="Globex",
        country="Sweden",
        state=None,
        employees=25,
        industry=None,
    )


def test_render_text_prints_the_decision_path() -> None:
    """The explain text shows candidates, the chain, the global verdict, rule and owner."""
    decision = decide(config(), lead(country="Sweden"), [match(SWEDEN_SUB)], globex())

    text = render_text(decision)

    assert text.splitlines() == [
        "HubSpot contact 101: company 'Globex Sweden AB', email domain globex.se, country 'Sweden'",
        "candidates:",
        f"  1. Globex Sweden AB ({SWEDEN_SUB}): domain, score 100 [Email domain globex.se]: "
        "domain matches",
        f"chosen account: Globex Sweden AB ({SWEDEN_SUB})",
        f"hierarchy: Globex Sweden AB ({SWEDEN_SUB})",
        f"         → Globex Nordics AB ({NORDIC_SUB})",
        f"         → Globex EMEA GmbH ({EMEA})",
        f"         → Globex Corporation ({GLOBEX})  (ultimate parent)",
        "global: yes: ultimate parent Globex Corporation has Global_Account__c = true",
        "rule: global: ultimate parent Globex Corporation has Global_Account__c = true; "
        "owner of Globex Corporation",
        f"owner: Greta Lindqvist ({GAD}), a user",
        f"Lead fields: OwnerId = '{GAD}', Global_Lead__c = true, "
        f"Matched_Account__c = '{SWEDEN_SUB}'",
    ]
