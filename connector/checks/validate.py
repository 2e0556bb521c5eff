"""The mapping files of a directory against the live schemas (`connector.checks.snapshot`): one
module per file checks it (`lead`, `status`, `conversion`, `routing`, `privacy`), and this one
runs them in one order and says what they need fetched, for `mappings validate` and the check
before every pass alike.

Each finding is a `Problem` at the line it is about. Errors fail validation; warnings
(`truncate` longer than the field, values an unrestricted picklist does not list, a default
Contact field the org lacks, an inactive round-robin user, what an offline cache cannot tell)
do not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from connector.checks.conversion import check_conversion, conversion_needs
from connector.checks.lead import check
from connector.checks.mapping_files import (
    ALL,
    CONVERSION,
    LEAD,
    PRIVACY,
    ROUTING,
    SLA,
    STATUS,
    MappingFiles,
)
from connector.checks.privacy import check_privacy
from connector.checks.routing import check_routing, routing_needs
from connector.checks.sla import check_sla
from connector.checks.snapshot import LiveSchema, Needs
from connector.checks.status import check_status, status_needs
from connector.files.loader import Problem
from connector.mapping.conversion import ConversionMapping
from connector.mapping.status import StatusMapping
from connector.routing.config import RoutingConfig


def check_files(
    files: MappingFiles,
    schema: LiveSchema,
    *,
    external_id_field: str,
    names: Sequence[str] = ALL,
) -> list[Problem]:
    """Every finding about the loaded files among `names` against `schema`, file by file (in
    `ALL` order), each in file order: the one check `mappings validate` runs and the check
    before every pass (`connector.checks.precheck`) runs, so both say the same words."""
    problems: list[Problem] = []
    lead = files.lead
    if lead is not None and LEAD in names:
        problems += check(lead, schema, external_id_field=external_id_field)
    others: tuple[tuple[str, Callable[[Any, LiveSchema], list[Problem]]], ...] = (
        (ROUTING, check_routing),
        (STATUS, check_status),
        (CONVERSION, check_conversion),
        (PRIVACY, check_privacy),
    )
    for name, checker in others:
        loaded = files.loaded.get(name)
        if loaded is not None and name in names:
            problems += checker(loaded, schema)
    sla = files.loaded.get(SLA)
    if sla is not None and SLA in names:
        problems += check_sla(sla, routing=ROUTING in files.present)
    return problems


def files_needs(files: MappingFiles) -> Needs:
    """What the loaded files ask of the orgs beyond lead.yaml's two reads (`needs`)."""
    return needs(files.model(STATUS), files.model(CONVERSION), files.model(ROUTING))


def needs(
    status: StatusMapping | None = None,
    conversion: ConversionMapping | None = None,
    routing: RoutingConfig | None = None,
) -> Needs:
    """What `check_status`, `check_conversion` and `check_routing` read beyond the Lead and
    Contact describes and the contact properties, so `snapshot.fetch` asks for it (and nothing
    more): each file's module says what its check reads."""
    wanted = Needs()
    if status is not None:
        wanted |= status_needs(status)
    if conversion is not None:
        wanted |= conversion_needs(conversion)
    if routing is not None:
        wanted |= routing_needs(routing)
    return wanted
