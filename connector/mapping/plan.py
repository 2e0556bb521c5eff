"""The compiled lead plan: mapping a contact is a loop over plain functions, not YAML lookups.

`LeadPlan.compile(mapping)` turns `mappings/lead.yaml` into, per field, a function building the
Salesforce value from the contact (`map`) and one building the HubSpot value from the Lead
(`to_hubspot`), plus the pure conflict resolver `resolve` that says which side wins a field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from connector.display import show
from connector.errors import MappingError
from connector.mapping.codegen import MapFn, generate
from connector.mapping.model import (
    Conflict,
    FieldMap,
    LeadMapping,
    MapValues,
    is_source,
    source_properties,
)
from connector.mapping.transforms import (
    Chain,
    Source,
    TransformError,
    chain,
    source,
    text_of,
)


class UnreadProperty(MappingError):
    """A contact came without a property the mapping reads. HubSpot leaves out of its answer
    the properties it does not have, so this is a property lead.yaml misnames (or one deleted
    since the pass checked the files), never an empty value: read as one, it would blank the
    Lead field for every contact. The pass stops before writing what it was mapping."""

    def __init__(self, field: str, properties: Sequence[str]) -> None:
        names = ", ".join(f"'{p}'" for p in properties)
        super().__init__(
            f"lead.yaml: Lead.{field} is mapped from HubSpot contact property {names}, but "
            "HubSpot sent a contact without it (HubSpot has no such property): it is not read "
            "as empty, and the contacts being mapped were not written; `leadbridge mappings "
            "validate` names the line"
        )
        self.field = field
        self.properties = tuple(properties)


def reads(spec: FieldMap) -> list[str]:
    """The contact properties a field's value is mapped from (a concat or template's, else
    `hubspot`)."""
    first = spec.transform[0] if spec.transform else None
    if first is not None and is_source(first):
        return source_properties(first)
    return [spec.hubspot] if spec.hubspot else []


def unread(spec: FieldMap, properties: Mapping[str, str | None]) -> UnreadProperty | None:
    """The error for the properties `spec` reads that `properties` lacks; None when none."""
    missing = [name for name in reads(spec) if name not in properties]
    return UnreadProperty(spec.salesforce, missing) if missing else None


class MappingFailure(Exception):
    """A record the mapping cannot handle: it fails alone, with the field and the value."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__(f"{field}: {message} (value {show(value)})")
        self.field = field
        self.value = value
        self.message = message


@dataclass(frozen=True)
class CompiledField:
    """One field of the mapping, ready to run in either direction."""

    spec: FieldMap
    source: Source | None  # concat/template: the value is built from several properties
    forward: Chain  # HubSpot text → Salesforce text
    backward: Chain  # Salesforce text → HubSpot text

    @property
    def salesforce(self) -> str:
        return self.spec.salesforce

    @property
    def hubspot(self) -> str | None:
        return self.spec.hubspot

    @property
    def conflict(self) -> Conflict:
        return self.spec.effective_conflict

    def salesforce_value(self, properties: Mapping[str, str | None]) -> str | None:
        """This field's Salesforce value for a contact (MappingFailure when it cannot map)."""
        missing = unread(self.spec, properties)
        if missing is not None:
            raise missing
        raw = self.source(properties) if self.source else properties[self.hubspot or ""]
        try:
            value = self.forward(raw)
        except TransformError as exc:
            raise MappingFailure(self.salesforce, exc.value, self._from(exc.message)) from None
        if self.spec.required and blank(value):
            raise MappingFailure(self.salesforce, raw, self._from("required, but empty"))
        return value

    def hubspot_value(self, salesforce_value: Any) -> str | None:
        """This field's HubSpot value for a Lead's field value (MappingFailure likewise)."""
        raw = text_of(salesforce_value)
        try:
            value = self.backward(raw)
        except TransformError as exc:
            msg = f"to HubSpot property '{self.hubspot}': {exc.message}"
            raise MappingFailure(self.salesforce, exc.value, msg) from None
        if self.spec.required and blank(value):
            msg = f"to HubSpot property '{self.hubspot}': required, but empty"
            raise MappingFailure(self.salesforce, raw, msg)
        return value

    def _from(self, message: str) -> str:
        what = f"HubSpot property '{self.hubspot}'" if self.hubspot else "the built value"
        return f"from {what}: {message}"


