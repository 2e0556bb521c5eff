"""The in-memory HubSpot portal: contacts, companies, their associations, owners, properties
and lists.

Records keep their property values as HubSpot returns them (strings; datetimes in ISO 8601 with
milliseconds and `Z`). Every write goes through `prepare()` (the property checks HubSpot makes)
and then `create()` / `update()`, which stamp `createdate` / the last-modified property, keep
the email index current and each property's history of values (`propertiesWithHistory`). The
portal also holds the token's rate-limit counters and the clock they and the timestamps read,
so tests can move time by replacing `portal.clock`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector.sandbox.hubspot.order import Order
from connector.sandbox.hubspot.properties import (
    Issue,
    PropertyDef,
    company_properties,
    contact_properties,
    custom_property,
    normalize,
)
from connector.sandbox.hubspot.ratelimit import RateLimiter
from connector.sandbox.hubspot.values import as_text, iso_ms, parse_datetime_ms, typed

if TYPE_CHECKING:
    from connector.sandbox.app import SandboxConfig
    from connector.sandbox.hubspot.lists import HubSpotList

#: The first id handed out when a seed gives none (HubSpot ids are numeric strings).
FIRST_ID = 1001
FIRST_OWNER_ID = 50_000_001
FIRST_USER_ID = 9_000_001
_NUMERIC = re.compile(r"^[1-9]\d{0,17}$")
#: The sandbox's private app, as HubSpot names it in rate-limit groups and value sources.
APP_ID = 3_000_001


@dataclass(frozen=True)
class Source:
    """Who set a value, as a property history entry says it (`sourceType`, `sourceId`)."""

    type: str
    id: str | None = None


#: Values written through the API by the sandbox's private app (observed: INTEGRATION + app id).
API_SOURCE = Source("INTEGRATION", str(APP_ID))
#: Values a seed gave: they came in as if imported.
SEED_SOURCE = Source("IMPORT")
#: Values HubSpot computes itself (a score rule, through `/_sandbox/.../calculated`).
CALCULATED_SOURCE = Source("CALCULATED")
_SEED_KEYS = ("contacts", "companies", "owners", "properties", "lists")
#: The contact property listing the ids merged into a contact (read-only, `;`-separated).
MERGED_IDS = "hs_merged_object_ids"
#: The contact property listing a contact's other emails (read-only, `;`-separated).
ADDITIONAL_EMAILS = "hs_additional_emails"


@dataclass
class ObjectType:
    """What differs between contacts and companies."""

    name: str  # "contacts"
    singular: str  # "contact"
    upper: str  # "CONTACT" (as in "Could not get some CONTACT objects")
    type_id: str  # "0-1"
    defaults: tuple[str, ...]  # returned when no properties are requested
    modified: str  # the last-modified property
    unique: tuple[str, ...]  # properties usable as idProperty
    properties: dict[str, PropertyDef] = field(default_factory=dict)

    @property
    def always(self) -> tuple[str, ...]:
        """Returned whatever properties are requested (HubSpot's search guide shows these)."""
        return ("createdate", "hs_object_id", self.modified)


def _object_types() -> dict[str, ObjectType]:
    contacts = ObjectType(
        name="contacts",
        singular="contact",
        upper="CONTACT",
        type_id="0-1",
        defaults=(
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        ),
        modified="lastmodifieddate",
        unique=("email",),
        properties={p.name: p for p in contact_properties()},
    )
    companies = ObjectType(
        name="companies",
        singular="company",
        upper="COMPANY",
        type_id="0-2",
        defaults=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        modified="hs_lastmodifieddate",
        unique=(),
        properties={p.name: p for p in company_properties()},
    )
    return {"contacts": contacts, "companies": companies}


#: Names an object type may be given by in a URL (HubSpot accepts these aliases).
TYPE_ALIASES = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "companies": "companies",
    "company": "companies",
    "0-2": "companies",
}


