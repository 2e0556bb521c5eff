"""`leadbridge backfill`: the contacts stream's decisions over a whole population, in batches
that are each recorded with a checkpoint, so a run stopped anywhere goes on from there.

A backfill reads its population a page at a time from a source: HubSpot's contacts in a window
of change times (`WindowSource`, by keyset on change time and id: no 10,000-result cap), or
the synced population, the contacts the store links to Salesforce (`LinkedSource`, for
`--mapping-changed`). Each page goes through the contacts stream's own plan and push
(`ContactsStream.plan_page`, `carry_out`): mapping, dedupe by email against Leads and
Contacts, conflict rules, routing, the Salesforce ids written back. The page's commit carries
the checkpoint (where the source stands, the counts so far), so what is recorded and where the
run stands never disagree: a run killed between a page's writes and its record does that page
again (upserts by external id: nothing is duplicated) and ends as an uninterrupted run would.

Memory stays flat: one page at a time, counts and at most `FAILURES_SHOWN` failures kept; the
source's position is bounded whatever the data (`ReadMark`).

The Salesforce side writes through sObject Collections (the contacts stream's push), one page
a group; from `bulk_threshold` records on, a group is up to `job_records` records whose Lead
upserts go up as one Bulk API 2.0 job (`BulkSide`), its id in the checkpoint before the
upload, its results settled page by page (`Backfill._group`). Such a group's other Salesforce
calls are the group's too, not each page's: one email look-up for all its contacts (queries as
long as SOQL allows, five to a call), and its updates by Id (Leads found by email, Contacts of
converted people) 200 to a Collections call; each page's decisions are the contacts stream's,
answered from them. About one Salesforce call per 1,000 records in all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from connector.errors import BudgetReserved, LeadbridgeError
from connector.model import (
    HubSpotContact,
    LeadUpsert,
    ReadMark,
    RecordUpdate,
    SalesforceMatch,
    SearchFilter,
    WriteResult,
)
from connector.state.hold import Wait
from connector.state.store import Checkpoint, Commit, StateStore
from connector.state.work import hand_over
from connector.streams.backfill.decide import (
    BACKFILL,
    OUTCOMES,
    PAGE_CALLS,
    Options,
    Tally,
    budget_cap,
    explain,
    outcome,
)
from connector.streams.base import new_run_id
from connector.streams.contacts.decide import needs_lookup
from connector.streams.contacts.stream import (
    STREAM,
    ContactsStream,
    ContactsSummary,
    Find,
    PagePlan,
    RouterSide,
    Update,
    Upsert,
)
from connector.streams.erased import SKIPPED

log = structlog.get_logger(__name__)

#: A contact of an erased person, as a backfill counts it (`connector.streams.erased`).
ERASED = "erased"
#: How long a page waits for a pass of the contacts stream (a service's) to end before the
#: backfill stops with `StreamBusy`: the two never write the same contact at once.
PAGE_WAIT_SECONDS = 600.0
#: Pages a router serves before a new one: it caches what it read (users, accounts, their
#: opportunities) for a pass, and a backfill is many passes' worth, so memory stays flat.
ROUTER_PAGES = 50
#: Contacts per read of the synced population (one HubSpot batch read).
LINKED_PAGE = 100
#: From this many records on the Salesforce side is Bulk API 2.0 (upsert by external id), when
#: the backfill has a `bulk` side; without one it says so and writes through Collections.
BULK_THRESHOLD = 10_000
#: Records per Bulk API 2.0 job (one upload each; Salesforce processes them in batches of
#: 10,000 internally): the memory a job's planned pages take is bounded by it.
JOB_RECORDS = 10_000


class BudgetView(Protocol):
    @property
    def remaining(self) -> int: ...


class BackfillSalesforce(Protocol):
    """What a backfill asks of the Salesforce gateway besides the contacts stream's calls."""

    def calls_sent(self) -> int: ...
    def budget(self) -> BudgetView | None: ...
    def find_by_many_emails(self, emails: Sequence[str]) -> list[SalesforceMatch]: ...
    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...


