"""Re-routing a Lead past its SLA untouched: the next owner per routing.yaml (pure), and the
alert check's re-route over the state store (SQLite, and PostgreSQL when
LEADBRIDGE_TEST_DATABASE_URL is set) and a Salesforce double: once per Lead per breach, a crash
between the Salesforce update and the record included. Also the first touch by activity."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.alerts import Breach
from connector.checks.mapping_files import SLA, load_files
from connector.checks.sla import check_sla
from connector.model import (
    Activity,
    Journey,
    LeadUpdate,
    QueueInfo,
    Transition,
    UserInfo,
    WriteResult,
)
from connector.reports.config import Reroute, SlaConfig
from connector.reports.touches import activity_touches, waiting
from connector.routing.config import RoutingConfig
from connector.routing.directory import Directory
from connector.routing.explain import explain_lines
from connector.routing.policy import RoundRobin
from connector.routing.reroute import next_owner
from connector.routing.router import load_routing
from connector.service.alerting import Alerter
from connector.service.reroute import Rerouter, reason
from connector.settings import Settings
from connector.state import Commit, StateStore
from connector.state.store import AuditEvent

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

SAMANTHA = "005000000000001AAA"
TYLER = "005000000000002AAA"
DOROTHEA = "005000000000003AAA"
OLIVER = "005000000000004AAA"
NORDICS = "00G000000000001AAA"
INBOUND = "00G000000000002AAA"
USERS = [
    UserInfo(SAMANTHA, "Samantha Reyes", "samantha.reyes@acme-sales.test", active=True),
    UserInfo(TYLER, "Tyler Brooks", "tyler.brooks@acme-sales.test", active=True),
    UserInfo(DOROTHEA, "Dorothea Brandt", "dorothea.brandt@acme-sales.test", active=True),
    UserInfo(OLIVER, "Oliver Hughes", "oliver.hughes@acme-sales.test", active=True),
]
QUEUES = [
    QueueInfo(NORDICS, "Nordics Inbound", "Nordics_Inbound"),
    QueueInfo(INBOUND, "Inbound Leads", "Inbound_Leads"),
]
REASON = "SLA breach: first touch, untouched 95 min"


def _routing() -> RoutingConfig:
    return load_routing(MAPPINGS)


def _recorded(
    country: str | None, rule: str, owner: str, *, flagged: bool = False, hubspot_id: str = "101"
) -> dict[str, Any]:
    """A routing decision's audit payload, as `Policy` records it."""
    return {
        "hubspot_id": hubspot_id,
        "lead": {"company": "Initech", "email_domain": "initech.test", "country": country},
        "candidates": [],
        "chosen_account": None,
        "hierarchy": [],
        "hierarchy_error": None,
        "ultimate_parent": None,
        "global": {"value": flagged, "reason": "no matching account", "flagged": flagged},
        "watchers": [],
        "rule": rule,
        "owner": {"id": owner, "kind": "User", "name": "someone"},
    }


US_RULE = "regional: rule 'us' (country in [United States, USA, US])"


def _next(recorded: dict[str, Any] | None, current: str, **kw: Any):
    return next_owner(
        _routing(),
        recorded,
        current,
        Directory(USERS, QUEUES),
        RoundRobin(),
        reason=REASON,
        **kw,
    )


# -- the next owner (pure) ------------------------------------------------------------------


def test_a_regional_lead_goes_to_the_next_user_of_its_rule_never_the_same() -> None:
    """A US lead of Samantha's goes to Tyler (the other user of rule 'us'), and Tyler's to
    Samantha; the decision's rule is the SLA reason, the path says whom it came from."""
    found = _next(_recorded("US", US_RULE, SAMANTHA), SAMANTHA)
    assert found.owner is not None and found.owner.id == TYLER
    assert found.why == f"{REASON}; next of rule 'us'"
    assert found.explain is not None
    assert found.explain["owner"] == {"id": TYLER, "kind": "User", "name": "Tyler Brooks"}
    assert found.explain["rerouted"]["from"]["id"] == SAMANTHA
    lines = explain_lines(found.explain)
    assert f"rule: {REASON}; next of rule 'us'" in lines
    assert f"re-routed from: Samantha Reyes ({SAMANTHA}) (routed by {US_RULE})" in lines
    assert lines[-1] == f"owner: Tyler Brooks ({TYLER}), a user"
    back = _next(_recorded("US", US_RULE, TYLER), TYLER)
    assert back.owner is not None and back.owner.id == SAMANTHA


