"""The schema of `mappings/lead.yaml`: every key known, every unknown key an error.

The language (documented for admins in `mappings/README.md`): which contacts sync (`include`:
stages, score, property conditions, exclusions), and per field the HubSpot property, the
Salesforce field, the `direction`, the `conflict` rule, the `transform` list and `required`.
"""

from __future__ import annotations

import builtins
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeGuard, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from connector.files.loader import load_file
from connector.files.strict import Strict
from connector.files.suggest import did_you_mean

#: HubSpot's default lifecycle stages, in order (API_NOTES.md).
DEFAULT_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)

Direction = Literal["to_salesforce", "to_hubspot", "both"]
Conflict = Literal[
    "hubspot_wins",
    "salesforce_wins",
    "salesforce_unless_blank",
    "hubspot_unless_blank",
    "newest_wins",
    "never_overwrite",
]
#: Salesforce's standard Lead → Contact field mapping (what convertLead copies), for the fields
#: a converted person's later changes go to. Company and Website belong to the Account and
#: Status/Rating to the Lead: they have no Contact field.
CONTACT_FIELDS: dict[str, str] = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Fax": "Fax",
    "Title": "Title",
    "LeadSource": "LeadSource",
    "Description": "Description",
    "Street": "MailingStreet",
    "City": "MailingCity",
    "State": "MailingState",
    "PostalCode": "MailingPostalCode",
    "Country": "MailingCountry",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "DoNotCall": "DoNotCall",
}
DIRECTIONS: tuple[str, ...] = get_args(Direction)
CONFLICTS: tuple[str, ...] = get_args(Conflict)
#: The rule a one-way field follows when none is given: the side it comes from wins.
DEFAULT_CONFLICT: dict[str, Conflict] = {
    "to_salesforce": "hubspot_wins",
    "to_hubspot": "salesforce_wins",
}


def _scalar_text(value: Any) -> Any:
    """A YAML scalar as the text HubSpot and Salesforce exchange (`true`, `12`, `1.5`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


#: A value written in a mapping file: text, whatever YAML made of it.
Text = Annotated[str, BeforeValidator(_scalar_text)]


# -- transforms ------------------------------------------------------------------------------
#: Transforms written as a bare name.
SIMPLE_TRANSFORMS = ("strip", "lower", "upper", "country_code", "phone_e164", "date", "datetime")
#: Transforms written as `name: argument` (phone_e164 takes either form).
ARGUMENT_TRANSFORMS = (
    "truncate",
    "map",
    "default",
    "concat",
    "template",
    "split_name",
    "phone_e164",
)
ALL_TRANSFORMS = tuple(dict.fromkeys([*SIMPLE_TRANSFORMS, *ARGUMENT_TRANSFORMS]))
_USAGE = {
    "truncate": "truncate: N",
    "map": "map: {hubspot value: salesforce value, ...} (and a default: for the others)",
    "default": "default: value",
    "concat": "concat: [property, property, ...] (and a separator:)",
    "template": "template: '{property} text {property}'",
    "split_name": "split_name: first (or last)",
}


class Truncate(Strict):
    """At most N characters, cut between characters (a letter and its accents stay whole)."""

    truncate: Annotated[int, Field(ge=1)]


class MapValues(Strict):
    """Replace each value by the one the table gives; values not in it become `default`, or
    fail the record when no default is given. Empty values pass through."""

    map: Annotated[dict[Text, Text | None], Field(min_length=1)]
    default: Text | None = None

    @field_validator("map", mode="before")
    @classmethod
    def _text_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_scalar_text(k): v for k, v in value.items()}
        return value

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class Default(Strict):
    """Fill an empty value."""

    default: Text


class Concat(Strict):
    """The non-empty values of several properties, joined by `separator`."""

    concat: Annotated[list[str], Field(min_length=2)]
    separator: Text = " "


_FORMATTER = string.Formatter()
_PLACEHOLDER = re.compile(r"[a-z0-9_]+")


def template_names(template: str) -> list[str]:
    """The property names a template's `{placeholders}` read (ValueError when malformed)."""
    names = []
    for _literal, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if spec or conversion or not _PLACEHOLDER.fullmatch(name):
            msg = (
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} is not a HubSpot property name "
                "(lower-case letters, digits and _; write {{ and }} for braces)"
            )
            raise ValueError(msg)
        names.append(name)
    return names


