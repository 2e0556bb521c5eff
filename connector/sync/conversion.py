"""One pass of the `hubspot.conversions` stream: sales qualified contacts become Salesforce
Accounts, Contacts and Opportunities (`convertLead`), and HubSpot learns their ids.

Contacts at the SQL stage changed since the cursor (minus an overlap) whose link is still a Lead
are converted per `connector.conversion`, up to 100 a call. What Salesforce answered is recorded
(links now name the Contact) BEFORE HubSpot is written and the cursor moves: after a crash in
between, the replay finds the Lead `IsConverted` and links it instead of converting it twice.
A conversion Salesforce refuses is dead-lettered with its message and the lead stays a lead;
dead-lettered contacts are read again at the start of every pass until they convert.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connector.conversion import LEAD_FIELDS, already_converted, lead_convert
from connector.mapping.conversion import ConversionMapping, check_converted_status
from connector.model import (
    ConvertResult,
    DeadLetter,
    HubSpotContact,
    LeadConvert,
    Link,
    SearchFilter,
)
from connector.salesforce.soql import in_chunks, soql
from connector.state.store import AuditEvent, Commit, StateStore
from connector.sync.sides import HubSpotSide, SalesforceSide

log = structlog.get_logger(__name__)

STREAM = "hubspot.conversions"
#: Contacts per page: one Lead query, one Contact query, one convertLead call, one HubSpot batch.
PAGE_SIZE = 100
CONTACT_ID = "salesforcecontactid"
ACCOUNT_ID = "salesforceaccountid"
OPPORTUNITY_ID = "salesforceopportunityid"


@dataclass
class ConversionSummary:
    """What one conversion pass did, for people (`render`) and for tests (the counts)."""

    run_id: str
    pulled: int = 0  # SQL contacts read
    converted: int = 0  # Leads converted by this pass
    opportunities: int = 0  # opportunities those conversions created
    linked: int = 0  # Leads found already converted: linked to what they became
    not_a_lead: int = 0  # no link, or linked to a Contact already
    failures: list[tuple[str, str]] = field(default_factory=list)  # (HubSpot id, reason)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def render(self) -> str:
        lines = [
            f"conversion {self.run_id}: pulled {self.pulled} sales qualified contacts from HubSpot",
            f"  converted {self.converted} Leads ({self.opportunities} opportunities), "
            f"linked {self.linked} already converted, skipped {self.not_a_lead} not linked to "
            f"a Lead, failed {self.failed}",
        ]
        lines += [f"  failed: HubSpot contact {cid}: {why}" for cid, why in self.failures]
        return "\n".join(lines)


class ConversionEngine:
    """Converts the Leads of sales qualified HubSpot contacts, once each."""

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
        self.clock = clock
        self.properties = [conversion_mapping.lifecycle_property, CONTACT_ID]
        self._status_checked = False

    def _queue_owner_id(self) -> str | None:
        """The user who owns what queue-owned Leads convert into (conversion.yaml)."""
        owner = self.mapping.queue_lead_owner
        if owner == "integration":
            return self.salesforce.user_id
        return owner if owner and owner.startswith("005") else None

    def run_once(self, run_id: str | None = None) -> ConversionSummary:
        """One pass: the dead letters again, then the SQL contacts changed since the cursor."""
        summary = ConversionSummary(run_id or uuid.uuid4().hex[:12])
        self._check_status()
        cursor = self.store.cursor(STREAM)
        since = cursor - self.overlap if cursor else None
        log.info("conversion.start", stream=STREAM, run_id=summary.run_id)
        dead = [d.record_id for d in self.store.dead_letters(STREAM)]
        stage = self.mapping.hubspot_stage
        if dead:
            again = self.hubspot.read_contacts(dead, self.properties)
            lifecycle = self.mapping.lifecycle_property
            self._page([c for c in again if c.properties.get(lifecycle) == stage], summary, None)
        retried = set(dead)
        wanted = [[SearchFilter(self.mapping.lifecycle_property, "EQ", value=stage)]]
        for page in self.hubspot.changed_contacts(since, self.properties, any_of=wanted):
            for start in range(0, len(page), self.page_size):
                part = page[start : start + self.page_size]
                newest = max(c.updated_at for c in part)
                cursor = max(cursor, newest) if cursor else newest
                fresh = [c for c in part if c.id not in retried]
                summary.pulled += len(part)
                self._page(fresh, summary, cursor)
        log.info(
            "conversion.done",
            stream=STREAM,
            run_id=summary.run_id,
            converted=summary.converted,
            linked=summary.linked,
            failed=summary.failed,
        )
        return summary

    def _check_status(self) -> None:
        if self._status_checked:
            return
        rows = self.salesforce.query(
            soql("SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true")
        )
        check_converted_status(self.mapping, [str(r["MasterLabel"]) for r in rows])
        self._status_checked = True

    def _page(
        self, contacts: list[HubSpotContact], summary: ConversionSummary, cursor: datetime | None
    ) -> None:
        """Convert (or link) one page; record Salesforce's answers, write HubSpot, move on."""
        links = self.store.links(c.id for c in contacts)
        leads_of: dict[str, str] = {}  # HubSpot id -> Lead id
        rewrite: dict[str, Link] = {}  # converted before, HubSpot not told yet
        for contact in contacts:
            link = links.get(contact.id)
            if link is not None and link.object == "Lead":
                leads_of[contact.id] = link.salesforce_id
            elif (
                link is not None
                and link.contact_id
                and (contact.properties.get(CONTACT_ID) != link.contact_id)
            ):
                rewrite[contact.id] = link
            else:
                summary.not_a_lead += 1
        first = Commit(stream=STREAM, direction="to_salesforce")
        done = self._convert(leads_of, first, summary)
        if first.links or first.failures or first.resolved:
            self.store.record(first, run_id=summary.run_id)
        for hubspot_id, link in rewrite.items():
            done[hubspot_id] = ConvertResult(
                link.lead_id or "",
                success=True,
                account_id=link.account_id,
                contact_id=link.contact_id,
                opportunity_id=link.opportunity_id,
            )
        second = Commit(stream=STREAM, direction="to_hubspot", cursor=cursor)
        self._write_back(done, second, summary)
        self.store.record(second, run_id=summary.run_id)

    def _convert(
        self, leads_of: dict[str, str], commit: Commit, summary: ConversionSummary
    ) -> dict[str, ConvertResult]:
        """Link converted Leads, convert the others; successes by HubSpot id."""
        if not leads_of:
            return {}
        fields = [*LEAD_FIELDS, self.matched_account_field]
        leads = self.salesforce.current_leads(sorted(set(leads_of.values())), fields)
        done: dict[str, ConvertResult] = {}
        pending: dict[str, LeadConvert] = {}
        todo: list[tuple[str, dict[str, Any]]] = []
        for hubspot_id, lead_id in leads_of.items():
            lead = leads.get(lead_id)
            if lead is None:
                reason = f"Salesforce Lead {lead_id} does not exist (deleted or merged?)"
                self._fail(commit, summary, hubspot_id, lead_id, reason, "LEAD_NOT_FOUND")
                continue
            converted = already_converted(lead)
            if converted is not None:
                summary.linked += 1
                done[hubspot_id] = converted
                self._link(commit, hubspot_id, converted, "linked")
                continue
            todo.append((hubspot_id, lead))
        contacts = self._existing_contacts([lead for _, lead in todo])
        now = self.clock()
        for hubspot_id, lead in todo:
            pending[hubspot_id] = lead_convert(
                lead,
                contacts,
                self.mapping,
                now=now,
                matched_account_field=self.matched_account_field,
                queue_owner_id=self._queue_owner_id(),
            )
        results = self.salesforce.convert_leads(list(pending.values())) if pending else []
        for (hubspot_id, _), result in zip(pending.items(), results, strict=True):
            if not result.success:
                code = result.errors[0].code if result.errors else None
                reason = f"Salesforce refused to convert Lead {result.lead_id}: {result.reason}"
                self._fail(commit, summary, hubspot_id, result.lead_id, reason, code)
                continue
            summary.converted += 1
            summary.opportunities += result.opportunity_id is not None
            done[hubspot_id] = result
            self._link(commit, hubspot_id, result, "converted")
        return done

    def _existing_contacts(self, leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Contacts of the matched accounts with the leads' emails, in one query per chunk."""
        accounts = sorted(
            {str(x[self.matched_account_field]) for x in leads if x.get(self.matched_account_field)}
        )
        emails = sorted({str(x["Email"]) for x in leads if x.get("Email")})
        if not accounts or not emails:
            return []
        found: list[dict[str, Any]] = []
        for chunk in in_chunks(emails, 4_000, 200):
            found += self.salesforce.query(
                soql(
                    "SELECT Id, Email, AccountId FROM Contact "
                    "WHERE AccountId IN {accounts} AND Email IN {emails}",
                    accounts=accounts,
                    emails=chunk,
                )
            )
        return found

    def _write_back(
        self,
        done: dict[str, ConvertResult],
        commit: Commit,
        summary: ConversionSummary,
    ) -> None:
        """HubSpot gets the ids and the converted stage, in batches."""
        if not done:
            return
        updates = {
            hubspot_id: {
                CONTACT_ID: r.contact_id,
                ACCOUNT_ID: r.account_id,
                OPPORTUNITY_ID: r.opportunity_id,
                self.mapping.lifecycle_property: self.mapping.converted_stage,
            }
            for hubspot_id, r in done.items()
        }
        for result in self.hubspot.update_contacts(updates):
            if result.success:
                commit.resolved.append(result.hubspot_id)
                continue
            lead_id = done[result.hubspot_id].lead_id
            reason = f"HubSpot refused the converted ids for contact {result.hubspot_id}: "
            code = result.errors[0].code if result.errors else None
            self._fail(commit, summary, result.hubspot_id, lead_id, reason + result.reason, code)

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

    @staticmethod
    def _fail(
        commit: Commit,
        summary: ConversionSummary,
        hubspot_id: str,
        lead_id: str,
        reason: str,
        code: str | None,
    ) -> None:
        commit.failures.append(
            DeadLetter(STREAM, hubspot_id, reason, code=code, payload={"lead_id": lead_id})
        )
        summary.failures.append((hubspot_id, reason))
        log.warning("conversion.record_failed", stream=STREAM, record_id=hubspot_id, code=code)