class BackfillHubSpot(Protocol):
    """What a backfill asks of the HubSpot gateway besides the contacts stream's calls."""

    def calls_sent(self) -> int: ...
    def contacts_in_window(
        self,
        since: datetime | None,
        until: datetime | None,
        properties: Sequence[str],
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
        start: ReadMark | None = None,
    ) -> Iterator[tuple[list[HubSpotContact], ReadMark]]: ...
    def count_contacts(
        self,
        since: datetime | None,
        until: datetime | None,
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
    ) -> int: ...
    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[HubSpotContact]: ...


class BulkSide(Protocol):
    """Lead upserts as Bulk API 2.0 jobs (`connector.salesforce.bulk.BulkLeads`)."""

    def start(self) -> str: ...
    def send(self, job_id: str, upserts: Sequence[LeadUpsert]) -> None: ...
    def finish(self, job_id: str) -> dict[str, WriteResult]: ...


class OtherRunUnfinished(LeadbridgeError):
    """A backfill with other options is unfinished: finish it, or `--restart`."""


# -- sources ------------------------------------------------------------------------------------
Position = dict[str, Any]


class Source(Protocol):
    """A backfill's population, a page at a time, each with the position after it."""

    def total(self) -> int | None: ...
    def pages(
        self, position: Position | None
    ) -> Iterator[tuple[list[HubSpotContact], Position]]: ...


@dataclass
class WindowSource:
    """HubSpot's contacts changed from `since` to `until` matching `any_of`, by keyset on
    change time and id (`ReadMark`)."""

    hubspot: BackfillHubSpot
    since: datetime | None
    until: datetime | None
    properties: Sequence[str]
    any_of: Sequence[Sequence[SearchFilter]]

    def total(self) -> int | None:
        return self.hubspot.count_contacts(self.since, self.until, any_of=self.any_of)

    def pages(self, position: Position | None) -> Iterator[tuple[list[HubSpotContact], Position]]:
        start = ReadMark.from_json(position["mark"]) if position and position.get("mark") else None
        for page, mark in self.hubspot.contacts_in_window(
            self.since, self.until, self.properties, any_of=self.any_of, start=start
        ):
            yield page, {"mark": mark.as_json()}


@dataclass
class LinkedSource:
    """The synced population: every contact the store links to Salesforce, in HubSpot id
    order, read from HubSpot by id (contacts deleted there are left out)."""

    store: StateStore
    hubspot: BackfillHubSpot
    properties: Sequence[str]
    size: int = LINKED_PAGE

    def total(self) -> int | None:
        return self.store.link_count()

    def pages(self, position: Position | None) -> Iterator[tuple[list[HubSpotContact], Position]]:
        after = position.get("after") if position else None
        while links := self.store.linked_ids(after=after, limit=self.size):
            after = links[-1].hubspot_id
            found = self.hubspot.read_contacts([link.hubspot_id for link in links], self.properties)
            if found:
                yield found, {"after": after}


# -- what a run reports --------------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    """Where a run stands, for a progress bar or a log line."""

    done: int
    total: int | None
    calls_left: int | None  # Salesforce calls this run may still spend (its budget share)
    outcomes: dict[str, int]


@dataclass(frozen=True)
class PlanRow:
    """One contact of a dry run: what the backfill would do, and why."""

    hubspot_id: str
    email: str
    outcome: str
    salesforce_id: str
    reason: str
    convert: bool = False


