"""The alert check's re-route of Leads past their SLA untouched (`mappings/sla.yaml`,
`reroute.after_breach`): each goes to its next owner per routing.yaml
(`connector.routing.reroute` decides), its `OwnerId` updated in Salesforce, and the decision
recorded in the audit log as a routing decision whose rule is the reason (`SLA breach: <target>,
untouched <minutes> min`), so the status page and `leadbridge routing explain` show it.

At most once per Lead per breach, whatever happens: the re-route is claimed in the store (who
from, who to, why) before Salesforce is asked, and finished (decision recorded) after. A check
that sees the same breach again finds the claim and does nothing; one that finds a claim not
finished (the process stopped after the update, before the record) reads the Lead's owner and
finishes it: moved already, it records; still with the old owner, it sends the same update
again; moved by someone else meanwhile, it records that and leaves the Lead alone.

Calls per check: one read of the breached Leads' owners (200 a query), one read of the users
and queues involved (one Composite call), one Collections update (200 Leads a call): none when
every breach was re-routed before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from connector.alerts import Breach
from connector.model import LeadUpdate, QueueInfo, UserInfo, WriteResult
from connector.reports.config import SlaConfig
from connector.reports.touches import is_lead_id
from connector.routing.config import QUEUE_PREFIX, USER_PREFIX, RoutingConfig, is_id
from connector.routing.directory import Directory, config_refs, id_key
from connector.routing.policy import RoundRobin
from connector.routing.reroute import next_owner
from connector.state.store import AuditEvent, StateStore

log = structlog.get_logger(__name__)

#: The run id of the audit events the re-route records.
RUN_ID = "alerts"


class LeadOwners(Protocol):
    """What the re-route asks of Salesforce (`SalesforceGateway`'s)."""

    def current_leads(
        self, lead_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def owners(
        self,
        *,
        user_ids: Sequence[str] = (),
        usernames: Sequence[str] = (),
        queue_ids: Sequence[str] = (),
        developer_names: Sequence[str] = (),
    ) -> tuple[list[UserInfo], list[QueueInfo]]: ...
    def update_leads(
        self, updates: Sequence[LeadUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...


@dataclass(frozen=True)
class Rerouted:
    """What became of one breached Lead: its new owner (None: it stays), and why."""

    lead_id: str
    owner_id: str | None
    why: str


def reason(breach: Breach, now: datetime) -> str:
    """`SLA breach: <target name>, untouched <minutes> min` (minutes since the handoff)."""
    minutes = 0 if breach.handoff is None else (now - breach.handoff).total_seconds() / 60
    return f"SLA breach: {breach.target or breach.stage}, untouched {max(minutes, 0):.0f} min"


class Rerouter:
    """Re-routes breached Leads over one store and one Salesforce gateway."""

    def __init__(
        self,
        routing: RoutingConfig,
        sla: SlaConfig,
        store: StateStore,
        salesforce: LeadOwners,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.routing = routing
        self.sla = sla
        self.store = store
        self.salesforce = salesforce
        self._now = now

    def __call__(self, breaches: Sequence[Breach]) -> list[Rerouted]:
        """Re-route every Lead of `breaches` not re-routed for its breach yet (and finish any
        re-route a stopped process left unfinished); what became of each acted on."""
        breaches = [b for b in breaches if is_lead_id(b.lead_id)]  # not an erased journey
        if not breaches:
            return []
        claims = self.store.reroutes(b.lead_id for b in breaches)
        todo = {b.lead_id: b for b in breaches if not claims.get(b.lead_id, {}).get("done")}
        if not todo:
            return []
        leads = self.salesforce.current_leads(list(todo), ["OwnerId", "IsConverted"])
        done: list[Rerouted] = []
        sends: dict[str, dict[str, Any]] = {}
        for lead_id, claim in claims.items():
            if lead_id in todo:
                outcome = self._unfinished(lead_id, claim, leads.get(lead_id))
                if outcome is None:
                    sends[lead_id] = claim
                else:
                    done.append(outcome)
        fresh = [
            b for lead_id, b in todo.items() if lead_id not in claims and _open(leads.get(lead_id))
        ]
        if fresh:
            done += self._claim(fresh, leads, sends)
        return done + self._send(sends)

    # -- steps -----------------------------------------------------------------------------
    def _unfinished(
        self, lead_id: str, claim: dict[str, Any], lead: dict[str, Any] | None
    ) -> Rerouted | None:
        """Finish a claim a stopped process left: None when its update is still to send."""
        to, before = claim.get("to"), claim.get("from")
        owner = str((lead or {}).get("OwnerId") or "")
        if to is None:
            self._finish(lead_id, claim, None)
            return Rerouted(lead_id, None, str(claim.get("why")))
        if owner and id_key(owner) == id_key(str(to)):
            self._finish(lead_id, claim, claim)
            return Rerouted(lead_id, str(to), str(claim.get("rule")))
        if lead is not None and _open(lead) and before and id_key(owner) == id_key(str(before)):
            return None
        why = "the Lead's owner changed meanwhile (or it is gone): left alone"
        self._finish(lead_id, {**claim, "outcome": why}, None)
        return Rerouted(lead_id, None, why)

    def _claim(
        self,
        fresh: Sequence[Breach],
        leads: dict[str, dict[str, Any]],
        sends: dict[str, dict[str, Any]],
    ) -> list[Rerouted]:
        """Decide and claim each fresh breach's next owner; those to move go into `sends`."""
        owners = {str(leads[b.lead_id].get("OwnerId") or "") for b in fresh}
        directory = self._directory(owners - {""})
        turns = RoundRobin(self.store)
        turns.begin()
        now = self._now()
        stays: list[Rerouted] = []
        for breach in fresh:
            current = str(leads[breach.lead_id].get("OwnerId") or "")
            why = reason(breach, now)
            found = next_owner(
                self.routing,
                self._recorded(breach.hubspot_id),
                current,
                directory,
                turns,
                reason=why,
                global_leads=self.sla.reroute.global_leads,
            )
            claim = {
                "hubspot_id": breach.hubspot_id,
                "from": current,
                "to": found.owner.id if found.owner else None,
                "reason": why,
                "rule": found.why,
                "explain": found.explain,
            }
            if not self.store.claim_reroute(breach.lead_id, claim):
                turns.discard()  # another check has it
                continue
            turns.commit()
            if found.owner is None:
                self._finish(breach.lead_id, claim, None)
                stays.append(Rerouted(breach.lead_id, None, found.why))
                log.info("alert.reroute_skipped", lead_id=breach.lead_id, why=found.why)
            else:
                sends[breach.lead_id] = claim
        return stays

    def _send(self, sends: dict[str, dict[str, Any]]) -> list[Rerouted]:
        """Move the claimed Leads in one Collections update; record each that moved."""
        if not sends:
            return []
        updates = [
            LeadUpdate(lead_id, lead_id, {"OwnerId": claim["to"]})
            for lead_id, claim in sends.items()
        ]
        results = {r.hubspot_id: r for r in self.salesforce.update_leads(updates)}
        moved = []
        for lead_id, claim in sends.items():
            result = results.get(lead_id)
            if result is None or not result.success:
                why = result.reason if result else "no answer"
                log.error("alert.reroute_failed", lead_id=lead_id, error=why)
                continue  # claimed, not finished: the next check sends it again
            self._finish(lead_id, claim, claim)
            moved.append(Rerouted(lead_id, str(claim["to"]), str(claim["rule"])))
            log.info(
                "alert.rerouted", lead_id=lead_id, owner_id=claim["to"], reason=claim["reason"]
            )
        return moved

    def _finish(self, lead_id: str, claim: dict[str, Any], recorded: dict[str, Any] | None) -> None:
        decision = None
        if recorded is not None and recorded.get("explain"):
            decision = AuditEvent("routing", claim.get("hubspot_id"), recorded["explain"])
        self.store.finish_reroute(lead_id, claim, decision, run_id=RUN_ID)

    # -- reads -----------------------------------------------------------------------------
    def _recorded(self, hubspot_id: str | None) -> dict[str, Any] | None:
        """The Lead's last routing decision as the audit log keeps it."""
        if not hubspot_id:
            return None
        events = self.store.audit_events(hubspot_id, "routing")
        return dict(events[-1].details) if events else None

    def _directory(self, owner_ids: set[str]) -> Directory:
        """The users and queues routing.yaml names and the Leads' owners: one read."""
        user_refs, queue_refs = config_refs(self.routing)
        users, queues = self.salesforce.owners(
            user_ids=sorted(
                {r for _, r in user_refs if is_id(r, USER_PREFIX)}
                | {o for o in owner_ids if o.startswith(USER_PREFIX)}
            ),
            usernames=sorted({r for _, r in user_refs if not is_id(r, USER_PREFIX)}),
            queue_ids=sorted(
                {r for _, r in queue_refs if is_id(r, QUEUE_PREFIX)}
                | {o for o in owner_ids if o.startswith(QUEUE_PREFIX)}
            ),
            developer_names=sorted({r for _, r in queue_refs if not is_id(r, QUEUE_PREFIX)}),
        )
        return Directory(users, queues)


def _open(lead: dict[str, Any] | None) -> bool:
    """A Lead that is there and not converted."""
    return lead is not None and not lead.get("IsConverted")
