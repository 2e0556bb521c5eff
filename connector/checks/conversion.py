"""conversion.yaml against the live org: the statuses, the opportunity stage and the amount
property, with the same checks a conversion pass makes when it starts, each at its line.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from connector.checks.findings import Findings, Loc, ordered
from connector.checks.snapshot import LiveSchema, Needs
from connector.errors import MappingError
from connector.files.loader import Loaded, Problem
from connector.mapping.conversion import (
    ConversionMapping,
    check_amount_property,
    check_converted_status,
    check_opportunity_stage,
    check_sql_statuses,
)


def check_conversion(loaded: Loaded[ConversionMapping], schema: LiveSchema) -> list[Problem]:
    """Every finding about conversion.yaml against `schema`, in file order: the checks a
    conversion pass makes when it starts (`connector.mapping.conversion.check_*`), each at its
    line, and the amount property's type."""
    found = Findings(loaded)
    mapping = loaded.model
    source = str(loaded.path)
    statuses = schema.lead_statuses
    if statuses is None:
        found.unchecked(("converted_status",), "Lead statuses")
    else:
        rows = [s.as_row() for s in statuses]
        converted = [name for api, label, done in rows if done for name in (api, label)]
        _reported(
            found,
            ("converted_status",),
            source,
            lambda: check_converted_status(mapping, list(dict.fromkeys(converted)), source=source),
        )
        many = len(mapping.salesforce_status) > 1
        for index, wanted in enumerate(mapping.salesforce_status):
            one = mapping.model_copy(update={"salesforce_status": (wanted,)})
            _reported(
                found,
                ("salesforce_status", index) if many else ("salesforce_status",),
                source,
                partial(check_sql_statuses, one, rows, source=source),
            )
    rule = mapping.opportunity
    if rule.create and rule.stage is not None:
        opportunity = schema.fields_of("Opportunity")
        stage = opportunity.get("StageName") if opportunity is not None else None
        if stage is None:
            found.unchecked(("opportunity", "stage"), "describe of Opportunity")
        else:
            _reported(
                found,
                ("opportunity", "stage"),
                source,
                lambda: check_opportunity_stage(mapping, stage.picklist, source=source),
            )
    name = rule.amount_property
    if rule.create and name is not None:
        loc: Loc = ("opportunity", "amount_property")
        if _reported(
            found,
            loc,
            source,
            lambda: check_amount_property(mapping, list(schema.contact), source=source),
        ):
            prop = schema.contact[name]
            if prop.type != "number":
                found.add(
                    loc,
                    f"HubSpot property '{name}' is a {prop.type} property; the Amount needs a "
                    "number property",
                )
    return ordered(found.problems)


def _reported(found: Findings, loc: Loc, source: str, check: Callable[[], Any]) -> bool:
    """Run one of conversion's checks; its MappingError becomes a finding at `loc` (its
    message without the file name, led by the key it is about). True when it passed."""
    try:
        check()
    except MappingError as exc:
        message = str(exc).removeprefix(f"{source}: ").removeprefix("conversion.yaml: ")
        key = ".".join(str(p) for p in loc if not isinstance(p, int))
        message = message.removeprefix(f"{key} ")
        found.add(loc, message)
        return False
    return True


def conversion_needs(conversion: ConversionMapping) -> Needs:
    """What `check_conversion` reads beyond the Lead describe and the contact properties: the
    org's Lead statuses, and the Opportunity describe when a stage is set."""
    rule = conversion.opportunity
    wants_stage = rule.create and rule.stage is not None
    return Needs(lead_statuses=True, objects=("Opportunity",) if wants_stage else ())
