"""Accuracy of routing on the labelled cases of `bench/routing_cases/` (issue 5).

    .venv/bin/python bench/routing_accuracy.py [--cases DIR] [--batch 200] [--list]

The account universe is loaded into a sandbox org; the leads go through routing as the sync runs
it, in batches: `candidate_keys` → `candidate_soql` → the sandbox's SOQL engine → `match_lead`.
Prints, per metric:

- account match: precision and recall (a case is right when the chosen account is the expected
  one; a wrong account is a false positive; no answer, or an ambiguous one, when an account was
  expected is a miss), per variant kind, and every miss and false positive with `--list`;
- candidate fetch: how many SOQL queries a batch costs, the rows they return, and how often the
  expected account is among them.

Target (issue 5): precision ≥ 0.99 at recall ≥ 0.95.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.routing.match import (
    AccountCandidate,
    LeadFacts,
    Match,
    MatchConfig,
    candidate_keys,
    candidate_soql,
    contenders,
    match_lead,
)
from connector.sandbox.app import SandboxConfig
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.soql import run
from connector.sandbox.seed import load_seed

CASES = Path(__file__).resolve().parent / "routing_cases"
#: The fields routing reads from a candidate account.
FIELDS = ("Id", "AccountNumber", "Name", "Website", "BillingCountry", "ParentId", "OwnerId")


# -- the labelled set --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One labelled lead."""

    id: str
    kind: str
    lead: LeadFacts
    expected: str | None
    expected_ultimate_parent: str | None
    expected_global: bool | None
    note: str


@dataclass
class Universe:
    """The account universe of the cases, and the sandbox org holding it."""

    accounts: dict[str, dict[str, Any]]
    users: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    org: Org
    sandbox_ids: dict[str, str] = field(default_factory=dict)  # sandbox Id → universe id

    def ultimate_parent(self, account_id: str) -> str:
        seen: set[str] = set()
        while (parent := self.accounts[account_id].get("parent_id")) and account_id not in seen:
            seen.add(account_id)
            account_id = parent
        return account_id


