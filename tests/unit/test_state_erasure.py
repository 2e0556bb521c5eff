"""Privacy erasure in the state store (`StateStore.erase`, `tombstoned`): on SQLite (a temporary
file) and, when LEADBRIDGE_TEST_DATABASE_URL is set, on PostgreSQL (a schema per test)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from structlog.testing import capture_logs

from connector.errors import ConfigError
from connector.model import DeadLetter, Link, Transition
from connector.settings import Settings
from connector.state import AuditEvent, Commit, StateStore
from connector.state.erasure import OTHER_TABLES, RULES, other_table
from connector.state.keys import contact_fields_key, contact_key, lead_key
from connector.state.schema import metadata
from connector.state.store import Checkpoint
from connector.state.work import hand_over, pending, resync
from tests.unit.test_state_store import statements

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY = SecretStr("5f0c1a7e9b3d4c2a8e6f1b0d7c9a3e5f2b4d6a8c0e1f3a5b")
OTHER_KEY = SecretStr("0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071")
CONTACTS = "hubspot.contacts"
LEADS = "salesforce.leads"
CONVERSIONS = "hubspot.conversions"


@dataclass(frozen=True)
class Person:
    hubspot_id: str
    first: str
    last: str
    email: str
    phone: str
    lead_id: str
    contact_id: str
    account_id: str
    opportunity_id: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def traces(self) -> list[str]:
        """What must not be found after an erasure: email, names, phone (as typed and digits),
        and each as JSON text escapes it."""
        plain = [
            self.email.lower(),
            self.first.lower(),
            self.last.lower(),
            self.phone,
            "".join(c for c in self.phone if c.isdigit())[-10:],
        ]
        return list(dict.fromkeys([*plain, *(json.dumps(t)[1:-1] for t in plain)]))


AUGUSTA = Person(
    "901",
    "Augusta",
    "Kingsbüry",
    "Augusta.Kingsbury@analytical-engines.test",
    "+44 20 7946 0958",
    "00Q5g00000AugKgAAA",
    "0035g00000AugKgAAA",
    "0015g00000EngiNAAA",
    "0065g00000AugKgAAA",
)
GRACE = Person(
    "902",
    "Gracelyn",
    "Hopperfield",
    "gracelyn.hopperfield@navy-cobol.test",
    "+1 202 555 0147",
    "00Q5g00000GrcHpAAA",
    "0035g00000GrcHpAAA",
    "0015g00000NavyCAAA",
    "0065g00000GrcHpAAA",
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[StateStore]:
    with StateStore.open(database_url, clock=clock) as opened:
        yield opened


def fill(store: StateStore, person: Person, *, duplicate_id: str) -> None:
    """Everything the streams record for a person who was synced, routed, failed, converted,
    written back and backfilled, through the store's own API."""
    h = person.hubspot_id
    lead_fields = {
        "FirstName": person.first,
        "LastName": person.last,
        "Email": person.email,
        "Phone": person.phone,
        "Company": "Analytical Engines",
    }
    store.record(
        Commit(
            CONTACTS,
            links=[Link(h, "Lead", person.lead_id, lead_id=person.lead_id)],
            hashes={
                contact_key(h): "9e1c0b6f" * 8,
                contact_fields_key(h): json.dumps({"Email": "1f2e3d4c5b6a7980", "Phone": "aa"}),
            },
            failures=[
                DeadLetter(
                    CONTACTS,
                    h,
                    f"INVALID_EMAIL_ADDRESS: Email: invalid email address: {person.email}",
                    code="INVALID_EMAIL_ADDRESS",
                    fields=("Email",),
                    payload=lead_fields,
                ),
                # another contact of the same person: its failure quotes her email and name
                DeadLetter(
                    CONTACTS,
                    duplicate_id,
                    f"DUPLICATES_DETECTED: {person.name} <{person.email}> is already a Lead",
                    code="DUPLICATES_DETECTED",
                    payload={"Email": person.email.upper()},
                ),
            ],
            audit=[
                AuditEvent(
                    "routing",
                    h,
                    {
                        "hubspot_id": h,
                        "lead": {"company": "Analytical Engines", "email_domain": "x.test"},
                        "owner": {"id": "0055g00000OwnrAAAA", "name": "Rep One"},
                    },
                ),
                AuditEvent(
                    "conflict",
                    h,
                    {
                        "lead_id": person.lead_id,
                        "kept": {"Phone": f"Salesforce keeps {person.phone}"},
                    },
                ),
            ],
            owed={h: {"salesforceleadid": person.lead_id, "firstname": person.first}},
            work=[
                hand_over(LEADS, person.lead_id, f"the Lead of {person.name} was changed by a rep"),
                pending(CONVERSIONS, h, "conversion sent", lead_id=person.lead_id),
                resync(CONTACTS, h, f"drifted: Phone is {person.phone} in Salesforce"),
            ],
            cursor=T0,
            transitions=[
                Transition("mql", h, person.lead_id, T0, source="EMAIL_MARKETING"),
                Transition("handoff", h, person.lead_id, T0, owner_id="0055g00000OwnrAAAA"),
            ],
            checkpoint=Checkpoint(
                f"backfill-{h}",
                {"since": None, "until": None, "stages": ["salesqualifiedlead"], "limit": None},
                {
                    "position": {"mark": {"ms": 1765097000000, "ids": [h], "upto": None}},
                    "pending": {"ids": [h], "position": {}, "job": None},
                    "tally": {
                        "outcomes": {"create": 3, "fail": 1},
                        "pulled": 4,
                        "failures": [[h, f"REQUIRED_FIELD_MISSING: Company ({person.email})"]],
                    },
                },
            ),
        ),
        run_id=f"run-{h}",
    )
    # An alert of her Lead past its SLA (`connector.alerts.breach_alerts`).
    store.claim_alerts(
        {f"sla:{person.lead_id}": {"lead_id": person.lead_id, "hubspot_id": h}},
        timedelta(hours=1),
    )
    # Her Lead re-routed after that breach (`connector.service.reroute`): the claim keeps the
    # routing decision's path, her company's name in it.
    store.claim_reroute(
        person.lead_id,
        {"hubspot_id": h, "explain": {"lead": {"company": f"{person.name} Consulting"}}},
    )
    # Rows changed and removed before the erasure: the rows' old text is free space in the file.
    store.record(
        Commit(
            LEADS,
            done=[person.lead_id],
            work=[hand_over(LEADS, f"{person.lead_id[:-3]}BBB", f"{person.name}'s other Lead")],
        ),
        run_id=f"run-done-{h}",
    )
    store.record(Commit(LEADS, done=[f"{person.lead_id[:-3]}BBB"]), run_id=f"run-done2-{h}")
    store.record(
        Commit(
            LEADS,
            hashes={lead_key(person.lead_id): "c0ffee" * 10},
            direction="to_hubspot",
            failures=[
                DeadLetter(
                    LEADS,
                    person.lead_id,
                    f"HubSpot refused the contact of {person.name}: phone {person.phone} invalid",
                    payload={"phone": person.phone, "email": person.email},
                )
            ],
            audit=[AuditEvent("feedback", h, {"lead_id": person.lead_id, "kind": "rejected"})],
            transitions=[
                Transition(
                    "rejected", h, person.lead_id, T0, reason=f"{person.name} asked us not to call"
                )
            ],
        ),
        run_id=f"run-leads-{h}",
    )
    store.record(
        Commit(
            CONVERSIONS,
            links=[
                Link(
                    h,
                    "Contact",
                    person.contact_id,
                    lead_id=person.lead_id,
                    contact_id=person.contact_id,
                    account_id=person.account_id,
                    opportunity_id=person.opportunity_id,
                )
            ],
            audit=[
                AuditEvent(
                    "conversion",
                    h,
                    {"how": "auto", "lead_id": person.lead_id, "contact_id": person.contact_id},
                ),
                AuditEvent("dlq_drop", person.lead_id, {"failure": f"bad phone {person.phone}"}),
                # her duplicate's failure, dropped by a person: its details quote her name
                AuditEvent("dlq_drop", duplicate_id, {"failure": f"Mrs {person.last} is a Lead"}),
            ],
            transitions=[
                Transition(
                    stage,
                    h,
                    person.lead_id,
                    T0,
                    contact_id=person.contact_id,
                    opportunity_id=person.opportunity_id,
                )
                for stage in ("sql", "opportunity")
            ],
        ),
        run_id=f"run-conv-{h}",
    )


