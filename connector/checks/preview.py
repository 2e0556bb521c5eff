"""What the current mapping would change, record by record, for `leadbridge mappings plan`.

Pure: the caller reads a contact and its Lead (if any); `preview` says, per field, which side
would be written, from what to what, and the rule that decided it. Nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, get_args

from connector.lifecycle import why_not
from connector.mapping.plan import CompiledField, LeadPlan, MappingFailure, resolve, same
from connector.mapping.transforms import text_of
from connector.model import HubSpotContact

Side = Literal["salesforce", "hubspot", "kept"]
Action = Literal[
    "create", "update", "link", "converted", "customer", "unchanged", "not_included", "fail"
]


@dataclass(frozen=True)
class FieldChange:
    """One field's outcome: the side written (or `kept`: a difference the rule leaves)."""

    side: Side
    name: str  # the Lead field or HubSpot property written (for kept: the Lead field)
    old: Any
    new: Any
    rule: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "field": self.name,
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
            "rule": self.rule,
            "reason": self.reason,
        }


class _Contact(TypedDict):
    """The part of every RecordPreview that names the contact."""

    hubspot_id: str
    email: str | None


@dataclass(frozen=True)
class RecordPreview:
    """What a sync would do with one contact."""

    hubspot_id: str
    email: str | None
    action: Action
    reason: str
    salesforce_id: str | None = None
    changes: tuple[FieldChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "hubspot_id": self.hubspot_id,
            "email": self.email,
            "action": self.action,
            "reason": self.reason,
            "salesforce_id": self.salesforce_id,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class Existing:
    """What Salesforce already has for a contact: its linked Lead, or one found by email."""

    lead: dict[str, Any] | None = None
    linked: bool = False
    contact_id: str | None = None  # a Contact with the same email: already a customer
    #: The linked Lead is converted: the Contact it became, its values under the Lead field
    #: names (what a sync compares and writes there instead).
    converted: dict[str, Any] | None = None
    #: Why a sync fails the contact instead (its email matches a Lead linked to another
    #: contact), in the sync's words.
    conflict: str | None = None


def preview(plan: LeadPlan, contact: HubSpotContact, existing: Existing) -> RecordPreview:
    """The outcome of syncing `contact` with `plan` (pure)."""
    props = contact.properties
    base: _Contact = {"hubspot_id": contact.id, "email": contact.email}
    excluded = why_not(props, plan.mapping.include)
    if excluded is not None:
        return RecordPreview(**base, action="not_included", reason=excluded)
    try:
        forward = {
            f.salesforce: f.salesforce_value(props) for f in plan.fields if f.spec.to_salesforce
        }
    except MappingFailure as failure:
        return RecordPreview(**base, action="fail", reason=f"MAPPING_FAILED: {failure}")
    if existing.conflict is not None:
        return RecordPreview(**base, action="fail", reason=existing.conflict)
    if existing.converted is not None:
        return _converted(plan, contact, existing.converted, forward, base)
    lead = existing.lead
    if lead is None and existing.contact_id:
        return RecordPreview(
            **base,
            action="customer",
            reason=f"email matches Contact {existing.contact_id}: already a customer, no Lead",
            salesforce_id=existing.contact_id,
        )
    if lead is None:
        changes = tuple(
            FieldChange("salesforce", name, None, value, "new Lead", "")
            for name, value in forward.items()
            if value is not None
        )
        return RecordPreview(
            **base, action="create", reason="new qualified contact", changes=changes
        )
    changed_at = _moment(lead.get("LastModifiedDate"))
    found: list[FieldChange] = []
    try:
        for f in plan.fields:
            found += _field(f, props, contact.updated_at, forward, lead, changed_at)
    except MappingFailure as failure:
        return RecordPreview(
            **base,
            action="fail",
            reason=f"MAPPING_FAILED: {failure}",
            salesforce_id=lead.get("Id"),
        )
    writes = [c for c in found if c.side != "kept"]
    if existing.linked:
        action: Action = "update" if writes else "unchanged"
        reason = "linked Lead" if writes else "the Lead already has these values"
    else:
        action, reason = "link", "email matches an unlinked Lead: linked, not duplicated"
    return RecordPreview(
        **base, action=action, reason=reason, salesforce_id=lead.get("Id"), changes=tuple(found)
    )


def _converted(
    plan: LeadPlan,
    contact: HubSpotContact,
    person: dict[str, Any],
    forward: dict[str, Any],
    base: _Contact,
) -> RecordPreview:
    """A converted person: the fields with a Contact field, compared with the Contact (a Lead
    Salesforce has converted takes no update); nothing comes back from it."""
    changed_at = _moment(person.get("LastModifiedDate"))
    changes = []
    for f in plan.fields:
        target = f.spec.contact_field
        if not f.spec.to_salesforce or not target:
            continue
        found = _field(f, contact.properties, contact.updated_at, forward, person, changed_at)
        for change in found:
            if change.side != "hubspot":
                changes.append(replace(change, name=target))
    writes = any(c.side == "salesforce" for c in changes)
    contact_id = person.get("Id")
    return RecordPreview(
        **base,
        action="converted" if writes else "unchanged",
        reason="converted: changes go to its Contact" if writes else "the Contact has these values",
        salesforce_id=contact_id,
        changes=tuple(changes),
    )


def _field(
    f: CompiledField,
    props: dict[str, str | None],
    hubspot_at: datetime,
    forward: dict[str, Any],
    lead: dict[str, Any],
    salesforce_at: datetime | None,
) -> list[FieldChange]:
    rule = f.conflict
    sf_value = lead.get(f.salesforce)
    if f.spec.to_salesforce:
        hs_value = forward[f.salesforce]
        decision = resolve(rule, hs_value, hubspot_at, sf_value, salesforce_at)
    else:
        # to_hubspot: compare in HubSpot's terms
        hs_value = props.get(f.hubspot or "")
        decision = resolve(rule, hs_value, hubspot_at, f.hubspot_value(sf_value), salesforce_at)
    if decision.winner == "hubspot" and f.spec.to_salesforce:
        return [FieldChange("salesforce", f.salesforce, sf_value, hs_value, rule, decision.reason)]
    if decision.winner == "salesforce" and f.spec.to_hubspot:
        current = props.get(f.hubspot or "")
        new = f.hubspot_value(sf_value)
        if same(current, new):
            return []
        return [FieldChange("hubspot", f.hubspot or "", current, new, rule, decision.reason)]
    if decision.winner == "none" and decision.reason.startswith("both sides already"):
        return []
    return [FieldChange("kept", f.salesforce, sf_value, hs_value, rule, decision.reason)]


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # as the gateway's reads give it
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(
            str(value).replace("+0000", "+00:00").replace("Z", "+00:00")
        )
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return text_of(value)


@dataclass
class Totals:
    """Counts over a plan's records, for the last lines."""

    records: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    to_salesforce: int = 0
    to_hubspot: int = 0
    kept: int = 0

    def add(self, record: RecordPreview) -> None:
        self.records += 1
        self.actions[record.action] += 1
        for change in record.changes:
            if change.side == "salesforce":
                self.to_salesforce += 1
            elif change.side == "hubspot":
                self.to_hubspot += 1
            else:
                self.kept += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            **{a: self.actions.get(a, 0) for a in get_args(Action)},
            "field_changes_to_salesforce": self.to_salesforce,
            "field_changes_to_hubspot": self.to_hubspot,
            "differences_kept": self.kept,
        }

    def render(self) -> str:
        a = self.actions
        return (
            f"{self.records} contacts read: {a['create']} Leads to create, {a['update']} to "
            f"update, {a['link']} to link by email, {a['converted']} converted (their Contacts "
            f"to update), {a['customer']} customers (no Lead), "
            f"{a['unchanged']} unchanged, {a['not_included']} not included, {a['fail']} "
            f"failing\n{self.to_salesforce} field changes to Salesforce, {self.to_hubspot} to "
            f"HubSpot, {self.kept} differences kept by their conflict rule"
        )


