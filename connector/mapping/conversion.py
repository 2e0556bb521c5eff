"""The schema of `mappings/conversion.yaml`: when a Lead becomes an Account, Contact and
Opportunity, and what the opportunity is called.

A HubSpot contact reaching `hubspot_stage` (sales qualified) has its linked Lead converted with
`converted_status`; HubSpot then shows `converted_stage`. Loaded only through
`connector.mapping.loader.load_file`, so every problem reads `conversion.yaml:LINE:COL: ...`.
`check_converted_status` compares the status with the org's converted LeadStatus values.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.errors import MappingError
from connector.mapping.loader import load_file
from connector.mapping.model import Text

#: What an opportunity name may contain: the Lead's Company and LeadSource, the month (YYYY-MM).
PLACEHOLDERS = ("company", "lead_source", "month")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpportunityRule(_Strict):
    """Whether conversion creates an opportunity, and its name. Salesforce's convertLead sets
    no stage or close date: a new opportunity gets the org's defaults."""

    create: bool = True
    name: Text = "{company} – {lead_source} – {month}"

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

    def render(self, *, company: str | None, lead_source: str | None, month: str) -> str:
        return self.name.format(company=company or "", lead_source=lead_source or "", month=month)


class ConversionMapping(_Strict):
    """`mappings/conversion.yaml`."""

    hubspot_stage: Text = "salesqualifiedlead"
    lifecycle_property: Text = "lifecyclestage"
    converted_stage: Text = "opportunity"
    converted_status: Text = "Closed - Converted"
    # Who owns what a queue-owned Lead converts into (Salesforce requires a user): `integration`
    # (leadbridge's own user), a user id (005...), or null to let Salesforce refuse it.
    queue_lead_owner: str | None = "integration"
    opportunity: OpportunityRule = Field(default_factory=OpportunityRule)


def load_conversion_mapping(directory: str | Path) -> ConversionMapping:
    """`DIR/conversion.yaml`, validated."""
    return load_file(Path(directory) / "conversion.yaml", ConversionMapping)


def check_converted_status(
    mapping: ConversionMapping, allowed: Sequence[str], *, source: str = "conversion.yaml"
) -> None:
    """MappingError naming `source` unless `converted_status` is one of the org's converted
    Lead statuses (`SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true`)."""
    if mapping.converted_status not in allowed:
        msg = (
            f"{source}: converted_status {mapping.converted_status!r} is not a converted Lead "
            f"status in Salesforce; use one of {sorted(allowed)}"
        )
        raise MappingError(msg)