def every_value(store: StateStore) -> dict[str, list[tuple[str, str]]]:
    """Every text the database holds, per table (every table of it, every column, as text)."""
    found: dict[str, list[tuple[str, str]]] = {}
    with store.engine.connect() as connection:
        for name in sa.inspect(connection).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            rows = connection.execute(sa.select(*(sa.cast(c, sa.Text) for c in table.columns)))
            found[name] = [
                (column.name, value)
                for row in rows
                for column, value in zip(table.columns, row, strict=True)
                if value is not None
            ]
    return found


def traces_in(store: StateStore, person: Person) -> list[str]:
    """Where the person's email, names or phone still show (decoded JSON included)."""
    hits = []
    for table, values in every_value(store).items():
        for column, value in values:
            texts = [value.lower()]
            with contextlib.suppress(ValueError):
                texts.append(json.dumps(json.loads(value), ensure_ascii=False).lower())
            hits += [
                f"{table}.{column}: {t}" for t in person.traces() if any(t in x for x in texts)
            ]
    return hits


def dump(database_url: str) -> bytes:
    """The SQLite database's files as they lie on disk (the WAL included)."""
    path = Path(sa.make_url(database_url).database or "")
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def rows_of(store: StateStore, person: Person) -> dict[str, Any]:
    """What the store holds under a person's ids, to compare before and after."""
    ids = [person.hubspot_id, person.lead_id]
    return {
        "links": store.links([person.hubspot_id]),
        "hashes": store.hashes([contact_key(person.hubspot_id)], "to_salesforce"),
        "lead_hashes": store.hashes([lead_key(person.lead_id)], "to_hubspot"),
        "dead_letters": [
            d for d in store.dead_letters(include_resolved=True) if d.record_id in ids
        ],
        "work": [w for w in store.work() if w.record_id in ids],
        "owed": [o for o in store.owed_writebacks() if o.hubspot_id in ids],
        "audit": [(a.kind, a.details) for a in store.audit_events() if a.record_id in ids],
        "checkpoint": store.checkpoint(f"backfill-{person.hubspot_id}"),
        "journeys": [j for j in store.journeys() if j.hubspot_id == person.hubspot_id],
    }


