"""`leadbridge reconcile [--repair]`: both sides compared for the synced population, drift
reported (and, with `--repair`, the fixes queued as work).

For every link in the store (in HubSpot id order, 100 at a time): the contact read from
HubSpot, its Lead or Contact from Salesforce, and the Leads sharing its email. Drift:

- `missing`: the Lead or Contact the link names no longer exists; HubSpot lacks the id
  we wrote back.
- `duplicated`: another unconverted Lead has the contact's email.
- `differs`: a mapped field whose Salesforce value is not what the mapping makes of the
  contact now, less the fields whose conflict rule keeps Salesforce's value (the contacts
  stream's own `guard`): the drift a pass reports as `unchanged`, since what we last wrote has
  not changed.
- `orphaned`: the link's HubSpot contact no longer exists; HubSpot stores ids the link does not
  name; a Lead carries the id of a contact the store does not link (read from all Leads
  carrying one, 2,000 a query).

`--repair` queues what a pass can fix as work, recorded per batch: a contact whose Lead
differs or is missing is written again whatever was written before (`resync`, through the
same conflict rules: a missing Lead is upserted anew by its external id); ids HubSpot lacks or
contradicts are owed to it (a write-back). Duplicates and orphans are for a person: reported,
never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from connector.lifecycle import qualifies
from connector.mapping.plan import MappingFailure
from connector.model import HubSpotContact, Link, SalesforceMatch, is_salesforce_id
from connector.state.keys import contact_fields_key, fingerprints
from connector.state.store import Commit, StateStore
from connector.state.work import resync
from connector.streams.base import new_run_id
from connector.streams.contacts.decide import guard
from connector.streams.contacts.stream import STREAM, ContactsStream
from connector.streams.erased import SKIPPED
from connector.streams.links.decide import Drift, differing_fields, hubspot_disagrees
from connector.streams.links.relink import CLAIMS_PAGE, LinksHubSpot, LinksSalesforce

log = structlog.get_logger(__name__)

#: Links compared per batch (one HubSpot batch read; Salesforce reads of 200).
BATCH = 100
#: Drift a report lists (all of it goes to the CSV).
DRIFT_SHOWN = 30


class ReconcileSalesforce(LinksSalesforce, Protocol):
    def find_by_emails(self, emails: Sequence[str]) -> list[SalesforceMatch]: ...


class ReconcileHubSpot(LinksHubSpot, Protocol):
    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[HubSpotContact]: ...


@dataclass
class ReconcileReport:
    """What a reconcile found (and queued)."""

    compared: int = 0
    drift: Counter[str] = field(default_factory=Counter)
    shown: list[Drift] = field(default_factory=list)
    queued: Counter[str] = field(default_factory=Counter)
    repair: bool = False
    calls: dict[str, int] = field(default_factory=dict)
    erased: int = 0  # people erased for privacy, not compared ("skipped: erased")

    def table(self) -> list[str]:
        """The drift shown, as an aligned table."""
        if not self.shown:
            return []
        rows = [("kind", "HubSpot id", "Salesforce id", "repair", "detail")]
        rows += [
            (d.kind, d.hubspot_id, d.salesforce_id, d.repair or "a person", d.detail)
            for d in self.shown
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return [
            "  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows
        ]

    def lines(self) -> list[str]:
        total = sum(self.drift.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.drift.items()))
        lines = [
            f"reconcile: {self.compared} synced contacts compared; drift {total}"
            + (f" ({kinds})" if kinds else "")
        ]
        if self.erased:
            lines.append(f"  {SKIPPED} {self.erased} (people erased for privacy: not compared)")
        lines += self.table()
        more = total - len(self.shown)
        if more > 0:
            lines.append(f"  ... {more} more (--csv writes every one)")
        if self.repair:
            queued = ", ".join(f"{k} {n}" for k, n in sorted(self.queued.items())) or "nothing"
            lines.append(
                f"  queued as work: {queued}; the next pass (sync --once or the service) does it"
            )
        elif any(d.repair for d in self.shown) or self.drift:
            lines.append("  --repair queues what a pass can fix; the rest is for a person")
        calls = ", ".join(f"{r} {n}" for r, n in sorted(self.calls.items()))
        lines.append(f"  API calls: {calls}")
        return lines


class Reconcile:
    """Compares both sides for the synced population (see the module)."""

    def __init__(
        self,
        contacts: ContactsStream,
        store: StateStore,
        salesforce: ReconcileSalesforce,
        hubspot: ReconcileHubSpot,
        *,
        external_id_field: str,
    ) -> None:
        self.contacts = contacts
        self.store = store
        self.salesforce = salesforce
        self.hubspot = hubspot
        self.ext = external_id_field
        writeback = contacts.plan.mapping.writeback
        self.lead_property, self.contact_property = writeback.lead_id, writeback.contact_id
        #: Who is erased: the contacts stream's (`connector.streams.erased`).
        self.erased = contacts.erased

    def run(self, *, repair: bool, drift: Callable[[Drift], None] | None = None) -> ReconcileReport:
        report = ReconcileReport(repair=repair)
        sf, hs = self.salesforce.calls_sent(), self.hubspot.calls_sent()
        run_id = new_run_id()

        def found(item: Drift, commit: Commit) -> None:
            report.drift[item.kind] += 1
            if len(report.shown) < DRIFT_SHOWN:
                report.shown.append(item)
            if drift is not None:
                drift(item)
            if not repair or not item.repair:
                return
            if item.repair == "resync":
                commit.work.append(resync(STREAM, item.hubspot_id, f"reconcile: {item.detail}"))
            report.queued[item.repair] += 1

        after: str | None = None
        while links := self.store.linked_ids(after=after, limit=BATCH):
            after = links[-1].hubspot_id
            commit = Commit(stream="reconcile")
            self._batch(links, commit, report, found)
            if repair and (commit.work or commit.owed):
                self.store.record(commit, run_id=run_id)
        self._orphaned_leads(report, found)
        report.calls = {
            "salesforce": self.salesforce.calls_sent() - sf,
            "hubspot": self.hubspot.calls_sent() - hs,
        }
        log.info("reconcile.done", compared=report.compared, drift=sum(report.drift.values()))
        return report

    def _batch(
        self,
        links: list[Link],
        commit: Commit,
        report: ReconcileReport,
        found: Callable[[Drift, Commit], None],
    ) -> None:
        gone = self.erased.records(
            hubspot_ids=[k.hubspot_id for k in links],
            salesforce_ids=[i for k in links for i in (k.salesforce_id, k.lead_id, k.contact_id)],
        )
        if gone:
            compared = [
                k
                for k in links
                if not gone.covers(hubspot_id=k.hubspot_id)
                and not any(
                    gone.covers(salesforce_id=i) for i in (k.salesforce_id, k.lead_id, k.contact_id)
                )
            ]
            report.erased += len(links) - len(compared)
            self.erased.skipped("reconcile", len(links) - len(compared))
            links = compared
            if not links:
                return
        report.compared += len(links)
        properties = sorted(
            {*self.contacts.properties(), self.lead_property, self.contact_property}
        )
        contacts = {
            c.id: c for c in self.hubspot.read_contacts([k.hubspot_id for k in links], properties)
        }
        protected = self.contacts.protected
        mapped_fields = sorted(
            {f.salesforce for f in self.contacts.plan.fields if f.spec.to_salesforce}
        )
        lead_ids = [k.salesforce_id for k in links if k.object == "Lead"]
        contact_ids = [k.salesforce_id for k in links if k.object == "Contact"]
        leads = self.salesforce.current_leads(
            [i for i in lead_ids if is_salesforce_id(i)], [*mapped_fields, "IsConverted"]
        )
        known_contacts = self.salesforce.current_contacts(
            [i for i in contact_ids if is_salesforce_id(i)], ["Email"]
        )
        emails = sorted({(c.email or "").lower() for c in contacts.values() if c.email})
        twins: dict[str, list[SalesforceMatch]] = {}
        for match in self.salesforce.find_by_emails(emails) if emails else []:
            if match.object == "Lead":
                twins.setdefault(match.email.lower(), []).append(match)
        hashes = self.store.hashes(
            [contact_fields_key(k.hubspot_id) for k in links], "to_salesforce"
        )

        for link in links:
            hid = link.hubspot_id
            contact = contacts.get(hid)
            if contact is None:
                detail = (
                    f"HubSpot contact {hid} no longer exists; the link names {link.object} "
                    f"{link.salesforce_id}"
                )
                found(Drift(hid, "orphaned", detail, link.salesforce_id), commit)
                continue
            self._hubspot_ids(link, contact, commit, found)
            if link.object == "Contact":
                if link.salesforce_id not in known_contacts:
                    detail = f"Contact {link.salesforce_id} no longer exists"
                    found(Drift(hid, "missing", detail, link.salesforce_id), commit)
                continue
            lead = leads.get(link.salesforce_id)
            if lead is None:
                detail = f"Lead {link.salesforce_id} no longer exists"
                found(Drift(hid, "missing", detail, link.salesforce_id, repair="resync"), commit)
                continue
            for twin in twins.get((contact.email or "").lower(), []):
                if twin.id != link.salesforce_id:
                    owner = (
                        f"linked to contact {twin.hubspot_id}" if twin.hubspot_id else "unlinked"
                    )
                    detail = f"Lead {twin.id} ({owner}) has its email too"
                    found(Drift(hid, "duplicated", detail, twin.id), commit)
            if lead.get("IsConverted") or not qualifies(
                contact.properties, self.contacts.plan.mapping.include
            ):
                continue
            try:
                mapped = self.contacts.plan.map(contact.properties)
            except MappingFailure:
                continue  # the contacts stream dead-letters it
            kept = guard(
                mapped,
                protected,
                lead,
                hubspot_changed_at=contact.updated_at,
                salesforce_changed_at=lead.get("LastModifiedDate"),
                written=fingerprints(hashes.get(contact_fields_key(hid))),
            ).withheld
            fields = differing_fields(mapped, lead, kept=list(kept))
            if fields:
                detail = "Salesforce differs from the mapping in " + ", ".join(fields)
                found(
                    Drift(hid, "differs", detail, link.salesforce_id, tuple(fields), "resync"),
                    commit,
                )

    def _hubspot_ids(
        self,
        link: Link,
        contact: HubSpotContact,
        commit: Commit,
        found: Callable[[Drift, Commit], None],
    ) -> None:
        """The ids HubSpot holds for the link: contradicting ones are orphaned, absent ones
        missing; either is owed to HubSpot (a write-back) with --repair."""
        lead_id = contact.properties.get(self.lead_property) or None
        contact_id = contact.properties.get(self.contact_property) or None
        owed: dict[str, str | None] = {}
        if link.lead_id and lead_id != link.lead_id:
            owed[self.lead_property] = link.lead_id
        if link.contact_id and contact_id != link.contact_id:
            owed[self.contact_property] = link.contact_id
        repair = "writeback" if owed else ""
        why = hubspot_disagrees(link, lead_id, contact_id)
        if why:
            found(
                Drift(link.hubspot_id, "orphaned", why, link.salesforce_id, repair=repair), commit
            )
        elif owed:
            detail = "HubSpot lacks " + ", ".join(sorted(owed))
            found(
                Drift(link.hubspot_id, "missing", detail, link.salesforce_id, repair=repair), commit
            )
        if owed and repair:
            commit.owed[link.hubspot_id] = owed

    def _orphaned_leads(
        self, report: ReconcileReport, found: Callable[[Drift, Commit], None]
    ) -> None:
        """Leads carrying the id of a contact the store does not link."""
        after: str | None = None
        commit = Commit(stream="reconcile")
        while True:
            rows = self.salesforce.claims(
                "Lead", ["IsConverted"], external_id_field=self.ext, after=after, limit=CLAIMS_PAGE
            )
            by_contact = {str(r[self.ext]): str(r["Id"]) for r in rows}
            gone = self.erased.records(
                hubspot_ids=list(by_contact), salesforce_ids=list(by_contact.values())
            )
            erased = [
                h
                for h, lead_id in by_contact.items()
                if gone.covers(hubspot_id=h) or gone.covers(salesforce_id=lead_id)
            ]
            # A Lead kept anonymised for an erased person carries their old contact id: not
            # an orphan to report (the person is gone on purpose).
            report.erased += len(erased)
            self.erased.skipped("reconcile", len(erased))
            for h in erased:
                del by_contact[h]
            links = self.store.links(list(by_contact))
            unlinked = [hid for hid in by_contact if hid not in links]
            alive = (
                {c.id for c in self.hubspot.read_contacts(unlinked, ["email"])}
                if unlinked
                else set()
            )
            for hid in unlinked:
                lead_id = by_contact[hid]
                state = "the store does not link it" if hid in alive else "no such HubSpot contact"
                detail = f"Lead {lead_id} carries contact id {hid}: {state}"
                found(Drift(hid, "orphaned", detail, lead_id), commit)
            if len(rows) < CLAIMS_PAGE:
                return
            after = str(rows[-1][self.ext])
