"""The compiled lead plan: mapping a contact is a loop over plain functions, not YAML lookups."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connector.mapping.model import LeadMapping
from connector.mapping.transforms import Fn, chain


@dataclass(frozen=True)
class _Step:
    hubspot: str
    salesforce: str
    transform: Fn
    default: str | None


@dataclass(frozen=True)
class LeadPlan:
    """What `mappings/lead.yaml` says, ready to run."""

    mapping: LeadMapping
    steps: tuple[_Step, ...]

    @classmethod
    def compile(cls, mapping: LeadMapping) -> LeadPlan:
        steps = tuple(
            _Step(f.hubspot, f.salesforce, chain(f.transform), f.default) for f in mapping.fields
        )
        return cls(mapping, steps)

    def hubspot_properties(self) -> list[str]:
        """Every contact property a pass must read: mapped, inclusion and write-back ones."""
        include = self.mapping.include
        names = {
            "email",
            include.lifecycle_property,
            *(s.hubspot for s in self.steps),
            self.mapping.writeback.lead_id,
            self.mapping.writeback.contact_id,
        }
        if include.score_property:
            names.add(include.score_property)
        return sorted(names)

    def map(self, properties: dict[str, str | None]) -> dict[str, Any]:
        """Salesforce Lead field values for a contact's properties (None clears a field)."""
        out: dict[str, Any] = {}
        for step in self.steps:
            raw = properties.get(step.hubspot)
            value = step.transform(raw) if raw else raw
            out[step.salesforce] = value if value else step.default
        return out


def values_hash(values: dict[str, Any]) -> str:
    """A stable hash of the values we write, to recognise our own echo later."""
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