def erase_augusta(store: StateStore, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "hubspot_id": AUGUSTA.hubspot_id,
        "email": f"  {AUGUSTA.email.upper()} ",
        "also": [AUGUSTA.name, AUGUSTA.first, AUGUSTA.last, AUGUSTA.phone],
        "reason": "hubspot_privacy_deletion",
        "key": KEY,
    }
    return store.erase(**(arguments | overrides))


# every table considered


def test_every_table_and_column_of_the_schema_has_an_erasure_rule() -> None:
    """A table or column added to the schema without saying what an erasure does fails here."""
    assert set(RULES) == set(metadata.tables)
    for name, table in metadata.tables.items():
        declared = RULES[name].columns
        assert sorted(declared) == sorted(c.name for c in table.columns), name
        assert len(set(declared)) == len(declared), f"{name}: a column sorted twice"
        assert RULES[name].why, name


def test_every_table_a_migrated_store_has_is_considered(store: StateStore) -> None:
    """The migrations make no table the rules miss (the job queue's on PostgreSQL included)."""
    with store.engine.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
    assert "alembic_version" in names
    assert {n for n in names if n not in RULES and not other_table(n)} == set()
    assert "procrastinate_" in OTHER_TABLES


# the erasure


def test_erase_leaves_no_trace_of_the_person_and_keeps_the_others(
    store: StateStore, database_url: str, clock: Clock
) -> None:
    """After an erasure no table, column or (SQLite) file byte holds her email, names or phone;
    another person's rows are as they were."""
    fill(store, AUGUSTA, duplicate_id="951")
    fill(store, GRACE, duplicate_id="952")
    assert len(traces_in(store, AUGUSTA)) > 20  # the scan does see her before
    if database_url.startswith("sqlite"):
        assert AUGUSTA.email.lower().encode() in dump(database_url).lower()
    grace_before = rows_of(store, GRACE)
    clock.now = T0 + timedelta(hours=1)

    erased = erase_augusta(store)

    assert traces_in(store, AUGUSTA) == []
    if database_url.startswith("sqlite"):
        raw = dump(database_url).lower()
        assert [t for t in AUGUSTA.traces() if t.encode() in raw] == []
    assert rows_of(store, GRACE) == grace_before
    assert GRACE.email.lower() in " ".join(v for _, v in every_value(store)["dead_letters"]).lower()
    assert erased.already is False
    assert dict(erased.removed) == {
        "links": 1,
        "written_hashes": 3,
        "dead_letters": 3,  # hers, her Lead's, and her duplicate's that quotes her
        "work": 3,  # pending conversion, resync, owed write-back (the hand-over was done)
        "audit": 6,  # five under her ids, and her duplicate's that quotes her name
        "checkpoints": 1,
        "alerts_sent": 2,  # her Lead's SLA alert and its re-route, not Grace's
        "transitions": 5,  # her journey's stages, kept under a key of their own
        "journeys": 1,  # her journey's row, grouped again under that key
    }
    assert store.links([AUGUSTA.hubspot_id]) == {}
    assert [w for w in store.work() if w.record_id in (AUGUSTA.hubspot_id, AUGUSTA.lead_id)] == []
    assert store.owed_writebacks() == [o for o in store.owed_writebacks() if o.hubspot_id == "902"]


