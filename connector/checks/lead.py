"""lead.yaml against the live schemas: each field or property exists (with a close name
suggested), it can be written in the mapped direction, the types fit (a picklist gets only
values it allows, a number only numbers, a date only dates), a `truncate` fits the field,
Salesforce's required Lead fields are filled, the Contact field a converted person's value goes
to can be written, and the `after_handoff.report_property` can be written, and the
`merges_and_deletions.flag` field can be updated to its value.

Errors fail validation; warnings (`truncate` longer than the field, values an unrestricted
picklist does not list, a default Contact field the org lacks) do not. An error only records
with certain values meet (scope `records`) does not refuse a pass (`connector.checks.precheck`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.checks.findings import Loc, ordered
from connector.checks.snapshot import HubSpotProperty, LiveSchema, SalesforceField
from connector.files.loader import Loaded, Problem
from connector.files.suggest import did_you_mean
from connector.mapping.model import (
    Condition,
    Default,
    FieldMap,
    LeadMapping,
    MapValues,
    Template,
    Truncate,
    is_source,
    source_properties,
)
from connector.mapping.transforms import TransformError, compile_transform, utf16_length

TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "encryptedstring", "combobox", "id"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
PICKLIST_TYPES = frozenset({"picklist", "multipicklist"})
BOOLEAN_WORDS = frozenset({"true", "false"})


@dataclass
class Flow:
    """What a transform chain can give: the possible non-empty values (None: any text), the
    finite inputs no map entry covers, and those a transform refuses."""

    values: set[str] | None
    uncovered: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def flow(specs: Sequence[Any], inputs: Iterable[str] | None) -> Flow:
    """Run a chain over a finite set of inputs (a property's options), or over "any text"."""
    values = None if inputs is None else {v for v in inputs if v}
    out = Flow(values)
    for spec in specs:
        if is_source(spec):
            out.values = None
        elif isinstance(spec, Default):
            if out.values is not None:
                out.values.add(spec.default)
        elif isinstance(spec, MapValues):
            produced: set[str] = set()
            if out.values is None:
                produced = {v for v in spec.map.values() if v}
                if spec.has_default and spec.default:
                    produced.add(spec.default)
            else:
                for value in sorted(out.values):
                    if value in spec.map:
                        target = spec.map[value]
                    elif spec.has_default:
                        target = spec.default
                    else:
                        out.uncovered.append(value)
                        continue
                    if target:
                        produced.add(target)
            out.values = produced
        elif out.values is not None:
            fn = compile_transform(spec)
            produced = set()
            for value in sorted(out.values):
                try:
                    result = fn(value)
                except TransformError as exc:
                    out.refused.append((value, exc.message))
                    continue
                if result:
                    produced.add(result)
            out.values = produced
    return out


def backward_specs(spec: FieldMap) -> list[Any]:
    """The transforms from Salesforce to HubSpot (as `plan` compiles them)."""
    if spec.direction == "to_hubspot":
        return list(spec.transform)
    if spec.reverse is not None:
        return list(spec.reverse)
    return [
        MapValues(map={v: k for k, v in t.map.items() if v is not None})
        for t in reversed(spec.transform)
        if isinstance(t, MapValues)
    ]


class _Checker:
    def __init__(self, loaded: Loaded[LeadMapping], schema: LiveSchema, external_id: str) -> None:
        self.loaded = loaded
        self.mapping = loaded.model
        self.schema = schema
        self.external_id = external_id
        self.problems: list[Problem] = []

    def error(self, loc: Loc, message: str) -> None:
        self.problems.append(self.loaded.problem(loc, message))

    def fails(self, loc: Loc, message: str) -> None:
        """An error only the records with certain values meet: each fails alone when synced
        (named in the pass summary), so a pass is not refused for it (`Problem.scope`)."""
        self.problems.append(self.loaded.problem(loc, message, scope="records"))

    def warning(self, loc: Loc, message: str) -> None:
        self.problems.append(self.loaded.problem(loc, message, "warning"))

    # -- lookups ---------------------------------------------------------------------------
    def sf_field(self, name: str, loc: Loc) -> SalesforceField | None:
        found = self.schema.lead.get(name)
        if found is None:
            hint = did_you_mean(name, self.schema.lead)
            self.error(loc, f"unknown Salesforce field '{name}' on Lead{hint}")
        return found

    def hs_property(self, name: str, loc: Loc) -> HubSpotProperty | None:
        found = self.schema.contact.get(name)
        if found is None:
            hint = did_you_mean(name, self.schema.contact)
            self.error(loc, f"unknown HubSpot contact property '{name}'{hint}")
        return found

    # -- include ----------------------------------------------------------------------------
    def include(self) -> None:
        include = self.mapping.include
        at: Loc = ("include",)
        stage_prop = self.hs_property(include.lifecycle_property, (*at, "lifecycle_property"))
        if stage_prop is not None and stage_prop.options:
            qualified = include.stages[include.stages.index(include.min_stage) :]
            for stage in qualified:
                if stage not in stage_prop.options:
                    hint = did_you_mean(stage, stage_prop.options)
                    message = (
                        f"'{stage}' is not a stage of HubSpot's '{stage_prop.name}'{hint}; "
                        "no contact can have it"
                    )
                    if stage == include.min_stage:
                        self.error((*at, "min_stage"), message)
                    else:
                        self.warning((*at, "stages", include.stages.index(stage)), message)
        if include.score_property and include.min_score is not None:
            score = self.hs_property(include.score_property, (*at, "score_property"))
            if score is not None and score.type != "number":
                self.error(
                    (*at, "score_property"),
                    f"'{score.name}' is a {score.type} property, not a number: "
                    "min_score cannot compare with it",
                )
        for i, condition in enumerate(include.conditions):
            self.condition(condition, (*at, "conditions", i))
        exclude = include.exclude
        if exclude.consent is not None:
            self.condition(exclude.consent, (*at, "exclude", "consent"))
        for i, condition in enumerate(exclude.conditions):
            self.condition(condition, (*at, "exclude", "conditions", i))

    def condition(self, condition: Condition, loc: Loc) -> None:
        prop = self.hs_property(condition.property, (*loc, "property"))
        if prop is None or not prop.options:
            return
        operator = condition.operator
        if operator not in ("equals", "in", "not_in"):
            return
        given = condition.operand(operator)
        values = [given] if isinstance(given, str) else list(given)
        options = {o.casefold(): o for o in prop.options}
        for i, value in enumerate(values):
            if value.strip().casefold() not in options:
                where = (*loc, operator) if operator == "equals" else (*loc, operator, i)
                hint = did_you_mean(value, prop.options)
                self.warning(where, f"'{value}' is not an option of HubSpot's '{prop.name}'{hint}")

    # -- write-back -------------------------------------------------------------------------
    def writeback(self) -> None:
        wb = self.mapping.writeback
        for key in ("lead_id", "contact_id"):
            name = getattr(wb, key)
            prop = self.hs_property(name, ("writeback", key))
            if prop is None:
                continue
            if prop.read_only or prop.calculated:
                self.error(("writeback", key), f"HubSpot property '{name}' is read-only")
            elif prop.type != "string":
                self.error(
                    ("writeback", key),
                    f"HubSpot property '{name}' is {prop.type}; Salesforce ids need a text "
                    "property",
                )

    # -- after the handoff ---------------------------------------------------------------
    def handoff(self) -> None:
        """The property a Lead that stopped qualifying is reported in: it must take text."""
        found = self._text_property(
            "after_handoff",
            "report_property",
            "create it in HubSpot (a text property, single- or multi-line), or set "
            "report_property: null to report in the audit log only",
        )
        if found is None:
            return
        at, name, whose, prop = found
        if prop.read_only or prop.calculated:
            self.error(at, f"HubSpot property '{name}'{whose} is read-only: it cannot be written")
        elif prop.type != "string":
            self.error(
                at,
                f"HubSpot property '{name}'{whose} is {prop.type}; the report is text: choose "
                "(or create) a text property",
            )

    # -- records removed in Salesforce -------------------------------------------------------
    def removals(self) -> None:
        """The property telling marketing a contact's record was deleted or merged away in
        Salesforce: it must take text."""
        found = self._text_property(
            "salesforce_removals",
            "status_property",
            "create it in HubSpot (a text property), or set status_property: null to only "
            "clear the Salesforce id",
        )
        if found is None:
            return
        at, name, whose, prop = found
        if prop.read_only or prop.calculated or prop.type != "string":
            self.error(
                at,
                f"HubSpot property '{name}'{whose} cannot take the text saying the record was "
                "removed: choose (or create) a writable text property",
            )

    def _text_property(
        self, section: str, key: str, fix: str
    ) -> tuple[Loc, str, str, HubSpotProperty] | None:
        """The HubSpot contact property `section.key` of lead.yaml names for leadbridge to
        write text to: None when it names none (null) or none that exists (an error saying
        `fix`), else its location, name, whose default it is (for messages) and the property
        for the caller's own checks."""
        rule = getattr(self.mapping, section)
        name = getattr(rule, key)
        if name is None:
            return None
        at: Loc = (section, key)
        given = section in self.mapping.model_fields_set and key in rule.model_fields_set
        whose = "" if given else f" ({section}.{key}'s default)"
        prop = self.schema.contact.get(name)
        if prop is None:
            self.error(
                at,
                f"unknown HubSpot contact property '{name}'{whose}"
                f"{did_you_mean(name, self.schema.contact)}: {fix}",
            )
            return None
        return at, name, whose, prop

    # -- converted people's Contacts --------------------------------------------------------
    def flag(self) -> None:
        """`merges_and_deletions.flag`: a Lead field leadbridge can update, holding the value
        (a picklist's value, a checkbox's true)."""
        flag = self.mapping.merges_and_deletions.flag
        at: Loc = ("merges_and_deletions", "flag", "field")
        sf = self.sf_field(flag.field, at)
        if sf is None:
            return
        if sf.calculated or not sf.updateable:
            self.error(at, f"Lead.{sf.name} is not updateable: a Lead cannot be flagged with it")
        elif sf.picklist and flag.value not in sf.picklist:
            hint = did_you_mean(flag.value, sf.picklist)
            self.error(
                ("merges_and_deletions", "flag", "value"),
                f"'{flag.value}' is not a value of the picklist Lead.{sf.name}{hint} "
                f"(allowed: {', '.join(sf.picklist)})",
            )
        elif sf.type == "boolean" and flag.value.lower() not in ("true", "false"):
            self.error(
                ("merges_and_deletions", "flag", "value"),
                f"Lead.{sf.name} is a checkbox: the flag's value is true or false",
            )

    def contacts(self) -> None:
        """Where each field's value goes once its Lead is converted: an updateable Contact
        field. Not checked against a schema without the Contact describe."""
        contact = self.schema.fields_of("Contact")
        if contact is None:
            return
        for index, spec in enumerate(self.mapping.fields):
            target = spec.contact_field
            if not spec.to_salesforce or target is None:
                continue
            found = contact.get(target)
            if found is not None and found.updateable and not found.calculated:
                continue
            explicit = spec.contact is not None
            if found is None:
                why = f"Contact has no field '{target}'" + (
                    did_you_mean(target, contact) if explicit else ""
                )
            else:
                why = f"Contact.{target} is not updateable"
            if explicit:
                self.error(
                    ("fields", index, "contact"),
                    f"{why}: a converted person's changes to {spec.salesforce} could not be "
                    "written; name an updateable Contact field, or `contact: false` to leave "
                    "them on the Lead",
                )
            else:
                self.warning(
                    ("fields", index, "salesforce"),
                    f"Lead.{spec.salesforce} goes to Contact.{target} once the Lead is converted "
                    f"(Salesforce's standard mapping), but {why}: add `contact: false` to this "
                    "field to leave a converted person's changes on the Lead (or `contact:` "
                    "and the Contact field to write)",
                )

    # -- fields -----------------------------------------------------------------------------
    def fields(self) -> None:
        for index, spec in enumerate(self.mapping.fields):
            self.field(index, spec)
        mapped = {f.salesforce for f in self.mapping.fields if f.to_salesforce}
        for f in self.schema.lead.values():
            if f.required_on_create and f.name not in mapped and f.name != self.external_id:
                self.error(
                    ("fields",),
                    f"Salesforce requires Lead.{f.name} on every Lead, but no field fills it: "
                    f"map a HubSpot property to it (with a default, so it is never empty)",
                )

    def field(self, index: int, spec: FieldMap) -> None:
        at: Loc = ("fields", index)
        sf = self.sf_field(spec.salesforce, (*at, "salesforce"))
        hs = self.hs_property(spec.hubspot, (*at, "hubspot")) if spec.hubspot else None
        for j, t in enumerate(spec.transform):
            if isinstance(t, Template):
                for name in source_properties(t):
                    self.hs_property(name, (*at, "transform", j, "template"))
            elif is_source(t):
                for k, name in enumerate(source_properties(t)):
                    self.hs_property(name, (*at, "transform", j, "concat", k))
        if sf is None or (spec.hubspot and hs is None):
            return
        if sf.name == self.external_id:
            self.error(
                (*at, "salesforce"),
                f"Lead.{sf.name} is the external id leadbridge upserts by; it sets it itself",
            )
            return
        if spec.to_salesforce and self.writable_in_salesforce(sf, at):
            self.forward(spec, sf, hs, at)
        if spec.to_hubspot and hs is not None:
            if hs.read_only or hs.calculated:
                why = "HubSpot calculates it" if hs.calculated else "HubSpot sets it"
                self.error(
                    (*at, "direction"),
                    f"HubSpot property '{hs.name}' is read-only ({why}); it cannot be "
                    f"written {spec.direction}",
                )
            else:
                self.backward(spec, sf, hs, at)

    def writable_in_salesforce(self, sf: SalesforceField, at: Loc) -> bool:
        if sf.calculated or (not sf.createable and not sf.updateable):
            why = "is not createable or updateable: Salesforce sets it itself"
        elif not sf.updateable:
            why = "is createable but not updateable: every later change would be refused"
        elif not sf.createable:
            why = "is updateable but not createable: new Leads would be refused"
        else:
            return True
        self.error((*at, "salesforce"), f"Lead.{sf.name} {why}")
        return False

    def forward(
        self, spec: FieldMap, sf: SalesforceField, hs: HubSpotProperty | None, at: Loc
    ) -> None:
        """HubSpot → Salesforce: types, picklist values, lengths."""
        transforms = spec.transform
        built = bool(transforms) and is_source(transforms[0])
        options = hs.options if hs is not None and hs.options and not built else None
        result = flow(transforms, options)
        source_type = "string" if hs is None or built else hs.type
        what = "the built value" if hs is None or built else f"HubSpot property '{hs.name}'"
        names = [t for t in transforms if isinstance(t, str)]
        self.truncations(transforms, sf, at)
        for value, why in result.refused:
            self.fails((*at, "transform"), f"{what} option '{value}' cannot be transformed: {why}")
        if result.uncovered:
            shown = ", ".join(f"'{v}'" for v in result.uncovered[:10])
            self.fails(
                self.map_loc(spec.transform, at),
                f"{what} options {shown} have no map entry and the map has no default: "
                "contacts with them would fail",
            )
        target = f"Lead.{sf.name}"
        if sf.type in TEXT_TYPES or sf.type == "reference":
            if result.values is not None and sf.length:
                for value in sorted(result.values):
                    if utf16_length(value) > sf.length:
                        self.fails(
                            self.value_loc(spec.transform, value, at),
                            f"'{value[:40]}…' is longer than {target}'s {sf.length} characters",
                        )
        elif sf.type in PICKLIST_TYPES:
            self.picklist(spec, sf, result, what, at)
        elif sf.type == "boolean":
            if source_type != "bool" and not _within(result.values, BOOLEAN_WORDS):
                self.fails(
                    (*at, "salesforce"),
                    f"{target} is a checkbox (true/false) but {what} is {source_type}; map its "
                    "values to true and false",
                )
        elif sf.type in NUMBER_TYPES:
            if source_type != "number" and not _numeric(result.values):
                self.fails(
                    (*at, "salesforce"),
                    f"{target} is a number ({sf.type}) but {what} is {source_type}: Salesforce "
                    "refuses values that are not numbers; map it to numbers or choose a number "
                    "property",
                )
        elif sf.type in ("date", "datetime"):
            converted = "date" in names or "datetime" in names
            if sf.type == "date" and source_type == "datetime" and not converted:
                self.fails(
                    (*at, "salesforce"),
                    f"{target} is a date but {what} is a datetime: add the `date` transform",
                )
            elif source_type not in ("date", "datetime") and not converted:
                self.fails(
                    (*at, "salesforce"),
                    f"{target} is a {sf.type} but {what} is {source_type}: add the `date` "
                    f"or `datetime` transform",
                )
        else:
            self.error(
                (*at, "salesforce"),
                f"{target} is a {sf.type} field; a mapping cannot write it",
            )

    def picklist(
        self, spec: FieldMap, sf: SalesforceField, result: Flow, what: str, at: Loc
    ) -> None:
        target = f"Lead.{sf.name}"
        kind = "restricted picklist" if sf.restricted else "picklist"
        if result.values is None:
            message = (
                f"{target} is a {kind} but {what} is free text: add a `map` with a `default` "
                "so that every value becomes one the picklist allows"
            )
            if sf.restricted:
                self.fails((*at, "salesforce"), message)
            else:
                self.warning((*at, "salesforce"), message)
            return
        allowed = set(sf.picklist)
        for value in sorted(result.values):
            if value in allowed:
                continue
            hint = did_you_mean(value, sf.picklist)
            loc = self.value_loc(spec.transform, value, at)
            if sf.restricted:
                self.fails(
                    loc,
                    f"'{value}' is not allowed by Salesforce's restricted picklist {target}"
                    f"{hint} (allowed: {', '.join(sf.picklist)})",
                )
            else:
                self.warning(loc, f"'{value}' is not a value of the picklist {target}{hint}")

    def backward(self, spec: FieldMap, sf: SalesforceField, hs: HubSpotProperty, at: Loc) -> None:
        """Salesforce → HubSpot: types and enumeration options."""
        specs = backward_specs(spec)
        inputs = sf.picklist if sf.type in PICKLIST_TYPES and sf.picklist else None
        if sf.type == "boolean":
            inputs = ("true", "false")
        result = flow(specs, inputs)
        key = "reverse" if spec.reverse is not None else "transform"
        target = f"HubSpot property '{hs.name}'"
        what = f"Lead.{sf.name}"
        if result.uncovered:
            shown = ", ".join(f"'{v}'" for v in result.uncovered[:10])
            self.fails(
                (*at, key),
                f"{what} values {shown} have no map entry on the way back to HubSpot and the "
                "map has no default",
            )
        if hs.type == "enumeration":
            if result.values is None:
                self.fails(
                    (*at, key),
                    f"{target} is an enumeration but {what} is free text: give a map (with a "
                    "default) to its options",
                )
                return
            refused = [v for v in sorted(result.values) if v not in hs.options]
            if refused:
                hint = did_you_mean(refused[0], hs.options) if len(refused) == 1 else ""
                shown = ", ".join(f"'{v}'" for v in refused[:10])
                self.fails(
                    (*at, key),
                    f"{what} values {shown} are not options of {target}{hint}: give a map "
                    "to its options",
                )
        elif hs.type == "number":
            if sf.type not in NUMBER_TYPES and not _numeric(result.values):
                self.fails((*at, "hubspot"), f"{target} is a number but {what} is {sf.type}")
        elif hs.type == "bool":
            if sf.type != "boolean" and not _within(result.values, BOOLEAN_WORDS):
                self.fails((*at, "hubspot"), f"{target} is true/false but {what} is {sf.type}")
        elif hs.type in ("date", "datetime") and sf.type not in ("date", "datetime"):
            self.fails((*at, "hubspot"), f"{target} is a {hs.type} but {what} is {sf.type}")

    def truncations(self, transforms: Sequence[Any], sf: SalesforceField, at: Loc) -> None:
        for j, t in enumerate(transforms):
            if isinstance(t, Truncate) and sf.length and t.truncate > sf.length:
                self.warning(
                    (*at, "transform", j, "truncate"),
                    f"truncate: {t.truncate} is longer than Lead.{sf.name} ({sf.length} "
                    f"characters): Salesforce will refuse values longer than {sf.length}",
                )

    # -- where a value came from -----------------------------------------------------------
    @staticmethod
    def map_loc(transforms: Sequence[Any], at: Loc) -> Loc:
        for j, t in enumerate(transforms):
            if isinstance(t, MapValues):
                return (*at, "transform", j, "map")
        return (*at, "transform")

    @staticmethod
    def value_loc(transforms: Sequence[Any], value: str, at: Loc) -> Loc:
        """The map entry, default or `default:` that produces `value`."""
        for j in range(len(transforms) - 1, -1, -1):
            t = transforms[j]
            if isinstance(t, MapValues):
                for key, target in t.map.items():
                    if target == value:
                        return (*at, "transform", j, "map", key)
                if t.has_default and t.default == value:
                    return (*at, "transform", j, "default")
            if isinstance(t, Default) and t.default == value:
                return (*at, "transform", j, "default")
        return (*at, "transform") if transforms else (*at, "hubspot")


def _within(values: set[str] | None, allowed: frozenset[str]) -> bool:
    return values is not None and all(v.lower() in allowed for v in values)


def _numeric(values: set[str] | None) -> bool:
    if values is None:
        return False
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def check(
    loaded: Loaded[LeadMapping], schema: LiveSchema, *, external_id_field: str
) -> list[Problem]:
    """Every finding about `loaded` against `schema`, in file order."""
    checker = _Checker(loaded, schema, external_id_field)
    checker.include()
    checker.fields()
    checker.contacts()
    checker.writeback()
    checker.handoff()
    checker.removals()
    checker.flag()
    return ordered(checker.problems)
