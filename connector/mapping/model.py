"""The schema of `mappings/lead.yaml`: every key known, every unknown key an error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Truncate(_Strict):
    truncate: Annotated[int, Field(ge=1)]


SIMPLE_TRANSFORMS = ("strip", "lower", "upper")


def _known_transform(value: Any) -> Any:
    if isinstance(value, str) and value not in SIMPLE_TRANSFORMS:
        msg = f"unknown transform {value!r} (known: {', '.join(SIMPLE_TRANSFORMS)}, truncate: N)"
        raise ValueError(msg)
    return value


Transform = Annotated[
    Literal["strip", "lower", "upper"] | Truncate, BeforeValidator(_known_transform)
]


class FieldMap(_Strict):
    """One HubSpot contact property → one Salesforce Lead field."""

    hubspot: str
    salesforce: str
    transform: list[Transform] = []
    default: str | None = None


class Include(_Strict):
    """Which contacts become Leads: lifecycle stage at least `min_stage`, or score at least."""

    lifecycle_property: str = "lifecyclestage"
    stages: list[str] = list(DEFAULT_STAGES)
    min_stage: str = "marketingqualifiedlead"
    score_property: str | None = "hubspotscore"
    min_score: float | None = None

    @field_validator("min_stage")
    @classmethod
    def _known_stage(cls, value: str, info: Any) -> str:
        stages = info.data.get("stages") or DEFAULT_STAGES
        if value not in stages:
            msg = f"min_stage {value!r} is not one of stages {list(stages)}"
            raise ValueError(msg)
        return value


class WriteBack(_Strict):
    """HubSpot contact properties that receive the Salesforce ids."""

    lead_id: str = "salesforceleadid"
    contact_id: str = "salesforcecontactid"


class LeadMapping(_Strict):
    """`mappings/lead.yaml`."""

    include: Include = Include()
    fields: Annotated[list[FieldMap], Field(min_length=1)]
    writeback: WriteBack = WriteBack()
