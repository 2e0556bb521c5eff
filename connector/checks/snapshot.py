"""The live schemas the mapping files are checked against: the Lead and Contact describes and
the contact properties, and what the other files name: the objects a relationship path such as
`Owner.Email` reaches, the HubSpot lists `status.yaml` leaves, the org's Lead statuses and the
Opportunity describe (`conversion.yaml`), and the users and queues `routing.yaml` names.

Fetched once through the gateways (one call per describe, one properties call, one call per
list name and one for the lists' definitions, and the LeadStatus and owner queries together in
one Composite call) and cached in a JSON file with the time it was fetched, so `mappings
validate --offline` (and CI pipelines without credentials for the APIs) can check against the
last known schema, saying how old it is. The cache holds what the files asked for when it was
fetched: what a later file names and the cache lacks is reported as not checked, never guessed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from connector.errors import ConfigError, FatalApiError
from connector.files.suggest import did_you_mean
from connector.model import LeadStatusValue
from connector.routing.config import QUEUE_PREFIX, USER_PREFIX, is_id
from connector.routing.directory import Directory, id_key
from connector.salesforce import queries
from connector.salesforce.reads import lead_statuses_of, queue_of, user_of
from connector.streams.leads.decide import is_list_id

#: 2: the Contact describe, other objects' describes, Lead statuses and lists were added.
#: 3: routing.yaml's users and queues were added.
CACHE_FORMAT = 3
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
    #: A reference (lookup) field's target objects and relationship name (`OwnerId`:
    #: Group and User, through `Owner`).
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None

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
class HubSpotList:
    """What validation needs of one HubSpot list (from the Lists API)."""

    list_id: str
    name: str
    processing_type: str  # MANUAL, DYNAMIC or SNAPSHOT
    object_type_id: str = "0-1"  # 0-1 contacts, 0-2 companies


@dataclass(frozen=True)
class SalesforceUser:
    """A user routing.yaml names, as Salesforce has it: routing skips an inactive one in a
    round-robin, and Salesforce refuses one as a Lead's owner."""

    id: str
    username: str
    active: bool


@dataclass(frozen=True)
class SalesforceQueue:
    """A queue routing.yaml names (a Group of Type Queue)."""

    id: str
    developer_name: str


def owner_key(ref: str, prefix: str) -> str:
    """How a user (`005`) or queue (`00G`) reference is filed in `RoutingOwners`: an id by its
    15-character form (ids are case-sensitive), a name without case (as routing finds it)."""
    return id_key(ref) if is_id(ref, prefix) else ref.casefold()


