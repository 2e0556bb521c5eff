"""HubSpot contact merges and plain deletions, carried out: the work the webhook endpoint
recorded for `hubspot.merges` and `hubspot.deletions`, run by id like the other streams' work.

Each event is done in two recorded steps, so a kill anywhere leaves work that a later run
finishes, and an event delivered twice changes nothing more:

1. the store (one transaction, `StateStore.merge_contacts` / `StateStore.close_link`): links,
   written hashes and work of the merged-away contacts moved to the survivor (or the deleted
   contact's link closed, its Salesforce ids kept), the write-back of the kept Lead's id owed,
   the event's work done and the Salesforce step recorded as `pending` work;
2. Salesforce (and HubSpot): the kept Lead takes the survivor's id, each duplicate Lead is
   merged into it or flagged (a deleted contact's Lead unlinked, flagged or deleted), HubSpot's
   Lead id property set; then the pending work is done, in one transaction with what HubSpot
   confirmed and what a person must look at (dead letters).

Every Salesforce call of step 2 is idempotent or treats "already done" as done: setting a field
again, merging a Lead merged already (`ENTITY_IS_DELETED`), deleting one deleted already.

A run holds the contacts stream alone (`StateStore.hold`): no contacts run reads or writes the
contacts of a merge while their links move. Privacy deletions (`contact.privacyDeletion`,
kept in `hubspot.deletions` too) are the eraser's: left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from connector.mapping.model import MergesAndDeletions
from connector.model import DeadLetter, RecordMerge, RecordUpdate, WriteResult
from connector.state.hold import Wait
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import Work, pending
from connector.streams.base import Summary, new_run_id
from connector.streams.contacts.stream import STREAM as CONTACTS
from connector.streams.identity.decide import (
    MergePlan,
    flag_fields,
    merge_ids,
    plan_deletion,
    plan_merge,
)

log = structlog.get_logger(__name__)

MERGES = "hubspot.merges"
DELETIONS = "hubspot.deletions"
#: The stream a run holds alone: the contacts whose links a merge or deletion changes.
HELD = CONTACTS
#: Salesforce's answers for a record that is gone already (merged or deleted before).
_GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


class IdentitySalesforce(Protocol):
    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...
    def merge_records(self, sobject: str, merges: Sequence[RecordMerge]) -> list[WriteResult]: ...
    def delete_records(self, ids: Sequence[str]) -> list[WriteResult]: ...


class IdentityHubSpot(Protocol):
    def update_contacts(
        self, updates: Mapping[str, Mapping[str, str | None]]
    ) -> list[WriteResult]: ...


@dataclass
class IdentitySummary(Summary):
    """What one run of merges or deletions did."""

    merges: int = 0  # merge events carried out in the store
    duplicates: int = 0  # second Leads found by merges
    merged: int = 0  # of those, merged into the kept Lead in Salesforce
    flagged: int = 0  # Leads flagged (duplicates, or deleted contacts' Leads)
    reported: int = 0  # records left for a person (dead-letter store)
    deletions: int = 0  # deleted contacts whose link was closed
    deleted: int = 0  # their Leads deleted in Salesforce
    unlinked: int = 0  # their Leads left (or flagged), unlinked

    def lines(self) -> list[str]:
        lines = [
            f"{self.stream} {self.run_id}: {self.merges} merges ({self.duplicates} duplicate "
            f"Leads: {self.merged} merged, {self.flagged} flagged, {self.reported} reported), "
            f"{self.deletions} deletions ({self.deleted} Leads deleted, {self.unlinked} "
            f"unlinked), {self.failed} failed"
        ]
        lines += [f"  {record}: {why}" for record, why in self.failures]
        return lines


class IdentityEvents:
    """Carries out the merges (`MERGES`) or the plain deletions (`DELETIONS`) webhooks named."""

    should_stop: Callable[[], bool] | None = None

    def __init__(
        self,
        name: str,
        salesforce: IdentitySalesforce,
        hubspot: IdentityHubSpot,
        store: StateStore,
        settings: MergesAndDeletions,
        *,
        external_id_field: str,
        lead_property: str,
        contact_property: str,
        wait: Wait | None = None,
    ) -> None:
        if name not in (MERGES, DELETIONS):
            msg = f"no identity stream {name!r}"
            raise ValueError(msg)
        self.name = name
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.store = store
        self.settings = settings
        self.external_id_field = external_id_field
        self.lead_property = lead_property
        self.contact_property = contact_property
        self.wait = wait or Wait()

    def run_ids(self, ids: Sequence[str], run_id: str | None = None) -> IdentitySummary:
        """The stream's work for these records (the Salesforce steps left by earlier runs
        first), holding the contacts stream alone."""
        summary = IdentitySummary(run_id or new_run_id(), stream=self.name)
        wanted = set(ids)
        with self.store.hold(HELD, wait=self.wait):
            items = [w for w in self.store.work(self.name) if w.record_id in wanted]
            # The Salesforce steps left by earlier runs first, then events in arrival order.
            items.sort(
                key=lambda w: (
                    w.kind != "pending",
                    w.created_at.timestamp() if w.created_at else 0.0,
                    w.record_id,
                )
            )
            for item in items:
                if self.should_stop is not None and self.should_stop():
                    break
                try:
                    self._one(item, summary)
                except Exception as exc:  # one event's failure stops no other
                    # Its work stays (tried again next run, each step finds what is done);
                    # the events after it go on. The exception's text may quote a record.
                    why = f"{type(exc).__name__}: stopped; its work stays for the next run"
                    summary.failures.append((item.record_id, why))
                    log.warning(
                        "identity.event_failed",
                        stream=self.name,
                        record_id=item.record_id,
                        error=type(exc).__name__,
                    )
        log.info("stream.done", stream=self.name, run_id=summary.run_id, **summary.counts())
        return summary

    def run_all(self, run_id: str | None = None) -> IdentitySummary:
        """All of the stream's work due now."""
        return self.run_ids([w.record_id for w in self.store.work(self.name)], run_id)

    def _one(self, item: Work, summary: IdentitySummary) -> None:
        if item.kind == "pending":
            if self.name == MERGES:
                self.finish_merge(item, summary)
            else:
                self.finish_deletion(item, summary)
        elif self.name == MERGES:
            self.on_merge(item, summary)
        elif item.payload.get("subscription_type") == "contact.deletion":
            self.on_deletion(item, summary)
        # anything else here (a privacy deletion) is the eraser's: left as it is

    # -- merges ----------------------------------------------------------------------------
    def on_merge(self, item: Work, summary: IdentitySummary) -> None:
        """Step 1 of a `contact.merge`: the store moved, the Salesforce step owed; then step 2."""
        ids = merge_ids(item.payload)
        run_id = summary.run_id
        if ids is None:
            reason = f"merge event {item.payload.get('event_id')} names no surviving contact"
            failure = DeadLetter(MERGES, item.record_id, reason, code="BAD_EVENT")
            commit = Commit(MERGES, done=[item.record_id], failures=[failure])
            self.store.record(commit, run_id=run_id)
            summary.failures.append((item.record_id, reason))
            return
        links = self.store.links([ids.survivor, *ids.merged])
        plan = plan_merge(ids, links, self.settings)
        commit = Commit(MERGES, done=[item.record_id])
        commit.audit.append(
            AuditEvent(
                "contact_merged",
                ids.survivor,
                {
                    "merged": list(ids.merged),
                    "kept": plan.keep.salesforce_id if plan.keep else None,
                    "duplicates": [d.record_id for d in plan.duplicates],
                    "reason": plan.reason,
                },
            )
        )
        properties: dict[str, str | None] = {}
        if plan.keep is not None:
            prop = self.lead_property if plan.keep.object == "Lead" else self.contact_property
            properties = {prop: plan.keep.salesforce_id}
            commit.owed[ids.survivor] = properties
        step = _merge_step(plan, properties)
        if step is not None:
            commit.work.append(
                pending(MERGES, item.record_id, f"Salesforce side of {plan.reason}", **step)
            )
        self.store.merge_contacts(
            ids.survivor,
            ids.merged,
            keep=plan.keep,
            kept_from=plan.kept_from,
            commit=commit,
            run_id=run_id,
        )
        summary.merges += 1
        summary.duplicates += len(plan.duplicates)
        log.info(
            "identity.merged",
            survivor=ids.survivor,
            merged=len(ids.merged),
            duplicates=len(plan.duplicates),
        )
        if step is not None:
            self.finish_merge(pending(MERGES, item.record_id, "", **step), summary)

    def finish_merge(self, item: Work, summary: IdentitySummary) -> None:
        """Step 2 of a merge, from its pending work: Salesforce, then HubSpot's Lead id."""
        step = item.payload
        survivor, kept = str(step["survivor"]), str(step["kept"])
        commit = Commit(MERGES, done=[item.record_id])
        if step.get("retag"):
            update = RecordUpdate(survivor, str(step["retag"]), {self.external_id_field: survivor})
            (result,) = self.salesforce.update_records("Lead", [update])
            if not result.success:
                self._report(commit, summary, str(step["retag"]), survivor, result, "retag")
        for duplicate in step.get("duplicates", []):
            record, action = str(duplicate["record_id"]), duplicate["action"]
            details = {"kept": kept, "duplicate": record, "action": action}
            if action == "report":
                reason = str(duplicate["reason"])
                commit.failures.append(
                    DeadLetter(MERGES, record, reason, code="DUPLICATE_AFTER_MERGE")
                )
                summary.reported += 1
                summary.failures.append((record, reason))
            elif action == "merge":
                (result,) = self.salesforce.merge_records("Lead", [RecordMerge(kept, (record,))])
                if result.success or _gone(result):
                    summary.merged += 1
                else:
                    # Refused: the duplicate is flagged instead, and a person told why.
                    self._report(commit, summary, record, survivor, result, "merge")
                    self._flag(record, survivor, commit, summary)
                    details["action"] = "flag"
            else:
                self._flag(record, survivor, commit, summary)
            commit.audit.append(AuditEvent("duplicate_after_merge", survivor, details))
        self._write_back(survivor, dict(step.get("writeback", {})), commit)
        self.store.record(commit, run_id=summary.run_id)

    def _flag(self, record: str, key: str, commit: Commit, summary: IdentitySummary) -> None:
        """A duplicate flagged, and its merged-away contact's id cleared: no live Lead claims an
        id HubSpot now answers as the survivor (`relink` would take it for the survivor's)."""
        update = RecordUpdate(
            key, record, {**flag_fields(self.settings), self.external_id_field: None}
        )
        (result,) = self.salesforce.update_records("Lead", [update])
        if result.success:
            summary.flagged += 1
        elif not _gone(result):
            self._report(commit, summary, record, key, result, "flag")

    def _write_back(self, survivor: str, properties: dict[str, Any], commit: Commit) -> None:
        """HubSpot's Lead id property set now; owed (already recorded) until it confirms."""
        if not properties:
            return
        (result,) = self.hubspot.update_contacts({survivor: properties})
        if result.success:
            commit.confirmed[survivor] = properties

    def _report(
        self,
        commit: Commit,
        summary: IdentitySummary,
        record: str,
        contact: str,
        result: WriteResult,
        what: str,
    ) -> None:
        reason = f"{what} of {record} for contact {contact} refused: {result.reason}"
        code = result.errors[0].code if result.errors else None
        commit.failures.append(DeadLetter(self.name, record, reason, code=code))
        summary.reported += 1
        summary.failures.append((record, reason))

    # -- deletions -------------------------------------------------------------------------
    def on_deletion(self, item: Work, summary: IdentitySummary) -> None:
        """Step 1 of a plain `contact.deletion`: the link closed (its Salesforce ids kept), the
        Salesforce step owed; then step 2. A contact with no open link (never linked, deleted
        already, or erased) is a no-op."""
        hubspot_id = str(item.payload.get("object_id") or item.record_id)
        link = self.store.links([hubspot_id]).get(hubspot_id)
        plan = plan_deletion(hubspot_id, link, self.settings)
        commit = Commit(DELETIONS, done=[item.record_id])
        if plan.action == "none":
            self.store.record(commit, run_id=summary.run_id)
            return
        commit.audit.append(
            AuditEvent(
                "contact_deleted",
                hubspot_id,
                {"salesforce_id": link.salesforce_id if link else None, "action": plan.action},
            )
        )
        if link is not None and plan.action in ("leave", "flag", "delete"):
            commit.work.append(
                pending(
                    DELETIONS,
                    item.record_id,
                    plan.reason,
                    hubspot_id=hubspot_id,
                    lead_id=link.salesforce_id,
                    action=plan.action,
                )
            )
        reason = "deleted in HubSpot"
        self.store.close_link(hubspot_id, reason, commit=commit, run_id=summary.run_id)
        summary.deletions += 1
        log.info("identity.deleted", action=plan.action)
        if commit.work:
            self.finish_deletion(commit.work[0], summary)

    def finish_deletion(self, item: Work, summary: IdentitySummary) -> None:
        """Step 2 of a deletion: the Lead unlinked (and flagged), or deleted."""
        step = item.payload
        hubspot_id, lead = str(step["hubspot_id"]), str(step["lead_id"])
        commit = Commit(DELETIONS, done=[item.record_id])
        if step["action"] == "delete":
            (result,) = self.salesforce.delete_records([lead])
            if result.success or _gone(result):
                summary.deleted += 1
            else:
                self._report(commit, summary, lead, hubspot_id, result, "delete")
        else:
            fields: dict[str, Any] = {self.external_id_field: None}
            if step["action"] == "flag":
                fields |= flag_fields(self.settings)
            (result,) = self.salesforce.update_records(
                "Lead", [RecordUpdate(hubspot_id, lead, fields)]
            )
            if result.success or _gone(result):
                summary.unlinked += 1
                summary.flagged += step["action"] == "flag"
            else:
                self._report(commit, summary, lead, hubspot_id, result, "unlink")
        self.store.record(commit, run_id=summary.run_id)


def _merge_step(plan: MergePlan, properties: dict[str, str | None]) -> dict[str, Any] | None:
    """The pending work's payload for a merge's Salesforce and HubSpot step (ids only)."""
    if plan.keep is None:
        return None
    return {
        "survivor": plan.survivor,
        "kept": plan.keep.lead_id or plan.keep.salesforce_id,
        "retag": plan.retag,
        "duplicates": [
            {"record_id": d.record_id, "action": d.action, "reason": d.reason}
            for d in plan.duplicates
        ],
        "writeback": properties,
    }


def _gone(result: WriteResult) -> bool:
    return any(e.code in _GONE for e in result.errors)