def test_a_rule_without_another_active_user_leaves_the_lead_where_it_is() -> None:
    """Rule 'dach' has Dorothea only: her breached lead stays with her, and says why."""
    rule = "regional: rule 'dach' (country in [Germany])"
    found = _next(_recorded("DE", rule, DOROTHEA), DOROTHEA)
    assert found.owner is None and found.explain is None
    assert found.why == "rule 'dach' has no other active user"
    inactive = [
        u if u.id != TYLER else UserInfo(TYLER, "Tyler", u.username, active=False) for u in USERS
    ]
    alone = next_owner(
        _routing(),
        _recorded("US", US_RULE, SAMANTHA),
        SAMANTHA,
        Directory(inactive, QUEUES),
        RoundRobin(),
        reason=REASON,
    )
    assert alone.owner is None and alone.why == "rule 'us' has no other active user"


def test_a_queue_rule_hands_the_lead_to_its_queue_unless_it_owns_it() -> None:
    """A Nordic lead owned by a user goes to the Nordics queue; one the queue owns stays."""
    rule = "regional: rule 'nordics' (country in [Sweden])"
    moved = _next(_recorded("SE", rule, SAMANTHA), SAMANTHA)
    assert moved.owner is not None and moved.owner.id == NORDICS
    stays = _next(_recorded("SE", rule, NORDICS), NORDICS)
    assert (
        stays.owner is None
        and stays.why == "rule 'nordics' assigns one queue, which owns it already"
    )


def test_a_global_lead_keeps_its_owner_unless_sla_yaml_says() -> None:
    """A global-account lead stays with its owner; with `reroute.global_leads` it goes to
    `global.team_queue`, and without a team queue it still stays."""
    recorded = _recorded(
        "US", "global: ultimate parent has Global_Account__c = true", OLIVER, flagged=True
    )
    kept = _next(recorded, OLIVER)
    assert kept.owner is None
    assert kept.why == "a global-account lead keeps its owner (sla.yaml reroute.global_leads)"
    no_team = _next(recorded, OLIVER, global_leads=True)
    assert no_team.owner is None and "global.team_queue" in no_team.why
    with_team = RoutingConfig.model_validate(
        {
            **_routing().model_dump(by_alias=True),
            "global": {
                "when": [{"field": "Global_Account__c", "equals": True}],
                "team_queue": "Inbound_Leads",
            },
        }
    )
    moved = next_owner(
        with_team,
        recorded,
        OLIVER,
        Directory(USERS, QUEUES),
        RoundRobin(),
        reason=REASON,
        global_leads=True,
    )
    assert moved.owner is not None and moved.owner.id == INBOUND


def test_review_default_or_unrecorded_leads_have_no_next_owner() -> None:
    """A lead routed to review or the default queue, or never routed by leadbridge, stays."""
    review = _next(_recorded("US", "review: ambiguous between A and B", INBOUND), INBOUND)
    assert review.owner is None and review.why == "routed by review, which names no next owner"
    default = _next(_recorded(None, "default queue: no regional rule fits", INBOUND), INBOUND)
    assert default.owner is None
    assert _next(None, SAMANTHA).why == "leadbridge recorded no routing decision for it"


def test_the_reason_names_the_target_and_the_minutes_untouched() -> None:
    """`SLA breach: <target name>, untouched <minutes> min`, minutes since the handoff."""
    breach = Breach("00Q1", "x", SAMANTHA, 1, 0.25, "101", target="first touch", handoff=T0)
    assert reason(breach, T0 + timedelta(minutes=95, seconds=10)) == REASON