def load_cases(directory: Path = CASES) -> list[Case]:
    cases = []
    for line in (directory / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        cases.append(
            Case(
                row["id"],
                row["kind"],
                LeadFacts(row["email"], row["company"], row["country"]),
                row["expected_account_id"],
                row["expected_ultimate_parent_id"],
                row["expected_global"],
                row["note"],
            )
        )
    return cases


def load_universe(directory: Path = CASES) -> Universe:
    """The universe from `accounts.json`, loaded into a sandbox org (`AccountNumber` carries the
    universe id, so that fetched rows map back to the labels)."""
    data = json.loads((directory / "accounts.json").read_text(encoding="utf-8"))
    accounts = {a["id"]: a for a in data["accounts"]}
    org, _ = load_seed(to_seed(data), SandboxConfig())
    universe = Universe(accounts, data["users"], data["roles"], org)
    for record in org.records["Account"].values():
        universe.sandbox_ids[record["Id"]] = record["AccountNumber"]
    return universe


def to_seed(data: dict[str, Any]) -> dict[str, Any]:
    """A sandbox seed holding the universe's roles, users and accounts."""
    roles = [{"Id": "@" + r["Id"], "Name": r["Name"]} for r in data["roles"]]
    users = [
        {
            "Id": "@" + u["Id"],
            "Username": u["Username"],
            "FirstName": u["FirstName"],
            "LastName": u["LastName"],
            "Email": u["Email"],
            "UserRoleId": "@" + u["UserRoleId"],
        }
        for u in data["users"]
    ]
    accounts = []
    for a in data["accounts"]:
        record = {
            "Id": "@" + a["id"],
            "AccountNumber": a["id"],
            "Name": a["name"],
            "BillingCountry": a["country"],
            "OwnerId": "@" + a["owner_id"],
            "Global_Account__c": a["global"],
            "Type": a["type"],
        }
        if a["website"]:
            record["Website"] = a["website"]
        if a["parent_id"]:
            record["ParentId"] = "@" + a["parent_id"]
        accounts.append(record)
    return {"salesforce": {"UserRole": roles, "User": users, "Account": accounts}}


# -- routing the cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What matching answered for one case."""

    case: Case
    chosen: str | None  # the account routing would use
    ambiguous: bool
    matches: tuple[Match, ...]
    fetched: bool  # whether the expected account was among the candidates fetched


@dataclass
class FetchStats:
    """What fetching the candidates cost."""

    batches: int = 0
    queries: int = 0
    rows: int = 0
    longest_query: int = 0
    per_batch_queries: list[int] = field(default_factory=list)


def fetch_candidates(
    universe: Universe, leads: Sequence[LeadFacts], config: MatchConfig, stats: FetchStats
) -> list[AccountCandidate]:
    """The candidate accounts of a batch of leads, fetched from the sandbox org with the SOQL
    `candidate_soql` writes. The universe's extra domains stand for a custom domains field the
    sandbox has not got: accounts listing a key domain are added as that field would find them."""
    keys = candidate_keys(leads, config)
    queries = candidate_soql(keys, FIELDS)
    stats.batches += 1
    stats.queries += len(queries)
    stats.per_batch_queries.append(len(queries))
    found: dict[str, AccountCandidate] = {}
    for text in queries:
        stats.longest_query = max(stats.longest_query, len(text))
        records = run(universe.org, text).records
        stats.rows += len(records)
        for record in records:
            uid = universe.sandbox_ids[record["Id"]]
            found[uid] = candidate(universe.accounts[uid])
    wanted = set(keys.domains)
    for uid, account in universe.accounts.items():
        if uid not in found and wanted.intersection(account["domains"]):
            found[uid] = candidate(account)
    return list(found.values())


def candidate(account: dict[str, Any]) -> AccountCandidate:
    return AccountCandidate(
        id=account["id"],
        name=account["name"],
        website=account["website"],
        country=account["country"],
        parent_id=account["parent_id"],
        owner_id=account["owner_id"],
        number_of_contacts=account["number_of_contacts"],
        open_opportunities=account["open_opportunities"],
        domains=tuple(account["domains"]),
    )


def route(
    universe: Universe,
    cases: Sequence[Case],
    config: MatchConfig,
    *,
    batch: int = 200,
    stats: FetchStats | None = None,
) -> list[Outcome]:
    """Match every case against the candidates fetched for its batch."""
    stats = stats if stats is not None else FetchStats()
    outcomes = []
    for start in range(0, len(cases), batch):
        chunk = cases[start : start + batch]
        candidates = fetch_candidates(universe, [c.lead for c in chunk], config, stats)
        ids = {c.id for c in candidates}
        for case in chunk:
            matches = match_lead(case.lead, candidates, config)
            chosen, ambiguous = decide(universe, matches, config)
            fetched = case.expected is None or case.expected in ids
            outcomes.append(Outcome(case, chosen, ambiguous, tuple(matches), fetched))
    return outcomes


def decide(
    universe: Universe, matches: Sequence[Match], config: MatchConfig
) -> tuple[str | None, bool]:
    """The account routing would use, and whether the answer is ambiguous (contenders in
    different hierarchies go to review, never to a guess)."""
    if not matches:
        return None, False
    tops = {universe.ultimate_parent(m.account_id) for m in contenders(matches, config)}
    if len(tops) > 1:
        return None, True
    return matches[0].account_id, False


# -- metrics: one function each ----------------------------------------------------------------


@dataclass
class MatchMetrics:
    """Precision and recall of the account match, overall and per variant kind."""

    true_positives: int
    false_positives: int
    misses: int
    expected: int  # cases that belong to an account
    per_kind: dict[str, dict[str, int]]
    wrong: list[Outcome]
    missed: list[Outcome]

    @property
    def precision(self) -> float:
        answered = self.true_positives + self.false_positives
        return self.true_positives / answered if answered else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0


def match_metrics(outcomes: Iterable[Outcome]) -> MatchMetrics:
    tp = fp = miss = expected = 0
    per_kind: dict[str, dict[str, int]] = defaultdict(Counter)  # type: ignore[arg-type]
    wrong: list[Outcome] = []
    missed: list[Outcome] = []
    for o in outcomes:
        kind = per_kind[o.case.kind]
        kind["cases"] += 1
        if o.case.expected is not None:
            expected += 1
            kind["expected"] += 1
        if o.chosen is not None and o.chosen == o.case.expected:
            tp += 1
            kind["right"] += 1
        elif o.chosen is not None:
            fp += 1
            kind["wrong"] += 1
            wrong.append(o)
        elif o.case.expected is not None:
            miss += 1
            kind["missed"] += 1
            missed.append(o)
        else:
            kind["right"] += 1  # rightly no account
    return MatchMetrics(tp, fp, miss, expected, dict(per_kind), wrong, missed)


@dataclass
class FetchMetrics:
    """What the candidate fetch costs and how often it finds the expected account."""

    queries_per_batch: list[int]
    rows: int
    longest_query: int
    found: int
    expected: int

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def fetch_metrics(outcomes: Sequence[Outcome], stats: FetchStats) -> FetchMetrics:
    expected = [o for o in outcomes if o.case.expected is not None]
    return FetchMetrics(
        stats.per_batch_queries,
        stats.rows,
        stats.longest_query,
        sum(o.fetched for o in expected),
        len(expected),
    )


# -- printing ----------------------------------------------------------------------------------


def print_match(metrics: MatchMetrics, *, listing: bool) -> None:
    print("account match")
    print(
        f"  precision {metrics.precision:.4f}  recall {metrics.recall:.4f}  "
        f"(right {metrics.true_positives}, wrong account {metrics.false_positives}, "
        f"missed {metrics.misses}, of {metrics.expected} cases with an account)"
    )
    print(f"  {'kind':36} {'cases':>5} {'right':>5} {'wrong':>5} {'missed':>6}")
    for kind, c in sorted(metrics.per_kind.items()):
        print(f"  {kind:36} {c['cases']:5} {c['right']:5} {c['wrong']:5} {c['missed']:6}")
    if listing:
        for title, items in (("wrong account", metrics.wrong), ("missed", metrics.missed)):
            print(f"  {title}:")
            for o in items:
                print(f"    {_describe(o)}")


def print_fetch(metrics: FetchMetrics) -> None:
    print("candidate fetch")
    print(
        f"  SOQL queries per batch {metrics.queries_per_batch}, rows {metrics.rows}, "
        f"longest query {metrics.longest_query} characters; expected account fetched "
        f"{metrics.found}/{metrics.expected} ({metrics.recall:.4f})"
    )


def _describe(o: Outcome) -> str:
    top = o.matches[0] if o.matches else None
    got = (
        f"ambiguous {[(m.account_id, m.tier, m.score) for m in o.matches[:3]]}"
        if o.ambiguous
        else f"{o.chosen} ({top.tier} {top.score})"
        if top and o.chosen
        else "no match"
    )
    fetched = "" if o.fetched else " [not fetched]"
    return (
        f"{o.case.id} {o.case.kind}: email={o.case.lead.email!r} company={o.case.lead.company!r} "
        f"country={o.case.lead.country!r} expected={o.case.expected} got {got}{fetched}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--list", action="store_true", help="list every miss and false positive")
    args = parser.parse_args(argv)
    config = MatchConfig()
    universe = load_universe(args.cases)
    cases = load_cases(args.cases)
    stats = FetchStats()
    outcomes = route(universe, cases, config, batch=args.batch, stats=stats)
    print(f"{len(cases)} cases, {len(universe.accounts)} accounts, batches of {args.batch}")
    match = match_metrics(outcomes)
    print_match(match, listing=args.list)
    print_fetch(fetch_metrics(outcomes, stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
