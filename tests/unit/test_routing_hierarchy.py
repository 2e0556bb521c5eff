"""The hierarchy walk against a fake Salesforce: exact queries, their count, cycles, depth."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connector.routing.hierarchy import HierarchyWalker
from connector.salesforce.reads import SalesforceReads

WALK_FIELDS = (
    "Id, Name, ParentId, OwnerId, "
    "Parent.Name, Parent.ParentId, Parent.OwnerId, "
    "Parent.Parent.Name, Parent.Parent.ParentId, Parent.Parent.OwnerId, "
    "Parent.Parent.Parent.Name, Parent.Parent.Parent.ParentId, Parent.Parent.Parent.OwnerId, "
    "Parent.Parent.Parent.Parent.Name, Parent.Parent.Parent.Parent.ParentId, "
    "Parent.Parent.Parent.Parent.OwnerId"
)


def acc(n: int) -> str:
    """An 18-character Account id."""
    return f"001{n:012d}AAA"


OWNER = "005000000000001AAA"


class FakeSalesforce(SalesforceReads):
    """Answers exactly the queries in its table; any other query fails the test. Its
    `accounts_by_id` is the gateway's, so the texts are those the gateway sends."""

    def __init__(self, table: dict[str, list[dict[str, Any]]]) -> None:
        self.table = table
        self.sent: list[str] = []

    def query(self, text: str) -> list[dict[str, Any]]:
        self.sent.append(text)
        assert text in self.table, f"unexpected query: {text}"
        return copy.deepcopy(self.table[text])