class Template(Strict):
    """Text with `{property}` placeholders filled from the contact (empty ones as "")."""

    template: str

    @field_validator("template")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            names = template_names(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        if not names:
            msg = "a template needs at least one {property} placeholder"
            raise ValueError(msg)
        return value


class SplitName(Strict):
    """One part of a full name (`first`: given and middle names; `last`: the family name)."""

    split_name: Literal["first", "last"]


class PhoneOptions(Strict):
    region: str

    @field_validator("region")
    @classmethod
    def _country(cls, value: str) -> str:
        if not (len(value) == 2 and value.isascii() and value.isalpha()):
            msg = f"region {value!r} is not a two-letter country code (such as SE or DE)"
            raise ValueError(msg)
        return value.upper()


class Phone(Strict):
    """E.164 phone numbers; `region` is the country of numbers written without `+`."""

    phone_e164: PhoneOptions


SimpleName = Literal["strip", "lower", "upper", "country_code", "phone_e164", "date", "datetime"]


def _unknown_transform(value: Any) -> Any:
    if isinstance(value, str):
        if value in _USAGE:
            msg = f"transform '{value}' needs an argument: write it as {_USAGE[value]}"
        else:
            msg = f"unknown transform '{value}'" + did_you_mean(value, ALL_TRANSFORMS)
            msg += f" (known: {', '.join(ALL_TRANSFORMS)})"
        raise ValueError(msg)
    if isinstance(value, dict):
        heads = [k for k in value if k in ARGUMENT_TRANSFORMS]
        if len(heads) > 1:
            msg = f"one transform per list item, not {', '.join(map(str, heads))} together"
            raise ValueError(msg)
        key = next(iter(value), "")
        hint = did_you_mean(str(key), ALL_TRANSFORMS)
        msg = f"unknown transform '{key}'{hint} (known: {', '.join(ALL_TRANSFORMS)})"
        raise ValueError(msg)
    msg = f"a transform is a name (strip) or name: argument (truncate: 80), not {value!r}"
    raise ValueError(msg)


def _transform_tag(value: Any) -> str:
    if isinstance(value, BaseModel):
        return f"transform[{type(value).__name__}]"
    if isinstance(value, str):
        return "transform[name]" if value in SIMPLE_TRANSFORMS else "transform[?]"
    if isinstance(value, dict):
        heads = [k for k in value if k in ARGUMENT_TRANSFORMS]
        if "map" in heads and "default" in heads:
            heads.remove("default")
        if len(heads) == 1:
            return {
                "truncate": "transform[Truncate]",
                "map": "transform[MapValues]",
                "default": "transform[Default]",
                "concat": "transform[Concat]",
                "template": "transform[Template]",
                "split_name": "transform[SplitName]",
                "phone_e164": "transform[Phone]",
            }[heads[0]]
    return "transform[?]"


Transform = Annotated[
    Annotated[SimpleName, Tag("transform[name]")]
    | Annotated[Truncate, Tag("transform[Truncate]")]
    | Annotated[MapValues, Tag("transform[MapValues]")]
    | Annotated[Default, Tag("transform[Default]")]
    | Annotated[Concat, Tag("transform[Concat]")]
    | Annotated[Template, Tag("transform[Template]")]
    | Annotated[SplitName, Tag("transform[SplitName]")]
    | Annotated[Phone, Tag("transform[Phone]")]
    | Annotated[Any, AfterValidator(_unknown_transform), Tag("transform[?]")],
    Discriminator(_transform_tag),
]


def is_source(spec: object) -> TypeGuard[Concat | Template]:
    """Whether a transform builds the value from several properties (concat, template)."""
    return isinstance(spec, Concat | Template)


def source_properties(spec: Any) -> list[str]:
    """The contact properties a concat or template reads."""
    if isinstance(spec, Concat):
        return list(spec.concat)
    if isinstance(spec, Template):
        return template_names(spec.template)
    return []


# -- fields ----------------------------------------------------------------------------------
class FieldMap(Strict):
    """One HubSpot contact property ↔ one Salesforce Lead field."""

    hubspot: str | None = None
    salesforce: str
    direction: Direction = "to_salesforce"
    conflict: Conflict | None = None
    transform: list[Transform] = []
    reverse: list[Transform] | None = None
    required: bool = False
    # The Contact field a converted person's value goes to (Salesforce's own Lead → Contact
    # mapping for standard fields when not given); `false`: the value stays on the Lead.
    contact: Annotated[Literal[False] | Text | None, Field(union_mode="left_to_right")] = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldMap:
        sources = [t for t in self.transform if is_source(t)]
        if sources and (len(sources) > 1 or not is_source(self.transform[0])):
            msg = "concat and template build the value, so one of them comes first and alone"
            raise ValueError(msg)
        if sources and self.direction != "to_salesforce":
            msg = (
                "a value built from several properties (concat, template) can only go "
                "to_salesforce: there is no one property to write back"
            )
            raise ValueError(msg)
        if not sources and not self.hubspot:
            msg = "give `hubspot` (the contact property), or build the value with concat/template"
            raise ValueError(msg)
        if self.direction == "both" and self.conflict is None:
            msg = (
                "a field synced both ways needs a `conflict` rule for when both sides changed "
                f"({', '.join(CONFLICTS)})"
            )
            raise ValueError(msg)
        if self.reverse is not None and self.direction != "both":
            msg = "`reverse` (the transforms on the way back to HubSpot) is for direction: both"
            raise ValueError(msg)
        if self.reverse is not None and any(is_source(t) for t in self.reverse):
            msg = "concat and template cannot be used in `reverse`"
            raise ValueError(msg)
        if self.direction == "both" and self.reverse is None:
            for spec in self.transform:
                if isinstance(spec, MapValues):
                    problem = _not_invertible(spec)
                    if problem:
                        msg = (
                            f"this field is synced both ways and its map cannot be turned "
                            f"around ({problem}): give `reverse` with the map back to HubSpot"
                        )
                        raise ValueError(msg)
        return self

    @property
    def contact_field(self) -> str | None:
        """The Contact field this value goes to once the Lead is converted, if any."""
        if self.contact is False:
            return None
        return self.contact or CONTACT_FIELDS.get(self.salesforce)

    @property
    def effective_conflict(self) -> Conflict:
        """The conflict rule, or the one-way default (the side the value comes from wins)."""
        return self.conflict or DEFAULT_CONFLICT[self.direction]

    @property
    def to_salesforce(self) -> bool:
        return self.direction in ("to_salesforce", "both")

    @property
    def to_hubspot(self) -> bool:
        return self.direction in ("to_hubspot", "both")

    def properties_read(self) -> list[str]:
        """The contact properties this field reads."""
        names = [self.hubspot] if self.hubspot else []
        for spec in self.transform:
            names += source_properties(spec)
        return names


def _not_invertible(spec: MapValues) -> str | None:
    if spec.has_default:
        return "its default sends many values to one"
    seen: dict[str | None, str] = {}
    for key, value in spec.map.items():
        if value is None:
            return f"'{key}' clears the field"
        if value in seen:
            return f"'{seen[value]}' and '{key}' both give '{value}'"
        seen[value] = key
    return None


# -- which contacts sync -----------------------------------------------------------------------
OPERATORS = ("equals", "in", "not_in", "is_set", "matches")


class Condition(Strict):
    """One test of a contact property: exactly one of equals, in, not_in, is_set, matches.

    equals/in/not_in compare case-insensitively (as HubSpot's search does); `matches` is a
    regular expression searched in the value (anchor it with ^…$ for the whole value).
    """

    property: str
    equals: Text | None = None
    in_: Annotated[list[Text], Field(min_length=1)] | None = Field(None, alias="in")
    not_in: Annotated[list[Text], Field(min_length=1)] | None = None
    is_set: bool | None = None
    matches: str | None = None

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                msg = f"not a regular expression: {exc}"
                raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [op for op in OPERATORS if self.operand(op) is not None]
        if len(given) != 1:
            what = "none" if not given else ", ".join(given)
            msg = f"a condition takes exactly one of {', '.join(OPERATORS)} (got {what})"
            raise ValueError(msg)
        return self

    def operand(self, operator: str) -> Any:
        return self.in_ if operator == "in" else getattr(self, operator)

    @builtins.property  # the field `property` shadows the builtin in this class's body
    def operator(self) -> str:
        return next(op for op in OPERATORS if self.operand(op) is not None)

    def describe(self) -> str:
        op = self.operator
        value = self.operand(op)
        if op == "is_set":
            return f"{self.property} is {'set' if value else 'empty'}"
        if op in ("in", "not_in"):
            return f"{self.property} {op.replace('_', ' ')} [{', '.join(value)}]"
        return f"{self.property} {op} {value!r}"


def _domain(value: str) -> str:
    domain = value.strip().lower().removeprefix("@").removeprefix("*.")
    if not domain or "@" in domain or " " in domain or "." not in domain:
        msg = f"{value!r} is not an email domain (such as rival.example)"
        raise ValueError(msg)
    return domain


Domain = Annotated[str, AfterValidator(_domain)]


class Exclude(Strict):
    """Contacts that never sync, even when qualified."""

    #: Email domains (and their subdomains) of competitors.
    competitor_domains: list[Domain] = []
    #: Test addresses: patterns on the email (`*` any text, `?` one character), any case.
    test_addresses: list[Annotated[str, AfterValidator(str.lower)]] = []
    #: Marketing consent: contacts for whom this condition does not hold are excluded.
    consent: Condition | None = None
    #: Any other exclusion: contacts for whom any of these holds are excluded.
    conditions: list[Condition] = []


class Include(Strict):
    """Which contacts become Leads: lifecycle stage at least `min_stage`, or score at least
    `min_score`; and every one of `conditions`; and none of `exclude`."""

    lifecycle_property: str = "lifecyclestage"
    stages: list[Text] = list(DEFAULT_STAGES)
    min_stage: Text = "marketingqualifiedlead"
    score_property: str | None = "hubspotscore"
    min_score: float | None = None
    conditions: list[Condition] = []
    exclude: Exclude = Exclude()

    @field_validator("min_stage")
    @classmethod
    def _known_stage(cls, value: str, info: Any) -> str:
        stages = info.data.get("stages") or DEFAULT_STAGES
        if value not in stages:
            msg = f"min_stage {value!r} is not one of stages {list(stages)}"
            raise ValueError(msg + did_you_mean(value, list(stages)))
        return value

    def properties_read(self) -> list[str]:
        """Every contact property the inclusion rules look at."""
        names = [self.lifecycle_property, "email"]
        if self.score_property:
            names.append(self.score_property)
        conditions = [*self.conditions, *self.exclude.conditions]
        if self.exclude.consent is not None:
            conditions.append(self.exclude.consent)
        names += [c.property for c in conditions]
        return list(dict.fromkeys(names))


class WriteBack(Strict):
    """HubSpot contact properties that receive the Salesforce ids."""

    lead_id: str = "salesforceleadid"
    contact_id: str = "salesforcecontactid"


class AfterHandoff(Strict):
    """A contact whose Lead sales has, and which no longer qualifies (its score fell, consent
    withdrawn): never taken away from sales; reported in `report_property` (null: the audit log
    only) and, per `when_unqualified`, its changes still synced (`keep_syncing`) or held back
    until it qualifies again (`pause`). A contact sales rejected is not reported."""

    when_unqualified: Literal["keep_syncing", "pause"] = "keep_syncing"
    report_property: str | None = "sales_handoff_warning"


class SalesforceRemovals(Strict):
    """What a contact shows when sales deletes or merges its Lead or Contact in Salesforce
    (read by the `salesforce.leads` stream): its Salesforce id property is cleared (a merge:
    rewritten to the record it was merged into) and `status_property` (null: none) says
    `deleted`, or `merged` when it was merged into a record another contact is linked to.
    A contact showing either is not sent to Salesforce again until a person clears it."""

    status_property: str | None = "leadbridge_salesforce_status"
    deleted: Text = "deleted in Salesforce"
    merged: Text = "merged in Salesforce into another contact's record"

    def held_out(self, properties: Mapping[str, str | None]) -> str | None:
        """Why a contact is not sent to Salesforce (its record was removed there), or None."""
        prop = self.status_property
        value = (properties.get(prop) or "").strip() if prop else ""
        if value and value in (self.deleted, self.merged):
            return (
                f"its Salesforce record was removed there ({prop} is {value!r}); clear {prop} to "
                "send it again"
            )
        return None


class Flag(Strict):
    """How a Lead is marked for a person to look at (a duplicate left after a merge, or a
    deleted contact's Lead): `field` set to `value` (a status, or a checkbox's `true`)."""

    field: str = "Status"
    value: Text = "Closed - Not Converted"


class MergesAndDeletions(Strict):
    """What HubSpot contact merges and deletions (`contact.merge`, `contact.deletion`) do to
    their Leads. After a merge the surviving contact keeps one Lead; a second Lead (both
    contacts had one) is merged into it in Salesforce (`merge`) or flagged (`flag`), never left
    silently. A deleted contact's Lead is left as it is (`leave`), flagged, or deleted (to the
    Recycle Bin); either way it is unlinked, so the person, created again, links afresh."""

    on_duplicate_after_merge: Literal["merge", "flag"] = "flag"
    on_contact_deleted: Literal["leave", "flag", "delete"] = "leave"
    flag: Flag = Flag()


class LeadMapping(Strict):
    """`mappings/lead.yaml`."""

    include: Include = Include()
    fields: Annotated[list[FieldMap], Field(min_length=1)]
    writeback: WriteBack = WriteBack()
    after_handoff: AfterHandoff = AfterHandoff()
    salesforce_removals: SalesforceRemovals = SalesforceRemovals()
    merges_and_deletions: MergesAndDeletions = MergesAndDeletions()

    def structure_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Checks across fields, each at the key it is about: a Salesforce field or HubSpot
        property written by two fields would flip between their values on every pass."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        to_sf: dict[str, int] = {}
        to_hs: dict[str, int] = {}
        writeback = {self.writeback.lead_id, self.writeback.contact_id}
        for index, f in enumerate(self.fields):
            if f.to_salesforce:
                if f.salesforce in to_sf:
                    problems.append(
                        (
                            ("fields", index, "salesforce"),
                            f"Salesforce field '{f.salesforce}' is already written by "
                            f"fields.{to_sf[f.salesforce]}; one field, one source",
                        )
                    )
                to_sf.setdefault(f.salesforce, index)
            if f.to_hubspot and f.hubspot:
                if f.hubspot in to_hs:
                    problems.append(
                        (
                            ("fields", index, "hubspot"),
                            f"HubSpot property '{f.hubspot}' is already written by "
                            f"fields.{to_hs[f.hubspot]}; one property, one source",
                        )
                    )
                if f.hubspot in writeback:
                    problems.append(
                        (
                            ("fields", index, "hubspot"),
                            f"HubSpot property '{f.hubspot}' receives the Salesforce ids "
                            "(writeback); it cannot also be written from a field",
                        )
                    )
                to_hs.setdefault(f.hubspot, index)
        return problems


def load_lead_mapping(directory: str | Path) -> LeadMapping:
    """`DIR/lead.yaml`, validated."""
    return load_file(Path(directory) / "lead.yaml", LeadMapping)