def _compile_field(spec: FieldMap) -> CompiledField:
    build = source(spec.transform[0]) if spec.transform and is_source(spec.transform[0]) else None
    if spec.direction == "to_hubspot":
        forward, backward = chain([]), chain(spec.transform)
    elif spec.direction == "both" and spec.reverse is None:
        inverted = [
            MapValues(map={v: k for k, v in t.map.items() if v is not None})
            for t in reversed(spec.transform)
            if isinstance(t, MapValues)
        ]
        forward, backward = chain(spec.transform), chain(inverted)
    else:
        forward, backward = chain(spec.transform), chain(spec.reverse or [])
    return CompiledField(spec, build, forward, backward)


@dataclass(frozen=True)
class LeadPlan:
    """What `mappings/lead.yaml` says, ready to run."""

    mapping: LeadMapping
    fields: tuple[CompiledField, ...]
    _map: MapFn = field(repr=False)

    @classmethod
    def compile(cls, mapping: LeadMapping) -> LeadPlan:
        fields = tuple(_compile_field(f) for f in mapping.fields)
        forward = [f.spec for f in fields if f.spec.to_salesforce]

        def fail(index: int, value: Any, message: str) -> MappingFailure:
            spec = forward[index]
            return MappingFailure(spec.salesforce, value, _from(spec.hubspot or "", message))

        def missing(index: int, properties: Mapping[str, Any], error: KeyError) -> Exception:
            return unread(forward[index], properties) or error

        return cls(mapping, fields, generate(forward, fail, missing))

    def hubspot_properties(self) -> list[str]:
        """Every contact property a pass must read: mapped, inclusion and write-back ones."""
        names = {
            *self.mapping.include.properties_read(),
            self.mapping.writeback.lead_id,
            self.mapping.writeback.contact_id,
        }
        if self.mapping.after_handoff.report_property:
            names.add(self.mapping.after_handoff.report_property)
        if self.mapping.salesforce_removals.status_property:
            names.add(self.mapping.salesforce_removals.status_property)
        for f in self.mapping.fields:
            names.update(f.properties_read())
        return sorted(names)

    def salesforce_fields(self) -> list[str]:
        """Every Lead field the mapping reads or writes."""
        return list(dict.fromkeys(f.salesforce for f in self.fields))

    def map(self, properties: Mapping[str, str | None]) -> dict[str, Any]:
        """Salesforce Lead field values for a contact's properties (None clears a field), for
        the fields that go to Salesforce. Raises MappingFailure for a value the mapping cannot
        handle (no map entry and no default, a required field empty, a transform that cannot
        apply). The loop itself is generated once (`codegen`)."""
        return self._map(properties)

    def to_hubspot(self, salesforce_record: Mapping[str, Any]) -> dict[str, str | None]:
        """HubSpot property values from a Lead's fields, for the fields that go to HubSpot
        (None clears a property). MappingFailure as for `map`."""
        return {
            f.hubspot: f.hubspot_value(salesforce_record.get(f.salesforce))
            for f in self.fields
            if f.spec.to_hubspot and f.hubspot
        }


def _from(prop: str, message: str) -> str:
    what = f"HubSpot property '{prop}'" if prop else "the built value"
    return f"from {what}: {message}"


# -- conflicts -------------------------------------------------------------------------------
Winner = Literal["hubspot", "salesforce", "none"]


class Resolution(NamedTuple):
    """Which side's value both sides should end with, that value, and why."""

    winner: Winner
    value: Any
    reason: str


