"""Erasure in the state store: what each table may hold of a person, and how it goes.

`RULES` names every table of `connector.state.schema` (`OTHER_TABLES` those the migrations make
outside it) with what an erasure does to it and why, and sorts each of its columns: `who` names
the person (their ids, or keys made of them: which rows are theirs), `personal` may hold their
values in clear (cleared with their rows, and searched for their email and the other values
given, whichever record a row is about), `derived` holds digests of their values (gone with
their rows), `plain` holds nothing of a person (times, counts, kinds, stream names). A test
fails when a table or a column has no rule. `erase` applies them in the caller's transaction,
and records the tombstone; `tombstoned` answers which ids and email hashes are erased people's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa

from connector.state.keys import contact_fields_key, contact_key, contact_sending_key, lead_key
from connector.state.privacy import ERASED, PERSON_COLUMNS, Erasure, Matcher, like_forms
from connector.state.reporting import refresh_journeys
from connector.state.schema import (
    alerts_sent,
    audit,
    checkpoints,
    dead_letters,
    journeys,
    links,
    tombstones,
    transitions,
    work,
    written_hashes,
)

Action = Literal["keep", "delete", "blank", "scrub"]

#: What an erased journey's HubSpot and Lead ids become: this prefix and a random key.
ERASED_KEY_PREFIX = "erased:"
#: What an audit event's details become.
ERASED_DETAILS: dict[str, Any] = {"erased": True}
#: Ids per query: well under SQLite's bound-variable limit (999 before SQLite 3.32).
IN_CHUNK = 500
# Any constant shared by every leadbridge process; "lbrs" (leadbridge erase) in ASCII.
_PG_LOCK_KEY = 0x6C627273
_TOMBSTONE_IDS = ("lead_id", "contact_id", "account_id", "opportunity_id")


@dataclass(frozen=True)
class Rule:
    """What an erasure does to one table, why, and what each of its columns holds."""

    action: Action
    why: str
    who: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.who, *self.personal, *self.derived, *self.plain)


RULES: dict[str, Rule] = {
    "cursors": Rule(
        "keep",
        "a stream's position: a time, no record",
        plain=("stream", "value", "updated_at"),
    ),
    "links": Rule(
        "delete",
        "the person's link: its ids go to the tombstone",
        who=("hubspot_id", "salesforce_id", "lead_id", "contact_id"),
        plain=(
            "salesforce_object",
            "account_id",
            "opportunity_id",
            "updated_at",
            "closed_at",
            "closed_reason",
        ),
    ),
    "written_hashes": Rule(
        "delete",
        "digests of what was written for the person: an unsalted digest of a value is matched "
        "by guessing the value",
        who=("record_key",),
        derived=("hash",),
        plain=("direction", "written_at"),
    ),
    "dead_letters": Rule(
        "blank",
        "the failure stays counted (stream, code, fields, attempts, times), resolved: there is "
        "no one left to look at; its reason and record go",
        who=("record_id",),
        personal=("reason", "payload"),
        plain=(
            "stream",
            "code",
            "fields",
            "attempts",
            "first_failed_at",
            "last_failed_at",
            "resolved_at",
        ),
    ),
    "work": Rule(
        "delete",
        "nothing is owed to an erased person: a hand-over, retry, resync, pending conversion or "
        "write-back done later would write them again",
        who=("record_id",),
        personal=("reason", "payload", "last_error"),
        plain=("stream", "kind", "not_before", "attempts", "created_at", "updated_at"),
    ),
    "audit": Rule(
        "blank",
        "kind, time and run stay for reports and counts; the details go",
        who=("record_id",),
        personal=("details",),
        plain=("id", "at", "run_id", "kind"),
    ),
    "round_robin": Rule(
        "keep",
        "routing rules' members and their turns: users and counts, no lead",
        plain=("rule", "member", "turns", "updated_at"),
    ),
    "checkpoints": Rule(
        "scrub",
        "a backfill must go on from where it stands: positions, ids and counts stay; the reasons "
        "kept of the person's failures, and any text holding their values, are blanked",
        personal=("options", "state"),
        plain=("name", "done", "started_at", "updated_at"),
    ),
    "alerts_sent": Rule(
        "delete",
        "when an alert was last sent, per condition; a lead past its SLA is a condition of its "
        "own (`sla:<Lead id>`, with the ids and owner in its details), and so is its re-route "
        "(`reroute:<Lead id>`): the person's go, the others (streams, budgets) name no one",
        who=("condition",),
        personal=("details",),
        plain=("sent_at",),
    ),
    "transitions": Rule(
        "blank",
        "the funnel, SLA and channel reports keep counting the journey (its stages, times, owner, "
        "queue, source, campaign, opportunity): its ids become one anonymous key, its rejection "
        "reason (sales' text) goes",
        who=("hubspot_id", "lead_id", "contact_id"),
        personal=("reason",),
        plain=(
            "id",
            "stage",
            "at",
            "opportunity_id",
            "owner_id",
            "queue",
            "source",
            "campaign",
            "recorded_at",
        ),
    ),
    "journeys": Rule(
        "blank",
        "the reports' journeys, grouped from the transitions: the person's rows go, and the "
        "transitions' eraser groups them again under the transitions' anonymous key (without "
        "the rejection reason)",
        who=("hubspot_id", "lead_id"),
        personal=("reason",),
        plain=(
            "entered",
            "mql",
            "handoff",
            "touched",
            "accepted",
            "rejected",
            "sql",
            "opportunity",
            "owner_id",
            "queue",
            "source",
            "campaign",
            "opportunity_id",
        ),
    ),
    "tombstones": Rule(
        "keep",
        "the tombstone itself: ids, a keyed hash of the email, outcomes and counts",
        plain=(
            "id",
            "hubspot_id",
            "lead_id",
            "contact_id",
            "account_id",
            "opportunity_id",
            "email_hash",
            "key_id",
            "reason",
            "erased_at",
            "hubspot_outcome",
            "salesforce_outcome",
            "removed",
            "updated_at",
        ),
    ),
}

#: Tables the migrations make outside `connector.state.schema` (by name, or name prefix ending
#: in `_`), and why they hold nothing of a person.
OTHER_TABLES: dict[str, str] = {
    "alembic_version": "the schema revision",
    "procrastinate_": "the job queue (PostgreSQL): a job's arguments name a step or a stream, "
    "never a record (connector.service.queue); the records webhooks name are work rows",
}


def other_table(name: str) -> bool:
    """Whether `name` is one of `OTHER_TABLES`."""
    return name in OTHER_TABLES or any(
        prefix.endswith("_") and name.startswith(prefix) for prefix in OTHER_TABLES
    )


@dataclass(frozen=True)
class Person:
    """Whom to erase: ids (tombstone column -> id, the HubSpot id as `hubspot_id`), the keyed
    hash of their email, and the values to look for in the store's text
    (`privacy.searched_values`: the email, and the names and phone given)."""

    ids: Mapping[str, str]
    email_hash: str | None
    searched: tuple[str, ...]

    @property
    def matcher(self) -> Matcher:
        return Matcher(self.searched)

    @property
    def record_ids(self) -> list[str]:
        """The ids rows are kept under: the HubSpot contact, its Lead and Contact."""
        return [self.ids[c] for c in ("hubspot_id", *PERSON_COLUMNS) if self.ids.get(c)]

    @property
    def salesforce_ids(self) -> list[str]:
        return [self.ids[c] for c in PERSON_COLUMNS if self.ids.get(c)]


def erase(
    connection: sa.Connection,
    *,
    hubspot_id: str | None,
    salesforce_ids: Mapping[str, str],
    email_hash: str | None,
    key_id: str,
    searched: Sequence[str],
    reason: str,
    now: datetime,
) -> tuple[Erasure, Person]:
    """Erase the person from every table (`RULES`) and record their tombstone, in the caller's
    transaction. A second erasure of the same person changes nothing and says so (`already`).

    Raises ValueError when the ids given and the links disagree (a Salesforce id linked to
    another HubSpot contact, two Leads for one person): a person must look.
    """
    if connection.dialect.name == "postgresql":  # erasures one at a time, across processes
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    person = Person(_known_ids(connection, hubspot_id, salesforce_ids), email_hash, tuple(searched))
    removed = {name: _ERASERS[name](connection, person, now) for name in _ERASERS}
    erased = _tombstone(connection, person, key_id, reason, removed, now)
    return erased, person


def _known_ids(
    connection: sa.Connection, hubspot_id: str | None, given: Mapping[str, str]
) -> dict[str, str]:
    """The ids given, with those the person's link adds."""
    ids = {"hubspot_id": hubspot_id} if hubspot_id else {}
    ids.update(given)
    person_sf = [given[c] for c in PERSON_COLUMNS if given.get(c)]
    conditions: list[sa.ColumnElement[bool]] = [
        links.c[c].in_(person_sf) for c in ("salesforce_id", *PERSON_COLUMNS)
    ]
    if hubspot_id:
        conditions.append(links.c.hubspot_id == hubspot_id)
    rows = connection.execute(sa.select(links).where(sa.or_(*conditions))).all()
    contacts = sorted({row.hubspot_id for row in rows} - {hubspot_id})
    if contacts and (hubspot_id or len(contacts) > 1):
        msg = (
            f"the Salesforce ids given are linked to HubSpot contact {', '.join(contacts)}"
            f"{f', not {hubspot_id}' if hubspot_id else ''}: erase each contact on its own"
        )
        raise ValueError(msg)
    for row in rows:
        ids["hubspot_id"] = row.hubspot_id
        for column in _TOMBSTONE_IDS:
            value = getattr(row, column)
            if value and ids.get(column, value) != value:
                msg = (
                    f"the {column.removesuffix('_id')} id given ({ids[column]}) is not the one "
                    f"linked to the contact ({value})"
                )
                raise ValueError(msg)
            if value:
                ids[column] = value
    return ids


