"""The proof of issue 15: several `leadbridge run` workers on one PostgreSQL schema carry
contacts through MQL -> accepted/rejected -> SQL -> converted while both sides edit them, the
sandbox meets a tenth of the calls with a retryable fault, and random workers are SIGKILLed
(each restarted at once). At the end the faults stop, the workers settle, and an oracle
compares both systems (crash_restart.py's checks through simple-salesforce and
hubspot-api-client, and the scenario's own through the sandbox). Prints one table:

- kills, and the faults served per kind (the sandbox's fault report);
- Leads, conversions and feedback (status, rejection reason, the rep's phone) expected vs
  present; duplicates (two Leads for one contact), lost (expected, neither present nor
  dead-lettered), double conversions, stray opportunities, stale edits;
- writes that changed nothing (a WSGI middleware compares each record leadbridge writes with
  what the sandbox holds): replays (the same write again after a fault or a kill left its
  outcome unknown) and echo writes (leadbridge writing back its own change);
- dead letters with their reasons (submitted = applied + dead-lettered), and run time.

Targets: 0 lost, 0 duplicates, 0 double conversions, 0 echo writes (and nothing stale or
stray); exit status 1 on a miss.

The settle (faults off) ends when every expectation is met, or when the workers have caught up
with the scenario (`behind`: nothing more can come), or after --settle seconds: a timeout,
shown as such; what was not done by then is not counted as lost. Catching up takes up to twice
--overlap (the workers' LEADBRIDGE_SYNC_OVERLAP_SECONDS) after the scenario's last change: a
change HubSpot's search showed late is read once it has settled.

The scenario, seeded (--seed): contacts start at `lead`; marketing moves them to MQL in waves
(HubSpot API). Once a Lead shows up, "sales" (a rep user, Salesforce API) accepts it
("Working - Contacted", 60 %), rejects it ("Closed - Not Converted" with a reason, 25 %) or
leaves it open. Once HubSpot shows an acceptance, marketing moves 70 % of those to SQL, which
leadbridge converts. All along marketing renames contacts and sales changes Lead phones
(Phone is two-way, newest wins). The bench's own calls meet no per-request fault (a script
whose work is the scenario, not the proof), but their changes can lag in HubSpot's search.

Needs PostgreSQL: --database-url or LEADBRIDGE_TEST_DATABASE_URL (a schema of its own is made
and dropped).

    .venv/bin/python bench/reliability.py [--contacts 5000] [--workers 3] [--kills 50]
        [--fault-rate 0.10] [--seed 15] [--overlap 60] [--settle 600]

Debugging: RELIABILITY_KEEP_LOGS=DIR keeps the workers' logs, RELIABILITY_LOG_LEVEL their level
(warning), RELIABILITY_KEEP_SCHEMA=1 the state store's schema (its name on stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from connector.logging import configure_logging
from connector.model import DeadLetter
from connector.sandbox.app import Sandbox, SandboxConfig
from connector.sandbox.env import sandbox_env, sandbox_login
from connector.sandbox.faults import REQUEST_KINDS, RETRYABLE, FaultProfile, profile_from
from connector.sandbox.server import SandboxServer
from connector.settings import Settings
from connector.state.store import StateStore
from connector.streams.contacts.stream import STREAM as CONTACTS_STREAM
from connector.streams.conversions.stream import STREAM as CONVERSIONS_STREAM
from connector.streams.leads.stream import STREAM as LEADS_STREAM
from connector.streams.windows import settled_stream
from connector.wiring import PASS_STEPS

sys.path.insert(0, str(Path(__file__).parent))
from crash_restart import check

MAPPINGS = Path(__file__).parents[1] / "mappings"
LEADBRIDGE = Path(sys.executable).parent / "leadbridge"
FIRST_ID = 200_000
REP = "sales@reliability.example"
BENCH_HEADER = "HTTP_X_LEADBRIDGE_BENCH"
ACCEPTED, REJECTED, OPEN_STATUS = (
    "Working - Contacted",
    "Closed - Not Converted",
    "Open - Not Contacted",
)
REASONS = ("No budget", "Bad timing", "Competitor chosen", "Not the decision maker", "Duplicate")
TIMEOUT_S = 2.0  # the workers' client timeout; a slow answer takes longer
SEARCH_LAG_MS = 3000  # how long a change lagging in HubSpot's search stays out of it
DEFAULT_OVERLAP_S = Settings.model_fields["sync_overlap_seconds"].default
SQL_STAGES = ("salesqualifiedlead", "opportunity")  # the stages crash_restart.check counts as SQL
PHONE_TWO_WAY = (
    "{hubspot: phone, salesforce: Phone, transform: [strip]}",
    "{hubspot: phone, salesforce: Phone, transform: [strip], direction: both, "
    "conflict: newest_wins}",
)


# -- the scenario ----------------------------------------------------------------------------
@dataclass
class Contact:
    """One contact's planned fate and what the bench did to it."""

    cid: str
    fate: str  # "accept", "reject" or "open"
    sql: bool  # marketing moves it to SQL once HubSpot shows the acceptance
    reason: str | None = None
    mql: bool = False
    decided: bool = False
    promoted: bool = False
    firstname: str = ""
    phone: str = ""
    phone_edits: list[tuple[float, str]] = field(default_factory=list)  # (when, the rep's phone)


