"""One pass of the `salesforce.leads` stream: what sales did with a Lead, mirrored to HubSpot.

Leads changed since the cursor (minus an overlap window, so Leads sharing a timestamp at the
boundary are never skipped), other than by the integration user, are read; for each the status
mapping gives what its HubSpot contact should show (`connector.feedback`); only what HubSpot
does not show yet is written, in batches (the stage clearings first: HubSpot moves a lifecycle
stage backward only once it is cleared). The hash of what we wrote is recorded per Lead, so a
Lead seen again unchanged (the overlap, a replay) is skipped without a call. Per page, the
cursor moves in the same transaction as the hashes and dead letters.

Failed Leads wait in the dead-letter store and are read again (by Id) at the start of each
pass until they succeed; one whose status is still not mapped counts as held, not again.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from connector.feedback import FeedbackDecision, Target, feedback_for, target
from connector.mapping.plan import values_hash
from connector.mapping.status import StatusMapping
from connector.model import DeadLetter, WriteResult
from connector.state.store import AuditEvent, Commit, StateStore
from connector.sync.sides import HubSpotSide, SalesforceSide

log = structlog.get_logger(__name__)

STREAM = "salesforce.leads"
DIRECTION = "to_hubspot"
#: Leads per page: one HubSpot batch read and at most two batch writes, one state transaction.
PAGE_SIZE = 100


@dataclass
class FeedbackSummary:
    """What one feedback pass did, for people (`render`) and for tests (the counts)."""

    run_id: str
    pulled: int = 0
    updated: Counter[str] = field(default_factory=Counter)  # contacts written, by kind
    moved_back: int = 0  # contacts whose stage went back (cleared first)
    unchanged: int = 0  # our last write, or already shown in HubSpot
    converted: int = 0  # left to conversion
    held: int = 0  # failed before for the same reason; still in the dead-letter store
    failures: list[tuple[str, str]] = field(default_factory=list)  # (lead id, reason)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def written(self) -> int:
        return sum(self.updated.values())

    def render(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.updated.items()))
        lines = [
            f"feedback {self.run_id}: pulled {self.pulled} changed Leads from Salesforce",
            f"  updated {self.written} HubSpot contacts"
            + (f" ({kinds})" if kinds else "")
            + f", unchanged {self.unchanged}, left to conversion {self.converted}, "
            f"failed {self.failed}",
        ]
        if self.moved_back:
            lines.append(
                f"  sent {self.moved_back} contacts back to an earlier lifecycle stage "
                "(cleared first)"
            )
        if self.held:
            lines.append(
                f"  {self.held} Leads still wait in the dead-letter store, unchanged since "
                "they failed"
            )
        for lead_id, reason in self.failures:
            lines.append(f"  failed: Salesforce Lead {lead_id}: {reason}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Pending:
    lead: dict[str, Any]
    contact_id: str
    target: Target
    hash: str


class FeedbackEngine:
    """Mirrors sales feedback (Lead status, owner, rejection reason) to HubSpot contacts."""

    def __init__(
        self,
        salesforce: SalesforceSide,
        hubspot: HubSpotSide,
        store: StateStore,
        status_mapping: StatusMapping,
        overlap: timedelta = timedelta(minutes=1),
        *,
        external_id_field: str = "HubSpot_Contact_Id__c",
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.store = store
        self.mapping = status_mapping
        self.overlap = overlap
        self.external_id_field = external_id_field
        self.page_size = page_size
        #: Every contact property a decision may compare or write.
        self.properties = sorted(
            {
                status_mapping.lead_status_property,
                status_mapping.lifecycle_property,
                *status_mapping.copy_.values(),
                *(p for rule in status_mapping.statuses.values() for p in rule.copy_.values()),
            }
        )

    def run_once(self, run_id: str | None = None) -> FeedbackSummary:
        """One pass: the dead letters again, then the Leads changed since the cursor."""
        summary = FeedbackSummary(run_id or uuid.uuid4().hex[:12])
        cursor = self.store.cursor(STREAM)
        since = cursor - self.overlap if cursor else None
        log.info(
            "feedback.start",
            stream=STREAM,
            since=since.isoformat() if since else None,
            run_id=summary.run_id,
        )
        fields = self.mapping.lead_fields()
        dead = {
            d.record_id: (d.code, values_hash(d.payload)) for d in self.store.dead_letters(STREAM)
        }
        retried: set[str] = set()
        if dead:
            retry = self.salesforce.current_leads(sorted(dead), [self.external_id_field, *fields])
            retried = set(retry)
            for page in _pages(list(retry.values()), self.page_size):
                self._page(page, summary, None, dead, moves_cursor=False)
        leads = self.salesforce.changed_leads(
            since, fields, exclude_user_id=self.salesforce.user_id
        )
        for page in _pages(leads, self.page_size):
            cursor = self._page(page, summary, cursor, dead, skip=retried)
        log.info(
            "feedback.done",
            stream=STREAM,
            run_id=summary.run_id,
            pulled=summary.pulled,
            updated=summary.written,
            unchanged=summary.unchanged,
            failed=summary.failed,
        )
        return summary

    def _page(
        self,
        page: list[dict[str, Any]],
        summary: FeedbackSummary,
        cursor: datetime | None,
        dead: dict[str, tuple[str | None, str]],
        *,
        moves_cursor: bool = True,
        skip: set[str] | frozenset[str] = frozenset(),
    ) -> datetime | None:
        """Decide, write and record one page; the stream's cursor after it. Leads in `skip`
        (dead letters this pass already retried) only move the cursor."""
        if moves_cursor:
            summary.pulled += len(page)
        commit = Commit(stream=STREAM, direction=DIRECTION)
        hashes = self.store.hashes([_key(lead["Id"]) for lead in page], DIRECTION)
        pending: list[_Pending] = []
        for lead in page:
            lead_id = str(lead["Id"])
            if lead_id in skip:
                continue
            wanted = target(lead, self.mapping)
            contact_id = str(lead.get(self.external_id_field) or "")
            if wanted is None:
                decision = feedback_for(lead, {}, self.mapping)
                payload = {"Status": lead.get("Status")}
                if dead.get(lead_id) == ("UNMAPPED_STATUS", values_hash(payload)):
                    summary.held += 1
                else:
                    self._fail(
                        commit, summary, lead_id, decision.reason, "UNMAPPED_STATUS", payload
                    )
                continue
            if wanted.kind == "converted" or not contact_id:
                summary.converted += wanted.kind == "converted"
                commit.resolved.append(lead_id)
                continue
            digest = values_hash({"contact": contact_id, "stage": wanted.stage, **wanted.values})
            if hashes.get(_key(lead_id)) == digest:
                summary.unchanged += 1
                commit.resolved.append(lead_id)
                continue
            pending.append(_Pending(lead, contact_id, wanted, digest))
        self._write(pending, commit, summary)
        if moves_cursor:
            stamps = [lead["SystemModstamp"] for lead in page if lead.get("SystemModstamp")]
            newest = max(stamps) if stamps else cursor
            commit.cursor = max(cursor, newest) if cursor and newest else newest
        self.store.record(commit, run_id=summary.run_id)
        log.info("feedback.page", stream=STREAM, run_id=summary.run_id, size=len(page))
        return commit.cursor if moves_cursor else cursor

    def _write(self, pending: list[_Pending], commit: Commit, summary: FeedbackSummary) -> None:
        """Read the contacts (one batch), decide, clear stages (one batch), write (one batch)."""
        if not pending:
            return
        ids = list(dict.fromkeys(p.contact_id for p in pending))
        contacts = {c.id: c for c in self.hubspot.read_contacts(ids, self.properties)}
        # The newest change of a contact wins (the page is oldest first).
        chosen: dict[str, tuple[_Pending, FeedbackDecision]] = {}
        for item in pending:
            lead_id = str(item.lead["Id"])
            contact = contacts.get(item.contact_id)
            if contact is None:
                reason = f"HubSpot contact {item.contact_id} does not exist (deleted or merged?)"
                self._fail(commit, summary, lead_id, reason, "CONTACT_NOT_FOUND", {})
                continue
            decision = feedback_for(item.lead, contact.properties, self.mapping)
            if not decision.updates:
                summary.unchanged += 1
                commit.hashes[_key(lead_id)] = item.hash
                commit.resolved.append(lead_id)
                continue
            chosen[item.contact_id] = (item, decision)
        lifecycle = self.mapping.lifecycle_property
        clears = {cid: {lifecycle: None} for cid, (_, d) in chosen.items() if d.clear_first}
        if clears:
            for result in self.hubspot.update_contacts(clears):
                if not result.success:
                    item, decision = chosen.pop(result.hubspot_id)
                    self._refused(commit, summary, item, decision, result, "clearing the stage")
        if not chosen:
            return
        results = self.hubspot.update_contacts({cid: d.updates for cid, (_, d) in chosen.items()})
        for result in results:
            item, decision = chosen[result.hubspot_id]
            if not result.success:
                self._refused(commit, summary, item, decision, result, "writing")
                continue
            lead_id = str(item.lead["Id"])
            commit.hashes[_key(lead_id)] = item.hash
            commit.resolved.append(lead_id)
            summary.updated[decision.kind or "?"] += 1
            summary.moved_back += decision.clear_first
            commit.audit.append(
                AuditEvent(
                    "feedback",
                    item.contact_id,
                    {"lead_id": lead_id, "kind": decision.kind, "reason": decision.reason},
                )
            )

    def _refused(
        self,
        commit: Commit,
        summary: FeedbackSummary,
        item: _Pending,
        decision: FeedbackDecision,
        result: WriteResult,
        what: str,
    ) -> None:
        code = result.errors[0].code if result.errors else None
        reason = f"HubSpot refused {what} contact {item.contact_id}: {result.reason}"
        self._fail(commit, summary, str(item.lead["Id"]), reason, code, dict(decision.updates))

    @staticmethod
    def _fail(
        commit: Commit,
        summary: FeedbackSummary,
        lead_id: str,
        reason: str,
        code: str | None,
        payload: dict[str, Any],
    ) -> None:
        commit.failures.append(DeadLetter(STREAM, lead_id, reason, code=code, payload=payload))
        summary.failures.append((lead_id, reason))
        log.warning("feedback.record_failed", stream=STREAM, record_id=lead_id, code=code)


def _pages(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _key(lead_id: str) -> str:
    return f"salesforce:{lead_id}"
