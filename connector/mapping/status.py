"""The schema of `mappings/status.yaml`: what HubSpot shows for each Salesforce Lead status.

Sales works a Lead in Salesforce; marketing sees the outcome in HubSpot. For each Lead `Status`
the file names its `kind` (open, accepted, rejected, or converted: left to conversion), the
`hs_lead_status` option, optionally a lifecycle stage, Lead fields copied to contact
properties (the rejection reason, the owner), and HubSpot lists the contact leaves (marketing's
nurture lists, once sales has the lead). Loaded only through
`connector.files.loader.load_file`, so every problem reads `mappings/status.yaml:LINE:COL: ...`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from connector.files.loader import load_file
from connector.files.strict import Strict
from connector.files.suggest import did_you_mean
from connector.mapping.model import DEFAULT_STAGES, Text

Kind = Literal["open", "accepted", "rejected", "converted"]

#: A Salesforce field API name (`OwnerId`, `Rejection_Reason__c`), or a field of a related
#: record through its relationship (`Owner.Email`; up to five levels, as SOQL allows).
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*){0,4}")
#: A HubSpot property internal name (`sales_rejection_reason`).
_PROPERTY = re.compile(r"[a-z][a-z0-9_]*")


def _field(value: str) -> str:
    if not _FIELD.fullmatch(value):
        msg = (
            f"{value!r} is not a Salesforce field name (such as Rejection_Reason__c, or "
            "Owner.Email for a related record's field)"
        )
        raise ValueError(msg)
    return value


def _property(value: str) -> str:
    if not _PROPERTY.fullmatch(value):
        msg = f"{value!r} is not a HubSpot property name (lower-case letters, digits and _)"
        raise ValueError(msg)
    return value


def _list_ref(value: str) -> str:
    text = value.strip()
    if not text:
        msg = "a list is named by its id (digits only, such as 12) or by its name, not blank"
        raise ValueError(msg)
    return text


FieldName = Annotated[str, AfterValidator(_field)]
PropertyName = Annotated[str, AfterValidator(_property)]
#: A HubSpot contact list: its id when it is only digits (`12`, as in the list's URL), else its
#: name (`Prospect nurture`, matched by HubSpot without regard to case).
ListRef = Annotated[Text, AfterValidator(_list_ref)]
#: Lead field -> contact property.
Copies = dict[FieldName, PropertyName]


def _twice(target: str, first: str) -> str:
    return f"HubSpot property '{target}' is already written by {first}; one property, one source"


class StatusRule(Strict):
    """What HubSpot gets while a Lead has one status."""

    kind: Kind
    lead_status: Text | None = None
    lifecycle_stage: Text | None = None
    copy_: Copies = Field(default_factory=dict, alias="copy")
    #: HubSpot lists the contact is taken out of (ids or names).
    leave_lists: list[ListRef] = Field(default_factory=list)
    #: A contact property that gets the moment the Lead first had this status (its
    #: LastModifiedDate then), written once: when the property is still empty.
    stamp: PropertyName | None = None

    @model_validator(mode="after")
    def _converted_writes_nothing(self) -> StatusRule:
        given = [
            key
            for key, value in (
                ("lead_status", self.lead_status),
                ("lifecycle_stage", self.lifecycle_stage),
                ("copy", self.copy_),
                ("leave_lists", self.leave_lists),
                ("stamp", self.stamp),
            )
            if value
        ]
        if self.kind == "converted" and given:
            msg = (
                "a converted Lead is mirrored by conversion (conversion.yaml), so kind: converted "
                f"takes no {', '.join(given)}"
            )
            raise ValueError(msg)
        return self


class StatusMapping(Strict):
    """`mappings/status.yaml`."""

    lead_status_property: PropertyName = "hs_lead_status"
    lifecycle_property: PropertyName = "lifecyclestage"
    #: The portal's lifecycle stages in order: which way a stage change moves.
    stages: Annotated[list[Text], Field(min_length=1)] = list(DEFAULT_STAGES)
    #: Copied for every status but converted ones (each status may add its own).
    copy_: Copies = Field(default_factory=lambda: {"OwnerId": "salesforce_owner_id"}, alias="copy")
    #: Lists every `accepted` status leaves (each status may add its own `leave_lists`).
    accepted_leave_lists: list[ListRef] = Field(default_factory=list)
    statuses: Annotated[dict[Text, StatusRule], Field(min_length=1)]

    def structure_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Stages that are not in `stages`; a contact property two sources would both write;
        lists for accepted statuses when no status is accepted."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        shared = {self.lead_status_property: "lead_status", self.lifecycle_property: "stage"}
        for source, target in self.copy_.items():
            if target in shared:
                problems.append((("copy", source), _twice(target, shared[target])))
            shared.setdefault(target, f"copy.{source}")
        for status, rule in self.statuses.items():
            stage = rule.lifecycle_stage
            if stage is not None and stage not in self.stages:
                problems.append(
                    (
                        ("statuses", status, "lifecycle_stage"),
                        f"{stage!r} is not one of stages {self.stages}"
                        + did_you_mean(stage, self.stages),
                    )
                )
            own = dict(shared)
            for source, target in rule.copy_.items():
                if target in own and own[target] != f"copy.{source}":
                    problems.append(
                        (("statuses", status, "copy", source), _twice(target, own[target]))
                    )
                own.setdefault(target, f"statuses.{status}.copy.{source}")
        if self.accepted_leave_lists and not any(
            rule.kind == "accepted" for rule in self.statuses.values()
        ):
            problems.append(
                (
                    ("accepted_leave_lists",),
                    "no status has kind: accepted, so no contact would ever leave these lists",
                )
            )
        return problems

    def rule(self, status: str | None) -> StatusRule | None:
        return self.statuses.get(status) if status else None

    def copies(self, rule: StatusRule) -> dict[str, str]:
        """Lead field -> contact property for a status: the shared copies and its own."""
        if rule.kind == "converted":
            return {}
        return {**self.copy_, **rule.copy_}

    def leave_lists(self, rule: StatusRule) -> tuple[str, ...]:
        """The lists (ids or names, as written) a contact leaves while its Lead has this status:
        `accepted_leave_lists` for an accepted status, then the status's own, each once."""
        shared = self.accepted_leave_lists if rule.kind == "accepted" else []
        return tuple(dict.fromkeys([*shared, *rule.leave_lists]))

    def list_refs(self) -> list[str]:
        """Every list the file names, each once: what a pass resolves (names to ids) up front."""
        refs = [*self.accepted_leave_lists]
        for rule in self.statuses.values():
            refs += rule.leave_lists
        return list(dict.fromkeys(refs))

    def returned(self) -> tuple[str, frozenset[str]]:
        """(contact property, values) that show sales gave a lead back: the `lead_status` of
        every rejected status."""
        values = {
            rule.lead_status
            for rule in self.statuses.values()
            if rule.kind == "rejected" and rule.lead_status
        }
        return self.lead_status_property, frozenset(values)

    def lead_fields(self) -> list[str]:
        """Every Lead field the mapping reads (the status first)."""
        names = ["Status", *self.copy_]
        for rule in self.statuses.values():
            names += list(rule.copy_)
            if rule.stamp:
                names.append("LastModifiedDate")
        return list(dict.fromkeys(names))


def load_status_mapping(directory: str | Path) -> StatusMapping:
    """`DIR/status.yaml`, validated."""
    return load_file(Path(directory) / "status.yaml", StatusMapping)