def plan(contacts: int, rng: random.Random) -> list[Contact]:
    people = []
    for i in range(contacts):
        draw = rng.random()
        fate = "accept" if draw < 0.60 else "reject" if draw < 0.85 else "open"
        people.append(
            Contact(
                cid=str(FIRST_ID + i),
                fate=fate,
                sql=fate == "accept" and rng.random() < 0.70,
                reason=rng.choice(REASONS) if fate == "reject" else None,
                firstname=f"First{i}",
                phone=f"+46 70 100 {i:05d}",
            )
        )
    return people


def make_seed(people: list[Contact]) -> dict[str, Any]:
    contacts = [
        {
            "id": p.cid,
            "properties": {
                "email": f"person{p.cid}@proof{int(p.cid) % 211}.example",
                "firstname": p.firstname,
                "lastname": f"Last{p.cid}",
                "company": f"Proof Co {int(p.cid) % 211}",
                "phone": p.phone,
                "lifecyclestage": "lead",
            },
        }
        for p in people
    ]
    rep = {"Id": "@rep", "Username": REP, "LastName": "Sales", "Email": REP, "Alias": "sales"}
    return {"hubspot": {"contacts": contacts}, "salesforce": {"User": [rep]}}


class Actors:
    """Marketing (HubSpot API) and sales (Salesforce API as the rep), marked as the bench's
    own calls; what they see they read from the sandbox in-process."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.sandbox: Sandbox = server.sandbox
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = str(server.ca_file)
        self.http.headers["X-Leadbridge-Bench"] = "1"
        # When the bench's last change to each side was made (set once the API answered).
        self.changed: dict[str, datetime] = {}
        self._login()

    def _login(self) -> None:
        token = sandbox_login(self.server, REP)
        self.sf_token, self.instance = token["access_token"], token["instance_url"]

    def _call(self, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
        for _ in range(5):
            answer = self.http.request(method, url, json=body, headers=headers, timeout=60)
            if answer.status_code == 401 and "services/data" in url:
                self._login()
                headers = {"Authorization": f"Bearer {self.sf_token}"}
                continue
            answer.raise_for_status()
            return answer.json() if answer.content else None
        answer.raise_for_status()
        return None

    def hubspot_update(self, changes: dict[str, dict[str, str]]) -> None:
        token = self.sandbox.config.hubspot_token
        items = list(changes.items())
        for start in range(0, len(items), 100):
            inputs = [{"id": cid, "properties": p} for cid, p in items[start : start + 100]]
            self._call(
                "POST",
                f"{self.server.url}/crm/v3/objects/contacts/batch/update",
                {"Authorization": f"Bearer {token}"},
                {"inputs": inputs},
            )
        self.changed["hubspot"] = datetime.now(UTC)

    def salesforce_update(self, changes: dict[str, dict[str, str]]) -> None:
        items = list(changes.items())
        for start in range(0, len(items), 200):
            records = [
                {"attributes": {"type": "Lead"}, "Id": lead_id, **values}
                for lead_id, values in items[start : start + 200]
            ]
            results = self._call(
                "PATCH",
                f"{self.instance}/services/data/v59.0/composite/sobjects",
                {"Authorization": f"Bearer {self.sf_token}"},
                {"allOrNone": False, "records": records},
            )
            refused = [r for r in results or [] if not r.get("success")]
            if refused:
                print(f"  sales' update refused: {refused[:3]}")
        self.changed["salesforce"] = datetime.now(UTC)

    def leads(self) -> dict[str, dict[str, Any]]:
        """The Leads carrying a HubSpot contact id, by that id (copies)."""
        with self.sandbox.lock:
            return {
                str(lead["HubSpot_Contact_Id__c"]): dict(lead)
                for lead in self.sandbox.org.records["Lead"].values()
                if lead.get("HubSpot_Contact_Id__c")
            }

    def contacts(self) -> dict[str, dict[str, str]]:
        with self.sandbox.lock:
            return {c.id: dict(c.props) for c in self.sandbox.portal.stores["contacts"].live()}


# -- the middleware: kills at no point in particular, writes that changed nothing -----------
@dataclass
class Write:
    started: float
    digest: str = ""
    noop: bool = False
    # Not until its answer is served (`Observer._settle`): a write still in flight when the
    # same write comes again (its sender's client timed out, TIMEOUT_S, while the loaded
    # sandbox was still serving it) is one whose outcome the sender did not learn.
    confirmed: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    # The record's phone when the write came (for the stale examples' timelines).
    phone_before: Any = None


@dataclass
class Writes:
    """What leadbridge wrote, record by record: writes that changed nothing, split into
    replays (an earlier write to the record sent every one of its values, and its sender may
    not have learnt the outcome: it met a fault, outlived the client's timeout, was still being
    served, or a worker was killed after it was sent) and echoes (everything else)."""

    records: int = 0
    noop: int = 0
    replays: int = 0
    echoes: list[str] = field(default_factory=list)
    last: dict[tuple[str, str, str], Write] = field(default_factory=dict)
    history: dict[tuple[str, str], list[Write]] = field(default_factory=dict)
    kills: list[float] = field(default_factory=list)


class Observer:
    """WSGI middleware around the sandbox app. The bench's own calls (marked) meet no
    per-request fault; each record leadbridge writes is compared with what the sandbox holds
    before the write is served."""

    SF_COLLECTION = re.compile(r"/services/data/v[\d.]+/composite/sobjects(?:/(\w+)/(\w+))?$")
    SF_RECORD = re.compile(r"/services/data/v[\d.]+/sobjects/(\w+)/(\w+)(?:/([^/]+))?$")
    HS_BATCH = re.compile(r"/crm/v3/objects/contacts/batch/update$")
    HS_ONE = re.compile(r"/crm/v3/objects/contacts/(\d+)$")

    def __init__(self, app: Any, sandbox: Sandbox) -> None:
        self.app, self.sandbox = app, sandbox
        self.writes = Writes()
        self.lock = threading.Lock()
        self.bench_requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get(BENCH_HEADER):
            with self.lock:
                self.bench_requests += 1
            return self._unfaulted(environ, start_response)
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if method not in ("POST", "PATCH", "PUT") or not (
            self.SF_COLLECTION.search(path)
            or self.SF_RECORD.search(path)
            or self.HS_BATCH.search(path)
            or self.HS_ONE.search(path)
        ):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = _Body(body)
        try:
            records = self._records(path, method, json.loads(body or b"{}"))
        except (ValueError, KeyError, TypeError, AttributeError):
            records = []
        started = time.monotonic()
        pending = self._compare(records, started)
        status: list[int] = []

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(int(code.split()[0]))
            return (
                start_response(code, headers, exc_info)
                if exc_info
                else start_response(code, headers)
            )

        try:
            answer = b"".join(self.app(environ, capture))
        except BaseException:
            self._settle(pending, confirmed=False)
            raise
        late = time.monotonic() - started >= TIMEOUT_S
        self._settle(pending, confirmed=bool(status) and status[0] < 500 and not late)
        return [answer]

    def _unfaulted(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Serve the bench's call with no per-request fault (a change can still lag in
        search)."""
        injector = self.sandbox.injector
        with self.sandbox.lock:
            profile = injector.profile
            if profile is not None:
                lag = {"search_lag": profile.rate("search_lag")}
                injector.profile = replace(profile, rates=lag, latency_ms=0, jitter_ms=0)
            try:
                return [b"".join(self.app(environ, start_response))]
            finally:
                injector.profile = profile

    def _records(self, path: str, method: str, body: Any) -> list[tuple[str, str, dict]]:
        """(side, key, fields) per record the request writes; key "new" for a creation."""
        if match := self.SF_COLLECTION.search(path):
            if method == "POST":
                return []  # creations
            sobject, external = match.group(1), match.group(2)
            out = []
            for record in body["records"]:
                fields = {k: v for k, v in record.items() if k not in ("attributes", "Id")}
                if external:
                    key = f"{sobject}.{external}={record[external]}"
                    fields.pop(external, None)
                else:
                    key = f"{record['attributes']['type']}.Id={record['Id']}"
                out.append(("salesforce", key, fields))
            return out
        if match := self.SF_RECORD.search(path):
            sobject, first, value = match.groups()
            key = f"{sobject}.{first}={value}" if value else f"{sobject}.Id={first}"
            return [("salesforce", key, dict(body))]
        if self.HS_BATCH.search(path):
            return [("hubspot", str(i["id"]), dict(i["properties"])) for i in body["inputs"]]
        if match := self.HS_ONE.search(path):
            return [("hubspot", match.group(1), dict(body["properties"]))]
        return []

    def _current(
        self, side: str, key: str, index: dict[tuple[str, str], dict[str, Any]]
    ) -> dict[str, Any] | None:
        if side == "hubspot":
            record = self.sandbox.portal.stores["contacts"].get(key)
            return None if record is None else dict(record.props)
        ref, _, value = key.partition("=")
        sobject, _, by = ref.partition(".")
        table = self.sandbox.org.records.get(sobject, {})
        if by == "Id":
            row = table.get(value)
            return None if row is None else dict(row)
        if (sobject, by) not in index:
            index[(sobject, by)] = {str(r.get(by)): r for r in table.values() if r.get(by)}
        row = index[(sobject, by)].get(value)
        return None if row is None else dict(row)

    def _compare(self, records: list[tuple[str, str, dict]], started: float) -> list[Any]:
        pending = []
        with self.sandbox.lock:
            index: dict[tuple[str, str], Any] = {}
            current = [self._current(side, key, index) for side, key, _ in records]
        with self.lock:
            for (side, key, fields), now in zip(records, current, strict=True):
                self.writes.records += 1
                digest = hashlib.sha1(
                    json.dumps(fields, sort_keys=True, default=str).encode(), usedforsecurity=False
                ).hexdigest()
                ident = (side, key, digest)
                noop = False
                if now is not None and all(_same(now.get(k), v) for k, v in fields.items()):
                    self.writes.noop += 1
                    noop = True
                    kills = self.writes.kills
                    earlier = self.writes.history.get((side, key), [])
                    if any(
                        (not e.confirmed or any(k >= e.started for k in kills))
                        and all(k in e.fields and _same(e.fields[k], v) for k, v in fields.items())
                        for e in earlier
                    ):
                        self.writes.replays += 1
                    else:
                        self.writes.echoes.append(
                            f"{side} {key} {sorted(fields)}{self._context(side, key, now)}"
                        )
                held = None if now is None else now.get("Phone", now.get("phone"))
                write = Write(started, digest[:6], noop, fields=fields, phone_before=held)
                self.writes.last[ident] = write
                self.writes.history.setdefault((side, key), []).append(write)
                pending.append(write)
        return pending

    def _context(self, side: str, key: str, now: dict[str, Any]) -> str:
        """For an echo: what the two sides showed when it was written."""
        if side == "hubspot":
            return f" (contact: stage {now.get('lifecyclestage')}, {now.get('hs_lead_status')})"
        contact = self.sandbox.portal.stores["contacts"].get(key.rpartition("=")[2])
        props = contact.props if contact is not None else {}
        return (
            f" (Lead: {now.get('Status')}, phone {now.get('Phone')}; contact: stage "
            f"{props.get('lifecyclestage')}, {props.get('hs_lead_status')}, phone "
            f"{props.get('phone')})"
        )

    def _settle(self, pending: list[Write], *, confirmed: bool) -> None:
        with self.lock:
            for write in pending:
                write.confirmed = confirmed

    def killed(self) -> None:
        with self.lock:
            self.writes.kills.append(time.monotonic())