class Record:
    """One CRM object. `props` holds non-empty values only; absent means no value.

    `history` keeps, per property, the values written since the record came to be, oldest
    first, as (value, epoch ms, source). A property without an entry there still holds the
    value it was created or seeded with, set at `origin_ms` by `origin`: recording that value
    only when it first changes keeps a 10,000-contact seed as cheap to load as before.
    """

    __slots__ = (
        "_typed",
        "archived",
        "archived_ms",
        "created_ms",
        "history",
        "id",
        "merged_into",
        "origin",
        "origin_ms",
        "props",
        "updated_ms",
    )

    def __init__(
        self,
        record_id: str,
        props: dict[str, str],
        created_ms: int,
        updated_ms: int,
        origin: Source = API_SOURCE,
    ):
        self.id = record_id
        self.props = props
        self.created_ms = created_ms
        self.updated_ms = updated_ms
        self.archived = False
        self.archived_ms = 0
        #: Set once the record was merged into another (the survivor's id); it is archived.
        self.merged_into: str | None = None
        self._typed: dict[str, Any] = {}
        self.history: dict[str, list[tuple[str, int, Source]]] = {}
        self.origin = origin
        self.origin_ms = updated_ms

    def typed(self, name: str, kind: str) -> Any:
        """The comparable form of a value (cached until the record changes)."""
        try:
            return self._typed[name]
        except KeyError:
            stored = self.props.get(name)
            value = None if stored is None else typed(kind, stored)
            self._typed[name] = value
            return value

    def touched(self) -> None:
        self._typed = {}

    def record_change(self, name: str, value: str, at_ms: int, source: Source) -> None:
        """Note that `name` is about to take `value` (call before changing `props`)."""
        entries = self.history.get(name)
        if entries is None:
            entries = self.history[name] = self.initial_entries(name)
        entries.append((value, at_ms, source))

    def initial_entries(self, name: str) -> list[tuple[str, int, Source]]:
        """The value `name` was created or seeded with, if any, as a history entry."""
        value = self.props.get(name)
        if value is None:
            return []
        at_ms = self.created_ms if name in ("createdate", "hs_object_id") else self.origin_ms
        return [(value, at_ms, self.origin)]

    def values_of(self, name: str) -> list[tuple[str, int, Source]]:
        """Every value `name` has had, oldest first."""
        entries = self.history.get(name)
        return list(entries) if entries is not None else self.initial_entries(name)


class Store:
    """The records of one object type, with an index per unique property (email) and an
    `Order` (for search) of the creation date, the last-modified date and the id."""

    def __init__(self, otype: ObjectType) -> None:
        self.type = otype
        self.records: dict[str, Record] = {}
        self.index: dict[str, dict[str, str]] = {name: {} for name in otype.unique}
        names = ("createdate", otype.modified, "hs_object_id")
        self.orders = {n: Order(n, otype.properties[n].type) for n in names}
        self.next_id = FIRST_ID

    def get(self, record_id: str, *, archived: bool = False) -> Record | None:
        record = self.records.get(record_id)
        if record is None or record.archived != archived:
            return None
        return record

    def by(self, prop: str, value: str) -> Record | None:
        """The live record whose unique property has this value (emails case-insensitively;
        a merged-away contact's email finds the survivor, which keeps it as an additional
        email)."""
        record_id = self.index.get(prop, {}).get(value.strip().lower())
        record = self.records.get(record_id) if record_id else None
        return record if record is not None and not record.archived else None

    def live(self) -> Iterable[Record]:
        return (r for r in self.records.values() if not r.archived)

    def new_id(self) -> str:
        record_id = str(self.next_id)
        self.next_id += 1
        return record_id

    def reindex(self, record: Record, before: dict[str, str]) -> None:
        """Bring the indexes up to date after `record` changed (`before`: its values before)."""
        for order in self.orders.values():
            order.place(record, before)
        for name, index in self.index.items():
            old = before.get(name)
            if old and index.get(old) == record.id:
                del index[old]
            new = record.props.get(name)
            if new and not record.archived:
                index[new.lower()] = record.id