# -- the re-route over the store and Salesforce ---------------------------------------------


class FakeSalesforce:
    """Leads by id with their owner; counts the updates it was sent."""

    def __init__(self, owners: dict[str, str]) -> None:
        self.leads = {
            lead: {"Id": lead, "OwnerId": o, "IsConverted": False} for lead, o in owners.items()
        }
        self.updates: list[list[LeadUpdate]] = []
        self.reads: list[list[str]] = []

    def current_leads(
        self, lead_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        self.reads.append(list(lead_ids))
        return {i: dict(self.leads[i]) for i in lead_ids if i in self.leads}

    def owners(self, **_: Any) -> tuple[list[UserInfo], list[QueueInfo]]:
        return USERS, QUEUES

    def update_leads(
        self, updates: Sequence[LeadUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        self.updates.append(list(updates))
        for u in updates:
            self.leads[u.lead_id].update(u.fields)
        return [WriteResult(u.hubspot_id, success=True, salesforce_id=u.lead_id) for u in updates]


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(minutes=95)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(database_url: str) -> Iterator[StateStore]:
    with StateStore.open(database_url, clock=Clock()) as opened:
        yield opened


SLA_ON = SlaConfig(reroute=Reroute(after_breach=True))
BREACH = Breach(
    "00Q000000000001AAA",
    "handed over",
    SAMANTHA,
    1.3,
    0.25,
    "101",
    target="first touch",
    handoff=T0,
)


def _routed(store: StateStore) -> None:
    store.record(
        Commit(
            stream="hubspot.contacts",
            audit=[AuditEvent("routing", "101", _recorded("US", US_RULE, SAMANTHA))],
        ),
        run_id="test",
    )


def _reroutes(store: StateStore) -> list[dict[str, Any]]:
    return [e.details for e in store.audit_events("101", "routing")][1:]


def test_a_breach_seen_twice_is_rerouted_once(store: StateStore) -> None:
    """The first check moves the Lead to Tyler in Salesforce and records the decision with
    the reason; the same breach seen again sends nothing and records nothing."""
    _routed(store)
    salesforce = FakeSalesforce({BREACH.lead_id: SAMANTHA})
    rerouter = Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())

    first = rerouter([BREACH])
    again = rerouter([BREACH])

    assert [(r.lead_id, r.owner_id) for r in first] == [(BREACH.lead_id, TYLER)]
    assert again == []
    assert [[u.fields for u in call] for call in salesforce.updates] == [[{"OwnerId": TYLER}]]
    decisions = _reroutes(store)
    assert len(decisions) == 1
    assert decisions[0]["rule"] == f"{REASON}; next of rule 'us'"
    assert decisions[0]["owner"]["id"] == TYLER


class Killed(Exception):
    """The process stopped here."""


def test_a_process_killed_after_the_update_and_before_the_record_reroutes_once(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Salesforce moved the Lead, then the process died before recording: the next check finds
    the claim, sees the Lead with its new owner, records the decision, and sends nothing more
    (no second owner, no second round-robin turn)."""
    _routed(store)
    salesforce = FakeSalesforce({BREACH.lead_id: SAMANTHA})
    with monkeypatch.context() as patched:
        patched.setattr(
            StateStore, "finish_reroute", lambda *a, **k: (_ for _ in ()).throw(Killed())
        )
        with pytest.raises(Killed):
            Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])
    assert len(salesforce.updates) == 1 and _reroutes(store) == []

    after = Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])
    later = Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])

    assert [(r.lead_id, r.owner_id) for r in after] == [(BREACH.lead_id, TYLER)]
    assert later == []
    assert len(salesforce.updates) == 1
    assert [d["owner"]["id"] for d in _reroutes(store)] == [TYLER]
    assert store.next_turns("us") == {TYLER: 1}


def test_a_process_killed_before_the_update_sends_the_claimed_owner_once(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claimed, then killed before Salesforce heard: the next check sends the owner claimed
    (not a new round-robin pick), once."""
    _routed(store)
    salesforce = FakeSalesforce({BREACH.lead_id: SAMANTHA})
    with monkeypatch.context() as patched:
        patched.setattr(
            FakeSalesforce, "update_leads", lambda *a, **k: (_ for _ in ()).throw(Killed())
        )
        with pytest.raises(Killed):
            Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])

    Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])
    Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])

    assert [[u.fields for u in call] for call in salesforce.updates] == [[{"OwnerId": TYLER}]]
    assert [d["owner"]["id"] for d in _reroutes(store)] == [TYLER]


