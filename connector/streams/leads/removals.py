"""Leads and Contacts deleted or merged in Salesforce, read by the `salesforce.leads` stream each
pass and mirrored to the store's links and the HubSpot contacts (`connector.streams.leads.gone`
decides).

The read is `queryAll` over the Recycle Bin (`IsDeleted = true`, `SystemModstamp` since this
read's own cursor minus the overlap), Leads and Contacts in one Composite call: one API call a
pass when nothing was removed. `getDeleted` was not chosen: it gives ids and times only (a
merge's `MasterRecordId`, the external id and a privacy flag would need a second read), takes a
`start`/`end` window within the last 15 days, and costs a call per object.

Per page: the links of the removed records and of the records merges kept (one store read),
the kept records' external ids (one Salesforce read, only when a linked record was merged), the
erasures (`Eraser`, each kill-safe on its own), the kept records claimed (their external id set,
so the contacts stream's upserts find them), the contacts read (one batch) and written only
where they do not show the values yet (one batch), then one transaction: links moved or closed,
audit events, the cursor. Killed anywhere before that transaction, the page is read again and
each step finds its work done or does it again with the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from connector.errors import LeadbridgeError
from connector.mapping.model import SalesforceRemovals, WriteBack
from connector.mapping.privacy import SalesforceRequests
from connector.model import HubSpotContact, Link, RecordUpdate, WriteResult
from connector.state.store import AuditEvent, Commit, StateStore
from connector.streams.base import pages
from connector.streams.leads.gone import Decision, Removed, closed_details, decide, removed_of

log = structlog.get_logger(__name__)

#: The read's own cursor (the removal times it has read up to).
STREAM = "salesforce.removals"
PAGE_SIZE = 100
#: Tombstone outcomes after which an erasure has nothing left to do.
_FINAL = frozenset({"deleted", "anonymised", "not_found", "not_asked"})


class SalesforceReads(Protocol):
    def removed_records(
        self,
        since: datetime | None,
        *,
        lead_fields: Sequence[str] = (),
        contact_fields: Sequence[str] = (),
    ) -> list[dict[str, Any]]: ...
    def current_leads(
        self, lead_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def current_contacts(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...


class HubSpotWrites(Protocol):
    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[HubSpotContact]: ...
    def update_contacts(self, updates: Any) -> list[WriteResult]: ...


class Erasing(Protocol):
    """`connector.privacy.erase.Eraser`'s call."""

    def erase(
        self,
        *,
        email: str | None = None,
        hubspot_id: str | None = None,
        dry_run: bool = False,
        reason: Any = "request",
    ) -> Any: ...


@dataclass
class RemovalCounts:
    """What one read of removals did."""

    read: int = 0  # removed records read (the overlap included)
    moved: int = 0  # links moved to the record a merge kept
    closed: int = 0  # links closed: the record was deleted
    conflicts: int = 0  # merged into another contact's record: link closed, reported
    erased: int = 0  # people erased on a Salesforce-side request
    failures: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    #: Merges into a record another contact is linked to: (record id, what a person must do).
    reported: list[tuple[str, str]] = field(default_factory=list)


