"""One pass of the `hubspot.conversions` stream: sales qualified (SQL) contacts become
Salesforce Accounts, Contacts and Opportunities (`convertLead`), and HubSpot learns their ids.

What counts as SQL is conversion.yaml's `sql_when`, and each side it names is a source:
- the HubSpot stage: contacts at `hubspot_stage` or later changed since the cursor (minus an
  overlap);
- the Lead status: unconverted Leads at `salesforce_status` carrying our external id, read
  again every pass (no cursor: a converted Lead drops out of the query), 2,000 a query;
- the dead letters and the work of earlier passes (hand-overs, conversions in flight, retries
  a person asked for), read again first.
A contact is taken once per pass, from the first source that has it. Its link must still be the
Lead; the Lead is converted per `decide` (up to 100 a call), or linked when it is converted
already (by a person, or by us before a crash). With `sql_when: both` a contact is
converted only when its stage and its Lead's status both say SQL.

Replay safety: before convertLead, each contact gets `pending` work (`connector.state.work`).
What Salesforce answered is recorded in one transaction: the links now name the Contact, the
write-back HubSpot is owed (the ids and the converted stage, as work) and the pending work
done; then HubSpot is written and what it confirmed recorded with the cursor. After a crash
before that first transaction, the next pass reads the pending work, finds the Lead
`IsConverted` and links it instead of converting it twice; after a crash past it, the owed
write-back is paid by the next pass's first step (`connector.streams.writeback`), whichever
stream would otherwise see the contact first.

A conversion Salesforce refuses is dead-lettered with its message and a fingerprint of what it
depended on (`decide.refusal_fingerprint`); the lead stays a lead, and while the
fingerprint is unchanged it is held (no convertLead call). Transient refusals are retried.

The new opportunity's stage, close date and amount (conversion.yaml `opportunity`) are set by one
Collections update per 200 right after conversion; a refused update is dead-lettered in
`hubspot.conversions.opportunity` for a person (not retried: the opportunity is sales' now) and
never undoes the conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog

from connector.errors import MappingError, StreamBusy
from connector.mapping.conversion import (
    ConversionMapping,
    check_amount_property,
    check_converted_status,
    check_opportunity_stage,
    check_sql_statuses,
)
from connector.model import (
    ConvertResult,
    DeadLetter,
    HubSpotContact,
    LeadConvert,
    Link,
    RecordUpdate,
    SearchFilter,
    Transition,
)
from connector.state.hold import Wait
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import Work, pending
from connector.streams.base import Due, Stream, Summary, pages
from connector.streams.contacts.decide import TRANSIENT_CODES
from connector.streams.conversions.decide import (
    LEAD_FIELDS,
    AmountError,
    already_converted,
    is_sales_qualified,
    lead_convert,
    opportunity_fields,
    refusal_fingerprint,
)
from connector.streams.sides import HubSpotSide, SalesforceSide, contacts_search
from connector.streams.writeback import STREAM as WRITEBACK_STREAM

log = structlog.get_logger(__name__)

STREAM = "hubspot.conversions"
#: Where refused opportunity updates wait, for a person: the conversion itself succeeded.
OPPORTUNITY_STREAM = "hubspot.conversions.opportunity"
#: Contacts per page: one Lead query, one Contact query, one convertLead call, one HubSpot batch.
PAGE_SIZE = 100
#: Leads per status query: one API call (Salesforce answers a query 2,000 records at a time).
STATUS_PAGE = 2000
CONTACT_ID = "salesforcecontactid"
ACCOUNT_ID = "salesforceaccountid"
OPPORTUNITY_ID = "salesforceopportunityid"

T = TypeVar("T")


@dataclass
class ConversionsSummary(Summary):
    """What one conversion pass did, for people (`render`) and for tests (the counts)."""

    pulled: int = 0  # SQL contacts read from HubSpot (the stage source)
    status_leads: int = 0  # unconverted Leads read at the SQL status (the status source)
    converted: int = 0  # Leads converted by this pass
    opportunities: int = 0  # opportunities those conversions created
    opportunities_updated: int = 0  # of those, given their stage, close date and amount
    linked: int = 0  # Leads found already converted: linked to what they became
    not_a_lead: int = 0  # no link, or linked to a Contact that was never our Lead
    waiting: int = 0  # SQL on one side only (sql_when: both), or no longer SQL
    held: int = 0  # refused before, unchanged since: no convertLead call
    opportunity_failures: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"conversion {self.run_id}: pulled {self.pulled} sales qualified contacts from HubSpot",
            f"  converted {self.converted} Leads ({self.opportunities} opportunities), "
            f"linked {self.linked} already converted, skipped {self.not_a_lead} not linked to "
            f"a Lead, failed {self.failed}",
        ]
        if self.status_leads:
            lines.append(f"  read {self.status_leads} Leads at the SQL status in Salesforce")
        if self.opportunities_updated or self.opportunity_failures:
            lines.append(
                f"  set stage, close date or amount on {self.opportunities_updated} "
                f"opportunities, failed {len(self.opportunity_failures)}"
            )
        if self.waiting:
            lines.append(f"  {self.waiting} not sales qualified on both sides (yet), left as Leads")
        if self.held:
            lines.append(
                f"  {self.held} contacts still wait in the dead-letter store, unchanged since "
                "Salesforce refused their conversion"
            )
        lines += [f"  failed: HubSpot contact {cid}: {why}" for cid, why in self.failures]
        lines += [
            f"  opportunity not updated: HubSpot contact {cid}: {why}"
            for cid, why in self.opportunity_failures
        ]
        return lines


@dataclass(frozen=True)
class _Item:
    """One contact a source offers: its link, and what was read of it on either side."""

    hubspot_id: str
    link: Link | None
    contact: HubSpotContact | None = None
    contact_read: bool = False  # the contact was asked for (None then means: gone)
    lead: dict[str, Any] | None = None


@dataclass
class _Page:
    """What one page records: Salesforce's answers first, then HubSpot's, with the cursor."""

    first: Commit
    second: Commit
    fresh: set[str]  # contacts given pending work this page


class ConversionsStream(Stream[ConversionsSummary]):
    """Converts the Leads of sales qualified HubSpot contacts, once each."""

    name = STREAM
    summary_type = ConversionsSummary

    def __init__(
        self,
        salesforce: SalesforceSide,
        hubspot: HubSpotSide,
        store: StateStore,
        conversion_mapping: ConversionMapping,
        *,
        external_id_field: str = "HubSpot_Contact_Id__c",
        overlap: timedelta = timedelta(minutes=1),
        matched_account_field: str = "Matched_Account__c",
        page_size: int = PAGE_SIZE,
        status_page: int = STATUS_PAGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.store = store
        self.mapping = conversion_mapping
        self.external_id_field = external_id_field
        self.overlap = overlap
        self.matched_account_field = matched_account_field
        self.page_size = page_size
        self.status_page = status_page
        self.clock = clock
        self._checked: ConversionMapping | None = None
        self._sql_statuses: tuple[str, ...] = ()
        # The stream's work as the pass began: contacts with any, with a conversion in flight
        # (`pending`), and put back by a person (`retry`).
        self._work: Mapping[str, Sequence[Work]] = {}
        self._pending: set[str] = set()
        self._forced: set[str] = set()

    @property
    def properties(self) -> list[str]:
        """The contact properties every source reads."""
        names = [self.mapping.lifecycle_property, CONTACT_ID]
        if self.mapping.opportunity.amount_property:
            names.append(self.mapping.opportunity.amount_property)
        return names

    def _queue_owner_id(self) -> str | None:
        """The user who owns what queue-owned Leads convert into (conversion.yaml)."""
        owner = self.mapping.queue_lead_owner
        if owner == "integration":
            return self.salesforce.user_id
        return owner if owner and owner.startswith("005") else None

    # -- the pass --------------------------------------------------------------------------
    def _prepare(self, summary: ConversionsSummary, due: Due) -> None:
        """conversion.yaml checked against the org (once per mapping), and the stream's work
        as the pass begins: contacts with any, with a conversion in flight (`pending`), and
        put back by a person (`retry`: never held)."""
        self._check_mapping()
        self._dead = due.dead
        self._work = due.work
        self._pending = {r for r in due.work if "pending" in due.kinds(r)}
        self._forced = due.forced()
        self._seen: set[str] = set()

    def _by_ids(self, ids: list[str], summary: ConversionsSummary, due: Due) -> None:
        """These contacts again: their contacts (one batch read per 100), then as any page."""
        self._seen.update(ids)
        self._retry(ids, summary, self._dead)

    def _changed(self, summary: ConversionsSummary, due: Due) -> None:
        """The Leads at the SQL status (when the status counts), then the contacts at the SQL
        stage changed since the cursor (when it counts); a contact once per pass."""
        if self.mapping.uses_status:
            self._status_source(summary, self._dead, self._seen)
        if self.mapping.uses_stage:
            self._stage_source(summary, self._dead, self._seen)

    def _check_mapping(self) -> None:
        """conversion.yaml against the org, once per mapping: the converted and SQL statuses
        (one LeadStatus query), the opportunity stage (one describe) and the amount property
        (one HubSpot call), each only when the file uses it. A MappingError stops the pass
        before anything is written."""
        if self._checked is self.mapping:
            return
        mapping = self.mapping
        statuses = [s.as_row() for s in self.salesforce.lead_statuses()]
        converted = [name for api, label, done in statuses if done for name in (api, label)]
        check_converted_status(mapping, list(dict.fromkeys(converted)))
        if mapping.uses_status and not mapping.salesforce_status:
            msg = f"conversion.yaml: sql_when: {mapping.sql_when} needs salesforce_status"
            raise MappingError(msg)
        self._sql_statuses = check_sql_statuses(mapping, statuses)
        if mapping.opportunity.create and mapping.opportunity.stage is not None:
            check_opportunity_stage(mapping, self._stages())
        if mapping.opportunity.create and mapping.opportunity.amount_property is not None:
            names = [str(p.get("name")) for p in self.hubspot.properties("contacts")]
            check_amount_property(mapping, names)
        self._checked = mapping

    def _stages(self) -> list[str]:
        """The active values of the Opportunity StageName picklist."""
        described = self.salesforce.describe("Opportunity")
        for spec in described.get("fields") or []:
            if spec.get("name") == "StageName":
                return [
                    str(v["value"])
                    for v in spec.get("picklistValues") or []
                    if v.get("active", True)
                ]
        return []

    # -- sources ---------------------------------------------------------------------------
    def _retry(
        self, ids: list[str], summary: ConversionsSummary, dead: dict[str, DeadLetter]
    ) -> None:
        """The dead letters again: their contacts (one batch read per 100), then as any page."""
        for chunk in self.until_stopped(pages(ids, self.page_size)):
            contacts = {c.id: c for c in self.hubspot.read_contacts(chunk, self.properties)}
            links = self.store.links(chunk)
            items = [_Item(h, links.get(h), contacts.get(h), contact_read=True) for h in chunk]
            self._handle(items, summary, dead, None)

    def _status_source(
        self, summary: ConversionsSummary, dead: dict[str, DeadLetter], seen: set[str]
    ) -> None:
        """Unconverted Leads at the SQL status with our external id, 2,000 a query in Id order
        (keyset paging: a page converted meanwhile cannot make us skip one)."""
        after: str | None = None
        while True:
            leads = self._sql_leads(after)
            summary.status_leads += len(leads)
            for chunk in self.until_stopped(pages(leads, self.page_size)):
                self._handle(self._status_items(chunk, seen), summary, dead, None)
            if len(leads) < self.status_page or (self.should_stop and self.should_stop()):
                return
            after = str(leads[-1]["Id"])

    def _sql_leads(self, after: str | None) -> list[dict[str, Any]]:
        leads = self.salesforce.leads_at_status(
            self._sql_statuses,
            [*LEAD_FIELDS, self.matched_account_field],
            external_id_field=self.external_id_field,
            after=after,
            limit=self.status_page,
        )
        log.info("conversion.status_leads", stream=STREAM, count=len(leads))
        return leads

    def _status_items(self, leads: list[dict[str, Any]], seen: set[str]) -> list[_Item]:
        """Items for Leads from the status query. The HubSpot id is the Lead's external id,
        and the store must link that contact to this very Lead (else: not ours to convert).
        Contacts are read (one batch) only when the stage or the amount needs them."""
        by_contact: dict[str, dict[str, Any]] = {}
        for lead in leads:
            hubspot_id = str(lead.get(self.external_id_field) or "")
            if hubspot_id and hubspot_id not in seen:
                seen.add(hubspot_id)
                by_contact[hubspot_id] = lead
        links = self.store.links(by_contact)
        ours = {
            h: links[h]
            for h, lead in by_contact.items()
            if h in links and links[h].object == "Lead" and links[h].salesforce_id == lead["Id"]
        }
        read = bool(ours) and (
            self.mapping.sql_when == "both" or self.mapping.opportunity.amount_property is not None
        )
        contacts = (
            {c.id: c for c in self.hubspot.read_contacts(list(ours), self.properties)}
            if read
            else {}
        )
        return [
            _Item(h, ours.get(h), contacts.get(h), contact_read=read and h in ours, lead=lead)
            for h, lead in by_contact.items()
        ]

    def _stage_source(
        self, summary: ConversionsSummary, dead: dict[str, DeadLetter], seen: set[str]
    ) -> None:
        """Contacts at the SQL stage changed since the cursor, a page at a time."""
        cursor = self.store.cursor(STREAM)
        # Changes after the pass starts (our own write-backs among them) are the next pass's:
        # a contact written back would otherwise come round again later in the same search.
        # Changes HubSpot's search showed late come once more when they settle.
        stages = self.mapping.sql_stages
        wanted = [[SearchFilter(self.mapping.lifecycle_property, "IN", values=stages)]]

        changed = self.sweep(
            self.clock(),
            self.overlap,
            contacts_search(self.hubspot, self.properties, wanted),
            together=self.hubspot.searchable_together(wanted, windows=2),
        )
        for page in self.until_stopped(changed):
            for part in pages(page, self.page_size):
                newest = max(c.updated_at for c in part)
                cursor = max(cursor, newest) if cursor else newest
                fresh = [c for c in part if c.id not in seen]
                summary.pulled += len(fresh)
                seen.update(c.id for c in fresh)
                links = self.store.links(c.id for c in fresh)
                items = [_Item(c.id, links.get(c.id), c, contact_read=True) for c in fresh]
                self._handle(items, summary, dead, cursor)
        self.settle(changed, summary)

    # -- one page --------------------------------------------------------------------------
    def _handle(
        self,
        items: list[_Item],
        summary: ConversionsSummary,
        dead: dict[str, DeadLetter],
        cursor: datetime | None,
    ) -> None:
        """Decide, convert (or link), record Salesforce's answers, write HubSpot, move on."""
        page = _Page(
            first=Commit(stream=STREAM, direction="to_salesforce"),
            second=Commit(stream=STREAM, direction="to_hubspot", cursor=cursor),
            fresh=set(),
        )
        items = self._not_erased(items, page, summary)
        leads = self._leads_of(items)
        done: dict[str, ConvertResult] = {}  # HubSpot gets these ids
        replayed: dict[str, ConvertResult] = {}  # converted by us before a crash
        todo: list[tuple[_Item, dict[str, Any]]] = []
        for item in items:
            hubspot_id, link = item.hubspot_id, item.link
            if item.contact_read and item.contact is None:
                reason = f"HubSpot contact {hubspot_id} does not exist (deleted or merged?)"
                lead_id = (link.lead_id or link.salesforce_id) if link else ""
                self._fail(page.first, summary, hubspot_id, lead_id, reason, "CONTACT_NOT_FOUND")
                continue
            if link is None or link.object != "Lead":
                # Converted before (what HubSpot is owed of it is work, paid at a pass's start),
                # or a person who was a Contact already: nothing to convert either way.
                if link is None or not link.lead_id:
                    summary.not_a_lead += 1
                self._drop(page, hubspot_id, dead)
                continue
            lead = item.lead or leads.get(link.salesforce_id)
            if lead is None:
                reason = f"Salesforce Lead {link.salesforce_id} does not exist (deleted or merged?)"
                self._fail(
                    page.first,
                    summary,
                    hubspot_id,
                    link.salesforce_id,
                    reason,
                    "LEAD_NOT_FOUND",
                )
                continue
            converted = already_converted(lead)
            if converted is not None:
                summary.linked += 1
                done[hubspot_id] = converted
                self._link(page.first, hubspot_id, converted, "linked")
                if converted.opportunity_id and self._ours_unrecorded(hubspot_id, lead, dead):
                    replayed[hubspot_id] = converted
                continue
            stage = (
                item.contact.properties.get(self.mapping.lifecycle_property)
                if item.contact
                else None
            )
            if not is_sales_qualified(
                self.mapping,
                stage=stage,
                status=lead.get("Status"),
                sql_statuses=self._sql_statuses,
            ):
                summary.waiting += 1
                self._drop(page, hubspot_id, dead)
                continue
            todo.append((item, lead))
        converted_now = self._convert(todo, page, summary, dead)
        done.update(converted_now)
        contacts = {i.hubspot_id: i.contact for i in items if i.contact is not None}
        self._update_opportunities({**replayed, **converted_now}, contacts, page, summary)
        owed = self._owed(done)
        first = page.first
        first.owed.update(owed)
        first.resolved += [h for h in done if h in dead]
        # Closed whatever came since the read (no `done_as_read`): the stream's own `pending`
        # marker, written while the conversion was sent, goes with it, and a hand-over made
        # meanwhile asks nothing a converted Lead does not have (the next read finds it so).
        first.done += [i.hubspot_id for i in items if i.hubspot_id in self._work]
        first.done += sorted(page.fresh)
        if first.links or first.failures or first.resolved or first.owed or first.done:
            self.store.record(first, run_id=summary.run_id)
        self._pay(owed, page, summary)
        self.store.record(page.second, run_id=summary.run_id)

    def _not_erased(
        self, items: list[_Item], page: _Page, summary: ConversionsSummary
    ) -> list[_Item]:
        """The items less erased people's (by HubSpot id, Lead or Contact id, email): never
        converted or written again; their work is done."""

        def ids(item: _Item) -> list[str | None]:
            link = item.link
            return [
                str(item.lead["Id"]) if item.lead else None,
                link.salesforce_id if link else None,
                link.lead_id if link else None,
                link.contact_id if link else None,
            ]

        gone = self.erased.records(
            hubspot_ids=[i.hubspot_id for i in items],
            salesforce_ids=[x for i in items for x in ids(i)],
            emails=[i.contact.email for i in items if i.contact is not None],
        )
        if not gone:
            return items
        erased = {
            i.hubspot_id
            for i in items
            if gone.covers(hubspot_id=i.hubspot_id)
            or any(gone.covers(salesforce_id=x) for x in ids(i) if x)
            or (i.contact is not None and gone.covers(email=i.contact.email))
        }
        summary.erased += len(erased)
        self.erased.skipped(STREAM, len(erased))
        page.first.done += [h for h in erased if h in self._work]
        return [i for i in items if i.hubspot_id not in erased]

    def _pay(
        self, owed: dict[str, dict[str, str | None]], page: _Page, summary: ConversionsSummary
    ) -> None:
        """Pay what the page owes HubSpot at once, holding the write-back step's stream: the
        debts are recorded already, and that step (another worker's job) must not read them
        while this write is under way, or both write the same ids (the second an echo). When
        it is paying debts now, these are left to it."""
        if not owed:
            return
        try:
            with self.store.hold(WRITEBACK_STREAM, wait=Wait(0)):
                # Once let go, that step finds HubSpot showing these (confirmed or not yet).
                self._write_back(owed, page, summary)
        except StreamBusy:
            log.info("conversion.writeback_left", stream=STREAM, owed=len(owed))

    def _ours_unrecorded(
        self, hubspot_id: str, lead: dict[str, Any], dead: dict[str, DeadLetter]
    ) -> bool:
        """Whether leadbridge converted this Lead in a pass that stopped before recording it
        (its conversion still pending, or a dead letter open and the conversion the Lead's last
        change by our user): its opportunity may lack the stage, close date and amount. A
        person's conversion is not ours to change."""
        if hubspot_id in self._pending:
            return True
        return hubspot_id in dead and lead.get("LastModifiedById") == self.salesforce.user_id

    def _leads_of(self, items: list[_Item]) -> dict[str, dict[str, Any]]:
        """The linked Leads the sources did not read already (one query per 200)."""
        wanted = sorted(
            {
                i.link.salesforce_id
                for i in items
                if i.lead is None and i.link is not None and i.link.object == "Lead"
            }
        )
        if not wanted:
            return {}
        return self.salesforce.current_leads(wanted, [*LEAD_FIELDS, self.matched_account_field])

    def _convert(
        self,
        todo: list[tuple[_Item, dict[str, Any]]],
        page: _Page,
        summary: ConversionsSummary,
        dead: dict[str, DeadLetter],
    ) -> dict[str, ConvertResult]:
        """Hold what was refused and has not changed (unless a person put it back), convert the
        rest; successes by HubSpot id. Each conversion is recorded as pending work first."""
        now = self.clock()
        owner = self._queue_owner_id() if todo else None
        attempts: list[tuple[str, dict[str, Any], str]] = []  # (HubSpot id, Lead, fingerprint)
        for item, lead in todo:
            bare = self._request(lead, [], now, owner)
            fingerprint = refusal_fingerprint(lead, bare)
            letter = dead.get(item.hubspot_id)
            if (
                letter is not None
                and item.hubspot_id not in self._forced
                and letter.code not in TRANSIENT_CODES
                and letter.payload.get("fingerprint") == fingerprint
            ):
                summary.held += 1
                continue
            attempts.append((item.hubspot_id, lead, fingerprint))
        if not attempts:
            return {}
        contacts = self._existing_contacts([lead for _, lead, _ in attempts])
        converts = [self._request(lead, contacts, now, owner) for _, lead, _ in attempts]
        # A conversion starts only with the budget to finish it (its opportunity's fields too):
        # the reserve stops the pass before convertLead, never between it and the update.
        self.salesforce.ensure_budget(
            f"converting {len(converts)} Leads",
            converts=len(converts),
            writes=[len(converts)] if self.mapping.opportunity.sets_fields else [],
        )
        self._mark_pending(attempts, page, summary)
        results = self.salesforce.convert_leads(converts)
        done: dict[str, ConvertResult] = {}
        for (hubspot_id, _, fingerprint), result in zip(attempts, results, strict=True):
            if not result.success:
                code = result.errors[0].code if result.errors else None
                reason = f"Salesforce refused to convert Lead {result.lead_id}: {result.reason}"
                fields = tuple(f for e in result.errors for f in e.fields)
                self._fail(
                    page.first,
                    summary,
                    hubspot_id,
                    result.lead_id,
                    reason,
                    code,
                    fields=fields,
                    fingerprint=fingerprint,
                )
                continue
            summary.converted += 1
            summary.opportunities += result.opportunity_id is not None
            done[hubspot_id] = result
            self._link(page.first, hubspot_id, result, "converted")
        return done

    def _request(
        self,
        lead: dict[str, Any],
        contacts: list[dict[str, Any]],
        now: datetime,
        owner: str | None,
    ) -> LeadConvert:
        return lead_convert(
            lead,
            contacts,
            self.mapping,
            now=now,
            matched_account_field=self.matched_account_field,
            queue_owner_id=owner,
        )

    def _mark_pending(
        self,
        attempts: list[tuple[str, dict[str, Any], str]],
        page: _Page,
        summary: ConversionsSummary,
    ) -> None:
        """Record, before convertLead, that these conversions are being sent: the pending work
        makes the next pass look at them again whatever happens before their answers are
        recorded (and closes with the commit that records them)."""
        commit = Commit(stream=STREAM, direction="to_salesforce")
        for hubspot_id, lead, _ in attempts:
            commit.work.append(
                pending(
                    STREAM,
                    hubspot_id,
                    f"conversion of Lead {lead['Id']} sent to Salesforce; its outcome is not "
                    "recorded yet",
                    lead_id=str(lead["Id"]),
                )
            )
            page.fresh.add(hubspot_id)
        self.store.record(commit, run_id=summary.run_id)

    def _existing_contacts(self, leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Contacts of the matched accounts with the leads' emails, in one query per chunk."""
        accounts = sorted(
            {str(x[self.matched_account_field]) for x in leads if x.get(self.matched_account_field)}
        )
        emails = sorted({str(x["Email"]) for x in leads if x.get("Email")})
        return self.salesforce.contacts_on_accounts(accounts, emails)

    # -- the new opportunities -------------------------------------------------------------
    def _update_opportunities(
        self,
        converted: dict[str, ConvertResult],
        contacts: dict[str, HubSpotContact],
        page: _Page,
        summary: ConversionsSummary,
    ) -> None:
        """Stage, close date and amount on the opportunities conversion just created (one
        Collections call per 200). A refusal is reported and dead-lettered; the conversion
        stands."""
        rule = self.mapping.opportunity
        if not rule.sets_fields:
            return
        now = self.clock()
        updates: list[RecordUpdate] = []
        leads: dict[str, str] = {}
        for hubspot_id, result in converted.items():
            if result.opportunity_id is None:
                continue
            leads[hubspot_id] = result.lead_id
            contact = contacts.get(hubspot_id)
            amount = (
                contact.properties.get(rule.amount_property)
                if contact is not None and rule.amount_property
                else None
            )
            try:
                values = opportunity_fields(rule, now=now, amount=amount, contact_id=hubspot_id)
            except AmountError as exc:
                self._opportunity_failed(
                    page, summary, hubspot_id, result, str(exc), "MAPPING_FAILED", ("Amount",)
                )
                continue
            if values:
                updates.append(RecordUpdate(hubspot_id, result.opportunity_id, values))
        if not updates:
            return
        for write in self.salesforce.update_records("Opportunity", updates):
            if write.success:
                summary.opportunities_updated += 1
                continue
            result = converted[write.hubspot_id]
            reason = (
                f"Salesforce refused to set {', '.join(_values_of(updates, write.hubspot_id))} "
                f"on Opportunity {result.opportunity_id}: {write.reason}"
            )
            code = write.errors[0].code if write.errors else None
            fields = tuple(f for e in write.errors for f in e.fields)
            self._opportunity_failed(page, summary, write.hubspot_id, result, reason, code, fields)

    @staticmethod
    def _opportunity_failed(
        page: _Page,
        summary: ConversionsSummary,
        hubspot_id: str,
        result: ConvertResult,
        reason: str,
        code: str | None,
        fields: tuple[str, ...],
    ) -> None:
        page.first.failures.append(
            DeadLetter(
                OPPORTUNITY_STREAM,
                hubspot_id,
                reason,
                code=code,
                fields=fields,
                payload={"lead_id": result.lead_id, "opportunity_id": result.opportunity_id},
            )
        )
        summary.opportunity_failures.append((hubspot_id, reason))
        log.warning(
            "conversion.opportunity_failed", stream=OPPORTUNITY_STREAM, record_id=hubspot_id
        )

    # -- HubSpot ---------------------------------------------------------------------------
    def _owed(self, done: dict[str, ConvertResult]) -> dict[str, dict[str, str | None]]:
        """What HubSpot is owed of each conversion: the ids and the converted stage."""
        return {
            hubspot_id: {
                CONTACT_ID: r.contact_id,
                ACCOUNT_ID: r.account_id,
                OPPORTUNITY_ID: r.opportunity_id,
                self.mapping.lifecycle_property: self.mapping.converted_stage,
            }
            for hubspot_id, r in done.items()
        }

    def _write_back(
        self, owed: dict[str, dict[str, str | None]], page: _Page, summary: ConversionsSummary
    ) -> None:
        """HubSpot gets the ids and the converted stage, in batches; what it confirms is paid,
        what it refuses stays owed (with the reason) for the next pass."""
        if not owed:
            return
        commit = page.second
        for result in self.hubspot.update_contacts(owed):
            if result.success:
                commit.confirmed[result.hubspot_id] = owed[result.hubspot_id]
                continue
            reason = (
                f"HubSpot refused the converted ids for contact {result.hubspot_id} (owed, "
                f"tried again next pass): {result.reason}"
            )
            commit.unconfirmed[result.hubspot_id] = result.reason
            summary.failures.append((result.hubspot_id, reason))
            log.warning("conversion.writeback_refused", stream=STREAM, record_id=result.hubspot_id)

    # -- recording -------------------------------------------------------------------------
    @staticmethod
    def _drop(page: _Page, hubspot_id: str, dead: dict[str, DeadLetter]) -> None:
        """A dead letter with nothing left to do (no longer SQL, no longer a Lead) closes."""
        if hubspot_id in dead:
            page.second.resolved.append(hubspot_id)

    @staticmethod
    def _link(commit: Commit, hubspot_id: str, result: ConvertResult, how: str) -> None:
        commit.links.append(
            Link(
                hubspot_id=hubspot_id,
                object="Contact",
                salesforce_id=result.contact_id or "",
                lead_id=result.lead_id,
                contact_id=result.contact_id,
                account_id=result.account_id,
                opportunity_id=result.opportunity_id,
            )
        )
        # The journey's SQL and opportunity, for the reports (a Lead converted by a person too).
        ids = {"contact_id": result.contact_id, "opportunity_id": result.opportunity_id}
        commit.transitions.append(Transition("sql", hubspot_id, result.lead_id, None, **ids))
        if result.opportunity_id:
            commit.transitions.append(
                Transition("opportunity", hubspot_id, result.lead_id, None, **ids)
            )
        commit.audit.append(
            AuditEvent(
                "conversion",
                hubspot_id,
                {
                    "how": how,
                    "lead_id": result.lead_id,
                    "contact_id": result.contact_id,
                    "account_id": result.account_id,
                    "opportunity_id": result.opportunity_id,
                },
            )
        )

    def _fail(
        self,
        commit: Commit,
        summary: ConversionsSummary,
        hubspot_id: str,
        lead_id: str,
        reason: str,
        code: str | None,
        *,
        fields: tuple[str, ...] = (),
        fingerprint: str | None = None,
    ) -> None:
        """Dead-letter one contact (its work, if any, closes with the page's first commit)."""
        payload: dict[str, Any] = {"lead_id": lead_id}
        if fingerprint is not None:
            payload["fingerprint"] = fingerprint
        self.fail(commit, summary, hubspot_id, reason, code=code, fields=fields, payload=payload)


def _values_of(updates: list[RecordUpdate], key: str) -> list[str]:
    """The fields an update set, for its failure message."""
    return next((sorted(u.fields) for u in updates if u.key == key), [])
