"""routing.yaml's users and queues against the org: the pure check (`check_routing`), what
`snapshot.fetch` reads for it (one Composite call, shared with the Lead statuses) and the cache."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.checks import snapshot as live
from connector.checks.routing import check_routing, owner_uses
from connector.checks.snapshot import (
    LiveSchema,
    Needs,
    RoutingOwners,
    SalesforceQueue,
    SalesforceUser,
    close_names,
)
from connector.checks.validate import needs
from connector.errors import ConfigError
from connector.files.loader import load_source
from connector.routing.config import RoutingConfig
from connector.routing.directory import config_refs
from connector.sandbox.app import Sandbox
from connector.sandbox.salesforce.soql import run
from connector.sandbox.seed import read_seed
from tests.unit.mapping_corpus.schema import sandbox_schema

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"
DEMO_SEED = Path(__file__).parents[2] / "connector" / "sandbox" / "seeds" / "demo.json"

ANNA = SalesforceUser("005000000000001AAA", "anna.berg@acme.test", active=True)
BO = SalesforceUser("005000000000002AAA", "bo.ek@acme.test", active=True)
FRED = SalesforceUser("005000000000003AAA", "fred.former@acme.test", active=False)
INBOUND = SalesforceQueue("00G000000000001AAA", "Inbound_Leads")

#: What a fetch for ROUTING found: who exists, and the close names of what does not.
OWNERS = RoutingOwners(
    users={
        "anna.berg@acme.test": ANNA,
        "bo.ek@acme.test": BO,
        "fred.former@acme.test": FRED,
        "ana.berg@acme.test": None,
        "005000000000003": FRED,  # ids by their 15-character form
        "005000000000002": BO,
        "005000000000009": None,
    },
    queues={"inbound_leads": INBOUND, "nordic_inbound": None, "global_team": None},
    close_users={"ana.berg@acme.test": ("anna.berg@acme.test",)},
    close_queues={"nordic_inbound": ("Nordics_Inbound", "EMEA_Inbound"), "global_team": ()},
)

ROUTING = """\
global:
  team_queue: Global_Team
rules:
  - name: nordics
    assign: {queue: Nordic_Inbound}
  - name: dach
    assign:
      users:
        - {user: Anna.Berg@acme.test, weight: 2}
        - {user: ana.berg@acme.test}
        - {user: fred.former@acme.test}
  - name: gone
    assign:
      users: [{user: fred.former@acme.test}, {user: 005000000000003AAA}]
  - name: by-id
    assign:
      users: [{user: 005000000000009AAA}, {user: 005000000000002}]
review: {user: fred.former@acme.test}
default:
  queue: inbound_leads
"""


def _at(text: str, needle: str, nth: int = 0) -> str:
    """`LINE:COL` (1-based) of the `nth` occurrence of `needle` in `text`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    return f"{line}:{start - (text.rfind(chr(10), 0, start) + 1) + 1}"


def _schema(owners: RoutingOwners | None = OWNERS) -> LiveSchema:
    return replace(sandbox_schema(), owners=owners)


def _routing(tmp_path: Path, text: str, schema: LiveSchema) -> list[str]:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    found = check_routing(load_source(path, RoutingConfig), schema)
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in found]


