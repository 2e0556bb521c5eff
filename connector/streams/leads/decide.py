"""Sales feedback rules: what a HubSpot contact should show for its Salesforce Lead's status.

Pure: a Lead (its fields as read), the contact's current properties and `status.yaml` in, a
decision out; no I/O. Beside `connector.lifecycle` (which contacts go to sales), this is the
way back (what sales made of them). `connector.streams.leads.stream` carries the decisions out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.mapping.status import Kind, StatusMapping
from connector.model import Transition

Properties = Mapping[str, str | None]


@dataclass(frozen=True)
class Target:
    """What the mapping says HubSpot should show for a Lead, from the Lead alone."""

    kind: Kind
    values: dict[str, str | None]  # contact property -> value (None: empty)
    stage: str | None = None  # the lifecycle stage to move to, if any
    #: HubSpot lists the contact leaves, as status.yaml names them (ids or names; see
    #: `is_list_id`). Not compared with HubSpot (leaving a list the contact is not in changes
    #: nothing): a decision's empty `updates` does not mean there is no list to leave.
    leave_lists: tuple[str, ...] = ()
    stamp: str | None = None  # the contact property that gets when the Lead first had it


@dataclass(frozen=True)
class FeedbackDecision:
    """What to write to one contact. `clear_first`: the lifecycle stage moves backward, which
    HubSpot accepts only once the stage is cleared: write "" first, then `updates`."""

    updates: dict[str, str | None]
    clear_first: bool
    reason: str
    kind: Kind | None = None  # None: the Lead's status is not in status.yaml
    wanted: dict[str, str | None] = field(default_factory=dict)  # the whole target, for hashing

    @property
    def unmapped(self) -> bool:
        return self.kind is None


def _text(value: Any) -> str | None:
    """A Lead field as contact property text (None for empty)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def target(lead: Mapping[str, Any], mapping: StatusMapping) -> Target | None:
    """The contact values the Lead's status calls for; None when the status is not mapped."""
    rule = mapping.rule(lead.get("Status"))
    if rule is None:
        return None
    values: dict[str, str | None] = {}
    if rule.lead_status is not None:
        values[mapping.lead_status_property] = rule.lead_status
    for source, prop in mapping.copies(rule).items():
        values[prop] = _text(field_value(lead, source))
    return Target(
        rule.kind, values, rule.lifecycle_stage, mapping.leave_lists(rule), stamp=rule.stamp
    )


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """A field of a queried record, through relationships (`Owner.Email` reads the nested
    `Owner` record); None when a record on the way is empty."""
    value: Any = record
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def feedback_for(
    lead: Mapping[str, Any], hubspot_properties: Properties, mapping: StatusMapping
) -> FeedbackDecision:
    """What the contact linked to `lead` needs written so it shows what sales decided.

    Only values HubSpot does not already show are written. The lifecycle stage moves forward
    for every kind; only a `rejected` Lead moves it backward (with `clear_first`), any other
    leaves a contact already past the stage where it is.
    """
    wanted = target(lead, mapping)
    if wanted is None:
        status = lead.get("Status")
        known = ", ".join(repr(s) for s in mapping.statuses)
        reason = (
            f"Lead status {status!r} is not in status.yaml (known: {known})"
            if status
            else "the Lead has no Status"
        )
        return FeedbackDecision({}, clear_first=False, reason=reason)
    if wanted.kind == "converted":
        return FeedbackDecision(
            {}, clear_first=False, reason="converted: left to conversion", kind=wanted.kind
        )
    updates = {
        prop: value
        for prop, value in wanted.values.items()
        if _text(hubspot_properties.get(prop)) != value
    }
    full = dict(wanted.values)
    clear_first = False
    notes: list[str] = []
    if wanted.stamp and not _text(hubspot_properties.get(wanted.stamp)):
        moment = _moment_text(lead.get("LastModifiedDate"))
        if moment:
            updates[wanted.stamp] = moment
            notes.append(f"{wanted.stamp} stamped")
    if wanted.stage is not None:
        prop = mapping.lifecycle_property
        full[prop] = wanted.stage
        move = _stage_move(hubspot_properties.get(prop), wanted.stage, mapping.stages)
        if move == "backward" and wanted.kind == "rejected":
            updates[prop] = wanted.stage
            clear_first = True
            notes.append(f"lifecycle back to {wanted.stage} (cleared first)")
        elif move == "backward":
            notes.append(f"lifecycle kept: already past {wanted.stage}")
        elif move != "same":
            updates[prop] = wanted.stage
            notes.append(f"lifecycle to {wanted.stage}")
    written = [p for p in updates if p not in (mapping.lifecycle_property, wanted.stamp)]
    parts = ([f"set {', '.join(written)}"] if written else []) + notes
    if not updates:
        parts.insert(0, "HubSpot already shows it")
    reason = f"{wanted.kind}: " + "; ".join(parts)
    return FeedbackDecision(
        updates, clear_first=clear_first, reason=reason, kind=wanted.kind, wanted=full
    )


