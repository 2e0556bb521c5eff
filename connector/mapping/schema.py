"""The live schemas a mapping is checked against: the Lead describe and the contact properties.

Fetched once through the gateways and cached in a JSON file with the time it was fetched, so
`mappings validate --offline` (and CI pipelines without credentials for the APIs) can check
against the last known schema, saying how old it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from connector.errors import ConfigError

CACHE_FORMAT = 1
CACHE_NAME = ".schema-cache.json"


@dataclass(frozen=True)
class SalesforceField:
    """What validation needs of one Lead field (from its describe)."""

    name: str
    label: str
    type: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    defaulted_on_create: bool = False
    calculated: bool = False
    external_id: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False

    @property
    def required_on_create(self) -> bool:
        """Salesforce refuses a new Lead without it (LastName, Company)."""
        return (
            not self.nillable
            and self.createable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )


@dataclass(frozen=True)
class HubSpotProperty:
    """What validation needs of one contact property (from the properties API)."""

    name: str
    label: str
    type: str  # string, number, date, datetime, enumeration, bool
    field_type: str = "text"
    options: tuple[str, ...] = ()
    read_only: bool = False
    calculated: bool = False


@dataclass(frozen=True)
class LiveSchema:
    """The Lead fields and contact properties, as fetched at `fetched_at` from `source`."""

    fetched_at: datetime
    lead: dict[str, SalesforceField]
    contact: dict[str, HubSpotProperty]
    source: dict[str, str] = field(default_factory=dict)

    def age(self, now: datetime | None = None) -> str:
        """How old the schema is, for people (`3 h 12 min`)."""
        seconds = int(((now or datetime.now(UTC)) - self.fetched_at).total_seconds())
        if seconds < 60:
            return f"{max(seconds, 0)} s"
        minutes = seconds // 60
        if minutes < 60:
            return f"{minutes} min"
        hours, minutes = divmod(minutes, 60)
        if hours < 48:
            return f"{hours} h {minutes} min"
        return f"{hours // 24} days"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "fetched_at": self.fetched_at.isoformat(),
            "source": self.source,
            "salesforce": {"Lead": [_dump(f) for f in self.lead.values()]},
            "hubspot": {"contacts": [_dump(p) for p in self.contact.values()]},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveSchema:
        if data.get("format") != CACHE_FORMAT:
            msg = f"unknown schema cache format {data.get('format')!r}"
            raise ValueError(msg)
        lead = [SalesforceField(**_tuples(f)) for f in data["salesforce"]["Lead"]]
        contact = [HubSpotProperty(**_tuples(p)) for p in data["hubspot"]["contacts"]]
        fetched = datetime.fromisoformat(data["fetched_at"])
        if fetched.tzinfo is None:
            msg = "fetched_at has no time zone"
            raise ValueError(msg)
        return cls(
            fetched_at=fetched.astimezone(UTC),
            lead={f.name: f for f in lead},
            contact={p.name: p for p in contact},
            source=dict(data.get("source") or {}),
        )


def _dump(item: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(item).items()}


def _tuples(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}


def lead_fields(describe: Mapping[str, Any]) -> dict[str, SalesforceField]:
    """The Lead fields of a describe answer."""
    out = {}
    for f in describe.get("fields") or []:
        out[f["name"]] = SalesforceField(
            name=f["name"],
            label=str(f.get("label") or f["name"]),
            type=str(f.get("type") or "string"),
            length=int(f.get("length") or 0),
            createable=bool(f.get("createable")),
            updateable=bool(f.get("updateable")),
            nillable=bool(f.get("nillable", True)),
            defaulted_on_create=bool(f.get("defaultedOnCreate")),
            calculated=bool(f.get("calculated")),
            external_id=bool(f.get("externalId")),
            picklist=tuple(
                str(v["value"]) for v in f.get("picklistValues") or [] if v.get("active", True)
            ),
            restricted=bool(f.get("restrictedPicklist")),
        )
    return out


def contact_properties(properties: list[Mapping[str, Any]]) -> dict[str, HubSpotProperty]:
    """The contact properties of a properties answer."""
    out = {}
    for p in properties:
        metadata = p.get("modificationMetadata") or {}
        out[p["name"]] = HubSpotProperty(
            name=p["name"],
            label=str(p.get("label") or p["name"]),
            type=str(p.get("type") or "string"),
            field_type=str(p.get("fieldType") or "text"),
            options=tuple(str(o["value"]) for o in p.get("options") or [] if "value" in o),
            read_only=bool(metadata.get("readOnlyValue")),
            calculated=bool(p.get("calculated")),
        )
    return out


class DescribeSource(Protocol):
    def describe(self, sobject: str) -> dict[str, Any]: ...


class PropertiesSource(Protocol):
    def properties(self, object_type: str = "contacts") -> list[dict[str, Any]]: ...


def fetch(
    salesforce: DescribeSource,
    hubspot: PropertiesSource,
    *,
    source: dict[str, str] | None = None,
    now: datetime | None = None,
) -> LiveSchema:
    """Read both schemas through the gateways (two calls)."""
    return LiveSchema(
        fetched_at=now or datetime.now(UTC),
        lead=lead_fields(salesforce.describe("Lead")),
        contact=contact_properties(hubspot.properties("contacts")),
        source=source or {},
    )


def save(schema: LiveSchema, path: Path) -> None:
    """Write the cache (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(schema.to_json(), indent=1, ensure_ascii=False) + "\n", "utf-8")
    partial.replace(path)


def load(path: Path) -> LiveSchema:
    """The cached schema; ConfigError when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LiveSchema.from_json(data)
    except FileNotFoundError:
        msg = (
            f"no cached schema at {path}: run `leadbridge mappings validate` once without "
            "--offline, with access to Salesforce and HubSpot, to fetch it"
        )
        raise ConfigError(msg) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = (
            f"the cached schema at {path} cannot be read ({exc}); run `leadbridge mappings "
            "validate` without --offline to fetch it again"
        )
        raise ConfigError(msg) from None