def test_a_lead_someone_moved_meanwhile_is_left_alone(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim left unfinished whose Lead a person gave to someone else is closed without a
    write: the person's choice stands."""
    _routed(store)
    salesforce = FakeSalesforce({BREACH.lead_id: SAMANTHA})
    with monkeypatch.context() as patched:
        patched.setattr(
            FakeSalesforce, "update_leads", lambda *a, **k: (_ for _ in ()).throw(Killed())
        )
        with pytest.raises(Killed):
            Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])
    salesforce.leads[BREACH.lead_id]["OwnerId"] = OLIVER

    outcome = Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([BREACH])

    assert outcome[0].owner_id is None and "changed meanwhile" in outcome[0].why
    assert salesforce.updates == [] and _reroutes(store) == []
    assert store.reroutes([BREACH.lead_id])[BREACH.lead_id]["done"] is True


def test_a_lead_without_a_next_owner_is_decided_once_and_not_written(store: StateStore) -> None:
    """A Lead with no next owner (no routing decision recorded) is not written, and the
    decision is kept: the next check asks Salesforce nothing about it."""
    salesforce = FakeSalesforce({BREACH.lead_id: SAMANTHA})
    rerouter = Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())
    first = rerouter([BREACH])
    assert first[0].owner_id is None
    assert rerouter([BREACH]) == [] and salesforce.updates == []


# -- the first touch by activity ------------------------------------------------------------


def _journey(lead: str, handoff: datetime, **kw: Any) -> Journey:
    return Journey(f"h{lead}", lead, handoff, handoff=handoff, owner_id=SAMANTHA, **kw)


def test_the_first_activity_after_the_handoff_is_the_touch() -> None:
    """An activity from before the handoff is not an answer to it; the first after is the
    touch, at its time, Task or Event alike; Leads without one get none."""
    journeys = [_journey("00Q1", T0), _journey("00Q2", T0)]
    activities = {
        "00Q1": [
            Activity("00Q1", T0 - timedelta(days=2), "Task"),
            Activity("00Q1", T0 + timedelta(minutes=7), "Event"),
            Activity("00Q1", T0 + timedelta(minutes=9), "Task"),
        ]
    }
    assert activity_touches(journeys, activities) == [
        Transition(
            "touched",
            "h00Q1",
            "00Q1",
            T0 + timedelta(minutes=7),
            owner_id=SAMANTHA,
            reason="first activity: Event",
        )
    ]


def test_only_untouched_recent_handoffs_of_leads_are_read() -> None:
    """Touched journeys, those handed over more than 30 days ago and erased ones (their key
    is no Lead id: Salesforce would refuse the whole query) are not asked about."""
    now = T0 + timedelta(days=40)
    recent = now - timedelta(days=1)
    journeys = [
        _journey("00Q000000000001AAA", T0),
        _journey("00Q000000000002AAA", recent),
        _journey("00Q000000000003", recent),
        _journey("00Q000000000004AAA", recent, accepted=now),
        _journey("erased:0123456789abcdef", recent),
    ]
    assert [j.lead_id for j in waiting(journeys, now)] == [
        "00Q000000000002AAA",
        "00Q000000000003",
    ]