def test_counts_only_rows_stay_for_reports(store: StateStore, clock: Clock) -> None:
    """Her failures stay counted (resolved, blanked) and her audit events keep kind, run and
    time; the backfill checkpoint keeps its position and counts."""
    fill(store, AUGUSTA, duplicate_id="951")
    clock.now = T0 + timedelta(hours=1)

    erase_augusta(store)

    letters = [
        d
        for d in store.dead_letters(include_resolved=True)
        if d.record_id in ("901", "951", AUGUSTA.lead_id)
    ]
    assert sorted((d.stream, d.record_id, d.reason, d.payload, d.attempts) for d in letters) == [
        (CONTACTS, "901", "(erased)", {}, 1),
        (CONTACTS, "951", "(erased)", {}, 1),
        (LEADS, AUGUSTA.lead_id, "(erased)", {}, 1),
    ]
    assert store.dead_letters() == []  # resolved: nothing for a person to look at
    events = [(e.kind, e.run_id, e.at, e.details) for e in store.audit_events()]
    assert events == [
        ("routing", "run-901", T0, {"erased": True}),
        ("conflict", "run-901", T0, {"erased": True}),
        ("feedback", "run-leads-901", T0, {"erased": True}),
        ("conversion", "run-conv-901", T0, {"erased": True}),
        ("dlq_drop", "run-conv-901", T0, {"erased": True}),
        ("dlq_drop", "run-conv-901", T0, {"erased": True}),
    ]
    checkpoint = store.checkpoint("backfill-901")
    assert checkpoint is not None
    assert checkpoint.state["position"] == {
        "mark": {"ms": 1765097000000, "ids": ["901"], "upto": None}
    }
    assert checkpoint.state["tally"]["outcomes"] == {"create": 3, "fail": 1}
    assert checkpoint.state["tally"]["failures"] == [["901", "(erased)"]]
    assert store.cursor(CONTACTS) == T0