# -- the check ---------------------------------------------------------------------------------
def test_routing_yaml_against_the_org(tmp_path):
    """Each finding at the reference it is about: unknown users and queues are errors (a close
    active username or queue DeveloperName suggested, none for an id); an inactive round-robin
    user is a warning, and a rule whose users are all inactive says its leads go to default;
    an inactive review user is an error (Salesforce refuses it as a Lead's owner). Names are
    found without case, ids by their 15-character form, as the router finds them."""
    r = ROUTING
    assert _routing(tmp_path, r, _schema()) == [
        f"{_at(r, 'Global_Team')}: error: global.team_queue: no Salesforce queue 'Global_Team' "
        "(a DeveloperName or 00G… id)",
        f"{_at(r, 'Nordic_Inbound')}: error: rules.0.assign.queue: no Salesforce queue "
        "'Nordic_Inbound' (a DeveloperName or 00G… id); did you mean 'Nordics_Inbound'?",
        f"{_at(r, 'ana.berg')}: error: rules.1.assign.users.1.user: no Salesforce user "
        "'ana.berg@acme.test' (a Username or 005… id); did you mean 'anna.berg@acme.test'?",
        f"{_at(r, 'fred.former')}: warning: rules.1.assign.users.2.user: Salesforce user "
        "'fred.former@acme.test' is inactive: rule 'dach' skips it when taking turns",
        f"{_at(r, '[{user: fred')}: warning: rules.2.assign.users: none of rule 'gone''s users "
        "is active: its leads go to `default`",
        f"{_at(r, 'fred.former', 1)}: warning: rules.2.assign.users.0.user: Salesforce user "
        "'fred.former@acme.test' is inactive: rule 'gone' skips it when taking turns",
        f"{_at(r, '005000000000003AAA')}: warning: rules.2.assign.users.1.user: Salesforce user "
        "'005000000000003AAA' is inactive: rule 'gone' skips it when taking turns",
        f"{_at(r, '005000000000009AAA')}: error: rules.3.assign.users.0.user: no Salesforce user "
        "'005000000000009AAA' (a Username or 005… id)",
        f"{_at(r, 'fred.former', 2)}: error: review.user: Salesforce user "
        "'fred.former@acme.test' is inactive: Salesforce refuses an inactive user as a Lead's "
        "owner (INACTIVE_OWNER_OR_USER), so every lead sent to review would fail; name an "
        "active user or a queue",
    ]


def test_an_inactive_default_user_is_an_error_and_active_owners_are_fine(tmp_path):
    """default: an inactive user fails every lead nothing else picks up; active users and a
    known queue give no finding at all."""
    text = "rules:\n  - {name: a, assign: {users: [{user: bo.ek@acme.test}]}}\n"
    assert _routing(tmp_path, text + "default: {queue: Inbound_Leads}\n", _schema()) == []
    assert _routing(tmp_path, text + "default: {user: fred.former@acme.test}\n", _schema()) == [
        "3:17: error: default.user: Salesforce user 'fred.former@acme.test' is inactive: "
        "Salesforce refuses an inactive user as a Lead's owner (INACTIVE_OWNER_OR_USER), so "
        "every lead sent to default would fail; name an active user or a queue",
    ]


def test_owners_the_cache_did_not_look_up_are_warnings(tmp_path):
    """A cache fetched without routing.yaml (or before a name was added): each reference it
    cannot tell about is a warning at its line saying how to check it, never a guess."""
    text = "rules:\n  - {name: a, assign: {users: [{user: new.rep@acme.test}]}}\n"
    text += "default: {queue: Inbound_Leads}\n"
    unchecked = (
        "(a cache holds what the files named when it was fetched); run `leadbridge mappings "
        "validate` without --offline"
    )
    assert _routing(tmp_path, text, _schema()) == [
        f"{_at(text, 'new.rep')}: warning: rules.0.assign.users.0.user: not checked: the "
        f"schema has no Salesforce user 'new.rep@acme.test' {unchecked}",
    ]
    assert _routing(tmp_path, text, _schema(None)) == [
        f"{_at(text, 'new.rep')}: warning: rules.0.assign.users.0.user: not checked: the "
        f"schema has no Salesforce user 'new.rep@acme.test' {unchecked}",
        f"{_at(text, 'Inbound_Leads')}: warning: default.queue: not checked: the schema has no "
        f"Salesforce queue 'Inbound_Leads' {unchecked}",
    ]