def _mentioning(
    connection: sa.Connection,
    table: sa.Table,
    person: Person,
    *already: sa.ColumnElement[bool],
) -> list[sa.ColumnElement[bool]]:
    """Conditions, one per row of `table` kept under another record (or none) and meeting
    `already` (not blanked yet), whose `personal` columns mention one of the values looked for:
    found coarsely in SQL (LIKE, any case), then confirmed as whole words (`privacy.Matcher`),
    so `Person42` does not take `Person420`'s rows."""
    if not person.searched:
        return []
    personal = [table.c[name] for name in RULES[table.name].personal]
    keys = list(table.primary_key.columns)
    likes = [
        sa.func.lower(sa.cast(column, sa.Text)).contains(form, autoescape=True)
        for column in personal
        for form in like_forms(person.searched)
    ]
    query = sa.select(*keys, *personal).where(
        sa.or_(*likes),
        sa.or_(table.c.record_id.is_(None), table.c.record_id.not_in(person.record_ids)),
        *already,
    )
    matcher = person.matcher
    return [
        sa.and_(*(column == value for column, value in zip(keys, row, strict=False)))
        for row in connection.execute(query)
        if any(matcher.mentions(value) for value in row[len(keys) :])
    ]


def _each(
    connection: sa.Connection,
    statement: Callable[[sa.ColumnElement[bool]], sa.Executable],
    mine: sa.ColumnElement[bool],
    mentioning: list[sa.ColumnElement[bool]],
) -> int:
    """Run `statement` for the person's own rows, then for the rows mentioning them (a few
    rows a statement); the rows it changed."""
    changed = connection.execute(statement(mine)).rowcount
    for start in range(0, len(mentioning), 50):
        rows = sa.or_(*mentioning[start : start + 50])
        changed += connection.execute(statement(rows)).rowcount
    return int(changed)