#: The actions that write: a sync sends these records (when it pulls their contacts).
WRITING = frozenset({"create", "update", "link", "converted"})


@dataclass(frozen=True)
class NextPass:
    """Which records with changes to make the next `sync --once` sends. A pass pulls only the
    contacts changed in HubSpot since its stream's cursor (less the overlap): `since` (None:
    no cursor yet, it pulls every qualified contact). The others' changes wait until their
    contacts change. `unknown`: why the cursor could not be read (then nothing is split)."""

    since: datetime | None
    sent: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    unknown: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "sent": None if self.unknown else len(self.sent),
            "waiting": None if self.unknown else len(self.waiting),
            "waiting_hubspot_ids": list(self.waiting),
            "cursor_unreadable": self.unknown,
        }

    def render(self) -> str:
        """What a sync will and will not touch, for the last lines of `mappings plan`."""
        total = len(self.sent) + len(self.waiting)
        if self.unknown is not None:
            return (
                "the next `sync --once` sends only the contacts changed in HubSpot since its "
                f"cursor, which could not be read ({self.unknown}): which of the {total} "
                "records with changes it sends cannot be told"
            )
        if self.since is None:
            return (
                "the next `sync --once` reads every qualified contact (no pass has recorded a "
                f"cursor in the state store, LEADBRIDGE_DATABASE_URL): it sends all {total} "
                "records with changes above"
            )
        lines = [
            "the next `sync --once` sends only the contacts changed in HubSpot since "
            f"{self.since:%Y-%m-%d %H:%M:%S} UTC (its cursor, less the overlap): "
            f"{len(self.sent)} of the {total} records with changes above; the other "
            f"{len(self.waiting)} wait until their contacts change"
        ]
        if self.waiting:
            lines.append(
                "until `leadbridge backfill` exists, to apply the mapping to those now, change "
                "them in HubSpot (any property edit, a bulk edit or an import, makes a contact "
                "changed since the cursor): " + _ids(self.waiting)
            )
        return "\n".join(lines)