@dataclass
class Report:
    """What a backfill did (all its runs together, when it was resumed)."""

    name: str
    options: str
    tally: Tally
    status: str  # done | complete | budget | reserve | stopped | dry-run
    resume: str = ""  # the command that goes on
    dead_letters: int = 0  # open dead letters of the contacts stream after the run
    this_run_seconds: float = 0.0
    total: int | None = None
    notes: list[str] = field(default_factory=list)
    title: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "complete", "dry-run")

    def lines(self) -> list[str]:
        tally = self.tally
        title = self.title or (
            "backfill (dry run: nothing written)" if self.status == "dry-run" else self.name
        )
        lines = [f"{title} {self.options}: {tally.pulled} contacts read"]
        shown = ", ".join(f"{o} {tally.outcomes.get(o, 0)}" for o in OUTCOMES)
        lines.append(f"  {shown}")
        if tally.outcomes.get(ERASED):
            lines.append(
                f"  {SKIPPED} {tally.outcomes[ERASED]} (people erased for privacy: never written)"
            )
        if tally.to_convert:
            verb = "would go" if self.status == "dry-run" else "went"
            lines.append(
                f"  {tally.to_convert} sales-qualified contacts {verb} to the conversions "
                "stream (converted by the next pass)"
            )
        if tally.written_back:
            lines.append(f"  wrote Salesforce ids back to {tally.written_back} HubSpot contacts")
        calls = ", ".join(f"{r} {n}" for r, n in sorted(tally.calls.items())) or "none"
        runs = f" over {tally.runs} runs" if tally.runs > 1 else ""
        lines.append(f"  API calls: {calls}; {tally.seconds:.1f} s{runs}")
        if self.status != "dry-run":
            lines.append(f"  dead letters: {self.dead_letters} open in {STREAM}")
        for record_id, reason in tally.failures:
            lines.append(f"  failed: HubSpot contact {record_id}: {reason}")
        lines += [f"  {note}" for note in self.notes]
        if self.status == "complete":
            lines.append("  already complete: --restart runs it again")
        elif self.status == "budget":
            lines.append(
                "  stopped at its share of the Salesforce API budget (--budget); the checkpoint "
                f"is kept: run `{self.resume}` again (tomorrow, or with a larger --budget) to go on"
            )
        elif self.status in ("reserve", "stopped"):
            lines.append(f"  stopped; the checkpoint is kept: run `{self.resume}` again to go on")
        return lines