def _erase_links(connection: sa.Connection, person: Person, now: datetime) -> int:
    conditions: list[sa.ColumnElement[bool]] = [
        links.c[c].in_(person.salesforce_ids) for c in ("salesforce_id", *PERSON_COLUMNS)
    ]
    if person.ids.get("hubspot_id"):
        conditions.append(links.c.hubspot_id == person.ids["hubspot_id"])
    return connection.execute(sa.delete(links).where(sa.or_(*conditions))).rowcount


def _erase_hashes(connection: sa.Connection, person: Person, now: datetime) -> int:
    keys = [lead_key(i) for i in person.salesforce_ids]
    if person.ids.get("hubspot_id"):
        keys += [
            contact_key(person.ids["hubspot_id"]),
            contact_fields_key(person.ids["hubspot_id"]),
            contact_sending_key(person.ids["hubspot_id"]),
        ]
    statement = sa.delete(written_hashes).where(written_hashes.c.record_key.in_(keys))
    return connection.execute(statement).rowcount


def _erase_dead_letters(connection: sa.Connection, person: Person, now: datetime) -> int:
    open_ = dead_letters.c.reason != ERASED

    def blank(rows: sa.ColumnElement[bool]) -> sa.Executable:
        return (
            sa.update(dead_letters)
            .where(rows, open_)
            .values(
                reason=ERASED,
                payload={},
                resolved_at=sa.func.coalesce(dead_letters.c.resolved_at, now),
            )
        )

    mine = dead_letters.c.record_id.in_(person.record_ids)
    return _each(connection, blank, mine, _mentioning(connection, dead_letters, person, open_))