def print_phone_timeline(cid: str, edits: list[tuple[float, str]], writes: Writes) -> None:
    """A stale contact's phone as it went: the rep's edits and every write of leadbridge's
    naming a phone, with the value it found, and the kills around them."""
    events = [(at, f"rep sets Phone {value!r}") for at, value in edits]
    for (side, key), history in writes.history.items():
        if not (key == cid or key.endswith(f"={cid}")):
            continue
        for w in history:
            sent = w.fields.get("Phone", w.fields.get("phone"))
            if sent is None:
                continue
            events.append(
                (
                    w.started,
                    f"leadbridge writes {side} {key} phone {sent!r} over {w.phone_before!r} "
                    f"(noop={w.noop} confirmed={w.confirmed}; fields {sorted(w.fields)})",
                )
            )
    if events:
        first, last = min(e[0] for e in events), max(e[0] for e in events)
        events += [(k, "a worker killed") for k in writes.kills if first - 30 <= k <= last + 5]
    for at, what in sorted(events):
        print(f"    {at:.2f} {what}")


def _same(held: Any, sent: Any) -> bool:
    def norm(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return str(value).lower()
        return str(value).strip()

    return norm(held) == norm(sent)


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


# -- the workers -----------------------------------------------------------------------------
class Workers:
    """`leadbridge run` processes over one PostgreSQL schema; a killed one restarted."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.processes: list[subprocess.Popen[str]] = []
        self.started = 0

    def start(self) -> subprocess.Popen[str]:
        self.started += 1
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with (self.logs / f"worker-{self.started}.log").open("w", encoding="utf-8") as out:
            process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(LEADBRIDGE), "run", "--port", str(port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.processes.append(process)
        return process

    def kill_one(self, rng: random.Random) -> None:
        victim = rng.choice(self.processes)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.processes.remove(victim)
        self.start()

    def stop(self) -> list[int | None]:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=60))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes


@contextmanager
def own_schema(url: str) -> Iterator[str]:
    """A new schema in the PostgreSQL database at `url`, dropped afterwards."""
    schema = f"lb_proof_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    options = f"-csearch_path={schema}"
    try:
        yield (
            sa.make_url(url)
            .update_query_dict({"options": options})
            .render_as_string(hide_password=False)
        )
    finally:
        if os.environ.get("RELIABILITY_KEEP_SCHEMA"):
            print(f"DEBUG schema kept: {schema}", file=sys.stderr)
        else:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# -- the run ---------------------------------------------------------------------------------
def fault_profile(rate: float, seed: int) -> FaultProfile:
    """`rate` spread over the retryable kinds so that a request meets one with about that
    chance: five of the seven per-request kinds can meet any request (the rate limits are one
    API's, lost answers only writes', expired sessions only Salesforce's), so each gets a fifth;
    a record of a Collections write and a change to a contact get `rate` each."""
    per_request = [k for k in RETRYABLE if k in REQUEST_KINDS]
    rates = {k: (rate / 5 if k in per_request else rate) for k in RETRYABLE}
    return profile_from(
        {
            "seed": seed,
            "rates": rates,
            "slow_answer_ms": int(TIMEOUT_S * 1000) + 1000,
            "search_lag_ms": SEARCH_LAG_MS,
            "retry_after_s": 1,
        }
    )


def drive(
    people: list[Contact],
    actors: Actors,
    workers: Workers,
    observer: Observer,
    args: argparse.Namespace,
    rng: random.Random,
) -> int:
    """The scenario with the kills among it; returns the kills made."""
    waves = 10
    by_id = {p.cid: p for p in people}
    kills = 0
    started = time.monotonic()
    next_kill = started + rng.uniform(0.5, 2 * args.kill_every)
    next_wave = started
    wave = 0
    edits = max(1, len(people) // 250)
    while True:
        now = time.monotonic()
        if now - started > args.timeout:
            print("  the scenario ran out of time")
            break
        if kills < args.kills and now >= next_kill:
            observer.killed()
            workers.kill_one(rng)
            kills += 1
            next_kill = now + rng.uniform(0.5, 2 * args.kill_every)
        if wave < waves and now >= next_wave:  # marketing: a wave of contacts to MQL
            share = people[wave * len(people) // waves : (wave + 1) * len(people) // waves]
            actors.hubspot_update(
                {p.cid: {"lifecyclestage": "marketingqualifiedlead"} for p in share}
            )
            for p in share:
                p.mql = True
            wave += 1
            next_wave = now + args.kill_every * max(args.kills, 10) / waves / 2
        leads = actors.leads()
        # sales: decide on Leads that have shown up
        decisions = {}
        for cid, lead in leads.items():
            p = by_id.get(cid)
            if p is None or p.decided or lead.get("IsConverted"):
                continue
            p.decided = True
            if p.fate == "accept":
                decisions[lead["Id"]] = {"Status": ACCEPTED}
            elif p.fate == "reject":
                decisions[lead["Id"]] = {"Status": REJECTED, "Rejection_Reason__c": p.reason}
        # sales and marketing edit (phones in Salesforce, first names in HubSpot)
        editable = [p for p in people if p.decided and not p.promoted and p.cid in leads]
        for p in rng.sample(editable, min(edits, len(editable))):
            p.phone = f"+46 70 {rng.randrange(10**6):06d}"
            p.phone_edits.append((time.monotonic(), p.phone))
            lead_id = leads[p.cid]["Id"]
            decisions[lead_id] = {**decisions.get(lead_id, {}), "Phone": p.phone}
        if decisions:
            actors.salesforce_update(decisions)
        renames = {}
        # A rejected contact is marketing's again (back at `lead`): its Lead no longer follows.
        nurtured = [p for p in editable if p.fate != "reject"]
        for p in rng.sample(nurtured, min(edits, len(nurtured))):
            p.firstname = f"Renamed{rng.randrange(10**6)}"
            renames[p.cid] = {"firstname": p.firstname}
        # marketing: accepted in HubSpot -> SQL (for the planned share)
        contacts = actors.contacts()
        for p in people:
            if (
                p.sql
                and p.decided
                and not p.promoted
                and contacts[p.cid].get("hs_lead_status") == "IN_PROGRESS"
            ):
                p.promoted = True
                renames[p.cid] = {**renames.pop(p.cid, {}), "lifecyclestage": "salesqualifiedlead"}
        if renames:
            actors.hubspot_update(renames)
        done = (
            wave >= waves
            and all(p.decided for p in people)
            and all(p.promoted for p in people if p.sql)
        )
        if done and kills >= args.kills:
            break
        time.sleep(0.5)
    return kills


def scenario_figures(people: list[Contact], actors: Actors) -> dict[str, Any]:
    """The scenario's own expectations against what both sides hold."""
    leads, contacts = actors.leads(), actors.contacts()
    feedback_expected = feedback_present = stale = 0
    stale_examples: list[str] = []
    phone_edits: dict[str, list[tuple[float, str]]] = {}
    unwritten: list[str] = []
    missing: list[str] = []
    # Where each Lead, conversion or feedback not done would be dead-lettered: (stream, id).
    undone: list[tuple[str, str]] = []
    for p in people:
        lead, shown = leads.get(p.cid), contacts[p.cid]
        if lead is None:
            if p.mql:
                undone.append((CONTACTS_STREAM, p.cid))
            continue
        if shown.get("lifecyclestage") in SQL_STAGES and not lead.get("IsConverted"):
            undone.append((CONVERSIONS_STREAM, p.cid))
        if p.fate in ("accept", "reject"):
            feedback_expected += 1
            if p.fate == "accept":
                ok = shown.get("hs_lead_status") == "IN_PROGRESS" and bool(
                    shown.get("sales_accepted_at")
                )
            else:
                ok = (
                    shown.get("hs_lead_status") == "UNQUALIFIED"
                    and shown.get("sales_rejection_reason") == p.reason
                    and shown.get("lifecyclestage") == "lead"
                )
            feedback_present += ok
            if not ok:
                undone.append((LEADS_STREAM, str(lead["Id"])))
                missing.append(
                    f"{p.cid} ({p.fate}, sql {p.sql}): {shown.get('hs_lead_status')}, stage "
                    f"{shown.get('lifecyclestage')}, reason {shown.get('sales_rejection_reason')},"
                    f" accepted at {shown.get('sales_accepted_at')}; Lead {lead.get('Status')}"
                )
        if lead.get("IsConverted") and (
            shown.get("salesforceopportunityid") != lead.get("ConvertedOpportunityId")
            or shown.get("lifecyclestage") != "opportunity"
        ):
            unwritten.append(
                f"{p.cid} ({p.fate}, sql {p.sql}): stage {shown.get('lifecyclestage')}, "
                f"opportunity {shown.get('salesforceopportunityid')} vs "
                f"{lead.get('ConvertedOpportunityId')}, lead status {shown.get('hs_lead_status')}"
            )
        elif shown.get("salesforceleadid") != lead["Id"]:
            unwritten.append(f"{p.cid} ({p.fate}): lead id {shown.get('salesforceleadid')}")
        if not lead.get("IsConverted"):
            wrong = []
            if lead.get("FirstName") != p.firstname:
                wrong.append(f"Lead FirstName {lead.get('FirstName')!r} != {p.firstname!r}")
            if shown.get("phone") != p.phone or lead.get("Phone") != p.phone:
                wrong.append(f"phone {shown.get('phone')!r}/{lead.get('Phone')!r} != {p.phone!r}")
            if wrong:
                stale += 1
                stale_examples.append(f"{p.cid}: {'; '.join(wrong)}")
                phone_edits[p.cid] = p.phone_edits
    return {
        "feedback expected": feedback_expected,
        "feedback present": feedback_present,
        "stale": stale,
        "stale examples": stale_examples[:5],
        "phone edits": phone_edits,
        "unwritten examples": unwritten[:5],
        "missing feedback": missing[:5],
        "undone": undone,
    }


def open_dead_letters(database_url: str) -> list[DeadLetter]:
    with StateStore.open(database_url) as store:
        return store.dead_letters()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=50, help="workers SIGKILLed (and restarted)")
    parser.add_argument("--fault-rate", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--kill-every", type=float, default=3.0, help="mean seconds between kills")
    parser.add_argument("--database-url", default=os.environ.get("LEADBRIDGE_TEST_DATABASE_URL"))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the scenario")
    parser.add_argument(
        "--overlap",
        type=float,
        default=DEFAULT_OVERLAP_S,
        help="the workers' LEADBRIDGE_SYNC_OVERLAP_SECONDS: how late HubSpot's search may show "
        "a change and still be read (the sandbox's search lag is "
        f"{SEARCH_LAG_MS / 1000:g} s); catching up takes up to twice this after the last change",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=600,
        help="seconds to settle, at most (a run that takes longer says it timed out)",
    )
    args = parser.parse_args()
    if not args.database_url:
        parser.error("PostgreSQL needed: --database-url or LEADBRIDGE_TEST_DATABASE_URL")
    if args.workers < 2:
        parser.error("--workers: two or more")
    rng = random.Random(args.seed)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    configure_logging("json", level="error")
    began = time.monotonic()
    people = plan(args.contacts, rng)

    with tempfile.TemporaryDirectory() as tmp, own_schema(args.database_url) as database_url:
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        for name in ("status.yaml", "conversion.yaml"):
            shutil.copy(MAPPINGS / name, mappings / name)
        lead_yaml = (MAPPINGS / "lead.yaml").read_text()
        assert PHONE_TWO_WAY[0] in lead_yaml, "lead.yaml's phone line changed"
        (mappings / "lead.yaml").write_text(lead_yaml.replace(*PHONE_TWO_WAY))
        config = SandboxConfig(enforce_rate_limits=False)
        with SandboxServer(make_seed(people), tls_dir=Path(tmp) / "tls", config=config) as server:
            observer = Observer(server._server.app, server.sandbox)
            server._server.app = observer  # the bench wraps the sandbox
            profile = fault_profile(args.fault_rate, args.seed)
            server.sandbox.set_fault_profile(profile)
            env = {
                **os.environ,
                **sandbox_env(server.port, server.tls.directory, config),
                "LEADBRIDGE_DATABASE_URL": database_url,
                "LEADBRIDGE_MAPPINGS_DIR": str(mappings),
                "LEADBRIDGE_POLL_SECONDS": "1",
                "LEADBRIDGE_SYNC_OVERLAP_SECONDS": f"{args.overlap:g}",
                "LEADBRIDGE_SALESFORCE_TIMEOUT_SECONDS": str(TIMEOUT_S),
                "LEADBRIDGE_HUBSPOT_TIMEOUT_SECONDS": str(TIMEOUT_S),
                "LEADBRIDGE_LOG_LEVEL": os.environ.get("RELIABILITY_LOG_LEVEL", "warning"),
                "LEADBRIDGE_LOG_FORMAT": "json",
            }
            logs = Path(tmp) / "logs"
            logs.mkdir()
            workers = Workers(env, logs)
            for _ in range(args.workers):
                workers.start()
            actors = Actors(server)
            kills = drive(people, actors, workers, observer, args, rng)
            scenario_s = time.monotonic() - began

            report = server.sandbox.fault_report()
            server.sandbox.set_fault_profile(None)
            settled = settle(people, actors, database_url, args.settle)
            codes = workers.stop()
            ids = [p.cid for p in people if p.mql]
            figures, converted, sql = check(server, database_url, ids)
            mine = scenario_figures(people, actors)
            dead_letters = open_dead_letters(database_url)
            journal = Counter(e.api for e in server.sandbox.journal.entries())
            journal["bench"] = observer.bench_requests
            if os.environ.get("RELIABILITY_KEEP_LOGS"):
                shutil.copytree(logs, os.environ["RELIABILITY_KEEP_LOGS"], dirs_exist_ok=True)
    took = time.monotonic() - began
    return print_table(
        args,
        kills,
        report,
        figures,
        converted,
        sql,
        ids,
        mine,
        observer.writes,
        dead_letters,
        journal,
        codes,
        scenario_s,
        settled,
        took,
    )


@dataclass
class Settled:
    """How the settle ended: "met" (every expectation), "caught up" (the workers have read
    every change the scenario made, after it settled, and have nothing left to do: what is
    still missing is missing for good) or "timed out" (neither within --settle seconds: what
    is missing may still come, so it is not counted as lost)."""

    outcome: str
    seconds: float
    behind: list[str] = field(default_factory=list)  # at a timeout: what was not caught up


#: The streams reading HubSpot's search (it shows a change late): each keeps a settled mark,
#: the change time up to which it has read changes again after they settled.
SEARCHING_STREAMS = (CONTACTS_STREAM, CONVERSIONS_STREAM)


def behind(engine: sa.Engine, changed: dict[str, datetime]) -> list[str]:
    """What the workers have not caught up with (nothing: caught up): a stream reading
    HubSpot whose settled mark is before the bench's last HubSpot change; a step of the pass
    with no pass that started after the bench's last change and finished; work (conversions
    in flight, hand-overs, retries, write-backs owed) still recorded."""
    last = max(changed.values())
    late: list[str] = []
    with engine.connect() as connection:
        marks: dict[str, datetime | None] = dict(
            connection.exec_driver_sql("SELECT stream, value FROM cursors").all()
        )
        passes: dict[str, datetime] = dict(
            connection.exec_driver_sql(
                "SELECT j.args ->> 'step', max(e.at) FROM procrastinate_jobs j "
                "JOIN procrastinate_events e ON e.job_id = j.id "
                "WHERE j.task_name = 'leadbridge.pass' AND j.status = 'succeeded' "
                "AND e.type = 'started' GROUP BY 1"
            ).all()
        )
        work = connection.exec_driver_sql(
            "SELECT stream, kind, count(*) FROM work GROUP BY 1, 2 ORDER BY 1, 2"
        ).all()
    hubspot = changed.get("hubspot")
    for stream in SEARCHING_STREAMS:
        mark = marks.get(settled_stream(stream))
        if hubspot is not None and (mark is None or mark < hubspot):
            late.append(f"{stream} has read settled changes up to {_at(mark)}, not {_at(hubspot)}")
    for step in PASS_STEPS:
        started = passes.get(step)
        if started is None or started < last:
            late.append(f"no pass of {step} started after {_at(last)} finished")
    late += [f"work: {stream} {kind} x{n}" for stream, kind, n in work]
    return late


def _at(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def settle(people: list[Contact], actors: Actors, database_url: str, most: float) -> Settled:
    """Wait until every expectation is met (and nothing moved for 10 s), or until the workers
    have caught up with the scenario (`behind` says nothing), or `most` seconds: a timeout."""
    began = time.monotonic()
    last, last_change = None, began
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    late: list[str] = []
    try:
        while time.monotonic() - began < most:
            time.sleep(3)
            leads, contacts = actors.leads(), actors.contacts()
            snapshot = hashlib.sha1(
                json.dumps([leads, contacts], sort_keys=True, default=str).encode(),
                usedforsecurity=False,
            ).hexdigest()
            if snapshot != last:
                last, last_change = snapshot, time.monotonic()
            met = scenario_figures(people, actors)
            converted = sum(
                1 for p in people if p.promoted and leads.get(p.cid, {}).get("IsConverted")
            )
            if (
                len(leads) >= sum(p.mql for p in people)
                and met["feedback present"] == met["feedback expected"]
                and met["stale"] == 0
                and converted == sum(p.promoted for p in people)
                and time.monotonic() - last_change > 10
            ):
                return Settled("met", time.monotonic() - began)
            late = behind(engine, actors.changed)
            if not late:
                return Settled("caught up", time.monotonic() - began)
    finally:
        engine.dispose()
    return Settled("timed out", time.monotonic() - began, late)


def print_table(
    args: argparse.Namespace,
    kills: int,
    report: dict[str, Any],
    figures: dict[str, int],
    converted: int,
    sql: int,
    ids: list[str],
    mine: dict[str, Any],
    writes: Writes,
    dead_letters: list[DeadLetter],
    journal: Counter[str],
    codes: list[int | None],
    scenario_s: float,
    settled: Settled,
    took: float,
) -> int:
    reasons = Counter(
        f"{d.stream}: {d.code or ''} {(d.reason or '')[:80]}".strip() for d in dead_letters
    )
    # Dead-lettered: what was not done and waits as a dead letter for a person (a dead letter
    # about anything else, such as a refused edit, is listed but accounts for nothing).
    lettered = {(d.stream, d.record_id) for d in dead_letters}
    dead = sum(1 for key in mine["undone"] if key in lettered)
    leads_present = len(ids) - figures["contacts without a Lead"]
    expected = len(ids) + sql + mine["feedback expected"]
    applied = leads_present + converted + mine["feedback present"]
    lost = figures["contacts without a Lead"] + figures["SQL contacts not converted"]
    lost += mine["feedback expected"] - mine["feedback present"]
    lost = max(0, lost - dead)
    # Timed out: what is not done yet may still come; it is not counted as lost.
    timed_out = settled.outcome == "timed out"
    lost_shown = f"not known: settle timed out, {lost} not done yet" if timed_out else str(lost)
    double = max(
        figures["Accounts beyond one per conversion"],
        figures["Contacts beyond one per conversion"],
        figures["converted Leads without an opportunity"],
    )
    rows: list[tuple[str, str, str]] = [
        (
            "workers / kills (SIGKILL, each restarted)",
            f"{args.workers} / {kills}",
            f">= {args.kills}",
        ),
    ]
    counts = report["counts"]
    for kind, n in counts.items():
        if n or kind in RETRYABLE:
            rows.append((f"  faults: {kind}", str(n), ""))
    requests = journal["salesforce"] + journal["hubspot"] - journal["bench"]
    faulted = sum(counts[k] for k in REQUEST_KINDS)
    rows.append(
        (
            "  leadbridge's requests met by a fault",
            f"{faulted} of {requests} ({faulted / max(requests, 1):.1%})",
            "",
        )
    )
    rows += [
        (
            "settled (faults off)",
            f"{settled.outcome} after {settled.seconds:.0f} s",
            "met or caught up",
        ),
        ("Leads expected / present", f"{len(ids)} / {leads_present}", "equal"),
        ("conversions expected / present", f"{sql} / {converted}", "equal"),
        (
            "feedback expected / present",
            f"{mine['feedback expected']} / {mine['feedback present']}",
            "equal",
        ),
        (
            "duplicates (several Leads for one contact)",
            str(figures["contacts with several Leads"]),
            "0",
        ),
        ("lost", lost_shown, "0"),
        ("double conversions", str(double), "0"),
        ("stray opportunities", str(figures["opportunities not of a converted Lead"]), "0"),
        ("stale edits (name, phone)", str(mine["stale"]), "0"),
        (
            "contacts missing a write-back",
            str(figures["HubSpot contacts missing a write-back"]),
            "0",
        ),
        ("write-backs still owed", str(figures["write-backs still owed"]), "0"),
        ("records written by leadbridge", str(writes.records), ""),
        ("  that changed nothing: replays after a fault/kill", str(writes.replays), ""),
        ("  that changed nothing: echo writes", str(len(writes.echoes)), "0"),
        ("dead letters", str(len(dead_letters)), ""),
    ]
    rows += [(f"  {reason}", str(n), "") for reason, n in reasons.most_common()]
    rows += [
        ("submitted = applied + dead-lettered", f"{expected} = {applied} + {dead}", "holds"),
        ("API calls (Salesforce / HubSpot)", f"{journal['salesforce']} / {journal['hubspot']}", ""),
        (
            "run time: scenario / settle / all",
            f"{scenario_s:.0f} s / {settled.seconds:.0f} s / {took:.0f} s",
            "",
        ),
    ]
    misses = [
        timed_out,
        lost,
        figures["contacts with several Leads"],
        double,
        len(writes.echoes),
        figures["opportunities not of a converted Lead"],
        mine["stale"],
        figures["HubSpot contacts missing a write-back"],
        kills < args.kills,
        expected != applied + dead,
    ]
    print(
        f"reliability: {args.contacts} contacts, {args.workers} workers, fault rate "
        f"{args.fault_rate:.0%} (seed {report['profile']['seed'] if report['profile'] else '-'}), "
        f"{args.kills} kills wanted (seed {args.seed})"
        + (f", overlap {args.overlap:g} s" if args.overlap != DEFAULT_OVERLAP_S else "")
    )
    width = max(len(r[0]) for r in rows) + 2
    value_width = max(len(r[1]) for r in rows) + 2
    print(f"  {'':{width}}{'measured':<{value_width}}target")
    for name, value, target in rows:
        print(f"  {name:<{width}}{value:<{value_width}}{target}")
    for late in settled.behind:
        print(f"  not caught up at the timeout: {late}")
    for echo in writes.echoes[:5]:
        print(f"  echo: {echo}")
        if os.environ.get("RELIABILITY_DEBUG"):
            side, key = echo.split(" ")[:2]
            for w in writes.history.get((side, key), []):
                print(f"    {w.started:.2f} {w.digest} noop={w.noop} confirmed={w.confirmed}")
    if os.environ.get("RELIABILITY_DEBUG"):
        print(f"  kills at {[round(k, 2) for k in writes.kills]}")
    for example in mine["missing feedback"]:
        print(f"  feedback missing: {example}")
    for example in mine["unwritten examples"]:
        print(f"  write-back missing: {example}")
    for example in mine["stale examples"]:
        print(f"  stale: {example}")
        if os.environ.get("RELIABILITY_DEBUG"):
            cid = example.split(":")[0]
            print_phone_timeline(cid, mine["phone edits"].get(cid, []), writes)
    if any(code not in (0, None) for code in codes):
        print(f"  workers' exit codes at the end: {codes}")
    missed = sum(bool(m) for m in misses)
    print(f"  targets missed: {missed}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
