"""One pass of the engine over `hubspot.contacts`: pull, decide, push, record.

The cursor moves only after the writes it covers are recorded (one transaction per page). A crash
between push and record replays the page; writes are upserts by external id, so a replay
changes nothing: at-least-once delivery, exactly-once effect.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from connector.errors import BudgetReserved
from connector.lifecycle import qualifies, search_filters, why_not
from connector.mapping.model import Conflict
from connector.mapping.plan import LeadPlan, MappingFailure, same, values_hash
from connector.model import (
    CAMPAIGN_PROPERTY,
    MQL_DATE_PROPERTY,
    SOURCE_PROPERTY,
    HubSpotContact,
    LeadUpdate,
    LeadUpsert,
    Link,
    RecordUpdate,
    SalesforceMatch,
    SearchFilter,
    WriteResult,
    describe_errors,
)
from connector.state.keys import (
    contact_fields_key,
    contact_key,
    contact_sending_key,
    fingerprints,
)
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import NO_WORK, Work, as_read, hand_over
from connector.streams.base import Due, Stream, Summary, pages
from connector.streams.contacts.decide import (
    Decision,
    decide,
    fingerprint,
    guard,
    handoff_transitions,
    needs_lookup,
)
from connector.streams.sides import HubSpotSide, SalesforceSide, contacts_search

log = structlog.get_logger(__name__)

STREAM = "hubspot.contacts"
#: Contacts per page of work read by id (one HubSpot batch read each).
WORK_PAGE = 100
#: Leads a query by Id reads (`current_leads`: one query per 200).
LEADS_PER_QUERY = 200
#: Salesforce calls routing a page's new Leads usually takes (candidate accounts, their
#: hierarchy, open opportunities, users: a Composite call each), kept free before routing.
ROUTING_READS = 4
#: Reasons for the default queue a summary names (the most frequent first).
DEFAULT_REASONS_SHOWN = 5


class Upsert(Protocol):
    """Lead upserts by external id, one result per upsert in order (the gateway's
    `upsert_leads`, or another transport)."""

    def __call__(
        self, upserts: Sequence[LeadUpsert], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...


class Find(Protocol):
    """Unconverted Leads and Contacts by email (the gateway's `find_by_emails`, or answers a
    caller read before for many pages at once)."""

    def __call__(self, emails: Sequence[str]) -> list[SalesforceMatch]: ...


class Update(Protocol):
    """Updates of existing records by Id, one result per update in order (the gateway's
    `update_records`, or results a caller wrote before for many pages at once)."""

    def __call__(self, sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]: ...


class RouterSide(Protocol):
    def properties(self) -> list[str]: ...
    def route_contacts(self, contacts: Sequence[HubSpotContact]) -> dict[str, Any]: ...
    def hubspot_values(self, decision: Any) -> dict[str, str | None]: ...


@dataclass
class ContactsSummary(Summary):
    """What one pass did, for people (`render`) and for tests (the counts)."""

    pulled: int = 0
    created: int = 0
    updated: int = 0
    linked: int = 0
    unchanged: int = 0
    skipped: int = 0
    written_back: int = 0
    routed: Counter[str] = field(default_factory=Counter)  # new leads by routing outcome
    held: int = 0  # failed before with the same values; waiting in the dead-letter store
    kept: int = 0  # Lead field values a conflict rule kept out of an update
    contacts_updated: int = 0  # converted people whose changes went to their Contact
    unqualified_after_handoff: int = 0  # contacts with a Lead that no longer qualify
    linked_contacts: int = 0  # of `linked`: existing customers, linked to their Contact
    defaulted: Counter[str] = field(default_factory=Counter)  # new leads by why the default queue
    waiting: int = 0  # open dead letters of the stream when the pass ended

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.linked

    def lines(self) -> list[str]:
        lines = [
            f"sync {self.run_id}: pulled {self.pulled} contacts from HubSpot",
            f"  created {self.created}, updated {self.updated}, linked {self.linked}, "
            f"unchanged {self.unchanged}, not qualified {self.skipped}, failed {self.failed}",
            f"  wrote Salesforce ids back to {self.written_back} HubSpot contacts",
        ]
        if self.linked:
            lines.append(
                f"  linked {self.linked}: {self.linked_contacts} existing customers to their "
                f"Contact (no Lead made), {self.linked - self.linked_contacts} to an existing Lead"
            )
        if self.routed:
            lines.append(
                "  routed new leads: "
                + ", ".join(f"{kind} {n}" for kind, n in sorted(self.routed.items()))
            )
        if self.defaulted:
            reasons = self.defaulted.most_common()
            shown = "; ".join(f"{n} {why}" for why, n in reasons[:DEFAULT_REASONS_SHOWN])
            more = len(reasons) - DEFAULT_REASONS_SHOWN
            lines.append(
                f"  to the default queue: {shown}" + (f"; {more} more reasons" if more > 0 else "")
            )
        if self.contacts_updated:
            lines.append(
                f"  updated {self.contacts_updated} Contacts of converted leads with their changes"
            )
        if self.unqualified_after_handoff:
            lines.append(
                f"  {self.unqualified_after_handoff} contacts with a Lead no longer qualify "
                "(reported; their Leads stay with sales)"
            )
        if self.kept:
            lines.append(f"  kept {self.kept} Salesforce field values their conflict rules protect")
        if self.held:
            lines.append(
                f"  {self.held} contacts still wait in the dead-letter store, unchanged "
                "since Salesforce refused them"
            )
        earlier = self.waiting - self.failed - self.held
        if earlier > 0:
            lines.append(
                f"  {earlier} contacts that failed in earlier passes still wait in the "
                "dead-letter store; each is tried again when it changes in HubSpot"
            )
        for hubspot_id, reason in self.failures:
            lines.append(f"  failed: HubSpot contact {hubspot_id}: {reason}")
        return lines


@dataclass
class PagePlan:
    """One page decided, nothing written yet: each contact's decision (conflict rules
    resolved), and what the page's commit and write-back hold so far (failures of the mapping,
    reports of contacts no longer qualifying)."""

    page: list[HubSpotContact]
    decisions: list[Decision]
    commit: Commit
    writeback: dict[str, dict[str, str | None]]
    current: dict[str, dict[str, Any]]  # the Leads' current fields (`_read_known`)
    # The hashes of what was written, as read when the page was decided: what is recorded
    # after the page's writes replaces only these (`Commit.expected`)
    read: dict[str, str] = field(default_factory=dict)
    # The page's contacts the store linked to no Lead when the page was decided
    unlinked: frozenset[str] = frozenset()
    counts: Counter[str] = field(default_factory=Counter)  # decisions carried out, by action


class ContactsStream(Stream[ContactsSummary]):
    """Moves qualified HubSpot contacts to Salesforce Leads. A failed contact waits for a
    change (or a person's retry) instead of being read again every pass."""

    name = STREAM
    summary_type = ContactsSummary
    reread_failures = False

    def __init__(
        self,
        *,
        salesforce: SalesforceSide,
        hubspot: HubSpotSide,
        store: StateStore,
        plan: LeadPlan,
        external_id_field: str = "HubSpot_Contact_Id__c",
        overlap: timedelta = timedelta(minutes=1),
        router_factory: Callable[[], RouterSide] | None = None,
        returned: tuple[str, frozenset[str]] | None = None,
        feedback_stream: str | None = None,
        feedback_fields: Sequence[str] = (),
        conversion: tuple[str, str, frozenset[str]] | None = None,
    ) -> None:
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.store = store
        self.plan = plan
        self.external_id_field = external_id_field
        self.overlap = overlap
        # Without routing.yaml no owner is set: Salesforce's assignment rules assign new Leads.
        self.router_factory = router_factory
        # (contact property, values) that say sales gave the lead back (status.yaml's rejected
        # statuses): such a contact no longer qualifying is marketing's again, not a warning.
        self.returned = returned
        # With sales feedback on (its stream's name): per pass, (stream, integration user id,
        # the stream's cursor less the overlap), for `_recheck`.
        self.feedback_stream = feedback_stream
        # With conversion by HubSpot stage on: (its stream, the stage property, the SQL
        # stages). A contact sales qualified already when its Lead is first linked is handed
        # to that stream: it may have read the contact before the link, and found no Lead.
        self.conversion = conversion
        self.feedback: tuple[str, str, datetime | None] | None = None
        # The Lead fields sales feedback reads (status.yaml's, and those lead.yaml sends back,
        # relationship fields left out): a change to one of them that a person made while we
        # updated the Lead is handed to that stream (`_recheck`).
        self.feedback_fields: tuple[str, ...] = tuple(
            dict.fromkeys(
                name
                for name in (
                    *feedback_fields,
                    *(f.salesforce for f in plan.fields if f.spec.to_hubspot),
                )
                if "." not in name and name != "LastModifiedDate"
            )
        )
        # Lead fields whose conflict rule may keep Salesforce's value, and every field synced
        # both ways (whatever its rule: a value only Salesforce changed since both sides last
        # agreed must not be overwritten by HubSpot's stale one). Only with some does an update
        # read the Lead first (one query a page): the default mapping reads nothing.
        self.protected: dict[str, Conflict] = {
            f.salesforce: f.conflict
            for f in plan.fields
            if f.spec.to_salesforce and (f.conflict != "hubspot_wins" or f.spec.to_hubspot)
        }

        # Lead field -> Contact field: where a converted person's later changes go.
        self.contact_fields: dict[str, str] = {
            f.salesforce: f.spec.contact_field
            for f in plan.fields
            if f.spec.to_salesforce and f.spec.contact_field
        }
        #: Every Lead field an update may send.
        self.sent_fields: tuple[str, ...] = tuple(
            dict.fromkeys(f.salesforce for f in plan.fields if f.spec.to_salesforce)
        )

    def properties(self, router: RouterSide | None = None) -> list[str]:
        """The contact properties this stream reads: what the mapping, routing and sales'
        returned statuses need (a change to any other is not this stream's)."""
        router = router or (self.router_factory() if self.router_factory else None)
        return sorted(
            {
                *self.plan.hubspot_properties(),
                *(router.properties() if router else ()),
                *((self.returned[0],) if self.returned else ()),
                *((self.conversion[1],) if self.conversion else ()),
                MQL_DATE_PROPERTY,
                SOURCE_PROPERTY,
                CAMPAIGN_PROPERTY,
            }
        )

    def search_groups(self) -> list[list[SearchFilter]]:
        """The contacts this stream reads, as search filter groups: the qualified ones, and
        those with a Lead, qualified or not (one that stops qualifying after the handoff is
        reported, never silently dropped)."""
        handed_off = [SearchFilter(self.plan.mapping.writeback.lead_id, "HAS_PROPERTY")]
        return [*search_filters(self.plan.mapping.include), handed_off]

    def _prepare(self, summary: ContactsSummary, due: Due) -> None:
        """Per pass: a router (it caches what it reads), where sales feedback has read to
        (see `_recheck`), the properties to read, and which failures are held."""
        self._router = self.router_factory() if self.router_factory else None
        if self.feedback_stream is not None:
            read = self.store.cursor(self.feedback_stream)
            since_read = read - self.overlap if read else None
            self.feedback = (self.feedback_stream, self.salesforce.user_id, since_read)
        self._properties = self.properties(self._router)
        # A contact a person put back (`leadbridge dlq retry`) is tried whatever held it.
        self._dead = due.held()
        self._seen: set[str] = set()

    def _by_ids(self, ids: list[str], summary: ContactsSummary, due: Due) -> None:
        """These contacts read by id (100 a batch read), decided and pushed as pages that leave
        the cursor alone; their work is done with them."""
        found = self.hubspot.read_contacts(ids, self._properties)
        self._seen.update(c.id for c in found)
        gone = sorted(set(due.work) & (set(ids) - self._seen))
        if gone:  # deleted or merged in HubSpot: nothing left to try
            commit = Commit(stream=STREAM, done=gone, done_as_read=as_read(due.work, gone))
            self.store.record(commit, run_id=summary.run_id)
        resync = {r for r in due.work if "resync" in due.kinds(r)}
        for part in self.until_stopped(pages(found, WORK_PAGE)):
            self._page(
                part,
                summary,
                None,
                self._dead,
                self._router,
                moves_cursor=False,
                work=due.work,
                resync=resync,
            )

    def _changed(self, summary: ContactsSummary, due: Due) -> None:
        """The contacts changed since the cursor, and once more those whose change has settled
        since the last pass (`connector.streams.windows`: HubSpot's search shows changes late)."""
        cursor = self.store.cursor(STREAM)
        any_of = self.search_groups()

        # Changes after the pass starts (our own write-backs among them) are the next pass's.
        sweep = self.sweep(
            datetime.now(UTC),
            self.overlap,
            contacts_search(self.hubspot, self._properties, any_of),
            together=self.hubspot.searchable_together(any_of, windows=2),
        )
        late = sweep.window.late
        log.info(
            "sync.since",
            stream=STREAM,
            since=cursor.isoformat() if cursor else None,
            late_since=late.since.isoformat() if late and late.since else None,
            late_until=late.until.isoformat() if late and late.until else None,
        )
        for page in self.until_stopped(sweep):
            cursor = self._page(page, summary, cursor, self._dead, self._router, skip=self._seen)
        self.settle(sweep, summary)

    def _finish(self, summary: ContactsSummary) -> None:
        summary.waiting = len(self.store.dead_letters(STREAM))

    # -- one page: decide, push, record ---------------------------------------------------
    def _page(
        self,
        page: list[HubSpotContact],
        summary: ContactsSummary,
        cursor: datetime | None,
        dead: dict[str, tuple[str | None, str]],
        router: RouterSide | None,
        *,
        moves_cursor: bool = True,
        skip: set[str] | frozenset[str] = frozenset(),
        work: Mapping[str, Sequence[Work]] = NO_WORK,
        resync: set[str] | frozenset[str] = frozenset(),
    ) -> datetime | None:
        """Decide, push and record one page; the stream's cursor after it. Contacts in `skip`
        (read this pass already, as work) only move the cursor; the work of those in `work` is
        done with this page; those in `resync` are written whatever was written before."""
        newest = max(c.updated_at for c in page)
        page = [c for c in page if c.id not in skip]
        plan = self.plan_page(page, summary, dead, work=work, resync=resync)
        commit = self.carry_out(plan, summary, router)
        if moves_cursor:
            commit.cursor = max(cursor, newest) if cursor else newest
        self.store.record(commit, run_id=summary.run_id)
        log.info(
            "sync.page",
            stream=STREAM,
            run_id=summary.run_id,
            size=len(page),
            **dict(plan.counts),
        )
        return commit.cursor if moves_cursor else cursor

    def begin(self, summary: ContactsSummary) -> RouterSide | None:
        """Make ready for pages outside a pass (a backfill): what a pass prepares first; the
        router the pages route with."""
        self._prepare(summary, self.due())
        return self._router

    def plan_page(
        self,
        page: list[HubSpotContact],
        summary: ContactsSummary,
        dead: dict[str, tuple[str | None, str]] | None = None,
        *,
        work: Mapping[str, Sequence[Work]] = NO_WORK,
        resync: set[str] | frozenset[str] = frozenset(),
        find: Find | None = None,
    ) -> PagePlan:
        """Read what the store and Salesforce know of a page's contacts and decide each, with
        their conflict rules resolved: nothing is written (a dry run stops here). `dead`: the
        failures a contact seen again unchanged waits behind (the pass's, by default). `find`:
        the email look-up, when not the gateway's (a backfill's, read for a whole job)."""
        dead = self._dead if dead is None else dead
        summary.pulled += len(page)
        commit = Commit(stream=STREAM, direction="to_salesforce")
        commit.done += [c.id for c in page if c.id in work]
        commit.done_as_read.update(as_read(work, commit.done))
        # An erased person's contact (a late poll, a backfill, a put-back failure, a form
        # fill under `after_erasure: ignore`) is never written again: skipped and counted.
        erased = self.erased.contacts(page, where=STREAM)
        if erased:
            summary.erased += len(erased)
            page = [c for c in page if c.id not in erased]
        ids = [c.id for c in page]
        links = self.store.links(ids)
        keys = [contact_key(i) for i in ids] + (
            [k for i in ids for k in (contact_fields_key(i), contact_sending_key(i))]
            if self.protected
            else []
        )
        hashes = self.store.hashes(keys, "to_salesforce")
        removals = self.plan.mapping.salesforce_removals
        lookup = sorted(
            {
                c.email.lower()
                for c in page
                if needs_lookup(c, links.get(c.id))
                and c.email
                and removals.held_out(c.properties) is None
            }
        )
        matches: dict[str, list[SalesforceMatch]] = {}
        found = list((find or self.salesforce.find_by_emails)(lookup) if lookup else [])
        # A Lead or Contact kept (anonymised) for an erased person is no one's to link to.
        gone = self.erased.records(salesforce_ids=[m.id for m in found]) if found else None
        for match in found:
            if gone is None or not gone.covers(salesforce_id=match.id):
                matches.setdefault(match.email.lower(), []).append(match)

        decisions = []
        writeback: dict[str, dict[str, str | None]] = {}
        for contact in page:
            removed = removals.held_out(contact.properties)
            if removed is not None:
                # Sales deleted or merged away its record: not sent again until a person says.
                decisions.append(Decision(contact, "skip", removed))
                continue
            qualified = qualifies(contact.properties, self.plan.mapping.include)
            link = links.get(contact.id)
            if link is not None and (link.object == "Lead" or link.lead_id):
                qualified = self._after_handoff(
                    contact, link, qualified, commit, writeback, summary
                )
            forced = contact.id in resync
            try:
                fields = self.plan.map(contact.properties) if qualified else {}
            except MappingFailure as failure:
                # A value the mapping cannot handle: this contact fails alone, nothing is sent;
                # the same value seen again waits in the dead-letter store (held).
                refused = {"field": failure.field, "value": failure.value}
                if not forced and dead.get(contact.id) == ("MAPPING_FAILED", values_hash(refused)):
                    summary.held += 1
                    continue
                reason = f"MAPPING_FAILED: {failure}"
                self._fail(
                    commit,
                    summary,
                    contact,
                    reason,
                    code="MAPPING_FAILED",
                    fields=(failure.field,),
                    payload=refused,
                )
                continue
            decisions.append(
                decide(
                    contact,
                    qualified=qualified,
                    fields=fields,
                    values_hash=values_hash(fields),
                    link=links.get(contact.id),
                    # A resync writes the values whatever we wrote before (drift repaired).
                    last_hash=None if forced else hashes.get(contact_key(contact.id)),
                    matches=matches.get((contact.email or "").lower(), []),
                    failed=None if forced else dead.get(contact.id),
                )
            )
        current = self._read_known(decisions)
        checked = dict(current)
        decisions = self._guard(decisions, hashes, checked)
        decisions = [self._held_already(d, checked, links.get(d.contact.id)) for d in decisions]
        unlinked = frozenset(
            c.id for c in page if (links.get(c.id) is None or links[c.id].object != "Lead")
        )
        return PagePlan(page, decisions, commit, writeback, current, hashes, unlinked=unlinked)

    def carry_out(
        self,
        plan: PagePlan,
        summary: ContactsSummary,
        router: RouterSide | None,
        *,
        upsert: Upsert | None = None,
    ) -> Commit:
        """Route a planned page's new Leads, push its writes and the Salesforce ids back to
        HubSpot; the commit that records it all (not recorded yet: the caller adds its cursor
        or checkpoint to the same transaction). `upsert`: the Lead upserts' transport, when
        not the gateway's sObject Collections (one result per upsert, in order)."""
        routes = self.route_page(plan, router)
        return self.push_page(plan, summary, router, routes, upsert=upsert)

    def updates(self, decisions: Sequence[Decision]) -> dict[str, list[RecordUpdate]]:
        """The updates by Id a planned page sends, by object: Leads found by email (linked, our
        external id added) and the Contacts of converted people (the Contact fields of the
        change; one without any sends nothing)."""
        ext, fields = self.external_id_field, self.contact_fields
        return {
            "Lead": [
                RecordUpdate(d.contact.id, d.target_id or "", {**d.outgoing, ext: d.contact.id})
                for d in decisions
                if d.action == "link_lead"
            ],
            "Contact": [
                RecordUpdate(
                    d.contact.id,
                    d.target_id or "",
                    {fields[k]: v for k, v in d.outgoing.items() if k in fields},
                )
                for d in decisions
                if d.action == "update_contact"
            ],
        }

    def route_page(self, plan: PagePlan, router: RouterSide | None) -> dict[str, Any]:
        """The page's new Leads routed (before they are written, so the owner lands in the
        same upsert), once the budget has room for the page."""
        decisions = plan.decisions
        new = [d.contact for d in decisions if d.action == "upsert" and not d.known]
        self._ensure_budget(decisions, routing=router is not None and bool(new))
        return router.route_contacts(new) if router and new else {}

    def upserts(self, plan: PagePlan, routes: dict[str, Any]) -> list[LeadUpsert]:
        """The Lead upserts a routed page sends (new Leads with their owner, known ones)."""
        return [
            LeadUpsert(d.contact.id, {**d.outgoing, **_route_fields(routes, d.contact.id)})
            if not d.known
            else LeadUpsert(d.contact.id, d.outgoing)
            for d in plan.decisions
            if d.action == "upsert"
        ]

    def push_page(
        self,
        plan: PagePlan,
        summary: ContactsSummary,
        router: RouterSide | None,
        routes: dict[str, Any],
        *,
        upsert: Upsert | None = None,
        update: Update | None = None,
    ) -> Commit:
        """Push a routed page's writes, settle each decision, write the ids back. `upsert`,
        `update`: the transports of the Lead upserts and of the updates by Id, when not the
        gateway's sObject Collections (a backfill's, written for a whole job)."""
        decisions, commit, writeback = plan.decisions, plan.commit, plan.writeback
        self._note_sending(plan, summary)
        results = self._push(
            decisions, routes, routed=router is not None, upsert=upsert, update=update
        )
        self._recheck(decisions, results, plan.current, commit)
        for decision in decisions:
            self._settle(
                decision, results.get(decision.contact.id), commit, writeback, plan.counts, summary
            )
        # Another worker's stream may have recorded what a contact maps to, or the fields' last
        # agreement, since this page read them (the leads stream, having written the rep's value
        # to HubSpot): what it recorded is newer than what this page knew, and stays.
        expected = commit.expected.setdefault("to_salesforce", {})
        for key in commit.hashes:
            expected[key] = plan.read.get(key)
        if router is not None:
            self._record_routes(routes, results, router, commit, writeback, summary)
        self._hand_to_conversion(plan, results, commit)
        self._record_handoffs(decisions, results, routes, commit)
        summary.written_back += self._write_back(writeback, commit, summary)
        return commit

    def _note_sending(self, plan: PagePlan, summary: ContactsSummary) -> None:
        """The protected fields' values the page sends to Salesforce, noted before they are
        sent (`StateStore.note_sending`): a run killed after the write and before the page's
        record leaves the next pass knowing what was being sent, so a field the rep changed
        since is the rep's change (`last_agreed`), not decided by record-level change times
        that a later marketing edit of any property moves.

        A new Lead's values are also its fields' first agreement, recorded now where none was
        (the Lead does not exist before this write, so nothing else can have been agreed): the
        note alone is replaced by the next send to the contact, which may be sales feedback's
        failing to reach HubSpot. The page's own record then replaces that agreement."""
        if not self.protected:
            return
        sending: dict[str, str] = {}
        first: dict[str, str] = {}
        for d in plan.decisions:
            if d.action not in ("upsert", "link_lead", "update_contact"):
                continue
            sent = {k: fingerprint(v) for k, v in d.outgoing.items() if k in self.protected}
            if sent:
                sending[contact_sending_key(d.contact.id)] = json.dumps(sent, sort_keys=True)
            key = contact_fields_key(d.contact.id)
            if d.action == "upsert" and not d.known and d.written and plan.read.get(key) is None:
                first[key] = json.dumps(d.written, sort_keys=True)
        self.store.note_sending(STREAM, sending, first=first, run_id=summary.run_id)
        plan.read.update(first)

    @staticmethod
    def _record_handoffs(
        decisions: Sequence[Decision],
        results: dict[str, WriteResult],
        routes: dict[str, Any],
        commit: Commit,
    ) -> None:
        """The handoffs of the page (a contact's first Lead, created or found and linked) for
        the reports, in the same transaction as their links."""
        for decision in decisions:
            first = decision.action == "link_lead" or (
                decision.action == "upsert" and not decision.known
            )
            if not first:
                continue
            result = results.get(decision.contact.id)
            if result is None or not result.success or not result.salesforce_id:
                continue
            route = routes.get(decision.contact.id)
            owner = route.owner_id if route is not None else None
            commit.transitions += handoff_transitions(decision.contact, result.salesforce_id, owner)

    def _hand_to_conversion(
        self, plan: PagePlan, results: dict[str, WriteResult], commit: Commit
    ) -> None:
        """Contacts sales qualified already when their Lead is first linked, handed to the
        conversions stream by id: it may have read them before the link (another worker, or
        this page read again after a kill) and found no Lead, and when HubSpot shows the Lead
        id already the contact does not change again for it to read."""
        if self.conversion is None:
            return
        stream, stage_property, sql_stages = self.conversion
        for decision in plan.decisions:
            contact = decision.contact
            result = results.get(contact.id)
            if (
                decision.action in ("upsert", "link_lead")
                and contact.id in plan.unlinked
                and result is not None
                and result.success
                and contact.properties.get(stage_property) in sql_stages
            ):
                commit.work.append(
                    hand_over(stream, contact.id, "sales qualified when its Lead was first linked")
                )

    def _after_handoff(
        self,
        contact: HubSpotContact,
        link: Link,
        qualified: bool,
        commit: Commit,
        writeback: dict[str, dict[str, str | None]],
        summary: ContactsSummary,
    ) -> bool:
        """A contact sales has a Lead for: report it when it stops qualifying (once: the report
        property shows it until it qualifies again, then it is cleared), and say whether its
        changes still go to Salesforce. Sales keeps the Lead either way."""
        rule = self.plan.mapping.after_handoff
        prop = rule.report_property
        shown = (contact.properties.get(prop) or "").strip() if prop else ""
        if qualified:
            if shown and prop:
                writeback.setdefault(contact.id, {})[prop] = None
                commit.audit.append(
                    AuditEvent("qualifies_again", contact.id, {"lead_id": link.lead_id})
                )
            return True
        if self.returned is not None:
            status_property, values = self.returned
            if contact.properties.get(status_property) in values:
                return False  # sales gave it back: marketing's to nurture, nothing to report
        reason = why_not(contact.properties, self.plan.mapping.include) or "no longer qualifies"
        summary.unqualified_after_handoff += 1
        if not shown:
            details = {"lead_id": link.lead_id, "reason": reason, "then": rule.when_unqualified}
            commit.audit.append(AuditEvent("unqualified_after_handoff", contact.id, details))
            log.warning(
                "sync.unqualified_after_handoff",
                record_id=contact.id,
                reason=reason,
                then=rule.when_unqualified,
            )
            if prop:
                day = datetime.now(UTC).date().isoformat()
                writeback.setdefault(contact.id, {})[prop] = (
                    f"{day}: no longer qualifies for sales ({reason}); the Lead stays with sales"
                )
        return rule.when_unqualified == "keep_syncing"

    def _read_known(self, decisions: list[Decision]) -> dict[str, dict[str, Any]]:
        """The Leads this page updates, as they are now (one query per 200), when something
        needs them: the fields a conflict rule protects, and who changed each last and when
        (with sales feedback on: a rep's change our update would hide from it, see `_recheck`).
        """
        fields = sorted(self.protected)
        if self.feedback is not None:
            fields += ["LastModifiedById", "Status", "SystemModstamp", *self.feedback_fields]
        writes = ("upsert", "link_lead")
        known = sorted(
            {d.target_id for d in decisions if d.action in writes and d.known and d.target_id}
        )
        if not fields or not known:
            return {}
        # Read anyway: every field an update may send comes along (`_held_already`).
        fields = list(dict.fromkeys([*fields, *self.sent_fields]))
        return self.salesforce.current_leads(known, fields)

    def _held_already(
        self, decision: Decision, current: dict[str, dict[str, Any]], link: Link | None
    ) -> Decision:
        """An update of a linked Lead (or a converted person's Contact, `current` under Lead
        field names) that holds every value it would send already: not sent, recorded as
        written. It is our own write seen again before its hash was recorded: a write-back
        of the leads stream (its HubSpot write done, its record not yet, in another worker, or
        never: killed), or a write whose record was lost. (A Lead found by email is written:
        the write records its link.)"""
        if decision.action not in ("upsert", "update_contact") or not decision.known:
            return decision
        if link is None or link.salesforce_id != decision.target_id:
            return decision
        record = current.get(decision.target_id or "")
        if record is None:
            return decision
        outgoing = decision.outgoing
        if decision.action == "update_contact":  # only what has a Contact field is sent
            outgoing = {k: v for k, v in outgoing.items() if k in self.contact_fields}
        if not all(k in record and same(record[k], v) for k, v in outgoing.items()):
            return decision
        return replace(
            decision,
            action="unchanged",
            reason="Salesforce holds these values already",
            target_object="Contact" if decision.action == "update_contact" else "Lead",
        )

    def _recheck(
        self,
        decisions: list[Decision],
        results: dict[str, WriteResult],
        current: dict[str, dict[str, Any]],
        commit: Commit,
    ) -> None:
        """Leads a rep changed that the sales-feedback stream has not read yet, now updated by
        us: the feedback query skips Leads last changed by the integration user, so each is
        handed to that stream by Id (its pending records, read first next pass). A rep's change
        between our read of the Lead and our write shows only after the write: the written
        Leads are read again (one query per 200) and one where a field feedback reads, other
        than those we sent, no longer has the value read before is handed over too; when the
        API budget has no room left for that read, every written Lead is."""
        if self.feedback is None:
            return
        stream, user_id, since = self.feedback
        written: dict[str, dict[str, Any]] = {}
        sent: dict[str, dict[str, Any]] = {}
        for decision in decisions:
            lead = current.get(decision.target_id or "")
            result = results.get(decision.contact.id)
            if result is None or not result.success:
                continue
            if _found_existing(decision, result) and result.salesforce_id:
                # Meant as a creation, the Lead was there already: our own earlier write whose
                # answer was lost (the client sent it again) or whose record a kill stopped. A
                # rep may have worked it in between, and our write hid that from feedback.
                commit.work.append(
                    hand_over(
                        stream,
                        result.salesforce_id,
                        "created by an earlier write whose answer was lost, then written again "
                        "by leadbridge: read again by Id next pass",
                    )
                )
                continue
            if lead is None:
                continue
            sent[str(lead["Id"])] = decision.outgoing
            if lead.get("LastModifiedById") in (None, user_id):
                written[str(lead["Id"])] = lead
                continue
            stamp = lead.get("SystemModstamp")  # a UTC datetime (`current_leads`)
            if since is not None and stamp is not None and stamp < since:
                written[str(lead["Id"])] = lead
                continue  # read by the feedback stream already
            commit.work.append(
                hand_over(
                    stream,
                    str(lead["Id"]),
                    "changed in Salesforce, then updated by leadbridge before sales feedback "
                    "read it: read again by Id next pass",
                )
            )
        if not written:
            return
        watched = list(dict.fromkeys(["Status", *self.feedback_fields]))
        try:
            self.salesforce.ensure_budget(
                f"reading the status of {len(written)} Leads just updated",
                reads=math.ceil(len(written) / LEADS_PER_QUERY),
            )
            now = self.salesforce.current_leads(sorted(written), watched)
        except BudgetReserved:
            now = {}  # no room to read them: each is handed over, read once there is
        for lead_id, lead in written.items():
            after = now.get(lead_id)
            moved = after is None or not all(
                same(lead.get(f), after.get(f)) for f in watched if f not in sent[lead_id]
            )
            if moved:
                commit.work.append(
                    hand_over(
                        stream,
                        lead_id,
                        "its status may have changed in Salesforce while leadbridge updated "
                        "it: read again by Id next pass",
                    )
                )

    def _guard(
        self,
        decisions: list[Decision],
        hashes: dict[str, str],
        current: dict[str, dict[str, Any]],
    ) -> list[Decision]:
        """Writes with their protected fields resolved against `current` (`_read_known`): what
        Salesforce wins is withheld."""
        if not self.protected:
            return decisions
        writes = ("upsert", "link_lead")
        converted = sorted(
            {d.target_id for d in decisions if d.action == "update_contact" and d.target_id}
        )
        current.update(self._current_contacts(converted))
        guarded = []
        for decision in decisions:
            if decision.action not in (*writes, "update_contact"):
                guarded.append(decision)
                continue
            lead = current.get(decision.target_id or "") if decision.known else None
            outcome = guard(
                decision.fields or {},
                self.protected,
                lead,
                hubspot_changed_at=decision.contact.updated_at,
                salesforce_changed_at=lead.get("LastModifiedDate") if lead else None,
                written=fingerprints(hashes.get(contact_fields_key(decision.contact.id))),
                sending=fingerprints(hashes.get(contact_sending_key(decision.contact.id))),
            )
            guarded.append(
                replace(
                    decision,
                    withheld=outcome.withheld,
                    written=outcome.written,
                    agreeing=outcome.agreeing,
                )
            )
        return guarded

    def _current_contacts(self, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The fields of converted people's Contacts that their changes go to, under their Lead
        field names (what `guard` and `_held_already` compare), each with `LastModifiedDate`;
        one query per 200."""
        names = dict(self.contact_fields)
        if not contact_ids or not names:
            return {}
        found: dict[str, dict[str, Any]] = {}
        rows = self.salesforce.current_contacts(contact_ids, sorted(set(names.values())))
        for contact_id, row in rows.items():
            record = {lead: row.get(field) for lead, field in names.items()}
            record["LastModifiedDate"] = row["LastModifiedDate"]
            found[contact_id] = record
        return found

    def _ensure_budget(self, decisions: list[Decision], *, routing: bool) -> None:
        """Stop the pass (`BudgetReserved`) before routing and writing a page the Salesforce
        budget cannot finish above its reserve: round-robin turns are never taken for Leads
        that are not written, and a page is never left half written."""
        kinds = Counter(
            "known" if d.action == "upsert" and d.known else d.action
            for d in decisions
            if d.action in ("upsert", "link_lead", "update_contact")
        )
        self.salesforce.ensure_budget(
            f"writing {sum(kinds.values())} contacts to Salesforce",
            reads=ROUTING_READS if routing else 0,
            writes=list(kinds.values()),
        )

    def _push(
        self,
        decisions: list[Decision],
        routes: dict[str, Any],
        *,
        routed: bool,
        upsert: Upsert | None = None,
        update: Update | None = None,
    ) -> dict[str, WriteResult]:
        """Upserts (through `upsert` when given: another transport, such as a backfill's Bulk
        API 2.0 job) and links. New Leads carry their routed owner (and Salesforce's assignment
        rules are told to keep out); without routing they are left to those rules. Known Leads
        keep their owner."""
        new = [
            LeadUpsert(d.contact.id, {**d.outgoing, **_route_fields(routes, d.contact.id)})
            for d in decisions
            if d.action == "upsert" and not d.known
        ]
        known = [
            LeadUpsert(d.contact.id, d.outgoing)
            for d in decisions
            if d.action == "upsert" and d.known
        ]
        by_id = self.updates(decisions)
        links, converted = by_id["Lead"], by_id["Contact"]
        results: list[WriteResult] = [
            WriteResult(u.key, success=True, salesforce_id=u.record_id)
            for u in converted
            if not u.fields  # nothing of the change has a Contact field: nothing to send
        ]
        if any(u.fields for u in converted):
            sent = [u for u in converted if u.fields]
            results += (update or self.salesforce.update_records)("Contact", sent)
        if new:
            results += (upsert or self.salesforce.upsert_leads)(new, auto_assign=not routed)
        if known:
            results += (upsert or self.salesforce.upsert_leads)(known, auto_assign=False)
        if links and update is not None:
            results += update("Lead", links)
        elif links:
            results += self.salesforce.update_leads(
                [LeadUpdate(u.key, u.record_id, u.fields) for u in links]
            )
        return {r.hubspot_id: r for r in results}

    def _settle(
        self,
        decision: Decision,
        result: WriteResult | None,
        commit: Commit,
        writeback: dict[str, dict[str, str | None]],
        counts: Counter[str],
        summary: ContactsSummary,
    ) -> None:
        contact = decision.contact
        wb = self.plan.mapping.writeback
        action = decision.action
        counts[action] += 1
        if action == "skip":
            summary.skipped += 1
            return
        if action == "held":
            summary.held += 1
            return
        if action == "unchanged":
            summary.unchanged += 1
            commit.resolved.append(contact.id)
            if decision.hash:  # held already (`_held_already`): recorded as if written
                commit.hashes[contact_key(contact.id)] = decision.hash
            if decision.written:
                commit.hashes[contact_fields_key(contact.id)] = json.dumps(
                    decision.written, sort_keys=True
                )
            if decision.withheld:
                summary.kept += len(decision.withheld)
                details = {"lead_id": decision.target_id, "kept": decision.withheld}
                commit.audit.append(AuditEvent("conflict", contact.id, details))
            # Self-healing: a write-back lost to a crash is made when the contact comes by again.
            prop = wb.contact_id if decision.target_object == "Contact" else wb.lead_id
            if decision.target_id and contact.properties.get(prop) != decision.target_id:
                writeback.setdefault(contact.id, {})[prop] = decision.target_id
            return
        if action == "fail":
            self._fail(commit, summary, contact, decision.reason, code="LINK_CONFLICT")
            return
        if action == "link_contact":
            target = decision.target_id or ""
            commit.links.append(Link(contact.id, "Contact", target, contact_id=target))
            commit.resolved.append(contact.id)
            summary.linked += 1
            summary.linked_contacts += 1
            if contact.properties.get(wb.contact_id) != target:
                writeback.setdefault(contact.id, {})[wb.contact_id] = target
            return
        if result is None or not result.success or not result.salesforce_id:
            # Salesforce echoes the refused value: shown clipped, found by what was sent.
            reason = (
                describe_errors(result.errors, decision.fields)
                if result
                else "no result from Salesforce"
            )
            first = result.errors[0] if result and result.errors else None
            self._fail(
                commit,
                summary,
                contact,
                reason,
                code=first.code if first else None,
                fields=first.fields if first else (),
                payload=decision.fields or {},
            )
            return
        if action == "update_contact":
            if decision.hash:
                commit.hashes[contact_key(contact.id)] = decision.hash
            if decision.written:
                commit.hashes[contact_fields_key(contact.id)] = json.dumps(
                    decision.written, sort_keys=True
                )
            summary.kept += len(decision.withheld)
            commit.resolved.append(contact.id)
            summary.contacts_updated += 1
            return
        lead_id = result.salesforce_id
        commit.links.append(Link(contact.id, "Lead", lead_id, lead_id=lead_id))
        # The hash of every mapped value, withheld ones included: an unchanged contact stays
        # our echo next pass, whatever its conflict rules kept out of this write.
        if decision.hash:
            commit.hashes[contact_key(contact.id)] = decision.hash
        if decision.written:
            commit.hashes[contact_fields_key(contact.id)] = json.dumps(
                decision.written, sort_keys=True
            )
        if decision.withheld:
            summary.kept += len(decision.withheld)
            commit.audit.append(
                AuditEvent("conflict", contact.id, {"lead_id": lead_id, "kept": decision.withheld})
            )
        commit.resolved.append(contact.id)
        if action == "link_lead":
            summary.linked += 1
        elif result.created:
            summary.created += 1
        else:
            summary.updated += 1
        if contact.properties.get(wb.lead_id) != lead_id:
            writeback.setdefault(contact.id, {})[wb.lead_id] = lead_id

    @staticmethod
    def _record_routes(
        routes: dict[str, Any],
        results: dict[str, WriteResult],
        router: RouterSide,
        commit: Commit,
        writeback: dict[str, dict[str, str | None]],
        summary: ContactsSummary,
    ) -> None:
        """Every routed Lead that landed: its decision path to the audit log, what HubSpot should
        know of it (global, watchers) to the write-back, its outcome to the summary."""
        for hubspot_id, route in routes.items():
            result = results.get(hubspot_id)
            if result is None or not result.success:
                continue
            commit.audit.append(AuditEvent("routing", hubspot_id, route.explain))
            writeback.setdefault(hubspot_id, {}).update(router.hubspot_values(route))
            kind = "global" if route.global_lead else route.rule.split(":", 1)[0].strip()
            summary.routed[kind or "routed"] += 1
            if route.defaulted_because:
                summary.defaulted[route.defaulted_because] += 1
            if route.watchers:
                log.info("routing.watchers", record_id=hubspot_id, watchers=list(route.watchers))

    def _write_back(
        self, writeback: dict[str, dict[str, str | None]], commit: Commit, summary: ContactsSummary
    ) -> int:
        """Salesforce ids into the HubSpot contacts. What HubSpot refuses is owed (work, in the
        page's transaction, with the reason) and tried again at the next pass's start; a failure
        of the whole call fails the page, which the next pass replays."""
        if not writeback:
            return 0
        done = 0
        for result in self.hubspot.update_contacts(writeback):
            if result.success:
                done += 1
                continue
            commit.owed[result.hubspot_id] = writeback[result.hubspot_id]
            commit.unconfirmed[result.hubspot_id] = result.reason
            summary.failures.append(
                (result.hubspot_id, f"write-back (owed, tried again next pass): {result.reason}")
            )
        return done

    def _fail(
        self,
        commit: Commit,
        summary: ContactsSummary,
        contact: HubSpotContact,
        reason: str,
        *,
        code: str | None,
        fields: tuple[str, ...] = (),
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.fail(commit, summary, contact.id, reason, code=code, fields=fields, payload=payload)


def _found_existing(decision: Decision, result: WriteResult) -> bool:
    """An upsert decided as a creation (no Lead known for the contact) that Salesforce answered
    as an update of a Lead with our external id."""
    return decision.action == "upsert" and not decision.known and not result.created


def _route_fields(routes: dict[str, Any], hubspot_id: str) -> dict[str, Any]:
    route = routes.get(hubspot_id)
    return dict(route.lead_fields) if route is not None else {}