def _erase_work(connection: sa.Connection, person: Person, now: datetime) -> int:
    mine = work.c.record_id.in_(person.record_ids)
    return _each(
        connection,
        lambda rows: sa.delete(work).where(rows),
        mine,
        _mentioning(connection, work, person),
    )


def _erase_audit(connection: sa.Connection, person: Person, now: datetime) -> int:
    # A JSON value's text is the same on both databases ('{"erased": true}').
    unblanked = sa.cast(audit.c.details, sa.Text) != sa.literal('{"erased": true}')
    mine = audit.c.record_id.in_(person.record_ids)
    return _each(
        connection,
        lambda rows: sa.update(audit).where(rows, unblanked).values(details=ERASED_DETAILS),
        mine,
        _mentioning(connection, audit, person, unblanked),
    )


def _erase_checkpoints(connection: sa.Connection, person: Person, now: datetime) -> int:
    """A backfill's checkpoint keeps the first failures of its run as [record id, reason]
    (`streams.backfill.decide.Tally`): the person's reasons are blanked, and any text holding
    a value looked for. Checkpoints are few: read whole, changed in Python."""
    ids = set(person.record_ids)
    matcher = person.matcher
    changed = 0
    for row in connection.execute(
        sa.select(checkpoints.c.name, checkpoints.c.options, checkpoints.c.state)
    ).all():
        state = matcher.scrub(_blank_failures(row.state, ids))
        options = matcher.scrub(row.options)
        if state == row.state and options == row.options:
            continue
        connection.execute(
            sa.update(checkpoints)
            .where(checkpoints.c.name == row.name)
            .values(state=state, options=options)
        )
        changed += 1
    return changed


def _blank_failures(state: Any, ids: set[str]) -> Any:
    tally = state.get("tally") if isinstance(state, dict) else None
    failures = tally.get("failures") if isinstance(tally, dict) else None
    if not isinstance(tally, dict) or not isinstance(failures, list):
        return state
    kept = [[f[0], ERASED] if isinstance(f, list) and f and f[0] in ids else f for f in failures]
    return {**state, "tally": {**tally, "failures": kept}}


def _erase_alerts(connection: sa.Connection, person: Person, now: datetime) -> int:
    conditions = [f"{kind}:{i}" for i in person.salesforce_ids for kind in ("sla", "reroute")]
    if not conditions:
        return 0
    statement = sa.delete(alerts_sent).where(alerts_sent.c.condition.in_(conditions))
    return connection.execute(statement).rowcount


def _mine(person: Person) -> sa.ColumnElement[bool]:
    """The person's transitions: by their Lead or Contact id, or their HubSpot id."""
    conditions: list[sa.ColumnElement[bool]] = [
        transitions.c.lead_id.in_(person.salesforce_ids),
        transitions.c.contact_id.in_(person.salesforce_ids),
    ]
    if person.ids.get("hubspot_id"):
        conditions.append(transitions.c.hubspot_id == person.ids["hubspot_id"])
    return sa.or_(*conditions)