def test_owner_uses_are_the_references_the_router_looks_up(tmp_path):
    """Every kind of reference routing.yaml has (review, default, the global team queue, a
    rule's queue, round-robin users) is checked: the same set `config_refs` gives the router,
    so a reference the router resolves cannot be left unchecked."""
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    config = load_source(path, RoutingConfig).model
    users, queues = config_refs(config)
    uses = owner_uses(config)
    assert sorted((u.kind, u.ref) for u in uses) == sorted(
        [("user", ref) for _, ref in users] + [("queue", ref) for _, ref in queues]
    )
    assert needs(routing=config) == Needs(
        users=tuple(dict.fromkeys(ref for _, ref in users)),
        queues=("inbound_leads", "Global_Team", "Nordic_Inbound"),
    )


def test_the_shipped_routing_yaml_names_users_and_queues():
    """What the shipped routing.yaml asks of the org: its four users and two queues."""
    config = load_source(REPO_MAPPINGS / "routing.yaml", RoutingConfig).model
    wanted = needs(routing=config)
    assert wanted.users == (
        "dorothea.brandt@acme-sales.test",
        "oliver.hughes@acme-sales.test",
        "samantha.reyes@acme-sales.test",
        "tyler.brooks@acme-sales.test",
    )
    assert wanted.queues == ("Inbound_Leads", "Nordics_Inbound")


def test_close_usernames_are_compared_by_their_local_part():
    """An org's usernames share a domain: a stranger's username must not look close to
    everyone's. A typo, a sandbox's suffix, a name without its domain are still found."""
    usernames = [
        "dora.dach@acme-sales.test",
        "dorothea.brandt@acme-sales.test",
        "samantha.reyes@acme-sales.test",
        "tyler.brooks@acme-sales.test",
    ]
    assert close_names("john.smith@acme-sales.test", usernames, by_local_part=True) == ()
    assert close_names("dorothea.brant@acme-sales.test", usernames, by_local_part=True) == (
        "dorothea.brandt@acme-sales.test",
    )
    assert close_names("tyler.brooks@acme-sales.test.uat", usernames, by_local_part=True) == (
        "tyler.brooks@acme-sales.test",
    )
    assert close_names("Samantha.Reyes", usernames, by_local_part=True) == (
        "samantha.reyes@acme-sales.test",
    )
    assert close_names("Nordic_Inbound", ["EMEA_Inbound", "Inbound_Leads", "Nordics_Inbound"]) == (
        "Nordics_Inbound",
        "EMEA_Inbound",
    )


# -- fetching and the cache ---------------------------------------------------------------------
class _Org:
    """A Salesforce of the demo seed, answered in-process by the sandbox's SOQL engine."""

    def __init__(self, *, many: bool = True) -> None:
        self.sandbox = Sandbox(seed=read_seed(DEMO_SEED))
        self.calls: list[tuple[str, object]] = []
        if many:
            self.query_many = self._query_many

    def describe(self, sobject: str) -> dict:
        from connector.sandbox.salesforce.rest_describe import describe

        self.calls.append(("describe", sobject))
        org = self.sandbox.org
        return describe(org, org.schema[sobject], "59.0", "https://x.test")

    def _rows(self, text: str) -> list[dict]:
        return [
            {k: v for k, v in r.items() if k != "attributes"}
            for r in run(self.sandbox.org, text).records
        ]

    def query(self, text: str) -> list[dict]:
        self.calls.append(("query", text))
        return self._rows(text)

    def _query_many(self, texts: list[str]) -> list[list[dict]]:
        self.calls.append(("query_many", tuple(texts)))
        return [self._rows(text) for text in texts]


class _HubSpot:
    def properties(self, object_type: str = "contacts") -> list[dict]:
        return [{"name": "email", "type": "string"}]

    def list_ids_by_name(self, names):
        raise AssertionError("no list is named")

    def lists(self, ids):
        raise AssertionError("no list is named")


