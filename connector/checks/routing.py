"""routing.yaml against the live org: every user and queue it names is one Salesforce has (found
the way the router finds it), and the users who would own leads are active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from connector.checks.findings import Findings, Loc, ordered
from connector.checks.snapshot import (
    LiveSchema,
    Needs,
    SalesforceQueue,
    SalesforceUser,
    owner_key,
)
from connector.files.loader import Loaded, Problem
from connector.routing.config import QUEUE_PREFIX, USER_PREFIX, RoutingConfig, is_id
from connector.routing.directory import config_refs

RefKind = Literal["user", "queue"]
#: What `_resolved` gives for a reference the (cached) schema did not look up.
UNCHECKED = "not looked up"


@dataclass(frozen=True)
class OwnerUse:
    """One place routing.yaml names a user or a queue: where (`loc`), what, and what for:
    `review`, `default` (they own the leads sent there), `member` (a round-robin user of
    `rule`), `queue` (a rule's queue) or `team_queue` (global leads)."""

    loc: Loc
    kind: RefKind
    ref: str
    role: Literal["review", "default", "member", "queue", "team_queue"]
    rule: str | None = None


def owner_uses(config: RoutingConfig) -> list[OwnerUse]:
    """Every user and queue routing.yaml names, with its place in the file: the same
    references `connector.routing.directory.config_refs` gives the router."""
    uses: list[OwnerUse] = []
    for role in ("review", "default"):
        ref = getattr(config, role)
        if ref is not None:
            kind: RefKind = "user" if ref.user is not None else "queue"
            uses.append(OwnerUse((role, kind), kind, ref.ref, role))
    team = config.global_policy.team_queue
    if team:
        uses.append(OwnerUse(("global", "team_queue"), "queue", team, "team_queue"))
    for index, rule in enumerate(config.rules):
        at: Loc = ("rules", index, "assign")
        if rule.assign.queue is not None:
            uses.append(OwnerUse((*at, "queue"), "queue", rule.assign.queue, "queue", rule.name))
        for j, member in enumerate(rule.assign.users or ()):
            uses.append(
                OwnerUse((*at, "users", j, "user"), "user", member.user, "member", rule.name)
            )
    return uses


def check_routing(loaded: Loaded[RoutingConfig], schema: LiveSchema) -> list[Problem]:
    """Every finding about routing.yaml's owners against `schema`, in file order: a user or
    queue Salesforce does not have is an error (the router stops on it), with the closest
    active username or queue DeveloperName; an inactive round-robin user is a warning (routing
    skips it; a rule whose users are all inactive sends its leads to `default`); an inactive
    review or default user is an error (Salesforce refuses an inactive user as a Lead's owner:
    every lead sent there would fail)."""
    found = Findings(loaded)
    inactive: dict[str, int] = {}  # rule name: how many of its users are known and inactive
    for use in owner_uses(loaded.model):
        resolved = _resolved(schema, use)
        if resolved == UNCHECKED:
            found.unchecked(use.loc, f"Salesforce {use.kind} '{use.ref}'")
        elif resolved is None:
            found.add(use.loc, _unknown_owner(use, schema))
        elif isinstance(resolved, SalesforceUser) and not resolved.active:
            if use.role == "member":
                inactive[use.rule or ""] = inactive.get(use.rule or "", 0) + 1
                found.add(
                    use.loc,
                    f"Salesforce user '{use.ref}' is inactive: rule '{use.rule}' skips it when "
                    "taking turns",
                    "warning",
                )
            else:
                found.add(
                    use.loc,
                    f"Salesforce user '{use.ref}' is inactive: Salesforce refuses an inactive "
                    f"user as a Lead's owner (INACTIVE_OWNER_OR_USER), so every lead sent to "
                    f"{use.role} would fail; name an active user or a queue",
                )
    for index, rule in enumerate(loaded.model.rules):
        users = rule.assign.users or ()
        if users and inactive.get(rule.name, 0) == len(users):
            found.add(
                ("rules", index, "assign", "users"),
                f"none of rule '{rule.name}''s users is active: its leads go to `default`",
                "warning",
            )
    return ordered(found.problems)


def _resolved(schema: LiveSchema, use: OwnerUse) -> SalesforceUser | SalesforceQueue | str | None:
    """The user or queue `use` names, None when Salesforce has none, `UNCHECKED` when the
    (cached) schema did not look it up."""
    owners = schema.owners
    if owners is None:
        return UNCHECKED
    if use.kind == "user":
        return owners.users.get(owner_key(use.ref, USER_PREFIX), UNCHECKED)
    return owners.queues.get(owner_key(use.ref, QUEUE_PREFIX), UNCHECKED)


def _unknown_owner(use: OwnerUse, schema: LiveSchema) -> str:
    """Salesforce has no user or queue by this reference: say how they are named, and the
    closest active username or queue DeveloperName (none for an id)."""
    owners = schema.owners
    if use.kind == "user":
        how, prefix = "a Username or 005… id", USER_PREFIX
        close = owners.close_users if owners else {}
    else:
        how, prefix = "a DeveloperName or 00G… id", QUEUE_PREFIX
        close = owners.close_queues if owners else {}
    nearest = () if is_id(use.ref, prefix) else close.get(owner_key(use.ref, prefix), ())
    hint = f"; did you mean '{nearest[0]}'?" if nearest else ""
    return f"no Salesforce {use.kind} '{use.ref}' ({how}){hint}"


def routing_needs(config: RoutingConfig) -> Needs:
    """What `check_routing` reads: the users and queues routing.yaml names, the references
    the router looks up (`config_refs`)."""
    users, queues = config_refs(config)
    return Needs(
        users=tuple(dict.fromkeys(ref for _where, ref in users)),
        queues=tuple(dict.fromkeys(ref for _where, ref in queues)),
    )