def test_her_journey_stays_in_the_reports_without_her_ids(store: StateStore) -> None:
    """Her journey still counts in the funnel (its stages, times, source, owner, opportunity)
    under a random key; her HubSpot, Lead and Contact ids and the rejection reason are gone,
    and a second erasure changes nothing."""
    fill(store, AUGUSTA, duplicate_id="951")
    fill(store, GRACE, duplicate_id="952")
    grace = [j for j in store.journeys() if j.hubspot_id == GRACE.hubspot_id]

    erase_augusta(store)
    again = erase_augusta(store)

    journeys = store.journeys()
    assert len(journeys) == 2
    assert [j for j in journeys if j.hubspot_id == GRACE.hubspot_id] == grace
    (hers,) = [j for j in journeys if j.hubspot_id != GRACE.hubspot_id]
    assert hers.hubspot_id.startswith("erased:") and hers.lead_id == hers.hubspot_id
    assert (hers.entered, hers.rejected, hers.sql, hers.opportunity) == (T0, T0, T0, T0)
    assert hers.source == "EMAIL_MARKETING" and hers.owner_id == "0055g00000OwnrAAAA"
    assert hers.opportunity_id == AUGUSTA.opportunity_id
    assert hers.reason is None
    values = " ".join(v for _, v in every_value(store)["transitions"])
    assert AUGUSTA.hubspot_id not in values.split() and AUGUSTA.lead_id not in values
    assert AUGUSTA.contact_id not in values
    assert again.already is True


def test_other_records_count_as_hers_only_when_they_hold_her_whole_values(
    store: StateStore,
) -> None:
    """A row of another record is hers when its text holds her email, name or phone as a whole
    (an audit event of no record included); a longer name or address that contains hers is
    someone else's and stays."""
    fill(store, AUGUSTA, duplicate_id="951")
    others = {
        "960": "LastName: Kingsbüryson is not unique",
        "961": "Email: xaugusta.kingsbury@analytical-engines.test is invalid",
        "962": "Phone: +44 20 7946 09581 is too long",
    }
    store.record(
        Commit(
            CONTACTS,
            failures=[DeadLetter(CONTACTS, i, reason) for i, reason in others.items()],
            audit=[
                AuditEvent("list_refused", None, {"reason": f"{AUGUSTA.name} is on no list"}),
                AuditEvent("list_refused", None, {"reason": "Kingsbüryson is on no list"}),
            ],
        ),
        run_id="run-others",
    )

    erase_augusta(store)

    kept = {d.record_id: d.reason for d in store.dead_letters() if d.record_id in others}
    assert kept == others
    assert [e.details for e in store.audit_events(kind="list_refused")] == [
        {"erased": True},
        {"reason": "Kingsbüryson is on no list"},
    ]


def test_tombstone_keeps_ids_and_a_keyed_hash_never_the_email(store: StateStore) -> None:
    """The tombstone holds her HubSpot and Salesforce ids (from her link), a keyed hash of her
    email, why and when; her email shows nowhere in it."""
    fill(store, AUGUSTA, duplicate_id="951")

    erased = erase_augusta(store)

    (tombstone,) = store.tombstones()
    assert tombstone.id == erased.tombstone_id
    assert (
        tombstone.hubspot_id,
        tombstone.lead_id,
        tombstone.contact_id,
        tombstone.account_id,
        tombstone.opportunity_id,
    ) == ("901", AUGUSTA.lead_id, AUGUSTA.contact_id, AUGUSTA.account_id, AUGUSTA.opportunity_id)
    assert tombstone.reason == "hubspot_privacy_deletion"
    assert tombstone.erased_at == T0
    assert tombstone.email_hash is not None and len(tombstone.email_hash) == 64
    assert AUGUSTA.email.lower() not in repr(tombstone).lower()
    assert tombstone.removed["links"] == 1