@dataclass(frozen=True)
class RoutingOwners:
    """The users and queues routing.yaml named when the schema was fetched, resolved the way
    the router resolves them (by `owner_key`): the user or queue, or None when Salesforce has
    none. For a name Salesforce does not know, only the few closest active usernames or queue
    DeveloperNames are kept (`close_users`, `close_queues`), enough for "did you mean": the
    cache holds no directory of the org's users."""

    users: dict[str, SalesforceUser | None] = field(default_factory=dict)
    queues: dict[str, SalesforceQueue | None] = field(default_factory=dict)
    close_users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    close_queues: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "users": {k: None if u is None else _dump(u) for k, u in self.users.items()},
            "queues": {k: None if q is None else _dump(q) for k, q in self.queues.items()},
            "close_users": {k: list(v) for k, v in self.close_users.items()},
            "close_queues": {k: list(v) for k, v in self.close_queues.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoutingOwners:
        return cls(
            users={
                str(k): None if u is None else SalesforceUser(**u) for k, u in data["users"].items()
            },
            queues={
                str(k): None if q is None else SalesforceQueue(**q)
                for k, q in data["queues"].items()
            },
            close_users={str(k): tuple(v) for k, v in data["close_users"].items()},
            close_queues={str(k): tuple(v) for k, v in data["close_queues"].items()},
        )


Fields = dict[str, SalesforceField]


@dataclass(frozen=True)
class LiveSchema:
    """The Lead fields and contact properties, as fetched at `fetched_at` from `source`, with
    what the other mapping files named: other objects' fields (`Contact` always), the Lead
    statuses (None: not fetched), the lists by the reference a file gives (None: HubSpot
    has no such list) and routing.yaml's users and queues (None: not fetched)."""

    fetched_at: datetime
    lead: Fields
    contact: dict[str, HubSpotProperty]
    source: dict[str, str] = field(default_factory=dict)
    objects: dict[str, Fields] = field(default_factory=dict)
    lead_statuses: tuple[LeadStatusValue, ...] | None = None
    lists: dict[str, HubSpotList | None] = field(default_factory=dict)
    owners: RoutingOwners | None = None

    def fields_of(self, sobject: str) -> Fields | None:
        """The fields of an sObject described with this schema; None when it was not."""
        return self.lead if sobject == "Lead" else self.objects.get(sobject)

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
        objects = {"Lead": self.lead, **self.objects}
        return {
            "format": CACHE_FORMAT,
            "fetched_at": self.fetched_at.isoformat(),
            "source": self.source,
            "salesforce": {
                **{name: [_dump(f) for f in fields.values()] for name, fields in objects.items()},
                "LeadStatus": None
                if self.lead_statuses is None
                else [_dump(v) for v in self.lead_statuses],
            },
            "hubspot": {
                "contacts": [_dump(p) for p in self.contact.values()],
                "lists": {
                    ref: None if hs_list is None else _dump(hs_list)
                    for ref, hs_list in self.lists.items()
                },
            },
            "routing": None if self.owners is None else self.owners.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveSchema:
        if data.get("format") != CACHE_FORMAT:
            msg = f"unknown schema cache format {data.get('format')!r}"
            raise ValueError(msg)
        salesforce = dict(data["salesforce"])
        statuses = salesforce.pop("LeadStatus", None)
        objects = {
            name: {f.name: f for f in (SalesforceField(**_tuples(row)) for row in rows)}
            for name, rows in salesforce.items()
        }
        contact = [HubSpotProperty(**_tuples(p)) for p in data["hubspot"]["contacts"]]
        lists = data["hubspot"].get("lists") or {}
        owners = data.get("routing")
        fetched = datetime.fromisoformat(data["fetched_at"])
        if fetched.tzinfo is None:
            msg = "fetched_at has no time zone"
            raise ValueError(msg)
        return cls(
            fetched_at=fetched.astimezone(UTC),
            lead=objects.pop("Lead"),
            contact={p.name: p for p in contact},
            source=dict(data.get("source") or {}),
            objects=objects,
            lead_statuses=None
            if statuses is None
            else tuple(LeadStatusValue(**row) for row in statuses),
            lists={
                str(ref): None if found is None else HubSpotList(**found)
                for ref, found in lists.items()
            },
            owners=None if owners is None else RoutingOwners.from_json(owners),
        )


def _dump(item: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(item).items()}


def _tuples(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}


def lead_fields(describe: Mapping[str, Any]) -> Fields:
    """The fields of a describe answer (the Lead's, or any sObject's)."""
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
            reference_to=tuple(str(t) for t in f.get("referenceTo") or []),
            relationship_name=f.get("relationshipName") or None,
        )
    return out


#: Any sObject's fields read the same way as the Lead's.
object_fields = lead_fields


def contact_properties(properties: Sequence[Mapping[str, Any]]) -> dict[str, HubSpotProperty]:
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


def hubspot_list(answer: Mapping[str, Any]) -> HubSpotList:
    """A list definition of the Lists API."""
    return HubSpotList(
        list_id=str(answer["listId"]),
        name=str(answer.get("name") or ""),
        processing_type=str(answer.get("processingType") or ""),
        object_type_id=str(answer.get("objectTypeId") or "0-1"),
    )


# -- relationship paths ----------------------------------------------------------------------
#: The fields of an sObject, or None when they are not known (not in the cache, no access).
Describer = Callable[[str], Fields | None]


@dataclass(frozen=True)
class PathFinding:
    """What walking a Lead field path found wrong: a `message` about the `segment`-th part, or
    `unchecked`, an object whose fields are not known (so the rest cannot be checked)."""

    segment: int
    message: str | None = None
    unchecked: str | None = None


def walk_path(path: str, describe: Describer) -> PathFinding | None:
    """Check a Lead field path (`Rejection_Reason__c`, `Owner.Email`) the way SOQL reads it:
    every part but the last a relationship name (the `relationshipName` of a reference field),
    the last a field of one of the objects the relationships lead to. None when it holds.

    Objects are described only as the walk needs them, in the order a relationship names them,
    and the walk stops at the first that has the field: `Owner.Email` needs one describe."""
    parts = path.split(".")
    current = ["Lead"]
    through = "Lead"
    for index, part in enumerate(parts[:-1]):
        references: list[SalesforceField] = []
        names: list[str] = []
        plain: SalesforceField | None = None
        for sobject in current:
            fields = describe(sobject)
            if fields is None:
                return PathFinding(index, unchecked=sobject)
            for f in fields.values():
                if f.relationship_name:
                    names.append(f.relationship_name)
                if f.relationship_name == part:
                    references.append(f)
                elif f.name == part:
                    plain = f
            if references:
                break
        if not references:
            if plain is not None:
                message = f"'{part}' is a field of {through}, not a relationship"
                if plain.relationship_name:
                    message += f": write its relationship name, '{plain.relationship_name}'"
            else:
                message = f"'{part}' is not a relationship of {through}" + did_you_mean(part, names)
            return PathFinding(index, message=message)
        current = list(dict.fromkeys(t for f in references for t in f.reference_to))
        through = f"{through}.{part}"
    last = parts[-1]
    known: list[str] = []
    for sobject in current:
        fields = describe(sobject)
        if fields is None:
            return PathFinding(len(parts) - 1, unchecked=sobject)
        if last in fields:
            return None
        known += list(fields)
    where = "Lead" if len(parts) == 1 else f"{' or '.join(current)} (through {through})"
    message = f"unknown Salesforce field '{last}' on {where}" + did_you_mean(last, known)
    return PathFinding(len(parts) - 1, message=message)


# -- fetching --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Needs:
    """What the mapping files other than lead.yaml ask of the orgs: Lead field paths through
    relationships, HubSpot list references, the Lead statuses, and more sObjects to describe."""

    paths: tuple[str, ...] = ()
    list_refs: tuple[str, ...] = ()
    lead_statuses: bool = False
    objects: tuple[str, ...] = ()
    #: routing.yaml's user references (Username or 005… id) and queue references
    #: (DeveloperName or 00G… id).
    users: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()

    def __or__(self, other: Needs) -> Needs:
        """What both ask for, each thing once (several files' needs, fetched together)."""

        def both(mine: tuple[str, ...], theirs: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys((*mine, *theirs)))

        return Needs(
            paths=both(self.paths, other.paths),
            list_refs=both(self.list_refs, other.list_refs),
            lead_statuses=self.lead_statuses or other.lead_statuses,
            objects=both(self.objects, other.objects),
            users=both(self.users, other.users),
            queues=both(self.queues, other.queues),
        )


class Describes(Protocol):
    """What `fetch_lead_schema` reads of Salesforce: one describe."""

    def describe(self, sobject: str) -> dict[str, Any]: ...


class Properties(Protocol):
    """What `fetch_lead_schema` reads of HubSpot: the contact properties."""

    def properties(self, object_type: str = "contacts") -> list[dict[str, Any]]: ...


class SalesforceSource(Describes, Protocol):
    """The gateway's reads. One that also has `query_many(texts)` (the records of each text,
    in order, five to a Composite call) gets the independent queries together."""

    def query(self, text: str) -> list[dict[str, Any]]: ...


class HubSpotSource(Properties, Protocol):
    def list_ids_by_name(self, names: Sequence[str]) -> dict[str, str]: ...
    def lists(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...


def fetch_lead_schema(
    salesforce: Describes,
    hubspot: Properties,
    *,
    source: dict[str, str] | None = None,
    now: datetime | None = None,
) -> LiveSchema:
    """The Lead describe and the contact properties (two calls): all lead.yaml's fields,
    properties and inclusion rules are checked against, and what the check before every pass
    reads (`connector.checks.precheck`). The Contact describe is not among them: without it
    the Contact fields converted people's changes go to are not checked."""
    return LiveSchema(
        fetched_at=now or datetime.now(UTC),
        lead=lead_fields(salesforce.describe("Lead")),
        contact=contact_properties(hubspot.properties("contacts")),
        source=source or {},
    )


def fetch(
    salesforce: SalesforceSource,
    hubspot: HubSpotSource,
    *,
    needs: Needs = Needs(),
    source: dict[str, str] | None = None,
    now: datetime | None = None,
) -> LiveSchema:
    """Read the schemas through the gateways: the Lead and Contact describes and the contact
    properties (three calls), then what `needs` asks for, each once: the LeadStatus query and
    the owner queries do not depend on each other, so they travel together (one Composite
    call for up to five)."""
    lead = lead_fields(salesforce.describe("Lead"))
    objects: dict[str, Fields] = {"Contact": object_fields(salesforce.describe("Contact"))}
    for sobject in needs.objects:
        if sobject not in objects and sobject != "Lead":
            objects[sobject] = object_fields(salesforce.describe(sobject))
    contact = contact_properties(hubspot.properties("contacts"))
    unavailable: set[str] = set()

    def describe(sobject: str) -> Fields | None:
        if sobject == "Lead":
            return lead
        if sobject not in objects and sobject not in unavailable:
            try:
                objects[sobject] = object_fields(salesforce.describe(sobject))
            except FatalApiError:  # no access to it: its paths are reported as not checked
                unavailable.add(sobject)
        return objects.get(sobject)

    for path in dict.fromkeys(needs.paths):
        walk_path(path, describe)
    owner_queries = OwnerQueries.build(needs.users, needs.queues)
    # The same LeadStatus query the conversion stream checks conversion.yaml with
    # (`SalesforceReads.lead_statuses`), here with the owner queries in one call.
    texts = [queries.lead_statuses()] if needs.lead_statuses else []
    results = _query_together(salesforce, [*texts, *owner_queries.texts])
    statuses = lead_statuses_of(results[0]) if needs.lead_statuses else None
    owners = (
        owner_queries.owners(needs.users, needs.queues, results[len(texts) :])
        if needs.users or needs.queues
        else None
    )
    return LiveSchema(
        fetched_at=now or datetime.now(UTC),
        lead=lead,
        contact=contact,
        source=source or {},
        objects=objects,
        lead_statuses=statuses,
        lists=fetch_lists(hubspot, needs.list_refs),
        owners=owners,
    )


def _query_together(salesforce: SalesforceSource, texts: Sequence[str]) -> list[list[Any]]:
    """The records of each of `texts`, in order: one alone as a plain query, several through
    the gateway's `query_many` (one Composite call for up to five) when it has one."""
    if len(texts) <= 1:
        return [salesforce.query(text) for text in texts]
    many = getattr(salesforce, "query_many", None)
    if callable(many):
        return list(many(list(texts)))
    return [salesforce.query(text) for text in texts]


# -- routing.yaml's users and queues ----------------------------------------------------------
#: How many active usernames, and queue DeveloperNames, are read for "did you mean" (the
#: look-ups of the names routing.yaml gives are not bounded by it).
SUGGESTION_LIMIT = 2000
#: How many close names the cache keeps per unknown reference (the first is suggested), and
#: how similar a name must be (difflib's ratio, as `did_you_mean` has it) to be one.
CLOSE_NAMES = 3
CLOSE_CUTOFF = 0.6


@dataclass(frozen=True)
class OwnerQueries:
    """The SOQL that resolves routing.yaml's references: the named users and queues (by id or
    name, as the router reads them), and, only when a name (not an id) is given, the active
    usernames or the queue DeveloperNames, bounded, for "did you mean". `kinds` says what each
    text reads."""

    texts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # "users", "usernames", "queues", "queue_names"

    @classmethod
    def build(cls, users: Sequence[str], queues: Sequence[str]) -> OwnerQueries:
        texts: list[str] = []
        kinds: list[str] = []
        for kind, refs, prefix, looking_up, all_names in (
            ("users", users, USER_PREFIX, queries.users, queries.active_usernames),
            ("queues", queues, QUEUE_PREFIX, queries.queues, queries.queue_names),
        ):
            ids = sorted({r for r in refs if is_id(r, prefix)})
            # As the router sends them: usernames without case, DeveloperNames as written.
            names = sorted(
                {r.casefold() if kind == "users" else r for r in refs if not is_id(r, prefix)}
            )
            looked_up = looking_up(ids, names)
            texts += looked_up
            kinds += [kind] * len(looked_up)
            if names:
                texts.append(all_names(SUGGESTION_LIMIT))
                kinds.append("usernames" if kind == "users" else "queue_names")
        return cls(tuple(texts), tuple(kinds))

    def owners(
        self, users: Sequence[str], queues: Sequence[str], results: Sequence[list[Any]]
    ) -> RoutingOwners:
        """Each reference resolved from the `results` of `texts`, with the close names of
        each unknown name."""
        rows: dict[str, list[Mapping[str, Any]]] = {kind: [] for kind in self.kinds}
        for kind, result in zip(self.kinds, results, strict=True):
            rows[kind] += result
        directory = Directory(
            users=[user_of(r) for r in rows.get("users", [])],
            queues=[queue_of(r) for r in rows.get("queues", [])],
        )
        usernames = [str(r.get("Username") or "") for r in rows.get("usernames", [])]
        queue_names = [str(r.get("DeveloperName") or "") for r in rows.get("queue_names", [])]
        found_users: dict[str, SalesforceUser | None] = {}
        found_queues: dict[str, SalesforceQueue | None] = {}
        close_users: dict[str, tuple[str, ...]] = {}
        close_queues: dict[str, tuple[str, ...]] = {}
        for ref in users:
            key = owner_key(ref, USER_PREFIX)
            user = directory.user(ref)
            found_users[key] = (
                None if user is None else SalesforceUser(user.id, user.username, user.active)
            )
            if user is None and not is_id(ref, USER_PREFIX):
                close_users[key] = close_names(ref, usernames, by_local_part=True)
        for ref in queues:
            key = owner_key(ref, QUEUE_PREFIX)
            queue = directory.queue(ref)
            found_queues[key] = (
                None if queue is None else SalesforceQueue(queue.id, queue.developer_name)
            )
            if queue is None and not is_id(ref, QUEUE_PREFIX):
                close_queues[key] = close_names(ref, queue_names)
        return RoutingOwners(found_users, found_queues, close_users, close_queues)


def close_names(
    word: str, candidates: Sequence[str], *, by_local_part: bool = False, n: int = CLOSE_NAMES
) -> tuple[str, ...]:
    """The `n` of `candidates` closest to `word` (case aside, similarity 0.6 or more), closest
    first. `by_local_part` (usernames) compares the part before the `@`: the users of one org
    share a domain, which would make any username look close to any other; the whole name then
    breaks ties (a sandbox's `user@acme.com.uat` still finds `user@acme.com`)."""

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    def local(name: str) -> str:
        return (name.rpartition("@")[0] or name) if by_local_part else name

    lowered = word.lower()
    scored = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        other = candidate.lower()
        score = ratio(local(lowered), local(other))
        if score >= CLOSE_CUTOFF:
            scored.append((-score, -ratio(lowered, other), candidate))
    return tuple(candidate for *_, candidate in sorted(scored)[:n])


def fetch_lists(hubspot: HubSpotSource, refs: Sequence[str]) -> dict[str, HubSpotList | None]:
    """The list each reference names (ids as they are, names through HubSpot's by-name
    look-up, as the feedback stream resolves them): one call per name, then one for every
    list's definition."""
    refs = list(dict.fromkeys(refs))
    if not refs:
        return {}
    names = [r for r in refs if not is_list_id(r)]
    ids_by_name = hubspot.list_ids_by_name(names) if names else {}
    ids = {ref: ref if is_list_id(ref) else ids_by_name.get(ref) for ref in refs}
    wanted = [i for i in dict.fromkeys(ids.values()) if i]
    found = {lst.list_id: lst for lst in map(hubspot_list, hubspot.lists(wanted))}
    return {ref: found.get(list_id) if list_id else None for ref, list_id in ids.items()}


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