def org(*chain: tuple[int, int | None], **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Accounts by id from (number, parent number) pairs; named `Account N`."""
    return {
        acc(n): {
            "Name": f"Account {n}",
            "ParentId": acc(p) if p is not None else None,
            "OwnerId": OWNER,
            **extra.get(f"a{n}", {}),
        }
        for n, p in chain
    }


def nested(
    accounts: dict[str, dict[str, Any]],
    account_id: str,
    fields: tuple[str, ...] = (),
    levels: int = 5,
) -> dict[str, Any]:
    """One query row as SalesforceGateway.query returns it: parent paths as nested dicts."""
    row: dict[str, Any] = {"Id": account_id}
    current, record = row, accounts[account_id]
    for level in range(levels):
        current.update(
            {k: record.get(k) for k in ("Name", "ParentId", "OwnerId")},
            **{f: record.get(f) for f in fields},
        )
        if level == levels - 1:
            break
        parent_id = record.get("ParentId")
        if parent_id is None or parent_id not in accounts:
            current["Parent"] = None
            break
        current["Parent"] = {}
        current, record = current["Parent"], accounts[parent_id]
    return row


def walk_query(*ids: str, fields: str = WALK_FIELDS) -> str:
    listed = ",".join(f"'{i}'" for i in ids)
    return f"SELECT {fields} FROM Account WHERE Id IN ({listed})"  # noqa: S608 (expected text)


def test_six_levels_take_two_queries_from_the_highest_id_found() -> None:
    """A chain of six accounts is climbed in two queries, the second from the fifth level up."""
    accounts = org((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, None))
    sf = FakeSalesforce(
        {
            walk_query(acc(0)): [nested(accounts, acc(0))],
            walk_query(acc(5)): [nested(accounts, acc(5))],
        }
    )
    walker = HierarchyWalker(sf.accounts_by_id)

    found = walker.walk([acc(0)])

    assert sf.sent == [walk_query(acc(0)), walk_query(acc(5))]
    hierarchy = found[acc(0)]
    assert hierarchy.error is None
    assert hierarchy.ids == tuple(acc(n) for n in range(6))
    assert hierarchy.ultimate is not None and hierarchy.ultimate.name == "Account 5"


def test_a_batch_of_accounts_climbs_together_and_the_cache_serves_the_pass() -> None:
    """Several matched accounts are walked in one query per round; a second walk asks nothing."""
    accounts = org((10, 12), (11, 12), (12, None), (20, None), (30, 31), (31, None))
    starts = [acc(30), acc(10), acc(20), acc(11)]
    sf = FakeSalesforce(
        {walk_query(*sorted(starts)): [nested(accounts, a) for a in sorted(starts)]}
    )
    walker = HierarchyWalker(sf.accounts_by_id)

    found = walker.walk(starts)
    again = walker.walk([acc(10), acc(12), acc(31)])

    assert sf.sent == [walk_query(acc(10), acc(11), acc(20), acc(30))]
    assert {a: h.ultimate.id for a, h in found.items() if h.ultimate} == {
        acc(10): acc(12),
        acc(11): acc(12),
        acc(20): acc(20),
        acc(30): acc(31),
    }
    assert [again[a].ids for a in (acc(10), acc(12), acc(31))] == [
        (acc(10), acc(12)),
        (acc(12),),
        (acc(31),),
    ]


def test_parent_cycle_ends_with_an_error_naming_the_loop_not_a_hang() -> None:
    """Two accounts pointing at each other: one query, then an error that names both."""
    accounts = org((1, 2), (2, 1))
    sf = FakeSalesforce({walk_query(acc(1)): [nested(accounts, acc(1))]})

    hierarchy = HierarchyWalker(sf.accounts_by_id).walk([acc(1)])[acc(1)]

    assert len(sf.sent) == 1
    assert hierarchy.ultimate is None
    assert hierarchy.error == (
        f"ParentId cycle: Account 1 ({acc(1)}) → Account 2 ({acc(2)}) → Account 1 ({acc(1)})"
    )


def test_cycle_above_the_first_query_is_caught_too() -> None:
    """A loop beyond the first five levels (7 → 3) still ends, after the second query."""
    accounts = org((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 3))
    sf = FakeSalesforce(
        {
            walk_query(acc(0)): [nested(accounts, acc(0))],
            walk_query(acc(5)): [nested(accounts, acc(5))],
        }
    )

    hierarchy = HierarchyWalker(sf.accounts_by_id).walk([acc(0)])[acc(0)]

    assert len(sf.sent) == 2
    assert hierarchy.error is not None
    assert hierarchy.error.startswith("ParentId cycle: Account 0")
    assert hierarchy.error.endswith(f"Account 7 ({acc(7)}) → Account 3 ({acc(3)})")


def test_depth_limit_stops_the_walk_with_an_error() -> None:
    """With max_depth 3, a chain of five accounts fails after one query, naming the limit."""
    accounts = org((0, 1), (1, 2), (2, 3), (3, 4), (4, None))
    sf = FakeSalesforce({walk_query(acc(0)): [nested(accounts, acc(0))]})

    hierarchy = HierarchyWalker(sf.accounts_by_id, max_depth=3).walk([acc(0)])[acc(0)]

    assert len(sf.sent) == 1
    assert hierarchy.ids == (acc(0), acc(1), acc(2))
    assert hierarchy.error == (
        f"hierarchy deeper than 3 levels above Account 0 ({acc(0)}) "
        "(hierarchy.max_depth in routing.yaml)"
    )


def test_default_depth_limit_is_ten_levels_in_two_queries() -> None:
    """Twelve levels with the default limit: two queries, then the depth error, never more."""
    accounts = org(*[(n, n + 1) for n in range(11)], (11, None))
    sf = FakeSalesforce(
        {
            walk_query(acc(0)): [nested(accounts, acc(0))],
            walk_query(acc(5)): [nested(accounts, acc(5))],
        }
    )

    hierarchy = HierarchyWalker(sf.accounts_by_id).walk([acc(0)])[acc(0)]

    assert len(sf.sent) == 2
    assert len(hierarchy.chain) == 10
    assert hierarchy.error is not None and "deeper than 10 levels" in hierarchy.error


def test_rows_already_read_start_the_walk_higher() -> None:
    """Rows of the candidate query (same fields) are absorbed: only the rest is queried."""
    accounts = org(*[(n, n + 1) for n in range(6)], (6, None))
    sf = FakeSalesforce({walk_query(acc(5)): [nested(accounts, acc(5))]})
    walker = HierarchyWalker(sf.accounts_by_id)
    walker.absorb([nested(accounts, acc(0))])

    hierarchy = walker.walk([acc(0)])[acc(0)]

    assert sf.sent == [walk_query(acc(5))]
    assert hierarchy.ultimate is not None and hierarchy.ultimate.id == acc(6)


def test_extra_policy_fields_are_read_on_every_level() -> None:
    """Fields the global policy needs are selected at each level and kept on each node."""
    fields = ", ".join(
        f"{p}{name}"
        for p in ("", "Parent.", "Parent.Parent.", "Parent.Parent.Parent.", "Parent." * 4)
        for name in ("Name", "ParentId", "OwnerId", "Global_Account__c")
    )
    fields = f"Id, {fields}"
    accounts = org((0, 1), (1, None), a1={"Global_Account__c": True})
    sf = FakeSalesforce(
        {
            walk_query(acc(0), fields=fields): [
                nested(accounts, acc(0), fields=("Global_Account__c",))
            ]
        }
    )

    walker = HierarchyWalker(sf.accounts_by_id, fields=["Global_Account__c"])
    hierarchy = walker.walk([acc(0)])[acc(0)]

    assert "Parent.Parent.Parent.Parent.Global_Account__c" in sf.sent[0]
    assert hierarchy.ultimate is not None
    assert hierarchy.ultimate.value("global_account__c") is True
    assert hierarchy.chain[0].value("Global_Account__c") is None


def test_invisible_parent_is_an_error_for_that_chain_only() -> None:
    """A parent the integration user cannot read fails its chain; the others still resolve."""
    accounts = org((1, 2), (3, None))
    rows = [nested(accounts, acc(1)), nested(accounts, acc(3))]
    sf = FakeSalesforce({walk_query(acc(1), acc(3)): rows, walk_query(acc(2)): []})

    found = HierarchyWalker(sf.accounts_by_id).walk([acc(1), acc(3)])

    assert sf.sent == [walk_query(acc(1), acc(3)), walk_query(acc(2))]
    assert found[acc(1)].error == (
        f"parent of Account 1 ({acc(1)}) {acc(2)} not found "
        "(deleted, or not visible to the integration user)"
    )
    assert found[acc(3)].ultimate is not None


def test_fifteen_character_ids_meet_their_eighteen_character_forms() -> None:
    """An id given in 15 characters is the same account as its 18-character form."""
    accounts = org((1, None))
    sf = FakeSalesforce({walk_query(acc(1)[:15]): [nested(accounts, acc(1))]})

    hierarchy = HierarchyWalker(sf.accounts_by_id).walk([acc(1)[:15]])[acc(1)[:15]]

    assert hierarchy.ids == (acc(1),)


@pytest.mark.parametrize("levels", [0, 6])
def test_levels_per_query_stays_within_what_soql_allows(levels: int) -> None:
    """More than five names in a path is a MALFORMED_QUERY: the walker refuses to build one."""
    with pytest.raises(ValueError, match="levels_per_query"):
        HierarchyWalker(lambda _ids, _fields: [], levels_per_query=levels)
