"""One pass of the `salesforce.leads` stream: what sales did with a Lead, mirrored to HubSpot.

Leads changed since the cursor (minus an overlap window, so Leads sharing a timestamp at the
boundary are never skipped), other than by the integration user, are read; for each the status
mapping gives what its HubSpot contact should show (`decide`); only what HubSpot does not show
yet is written, in batches (the stage clearings first: HubSpot moves a lifecycle stage backward
only once it is cleared). The hash of what we wrote is recorded per Lead, so a Lead seen again
unchanged (the overlap, a replay) is skipped without a call. Per page, the cursor moves in the
same transaction as the hashes and dead letters.

The same pass carries lead.yaml's `to_hubspot` and `both` fields back (`twoway`): a field whose
Lead value still has the fingerprint both sides last agreed on is no change.

Failed Leads wait in the dead-letter store and are read again (by Id) at the start of each
pass until they succeed; one whose status is still not mapped counts as held, not again. The
stream's work (`connector.state.work`) is read by Id the same way: a Lead the contacts stream
handed over (a rep changed it, then our update made it ours before this stream read it: the
integration-user filter would hide it), or one a person put back with `leadbridge dlq retry`
(never held).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from connector.mapping.plan import LeadPlan, MappingFailure, values_hash
from connector.mapping.status import StatusMapping
from connector.model import HubSpotContact, WriteResult
from connector.state.keys import (
    contact_fields_key,
    contact_key,
    contact_sending_key,
    fingerprints,
    lead_key,
)
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import NO_WORK, Work, as_read, hand_over
from connector.streams.base import Due, Stream, Summary, pages
from connector.streams.leads.decide import (
    FeedbackDecision,
    Target,
    feedback_for,
    feedback_transitions,
    list_names,
    list_removals,
    target,
)
from connector.streams.leads.removals import RemovalCounts, Removals
from connector.streams.leads.twoway import BackDecision, back_to_hubspot, changed, returning
from connector.streams.sides import HubSpotSide, SalesforceSide

log = structlog.get_logger(__name__)

STREAM = "salesforce.leads"
DIRECTION = "to_hubspot"
#: Leads per page: one HubSpot batch read and at most two batch writes, one state transaction.
PAGE_SIZE = 100


@dataclass
class LeadsSummary(Summary):
    """What one feedback pass did, for people (`render`) and for tests (the counts)."""

    pulled: int = 0
    updated: Counter[str] = field(default_factory=Counter)  # contacts written, by kind
    moved_back: int = 0  # contacts whose stage went back (cleared first)
    unchanged: int = 0  # our last write, or already shown in HubSpot
    converted: int = 0  # left to conversion
    held: int = 0  # failed before for the same reason; still in the dead-letter store
    fields_back: int = 0  # contacts that got Lead field values (to_hubspot / both fields)
    left_lists: int = 0  # list memberships removed (status.yaml leave_lists)
    list_failures: list[tuple[str, str]] = field(default_factory=list)  # (list, reason)
    kept: int = 0  # changed Lead field values their conflict rule gave to HubSpot
    removals: RemovalCounts | None = None  # Leads and Contacts deleted or merged in Salesforce

    @property
    def written(self) -> int:
        return sum(self.updated.values())

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.updated.items()))
        lines = [
            f"feedback {self.run_id}: pulled {self.pulled} changed Leads from Salesforce",
            f"  updated {self.written} HubSpot contacts"
            + (f" ({kinds})" if kinds else "")
            + f", unchanged {self.unchanged}, left to conversion {self.converted}, "
            f"failed {self.failed}",
        ]
        if self.fields_back:
            lines.append(f"  wrote changed Lead fields to {self.fields_back} HubSpot contacts")
        if self.kept:
            lines.append(
                f"  kept {self.kept} HubSpot values their conflict rules protect from Lead changes"
            )
        if self.left_lists:
            lines.append(f"  took contacts out of HubSpot lists {self.left_lists} times")
        for ref, reason in self.list_failures:
            lines.append(f"  list {ref}: {reason}")
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
        lines += self._removal_lines()
        for lead_id, reason in self.failures:
            lines.append(f"  failed: Salesforce Lead {lead_id}: {reason}")
        return lines

    def _removal_lines(self) -> list[str]:
        gone = self.removals
        if gone is None or not (gone.moved or gone.closed or gone.conflicts or gone.erased):
            return []
        lines = [
            f"  removed in Salesforce: {gone.moved} links moved to the merged record, "
            f"{gone.closed} closed (deleted), {gone.conflicts} merged into another contact's "
            f"record, {gone.erased} people erased on request"
        ]
        lines += [f"  merge to look at: Salesforce {rid}: {why}" for rid, why in gone.reported]
        return lines


@dataclass(frozen=True)
class _Pending:
    lead: dict[str, Any]
    contact_id: str
    target: Target | None  # None: the status part is unchanged (or there is no status.yaml)
    hash: str | None  # the status part's hash, to record once written
    agreed: dict[str, str]  # the contact's per-field fingerprints, as stored
    sending: dict[str, str]  # what a stream was last sending per field (`contact_sending_key`)
    fields_changed: bool  # a returning Lead field changed since both sides last agreed


class LeadsStream(Stream[LeadsSummary]):
    """Mirrors sales feedback (Lead status, owner, rejection reason) and the Lead fields that
    lead.yaml sends back (`to_hubspot`, `both`) to HubSpot contacts."""

    name = STREAM
    summary_type = LeadsSummary

    def __init__(
        self,
        salesforce: SalesforceSide,
        hubspot: HubSpotSide,
        store: StateStore,
        status_mapping: StatusMapping | None,
        overlap: timedelta = timedelta(minutes=1),
        *,
        external_id_field: str = "HubSpot_Contact_Id__c",
        page_size: int = PAGE_SIZE,
        plan: LeadPlan | None = None,
        conversion_stream: str | None = None,
        removals: Removals | None = None,
    ) -> None:
        self.salesforce = salesforce
        #: Leads and Contacts deleted or merged in Salesforce, read after the changed Leads.
        self.removals = removals
        self.hubspot = hubspot
        self.store = store
        self.mapping = status_mapping
        self.overlap = overlap
        self.external_id_field = external_id_field
        self.page_size = page_size
        self.plan = plan
        # With conversion on (its stream's name): Leads a person converted are handed to it.
        self.conversion_stream = conversion_stream
        self.returning = returning(plan.fields) if plan else ()
        props: set[str] = set()
        if status_mapping is not None:
            props |= {
                status_mapping.lead_status_property,
                status_mapping.lifecycle_property,
                *status_mapping.copy_.values(),
                *(p for rule in status_mapping.statuses.values() for p in rule.copy_.values()),
            }
        #: The contact property showing its Lead's id (lead.yaml's write-back), when known.
        self.lead_id_property = plan.mapping.writeback.lead_id if plan is not None else None
        if self.lead_id_property:
            # A Lead whose id never reached its contact (a worker killed between the upsert
            # and the write-back, then sales gave the contact back before the contacts stream
            # read it again) is owed it (`_write`). Only a rejected one: the contacts stream
            # reads any other again and writes its id back itself.
            props.add(self.lead_id_property)
        if plan is not None and self.returning:
            # The whole mapped contact: what it maps to after our write is recorded as the
            # contacts stream's echo, so the write does not come back to Salesforce.
            props |= {*plan.hubspot_properties(), *(f.hubspot or "" for f in self.returning)}
        #: Every contact property a decision may compare or write.
        self.properties = sorted(props)
        #: HubSpot list ids of the list names status.yaml uses, looked up once.
        self._list_ids: dict[str, str] = {}

    def lead_fields(self) -> list[str]:
        """Every Lead field a pass reads."""
        names = self.mapping.lead_fields() if self.mapping else ["Status"]
        if self.returning:
            names = [*names, "LastModifiedDate", *(f.salesforce for f in self.returning)]
        return list(dict.fromkeys(names))

    def _prepare(self, summary: LeadsSummary, due: Due) -> None:
        """Per pass: the Lead fields to read, list names looked up afresh (a list may be
        renamed), and which failures are held (not those a person put back)."""
        self._fields = self.lead_fields()
        self._list_ids = {}
        self._dead = due.held()
        self._seen: set[str] = set()

    def _by_ids(self, ids: list[str], summary: LeadsSummary, due: Due) -> None:
        """These Leads read by id (one query per 200) and handled as pages that leave the
        cursor alone; their work is done with them."""
        found = self.salesforce.current_leads(ids, [self.external_id_field, *self._fields])
        self._seen.update(found)
        gone = sorted(set(due.work) & (set(ids) - set(found)))
        if gone:  # deleted or merged in Salesforce: nothing left to read
            commit = Commit(stream=STREAM, done=gone, done_as_read=as_read(due.work, gone))
            self.store.record(commit, run_id=summary.run_id)
        for page in self.until_stopped(pages(list(found.values()), self.page_size)):
            self._page(page, summary, None, self._dead, moves_cursor=False, work=due.work)

    def _changed(self, summary: LeadsSummary, due: Due) -> None:
        """The Leads changed since the cursor (minus the overlap), other than by us."""
        cursor = self.store.cursor(STREAM)
        since = cursor - self.overlap if cursor else None
        log.info("feedback.since", stream=STREAM, since=since.isoformat() if since else None)
        leads = self.salesforce.changed_leads(
            since, self._fields, exclude_user_id=self.salesforce.user_id
        )
        for page in self.until_stopped(pages(leads, self.page_size)):
            cursor = self._page(page, summary, cursor, self._dead, skip=self._seen)
        if self.removals is not None and not (self.should_stop and self.should_stop()):
            summary.removals = self.removals.run(summary.run_id)
            summary.failures += summary.removals.failures

    def _page(
        self,
        page: list[dict[str, Any]],
        summary: LeadsSummary,
        cursor: datetime | None,
        dead: dict[str, tuple[str | None, str]],
        *,
        moves_cursor: bool = True,
        skip: set[str] | frozenset[str] = frozenset(),
        work: Mapping[str, Sequence[Work]] = NO_WORK,
    ) -> datetime | None:
        """Decide, write and record one page; the stream's cursor after it. Leads in `skip`
        (dead letters and work this pass already read) only move the cursor; the work of those
        in `work` is done with this page."""
        if moves_cursor:
            summary.pulled += len(page)
        commit = Commit(stream=STREAM, direction=DIRECTION)
        commit.done += [str(lead["Id"]) for lead in page if str(lead["Id"]) in work]
        commit.done_as_read.update(as_read(work, commit.done))
        # An erased person's Lead (kept anonymised, or a Lead of theirs someone touched) is
        # never written to HubSpot again: skipped and counted.
        gone = self.erased.records(
            hubspot_ids=[str(lead.get(self.external_id_field) or "") for lead in page],
            salesforce_ids=[str(lead["Id"]) for lead in page],
            emails=[lead.get("Email") for lead in page],
        )
        erased = {
            str(lead["Id"])
            for lead in page
            if gone.covers(salesforce_id=str(lead["Id"]), email=lead.get("Email"))
            or gone.covers(hubspot_id=str(lead.get(self.external_id_field) or "") or None)
        } - set(skip)
        summary.erased += len(erased)
        self.erased.skipped(STREAM, len(erased))
        read, page = page, [lead for lead in page if str(lead["Id"]) not in erased]
        hashes = self.store.hashes([lead_key(lead["Id"]) for lead in page], DIRECTION)
        agreed, sending = self._agreed(page)
        pending: list[_Pending] = []
        handover: list[str] = []  # contacts whose Lead a person converted
        for lead in page:
            lead_id = str(lead["Id"])
            if lead_id in skip:
                continue
            contact_id = str(lead.get(self.external_id_field) or "")
            wanted = target(lead, self.mapping) if self.mapping else None
            if self.mapping is not None and wanted is None:
                decision = feedback_for(lead, {}, self.mapping)
                payload = {"Status": lead.get("Status")}
                if dead.get(lead_id) == ("UNMAPPED_STATUS", values_hash(payload)):
                    summary.held += 1
                else:
                    self._fail(
                        commit, summary, lead_id, decision.reason, "UNMAPPED_STATUS", payload
                    )
                continue
            if self.mapping is not None and contact_id:
                commit.transitions += feedback_transitions(lead, contact_id, self.mapping)
            converted = wanted is not None and wanted.kind == "converted"
            if converted or lead.get("IsConverted") or not contact_id:
                summary.converted += converted
                commit.resolved.append(lead_id)
                if converted and contact_id:
                    handover.append(contact_id)
                continue
            digest = None
            if wanted is not None:
                digest = _status_hash(contact_id, wanted)
                if hashes.get(lead_key(lead_id)) == digest:
                    wanted, digest = None, None  # the status part is our last write: no change
            fingerprints = agreed.get(contact_id, {})
            moved = bool(changed(self.returning, lead, fingerprints))
            if wanted is None and not moved:
                summary.unchanged += 1
                commit.resolved.append(lead_id)
                continue
            pending.append(
                _Pending(
                    lead,
                    contact_id,
                    wanted,
                    digest,
                    fingerprints,
                    sending.get(contact_id, {}),
                    moved,
                )
            )
        self._write(pending, commit, summary, dead)
        self._hand_over(handover, commit)
        if moves_cursor:
            stamps = [lead["SystemModstamp"] for lead in read if lead.get("SystemModstamp")]
            newest = max(stamps) if stamps else cursor
            commit.cursor = max(cursor, newest) if cursor and newest else newest
        self.store.record(commit, run_id=summary.run_id)
        log.info("feedback.page", stream=STREAM, run_id=summary.run_id, size=len(page))
        return commit.cursor if moves_cursor else cursor

    def _hand_over(self, contact_ids: list[str], commit: Commit) -> None:
        """Leads a person converted in Salesforce (ours never come here: the query skips the
        integration user's changes) whose contacts the store still links to the Lead: handed
        to the conversion stream by Id, which links each to what it became this same pass, so
        later changes go to the Contact, whatever HubSpot's stage says."""
        if self.conversion_stream is None or not contact_ids:
            return
        links = self.store.links(contact_ids)
        for contact_id in contact_ids:
            link = links.get(contact_id)
            if link is None or link.object != "Lead":
                continue
            commit.work.append(
                hand_over(
                    self.conversion_stream,
                    contact_id,
                    f"Lead {link.salesforce_id} was converted in Salesforce: link the contact to "
                    "what it became",
                )
            )

    def _agreed(
        self, page: list[dict[str, Any]]
    ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
        """Per contact of the page: Lead field -> fingerprint of the value both sides last
        agreed on, and of the value a stream was last sending (one store read, only when
        lead.yaml sends fields back)."""
        if not self.returning:
            return {}, {}
        ids = {str(x.get(self.external_id_field) or "") for x in page} - {""}
        keys = [k for i in ids for k in (contact_fields_key(i), contact_sending_key(i))]
        stored = self.store.hashes(keys, "to_salesforce")
        return (
            {i: fingerprints(stored.get(contact_fields_key(i))) for i in ids},
            {i: fingerprints(stored.get(contact_sending_key(i))) for i in ids},
        )

    def _write(
        self,
        pending: list[_Pending],
        commit: Commit,
        summary: LeadsSummary,
        dead: dict[str, tuple[str | None, str]],
    ) -> None:
        """Read the contacts (one batch), decide, clear stages (one batch), write (one batch)."""
        if not pending:
            return
        ids = list(dict.fromkeys(p.contact_id for p in pending))
        contacts = {c.id: c for c in self.hubspot.read_contacts(ids, self.properties)}
        echoes = (
            self.store.hashes([contact_key(i) for i in ids], "to_salesforce")
            if self.returning
            else {}
        )
        # The newest change of a contact wins (the page is oldest first).
        chosen: dict[str, tuple[_Pending, FeedbackDecision, BackDecision]] = {}
        ids_owed: dict[str, dict[str, str | None]] = {}  # contacts not showing their Lead's id
        leaving: dict[str, tuple[str, ...]] = {}  # settled contacts -> lists their status leaves
        for item in pending:
            lead_id = str(item.lead["Id"])
            contact = contacts.get(item.contact_id)
            if contact is None:
                reason = f"HubSpot contact {item.contact_id} does not exist (deleted or merged?)"
                self._fail(commit, summary, lead_id, reason, "CONTACT_NOT_FOUND", {})
                continue
            decision = (
                feedback_for(item.lead, contact.properties, self.mapping)
                if item.target is not None and self.mapping is not None
                else FeedbackDecision({}, clear_first=False, reason="status unchanged")
            )
            back = (
                back_to_hubspot(
                    self.returning,
                    item.lead,
                    contact.properties,
                    item.agreed,
                    sending=item.sending,
                    hubspot_changed_at=contact.updated_at,
                    salesforce_changed_at=item.lead.get("LastModifiedDate"),
                )
                if item.fields_changed
                else BackDecision()
            )
            if back.failure is not None:
                name, reason = back.failure
                value = item.lead.get(name)
                payload = {"field": name, "value": None if value is None else str(value)}
                if dead.get(lead_id) == ("MAPPING_FAILED", values_hash(payload)):
                    summary.held += 1  # the same value failed before: it waits, unchanged
                    continue
                self._fail(
                    commit, summary, lead_id, f"MAPPING_FAILED: {reason}", "MAPPING_FAILED", payload
                )
                continue
            ids_owed.pop(item.contact_id, None)
            if (
                self.lead_id_property
                and item.target is not None
                and item.target.kind == "rejected"  # given back: the contacts stream skips it
                and not contact.properties.get(self.lead_id_property)
            ):
                ids_owed[item.contact_id] = {self.lead_id_property: lead_id}
            summary.kept += len(back.kept)
            if back.kept:
                commit.audit.append(
                    AuditEvent("conflict", item.contact_id, {"lead_id": lead_id, "kept": back.kept})
                )
            if not decision.updates and not back.updates:
                summary.unchanged += 1
                self._settled(commit, item, back, contact.properties, echoes, {})
                leaving[item.contact_id] = item.target.leave_lists if item.target else ()
                continue
            chosen[item.contact_id] = (item, decision, back)
        # Owed, not written with the feedback: the contacts stream may be writing it back right
        # now (its upsert landed, its record not yet); the write-back step reads the contact
        # before paying and writes only what it does not show.
        commit.owed.update(ids_owed)
        lifecycle = self.mapping.lifecycle_property if self.mapping else ""
        clears = {cid: {lifecycle: None} for cid, (_, d, _) in chosen.items() if d.clear_first}
        if clears:
            for result in self.hubspot.update_contacts(clears):
                if not result.success:
                    item, decision, _ = chosen.pop(result.hubspot_id)
                    self._refused(
                        commit, summary, item, decision.updates, result, "clearing the stage"
                    )
        if chosen:
            self._update(chosen, contacts, echoes, leaving, commit, summary)
        self._leave_lists(leaving, commit, summary)

    def _update(
        self,
        chosen: dict[str, tuple[_Pending, FeedbackDecision, BackDecision]],
        contacts: dict[str, HubSpotContact],
        echoes: dict[str, str],
        leaving: dict[str, tuple[str, ...]],
        commit: Commit,
        summary: LeadsSummary,
    ) -> None:
        """One batch update of the chosen contacts; each success settled. The fields' values
        sent back are noted first (`StateStore.note_sending`): a kill after the update and
        before the page's record leaves the next pass knowing what was sent."""
        sending = {
            contact_sending_key(cid): json.dumps(
                {name: back.agreed[name] for name in back.sent}, sort_keys=True
            )
            for cid, (_, _, back) in chosen.items()
            if back.sent
        }
        self.store.note_sending(STREAM, sending, run_id=summary.run_id)
        results = self.hubspot.update_contacts(
            {cid: {**b.updates, **d.updates} for cid, (_, d, b) in chosen.items()}
        )
        for result in results:
            item, decision, back = chosen[result.hubspot_id]
            updates = {**back.updates, **decision.updates}
            if not result.success:
                self._refused(commit, summary, item, updates, result, "writing")
                continue
            contact = contacts[item.contact_id]
            self._settled(commit, item, back, contact.properties, echoes, updates)
            leaving[item.contact_id] = item.target.leave_lists if item.target else ()
            lead_id = str(item.lead["Id"])
            if back.updates:
                summary.fields_back += 1
            if decision.updates:
                summary.updated[decision.kind or "?"] += 1
                summary.moved_back += decision.clear_first
                commit.audit.append(
                    AuditEvent(
                        "feedback",
                        item.contact_id,
                        {"lead_id": lead_id, "kind": decision.kind, "reason": decision.reason},
                    )
                )
            elif back.updates:
                summary.updated["fields"] += 1

    def _leave_lists(
        self, leaving: dict[str, tuple[str, ...]], commit: Commit, summary: LeadsSummary
    ) -> None:
        """Take the settled contacts out of the lists their Leads' statuses leave (one call per
        list). A list HubSpot refuses (a dynamic one, an unknown id) or a name it does not know
        is reported, not retried: it is the file's to fix, and the contacts' other writes stand.
        """
        leaving = {cid: lists for cid, lists in leaving.items() if lists}
        if not leaving:
            return
        names = list_names(ref for lists in leaving.values() for ref in lists)
        unknown_names = [n for n in names if n not in self._list_ids]
        if unknown_names:
            self._list_ids.update(self.hubspot.list_ids_by_name(unknown_names))
        plan = list_removals(leaving, self._list_ids)
        for name, contact_ids in plan.unknown.items():
            reason = f"status.yaml names HubSpot list {name!r}, which HubSpot does not know"
            self._list_failure(commit, summary, name, reason, contact_ids)
        if not plan.memberships:
            return
        for outcome in self.hubspot.remove_from_lists(plan.memberships):
            summary.left_lists += len(outcome.removed)
            for contact_id in outcome.removed:
                commit.audit.append(
                    AuditEvent("left_list", contact_id, {"list_id": outcome.list_id})
                )
            if outcome.refused is not None:
                reason = f"HubSpot refused list {outcome.list_id}: {outcome.refused}"
                stay = [c for c in plan.memberships[outcome.list_id] if c not in outcome.removed]
                self._list_failure(commit, summary, outcome.list_id, reason, stay)

    @staticmethod
    def _list_failure(
        commit: Commit, summary: LeadsSummary, ref: str, reason: str, contact_ids: list[str]
    ) -> None:
        summary.list_failures.append((ref, f"{reason} ({len(contact_ids)} contacts stay in it)"))
        commit.audit.append(AuditEvent("list_refused", None, {"list": ref, "reason": reason}))
        log.warning("feedback.list_refused", stream=STREAM, list=ref, contacts=len(contact_ids))

    def _settled(
        self,
        commit: Commit,
        item: _Pending,
        back: BackDecision,
        properties: dict[str, str | None],
        echoes: dict[str, str],
        written: dict[str, str | None],
    ) -> None:
        """Record a Lead whose contact now shows it: the status hash, the fields' new
        agreement and, when the contact had nothing unsent for Salesforce before our write,
        what it maps to now (so the contacts stream takes our write for its echo). That last
        one only if the contacts stream has recorded nothing else since it was read here: a
        page of it in another worker may have written the contact's values meanwhile."""
        lead_id = str(item.lead["Id"])
        if item.hash is not None:
            commit.hashes[lead_key(lead_id)] = item.hash
        commit.resolved.append(lead_id)
        if not back.agreed:
            return
        shared = commit.other_hashes.setdefault("to_salesforce", {})
        shared[contact_fields_key(item.contact_id)] = json.dumps(
            {**item.agreed, **back.agreed}, sort_keys=True
        )
        if not back.updates or self.plan is None:
            return
        try:
            before = values_hash(self.plan.map(properties))
            after = values_hash(self.plan.map({**properties, **written}))
        except MappingFailure:
            return  # the contacts stream will report it
        key = contact_key(item.contact_id)
        if echoes.get(key) == before:
            shared[key] = after
            commit.expected.setdefault("to_salesforce", {})[key] = before

    def _refused(
        self,
        commit: Commit,
        summary: LeadsSummary,
        item: _Pending,
        updates: dict[str, str | None],
        result: WriteResult,
        what: str,
    ) -> None:
        code = result.errors[0].code if result.errors else None
        reason = f"HubSpot refused {what} contact {item.contact_id}: {result.reason}"
        self._fail(commit, summary, str(item.lead["Id"]), reason, code, dict(updates))

    def _fail(
        self,
        commit: Commit,
        summary: LeadsSummary,
        lead_id: str,
        reason: str,
        code: str | None,
        payload: dict[str, Any],
    ) -> None:
        self.fail(commit, summary, lead_id, reason, code=code, payload=payload)


def _status_hash(contact_id: str, wanted: Target) -> str:
    """The hash of what a Lead's status asks of its contact (the lists it leaves only when it
    leaves some, so hashes recorded before lists existed stay valid)."""
    lists = {"lists": list(wanted.leave_lists)} if wanted.leave_lists else {}
    return values_hash({"contact": contact_id, "stage": wanted.stage, **wanted.values, **lists})