def test_an_erased_journeys_breach_is_not_rerouted(store: StateStore) -> None:
    """A breach whose Lead id is an erased journey's key asks Salesforce nothing."""
    salesforce = FakeSalesforce({})
    erased = Breach("erased:0123456789abcdef", "x", None, 1, 0.25, "erased:0123456789abcdef")
    assert Rerouter(_routing(), SLA_ON, store, salesforce, now=Clock())([erased]) == []
    assert salesforce.reads == []


def test_an_earlier_activity_moves_the_touch_back_and_a_later_one_does_not(
    store: StateStore,
) -> None:
    """The store keeps a journey's earliest touch: an activity before the recorded status
    touch moves it back; a status touch recorded after an activity changes nothing."""
    handoff = Transition("handoff", "h1", "00Q1", T0, owner_id=SAMANTHA)
    status_touch = Transition(
        "touched", "h1", "00Q1", T0 + timedelta(minutes=50), owner_id=SAMANTHA
    )
    store.record_transitions([handoff, status_touch])
    store.record_touches(
        [Transition("touched", "h1", "00Q1", T0 + timedelta(minutes=5), owner_id=SAMANTHA)]
    )
    store.record_touches(
        [Transition("touched", "h1", "00Q1", T0 + timedelta(minutes=30), owner_id=SAMANTHA)]
    )
    store.record_transitions([Transition("touched", "h1", "00Q1", T0 + timedelta(minutes=60))])
    (journey,) = store.journeys()
    assert journey.touched == T0 + timedelta(minutes=5)
    assert store.journeys(untouched=True) == []


# -- sla.yaml's settings checked ------------------------------------------------------------


def _sla_problems(tmp_path: Path, text: str, *, routing: bool) -> list[str]:
    (tmp_path / "lead.yaml").write_text("fields: []\n")
    if routing:
        (tmp_path / "routing.yaml").write_text("default: {queue: Inbound}\n")
    (tmp_path / SLA).write_text(text)
    files = load_files(tmp_path)
    problems = [p for p in files.problems if p.path.name == SLA]
    if SLA in files.loaded:
        problems += check_sla(files.loaded[SLA], routing=routing)
    return [str(p) for p in problems]


def test_reroute_without_routing_yaml_is_refused_naming_the_setting(tmp_path: Path) -> None:
    """`reroute.after_breach: true` with no routing.yaml is one error at its line."""
    text = "targets:\n  - {name: first touch, minutes: 15}\nreroute:\n  after_breach: true\n"
    assert _sla_problems(tmp_path, text, routing=False) == [
        f"{tmp_path / SLA}:4:17: reroute.after_breach: true needs routing.yaml: a "
        "breached lead's next owner comes from its rules"
    ]
    assert _sla_problems(tmp_path, text, routing=True) == []


def test_a_reroute_setting_of_the_wrong_kind_is_refused_at_its_line(tmp_path: Path) -> None:
    """A misspelt key or a value that is not true/false is one line naming the setting."""
    wrong = _sla_problems(tmp_path, "reroute:\n  after_breach: sometimes\n", routing=True)
    assert len(wrong) == 1 and "reroute.after_breach" in wrong[0] and ":2:" in wrong[0]
    misspelt = _sla_problems(tmp_path, "reroute:\n  after_breech: true\n", routing=True)
    assert len(misspelt) == 1 and "after_breech" in misspelt[0] and "after_breach" in misspelt[0]


# -- the alert check: activities first, then alerts and re-routes ---------------------------


class CheckSalesforce(FakeSalesforce):
    """Also answers the activities of Leads."""

    def __init__(self, owners: dict[str, str], activities: dict[str, list[Activity]]) -> None:
        super().__init__(owners)
        self.found = activities
        self.asked: list[list[str]] = []

    def activities(self, lead_ids: Sequence[str], since: datetime) -> dict[str, list[Activity]]:
        self.asked.append(sorted(lead_ids))
        return {i: [a for a in self.found.get(i, []) if a.at >= since] for i in lead_ids}