class _Never:
    def __repr__(self) -> str:
        return "NEVER_WRITTEN"


#: `last_written` when leadbridge never wrote the field (or does not know what it wrote).
NEVER_WRITTEN: Any = _Never()


def blank(value: Any) -> bool:
    """None, "" and whitespace are all "no value"."""
    return value is None or (isinstance(value, str) and not value.strip())


def same(a: Any, b: Any) -> bool:
    """Equal as values: blanks alike, `5` and `5.0` alike, `True` and `true` alike."""
    if blank(a) or blank(b):
        return blank(a) and blank(b)
    left, right = text_of(a), text_of(b)
    if left == right:
        return True
    try:
        return float(left or "") == float(right or "")
    except ValueError:
        return False


def resolve(
    rule: Conflict,
    hubspot_value: Any,
    hubspot_changed_at: datetime | None,
    salesforce_value: Any,
    salesforce_changed_at: datetime | None,
    last_written: Any = NEVER_WRITTEN,
) -> Resolution:
    """Which side wins a field, by `rule`. Pure.

    Both values are in Salesforce's terms (the HubSpot one after the field's transforms).
    `last_written` is the value leadbridge last wrote to the field: a side still holding it has
    not changed, so the side that did change wins without a conflict. The rule decides when
    both changed (or when nothing was written yet); `never_overwrite` only ever fills blanks.
    `newest_wins` compares each side's own change time; a tie or two unknown times go to
    Salesforce, the system of record.
    """
    hs_blank, sf_blank = blank(hubspot_value), blank(salesforce_value)
    if same(hubspot_value, salesforce_value):
        return Resolution("none", salesforce_value, "both sides already agree")
    if rule == "never_overwrite":
        if sf_blank:
            return Resolution("hubspot", hubspot_value, "Salesforce is blank (never_overwrite)")
        if hs_blank:
            return Resolution("salesforce", salesforce_value, "HubSpot is blank (never_overwrite)")
        return Resolution("none", None, "both sides have a value; never_overwrite keeps each")
    if last_written is not NEVER_WRITTEN:
        hs_changed = not same(hubspot_value, last_written)
        sf_changed = not same(salesforce_value, last_written)
        if hs_changed and not sf_changed:
            return Resolution("hubspot", hubspot_value, "only HubSpot changed since our last write")
        if sf_changed and not hs_changed:
            return Resolution(
                "salesforce", salesforce_value, "only Salesforce changed since our last write"
            )
    if rule == "hubspot_wins":
        return Resolution("hubspot", hubspot_value, "HubSpot wins (hubspot_wins)")
    if rule == "salesforce_wins":
        return Resolution("salesforce", salesforce_value, "Salesforce wins (salesforce_wins)")
    if rule == "salesforce_unless_blank":
        if sf_blank:
            return Resolution(
                "hubspot", hubspot_value, "Salesforce is blank (salesforce_unless_blank)"
            )
        return Resolution("salesforce", salesforce_value, "Salesforce wins unless blank")
    if rule == "hubspot_unless_blank":
        if hs_blank:
            return Resolution(
                "salesforce", salesforce_value, "HubSpot is blank (hubspot_unless_blank)"
            )
        return Resolution("hubspot", hubspot_value, "HubSpot wins unless blank")
    # newest_wins
    if hubspot_changed_at is not None and (
        salesforce_changed_at is None or hubspot_changed_at > salesforce_changed_at
    ):
        return Resolution("hubspot", hubspot_value, "HubSpot changed last (newest_wins)")
    if salesforce_changed_at is not None and (
        hubspot_changed_at is None or salesforce_changed_at > hubspot_changed_at
    ):
        return Resolution("salesforce", salesforce_value, "Salesforce changed last (newest_wins)")
    return Resolution(
        "salesforce", salesforce_value, "same or unknown change times: Salesforce (newest_wins)"
    )


def values_hash(values: dict[str, Any]) -> str:
    """A stable hash of the values we write, to recognise our own echo later."""
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