def _journeys_of(connection: sa.Connection, person: Person) -> list[tuple[Any, Any]]:
    query = sa.select(transitions.c.hubspot_id, transitions.c.lead_id).where(_mine(person))
    return [tuple(row) for row in connection.execute(query.distinct())]


def _erase_journeys(connection: sa.Connection, person: Person, now: datetime) -> int:
    """The rows of the person's journeys (found by their transitions, before those are
    erased) go; `_erase_transitions` groups them again under their anonymous keys."""
    keys = [(h, lead) for h, lead in _journeys_of(connection, person) if h and lead]
    deleted = 0
    for begin in range(0, len(keys), IN_CHUNK // 2):
        chunk = keys[begin : begin + IN_CHUNK // 2]
        condition = sa.tuple_(journeys.c.hubspot_id, journeys.c.lead_id).in_(chunk)
        deleted += connection.execute(sa.delete(journeys).where(condition)).rowcount
    return deleted


def _erase_transitions(connection: sa.Connection, person: Person, now: datetime) -> int:
    """The person's journeys stay counted under a random key each (the same for every stage
    of one journey, so it stays one journey; nothing leads back to them), without the Contact
    id and the rejection reason; their `journeys` rows are grouped again under that key."""
    mine = _mine(person)
    changed = 0
    keys: list[tuple[str, str]] = []
    for hubspot_id, lead_id in _journeys_of(connection, person):
        key = f"{ERASED_KEY_PREFIX}{secrets.token_hex(8)}"
        changed += connection.execute(
            sa.update(transitions)
            .where(
                mine,
                transitions.c.hubspot_id.is_not_distinct_from(hubspot_id),
                transitions.c.lead_id.is_not_distinct_from(lead_id),
            )
            .values(hubspot_id=key, lead_id=key, contact_id=None, reason=None)
        ).rowcount
        keys += [(key, key), (hubspot_id, lead_id)]
    refresh_journeys(connection, [(h, lead) for h, lead in keys if h and lead])
    return changed


#: The tables an erasure changes, in order; every `RULES` table that is not kept has one.
_ERASERS: dict[str, Callable[[sa.Connection, Person, datetime], int]] = {
    "links": _erase_links,
    "written_hashes": _erase_hashes,
    "dead_letters": _erase_dead_letters,
    "work": _erase_work,
    "audit": _erase_audit,
    "checkpoints": _erase_checkpoints,
    "alerts_sent": _erase_alerts,
    "journeys": _erase_journeys,  # before the transitions: found by them
    "transitions": _erase_transitions,
}
if {n for n, r in RULES.items() if r.action != "keep"} != set(_ERASERS):  # pragma: no cover
    msg = "every table an erasure changes needs a rule and an eraser"
    raise RuntimeError(msg)


def _tombstone(
    connection: sa.Connection,
    person: Person,
    key_id: str,
    reason: str,
    removed: dict[str, int],
    now: datetime,
) -> Erasure:
    """Add the person's tombstone, or fill in what an earlier one lacked."""
    ids = person.ids
    if ids.get("hubspot_id"):
        found = tombstones.c.hubspot_id == ids["hubspot_id"]
    elif person.email_hash:
        found = sa.and_(tombstones.c.email_hash == person.email_hash, tombstones.c.key_id == key_id)
    else:
        found = sa.or_(*(tombstones.c[c] == ids[c] for c in PERSON_COLUMNS if ids.get(c)))
    row = connection.execute(sa.select(tombstones).where(found).limit(1)).first()
    if row is None:
        values = {
            **{c: ids.get(c) for c in ("hubspot_id", *_TOMBSTONE_IDS)},
            "email_hash": person.email_hash,
            "key_id": key_id,
            "reason": reason,
            "erased_at": now,
            "removed": removed,
            "updated_at": now,
        }
        inserted = connection.execute(sa.insert(tombstones).values(values))
        tombstone_id = int(cast(Any, inserted.inserted_primary_key)[0])
        return Erasure(tombstone_id, already=False, removed=removed)
    filled = {
        c: ids[c] for c in ("hubspot_id", *_TOMBSTONE_IDS) if ids.get(c) and not getattr(row, c)
    }
    if person.email_hash and not row.email_hash:
        filled.update(email_hash=person.email_hash, key_id=key_id)
    if not filled and not any(removed.values()):
        return Erasure(int(row.id), already=True, removed=removed)
    total = {t: int((row.removed or {}).get(t, 0)) + n for t, n in removed.items()}
    connection.execute(
        sa.update(tombstones)
        .where(tombstones.c.id == row.id)
        .values(**filled, removed=total, updated_at=now)
    )
    return Erasure(int(row.id), already=False, removed=removed)


def tombstoned(
    connection: sa.Connection,
    *,
    hubspot_ids: Sequence[str],
    email_hashes: Sequence[str],
    salesforce_ids: Sequence[str],
    key_id: str | None,
) -> tuple[set[str], set[str], set[str]]:
    """Of the ids and email hashes (made under `key_id`) given, those of erased people: one
    query for a page (`IN_CHUNK` values at most), more for more."""
    found: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    hubspot = set(hubspot_ids)
    hashes = set(email_hashes)
    salesforce = set(salesforce_ids)
    columns = (
        tombstones.c.hubspot_id,
        tombstones.c.email_hash,
        tombstones.c.lead_id,
        tombstones.c.contact_id,
    )
    for batch in _batches(hubspot_ids, email_hashes if key_id else (), salesforce_ids):
        ids, emails, sf = batch
        # One SELECT per column, joined by UNION ALL: each an index look-up (an OR of the four
        # made PostgreSQL scan the whole table, comparing each row with every value given).
        conditions: list[sa.ColumnElement[bool]] = []
        if ids:
            conditions.append(tombstones.c.hubspot_id.in_(ids))
        if emails:
            conditions.append(
                sa.and_(tombstones.c.email_hash.in_(emails), tombstones.c.key_id == key_id)
            )
        if sf:
            conditions += [tombstones.c.lead_id.in_(sf), tombstones.c.contact_id.in_(sf)]
        selects = [sa.select(*columns).where(condition) for condition in conditions]
        query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        for row in connection.execute(query):
            if row.hubspot_id in hubspot:
                found[0].add(row.hubspot_id)
            if row.email_hash in hashes:
                found[1].add(row.email_hash)
            found[2].update(i for i in (row.lead_id, row.contact_id) if i in salesforce)
    return found


def _batches(
    *lists: Sequence[str],
) -> Iterator[tuple[list[str], ...]]:
    """The values of `lists`, deduplicated, in batches of `IN_CHUNK` values at most in all
    (a Salesforce id counts twice: it is looked for in two columns)."""
    pending = [list(dict.fromkeys(values)) for values in lists]
    weights = (1, 1, 2)
    while any(pending):
        room = IN_CHUNK
        batch: list[list[str]] = []
        for values, weight in zip(pending, weights, strict=True):
            take = min(len(values), room // weight)
            batch.append(values[:take])
            del values[:take]
            room -= take * weight
        yield tuple(batch)


def key_ids(connection: sa.Connection) -> dict[str, int]:
    """How many tombstones keep an email hash, per key they were made under."""
    query = (
        sa.select(tombstones.c.key_id, sa.func.count())
        .where(tombstones.c.email_hash.is_not(None))
        .group_by(tombstones.c.key_id)
    )
    return {key: int(n) for key, n in connection.execute(query)}


def set_outcome(
    connection: sa.Connection,
    tombstone_id: int,
    values: Mapping[str, str],
    now: datetime,
) -> bool:
    """Record what became of the person in HubSpot and/or Salesforce; False without such a
    tombstone."""
    statement = (
        sa.update(tombstones)
        .where(tombstones.c.id == tombstone_id)
        .values(**values, updated_at=now)
    )
    return bool(connection.execute(statement).rowcount)
