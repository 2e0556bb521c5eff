"""Who takes over a Lead that missed its first-touch target untouched (`mappings/sla.yaml`,
`reroute.after_breach`): the next owner routing.yaml gives it, never the one it has.

Pure: the decision recorded when the Lead was routed (its audit payload, `explain`), the
Lead's current owner, routing.yaml, the users and queues Salesforce knows and the round-robin
in; the new owner and the decision path (the same shape as a routing decision's, its rule the
SLA reason) out. The service reads, writes and records (`connector.service.reroute`).

- A regional Lead goes to the next user of the first rule that fits its recorded facts now,
  taking the rule's round-robin turn among its active users other than the current owner; a
  rule assigning one queue hands it to that queue unless the queue owns it already.
- A global-account Lead keeps its owner, unless `reroute.global_leads`: then it goes to
  `global.team_queue`, when one is named and it is not the current owner.
- A Lead routed to review or to the default queue, or never routed by leadbridge, has no
  next owner: it stays where it is (the alert still goes out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.routing.config import OwnerRef, RoutingConfig
from connector.routing.decision import RoutingInput
from connector.routing.directory import Directory, Owner, id_key
from connector.routing.policy import RoundRobin, fits

#: The start of a regional decision's rule (`Policy._regional`).
REGIONAL = "regional:"


@dataclass(frozen=True)
class NextOwner:
    """The owner a breached Lead goes to (None: it stays), why, and the decision path to
    record (None when it stays)."""

    owner: Owner | None
    why: str
    explain: dict[str, Any] | None = None


def recorded_input(hubspot_id: str, recorded: Mapping[str, Any]) -> RoutingInput:
    """The facts a routing decision recorded of its lead (its audit payload keeps the email's
    domain, never the address: matching is not redone, only the rules are)."""
    lead = recorded.get("lead") or {}
    employees = lead.get("employees")
    return RoutingInput(
        hubspot_id=hubspot_id,
        email=None,
        company=lead.get("company"),
        country=lead.get("country"),
        state=lead.get("state"),
        employees=employees if isinstance(employees, int) else None,
        industry=lead.get("industry"),
    )


def next_owner(
    config: RoutingConfig,
    recorded: Mapping[str, Any] | None,
    current_owner_id: str,
    directory: Directory,
    round_robin: RoundRobin,
    *,
    reason: str,
    global_leads: bool = False,
) -> NextOwner:
    """The next owner of a breached Lead now owned by `current_owner_id`, routed as `recorded`
    says (its last routing decision's payload), with `reason` (why it moves) as the new
    decision's rule."""
    if recorded is None:
        return NextOwner(None, "leadbridge recorded no routing decision for it")
    current = directory.owner(current_owner_id)
    if (recorded.get("global") or {}).get("flagged"):
        if not global_leads:
            return NextOwner(
                None, "a global-account lead keeps its owner (sla.yaml reroute.global_leads)"
            )
        team = config.global_policy.team_queue
        queue = directory.queue(team) if team else None
        if queue is None or _same(queue.id, current_owner_id):
            return NextOwner(None, "no other global owner (routing.yaml global.team_queue)")
        owner = Owner(queue.id, "Group", queue.name)
        return _moved(recorded, owner, current, current_owner_id, reason, "global.team_queue")
    rule_text = str(recorded.get("rule") or "")
    if not rule_text.startswith(REGIONAL):
        kind = rule_text.split(":", 1)[0].strip() or "no rule"
        return NextOwner(None, f"routed by {kind}, which names no next owner")
    hubspot_id = str(recorded.get("hubspot_id") or "")
    lead = recorded_input(hubspot_id, recorded)
    rule = next((r for r in config.rules if fits(r.when, lead)), None)
    if rule is None:
        return NextOwner(None, "no rule of routing.yaml fits it now")
    where = f"rule '{rule.name}'"
    if rule.assign.queue is not None:
        owner = directory.resolve(OwnerRef(queue=rule.assign.queue))
        if _same(owner.id, current_owner_id):
            return NextOwner(None, f"{where} assigns one queue, which owns it already")
        return _moved(recorded, owner, current, current_owner_id, reason, where)
    members: list[tuple[str, int]] = []
    names: dict[str, str] = {}
    for member in rule.assign.users or ():
        user = directory.user(member.user)
        if user is None or not user.active or _same(user.id, current_owner_id):
            continue
        if user.id not in names:
            members.append((user.id, member.weight))
            names[user.id] = user.name
    if not members:
        return NextOwner(None, f"{where} has no other active user")
    chosen = round_robin.pick(rule.name, members)
    owner = Owner(chosen, "User", names[chosen])
    return _moved(recorded, owner, current, current_owner_id, reason, f"next of {where}")


def _moved(
    recorded: Mapping[str, Any],
    owner: Owner,
    current: Owner | None,
    current_owner_id: str,
    reason: str,
    where: str,
) -> NextOwner:
    rule = f"{reason}; {where}"
    before = {
        "id": current_owner_id,
        "kind": current.kind if current else None,
        "name": current.name if current else None,
    }
    explain = {
        **recorded,
        "rule": rule,
        "owner": {"id": owner.id, "kind": owner.kind, "name": owner.name},
        "rerouted": {"from": before, "reason": reason, "routed_by": recorded.get("rule")},
    }
    return NextOwner(owner, rule, explain)


def _same(a: str, b: str) -> bool:
    return id_key(a) == id_key(b)
