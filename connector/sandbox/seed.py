"""Loading a seed file into a fresh org and portal.

Seed format (JSON; README.md documents it for admins)::

    {"hubspot": {"contacts": [{"id": "101", "properties": {...},
                               "associations": {"companies": ["201"]}}],
                 "companies": [...], "owners": [...],
                 "lists": [{"listId": "12", "name": "Prospect nurture",
                            "processingType": "MANUAL", "memberships": ["101"]}]},
     "salesforce": {"settings": {"leadAssignmentOwner": "@rr-queue"},
                    "LeadStatus": [{"MasterLabel": "Open", "IsDefault": true}],
                    "UserRole": [...], "Group": [...], "User": [...], "Account": [...],
                    "Contact": [...], "Lead": [...], "Opportunity": [...]}}

A Salesforce record may carry its `Id` (15 or 18 characters) or a seed-local name such as
`"@acme"`; any id or reference field may name a record by that `@` name. Records without an `Id`
get one in the object's shape. System fields (`CreatedDate`, `LastModifiedById`, ...) may be set;
the ones not given are set at load time, `...ById` to the integration user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.sandbox.http import lone_surrogate
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.salesforce.org import (
    INTEGRATION_USERNAME,
    Org,
    RecordError,
    RequestError,
)
from connector.sandbox.salesforce.schema import DEFAULT_LEAD_STATUSES

if TYPE_CHECKING:
    from connector.sandbox.app import SandboxConfig

#: Load order: a record's references point only to types loaded before it, or to its own type.
LOAD_ORDER = ("UserRole", "Group", "User", "Account", "Contact", "Opportunity", "Lead")


class SeedError(ValueError):
    """A seed the sandbox cannot load; the message names the object, the record and the field."""


def read_seed(path: str | Path) -> dict[str, Any]:
    """Parse a seed file, with the file name in any error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"{path}: cannot read seed: {exc}"
        raise SeedError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{path}: a seed is a JSON object with 'hubspot' and 'salesforce' keys"
        raise SeedError(msg)
    return data


def load_seed(seed: dict[str, Any], config: SandboxConfig) -> tuple[Org, Portal]:
    """A fresh org and portal holding the seed's records."""
    unknown = set(seed) - {"hubspot", "salesforce"}
    if unknown:
        msg = f"seed: unknown top-level keys {sorted(unknown)}; expected 'hubspot', 'salesforce'"
        raise SeedError(msg)
    _refuse_lone_surrogates(seed)
    org = _load_salesforce(seed.get("salesforce") or {}, config)
    return org, _load_hubspot(seed.get("hubspot") or {}, config)


def _refuse_lone_surrogates(seed: dict[str, Any]) -> None:
    """Refuse a seed holding a lone UTF-16 surrogate (`"\\ud800"` in the file), naming the
    record and field: stored, it would make every answer showing it unencodable."""
    try:
        json.dumps(seed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        where = lone_surrogate(seed, "seed")
        if where is not None:
            raise SeedError(where) from None
    except (TypeError, ValueError):
        return  # not JSON data at all: the loaders below say where


def _load_hubspot(data: Any, config: SandboxConfig) -> Portal:
    """The portal's records, then its lists (whose members must be records of the seed)."""
    try:
        return Portal.from_seed(data, config)
    except ValueError as exc:  # the messages already name the seed entry and field
        raise SeedError(str(exc)) from exc


def _load_salesforce(data: dict[str, Any], config: SandboxConfig) -> Org:
    org = Org(daily_api_limit=config.sf_daily_api_limit)
    unknown = set(data) - {*LOAD_ORDER, "LeadStatus", "settings"}
    if unknown:
        msg = f"seed.salesforce: unknown objects {sorted(unknown)}; known: {sorted(LOAD_ORDER)}"
        raise SeedError(msg)
    statuses = data.get("LeadStatus")
    if statuses:
        org.set_lead_statuses(
            tuple(
                (s["MasterLabel"], bool(s.get("IsConverted")), bool(s.get("IsDefault")))
                for s in statuses
            )
        )
    else:
        org.set_lead_statuses(DEFAULT_LEAD_STATUSES)

    names: dict[str, str] = {}
    users = list(data.get("User") or [])
    if not any(str(u.get("Username", "")).lower() == INTEGRATION_USERNAME for u in users):
        users.insert(
            0,
            {
                "Username": INTEGRATION_USERNAME,
                "FirstName": "leadbridge",
                "LastName": "Integration",
                "Email": INTEGRATION_USERNAME,
                "Alias": "integ",
                "IsActive": True,
            },
        )
    loaded: list[tuple[str, int, dict[str, Any]]] = []
    for sobject in LOAD_ORDER:
        rows = users if sobject == "User" else data.get(sobject) or []
        # Give every @name its id first, so records may point forward within a type.
        for row in rows:
            ref = row.get("Id")
            if isinstance(ref, str) and ref.startswith("@"):
                names[ref] = org.ids.new(sobject)
        for index, row in enumerate(rows):
            where = f"seed.salesforce.{sobject}[{index}]"
            if not isinstance(row, dict):
                msg = f"{where}: a record is a JSON object"
                raise SeedError(msg)
            values = {k: _resolve(v, names, where, k) for k, v in row.items()}
            values.setdefault("IsActive", True) if sobject == "User" else None
            try:
                record = org.load(sobject, values, user_id=None)
            except (RecordError, RequestError, ValueError) as exc:
                msg = f"{where}: {exc}"
                raise SeedError(msg) from exc
            loaded.append((sobject, index, record))

    integration = org.integration_user_id()
    for _sobject, _index, record in loaded:
        for key in ("CreatedById", "LastModifiedById"):
            record[key] = record.get(key) or integration
        if record.get("OwnerId") is None and "OwnerId" in record:
            record["OwnerId"] = integration
    for sobject, index, record in loaded:
        try:
            org._validate(org.schema[sobject], record, changed=set(record))
        except RecordError as exc:
            fields = ", ".join(exc.errors[0].fields) or "record"
            msg = f"seed.salesforce.{sobject}[{index}] ({fields}): {exc}"
            raise SeedError(msg) from exc
    for user in org.records["User"].values():
        org.passwords[user["Username"].lower()] = config.sf_password

    settings = data.get("settings") or {}
    owner = settings.get("leadAssignmentOwner")
    if owner:
        org.assignment_owner_id = _owner_id(org, _resolve(owner, names, "settings", "owner"))
    return org


def _resolve(value: Any, names: dict[str, str], where: str, key: str) -> Any:
    if (
        isinstance(value, str)
        and value.startswith("@")
        and (key == "Id" or key.endswith("Id") or key.endswith("__c") or key == "owner")
    ):
        if value not in names:
            msg = f"{where}.{key}: no record is named {value!r} in the seed"
            raise SeedError(msg)
        return names[value]
    return value


def _owner_id(org: Org, value: str) -> str:
    found = org.find(value)
    if found:
        return found[1]["Id"]
    try:
        return org.user_by_username(value)["Id"]
    except KeyError:
        msg = f"seed.salesforce.settings.leadAssignmentOwner: no user or queue {value!r}"
        raise SeedError(msg) from None
