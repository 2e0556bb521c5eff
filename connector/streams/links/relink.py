"""`leadbridge relink`: the store's links rebuilt from both sides, after it was lost or moved.

Salesforce first: the Leads and Contacts carrying a HubSpot contact id (the external id), read
in that id's order a page at a time from both objects and merged, so each contact's claims are
seen together (a Lead, the Contact it was converted into) and memory stays flat. Then HubSpot:
the contacts holding Salesforce ids we wrote back; those with no claim in Salesforce are the
existing customers leadbridge linked to their Contact (which does not carry the id), linked
once the Contact is found to exist. Whatever the sides disagree on (a contact claimed by two
records, a stored id that no longer exists, a link in the store that Salesforce contradicts)
is reported, never guessed, and left as it was.

The hashes of what was written are not rebuilt (only the values could say): the next pass
writes each linked contact once more, as an update.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from connector.model import HubSpotContact, Link, SearchFilter, is_salesforce_id
from connector.state.hold import Wait
from connector.state.store import Commit, StateStore
from connector.streams.base import new_run_id
from connector.streams.contacts.stream import STREAM
from connector.streams.erased import SKIPPED, ErasedPeople
from connector.streams.links.decide import (
    CONTACT_CLAIM_FIELDS,
    LEAD_CLAIM_FIELDS,
    Claim,
    Conflict,
    hubspot_disagrees,
    link_from_claims,
    same_link,
)

log = structlog.get_logger(__name__)

#: Records per claims query (SOQL's LIMIT; one API call each).
CLAIMS_PAGE = 2000
#: Links per recorded batch.
BATCH = 500
#: Conflicts a report lists (all of them go to the CSV).
CONFLICTS_SHOWN = 20


class LinksSalesforce(Protocol):
    def claims(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        external_id_field: str,
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...
    def current_leads(
        self, lead_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def current_contacts(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def calls_sent(self) -> int: ...


class LinksHubSpot(Protocol):
    def changed_contacts(
        self,
        since: Any,
        properties: Sequence[str],
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
    ) -> Iterator[list[HubSpotContact]]: ...
    def calls_sent(self) -> int: ...


@dataclass
class RelinkReport:
    """What a relink did: links made per kind, links the store had already, conflicts."""

    restored: Counter[str] = field(default_factory=Counter)
    kept: int = 0
    erased: int = 0  # links of people erased for privacy, not restored ("skipped: erased")
    conflicts: Counter[str] = field(default_factory=Counter)
    shown: list[Conflict] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        restored = ", ".join(f"{kind} {n}" for kind, n in sorted(self.restored.items())) or "none"
        lines = [
            f"relink: {sum(self.restored.values())} links restored ({restored}), "
            f"{self.kept} already in the store",
            f"  conflicts: {sum(self.conflicts.values())}"
            + (
                " (" + ", ".join(f"{k} {n}" for k, n in sorted(self.conflicts.items())) + ")"
                if self.conflicts
                else ""
            ),
        ]
        if self.erased:
            lines.append(f"  {SKIPPED} {self.erased} (people erased for privacy: not relinked)")
        lines += [f"  {c.hubspot_id}: {c.kind}: {c.detail}" for c in self.shown]
        more = sum(self.conflicts.values()) - len(self.shown)
        if more > 0:
            lines.append(f"  ... {more} more (--csv writes every one)")
        calls = ", ".join(f"{r} {n}" for r, n in sorted(self.calls.items()))
        lines.append(f"  API calls: {calls}")
        if self.conflicts:
            lines.append("  conflicts are left as they were: settle each, then relink again")
        return lines


class Relink:
    """Rebuilds links from both sides (see the module)."""

    def __init__(
        self,
        store: StateStore,
        salesforce: LinksSalesforce,
        hubspot: LinksHubSpot,
        *,
        external_id_field: str,
        lead_property: str,
        contact_property: str,
        wait: Wait | None = None,
        page: int = CLAIMS_PAGE,
    ) -> None:
        self.store = store
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.ext = external_id_field
        self.lead_property = lead_property
        self.contact_property = contact_property
        self.wait = wait or Wait()
        self.page = page
        #: Who is erased (`connector.streams.erased`; `connector.wiring` gives it the key).
        self.erased = ErasedPeople(store)

    def run(self, conflicts: Callable[[Conflict], None] | None = None) -> RelinkReport:
        """Relink, holding the contacts stream (no pass writes links meanwhile)."""
        report = RelinkReport()
        sf, hs = self.salesforce.calls_sent(), self.hubspot.calls_sent()
        run_id = new_run_id()

        def conflict(item: Conflict) -> None:
            report.conflicts[item.kind] += 1
            if len(report.shown) < CONFLICTS_SHOWN:
                report.shown.append(item)
            if conflicts is not None:
                conflicts(item)

        with self.store.hold(STREAM, wait=self.wait):
            self._from_salesforce(report, conflict, run_id)
            self._from_hubspot(report, conflict, run_id)
        report.calls = {
            "salesforce": self.salesforce.calls_sent() - sf,
            "hubspot": self.hubspot.calls_sent() - hs,
        }
        log.info("relink.done", restored=sum(report.restored.values()), kept=report.kept)
        return report

    # -- Salesforce: who claims which contact ---------------------------------------------------
    def _claims(self, sobject: str, fields: Sequence[str]) -> Iterator[tuple[str, Claim]]:
        after: str | None = None
        while True:
            rows = self.salesforce.claims(
                sobject, fields, external_id_field=self.ext, after=after, limit=self.page
            )
            for row in rows:
                claim = Claim.of_lead(row) if sobject == "Lead" else Claim.of_contact(row)
                yield str(row[self.ext]), claim
            if len(rows) < self.page:
                return
            after = str(rows[-1][self.ext])

    def _from_salesforce(
        self, report: RelinkReport, conflict: Callable[[Conflict], None], run_id: str
    ) -> None:
        merged = heapq.merge(
            self._claims("Lead", LEAD_CLAIM_FIELDS),
            self._claims("Contact", CONTACT_CLAIM_FIELDS),
            key=lambda pair: pair[0],
        )
        batch: list[Link] = []
        for hubspot_id, group in itertools.groupby(merged, key=lambda pair: pair[0]):
            found = link_from_claims(hubspot_id, [claim for _, claim in group])
            if isinstance(found, Conflict):
                conflict(found)
            elif found is not None:
                batch.append(found)
            if len(batch) >= BATCH:
                self._record(batch, report, conflict, run_id)
                batch = []
        self._record(batch, report, conflict, run_id)

    def _record(
        self,
        batch: list[Link],
        report: RelinkReport,
        conflict: Callable[[Conflict], None],
        run_id: str,
    ) -> None:
        """Links the store lacks are written; one it has that Salesforce contradicts is
        reported and kept."""
        batch = self._not_erased(batch, report)
        if not batch:
            return
        stored = self.store.links([link.hubspot_id for link in batch])
        new = []
        for link in batch:
            have = stored.get(link.hubspot_id)
            if have is None:
                new.append(link)
                report.restored[_kind(link)] += 1
            elif same_link(have, link):
                report.kept += 1
            else:
                detail = (
                    f"the store links {have.object} {have.salesforce_id}; Salesforce's external "
                    f"id says {link.object} {link.salesforce_id}"
                )
                conflict(Conflict(link.hubspot_id, "store differs", detail))
        if new:
            self.store.record(Commit(stream="relink", links=new), run_id=run_id)

    # -- HubSpot: the ids we wrote back -----------------------------------------------------
    def _from_hubspot(
        self, report: RelinkReport, conflict: Callable[[Conflict], None], run_id: str
    ) -> None:
        props = [self.lead_property, self.contact_property]
        any_of = [[SearchFilter(p, "HAS_PROPERTY")] for p in props]
        for page in self.hubspot.changed_contacts(None, props, any_of=any_of):
            links = self.store.links([c.id for c in page])
            unlinked: list[tuple[str, str | None, str | None]] = []
            for contact in page:
                lead_id = contact.properties.get(self.lead_property) or None
                contact_id = contact.properties.get(self.contact_property) or None
                link = links.get(contact.id)
                if link is not None:
                    why = hubspot_disagrees(link, lead_id, contact_id)
                    if why:
                        conflict(Conflict(contact.id, "hubspot differs", why))
                    continue
                unlinked.append((contact.id, lead_id, contact_id))
            self._customers(unlinked, report, conflict, run_id)

    def _customers(
        self,
        unlinked: list[tuple[str, str | None, str | None]],
        report: RelinkReport,
        conflict: Callable[[Conflict], None],
        run_id: str,
    ) -> None:
        """Contacts HubSpot says are linked that nothing in Salesforce claims: an existing
        customer's Contact (it does not carry the id) is linked once it is found; a Lead that
        does not carry the id, or an id that no longer exists, is a conflict."""
        gone = self.erased.records(
            hubspot_ids=[h for h, _, _ in unlinked],
            salesforce_ids=[i for _, lead, contact in unlinked for i in (lead, contact)],
        )
        if gone:
            kept = [
                (h, lead, contact)
                for h, lead, contact in unlinked
                if not gone.covers(hubspot_id=h)
                and not gone.covers(salesforce_id=lead)
                and not gone.covers(salesforce_id=contact)
            ]
            report.erased += len(unlinked) - len(kept)
            self.erased.skipped("relink", len(unlinked) - len(kept))
            unlinked = kept
        if not unlinked:
            return
        lead_ids = [lead for _, lead, _ in unlinked if lead and is_salesforce_id(lead)]
        contact_ids = [c for _, lead, c in unlinked if c and not lead and is_salesforce_id(c)]
        leads = self.salesforce.current_leads(lead_ids, [self.ext]) if lead_ids else {}
        contacts = (
            self.salesforce.current_contacts(contact_ids, ["AccountId"]) if contact_ids else {}
        )
        new = []
        for hubspot_id, lead_id, contact_id in unlinked:
            if lead_id:
                if lead_id in leads and leads[lead_id].get(self.ext) == hubspot_id:
                    continue  # claimed, yet not linked: its conflict is reported already
                if lead_id in leads:
                    detail = f"HubSpot stores Lead {lead_id}, which does not carry its id"
                    conflict(Conflict(hubspot_id, "not claimed", detail))
                else:
                    detail = f"HubSpot stores Lead {lead_id}, which no longer exists"
                    conflict(Conflict(hubspot_id, "gone", detail))
            elif contact_id and contact_id in contacts:
                account = contacts[contact_id].get("AccountId") or None
                new.append(
                    Link(
                        hubspot_id,
                        "Contact",
                        contact_id,
                        contact_id=contact_id,
                        account_id=account,
                    )
                )
                report.restored["customer Contact"] += 1
            else:
                detail = f"HubSpot stores Contact {contact_id}, which no longer exists"
                conflict(Conflict(hubspot_id, "gone", detail))
        if new:
            self.store.record(Commit(stream="relink", links=new), run_id=run_id)

    def _not_erased(self, links: list[Link], report: RelinkReport) -> list[Link]:
        """`links` less erased people's (a Lead kept anonymised still carries the erased
        contact's id): counted, never restored."""
        if not links:
            return links
        gone = self.erased.records(
            hubspot_ids=[k.hubspot_id for k in links],
            salesforce_ids=[i for k in links for i in (k.salesforce_id, k.lead_id, k.contact_id)],
        )
        if not gone:
            return links
        kept = [
            k
            for k in links
            if not gone.covers(hubspot_id=k.hubspot_id)
            and not any(
                gone.covers(salesforce_id=i) for i in (k.salesforce_id, k.lead_id, k.contact_id)
            )
        ]
        report.erased += len(links) - len(kept)
        self.erased.skipped("relink", len(links) - len(kept))
        return kept


def _kind(link: Link) -> str:
    if link.object == "Lead":
        return "Lead"
    return "converted Lead's Contact" if link.lead_id else "Contact carrying the id"