def _ids(org: _Org) -> dict[str, str]:
    rows = org._rows("SELECT Id, Username FROM User") + org._rows(
        "SELECT Id, DeveloperName FROM Group"
    )
    return {str(r.get("Username") or r.get("DeveloperName")): str(r["Id"]) for r in rows}


def test_fetch_reads_the_owners_with_the_lead_statuses_in_one_composite_call(tmp_path):
    """The Lead statuses, the named users and queues, the active usernames and the queue names
    (for "did you mean") go in one `query_many` (one Composite call): no other query. The
    owners are resolved as the router resolves them (usernames without case, ids by their
    15-character form), the inactive user kept as such, and each unknown name keeps its close
    names only; the cache round-trips it."""
    org = _Org()
    ids = _ids(org)
    fredrik = ids["fredrik.holm@acme-sales.test"]
    users = (
        "Dorothea.Brandt@acme-sales.test",
        "dorothea.brant@acme-sales.test",
        fredrik[:15],
        "005000000000099AAA",
    )
    queues = ("Inbound_Leads", "Nordic_Inbound", ids["Nordics_Inbound"])
    wanted = Needs(lead_statuses=True, users=users, queues=queues)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    schema = live.fetch(org, _HubSpot(), needs=wanted, now=now)

    queries = [call for call in org.calls if call[0] != "describe"]
    assert len(queries) == 1 and queries[0][0] == "query_many"
    texts = queries[0][1]
    assert isinstance(texts, tuple) and len(texts) == 5
    assert texts[0] == "SELECT ApiName, MasterLabel, IsConverted FROM LeadStatus"
    assert "LIMIT 2000" in texts[2] and "LIMIT 2000" in texts[4]
    assert schema.lead_statuses is not None and len(schema.lead_statuses) == 4

    dorothea = SalesforceUser(
        ids["dorothea.brandt@acme-sales.test"], "dorothea.brandt@acme-sales.test", active=True
    )
    assert schema.owners == RoutingOwners(
        users={
            "dorothea.brandt@acme-sales.test": dorothea,
            fredrik[:15]: SalesforceUser(fredrik, "fredrik.holm@acme-sales.test", active=False),
            "005000000000099": None,
        }
        | {"dorothea.brant@acme-sales.test": None},
        queues={
            "inbound_leads": SalesforceQueue(ids["Inbound_Leads"], "Inbound_Leads"),
            "nordic_inbound": None,
            ids["Nordics_Inbound"][:15]: SalesforceQueue(ids["Nordics_Inbound"], "Nordics_Inbound"),
        },
        close_users={"dorothea.brant@acme-sales.test": ("dorothea.brandt@acme-sales.test",)},
        close_queues={"nordic_inbound": ("Nordics_Inbound",)},
    )
    path = tmp_path / "cache.json"
    live.save(schema, path)
    assert live.load(path) == schema


def test_fetch_without_query_many_or_names_reads_less():
    """Ids only: no look-up of names for suggestions; a gateway without `query_many` gets
    the queries one by one; without routing.yaml there is nothing to look up at all."""
    org = _Org(many=False)
    fredrik = _ids(org)["fredrik.holm@acme-sales.test"]
    schema = live.fetch(org, _HubSpot(), needs=Needs(lead_statuses=True, users=(fredrik,)))
    assert [c[0] for c in org.calls if c[0] != "describe"] == ["query", "query"]
    assert schema.owners is not None and schema.owners.close_users == {}
    assert schema.owners.users[fredrik[:15]] is not None
    assert live.fetch(_Org(), _HubSpot(), needs=Needs()).owners is None


def test_a_cache_of_the_previous_format_is_refused(tmp_path):
    """A format 2 cache (before routing.yaml's owners were added) is refused with the fix."""
    path = tmp_path / "cache.json"
    old = {**sandbox_schema().to_json(), "format": 2}
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown schema cache format 2.*without --offline"):
        live.load(path)