# -- the engine ------------------------------------------------------------------------------
class Backfill:
    """Runs the contacts stream's decisions over a source, checkpointed per page."""

    def __init__(
        self,
        contacts: ContactsStream,
        store: StateStore,
        salesforce: BackfillSalesforce,
        hubspot: BackfillHubSpot,
        *,
        sql_stages: frozenset[str] = frozenset(),
        conversion_stream: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        page_wait: Wait | None = None,
        bulk: BulkSide | None = None,
        bulk_threshold: int = BULK_THRESHOLD,
        job_records: int = JOB_RECORDS,
    ) -> None:
        self.contacts = contacts
        self.store = store
        self.salesforce = salesforce
        self.hubspot = hubspot
        # Contacts at these stages (conversion.yaml's) are handed to the conversions stream.
        self.sql_stages = sql_stages if conversion_stream else frozenset()
        self.conversion_stream = conversion_stream
        self.clock = clock
        self.page_wait = page_wait or Wait(PAGE_WAIT_SECONDS)
        self.bulk = bulk
        self.bulk_threshold = bulk_threshold
        self.job_records = job_records
        self._bulk_on = False
        self._notes: list[str] = []

    # -- sources ---------------------------------------------------------------------------
    def window(self, options: Options, until: datetime) -> WindowSource:
        """HubSpot's contacts for `options`, changed up to `until` (the first run's start)."""
        include = self.contacts.plan.mapping.include
        any_of = (
            [[SearchFilter(include.lifecycle_property, "IN", values=options.stages)]]
            if options.stages
            else self.contacts.search_groups()
        )
        return WindowSource(self.hubspot, options.since, until, self.contacts.properties(), any_of)

    def linked(self) -> LinkedSource:
        return LinkedSource(self.store, self.hubspot, self.contacts.properties())

    # -- a run -------------------------------------------------------------------------------
    def run(
        self,
        options: Options,
        *,
        name: str = BACKFILL,
        command: str = "leadbridge backfill",
        source: Callable[[datetime], Source] | None = None,
        restart: bool = False,
        budget_percent: float = 30.0,
        progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Report:
        """Write the population, going on from the checkpoint `name` unless `restart`. Stops
        cleanly (the checkpoint kept) at the budget share, the reserve, or `should_stop`."""
        with self.store.hold(name, wait=Wait(0)):
            started = self.clock()
            kept = self.store.checkpoint(name)
            if kept is not None and restart:
                self.store.drop_checkpoint(name)
                kept = None
            if kept is not None and kept.options != options.as_json():
                if not kept.done:
                    other = options_from(kept.options).describe()
                    msg = (
                        f"an unfinished {name} with other options ({other}) is in the state "
                        f"store: run `{command} {other}` to finish it, or add --restart to drop "
                        "its checkpoint and start this one"
                    )
                    raise OtherRunUnfinished(msg)
                kept = None
            if kept is not None and kept.done:
                return self._report(name, options, Tally.from_json(kept.state["tally"]), "complete")
            state: dict[str, Any] = dict(kept.state) if kept else {}
            until = (
                datetime.fromisoformat(state["until"])
                if state.get("until")
                else options.until or datetime.now(UTC)
            )
            state["until"] = until.isoformat()
            tally = Tally.from_json(state.get("tally") or {})
            tally.runs += 1
            state["tally"] = tally.as_json()
            checkpoint = Checkpoint(
                name, options.as_json(), state, started_at=kept.started_at if kept else None
            )
            self.store.save_checkpoint(checkpoint)
            src = source(until) if source else self.window(options, until)
            status = self._pages(
                src,
                options,
                checkpoint,
                tally,
                progress,
                should_stop,
                budget_percent=budget_percent,
            )
            report = self._report(name, options, tally, status, command=command)
            report.notes += self._notes
            report.this_run_seconds = self.clock() - started
            return report

    def _pages(
        self,
        source: Source,
        options: Options,
        checkpoint: Checkpoint,
        tally: Tally,
        progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        *,
        budget_percent: float,
    ) -> str:
        run_id = new_run_id()
        summary = ContactsSummary(run_id, stream=STREAM)
        router = self.contacts.begin(summary)
        meter = _Meter(self.salesforce, self.hubspot, budget_percent)
        total = source.total()
        meter.count(tally)
        state = dict(checkpoint.state)
        notes = self._transport(total, state)
        log.info("backfill.start", checkpoint=checkpoint.name, run_id=run_id, total=total)
        status = "done"
        run = _Run(run_id, router, checkpoint, state, tally, meter, progress, total, self.clock())
        group: list[list[HubSpotContact]] = []
        size = self.job_records if self._bulk_on else 1
        try:
            pending = state.get("pending")
            if pending:  # a group whose writes began and whose record did not land
                log.info("backfill.pending", contacts=len(pending["ids"]), job=pending.get("job"))
                found = self.hubspot.read_contacts(pending["ids"], self.contacts.properties())
                self._group(run, _pieces(found), pending["position"], job=pending.get("job"))
                start = pending["position"]
            else:
                start = state.get("position")
            position: Position | None = None
            for number, (page, position) in enumerate(source.pages(start), start=1):
                if should_stop is not None and should_stop():
                    status = "stopped"
                    break
                if number % ROUTER_PAGES == 0 and self.contacts.router_factory is not None:
                    run.router = self.contacts.router_factory()
                if options.limit is not None:
                    page = page[: max(0, options.limit - tally.pulled - _count(group))]
                    if not page:
                        break
                if not meter.room():
                    status = "budget"
                    break
                group.append(page)
                if _count(group) >= size:
                    self._group(run, group, position)
                    group = []
                if options.limit is not None and tally.pulled + _count(group) >= options.limit:
                    break
            if group and position is not None:
                self._group(run, group, position)
        except BudgetReserved as stop:
            log.warning("backfill.reserve", reason=str(stop))
            status = "reserve"
        last = run.last
        meter.count(tally)
        tally.seconds += self.clock() - last
        state["tally"] = tally.as_json()
        self.store.save_checkpoint(
            Checkpoint(
                checkpoint.name,
                checkpoint.options,
                state,
                done=status == "done",
                started_at=checkpoint.started_at,
            )
        )
        log.info("backfill.end", checkpoint=checkpoint.name, run_id=run_id, status=status)
        self._notes = notes
        return status

    def _transport(self, total: int | None, state: dict[str, Any]) -> list[str]:
        """Bulk API 2.0 from the threshold on when a Bulk side is given, decided by the first
        run and kept in the checkpoint (a resumed run has fewer contacts left to count); the
        note the report carries when the run is above it without one."""
        above = total is not None and total >= self.bulk_threshold
        if "bulk" not in state:
            state["bulk"] = above and self.bulk is not None
        self._bulk_on = bool(state["bulk"]) and self.bulk is not None
        if above and self.bulk is None:
            log.info("backfill.collections", total=total, threshold=self.bulk_threshold)
            return [
                f"{total:,} contacts, above the Bulk API 2.0 threshold ({self.bulk_threshold:,}): "
                "no Bulk API 2.0 side was given, so sObject Collections wrote them"
            ]
        return []

    def _group(
        self,
        run: _Run,
        pages: list[list[HubSpotContact]],
        position: Position,
        *,
        job: str | None = None,
    ) -> None:
        """Pages written together (one page through Collections; up to `job_records` records
        in one Bulk API 2.0 job), each recorded with the checkpoint. Before any write the
        checkpoint names the group's contacts (our write-backs move them past the window's
        end, so a group done again after a crash is read by id) and, before its upload, the
        job's id (a resumed run reads the recorded job's results instead of uploading
        again)."""
        ids = [c.id for page in pages for c in page]
        pending: dict[str, Any] = {"ids": ids, "position": position, "job": job}
        with self.store.hold(STREAM, wait=self.page_wait):
            self.store.save_checkpoint(
                replace(run.checkpoint, state={**run.state, "pending": pending})
            )
            bulk = (self._bulk_on or job is not None) and self.bulk is not None
            find = self._lookup(pages) if bulk else None
            planned = []
            for page in pages:
                summary = ContactsSummary(run.run_id, stream=STREAM)
                plan = self.contacts.plan_page(page, summary, find=find)
                planned.append((plan, summary, self.contacts.route_page(plan, run.router)))
            results: dict[str, WriteResult] | None = None
            update: Update | None = None
            if bulk and self.bulk is not None:
                upserts = [
                    u for plan, _, routes in planned for u in self.contacts.upserts(plan, routes)
                ]
                if job is None and upserts:
                    job = self.bulk.start()
                    pending["job"] = job
                    self.store.save_checkpoint(
                        replace(run.checkpoint, state={**run.state, "pending": pending})
                    )
                    self.bulk.send(job, upserts)
                results = self.bulk.finish(job) if job else {}
                update = self._updated([plan for plan, _, _ in planned])
            left = list(ids)
            for plan, summary, routes in planned:
                upsert = self._from_job(results) if results is not None else None
                commit = self.contacts.push_page(
                    plan, summary, run.router, routes, upsert=upsert, update=update
                )
                self._hand_to_conversion(plan, commit, run.tally)
                self._fold(plan.page, summary, run.tally)
                done = {c.id for c in plan.page}
                left = [i for i in left if i not in done]
                run.meter.count(run.tally)
                now = self.clock()
                run.tally.seconds += now - run.last
                run.last = now
                if left:
                    run.state.update(tally=run.tally.as_json(), pending={**pending, "ids": left})
                else:
                    run.state.update(position=position, tally=run.tally.as_json(), pending=None)
                commit.checkpoint = replace(run.checkpoint, state=dict(run.state))
                self.store.record(commit, run_id=run.run_id)
                if run.progress is not None:
                    run.progress(
                        Progress(
                            run.tally.pulled, run.total, run.meter.left(), dict(run.tally.outcomes)
                        )
                    )

    def _lookup(self, pages: list[list[HubSpotContact]]) -> Find:
        """The email look-up of a job's pages, made once for all of them: the emails the
        contacts stream would look up (`needs_lookup`), in queries as long as SOQL allows; each
        page's look-up is answered from it (an email not among them, which no page asks,
        would be looked up on its own)."""
        asked: set[str] = set()
        for page in pages:
            links = self.store.links([c.id for c in page])
            asked.update(
                c.email.strip().lower()
                for c in page
                if needs_lookup(c, links.get(c.id)) and c.email and c.email.strip()
            )
        found: dict[str, list[SalesforceMatch]] = {}
        for match in self.salesforce.find_by_many_emails(sorted(asked)) if asked else []:
            found.setdefault(match.email.strip().lower(), []).append(match)

        def find(emails: Sequence[str]) -> list[SalesforceMatch]:
            known = [e for e in emails if e.strip().lower() in asked]
            missing = [e for e in emails if e.strip().lower() not in asked]
            extra = self.contacts.salesforce.find_by_emails(missing) if missing else []
            return [m for e in known for m in found.get(e.strip().lower(), [])] + extra

        return find

    def _updated(self, plans: list[PagePlan]) -> Update:
        """The updates by Id of a job's pages (`ContactsStream.updates`: Leads found by email,
        Contacts of converted people), written together, 200 to a Collections call, and
        answered page by page; one not among them is written on its own."""
        done: dict[tuple[str, str], WriteResult] = {}
        wanted: dict[str, list[RecordUpdate]] = {}
        for plan in plans:
            for sobject, updates in self.contacts.updates(plan.decisions).items():
                wanted.setdefault(sobject, []).extend(u for u in updates if u.fields)
        for sobject, updates in wanted.items():
            if updates:
                for result in self.salesforce.update_records(sobject, updates):
                    done[(sobject, result.hubspot_id)] = result

        def update(sobject: str, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
            missing = [u for u in updates if (sobject, u.key) not in done]
            extra = (
                {r.hubspot_id: r for r in self.salesforce.update_records(sobject, missing)}
                if missing
                else {}
            )
            return [done.get((sobject, u.key)) or extra[u.key] for u in updates]

        return update

    def _from_job(self, results: dict[str, WriteResult]) -> Upsert:
        """The upserts' transport for pages whose job has run: each one's result from the job;
        one the job does not hold (a decision that changed since) through Collections."""

        def upsert(
            upserts: Sequence[LeadUpsert], *, auto_assign: bool = False
        ) -> list[WriteResult]:
            missing = [u for u in upserts if u.hubspot_id not in results]
            extra = (
                {
                    r.hubspot_id: r
                    for r in self.contacts.salesforce.upsert_leads(missing, auto_assign=auto_assign)
                }
                if missing
                else {}
            )
            return [results.get(u.hubspot_id) or extra[u.hubspot_id] for u in upserts]

        return upsert

    @staticmethod
    def _fold(page: list[HubSpotContact], summary: ContactsSummary, tally: Tally) -> None:
        """A page's counts into the run's (the erased people's contacts left out of the
        page's plan counted as read)."""
        tally.pulled += len(page) + summary.erased
        tally.written_back += summary.written_back
        tally.add(
            {
                "create": summary.created,
                "update": summary.updated,
                "link": summary.linked,
                "converted": summary.contacts_updated,
                "unchanged": summary.unchanged,
                "skip": summary.skipped,
                "held": summary.held,
                "fail": summary.failed,
                ERASED: summary.erased,
            }
        )
        tally.fail(summary.failures)

    def _hand_to_conversion(self, plan: PagePlan, commit: Commit, tally: Tally) -> None:
        """Sales-qualified contacts now linked to a Lead: the conversions stream reads them
        by id next pass (its cursor may be past their change times)."""
        if not self.sql_stages or self.conversion_stream is None:
            return
        stage = self.contacts.plan.mapping.include.lifecycle_property
        linked = {link.hubspot_id for link in commit.links if link.object == "Lead"}
        for contact in plan.page:
            if contact.id in linked and contact.properties.get(stage) in self.sql_stages:
                commit.work.append(
                    hand_over(
                        self.conversion_stream,
                        contact.id,
                        "backfilled at a sales-qualified stage: converted by the next pass",
                    )
                )
                tally.to_convert += 1

    # -- a dry run -----------------------------------------------------------------------------
    def dry_run(
        self,
        options: Options,
        *,
        source: Source | None = None,
        rows: Callable[[PlanRow], None] | None = None,
        budget_percent: float = 30.0,
        progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Report:
        """What a run would do, read from both sides: nothing is written anywhere (no
        Salesforce or HubSpot write, no state store write, no routing turn taken)."""
        started = self.clock()
        src = source or self.window(options, options.until or datetime.now(UTC))
        summary = ContactsSummary(new_run_id(), stream=STREAM)
        self.contacts.begin(summary)
        meter = _Meter(self.salesforce, self.hubspot, budget_percent)
        tally = Tally(runs=1)
        total = src.total()
        status = "dry-run"
        include = self.contacts.plan.mapping.include
        stage = include.lifecycle_property
        for page, _position in src.pages(None):
            if should_stop is not None and should_stop():
                status = "stopped"
                break
            if options.limit is not None:
                page = page[: max(0, options.limit - tally.pulled)]
                if not page:
                    break
            if not meter.room():
                status = "budget"
                break
            plan = self.contacts.plan_page(page, ContactsSummary(summary.run_id, stream=STREAM))
            tally.pulled += len(page)
            decided = {d.contact.id for d in plan.decisions}
            failed = {f.record_id: f for f in plan.commit.failures}
            planned = {c.id for c in plan.page}  # less the erased people's
            for contact in page:
                if contact.id in decided:
                    continue
                if contact.id not in planned:
                    tally.add({ERASED: 1})
                    if rows is not None:
                        rows(PlanRow(contact.id, "", ERASED, "", SKIPPED))
                    continue
                dead = failed.get(contact.id)
                kind, why = ("fail", dead.reason) if dead else ("held", "refused before")
                tally.add({kind: 1})
                if dead is not None:
                    tally.fail([(contact.id, dead.reason)])
                if rows is not None:
                    rows(PlanRow(contact.id, contact.email or "", kind, "", why))
            for decision in plan.decisions:
                kind = outcome(decision)
                convert = (
                    kind in ("create", "update", "link")
                    and decision.action != "link_contact"
                    and decision.contact.properties.get(stage) in self.sql_stages
                )
                tally.add({kind: 1})
                tally.to_convert += convert
                if kind == "fail":
                    tally.fail([(decision.contact.id, decision.reason)])
                if rows is not None:
                    rows(
                        PlanRow(
                            decision.contact.id,
                            decision.contact.email or "",
                            kind,
                            decision.target_id or "",
                            explain(decision, include),
                            convert,
                        )
                    )
            meter.count(tally)
            if progress is not None:
                progress(Progress(tally.pulled, total, meter.left(), dict(tally.outcomes)))
            if options.limit is not None and tally.pulled >= options.limit:
                break
        meter.count(tally)
        tally.seconds = self.clock() - started
        report = self._report(BACKFILL, options, tally, status)
        report.total = total
        return report

    def _report(
        self,
        name: str,
        options: Options,
        tally: Tally,
        status: str,
        *,
        command: str = "leadbridge backfill",
    ) -> Report:
        described = options.describe()
        resume = f"{command} {described}" if options.as_json() != Options().as_json() else command
        if options.mapping:
            resume, described = command, "(the synced population)"
        dead = len(self.store.dead_letters(STREAM)) if status != "dry-run" else 0
        return Report(name, described, tally, status, resume=resume, dead_letters=dead)


def options_from(value: dict[str, Any]) -> Options:
    """The options a checkpoint kept."""
    since, until = value.get("since"), value.get("until")
    return Options(
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        stages=tuple(value.get("stages") or ()),
        limit=value.get("limit"),
        mapping=value.get("mapping"),
    )


class _Meter:
    """The calls a run sent to each remote (counted by the gateways) and the share of the
    Salesforce budget it may spend (`budget_cap` of what was left when first known)."""

    def __init__(
        self, salesforce: BackfillSalesforce, hubspot: BackfillHubSpot, percent: float
    ) -> None:
        self.salesforce, self.hubspot, self.percent = salesforce, hubspot, percent
        self.sf_seen, self.hs_seen = salesforce.calls_sent(), hubspot.calls_sent()
        self.spent = 0
        self.cap: int | None = None
        self.page_calls = PAGE_CALLS
        self._before_page = 0

    def count(self, tally: Tally) -> None:
        """Add the calls sent since last counted to `tally`; learn the cap once known."""
        sf, hs = self.salesforce.calls_sent(), self.hubspot.calls_sent()
        tally.spend("salesforce", sf - self.sf_seen)
        tally.spend("hubspot", hs - self.hs_seen)
        self.spent += sf - self.sf_seen
        self.page_calls = max(self.page_calls, self.spent - self._before_page)
        self.sf_seen, self.hs_seen = sf, hs
        if self.cap is None:
            budget = self.salesforce.budget()
            if budget is not None:
                self.cap = self.spent + budget_cap(budget.remaining, self.percent)

    def room(self) -> bool:
        """Whether a page of the largest size seen so far fits in the run's share."""
        self._before_page = self.spent
        return self.cap is None or self.spent + self.page_calls <= self.cap

    def left(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.spent)


@dataclass
class _Run:
    """What one run's groups share."""

    run_id: str
    router: RouterSide | None
    checkpoint: Checkpoint
    state: dict[str, Any]
    tally: Tally
    meter: _Meter
    progress: Callable[[Progress], None] | None
    total: int | None
    last: float


def _count(pages: list[list[HubSpotContact]]) -> int:
    return sum(len(page) for page in pages)


def _pieces(contacts: list[HubSpotContact], size: int = 200) -> list[list[HubSpotContact]]:
    return [contacts[i : i + size] for i in range(0, len(contacts), size)]
