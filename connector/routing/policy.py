"""Who gets a lead: global hierarchies to their owner, ambiguity to review, the rest by region.

Pure: the router fetches accounts, hierarchies, users, queues and opportunities, and this module
decides from them, one lead at a time, with the reason for every step (`RoutingDecision.explain`).
Round-robin turns are the only state; they live in a `TurnStore` (the state store) or in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

from connector.errors import MappingError
from connector.model import UserInfo
from connector.routing import explain
from connector.routing.config import (
    GlobalCondition,
    OwnerRef,
    RoutingConfig,
    Rule,
    RuleWhen,
)
from connector.routing.decision import (
    DEFAULT_QUEUE,
    NOTHING_FITS,
    Opportunity,
    RoutingDecision,
    RoutingInput,
)
from connector.routing.directory import Directory, Owner, id_key, unknown_owner
from connector.routing.hierarchy import AccountNode, Hierarchy
from connector.routing.match import contenders
from connector.routing.normalize import country_code

if TYPE_CHECKING:
    from connector.routing.match import Match

#: How many whole rounds a round-robin member may fall behind (inactive, or newly added)
#: before being lifted: a returning user resumes taking turns instead of getting a burst.
MAX_LAG_ROUNDS = 2


class TurnStore(Protocol):
    """Where round-robin turns persist (`connector.state.store.StateStore`)."""

    def next_turns(self, rule: str) -> dict[str, int]: ...
    def record_turns(self, rule: str, turns: Mapping[str, int]) -> None: ...


class RoundRobin:
    """Weighted turns per rule: deterministic, exact over whole rounds, inactive users skipped.

    A rule's next user is the one furthest below its share (Webster's divisor method:
    smallest (turns + ½) / weight, then fewest turns, then the order in routing.yaml), so after
    any number of whole rounds each user has had exactly its weight's share. Turns persist in
    `store` (shared by workers: recorded as increments) or, without one, in memory.
    """

    def __init__(self, store: TurnStore | None = None) -> None:
        self._store = store
        self._turns: dict[str, dict[str, int]] = {}
        self._pending: dict[str, dict[str, int]] = {}

    def begin(self) -> None:
        """Start a batch: with a store, read the turns again (other workers take turns too)."""
        if self._store is not None:
            self._turns.clear()

    def pick(self, rule: str, members: Sequence[tuple[str, int]]) -> str:
        """The next of `members` ((user id, weight), active ones only, not empty) for `rule`."""
        turns = self._load(rule)
        top = max(Fraction(turns.get(m, 0), w) for m, w in members)
        for member, weight in members:
            floor = math.ceil((top - MAX_LAG_ROUNDS) * weight)
            if turns.get(member, 0) < floor:
                self._add(rule, member, floor - turns.get(member, 0))
        chosen = min(
            range(len(members)),
            key=lambda i: (
                Fraction(2 * turns.get(members[i][0], 0) + 1, 2 * members[i][1]),
                turns.get(members[i][0], 0),
                i,
            ),
        )
        member = members[chosen][0]
        self._add(rule, member, 1)
        return member

    def commit(self) -> None:
        """Record the turns taken since the last commit."""
        pending, self._pending = self._pending, {}
        if self._store is not None:
            for rule, increments in pending.items():
                self._store.record_turns(rule, increments)

    def discard(self) -> None:
        """Forget the turns taken since the last commit (their batch was not routed)."""
        pending, self._pending = self._pending, {}
        for rule, increments in pending.items():
            turns = self._turns.get(rule)
            for member, count in increments.items():
                if turns is not None and member in turns:
                    turns[member] -= count

    def _load(self, rule: str) -> dict[str, int]:
        if rule not in self._turns:
            stored = self._store.next_turns(rule) if self._store is not None else {}
            self._turns[rule] = dict(stored)
        return self._turns[rule]

    def _add(self, rule: str, member: str, count: int) -> None:
        turns = self._load(rule)
        turns[member] = turns.get(member, 0) + count
        pending = self._pending.setdefault(rule, {})
        pending[member] = pending.get(member, 0) + count


@dataclass(frozen=True)
class _Verdict:
    value: bool
    reason: str


class Policy:
    """Decides each lead of a batch from what the router fetched."""

    def __init__(
        self,
        config: RoutingConfig,
        directory: Directory,
        round_robin: RoundRobin,
        *,
        account_name: Callable[[str], str | None] = lambda _id: None,
    ) -> None:
        self._config = config
        self._directory = directory
        self._rr = round_robin
        self._account_name = account_name

    def decide(
        self,
        lead: RoutingInput,
        matches: Sequence[Match],
        hierarchies: Mapping[str, Hierarchy],
        opportunities: Sequence[Opportunity] = (),
    ) -> RoutingDecision:
        """The owner of `lead`; `matches` best first (from `match_lead`), `hierarchies` by the
        matched account id, `opportunities` the open ones on any account of those hierarchies."""
        trail = explain.Trail(lead=lead, candidates=[self._candidate(m) for m in matches])
        if not matches:
            trail.global_verdict(value=False, reason="no matching account")
            return self._regional(lead, trail, matched=None)
        top = matches[0]
        rivals = [
            m
            for m in contenders(matches, self._config.matching)[1:]
            if self._root(m.account_id, hierarchies) != self._root(top.account_id, hierarchies)
        ]
        if rivals:
            shown = " and ".join(self._match_label(m) for m in (top, *rivals))
            trail.global_verdict(value=False, reason="not decided: the match is ambiguous")
            return self._review(lead, trail, f"ambiguous between {shown}", matched=None)
        hierarchy = hierarchies.get(top.account_id)
        trail.chosen(top.account_id, self._account_name(top.account_id))
        if hierarchy is None or hierarchy.ultimate is None:
            error = hierarchy.error if hierarchy else "hierarchy not walked"
            trail.hierarchy(hierarchy, error)
            trail.global_verdict(value=False, reason="not decided: the hierarchy is incomplete")
            return self._review(
                lead, trail, f"hierarchy of {self._label(top.account_id)}: {error}", top.account_id
            )
        trail.hierarchy(hierarchy, None)
        ultimate = hierarchy.ultimate
        watched = [o for o in opportunities if id_key(o.account_id) in _keys(hierarchy.ids)]
        watchers = tuple(sorted({o.owner_id for o in watched}))
        trail.watchers(watched, self._directory)
        verdict = self._global(ultimate)
        trail.global_verdict(value=verdict.value, reason=verdict.reason)
        if not verdict.value:
            return self._regional(
                lead, trail, matched=top.account_id, ultimate=ultimate.id, watchers=watchers
            )
        return self._global_owner(lead, trail, top.account_id, ultimate, verdict, watchers)

    # -- global --------------------------------------------------------------------------------
    def _global(self, ultimate: AccountNode) -> _Verdict:
        failed: list[str] = []
        for condition in self._config.global_policy.when:
            hit, why = self._check(condition, ultimate)
            if hit:
                return _Verdict(value=True, reason=why)
            failed.append(why)
        return _Verdict(value=False, reason="; ".join(failed))

    def _check(self, condition: GlobalCondition, ultimate: AccountNode) -> tuple[bool, str]:
        who = f"ultimate parent {ultimate.name}"
        if condition.field is not None:
            value = ultimate.value(condition.field)
            hit = _same(value, condition.equals)
            shown = explain.shown(value)
            if hit:
                return True, f"{who} has {condition.field} = {shown}"
            return (
                False,
                f"{who} has {condition.field} = {shown}, not {explain.shown(condition.equals)}",
            )
        if condition.account_type is not None:
            value = ultimate.value("Type")
            hit = any(_same(value, t) for t in condition.account_type)
            listed = ", ".join(condition.account_type)
            verb = "is" if hit else "is not"
            return hit, f"{who} has Type {explain.shown(value)}, which {verb} in [{listed}]"
        owner = self._directory.user(ultimate.owner_id) if ultimate.owner_id else None
        role = owner.role if owner else None
        roles = condition.owner_role or []
        hit = role is not None and any(_same(role, r) for r in roles)
        who_owner = f"owner {owner.name} of {who}" if owner else f"owner of {who}"
        verb = "is" if hit else "is not"
        return (
            hit,
            f"{who_owner} has role {explain.shown(role)}, which {verb} in [{', '.join(roles)}]",
        )

    def _global_owner(
        self,
        lead: RoutingInput,
        trail: explain.Trail,
        matched: str,
        ultimate: AccountNode,
        verdict: _Verdict,
        watchers: tuple[str, ...],
    ) -> RoutingDecision:
        rule = f"global: {verdict.reason}"
        team = self._config.global_policy.team_queue
        if team:
            queue = self._directory.queue(team)
            if queue is None:
                raise MappingError(unknown_owner(f"queue {team} (global.team_queue)"))
            owner = Owner(queue.id, "Group", queue.name)
            rule += f"; the global-account team queue {queue.name}"
        else:
            found = self._directory.owner(ultimate.owner_id) if ultimate.owner_id else None
            user = self._directory.user(found.id) if found and found.kind == "User" else None
            if found is None or (user is not None and not user.active):
                who = found.name if found else (ultimate.owner_id or "nobody")
                why = f"{verdict.reason}, but its owner {who} is inactive or unknown"
                return self._review(
                    lead,
                    trail,
                    why,
                    matched,
                    ultimate=ultimate.id,
                    watchers=watchers,
                    global_lead=True,
                )
            owner = found
            rule += f"; owner of {ultimate.name}"
        return self._decision(
            lead,
            trail,
            owner,
            rule,
            global_lead=True,
            matched=matched,
            ultimate=ultimate.id,
            watchers=watchers,
        )

    # -- regional, review, default ------------------------------------------------------------
    def _regional(
        self,
        lead: RoutingInput,
        trail: explain.Trail,
        *,
        matched: str | None,
        ultimate: str | None = None,
        watchers: tuple[str, ...] = (),
    ) -> RoutingDecision:
        for rule in self._config.rules:
            if not fits(rule.when, lead):
                continue
            text = f"regional: rule '{rule.name}' ({_describe(rule.when)})"
            owner = self._rule_owner(rule)
            if owner is None:
                why = f"rule '{rule.name}' fits, but none of its users is active"
                return self._default(
                    lead, trail, why, matched=matched, ultimate=ultimate, watchers=watchers
                )
            return self._decision(
                lead,
                trail,
                owner,
                text,
                global_lead=False,
                matched=matched,
                ultimate=ultimate,
                watchers=watchers,
            )
        return self._default(
            lead,
            trail,
            _nothing_fits(self._config.rules, lead),
            matched=matched,
            ultimate=ultimate,
            watchers=watchers,
        )

    def _rule_owner(self, rule: Rule) -> Owner | None:
        if rule.assign.queue is not None:
            return self._directory.resolve(OwnerRef(queue=rule.assign.queue))
        members: list[tuple[str, int]] = []
        users: dict[str, UserInfo] = {}
        for member in rule.assign.users or ():
            user = self._directory.user(member.user)
            if user is None:
                raise MappingError(unknown_owner(f"user {member.user} (rules[{rule.name}])"))
            if user.active and user.id not in users:
                members.append((user.id, member.weight))
                users[user.id] = user
        if not members:
            return None
        chosen = users[self._rr.pick(rule.name, members)]
        return Owner(chosen.id, "User", chosen.name)

    def _review(
        self,
        lead: RoutingInput,
        trail: explain.Trail,
        why: str,
        matched: str | None,
        *,
        ultimate: str | None = None,
        watchers: tuple[str, ...] = (),
        global_lead: bool = False,
    ) -> RoutingDecision:
        review = self._config.review
        if review is None:
            return self._default(
                lead,
                trail,
                f"review (no review queue configured): {why}",
                matched=matched,
                ultimate=ultimate,
                watchers=watchers,
                global_lead=global_lead,
            )
        owner = self._directory.resolve(review)
        return self._decision(
            lead,
            trail,
            owner,
            f"review: {why}",
            global_lead=global_lead,
            matched=matched,
            ultimate=ultimate,
            watchers=watchers,
        )

    def _default(
        self,
        lead: RoutingInput,
        trail: explain.Trail,
        why: str | None,
        *,
        matched: str | None,
        ultimate: str | None,
        watchers: tuple[str, ...],
        global_lead: bool = False,
    ) -> RoutingDecision:
        owner = self._directory.resolve(self._config.default)
        rule = DEFAULT_QUEUE if why is None else f"{DEFAULT_QUEUE}: {why}"
        return self._decision(
            lead,
            trail,
            owner,
            rule,
            global_lead=global_lead,
            matched=matched,
            ultimate=ultimate,
            watchers=watchers,
        )

    def _decision(
        self,
        lead: RoutingInput,
        trail: explain.Trail,
        owner: Owner,
        rule: str,
        *,
        global_lead: bool,
        matched: str | None,
        ultimate: str | None,
        watchers: tuple[str, ...],
    ) -> RoutingDecision:
        fields: dict[str, Any] = {"OwnerId": owner.id}
        names = self._config.lead_fields
        if names.global_flag:
            fields[names.global_flag] = global_lead
        if names.matched_account:
            fields[names.matched_account] = matched
        return RoutingDecision(
            hubspot_id=lead.hubspot_id,
            owner_id=owner.id,
            owner_kind=owner.kind,
            global_lead=global_lead,
            matched_account_id=matched,
            ultimate_parent_id=ultimate,
            rule=rule,
            watchers=watchers,
            lead_fields=fields,
            explain=trail.finish(rule=rule, owner=owner, global_lead=global_lead),
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _candidate(self, match: Match) -> dict[str, Any]:
        return {
            "account_id": match.account_id,
            "name": self._account_name(match.account_id),
            "tier": match.tier,
            "score": match.score,
            "fields": list(match.fields),
            "detail": match.detail,
            "evidence": list(match.evidence),
            "penalties": [{"reason": p.reason, "points": p.points} for p in match.penalties],
        }

    def _root(self, account_id: str, hierarchies: Mapping[str, Hierarchy]) -> str:
        hierarchy = hierarchies.get(account_id)
        ultimate = hierarchy.ultimate if hierarchy else None
        return id_key(ultimate.id if ultimate else account_id)

    def _label(self, account_id: str) -> str:
        name = self._account_name(account_id)
        return f"{name} ({account_id})" if name else account_id

    def _match_label(self, match: Match) -> str:
        return f"{self._label(match.account_id)} [{match.tier} {explain.shown(match.score)}]"


def _keys(ids: Sequence[str]) -> set[str]:
    return {id_key(i) for i in ids}


def _same(value: Any, expected: Any) -> bool:
    """Equal, strings compared without case (picklists and names are case-insensitive)."""
    if isinstance(value, str) and isinstance(expected, str):
        return value.strip().casefold() == expected.strip().casefold()
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return bool(value == expected)


def fits(when: RuleWhen, lead: RoutingInput) -> bool:
    """Whether `lead` meets every condition `when` gives (a missing value meets none)."""
    if when.country is not None and not _country_in(lead.country, when.country):
        return False
    checks: list[tuple[list[str] | None, str | None]] = [
        (when.state, lead.state),
        (when.industry, lead.industry),
    ]
    for allowed, value in checks:
        if allowed is not None and not (value and any(_same(value, a) for a in allowed)):
            return False
    return when.employees is None or lead.employees in when.employees


def _country_in(value: str | None, allowed: Sequence[str]) -> bool:
    """Same country by ISO code where both are known (`Sverige`, `SE`, `Sweden`), else by text."""
    if not value:
        return False
    code = country_code(value)
    return any((code is not None and code == country_code(a)) or _same(value, a) for a in allowed)


def _nothing_fits(rules: Sequence[Rule], lead: RoutingInput) -> str | None:
    """Why no regional rule took the lead: the values the rules look at, as the lead has them
    ('none' for a value it lacks: a rule never fits a missing value). None without rules."""
    if not rules:
        return None
    asked = {
        name
        for rule in rules
        for name in ("country", "state", "industry", "employees")
        if getattr(rule.when, name) is not None
    }
    shown = [
        f"{name} {'none' if getattr(lead, name) is None else repr(getattr(lead, name))}"
        for name in ("country", "state", "industry", "employees")
        if name in asked
    ]
    return NOTHING_FITS + (f" ({', '.join(shown)})" if shown else "")


def _describe(when: RuleWhen) -> str:
    parts = [
        f"{name} in [{', '.join(values)}]"
        for name, values in (
            ("country", when.country),
            ("state", when.state),
            ("industry", when.industry),
        )
        if values is not None
    ]
    if when.employees is not None:
        parts.append(f"employees {when.employees}")
    return ", ".join(parts) or "every lead"