def next_pass(
    records: list[tuple[RecordPreview, datetime]],
    since: datetime | None,
    *,
    unknown: str | None = None,
) -> NextPass:
    """Split the records with changes (each with its contact's change time) by `since`
    (inclusive, as the pass's search is)."""
    writing = [(r.hubspot_id, at) for r, at in records if r.action in WRITING]
    if unknown is not None or since is None:
        return NextPass(since, tuple(i for i, _ in writing), (), unknown)
    sent = tuple(i for i, at in writing if at >= since)
    waiting = tuple(i for i, at in writing if at < since)
    return NextPass(since, sent, waiting)


def _ids(ids: tuple[str, ...], shown: int = 10) -> str:
    """`HubSpot contacts 1, 2, 3 and 7 more`."""
    head = ", ".join(ids[:shown])
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return f"HubSpot contacts {head}{more}"


def render(record: RecordPreview) -> str:
    """A record's outcome for people, one line per field."""
    who = f"HubSpot contact {record.hubspot_id}" + (f" ({record.email})" if record.email else "")
    target = f" {record.salesforce_id}" if record.salesforce_id else ""
    # A converted person's (or a customer's) record is its Contact (Ids 003...).
    obj = "Contact" if (record.salesforce_id or "").startswith("003") else "Lead"
    headline = {
        "create": "create a Lead",
        "update": f"update Lead{target}",
        "link": f"link and update Lead{target}",
        "converted": f"update Contact{target} (its Lead is converted)",
        "customer": f"nothing (Contact{target})",
        "unchanged": f"nothing ({obj}{target} unchanged)",
        "not_included": "nothing (not included)",
        "fail": "fail",
    }[record.action]
    lines = [f"{who}: {headline}: {record.reason}"]
    for c in record.changes:
        if c.side == "kept":
            lines.append(
                f"  = {obj}.{c.name} keeps {_shown(c.old)} (HubSpot has {_shown(c.new)})"
                f"   [{c.rule}: {c.reason}]"
            )
        else:
            where = f"{obj}.{c.name}" if c.side == "salesforce" else f"HubSpot {c.name}"
            mark = "+" if c.old is None else "~"
            why = f"{c.rule}: {c.reason}" if c.reason else c.rule
            lines.append(f"  {mark} {where}: {_shown(c.old)} -> {_shown(c.new)}   [{why}]")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    text = text_of(value) or ""
    return repr(text if len(text) <= 60 else text[:57] + "...")