def test_tombstone_is_found_by_ids_and_by_email_in_any_case(store: StateStore) -> None:
    """A page of contacts asks in one query: her HubSpot id, her Lead and Contact ids, and her
    email however it is written are erased; Grace's are not."""
    fill(store, AUGUSTA, duplicate_id="951")
    fill(store, GRACE, duplicate_id="952")
    erase_augusta(store)
    page_ids = [str(i) for i in range(800, 1000)]
    emails = [f"someone{i}@example.test" for i in range(200)] + [
        "augusta.kingsbury@ANALYTICAL-engines.test\t",
        GRACE.email,
    ]

    with statements(store.engine) as sent:
        found = store.tombstoned(
            hubspot_ids=page_ids,
            emails=emails,
            salesforce_ids=[AUGUSTA.lead_id, AUGUSTA.contact_id, GRACE.lead_id],
            key=KEY,
        )

    assert found.hubspot_ids == {"901"}
    assert found.emails == {"augusta.kingsbury@ANALYTICAL-engines.test\t"}
    assert found.salesforce_ids == {AUGUSTA.lead_id, AUGUSTA.contact_id}
    assert found.covers(email="augusta.kingsbury@ANALYTICAL-engines.test\t")
    assert not found.covers(hubspot_id="902", email=GRACE.email, salesforce_id=GRACE.lead_id)
    tombstone_queries = [s for s in sent if "FROM tombstones" in s]
    assert len(tombstone_queries) == 2  # the key check (once per store), then the page
    with statements(store.engine) as again:
        store.tombstoned(hubspot_ids=page_ids, emails=emails, key=KEY)
    assert len([s for s in again if "FROM tombstones" in s]) == 1


def test_an_email_alone_is_erased_and_recognised(store: StateStore) -> None:
    """A request naming only an email (never synced) leaves a tombstone its email matches."""
    erased = store.erase(email="Nobody.Synced@example.test", reason="request", key=KEY)

    assert erased.already is False
    assert store.tombstoned(emails=["nobody.synced@example.test "], key=KEY).emails == {
        "nobody.synced@example.test "
    }
    assert store.erase(email="NOBODY.synced@example.test", reason="request", key=KEY).already


def test_erasing_from_the_salesforce_side_finds_the_link(store: StateStore) -> None:
    """Erased by its Lead id alone, the person's HubSpot id and other ids come from the link."""
    fill(store, AUGUSTA, duplicate_id="951")

    store.erase(salesforce_ids=[AUGUSTA.lead_id], reason="salesforce_privacy_deletion", key=KEY)

    (tombstone,) = store.tombstones()
    assert (tombstone.hubspot_id, tombstone.contact_id) == ("901", AUGUSTA.contact_id)
    assert store.links(["901"]) == {}
    assert store.tombstoned(hubspot_ids=["901"]).hubspot_ids == {"901"}


def test_a_second_erasure_is_a_no_op_that_says_so(store: StateStore, clock: Clock) -> None:
    """Erasing the same person again changes nothing and says it was done before."""
    fill(store, AUGUSTA, duplicate_id="951")
    first = erase_augusta(store)
    before = every_value(store)
    clock.now = T0 + timedelta(days=1)

    with capture_logs() as logs:
        again = erase_augusta(store, email=AUGUSTA.email.lower(), reason="request")

    assert again.already is True
    assert again.tombstone_id == first.tombstone_id
    assert set(again.removed.values()) == {0}
    assert every_value(store) == before
    assert [e["already"] for e in logs if e["event"] == "state.erased"] == [True]


def test_erasure_logs_counts_never_who(store: StateStore) -> None:
    """The log lines of an erasure (and of recording her) say counts, never her ids or values."""
    with capture_logs() as logs:
        fill(store, AUGUSTA, duplicate_id="951")
        erase_augusta(store)

    (line,) = [e for e in logs if e["event"] == "state.erased"]
    assert line["removed_links"] == 1 and line["removed_audit"] == 6
    text = json.dumps(logs, default=str).lower()
    who = [*AUGUSTA.traces(), AUGUSTA.lead_id.lower(), AUGUSTA.contact_id.lower()]
    assert [t for t in who if t in text] == []
    assert '"901"' not in json.dumps(line, default=str)


