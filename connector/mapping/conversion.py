"""The schema of `mappings/conversion.yaml`: what counts as sales qualified (SQL), what a Lead
becomes (Account, Contact, Opportunity), and what the opportunity is called and set to.

SQL is a HubSpot lifecycle stage (`hubspot_stage`), a Salesforce Lead status
(`salesforce_status`), either or both (`sql_when`). A SQL Lead is converted with
`converted_status`; HubSpot then shows `converted_stage`. Loaded only through
`connector.files.loader.load_file`, so every problem reads `conversion.yaml:LINE:COL: ...`.
The `check_*` functions compare the file with the org (LeadStatus values, Opportunity stages,
contact properties) when a pass starts, before anything is written.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from connector.errors import MappingError
from connector.files.loader import load_file
from connector.files.strict import Strict
from connector.files.suggest import did_you_mean
from connector.mapping.model import DEFAULT_STAGES, Text

#: What an opportunity name may contain: the Lead's Company and LeadSource, the month (YYYY-MM).
PLACEHOLDERS = ("company", "lead_source", "month")
#: Which side says a contact is sales qualified: the HubSpot stage, the Lead status, or both.
SqlWhen = Literal["hubspot_stage", "salesforce_status", "either", "both"]

Problems = list[tuple[tuple[str | int, ...], str]]


def _one_or_many(value: Any) -> Any:
    """`salesforce_status: Qualified` means the list `[Qualified]`."""
    return [value] if isinstance(value, str | int | float | bool) else value


class OpportunityRule(Strict):
    """Whether conversion creates an opportunity, its name, and the stage, close date and
    amount leadbridge sets on it right after (convertLead itself takes only the name)."""

    create: bool = True
    name: Text = "{company} – {lead_source} – {month}"
    stage: Text | None = None
    close_days: Annotated[int | None, Field(ge=0, le=3650)] = None
    amount_property: Text | None = None

    @field_validator("name")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = [field for _, field, _, _ in string.Formatter().parse(value) if field]
        except ValueError as exc:
            msg = f"not a valid name template ({exc}); write a literal brace as {{{{ or }}}}"
            raise ValueError(msg) from None
        unknown = [n for n in names if n not in PLACEHOLDERS]
        if unknown:
            msg = f"unknown placeholder {{{unknown[0]}}}; use " + ", ".join(
                f"{{{p}}}" for p in PLACEHOLDERS
            )
            raise ValueError(msg)
        return value

    @property
    def sets_fields(self) -> bool:
        """Whether a new opportunity gets an update after conversion (stage, close, amount)."""
        return self.create and (
            self.stage is not None
            or self.close_days is not None
            or self.amount_property is not None
        )

    def render(self, *, company: str | None, lead_source: str | None, month: str) -> str:
        return self.name.format(company=company or "", lead_source=lead_source or "", month=month)


class ConversionMapping(Strict):
    """`mappings/conversion.yaml`."""

    hubspot_stage: Text = "salesqualifiedlead"
    #: The portal's lifecycle stages in order: a contact at `hubspot_stage` or any later one
    #: is sales qualified (HubSpot often moves a contact straight on to opportunity).
    stages: Annotated[list[Text], Field(min_length=1)] = list(DEFAULT_STAGES)
    salesforce_status: Annotated[tuple[Text, ...], BeforeValidator(_one_or_many)] = ()
    sql_when: SqlWhen = "hubspot_stage"
    lifecycle_property: Text = "lifecyclestage"
    converted_stage: Text = "opportunity"
    converted_status: Text = "Closed - Converted"
    # Who owns what a queue-owned Lead converts into (Salesforce requires a user): `integration`
    # (leadbridge's own user), a user id (005...), or null to let Salesforce refuse it.
    queue_lead_owner: str | None = "integration"
    opportunity: OpportunityRule = Field(default_factory=OpportunityRule)

    @property
    def uses_stage(self) -> bool:
        """Whether the HubSpot stage takes part in deciding SQL."""
        return self.sql_when != "salesforce_status"

    @property
    def sql_stages(self) -> tuple[str, ...]:
        """`hubspot_stage` and every later stage (none when it is not in `stages`: a
        structure problem)."""
        if self.hubspot_stage not in self.stages:
            return ()
        return tuple(self.stages[self.stages.index(self.hubspot_stage) :])

    @property
    def uses_status(self) -> bool:
        """Whether the Salesforce Lead status takes part in deciding SQL."""
        return self.sql_when != "hubspot_stage"

    def structure_problems(self) -> Problems:
        """`sql_when` and `salesforce_status` agree; SQL is not the converted status; the
        opportunity keys need an opportunity."""
        problems: Problems = []
        if self.hubspot_stage not in self.stages:
            problems.append(
                (
                    ("hubspot_stage",),
                    f"{self.hubspot_stage!r} is not one of stages {self.stages}"
                    + did_you_mean(self.hubspot_stage, self.stages),
                )
            )
        if self.uses_status and not self.salesforce_status:
            problems.append(
                (
                    ("sql_when",),
                    f"sql_when: {self.sql_when} needs salesforce_status (the Lead status that "
                    "means sales qualified)",
                )
            )
        if self.salesforce_status and not self.uses_status:
            problems.append(
                (
                    ("salesforce_status",),
                    "salesforce_status is set but sql_when is hubspot_stage (the default), so "
                    "it would be ignored; set sql_when to salesforce_status, either or both",
                )
            )
        for index, status in enumerate(self.salesforce_status):
            if status == self.converted_status:
                where: tuple[str | int, ...] = ("salesforce_status",)
                if len(self.salesforce_status) > 1:
                    where = ("salesforce_status", index)
                problems.append(
                    (
                        where,
                        f"{status!r} is the converted_status: a Lead with it is converted "
                        "already; name the status sales sets before conversion",
                    )
                )
        rule = self.opportunity
        if not rule.create:
            for key in ("stage", "close_days", "amount_property"):
                if getattr(rule, key) is not None:
                    problems.append(
                        (("opportunity", key), f"{key} needs an opportunity (create: true)")
                    )
        return problems


def load_conversion_mapping(directory: str | Path) -> ConversionMapping:
    """`DIR/conversion.yaml`, validated."""
    return load_file(Path(directory) / "conversion.yaml", ConversionMapping)


def check_converted_status(
    mapping: ConversionMapping, allowed: Sequence[str], *, source: str = "conversion.yaml"
) -> None:
    """MappingError naming `source` unless `converted_status` is one of the org's converted
    Lead statuses (the LeadStatus rows with `IsConverted`)."""
    if mapping.converted_status not in allowed:
        msg = (
            f"{source}: converted_status {mapping.converted_status!r} is not a converted Lead "
            f"status in Salesforce; use one of {sorted(allowed)}"
        )
        raise MappingError(msg)


def check_sql_statuses(
    mapping: ConversionMapping,
    statuses: Iterable[tuple[str, str, bool]],
    *,
    source: str = "conversion.yaml",
) -> tuple[str, ...]:
    """The Lead `Status` values (API names) that mean SQL, from the org's LeadStatus rows
    `(ApiName, MasterLabel, IsConverted)`; MappingError naming `source` for a
    `salesforce_status` that is no Lead status, or a converted one (such a Lead is converted
    already: it can never be converted by leadbridge)."""
    rows = list(statuses)
    open_labels = [label for _, label, converted in rows if not converted]
    values: list[str] = []
    for wanted in mapping.salesforce_status:
        row = next((r for r in rows if wanted in (r[0], r[1])), None)
        if row is None:
            msg = (
                f"{source}: salesforce_status {wanted!r} is not a Lead status in Salesforce; "
                f"use one of {open_labels}" + did_you_mean(wanted, open_labels)
            )
            raise MappingError(msg)
        if row[2]:
            msg = (
                f"{source}: salesforce_status {wanted!r} is a converted Lead status: a Lead "
                f"with it is converted already; use one of {open_labels}"
            )
            raise MappingError(msg)
        values.append(row[0] or row[1])
    return tuple(dict.fromkeys(values))


def check_opportunity_stage(
    mapping: ConversionMapping, stages: Sequence[str], *, source: str = "conversion.yaml"
) -> None:
    """MappingError naming `source` unless `opportunity.stage` is an active value of the
    org's Opportunity StageName picklist (Salesforce would refuse every update otherwise)."""
    stage = mapping.opportunity.stage
    if stage is None or stage in stages:
        return
    msg = (
        f"{source}: opportunity.stage {stage!r} is not an Opportunity stage in Salesforce; "
        f"use one of {list(stages)}" + did_you_mean(stage, stages)
    )
    raise MappingError(msg)


def check_amount_property(
    mapping: ConversionMapping, properties: Sequence[str], *, source: str = "conversion.yaml"
) -> None:
    """MappingError naming `source` unless `opportunity.amount_property` is a contact property
    (HubSpot leaves an unknown one out of its answers: every Amount would silently stay empty)."""
    name = mapping.opportunity.amount_property
    if name is None or name in properties:
        return
    msg = (
        f"{source}: opportunity.amount_property {name!r} is not a HubSpot contact property"
        + did_you_mean(name, properties)
    )
    raise MappingError(msg)
