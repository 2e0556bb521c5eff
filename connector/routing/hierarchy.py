"""Account hierarchies: from matched accounts up `ParentId` to their ultimate parents.

A whole batch climbs together, five levels a read (`Parent.Parent.Parent.Parent.Name` is the
deepest path SOQL allows), from the highest ids found so far, with every account seen kept for
the pass. A `ParentId` cycle, a chain deeper than the limit or a parent that cannot be read ends
that one chain with an error naming the accounts; nothing loops, whatever the org holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)

#: Reads accounts by id: `(ids, fields)` → one row per account found, parent paths as nested
#: records (`SalesforceGateway.accounts_by_id`).
AccountsById = Callable[[Sequence[str], Sequence[str]], list[dict[str, Any]]]

#: Levels (the account and its ancestors) one query returns in full: a path may hold five names.
LEVELS_PER_QUERY = 5
#: Account fields every walk reads; `fields` of the walker add to them.
BASE_FIELDS = ("Name", "ParentId", "OwnerId")


@dataclass(frozen=True)
class AccountNode:
    """One account as the walk saw it; `values` holds the extra fields asked for, by API name."""

    id: str
    name: str
    parent_id: str | None
    owner_id: str | None
    values: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """The field `name` (case-insensitive, as Salesforce treats names), or None."""
        return _get(self.values, name)


@dataclass(frozen=True)
class Hierarchy:
    """The chain from one account to its ultimate parent; `error` says why it is incomplete."""

    account_id: str
    chain: tuple[AccountNode, ...]  # the account first, the ultimate parent last
    error: str | None = None

    @property
    def ultimate(self) -> AccountNode | None:
        """The ultimate parent, or None when the walk failed."""
        return self.chain[-1] if self.chain and self.error is None else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(node.id for node in self.chain)


class HierarchyWalker:
    """Walks `ParentId` for many accounts at once; keeps every account it saw (one per pass).

    `read` reads accounts by id with the fields asked for, parent paths as nested dicts (what
    `SalesforceGateway.accounts_by_id` does, as many queries as the ids need). `fields` are
    extra Account fields to read on every level (those the global policy looks at).
    `max_depth` is the most accounts a chain may hold, the matched account included.
    """

    def __init__(
        self,
        read: AccountsById,
        *,
        fields: Sequence[str] = (),
        max_depth: int = 10,
        levels_per_query: int = LEVELS_PER_QUERY,
    ) -> None:
        if max_depth < 1 or not 1 <= levels_per_query <= LEVELS_PER_QUERY:
            msg = f"max_depth must be >= 1, levels_per_query 1..{LEVELS_PER_QUERY}"
            raise ValueError(msg)
        self._read = read
        self._fields = tuple(dict.fromkeys(f for f in fields if f.lower() not in _BASE_LOWER))
        self._max_depth = max_depth
        self._levels = levels_per_query
        self._nodes: dict[str, AccountNode] = {}
        self._missing: set[str] = set()

    # -- what to select --------------------------------------------------------------------------
    def select_fields(self) -> list[str]:
        """The Account field list of a walk query: `levels_per_query` levels of every field.

        A query selecting these (the candidate-account query, say) can be `absorb`ed, so the walk
        starts above what it already returned.
        """
        names = ["Id"]
        for level in range(self._levels):
            prefix = "Parent." * level
            names.extend(prefix + name for name in (*BASE_FIELDS, *self._fields))
        return names

    # -- reading ---------------------------------------------------------------------------------
    def absorb(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Remember the accounts in query rows selected with `select_fields()` (all levels)."""
        for row in rows:
            record: Mapping[str, Any] | None = row
            account_id = _get(row, "Id")
            for _ in range(self._levels):
                if not isinstance(record, Mapping) or not account_id or not self._complete(record):
                    break
                node = self._node(str(account_id), record)
                self._nodes.setdefault(_key(node.id), node)
                account_id, record = node.parent_id, _get(record, "Parent")

    def node(self, account_id: str) -> AccountNode | None:
        """An account the walker has seen, by id (15 or 18 characters)."""
        return self._nodes.get(_key(account_id))

    def walk(self, account_ids: Iterable[str]) -> dict[str, Hierarchy]:
        """The hierarchy of each account, keyed by the id as given.

        Each round queries, in as few queries as the IN-list limit allows, the highest account of
        every unfinished chain; a round climbs `levels_per_query` levels, so a chain needs at most
        ceil(max_depth / levels_per_query) rounds.
        """
        wanted = list(dict.fromkeys(a for a in account_ids if a))
        rounds = math.ceil(self._max_depth / self._levels) + 1
        for _ in range(rounds):
            frontier = {top for a in wanted if (top := self._climb(a)[1]) is not None}
            if not frontier:
                break
            self._fetch(sorted(frontier))
        return {a: self._hierarchy(a) for a in wanted}

    # -- internals -------------------------------------------------------------------------------
    def _complete(self, record: Mapping[str, Any]) -> bool:
        lower = {k.lower() for k in record}
        return all(n.lower() in lower for n in (*BASE_FIELDS, *self._fields))

    def _node(self, account_id: str, record: Mapping[str, Any]) -> AccountNode:
        return AccountNode(
            id=account_id,
            name=str(_get(record, "Name") or ""),
            parent_id=_get(record, "ParentId") or None,
            owner_id=_get(record, "OwnerId") or None,
            values={name: _get(record, name) for name in self._fields},
        )

    def _climb(self, account_id: str) -> tuple[list[AccountNode], str | None, str | None]:
        """(chain so far, id to fetch next or None, error or None) from the cache alone."""
        chain: list[AccountNode] = []
        seen: set[str] = set()
        current: str | None = account_id
        while current is not None:
            key = _key(current)
            if key in seen:
                loop = " → ".join(_label(n) for n in chain)
                return chain, None, f"ParentId cycle: {loop} → {_label(self._nodes[key])}"
            if len(chain) >= self._max_depth:
                return (
                    chain,
                    None,
                    f"hierarchy deeper than {self._max_depth} levels above {_label(chain[0])} "
                    f"(hierarchy.max_depth in routing.yaml)",
                )
            if key in self._missing:
                what = "account" if not chain else f"parent of {_label(chain[-1])}"
                return (
                    chain,
                    None,
                    f"{what} {current} not found (deleted, or not visible to the integration user)",
                )
            node = self._nodes.get(key)
            if node is None:
                return chain, current, None
            seen.add(key)
            chain.append(node)
            current = node.parent_id
        return chain, None, None

    def _hierarchy(self, account_id: str) -> Hierarchy:
        chain, pending, error = self._climb(account_id)
        if pending is not None:  # pragma: no cover - the round limit covers every chain
            error = f"hierarchy walk of {account_id} stopped at {pending}"
        if error:
            log.warning("routing.hierarchy.error", account_id=account_id, error=error)
        return Hierarchy(account_id=account_id, chain=tuple(chain), error=error)

    def _fetch(self, ids: Sequence[str]) -> None:
        self.absorb(self._read(ids, self.select_fields()))
        for account_id in ids:
            if _key(account_id) not in self._nodes:
                self._missing.add(_key(account_id))
        log.debug("routing.hierarchy.fetched", accounts=len(ids), known=len(self._nodes))


_BASE_LOWER = {"id", "parent", *(n.lower() for n in BASE_FIELDS)}


def _key(account_id: str) -> str:
    """Ids compare by their case-sensitive 15-character form (18 adds a case checksum)."""
    return account_id[:15]


def _get(record: Mapping[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    lower = name.lower()
    return next((v for k, v in record.items() if k.lower() == lower), None)


def _label(node: AccountNode) -> str:
    return f"{node.name} ({node.id})" if node.name else node.id
