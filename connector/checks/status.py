"""status.yaml against the live schemas: the statuses are Lead Status values, the copied Lead
fields (and relationship paths such as `Owner.Email`) exist, the contact properties copies and
stamps write can be written, and the lists to leave are static lists HubSpot knows.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.checks.findings import Findings, Loc, ordered
from connector.checks.snapshot import LiveSchema, Needs, walk_path
from connector.files.loader import Loaded, Problem
from connector.files.suggest import did_you_mean
from connector.mapping.status import StatusMapping
from connector.streams.leads.decide import is_list_id

#: What a stamp (the moment a Lead first had a status) may be written to.
STAMP_TYPES = ("datetime", "date")


def check_status(loaded: Loaded[StatusMapping], schema: LiveSchema) -> list[Problem]:
    """Every finding about status.yaml against `schema`, in file order."""
    found = Findings(loaded)
    mapping = loaded.model
    status = schema.lead.get("Status")
    for name in mapping.statuses:
        if status is not None and status.picklist and name not in status.picklist:
            found.add(
                ("statuses", name),
                f"'{name}' is not a value of Salesforce's Lead Status picklist"
                f"{did_you_mean(name, status.picklist)} (values: {', '.join(status.picklist)})",
                at_key=True,
            )
    shared = "" if "copy_" in mapping.model_fields_set else " (copied when no `copy` is given)"
    _status_copies(found, schema, mapping.copy_, ("copy",), note=shared)
    for name, rule in mapping.statuses.items():
        _status_copies(found, schema, rule.copy_, ("statuses", name, "copy"))
        why = _unwritable(schema, rule.stamp, STAMP_TYPES) if rule.stamp else None
        if why is not None:
            found.add(("statuses", name, "stamp"), why)
    for index, ref in enumerate(mapping.accepted_leave_lists):
        _list(found, schema, ref, ("accepted_leave_lists", index))
    for name, rule in mapping.statuses.items():
        for index, ref in enumerate(rule.leave_lists):
            _list(found, schema, ref, ("statuses", name, "leave_lists", index))
    return ordered(found.problems)


def _status_copies(
    found: Findings, schema: LiveSchema, copies: dict[str, str], at: Loc, *, note: str = ""
) -> None:
    """Each copied Lead field (or path) exists; each contact property can be written."""
    for source, target in copies.items():
        loc = (*at, source)
        finding = walk_path(source, schema.fields_of)
        if finding is not None and finding.unchecked is not None:
            found.unchecked(loc, f"describe of {finding.unchecked}", at_key=True)
        elif finding is not None:
            found.add(loc, f"{finding.message}{note}", at_key=True)
        why = _unwritable(schema, target)
        if why is not None:
            found.add(loc, f"{why}{note}")


def _list(found: Findings, schema: LiveSchema, ref: str, loc: Loc) -> None:
    """A list to leave: one HubSpot knows, of contacts, whose members the API may change."""
    if ref not in schema.lists:
        found.unchecked(loc, f"HubSpot list {ref!r}")
        return
    hs_list = schema.lists[ref]
    if hs_list is None:
        if is_list_id(ref):
            found.add(loc, f"HubSpot has no list with the id {ref}")
        else:
            found.add(
                loc,
                f"HubSpot has no contact list named '{ref}' (names are matched without regard "
                "to case; a list can also be named by its id, digits only)",
            )
        return
    what = f"HubSpot list '{hs_list.name}' (id {hs_list.list_id})"
    if hs_list.object_type_id != "0-1":
        found.add(loc, f"{what} is not a list of contacts (objectTypeId {hs_list.object_type_id})")
    elif hs_list.processing_type == "DYNAMIC":
        found.add(
            loc,
            f"{what} is DYNAMIC (an active list): HubSpot refuses to remove members of an "
            "active list; change its filters instead, or name a MANUAL or SNAPSHOT list",
        )
    elif hs_list.processing_type not in ("MANUAL", "SNAPSHOT"):
        found.add(
            loc,
            f"{what} has processingType {hs_list.processing_type!r}; only MANUAL and "
            "SNAPSHOT lists can be left",
        )


def _unwritable(schema: LiveSchema, name: str, types: Sequence[str] = ()) -> str | None:
    """Why leadbridge cannot write the contact property `name` (it does not exist, HubSpot
    sets it, or it has none of `types` when given); None when it can."""
    prop = schema.contact.get(name)
    if prop is None:
        return f"unknown HubSpot contact property '{name}'{did_you_mean(name, schema.contact)}"
    if prop.read_only or prop.calculated:
        why = "HubSpot calculates it" if prop.calculated else "HubSpot sets it"
        return f"HubSpot property '{name}' is read-only ({why}): it cannot be written"
    if types and prop.type not in types:
        return f"HubSpot property '{name}' is a {prop.type} property; it must be " + " or ".join(
            types
        )
    return None


def status_needs(status: StatusMapping) -> Needs:
    """What `check_status` reads beyond the Lead describe and the contact properties: the
    objects the copied paths reach, and the lists to leave."""
    paths = [source for source, _target in _copies(status) if "." in source]
    return Needs(paths=tuple(dict.fromkeys(paths)), list_refs=tuple(status.list_refs()))


def _copies(status: StatusMapping) -> list[tuple[str, str]]:
    """Every (Lead field, contact property) the file copies, shared ones first."""
    pairs = list(status.copy_.items())
    for rule in status.statuses.values():
        pairs += list(rule.copy_.items())
    return pairs