def test_erasure_is_all_or_nothing(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure before the tombstone is recorded leaves every row as it was."""
    fill(store, AUGUSTA, duplicate_id="951")
    before = every_value(store)

    def boom(*args: Any) -> None:
        raise RuntimeError("crash before the tombstone")

    monkeypatch.setattr("connector.state.erasure._tombstone", boom)
    with pytest.raises(RuntimeError):
        erase_augusta(store)

    assert every_value(store) == before


# the key


def test_erasure_without_the_key_names_the_setting(store: StateStore) -> None:
    """No LEADBRIDGE_PRIVACY_KEY: one line naming it, and nothing erased."""
    fill(store, AUGUSTA, duplicate_id="951")

    with pytest.raises(ConfigError) as raised:
        erase_augusta(store, key=Settings.model_fields["privacy_key"].default)

    message = str(raised.value)
    assert message.startswith("LEADBRIDGE_PRIVACY_KEY is not set: ")
    assert "\n" not in message
    assert store.links(["901"]) != {}


def test_tombstones_made_under_another_key_are_not_silently_missed(store: StateStore) -> None:
    """Asking by email with another key, or none, is a ConfigError naming the setting; by id
    alone still answers."""
    erase_augusta(store)

    with pytest.raises(ConfigError, match=r"^LEADBRIDGE_PRIVACY_KEY is not the key 1 tombstones"):
        store.tombstoned(emails=[AUGUSTA.email], key=OTHER_KEY)
    with pytest.raises(ConfigError, match=r"^LEADBRIDGE_PRIVACY_KEY is not set, and 1 tombstones"):
        store.tombstoned(emails=[AUGUSTA.email])
    assert store.tombstoned(hubspot_ids=["901"]).hubspot_ids == {"901"}
    assert OTHER_KEY.get_secret_value() not in repr(store.tombstones())


def test_tombstoned_without_a_key_answers_by_id_while_no_email_is_kept(store: StateStore) -> None:
    """An install that never erased by email goes on without the key."""
    store.erase(hubspot_id="901", reason="request", key=KEY)

    found = store.tombstoned(hubspot_ids=["901", "902"], emails=[GRACE.email])

    assert found.hubspot_ids == {"901"} and found.emails == frozenset()


# what is refused


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "an erasure names the person"),
        ({"salesforce_ids": [AUGUSTA.account_id]}, "an erasure names the person"),
        ({"salesforce_ids": ["a0B5g00000XyZ1AAAA"]}, "none of the objects a person has"),
        ({"hubspot_id": "901", "also": ["Ada"]}, "too short to look for"),
        ({"hubspot_id": "901", "reason": "because"}, "unknown erasure reason 'because'"),
    ],
)
def test_unclear_erasures_are_refused(
    store: StateStore, arguments: dict[str, Any], message: str
) -> None:
    """An erasure that names no person, an id of no person, a value too short to look for, or
    an unknown reason is refused before anything changes."""
    with pytest.raises(ValueError, match=message):
        store.erase(**({"reason": "request", "key": KEY} | arguments))
    assert store.tombstones() == []


def test_ids_that_disagree_with_the_links_are_refused(store: StateStore) -> None:
    """A Lead id linked to another contact than the one named: a person must look."""
    fill(store, AUGUSTA, duplicate_id="951")
    fill(store, GRACE, duplicate_id="952")

    with pytest.raises(ValueError, match="linked to HubSpot contact 902, not 901"):
        store.erase(hubspot_id="901", salesforce_ids=[GRACE.lead_id], reason="request", key=KEY)
    assert store.links(["901", "902"]).keys() == {"901", "902"}


def test_outcomes_are_recorded_per_system(store: StateStore) -> None:
    """What became of the person in each system is recorded as a word, never as text."""
    erased = erase_augusta(store)

    store.erasure_outcome(erased.tombstone_id, hubspot="deleted")
    store.erasure_outcome(erased.tombstone_id, salesforce="anonymised")

    (tombstone,) = store.tombstones()
    assert (tombstone.hubspot_outcome, tombstone.salesforce_outcome) == ("deleted", "anonymised")
    with pytest.raises(ValueError, match="unknown erasure outcome"):
        store.erasure_outcome(erased.tombstone_id, hubspot="failed: no such contact 901")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no tombstone 999"):
        store.erasure_outcome(999, hubspot="deleted")


# the disk


def test_sqlite_zeroes_what_it_deletes(tmp_path: Path) -> None:
    """Every SQLite connection of the store overwrites deleted content (secure_delete), so an
    erased row's old text is not left in the file's free space."""
    with (
        StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store,
        store.engine.connect() as first,
        store.engine.connect() as second,
    ):
        for connection in (first, second):
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