def _moment_text(value: Any) -> str | None:
    """A Lead's datetime as HubSpot datetime text (ISO 8601, UTC, milliseconds)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _text(value)


def _stage_move(current: str | None, stage: str, stages: list[str]) -> str:
    """same | forward | backward. A current stage outside `stages` (a custom one) counts as
    backward: only clearing it first makes sure the wanted stage is taken."""
    if not current:
        return "forward"
    if current == stage:
        return "same"
    if current not in stages:
        return "backward"
    return "forward" if stages.index(stage) > stages.index(current) else "backward"


# -- lists ----------------------------------------------------------------------------------
def is_list_id(ref: str) -> bool:
    """A list named in status.yaml by digits only is an id (`12`); anything else is a name."""
    return ref.isascii() and ref.isdigit()


def list_names(refs: Iterable[str]) -> list[str]:
    """The names among list references, each once: what a pass resolves to ids up front."""
    return list(dict.fromkeys(ref for ref in refs if not is_list_id(ref)))


@dataclass(frozen=True)
class ListRemovals:
    """Which contacts leave which lists in one batch, ready for the HubSpot gateway."""

    #: list id -> contact ids, in the order the contacts came.
    memberships: dict[str, list[str]]
    #: list name no HubSpot contact list has -> the contacts that should have left it.
    unknown: dict[str, list[str]] = field(default_factory=dict)


def list_removals(
    leaving: Mapping[str, Sequence[str]], ids_by_name: Mapping[str, str]
) -> ListRemovals:
    """Group contacts by the lists they leave (`leaving`: contact id -> `Target.leave_lists`),
    names turned into ids with `ids_by_name` (as `HubSpotSide.list_ids_by_name` answers); a
    name without an id is reported in `unknown` instead."""
    memberships: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for contact_id, refs in leaving.items():
        for ref in dict.fromkeys(refs):
            list_id = ref if is_list_id(ref) else ids_by_name.get(ref)
            bucket = memberships.setdefault(list_id, []) if list_id else unknown.setdefault(ref, [])
            if contact_id not in bucket:
                bucket.append(contact_id)
    return ListRemovals(memberships, unknown)


# -- transitions (the reports) --------------------------------------------------------------
def feedback_transitions(
    lead: Mapping[str, Any], contact_id: str, mapping: StatusMapping
) -> list[Transition]:
    """What a Lead's status says of its journey, for the reports: touched (its status left the
    open one) and accepted or rejected (the rejection with its reason: the first Lead field the
    status copies of its own that has a value, else the status). At the Lead's last change
    (when read); an open or unmapped status says nothing. Converted ones are touched here, and
    qualified by the conversion."""
    rule = mapping.rule(lead.get("Status"))
    if rule is None or rule.kind == "open":
        return []
    lead_id = str(lead["Id"])
    at = next(
        (
            value
            for value in (lead.get("LastModifiedDate"), lead.get("SystemModstamp"))
            if isinstance(value, datetime)
        ),
        None,
    )
    owner = _text(lead.get("OwnerId"))
    found = [Transition("touched", contact_id, lead_id, at, owner_id=owner)]
    if rule.kind == "accepted":
        found.append(Transition("accepted", contact_id, lead_id, at, owner_id=owner))
    elif rule.kind == "rejected":
        reason = next(
            (_text(field_value(lead, name)) for name in rule.copy_ if field_value(lead, name)),
            _text(lead.get("Status")),
        )
        found.append(Transition("rejected", contact_id, lead_id, at, owner_id=owner, reason=reason))
    return found
