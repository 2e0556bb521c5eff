"""Erasing a person from HubSpot, Salesforce and the state store (`leadbridge privacy erase`,
and later the webhook of a HubSpot privacy deletion).

The order makes it safe to kill at any point and run again:

1. Find the person: the HubSpot contact (by id or email), the store's link and tombstone, and
   the Salesforce Leads and Contacts by email, HubSpot contact id and known ids.
2. Plan what is left to do from what each system holds now (`connector.privacy.plan`).
3. Erase them from the state store and keep their tombstone (ids, keyed email hash), with the
   outcome of each system with work `pending`: from here no pass writes them again.
4. Salesforce as `privacy.yaml` says, then its outcome; HubSpot's GDPR delete last (it takes
   the email with it, which a rerun needs to find Salesforce records), then its outcome.

A rerun plans again from what is left: a deleted record is not found, an anonymised one holds
the policy's values, so only the unfinished part is done; with nothing left and a tombstone
there, it is a no-op that says so. Logs say counts and outcomes, never who.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from connector.display import clip, show
from connector.errors import ApiError, LeadbridgeError, Unreachable
from connector.mapping.privacy import PrivacyPolicy
from connector.model import HubSpotContact, Link, RecordUpdate, WriteResult
from connector.privacy.plan import (
    FINAL,
    HUBSPOT_PROPERTIES,
    PERSON_FIELDS,
    Plan,
    SalesforcePlan,
    plan_hubspot,
    plan_salesforce,
    searched_values,
    settled_outcome,
)
from connector.state.privacy import Erasure, Reason, Tombstone

log = structlog.get_logger(__name__)

Row = dict[str, Any]


class HubSpotSide(Protocol):
    def find_contact(
        self,
        properties: Sequence[str],
        *,
        contact_id: str | None = None,
        email: str | None = None,
    ) -> HubSpotContact | None: ...

    def gdpr_delete(self, *, contact_id: str | None = None, email: str | None = None) -> bool: ...


class SalesforceSide(Protocol):
    def person_records(
        self,
        *,
        email: str | None,
        hubspot_id: str | None,
        ids: Sequence[str],
        lead_fields: Sequence[str],
        contact_fields: Sequence[str],
    ) -> tuple[list[Row], list[Row]]: ...

    def binned_records(
        self, *, email: str | None, hubspot_id: str | None, ids: Sequence[str]
    ) -> tuple[list[Row], list[Row]]: ...

    def delete_records(self, ids: Sequence[str]) -> list[WriteResult]: ...

    def empty_recycle_bin(self, ids: Sequence[str]) -> list[WriteResult]: ...

    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...


class Store(Protocol):
    def find_tombstone(
        self,
        *,
        hubspot_id: str | None = None,
        email: str | None = None,
        salesforce_ids: Any = (),
        key: Any = None,
    ) -> Tombstone | None: ...

    def links(self, hubspot_ids: Any) -> dict[str, Link]: ...

    def erase(
        self,
        *,
        hubspot_id: str | None = None,
        email: str | None = None,
        salesforce_ids: Iterable[str | None] = (),
        also: Iterable[str | None] = (),
        reason: Reason,
        key: Any,
    ) -> Erasure: ...

    def erasure_outcome(
        self, tombstone_id: int, *, hubspot: Any = None, salesforce: Any = None
    ) -> None: ...


class LookupFailed(LeadbridgeError):
    """Finding the person failed before anything was written (exit 1)."""


class PersonUnclear(LeadbridgeError):
    """The records found do not make one person (exit 1): a person must look."""


#: Salesforce's answers to deleting a record that is gone already: the delete is done.
_GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


@dataclass
class Step:
    """What was done (or would be) to one record or contact: `what` is shown as is (ids and
    words only, never a person's values)."""

    what: str
    ok: bool = True


@dataclass
class Erased:
    """What one erasure did (or, dry, would do) per system; counts and ids only."""

    dry_run: bool
    tombstone_id: int | None = None
    erased_before: datetime | None = None
    nothing_left: bool = False
    hubspot: list[Step] = field(default_factory=list)
    salesforce: list[Step] = field(default_factory=list)
    hubspot_outcome: str | None = None
    salesforce_outcome: str | None = None
    removed: Mapping[str, int] = field(default_factory=dict)
    linked: bool = False

    @property
    def failed(self) -> bool:
        return "failed" in (self.hubspot_outcome, self.salesforce_outcome)

    def lines(self) -> list[str]:
        """The report printed: a head line, then one block per system."""
        if self.nothing_left:
            when = f"{self.erased_before:%Y-%m-%d %H:%M} UTC" if self.erased_before else "before"
            return [
                f"already erased (tombstone {self.tombstone_id}, {when}): nothing left to do in "
                "HubSpot, Salesforce or the state store"
            ]
        if self.dry_run:
            head = "dry run: nothing was written; an erasure would do this"
        else:
            head = f"erased: tombstone {self.tombstone_id}"
            if self.erased_before is not None:
                head += f" (first erased {self.erased_before:%Y-%m-%d %H:%M} UTC; what was left)"
        lines = [head]
        for name, outcome, steps in (
            ("salesforce", self.salesforce_outcome, self.salesforce),
            ("hubspot", self.hubspot_outcome, self.hubspot),
        ):
            prefix = f"{name:<11}" + ("" if self.dry_run else f"{outcome}: ")
            texts = [s.what for s in steps] or ["nothing to do"]
            lines.append(clip(prefix + texts[0]))
            lines += [clip(" " * len(prefix) + t) for t in texts[1:]]
        if self.dry_run:
            link = "its link and " if self.linked else ""
            lines.append(
                f"{'store':<11}{link}every row about the person (hashes, work, failures' texts, "
                "audit details) erased; a tombstone kept (ids, a keyed hash of the email)"
            )
        else:
            counts = ", ".join(f"{t} {n}" for t, n in self.removed.items() if n) or "no rows"
            lines.append(f"{'store':<11}erased: {counts}; tombstone {self.tombstone_id} kept")
        return lines


class Eraser:
    """Erases people from both systems and the store, as `policy` says for Salesforce."""

    def __init__(
        self,
        *,
        store: Store,
        salesforce: SalesforceSide,
        hubspot: HubSpotSide,
        policy: PrivacyPolicy,
        key: Any,
    ) -> None:
        self._store = store
        self._salesforce = salesforce
        self._hubspot = hubspot
        self._policy = policy
        self._key = key

    def erase(
        self,
        *,
        email: str | None = None,
        hubspot_id: str | None = None,
        dry_run: bool = False,
        reason: Reason = "request",
    ) -> Erased:
        """Erase the person with this email or HubSpot contact id (see the module docstring);
        `dry_run` reads both systems and the store and writes nothing anywhere. `reason`: what
        asked for it, kept in the tombstone (a person's request, or one recognised in
        Salesforce or HubSpot).

        `reason` "hubspot_privacy_deletion": HubSpot deleted the contact for privacy already
        (its webhook names only the id): HubSpot is not called to delete, its outcome is
        `deleted`; the person's Salesforce records are found by the HubSpot id and the store's
        link and tombstone, and their email (for the tombstone's keyed hash, and to look for
        in the store) is taken from them. With no Salesforce record known, Salesforce's
        outcome is `not_found` and the tombstone keeps the HubSpot id only."""
        by_hubspot = reason == "hubspot_privacy_deletion"
        from connector.state.privacy import PrivacyKey

        PrivacyKey(self._key)  # a missing or short key stops here, before any call
        email = (email or "").strip() or None
        hubspot_id = (hubspot_id or "").strip() or None
        if not (email or hubspot_id):
            msg = "name the person: an email or a HubSpot contact id"
            raise ValueError(msg)
        try:
            contact = self._hubspot.find_contact(
                HUBSPOT_PROPERTIES, contact_id=hubspot_id, email=None if hubspot_id else email
            )
            if contact is not None:
                hubspot_id = hubspot_id or contact.id
                email = email or (contact.email or "").strip() or None
            tombstone = self._store.find_tombstone(
                hubspot_id=hubspot_id, email=email, key=self._key
            )
            link = self._store.links([hubspot_id]).get(hubspot_id) if hubspot_id else None
            hubspot_id = hubspot_id or (tombstone.hubspot_id if tombstone else None)
            leads, contacts = self._records(email, hubspot_id, link, tombstone)
            email = email or _email_of([*leads, *contacts])
            binned = self._binned(email, hubspot_id, link, tombstone)
        except Unreachable:
            raise  # says which host and setting, nothing of the person
        except ApiError as exc:
            # The remote's message may quote what was sent (a query holds the email).
            msg = (
                f"nothing was erased: looking the person up failed ({_code(exc)}); run the same "
                "command again"
            )
            raise LookupFailed(msg) from None
        plan = Plan(
            "none"
            if by_hubspot
            else plan_hubspot(
                contact_found=contact is not None,
                hubspot_id=hubspot_id,
                email=email,
                outcome=tombstone.hubspot_outcome if tombstone else None,
            ),
            plan_salesforce(self._policy, leads, contacts, binned),
        )
        result = Erased(
            dry_run=dry_run,
            tombstone_id=tombstone.id if tombstone else None,
            erased_before=tombstone.erased_at if tombstone else None,
            linked=link is not None,
        )
        if tombstone is not None and not plan and _settled(tombstone):
            result.nothing_left = True
            log.info("privacy.erase", already=True, dry_run=dry_run, reason=reason)
            return result
        if dry_run:
            self._describe(plan, contact, hubspot_id, result)
            return result
        return self._run(
            plan, contact, email, hubspot_id, link, tombstone, leads, contacts, result, reason
        )

    # -- finding the person --------------------------------------------------------------
    def _records(
        self,
        email: str | None,
        hubspot_id: str | None,
        link: Link | None,
        tombstone: Tombstone | None,
    ) -> tuple[list[Row], list[Row]]:
        """The person's Leads and Contacts: by email, HubSpot contact id, the link's and the
        tombstone's ids, and the Contacts converted Leads became."""
        known = _known_ids(link, tombstone)
        lead_fields = self._fields("Lead")
        contact_fields = self._fields("Contact")
        if not (email or hubspot_id or known):
            return [], []
        leads, contacts = self._salesforce.person_records(
            email=email,
            hubspot_id=hubspot_id,
            ids=known,
            lead_fields=lead_fields,
            contact_fields=contact_fields,
        )
        have = {str(c["Id"]) for c in contacts}
        converted = [
            str(lead["ConvertedContactId"])
            for lead in leads
            if lead.get("IsConverted") and lead.get("ConvertedContactId")
        ]
        missing = [i for i in dict.fromkeys(converted) if i not in have]
        if missing:
            _, more = self._salesforce.person_records(
                email=None,
                hubspot_id=None,
                ids=missing,
                lead_fields=lead_fields,
                contact_fields=contact_fields,
            )
            contacts += more
        return leads, contacts

    def _binned(
        self,
        email: str | None,
        hubspot_id: str | None,
        link: Link | None,
        tombstone: Tombstone | None,
    ) -> list[tuple[Any, str]]:
        """The person's records in the Recycle Bin, where a policy empties it and Salesforce's
        part is not settled yet (a run killed between a delete and emptying the bin; records a
        person deleted before the request). Settled, the bin is not looked at again: Salesforce
        shows emptied records to `queryAll` for a while, and a rerun must change nothing."""
        if not (self._policy.lead.hard_delete or self._policy.contact.hard_delete):
            return []
        if tombstone is not None and tombstone.salesforce_outcome in FINAL:
            return []
        known = _known_ids(link, tombstone)
        if not (email or hubspot_id or known):
            return []
        leads, contacts = self._salesforce.binned_records(
            email=email, hubspot_id=hubspot_id, ids=known
        )
        return [("Lead", str(r["Id"])) for r in leads] + [
            ("Contact", str(r["Id"])) for r in contacts
        ]

    def _fields(self, sobject: Any) -> list[str]:
        return list(dict.fromkeys([*PERSON_FIELDS, *self._policy.anonymised(sobject)]))

    # -- dry run -------------------------------------------------------------------------
    def _describe(
        self, plan: Plan, contact: HubSpotContact | None, hubspot_id: str | None, result: Erased
    ) -> None:
        for delete in plan.salesforce.deletes:
            how = "and empty it from the Recycle Bin" if delete.hard else "(to the Recycle Bin)"
            why = f" ({delete.why})" if delete.why else ""
            result.salesforce.append(Step(f"delete {delete.sobject} {delete.id}{why} {how}"))
        for update in plan.salesforce.updates:
            result.salesforce.append(
                Step(f"anonymise {update.sobject} {update.id} ({len(update.values)} fields)")
            )
        for sobject, record_id in plan.salesforce.anonymised:
            result.salesforce.append(Step(f"{sobject} {record_id} is anonymised already"))
        for sobject, record_id in plan.salesforce.empty:
            result.salesforce.append(
                Step(f"empty {sobject} {record_id} (deleted before) from the Recycle Bin")
            )
        if plan.hubspot == "delete":
            seen = "" if contact is not None else " (not readable: archived, or gone)"
            result.hubspot.append(
                Step(f"GDPR-delete contact {show(hubspot_id)}{seen}; HubSpot blocks its email")
            )
        elif plan.hubspot == "block":
            result.hubspot.append(Step("no contact: GDPR-delete by email, which blocks it"))

    # -- the erasure ---------------------------------------------------------------------
    def _run(
        self,
        plan: Plan,
        contact: HubSpotContact | None,
        email: str | None,
        hubspot_id: str | None,
        link: Link | None,
        tombstone: Tombstone | None,
        leads: list[Row],
        contacts: list[Row],
        result: Erased,
        reason: Reason,
    ) -> Erased:
        given = [] if link is not None else _one_each(leads, contacts, tombstone)
        try:
            erased = self._store.erase(
                hubspot_id=hubspot_id,
                email=email,
                salesforce_ids=given,
                also=searched_values(contact.properties if contact else None, [*leads, *contacts]),
                reason=reason,
                key=self._key,
            )
        except ValueError as exc:
            raise PersonUnclear(str(exc)) from None
        result.tombstone_id = erased.tombstone_id
        result.removed = dict(erased.removed)
        recorded_hs = tombstone.hubspot_outcome if tombstone else None
        recorded_sf = tombstone.salesforce_outcome if tombstone else None
        self._store.erasure_outcome(
            erased.tombstone_id,
            hubspot="pending" if plan.hubspot != "none" else None,
            salesforce="pending" if plan.salesforce else None,
        )
        if plan.salesforce:
            result.salesforce_outcome = self._erase_salesforce(plan.salesforce, result)
        else:
            result.salesforce_outcome = settled_outcome(
                "salesforce", recorded_sf, anonymised=bool(plan.salesforce.anonymised)
            )
            result.salesforce += [
                Step(f"{s} {i} is anonymised already") for s, i in plan.salesforce.anonymised
            ]
        self._store.erasure_outcome(erased.tombstone_id, salesforce=result.salesforce_outcome)
        if reason == "hubspot_privacy_deletion":
            result.hubspot_outcome = "deleted"
            result.hubspot.append(Step("GDPR-deleted in HubSpot (its privacy deletion)"))
        elif plan.hubspot != "none":
            result.hubspot_outcome = self._erase_hubspot(
                plan.hubspot, hubspot_id, email, recorded_hs, result
            )
        else:
            result.hubspot_outcome = settled_outcome("hubspot", recorded_hs)
        self._store.erasure_outcome(erased.tombstone_id, hubspot=result.hubspot_outcome)
        log.info(
            "privacy.erase",
            reason=reason,
            already=False,
            tombstone=erased.tombstone_id,
            hubspot=result.hubspot_outcome,
            salesforce=result.salesforce_outcome,
            deleted=len(plan.salesforce.deletes),
            anonymised=len(plan.salesforce.updates),
            failed=sum(not s.ok for s in (*result.hubspot, *result.salesforce)),
        )
        return result

    def _erase_salesforce(self, plan: SalesforcePlan, result: Erased) -> str:
        """Deletes (then the Recycle Bin emptied of the hard ones) and anonymising updates;
        the outcome: failed when any was refused."""
        failed = False
        try:
            deleted = self._delete(plan, result)
            self._empty(plan, result)
            for sobject in ("Lead", "Contact"):
                updates = [u for u in plan.updates if u.sobject == sobject]
                if not updates:
                    continue
                answers = self._salesforce.update_records(
                    sobject,
                    [RecordUpdate(u.id, u.id, dict(u.values)) for u in updates],
                )
                for update, answer in zip(updates, answers, strict=True):
                    what = (
                        f"{sobject} {update.id} anonymised ({len(update.values)} fields)"
                        if answer.success
                        else f"{sobject} {update.id} not anonymised: {_refusal(answer)}"
                    )
                    result.salesforce.append(Step(what, answer.success))
                    failed |= not answer.success
        except ApiError as exc:
            result.salesforce.append(Step(f"stopped: Salesforce refused ({_code(exc)})", ok=False))
            return "failed"
        failed |= not deleted
        if failed:
            return "failed"
        return "anonymised" if plan.updates or plan.anonymised else "deleted"

    def _delete(self, plan: SalesforcePlan, result: Erased) -> bool:
        if not plan.deletes:
            return True
        answers = self._salesforce.delete_records([d.id for d in plan.deletes])
        done = [
            d
            for d, a in zip(plan.deletes, answers, strict=True)
            if a.success or {e.code for e in a.errors} & _GONE
        ]
        hard = [d.id for d in done if d.hard]
        emptied = (
            {a.hubspot_id: a for a in self._salesforce.empty_recycle_bin(hard)} if hard else {}
        )
        for delete, answer in zip(plan.deletes, answers, strict=True):
            why = f" ({delete.why})" if delete.why else ""
            what = f"{delete.sobject} {delete.id}{why} deleted"
            if delete not in done:
                text = f"{delete.sobject} {delete.id}{why} not deleted: {_refusal(answer)}"
                result.salesforce.append(Step(text, ok=False))
            elif not delete.hard:
                result.salesforce.append(Step(f"{what}, in the Recycle Bin (hard_delete: false)"))
            elif emptied[delete.id].success:
                result.salesforce.append(Step(f"{what} and emptied from the Recycle Bin"))
            else:
                code = _codes(emptied[delete.id])
                result.salesforce.append(
                    Step(
                        f"{what}; Salesforce refused emptying the Recycle Bin ({code}): it "
                        "stays there until Salesforce empties it (15 days)"
                    )
                )
        return len(done) == len(plan.deletes)

    def _empty(self, plan: SalesforcePlan, result: Erased) -> None:
        """Records deleted before, emptied from the Recycle Bin; a refusal is said, not a
        failure: the record was emptied already, or the org does not allow it, and either way
        Salesforce empties the bin within 15 days."""
        if not plan.empty:
            return
        answers = self._salesforce.empty_recycle_bin([i for _, i in plan.empty])
        for (sobject, record_id), answer in zip(plan.empty, answers, strict=True):
            if answer.success:
                text = f"{sobject} {record_id} (deleted before) emptied from the Recycle Bin"
            else:
                text = (
                    f"{sobject} {record_id} (deleted before): Salesforce refused emptying the "
                    f"Recycle Bin ({_codes(answer)}): emptied already, or not allowed; it "
                    "empties within 15 days"
                )
            result.salesforce.append(Step(text))

    def _erase_hubspot(
        self,
        action: str,
        hubspot_id: str | None,
        email: str | None,
        recorded: str | None,
        result: Erased,
    ) -> str:
        """The contact GDPR-deleted by id (found, or archived), else the email blocked."""
        try:
            if action == "delete" and hubspot_id:
                if self._hubspot.gdpr_delete(contact_id=hubspot_id):
                    result.hubspot.append(
                        Step(f"contact {show(hubspot_id)} GDPR-deleted; its email is blocked")
                    )
                    return "deleted"
                result.hubspot.append(Step(f"contact {show(hubspot_id)}: HubSpot has none"))
                if not email:
                    return settled_outcome("hubspot", recorded)
            self._hubspot.gdpr_delete(email=email)
        except ApiError as exc:
            result.hubspot.append(
                Step(f"not GDPR-deleted: HubSpot refused ({_code(exc)})", ok=False)
            )
            return "failed"
        result.hubspot.append(Step("no contact has the email; it is blocked from re-import"))
        return settled_outcome("hubspot", recorded)


def _known_ids(link: Link | None, tombstone: Tombstone | None) -> list[str]:
    """The Lead and Contact ids the store knows of the person: its link's, its tombstone's."""
    ids = [
        link.lead_id if link else None,
        link.contact_id if link else None,
        tombstone.lead_id if tombstone else None,
        tombstone.contact_id if tombstone else None,
    ]
    return list(dict.fromkeys(i for i in ids if i))


def _email_of(records: list[Row]) -> str | None:
    """The person's email as their Salesforce records hold it (an anonymised one has none)."""
    for row in records:
        email = str(row.get("Email") or "").strip()
        if email:
            return email
    return None


def _settled(tombstone: Tombstone) -> bool:
    return tombstone.hubspot_outcome in FINAL and tombstone.salesforce_outcome in FINAL


def _one_each(leads: list[Row], contacts: list[Row], tombstone: Tombstone | None) -> list[str]:
    """A Lead id and a Contact id for the tombstone (one of each: a tombstone holds one),
    when the store has no link to take them from: the tombstone's own, else the first
    unconverted Lead and the first Contact found."""
    lead = tombstone.lead_id if tombstone and tombstone.lead_id else None
    contact = tombstone.contact_id if tombstone and tombstone.contact_id else None
    open_leads = [str(r["Id"]) for r in leads if not r.get("IsConverted")] or [
        str(r["Id"]) for r in leads
    ]
    lead = lead or (open_leads[0] if open_leads else None)
    contact = contact or (str(contacts[0]["Id"]) if contacts else None)
    return [i for i in (lead, contact) if i]


def _code(exc: ApiError) -> str:
    """An API error as its status and code (its message may quote the person)."""
    return f"HTTP {exc.status}, {exc.code or 'no code'}"


def _codes(answer: WriteResult) -> str:
    return ", ".join(dict.fromkeys(e.code for e in answer.errors)) or "no code"


def _refusal(answer: WriteResult) -> str:
    return f"Salesforce refused ({_codes(answer)})"