class Removals:
    """Reads what Salesforce deleted or merged away and mirrors it (see the module)."""

    def __init__(
        self,
        salesforce: SalesforceReads,
        hubspot: HubSpotWrites,
        store: StateStore,
        *,
        external_id_field: str,
        settings: SalesforceRemovals,
        writeback: WriteBack,
        requests: SalesforceRequests | None = None,
        eraser: Erasing | None = None,
        erasure_hold: Callable[[], AbstractContextManager[Any]] | None = None,
        overlap: timedelta = timedelta(minutes=1),
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.store = store
        self.external_id_field = external_id_field
        self.settings = settings
        self.writeback = writeback
        self.requests = requests
        self.eraser = eraser
        #: Held around each erasure (the contacts stream, so no pass writes the person back
        #: from a contact it read before).
        self.erasure_hold = erasure_hold or nullcontext
        self.overlap = overlap
        self.page_size = page_size
        self.properties = sorted(
            {writeback.lead_id, writeback.contact_id}
            | ({settings.status_property} if settings.status_property else set())
        )

    def run(self, run_id: str) -> RemovalCounts:
        """One read of the removals since the cursor, page by page, each page recorded."""
        counts = RemovalCounts()
        cursor = self.store.cursor(STREAM)
        since = cursor - self.overlap if cursor else None
        lead_rule = self.requests.lead if self.requests else None
        contact_rule = self.requests.contact if self.requests else None
        records = self.salesforce.removed_records(
            since,
            lead_fields=[lead_rule.field] if lead_rule else [],
            contact_fields=[contact_rule.field] if contact_rule else [],
        )
        counts.read = len(records)
        for page in pages(records, self.page_size):
            removed = [removed_of(r, self.external_id_field, self.requests) for r in page]
            stopped = self._page(removed, counts, run_id, cursor)
            if stopped:
                break
        return counts

    def _page(
        self, removed: list[Removed], counts: RemovalCounts, run_id: str, cursor: datetime | None
    ) -> bool:
        """Decide, carry out and record one page; True when a record failed (the cursor stops
        before it, so the next pass reads it again)."""
        ids = [r.id for r in removed]
        masters = [r.master_id for r in removed if r.master_id]
        linked = self.store.links_by_salesforce_ids([*ids, *masters])
        claimed = self._kept_ids(removed, linked)
        decisions = [
            decide(
                r,
                linked.get(r.id),
                kept_link=linked.get(r.master_id) if r.master_id else None,
                kept_hubspot_id=claimed.get(r.master_id) if r.master_id else None,
                settings=self.settings,
                writeback=self.writeback,
            )
            for r in removed
        ]
        failed: dict[str, str] = {}
        for decision in decisions:
            if decision.kind == "erase":
                why = self._erase(decision, counts)
                if why is not None:
                    failed[decision.removed.id] = why
        self._claim([d for d in decisions if d.claim], failed)
        self._show([d for d in decisions if d.updates and d.removed.id not in failed], failed)
        first_failed = next((i for i, r in enumerate(removed) if r.id in failed), None)
        done = removed if first_failed is None else removed[:first_failed]
        done_ids = {r.id for r in done}
        commit = Commit(stream=STREAM)
        moved: list[Link] = []
        closed: list[str] = []
        for decision in decisions:
            if decision.removed.id not in done_ids or decision.hubspot_id is None:
                continue
            self._settle(decision, linked, moved, closed, commit, counts)
        stamps = [r.stamp for r in done if r.stamp is not None]
        if stamps:
            newest = max(stamps)
            commit.cursor = max(cursor, newest) if cursor else newest
        self.store.record_removals(commit, moved=moved, closed=closed, run_id=run_id)
        for record_id, why in failed.items():
            counts.failures.append((record_id, why))
            log.warning("removals.failed", stream=STREAM, record_id=record_id)
        log.info(
            "removals.page",
            stream=STREAM,
            run_id=run_id,
            size=len(removed),
            moved=len(moved),
            closed=len(closed),
        )
        return first_failed is not None

    def _kept_ids(self, removed: list[Removed], linked: dict[str, Link]) -> dict[str, str]:
        """The external id each record a merge kept carries (read only for merges of linked
        records: one read per object)."""
        wanted: dict[str, list[str]] = {"Lead": [], "Contact": []}
        for r in removed:
            link = linked.get(r.id)
            if r.master_id and not r.erasure and link is not None and link.salesforce_id == r.id:
                wanted[r.sobject].append(r.master_id)
        found: dict[str, dict[str, Any]] = {}
        ext = self.external_id_field
        if wanted["Lead"]:
            found.update(self.salesforce.current_leads(wanted["Lead"], ["Id", ext]))
        if wanted["Contact"]:
            found.update(self.salesforce.current_contacts(wanted["Contact"], ["Id", ext]))
        return {i: str(row[ext]) for i, row in found.items() if row.get(ext)}

    def _erase(self, decision: Decision, counts: RemovalCounts) -> str | None:
        """Erase the person a record's deletion asked to forget; why it failed, or None.
        Settled before (a tombstone with both systems done): nothing is called."""
        removed = decision.removed
        tombstone = self.store.find_tombstone(
            hubspot_id=decision.hubspot_id, salesforce_ids=[removed.id]
        )
        if (
            tombstone is not None
            and tombstone.hubspot_outcome in _FINAL
            and tombstone.salesforce_outcome in _FINAL
        ):
            return None
        if self.eraser is None:
            return "an erasure request, but privacy.yaml or LEADBRIDGE_PRIVACY_KEY is missing"
        hubspot_id = decision.hubspot_id or (tombstone.hubspot_id if tombstone else None)
        if not hubspot_id:
            return "an erasure request, but no HubSpot contact is known for it"
        try:
            with self.erasure_hold():
                erased = self.eraser.erase(
                    hubspot_id=hubspot_id, reason="salesforce_privacy_deletion"
                )
        except LeadbridgeError as exc:
            return f"the erasure stopped: {type(exc).__name__}"
        if getattr(erased, "failed", False):
            return "the erasure did not finish (a system refused); it is tried again next pass"
        counts.erased += 0 if getattr(erased, "nothing_left", False) else 1
        log.info("removals.erased", stream=STREAM, tombstone=getattr(erased, "tombstone_id", None))
        return None

    def _claim(self, decisions: list[Decision], failed: dict[str, str]) -> None:
        """Put the contact's id on each record a merge kept that carries none, so the contacts
        stream's upserts by external id reach it (not a new Lead)."""
        for sobject in ("Lead", "Contact"):
            mine = [d for d in decisions if d.removed.sobject == sobject and d.removed.master_id]
            if not mine:
                continue
            updates = [
                RecordUpdate(
                    d.removed.id,
                    d.removed.master_id or "",
                    {self.external_id_field: d.claim},
                )
                for d in mine
            ]
            for decision, result in zip(
                mine, self.salesforce.update_records(sobject, updates), strict=True
            ):
                if not result.success:
                    codes = ", ".join(e.code for e in result.errors) or "no code"
                    failed[decision.removed.id] = (
                        f"Salesforce refused putting the contact's id on {sobject} "
                        f"{decision.removed.master_id} ({codes})"
                    )

    def _show(self, decisions: list[Decision], failed: dict[str, str]) -> None:
        """The contacts read (one batch) and written only where they do not show the values
        yet (one batch); a contact HubSpot no longer has has nothing to show."""
        wanted: dict[str, dict[str, str | None]] = {}
        owner: dict[str, Decision] = {}
        for decision in decisions:
            if decision.hubspot_id is None:
                continue
            wanted.setdefault(decision.hubspot_id, {}).update(decision.updates)
            owner[decision.hubspot_id] = decision
        if not wanted:
            return
        contacts = self.hubspot.read_contacts(list(wanted), self.properties)
        shown = {c.id: c.properties for c in contacts}
        writes = {
            hid: {k: v for k, v in values.items() if (shown[hid].get(k) or "") != (v or "")}
            for hid, values in wanted.items()
            if hid in shown
        }
        writes = {hid: values for hid, values in writes.items() if values}
        if not writes:
            return
        for result in self.hubspot.update_contacts(writes):
            if not result.success:
                decision = owner[result.hubspot_id]
                failed[decision.removed.id] = (
                    f"HubSpot refused writing contact {result.hubspot_id}: {result.reason}"
                )

    def _settle(
        self,
        decision: Decision,
        linked: dict[str, Link],
        moved: list[Link],
        closed: list[str],
        commit: Commit,
        counts: RemovalCounts,
    ) -> None:
        """Add a carried-out decision to the page's transaction."""
        hubspot_id = decision.hubspot_id or ""
        removed = decision.removed
        if decision.kind == "move" and decision.link is not None:
            moved.append(decision.link)
            counts.moved += 1
            details = {"from": removed.id, "to": removed.master_id, "object": removed.sobject}
            commit.audit.append(AuditEvent("salesforce_merged", hubspot_id, details))
        elif decision.kind in ("close", "conflict"):
            link = linked[removed.id]
            closed.append(hubspot_id)
            if decision.kind == "conflict":
                counts.conflicts += 1
                counts.reported.append((removed.id, decision.reason))
                log.warning("removals.merge_conflict", stream=STREAM, record_id=removed.id)
            else:
                counts.closed += 1
            commit.audit.append(
                AuditEvent("salesforce_removed", hubspot_id, closed_details(link, decision))
            )
