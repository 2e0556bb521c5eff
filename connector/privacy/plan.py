"""What an erasure does in each system, decided from what each holds now (pure: no I/O).

The plan is made afresh on every run from the records found, so running it again finishes what
an earlier run left (killed between two calls, a refusal since fixed) and does nothing once
nothing is left: a deleted record is not found again, an anonymised one already has the values
the policy gives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.mapping.privacy import ERASED, PrivacyPolicy, SalesforceObject

Row = Mapping[str, Any]
#: A tombstone's outcome that needs no more work.
FINAL = frozenset({"deleted", "anonymised", "not_found", "not_asked"})
#: The shortest value the state store looks for (`connector.state.privacy.MIN_NEEDLE_CHARS`).
MIN_SEARCHED_CHARS = 5
#: The HubSpot contact properties an erasure reads: whom to find, and the values the state
#: store is searched for.
HUBSPOT_PROPERTIES = ("email", "firstname", "lastname", "phone", "mobilephone")
#: The Salesforce fields read for the same reason.
PERSON_FIELDS = ("Email", "FirstName", "LastName", "Phone", "MobilePhone")


@dataclass(frozen=True)
class Delete:
    """A record to delete, and whether to empty the Recycle Bin of it afterwards."""

    sobject: SalesforceObject
    id: str
    hard: bool
    why: str = ""


@dataclass(frozen=True)
class Anonymise:
    """A record to update with the policy's values (None: blank)."""

    sobject: SalesforceObject
    id: str
    values: Mapping[str, str | None]


@dataclass(frozen=True)
class SalesforcePlan:
    """The deletes and updates still to make, and the records already anonymised."""

    deletes: tuple[Delete, ...] = ()
    updates: tuple[Anonymise, ...] = ()
    anonymised: tuple[tuple[SalesforceObject, str], ...] = ()
    #: Records of the person deleted before (by an earlier run killed before emptying the bin,
    #: or by a person) to empty from the Recycle Bin, as `hard_delete` says.
    empty: tuple[tuple[SalesforceObject, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.deletes or self.updates or self.empty)


HubSpotAction = Literal["delete", "block", "none"]


@dataclass(frozen=True)
class Plan:
    """Everything still to do: HubSpot's GDPR delete of the contact (`delete`), of the email
    alone when no contact has it (`block`: HubSpot blocks it from re-import), or nothing."""

    hubspot: HubSpotAction
    salesforce: SalesforcePlan = field(default_factory=SalesforcePlan)

    def __bool__(self) -> bool:
        return self.hubspot != "none" or bool(self.salesforce)


def plan_salesforce(
    policy: PrivacyPolicy,
    leads: Sequence[Row],
    contacts: Sequence[Row],
    binned: Sequence[tuple[SalesforceObject, str]] = (),
) -> SalesforcePlan:
    """The Salesforce work for the person's records as they stand: each record as its object's
    policy says. A converted Lead cannot be updated, so it is deleted under either action.
    Records of theirs in the Recycle Bin (`binned`) are emptied from it where the object's
    policy says `hard_delete`."""
    deletes: list[Delete] = []
    updates: list[Anonymise] = []
    anonymised: list[tuple[SalesforceObject, str]] = []
    for sobject, rows in (("Lead", leads), ("Contact", contacts)):
        rule = policy.policy(sobject)  # type: ignore[arg-type]
        target = policy.anonymised(sobject)  # type: ignore[arg-type]
        for row in _unique(rows):
            record_id = str(row["Id"])
            if sobject == "Lead" and row.get("IsConverted"):
                why = "converted: cannot be changed" if rule.action == "anonymise" else ""
                deletes.append(Delete("Lead", record_id, policy.lead.hard_delete, why))
            elif rule.action == "delete":
                deletes.append(Delete(sobject, record_id, rule.hard_delete))  # type: ignore[arg-type]
            elif _holds(row, target):
                anonymised.append((sobject, record_id))  # type: ignore[arg-type]
            else:
                updates.append(Anonymise(sobject, record_id, target))  # type: ignore[arg-type]
    empty = tuple(
        dict.fromkeys(
            (sobject, record_id)
            for sobject, record_id in binned
            if policy.policy(sobject).hard_delete
        )
    )
    return SalesforcePlan(tuple(deletes), tuple(updates), tuple(anonymised), empty)


def plan_hubspot(
    *, contact_found: bool, hubspot_id: str | None, email: str | None, outcome: str | None
) -> HubSpotAction:
    """HubSpot's work: a contact still there is GDPR-deleted; otherwise, until HubSpot's
    outcome is recorded as final, the contact id known (it may be archived, which a read does
    not show) is GDPR-deleted, else the email is blocked."""
    if contact_found:
        return "delete"
    if outcome in FINAL:
        return "none"
    if hubspot_id:
        return "delete"
    if email:
        return "block"
    return "none"


def settled_outcome(
    system: Literal["hubspot", "salesforce"],
    recorded: str | None,
    *,
    anonymised: bool = False,
) -> str:
    """The outcome of a system with no work left: a final one recorded stays; work recorded
    as started (pending, or failed) and not found any more was done; otherwise there was
    nothing to erase (Salesforce: unless records are anonymised already)."""
    if recorded in FINAL:
        return recorded
    if system == "salesforce" and anonymised:
        return "anonymised"
    if recorded in ("pending", "failed"):
        return "deleted"
    return "not_found"


def searched_values(hubspot: Row | None, records: Iterable[Row]) -> list[str]:
    """The person's full names and phone numbers as HubSpot and Salesforce hold them, for the
    state store to look for (the email is searched anyway): at least `MIN_SEARCHED_CHARS`
    long (a first name alone would take other people's rows), never a blanked value."""
    found: dict[str, None] = {}

    def add(*parts: Any) -> None:
        text = " ".join(str(p).strip() for p in parts if p and str(p).strip())
        if len(text) >= MIN_SEARCHED_CHARS and text != ERASED:
            found[text] = None

    if hubspot is not None:
        add(hubspot.get("firstname"), hubspot.get("lastname"))
        add(hubspot.get("phone"))
        add(hubspot.get("mobilephone"))
    for row in records:
        if row.get("LastName") == ERASED:
            continue
        add(row.get("FirstName"), row.get("LastName"))
        add(row.get("Phone"))
        add(row.get("MobilePhone"))
    return list(found)


def _holds(row: Row, target: Mapping[str, str | None]) -> bool:
    """Whether `row` has the anonymised values already (blank: None or empty)."""
    return all(
        (row.get(name) in (None, "")) if value is None else row.get(name) == value
        for name, value in target.items()
    )


def _unique(rows: Iterable[Row]) -> list[Row]:
    seen: dict[str, Row] = {}
    for row in rows:
        seen.setdefault(str(row["Id"]), row)
    return list(seen.values())