class Conflict(Exception):
    """A create or update would give a second contact an email already in use."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"Contact already exists. Existing ID: {existing_id}")
        self.existing_id = existing_id


class Blocked(Conflict):
    """A create or update would give a contact an email a GDPR delete blocked.

    HubSpot documents the block ("once a contact is GDPR-deleted, you will not be able to add
    them back into your account. You will be notified in-app": knowledge base, "Perform a
    GDPR-compliant delete in HubSpot"; the API reference: the email is added "to a blocklist and
    prevent it from being used in the future") but not what the API answers to such a write.
    The sandbox refuses it with a 400 VALIDATION_ERROR naming the block; a client must treat
    the refusal as final for that record, which is what the block means whatever the answer.
    """

    def __init__(self, email: str) -> None:
        Exception.__init__(
            self,
            f"{email} was permanently deleted from this portal (GDPR delete) and is blocked: "
            "it cannot be added again",
        )
        self.existing_id = ""
        self.email = email


@dataclass(frozen=True)
class Change:
    """One write to a record, as HubSpot's webhooks report it: `creation` (with the values the
    record was created with), `propertyChange` (the values that changed; "" is a cleared one),
    `deletion`, `merge` (`record_id` the survivor; `merge` holds the merge event's own fields)
    or `privacyDeletion` (a GDPR delete, which also reports a `deletion`). Seeding a portal
    reports nothing."""

    object_type: str  # "contacts" or "companies"
    kind: str  # "creation", "propertyChange", "deletion", "merge" or "privacyDeletion"
    record_id: str
    at_ms: int
    source: Source
    values: dict[str, str] = field(default_factory=dict)
    #: For a merge: primaryObjectId, mergedObjectIds, newObjectId, numberOfPropertiesMoved.
    merge: dict[str, Any] = field(default_factory=dict)


class Portal:
    """The portal's state; `from_seed` builds one, the API handlers read and write it."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.types = _object_types()
        self.stores = {name: Store(t) for name, t in self.types.items()}
        self.owners: dict[str, dict[str, Any]] = {}
        #: contact id → company ids, primary first; and the reverse.
        self.contact_companies: dict[str, list[str]] = {}
        self.company_contacts: dict[str, list[str]] = {}
        self.limiter = RateLimiter(lambda: self.clock())
        self._owner_ids: frozenset[str] | None = None
        #: The Lists API's lists by listId (the `lists` module serves and seeds them).
        self.lists: dict[str, HubSpotList] = {}
        #: Told of every write after it is made (the webhook sender listens); called inside the
        #: sandbox's lock, so it must only take note, never send.
        self.on_change: Callable[[Change], None] | None = None
        #: Emails a GDPR delete blocked, lowercased: no contact may take one again.
        self.blocked_emails: set[str] = set()

    # -- seed -----------------------------------------------------------------------------
    @classmethod
    def from_seed(cls, data: dict[str, Any], config: SandboxConfig | None = None) -> Portal:
        """A portal holding the seed's owners, custom properties, companies, contacts and
        lists (last: their members must be records of the seed).

        Raises `ValueError` naming the offending entry (`seed.hubspot.contacts[3].properties.
        lifecyclestage: ...`). Loading never deep-copies records: each gets one shallow dict.
        """
        portal = cls()
        if not isinstance(data, dict):
            msg = "seed.hubspot: expected an object with contacts, companies, owners, properties"
            raise ValueError(msg)
        unknown = sorted(set(data) - set(_SEED_KEYS))
        if unknown:
            msg = f"seed.hubspot: unknown keys {unknown}; expected some of {list(_SEED_KEYS)}"
            raise ValueError(msg)
        now = portal.now_ms()
        portal._load_owners(data.get("owners") or [], now)
        portal._load_properties(data.get("properties") or {}, now)
        for name in ("companies", "contacts"):
            rows = data.get(name) or []
            if not isinstance(rows, list):
                msg = f"seed.hubspot.{name}: expected a list of records"
                raise ValueError(msg)
            portal._load_records(name, rows, now)
        # Imported here: the lists module imports this one (for Portal and its constants).
        from connector.sandbox.hubspot.lists import load_lists

        load_lists(portal, data.get("lists") or [])
        return portal

    def _load_owners(self, rows: list[Any], now: int) -> None:
        next_id, next_user = FIRST_OWNER_ID, FIRST_USER_ID
        for index, row in enumerate(rows):
            where = f"seed.hubspot.owners[{index}]"
            if not isinstance(row, dict) or not isinstance(row.get("email"), str):
                msg = f"{where}: an owner is an object with at least an email"
                raise ValueError(msg)
            owner_id = str(row.get("id") or next_id)
            if not _NUMERIC.match(owner_id) or owner_id in self.owners:
                msg = f"{where}.id: {owner_id!r} is not a new numeric owner id"
                raise ValueError(msg)
            next_id = max(next_id, int(owner_id)) + 1
            user_id = int(row.get("userId") or next_user)
            next_user = max(next_user, user_id) + 1
            stamp = iso_ms(now)
            owner: dict[str, Any] = {
                "id": owner_id,
                "email": row["email"],
                "type": row.get("type", "PERSON"),
                "firstName": row.get("firstName", ""),
                "lastName": row.get("lastName", ""),
                "userId": user_id,
                "userIdIncludingInactive": user_id,
                "createdAt": row.get("createdAt", stamp),
                "updatedAt": row.get("updatedAt", stamp),
                "archived": bool(row.get("archived", False)),
            }
            if row.get("teams"):
                owner["teams"] = row["teams"]
            self.owners[owner_id] = owner

    def _load_properties(self, data: Any, now: int) -> None:
        if not isinstance(data, dict):
            msg = 'seed.hubspot.properties: expected {"contacts": [...], "companies": [...]}'
            raise ValueError(msg)
        for type_name, specs in data.items():
            otype = self.types.get(type_name)
            if otype is None or not isinstance(specs, list):
                msg = f"seed.hubspot.properties.{type_name}: expected contacts or companies: [...]"
                raise ValueError(msg)
            for index, spec in enumerate(specs):
                where = f"seed.hubspot.properties.{type_name}[{index}]"
                prop = custom_property(spec, where, now)
                if prop.name in otype.properties:
                    msg = f"{where}.name: {type_name} already have a property {prop.name!r}"
                    raise ValueError(msg)
                otype.properties[prop.name] = prop

    def _load_records(self, type_name: str, rows: list[Any], now: int) -> None:
        store = self.stores[type_name]
        otype = store.type
        given = [str(r["id"]) for r in rows if isinstance(r, dict) and r.get("id") is not None]
        numeric = [int(i) for i in given if _NUMERIC.match(i)]
        store.next_id = max([FIRST_ID - 1, *numeric]) + 1
        for index, row in enumerate(rows):
            where = f"seed.hubspot.{type_name}[{index}]"
            if not isinstance(row, dict):
                msg = f"{where}: a record is an object with properties (and optionally id)"
                raise ValueError(msg)
            unknown = sorted(set(row) - {"id", "properties", "associations", "archived"})
            if unknown:
                msg = f"{where}: unknown keys {unknown}; expected id, properties, associations"
                raise ValueError(msg)
            record_id = str(row["id"]) if row.get("id") is not None else store.new_id()
            if not _NUMERIC.match(record_id):
                msg = f"{where}.id: {record_id!r} is not a HubSpot id (a number as a string)"
                raise ValueError(msg)
            if record_id in store.records:
                msg = f"{where}.id: {record_id!r} is used by another {otype.singular}"
                raise ValueError(msg)
            raw = row.get("properties") or {}
            if not isinstance(raw, dict):
                msg = f"{where}.properties: expected an object of property values"
                raise ValueError(msg)
            changes, issues = self.prepare(otype, raw, seed=True)
            if issues:
                issue = issues[0]
                msg = f"{where}.properties.{issue.name}: {issue.message} ({issue.code})"
                raise ValueError(msg)
            props = {k: v for k, v in changes.items() if v != ""}
            created = _seed_ms(props.get("createdate"), now)
            updated = _seed_ms(props.get(otype.modified), created)
            object_id = props.get("hs_object_id")
            if object_id is not None and object_id != record_id:
                msg = (
                    f"{where}.properties.hs_object_id: {object_id!r} differs from id {record_id!r}"
                )
                raise ValueError(msg)
            props["createdate"] = iso_ms(created)
            props[otype.modified] = iso_ms(updated)
            props["hs_object_id"] = record_id
            for name in otype.unique:
                value = props.get(name)
                if value and store.by(name, value):
                    msg = f"{where}.properties.{name}: {value!r} is already used by another record"
                    raise ValueError(msg)
            record = Record(record_id, props, created, updated, SEED_SOURCE)
            record.archived = bool(row.get("archived", False))
            store.records[record_id] = record
            store.reindex(record, {})
            if type_name == "contacts":
                self._load_associations(record, row.get("associations") or {}, where)

    def _load_associations(self, contact: Record, data: Any, where: str) -> None:
        if not isinstance(data, dict) or set(data) - {"companies"}:
            msg = f'{where}.associations: expected {{"companies": ["<company id>", ...]}}'
            raise ValueError(msg)
        companies = self.stores["companies"]
        ids = [str(i) for i in data.get("companies") or []]
        for index, company_id in enumerate(ids):
            if company_id not in companies.records:
                msg = f"{where}.associations.companies[{index}]: no company has id {company_id!r}"
                raise ValueError(msg)
        if ids:
            self.associate(contact.id, ids)
            contact.props.setdefault("associatedcompanyid", ids[0])

    # -- reads ----------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def counts(self) -> dict[str, int]:
        """How many live records of each kind the portal holds (for /_sandbox/health)."""
        counts = {name: sum(1 for _ in store.live()) for name, store in self.stores.items()}
        counts["owners"] = len(self.owners)
        return counts

    def list_named(self, object_type_id: str, name: str) -> HubSpotList | None:
        """The list of that object type with that name, compared case-insensitively."""
        wanted = name.casefold()
        for hs_list in self.lists.values():
            if hs_list.object_type_id == object_type_id and hs_list.name.casefold() == wanted:
                return hs_list
        return None

    def exists(self, object_type_id: str, record_id: str) -> bool:
        """Whether a live record of the object type (`0-1` contacts, `0-2` companies) has it."""
        name = next((n for n, t in self.types.items() if t.type_id == object_type_id), None)
        return name is not None and self.stores[name].get(record_id) is not None

    def owner_ids(self) -> frozenset[str]:
        """Ids a `hubspot_owner_id` may take (owners are fixed once the seed is loaded)."""
        if self._owner_ids is None:
            self._owner_ids = frozenset(o["id"] for o in self.owners.values() if not o["archived"])
        return self._owner_ids

    def view(
        self, otype: ObjectType, record: Record, properties: Iterable[str] | None
    ) -> dict[str, Any]:
        """A record as `SimplePublicObject`: the default properties, or the requested known
        ones plus createdate, hs_object_id and the last-modified date; null where empty."""
        wanted = list(properties or ())
        names = set(otype.defaults) if not wanted else {*otype.always, *wanted}
        props = {n: record.props.get(n) for n in sorted(names) if n in otype.properties}
        body: dict[str, Any] = {
            "id": record.id,
            "properties": props,
            "createdAt": iso_ms(record.created_ms),
            "updatedAt": iso_ms(record.updated_ms),
            "archived": record.archived,
        }
        if record.archived:
            body["archivedAt"] = iso_ms(record.archived_ms)
        return body

    def history(
        self, otype: ObjectType, record: Record, properties: Iterable[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """`propertiesWithHistory`: for each known property asked for that ever had a value,
        its values newest first (`ValueWithTimestamp`); unknown names are ignored, as
        documented."""
        body: dict[str, list[dict[str, Any]]] = {}
        for name in dict.fromkeys(properties):
            if name not in otype.properties:
                continue
            entries = record.values_of(name)
            if entries:
                body[name] = [_history_entry(*entry) for entry in reversed(entries)]
        return body

    def find(
        self,
        otype: ObjectType,
        key: str,
        id_property: str | None,
        *,
        archived: bool = False,
        follow_merges: bool = False,
    ) -> Record | None:
        """A live (or, with `archived`, an archived) record by id, or by a unique property's
        value when `id_property` names one. With `follow_merges`, the id of a record merged
        away finds the record it was merged into (`merged_survivor`)."""
        store = self.stores[otype.name]
        if follow_merges and not archived and not (id_property and id_property != "id"):
            return store.get(key) or self.merged_survivor(otype, key)
        if id_property and id_property not in ("hs_object_id", "id"):
            if id_property not in otype.unique:
                return None
            if not archived:
                return store.by(id_property, key)
            wanted = key.strip().lower()
            return next(
                (
                    r
                    for r in store.records.values()
                    if r.archived and (r.props.get(id_property) or "").lower() == wanted
                ),
                None,
            )
        return store.get(key, archived=archived)

    def merged_survivor(self, otype: ObjectType, record_id: str) -> Record | None:
        """The live record a merged-away id now answers as, following merges of merges.

        HubSpot documents this for merged deals ("If you make a GET request for Deal A, the
        dealId in the response will be Deal C's dealId": changelog, "Deals now support
        merging") and its contacts API has long resolved a merged-away contact id to the
        surviving contact; the sandbox does the same for contacts and companies."""
        store = self.stores[otype.name]
        record = store.records.get(record_id)
        seen: set[str] = set()
        while record is not None and record.merged_into and record.id not in seen:
            seen.add(record.id)
            record = store.records.get(record.merged_into)
        return record if record is not None and not record.archived else None

    # -- writes ---------------------------------------------------------------------------
    def prepare(
        self, otype: ObjectType, values: dict[str, Any], *, seed: bool = False
    ) -> tuple[dict[str, str], list[Issue]]:
        """Check written values the way HubSpot does; the normalized changes and the issues.

        An empty string (or null) clears a value. A seed may set read-only properties.
        """
        changes: dict[str, str] = {}
        issues: list[Issue] = []
        owners = self.owner_ids()
        for name, raw in values.items():
            prop = otype.properties.get(name)
            if prop is None:
                issues.append(
                    Issue(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if prop.read_only_value and not seed:
                message = f'"{name}" is a read only property; its value cannot be set.'
                issues.append(Issue(name, "READ_ONLY_VALUE", message))
                continue
            text = raw if type(raw) is str else as_text(raw)
            if text == "":
                changes[name] = ""
                continue
            if prop.plain:
                changes[name] = text
                continue
            value, issue = normalize(prop, text, owners)
            if issue:
                issues.append(issue)
            else:
                changes[name] = value
        return changes, issues

    def conflict(self, otype: ObjectType, changes: dict[str, str], exclude: str | None) -> None:
        """Raise `Conflict` if a unique value (email) already belongs to another record."""
        store = self.stores[otype.name]
        for name in otype.unique:
            value = changes.get(name)
            if value and name == "email" and value.strip().lower() in self.blocked_emails:
                raise Blocked(value)
            if value:
                other = store.by(name, value)
                if other is not None and other.id != exclude:
                    raise Conflict(other.id)

    def create(
        self, otype: ObjectType, changes: dict[str, str], source: Source = API_SOURCE
    ) -> Record:
        """Store a new record from prepared changes; the caller checked `conflict()`."""
        store = self.stores[otype.name]
        now = self.now_ms()
        record_id = store.new_id()
        props = {k: v for k, v in changes.items() if v != ""}
        props.update(
            {"createdate": iso_ms(now), otype.modified: iso_ms(now), "hs_object_id": record_id}
        )
        record = Record(record_id, props, now, now, source)
        store.records[record_id] = record
        store.reindex(record, {})
        initial = {k: v for k, v in changes.items() if v != ""}
        self._tell(Change(otype.name, "creation", record_id, now, source, initial))
        return record

    def update(
        self,
        otype: ObjectType,
        record: Record,
        changes: dict[str, str],
        source: Source = API_SOURCE,
        *,
        at_ms: int | None = None,
    ) -> Record:
        """Apply prepared changes, stamp the last-modified date (now, or `at_ms`), and note
        each value that changed in its property's history (with `source`).

        Lifecycle stage only moves forward: a write that names an earlier stage than the current
        one is ignored (the request still succeeds), unless the stage is cleared to "" first.
        A HubSpot engineer describes this answer ("a successful response ... but the change was
        not made"; set "" then the earlier stage in a separate request) at
        https://integrate.hubspot.com/t/update-lifecycle-stage-using-api/1333.
        """
        store = self.stores[otype.name]
        before = dict(record.props)
        stage = otype.properties.get("lifecyclestage")
        now = max(self.now_ms() if at_ms is None else at_ms, record.created_ms)
        changed: dict[str, str] = {}
        for name, value in changes.items():
            current = record.props.get(name)
            backwards = (
                name == "lifecyclestage"
                and stage is not None
                and value
                and current
                and stage.option_index(value) < stage.option_index(current)
            )
            if backwards or value == (current or ""):
                continue
            record.record_change(name, value, now, source)
            if value == "":
                record.props.pop(name, None)
            else:
                record.props[name] = value
            changed[name] = value
        stamp = iso_ms(now)
        if record.props.get(otype.modified) != stamp:
            record.record_change(otype.modified, stamp, now, source)
        record.updated_ms = now
        record.props[otype.modified] = stamp
        record.touched()
        store.reindex(record, before)
        if changed:
            self._tell(Change(otype.name, "propertyChange", record.id, now, source, changed))
        return record

    def stamp(
        self,
        otype: ObjectType,
        records: Iterable[Record],
        changes: dict[str, str],
        at_ms: int,
        source: Source = SEED_SOURCE,
    ) -> None:
        """One bulk change (an import, a workflow) to many records at one instant: each gets
        `changes` and the same last-modified date, `at_ms` (webhooks hear what changed)."""
        for record in records:
            self.update(otype, record, changes, source, at_ms=at_ms)

    def archive(self, otype: ObjectType, record: Record) -> None:
        store = self.stores[otype.name]
        before = dict(record.props)
        record.archived = True
        record.archived_ms = self.now_ms()
        store.reindex(record, before)
        self._tell(Change(otype.name, "deletion", record.id, record.archived_ms, API_SOURCE))

    def merge(self, otype: ObjectType, primary: Record, other: Record) -> int:
        """Merge `other` into `primary` (`POST /crm/v3/objects/{type}/merge`); returns how many
        property values moved.

        `primary` keeps its id and its values and takes `other`'s where it has none ("the
        record that the merge will generally set as the current value": API reference, Merge
        two contacts); the lifecycle stage furthest down the funnel is kept, and `other`'s email
        becomes an additional email of `primary`, so no new contact can take it (knowledge
        base, "Merge contacts"); `hs_merged_object_ids` lists `other` and what had been merged
        into it; `other`'s associations move to `primary`. `other` is archived, merged into
        `primary`, and its id answers as `primary` from then on. Webhooks hear a `merge` (and
        the survivor's `propertyChange`s)."""
        store = self.stores[otype.name]
        now = self.now_ms()
        keep = {"createdate", "hs_object_id", otype.modified, *otype.unique}
        keep |= {MERGED_IDS, ADDITIONAL_EMAILS}
        moved = {
            name: value
            for name, value in other.props.items()
            if name not in keep and name in otype.properties and not primary.props.get(name)
        }
        stage = otype.properties.get("lifecyclestage")
        theirs, ours = other.props.get("lifecyclestage"), primary.props.get("lifecyclestage")
        if (
            stage is not None
            and theirs
            and ours
            and stage.option_index(theirs) > stage.option_index(ours)
        ):
            moved["lifecyclestage"] = theirs
        changes = dict(moved)
        if MERGED_IDS in otype.properties:
            earlier = _listed(primary.props.get(MERGED_IDS))
            merged_ids = [*earlier, other.id, *_listed(other.props.get(MERGED_IDS))]
            changes[MERGED_IDS] = ";".join(dict.fromkeys(merged_ids))
        other_emails = [
            e for e in (other.props.get("email"), other.props.get(ADDITIONAL_EMAILS)) if e
        ]
        if "email" in otype.unique and other_emails:
            emails = [
                *_listed(primary.props.get(ADDITIONAL_EMAILS)),
                *_listed(";".join(other_emails)),
            ]
            changes[ADDITIONAL_EMAILS] = ";".join(dict.fromkeys(emails))
        before = dict(other.props)
        other.archived = True
        other.archived_ms = now
        other.merged_into = primary.id
        store.reindex(other, before)
        if "email" in otype.unique:
            for email in _listed(";".join(other_emails)):
                store.index["email"][email.lower()] = primary.id
        if otype.name == "contacts":
            self.associate(primary.id, self.contact_companies.get(other.id, []))
        else:
            for contact_id in list(self.company_contacts.get(other.id, [])):
                self.associate(contact_id, [primary.id])
        self.update(otype, primary, changes)
        self._tell(
            Change(
                otype.name,
                "merge",
                primary.id,
                now,
                API_SOURCE,
                merge={
                    "primaryObjectId": int(primary.id),
                    "mergedObjectIds": [int(other.id)],
                    "newObjectId": int(primary.id),
                    "numberOfPropertiesMoved": len(moved),
                },
            )
        )
        return len(moved)

    def purge(self, otype: ObjectType, record: Record) -> None:
        """Delete `record` for good (`POST /crm/v3/objects/contacts/gdpr-delete`): no read
        finds it again, `archived=true` included; its associations and list memberships go;
        its email is blocked from coming back (`Blocked`). Webhooks hear a `privacyDeletion`
        and a plain `deletion`: HubSpot's webhooks guide lists `contact.privacyDeletion` for
        "a contact is deleted for privacy compliance reasons", and a GDPR delete also deletes
        the contact, which `contact.deletion` reports."""
        store = self.stores[otype.name]
        now = self.now_ms()
        emails = [e.strip().lower() for e in _listed(record.props.get(ADDITIONAL_EMAILS))]
        if record.props.get("email"):
            emails.append(record.props["email"].strip().lower())
        self.blocked_emails.update(emails)
        before = dict(record.props)
        record.archived = True
        store.reindex(record, before)
        for index in store.index.values():
            for value in [v for v, rid in index.items() if rid == record.id]:
                del index[value]
        del store.records[record.id]
        for company_id in self.contact_companies.pop(record.id, []):
            members = self.company_contacts.get(company_id, [])
            if record.id in members:
                members.remove(record.id)
        for hs_list in self.lists.values():
            if hs_list.object_type_id == otype.type_id:
                hs_list.members.pop(record.id, None)
        self._tell(Change(otype.name, "deletion", record.id, now, API_SOURCE))
        self._tell(Change(otype.name, "privacyDeletion", record.id, now, API_SOURCE))

    def block(self, email: str) -> None:
        """Block an email no contact has (a GDPR delete by an unknown email)."""
        self.blocked_emails.add(email.strip().lower())

    def _tell(self, change: Change) -> None:
        if self.on_change is not None:
            self.on_change(change)

    def associate(self, contact_id: str, company_ids: list[str]) -> None:
        """Associate a contact with companies; the first company of a contact is its primary."""
        current = self.contact_companies.setdefault(contact_id, [])
        for company_id in company_ids:
            if company_id not in current:
                current.append(company_id)
                self.company_contacts.setdefault(company_id, []).append(contact_id)


def _listed(value: str | None) -> list[str]:
    """The items of a `;`-separated property value."""
    return [item for item in (value or "").split(";") if item]


def _history_entry(value: str, at_ms: int, source: Source) -> dict[str, Any]:
    """One `ValueWithTimestamp`, keys in the order HubSpot's answers show them."""
    entry: dict[str, Any] = {"value": value, "timestamp": iso_ms(at_ms), "sourceType": source.type}
    if source.id is not None:
        entry["sourceId"] = source.id
    return entry


def _seed_ms(value: str | None, default: int) -> int:
    if not value:
        return default
    parsed = parse_datetime_ms(value)
    return default if parsed is None else parsed