def test_the_check_counts_an_activity_as_the_touch_and_reroutes_the_untouched(
    store: StateStore, tmp_path: Path
) -> None:
    """Of two US Leads handed over 95 minutes ago against a 15-minute target, the one with a
    Task 5 minutes after its handoff is touched, neither alerted nor moved; the other is
    alerted and moved to Tyler; the next check asks only about the untouched one again."""
    shutil.copy(MAPPINGS / "routing.yaml", tmp_path / "routing.yaml")
    (tmp_path / "sla.yaml").write_text(
        "targets:\n  - {name: first touch, minutes: 15, working_hours: false}\n"
        "reroute:\n  after_breach: true\n"
    )
    called, waiting_lead = "00Q000000000002AAA", BREACH.lead_id
    store.record_transitions(
        [
            Transition("handoff", "101", waiting_lead, T0, owner_id=SAMANTHA),
            Transition("handoff", "102", called, T0, owner_id=SAMANTHA),
        ]
    )
    _routed(store)
    task = Activity(called, T0 + timedelta(minutes=5), "Task")
    salesforce = CheckSalesforce({waiting_lead: SAMANTHA, called: SAMANTHA}, {called: [task]})
    settings = Settings.model_construct(
        mappings_dir=tmp_path,
        alert_webhook_url=None,
        alert_dead_letter_spike=0,
        alert_lag_seconds=0,
        alert_period_seconds=3600,
    )
    alerter = Alerter(settings, store, dict, now=Clock(), salesforce=lambda: salesforce)

    sent = alerter.check()
    alerter.check()

    assert [a.key for a in sent] == [f"sla:{waiting_lead}"]
    assert salesforce.leads[waiting_lead]["OwnerId"] == TYLER
    assert salesforce.leads[called]["OwnerId"] == SAMANTHA
    assert len(salesforce.updates) == 1
    assert salesforce.asked == [sorted([called, waiting_lead]), [waiting_lead]]
    touched = {j.lead_id: j.touched for j in store.journeys()}
    assert touched == {called: task.at, waiting_lead: None}


def test_the_check_alerts_when_salesforce_cannot_be_reached(
    store: StateStore, tmp_path: Path
) -> None:
    """No session for the alert thread: the breach is alerted all the same, nothing moves."""
    (tmp_path / "routing.yaml").write_text("default: {queue: Inbound_Leads}\n")
    (tmp_path / "sla.yaml").write_text(
        "targets:\n  - {name: first touch, minutes: 15, working_hours: false}\n"
        "reroute:\n  after_breach: true\n"
    )
    store.record_transitions([Transition("handoff", "101", BREACH.lead_id, T0)])

    def away() -> CheckSalesforce:
        raise ConnectionError("no route to Salesforce")

    settings = Settings.model_construct(
        mappings_dir=tmp_path,
        alert_webhook_url=None,
        alert_dead_letter_spike=0,
        alert_lag_seconds=0,
        alert_period_seconds=3600,
    )
    sent = Alerter(settings, store, dict, now=Clock(), salesforce=away).check()
    assert [a.key for a in sent] == [f"sla:{BREACH.lead_id}"]


def test_the_status_page_shows_the_reroute_with_its_reason(tmp_path: Path) -> None:
    """A re-route recorded by the check is among the page's routing decisions: its rule is the
    SLA reason, its owner the new one, its path names the owner before."""
    from tests.unit.test_status_page import _client

    found = _next(_recorded("US", US_RULE, SAMANTHA), SAMANTHA)
    assert found.explain is not None
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.finish_reroute(
            BREACH.lead_id, {}, AuditEvent("routing", "101", found.explain), run_id="alerts"
        )
        html = _client(store).get("/").text
    assert f"{REASON}; next of rule &#39;us&#39;" in html
    assert f"re-routed from: Samantha Reyes ({SAMANTHA})" in html
    assert "Tyler Brooks" in html
