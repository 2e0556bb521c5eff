"""The decision path of one routed lead: built as JSON while deciding, rendered for people.

The JSON (`RoutingDecision.explain`) is also the audit payload of every routed lead; it holds
the email's domain, never the address. `render_text` prints it for `leadbridge routing explain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.routing.decision import Opportunity, RoutingDecision, RoutingInput
from connector.routing.directory import Directory, Owner
from connector.routing.hierarchy import Hierarchy


def shown(value: Any) -> str:
    """A field value as routing messages show it (`true`, `'Customer - Direct'`, `null`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def email_domain(email: str | None) -> str | None:
    """The part after the last `@`, lower case; None without one."""
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


@dataclass
class Trail:
    """The explain record of one decision, filled in step by step by the policy."""

    lead: RoutingInput
    candidates: list[dict[str, Any]]
    _chosen: dict[str, Any] | None = None
    _hierarchy: list[dict[str, Any]] = field(default_factory=list)
    _hierarchy_error: str | None = None
    _global: dict[str, Any] = field(default_factory=dict)
    _watchers: list[dict[str, Any]] = field(default_factory=list)

    def chosen(self, account_id: str, name: str | None) -> None:
        self._chosen = {"id": account_id, "name": name}

    def hierarchy(self, hierarchy: Hierarchy | None, error: str | None) -> None:
        chain = hierarchy.chain if hierarchy else ()
        self._hierarchy = [{"id": n.id, "name": n.name, "owner_id": n.owner_id} for n in chain]
        self._hierarchy_error = error

    def global_verdict(self, *, value: bool, reason: str) -> None:
        self._global = {"value": value, "reason": reason}

    def watchers(self, opportunities: Sequence[Opportunity], directory: Directory) -> None:
        by_owner: dict[str, dict[str, Any]] = {}
        for opp in sorted(opportunities, key=lambda o: (o.owner_id, o.id)):
            owner = directory.owner(opp.owner_id)
            entry = by_owner.setdefault(
                opp.owner_id,
                {"id": opp.owner_id, "name": owner.name if owner else None, "opportunities": []},
            )
            entry["opportunities"].append({"id": opp.id, "account_id": opp.account_id})
        self._watchers = list(by_owner.values())

    def finish(self, *, rule: str, owner: Owner, global_lead: bool) -> dict[str, Any]:
        lead = self.lead
        ultimate = self._hierarchy[-1] if self._hierarchy and not self._hierarchy_error else None
        return {
            "hubspot_id": lead.hubspot_id,
            "lead": {
                "company": lead.company,
                "email_domain": email_domain(lead.email),
                "country": lead.country,
                "state": lead.state,
                "employees": lead.employees,
                "industry": lead.industry,
            },
            "candidates": self.candidates,
            "chosen_account": self._chosen,
            "hierarchy": self._hierarchy,
            "hierarchy_error": self._hierarchy_error,
            "ultimate_parent": ultimate,
            "global": {**self._global, "flagged": global_lead},
            "watchers": self._watchers,
            "rule": rule,
            "owner": {"id": owner.id, "kind": owner.kind, "name": owner.name},
        }


def render_text(decision: RoutingDecision, names: Mapping[str, str] | None = None) -> str:
    """The decision path as people read it; `names` (id → name) fills in names it lacks."""
    lines = explain_lines(decision.explain, names)
    written = ", ".join(f"{k} = {shown(v)}" for k, v in decision.lead_fields.items())
    lines.append(f"Lead fields: {written}")
    return "\n".join(lines)


def explain_lines(info: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[str]:
    """The lines of a decision path (`RoutingDecision.explain`, as the audit keeps it) up to
    its owner: what `render_text` prints, and the status page shows of a routed lead."""
    names = names or {}

    def label(item: Mapping[str, Any] | None) -> str:
        if not item:
            return "none"
        name = item.get("name") or names.get(item.get("id") or "")
        return f"{name} ({item['id']})" if name else str(item["id"])

    lead = info.get("lead") or {}
    facts = [
        f"company {shown(lead.get('company'))}",
        f"email domain {lead.get('email_domain') or 'none'}",
        *(
            f"{key} {shown(lead[key])}"
            for key in ("country", "state", "employees", "industry")
            if lead.get(key) is not None
        ),
    ]
    lines = [f"HubSpot contact {info.get('hubspot_id')}: {', '.join(facts)}"]
    candidates = info.get("candidates") or []
    lines.append("candidates:" if candidates else "candidates: none")
    for number, c in enumerate(candidates, 1):
        fields = f" [{', '.join(c['fields'])}]" if c.get("fields") else ""
        detail = f": {c['detail']}" if c.get("detail") else ""
        lines.append(
            f"  {number}. {label({'id': c['account_id'], 'name': c.get('name')})}: "
            f"{c['tier']}, score {shown(c['score'])}{fields}{detail}"
        )
        if c.get("evidence"):
            lines.append(f"     evidence: {'; '.join(c['evidence'])}")
        penalties = c.get("penalties") or []
        if penalties:
            taken = "; ".join(f"{p['reason']}: -{shown(p['points'])}" for p in penalties)
            lines.append(f"     penalties: {taken}")
        elif c.get("evidence"):
            lines.append("     penalties: none")
    lines.append(f"chosen account: {label(info.get('chosen_account'))}")
    chain = info.get("hierarchy") or []
    if chain:
        lines.append(f"hierarchy: {label(chain[0])}")
        lines.extend(f"         → {label(node)}" for node in chain[1:])
        if info.get("ultimate_parent"):
            lines[-1] += "  (ultimate parent)"
    if info.get("hierarchy_error"):
        lines.append(f"hierarchy error: {info['hierarchy_error']}")
    verdict = info.get("global") or {}
    answer = "yes" if verdict.get("value") else "no"
    lines.append(f"global: {answer}: {verdict.get('reason', '')}")
    watchers = info.get("watchers") or []
    for watcher in watchers:
        opportunities = ", ".join(
            f"{o['id']} on {names.get(o['account_id'], o['account_id'])}"
            for o in watcher["opportunities"]
        )
        lines.append(f"watcher: {label(watcher)}: open opportunity {opportunities}")
    lines.append(f"rule: {info.get('rule')}")
    rerouted = info.get("rerouted")
    if isinstance(rerouted, Mapping):
        before = rerouted.get("from") or {}
        lines.append(
            f"re-routed from: {label(before) if before.get('id') else 'none'} "
            f"(routed by {rerouted.get('routed_by') or 'none'})"
        )
    owner = info.get("owner") or {}
    kind = "queue" if owner.get("kind") == "Group" else "user"
    lines.append(f"owner: {label(owner) if owner.get('id') else 'none'}, a {kind}")
    return lines
