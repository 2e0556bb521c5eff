"""Several `leadbridge run` processes over one PostgreSQL: the job functions
(`connector.service.tasks`) as jobs of Procrastinate, a PostgreSQL job queue (its schema is
applied by the state store's own migration 0004), shared by every process using the store.

Jobs (queue `leadbridge.streams`, one at a time per process, so the gateways serve one job at
a time):

- **a pass of one stream** (`leadbridge.pass`, one per step of `Connector.steps`): `lock` = the
  stream, so one holder of each cursor; `queueing_lock` = "pass <stream>", so at most one pass
  of a stream waits however many processes defer it. Deferred at each process's start and by
  Procrastinate's periodic deferrer once per poll period across all processes (the period is
  the longest a cron keeps evenly within `LEADBRIDGE_POLL_SECONDS`: `cadence`); a tick is
  skipped while the Salesforce budget nears its reserve (`tick_due`).
- **the records webhooks named, by id** (`leadbridge.by_id`, per stream): the endpoint records
  the work durably, then defers this job with `queueing_lock` = "by_id <stream>": a burst of
  events, for one contact or many, collapses into the one job waiting, which reads the stream's
  work when it starts (after the batch window), so 100 changes still cost one page.
  Contacts' jobs have no `lock`: while one runs the next burst's job waits, and a free worker
  runs it beside the first, each on the contacts it holds (`Stream.run_work`: the stream held
  shared, each contact by one run at a time, read only once held, so never written by two
  runs at once nor with older values; the contacts another run holds are left to it). A job
  beside others goes with a page of contacts, or with fewer once they ended and its batch
  window passed (the window is the gathering's: `Stream.run_work`), so batches, and the calls
  per change, stay what one job at a time made them; one that stopped at a page with work
  left defers the next. A pass
  holds the stream alone (`StateStore.hold`), so it and these runs wait for each other, as
  before. The conversions job keeps `lock` = the stream (a run holds its stream alone: its
  conversions in flight are the stream's work). The contacts job defers the conversions job
  after it (a new Lead before its conversion).
- **retries of work**: a by-id job that failed (an API down) is deferred again after a back-off
  (`RETRY_SECONDS`), a new job under the same queueing lock, behind its stream's passes; the
  work itself stays recorded and every pass reads its stream's work first. A pass that did not
  finish fails its job (shown in the queue): the next period's pass is its retry.
  Procrastinate's own `retry=` is not used: retrying
  a job whose queueing lock another job waits under violates the lock's unique index and
  leaves the job `doing` for good (procrastinate issues 1446 and 1543).

Upkeep (queue `leadbridge.upkeep`, its own worker per process, so a long pass never delays
it): the documented stalled-job recovery, as a periodic task every `RECOVERY_SECONDS`: the
jobs of workers whose heartbeat (every `HEARTBEAT_SECONDS`) is older than `STALLED_SECONDS`
are retried, or, when a job of the same queueing lock already waits (it does the same work:
every job reads its stream's durable state), finished as failed. A SIGKILLed worker's job, and
its lock, are released and run again elsewhere within `STALLED_BOUND` seconds (heartbeat
timeout + recovery period + fetch poll + Procrastinate's margin). And every hour, jobs that
succeeded more than an hour ago (two poll periods, if longer) are removed.

`StateStore.hold` stays the last line of defence: a job Procrastinate ever ran twice at once
(a live worker thought stalled) still runs its stream in one place at a time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from connector.errors import ConfigError
from connector.service.tasks import IDENTITY_STREAMS, WEBHOOK_STREAMS, Tasks
from connector.state.store import PG_CONNECT_TIMEOUT_S
from connector.streams.contacts.stream import STREAM as CONTACTS
from connector.streams.conversions.stream import STREAM as CONVERSIONS
from connector.wiring import PASS_STEPS, Connector

if TYPE_CHECKING:
    from procrastinate import App
    from procrastinate.manager import JobManager

log = structlog.get_logger(__name__)

STREAMS_QUEUE = "leadbridge.streams"
UPKEEP_QUEUE = "leadbridge.upkeep"
PASS_TASK = "leadbridge.pass"  # noqa: S105 - a task name, not a password
BY_ID_TASK = "leadbridge.by_id"
RECOVERY_TASK = "leadbridge.retry_stalled_jobs"
CLEANUP_TASK = "leadbridge.remove_old_jobs"
#: Webhook runs go before passes waiting for the same stream (a pass reads the work too); a
#: retry waiting for its back-off goes after them: Procrastinate holds back every job of a lock
#: while one of higher priority waits, even one scheduled for later.
BY_ID_PRIORITY = 10
PASS_PRIORITY = 0
RETRY_PRIORITY = -10

#: A worker writes its heartbeat this often; one silent for `STALLED_SECONDS` is taken for
#: dead, and the jobs it was running are retried by the recovery run every
#: `RECOVERY_SECONDS`; retried jobs are found by the next fetch poll (Procrastinate notifies
#: only new jobs).
HEARTBEAT_SECONDS = 2.0
STALLED_SECONDS = 10.0
RECOVERY_SECONDS = 5
FETCH_POLL_SECONDS = 1.0
_PERIODIC_MARGIN = 0.5  # procrastinate.periodic.MARGIN: its deferrer wakes this much late
#: From a worker's death to its job running again elsewhere, at most (given a free worker).
STALLED_BOUND = STALLED_SECONDS + RECOVERY_SECONDS + _PERIODIC_MARGIN + FETCH_POLL_SECONDS
#: A failed by-id job is deferred again after these many seconds, then left to the passes.
RETRY_SECONDS = (1, 5, 15)
#: Succeeded jobs older than this are removed (hourly); longer when two poll periods are
#: longer (`/readyz` reads when a pass last succeeded from them).
KEEP_JOBS_HOURS = 1

#: The newest of Procrastinate's schema migrations that migration 0004 applies (its
#: `schema.sql` includes them); a Procrastinate with a newer one needs a new revision.
SCHEMA_MIGRATION = "03.04.00_50_post_add_retry_failed_job_procedure.sql"

#: The periods a cron keeps evenly: seconds dividing a minute, minutes dividing an hour,
#: hours dividing a day, a day.
_DIVISORS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
_PERIODS = (
    *_DIVISORS,
    *(60 * m for m in _DIVISORS),
    *(3600 * h for h in (1, 2, 3, 4, 6, 8, 12)),
    86400,
)


class PassFailed(Exception):
    """A pass job that did not finish: the job fails, so the queue shows it (no retry: the next
    period's pass is the retry)."""


def installed_schema_migration() -> str:
    """The newest schema migration the installed Procrastinate ships."""
    files = resources.files("procrastinate.sql") / "migrations"
    return max(p.name for p in files.iterdir() if p.name.endswith(".sql"))


def check_schema_version() -> None:
    """`ConfigError` when the installed Procrastinate expects a newer queue schema than the
    state store's migrations apply."""
    installed = installed_schema_migration()
    if installed != SCHEMA_MIGRATION:
        msg = (
            f"the installed Procrastinate's queue schema ({installed}) is not the one this "
            f"leadbridge's migrations apply ({SCHEMA_MIGRATION}): install the Procrastinate "
            "version leadbridge names (pip install 'leadbridge[postgres]')"
        )
        raise ConfigError(msg)


def conninfo(database_url: str) -> str:
    """The libpq connection string of a `postgresql+psycopg://` state store URL, with the same
    parameters SQLAlchemy's psycopg dialect connects with (its options, such as the schema's
    `search_path`, decoded as SQLAlchemy decodes them)."""
    from psycopg.conninfo import make_conninfo

    url = sa.make_url(database_url)
    _, parameters = url.get_dialect()().create_connect_args(url)
    parameters.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    return make_conninfo("", **parameters)


def cadence(poll_seconds: float) -> tuple[str, int]:
    """The cron of a pass every poll interval and its period in seconds: the longest period a
    cron keeps evenly that is no longer than `poll_seconds` (at least a second)."""
    period = max(p for p in _PERIODS if p <= max(1.0, poll_seconds))
    if period < 60:
        return f"* * * * * */{period}", period
    if period < 3600:
        return f"*/{period // 60} * * * *", period
    if period < 86400:
        return f"0 */{period // 3600} * * *", period
    return "0 0 * * *", period


def tick_due(timestamp: float, period: float, delay: float) -> bool:
    """Whether the periodic tick at `timestamp` runs a pass when passes are to be `delay`
    seconds apart (`poll_delay`, longer than the `period` while the budget nears the reserve):
    the first tick of each `delay`-long window does, the others are skipped."""
    if delay <= period:
        return True
    return math.floor(timestamp / delay) != math.floor((timestamp - period) / delay)


async def recover_stalled(manager: JobManager) -> list[tuple[int, str]]:
    """Procrastinate's documented stalled-job recovery: every job of a worker whose heartbeat
    is older than `STALLED_SECONDS` is retried (its lock released, a worker runs it again),
    unless a job of the same queueing lock already waits: that one does the same work (every
    job reads its stream's durable state), so the stalled one is finished as failed (a retry
    would break the lock's unique index, procrastinate issue 1446). (job id, outcome) each."""
    from procrastinate import exceptions, jobs

    done: list[tuple[int, str]] = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS):
        try:
            await manager.retry_job(job)
            outcome = "retried"
        except exceptions.UniqueViolation:
            await manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            outcome = "dropped: the same job waits"
        log.warning(
            "service.stalled_job", job_id=job.id, task=job.task_name, lock=job.lock, outcome=outcome
        )
        done.append((job.id or 0, outcome))
    return done


def _why(exc: BaseException) -> str:
    """One line saying what went wrong: Procrastinate's "Database error." names its cause."""
    cause = exc.__cause__
    text = f"{exc}".strip()
    if cause is not None:
        text = f"{text} {type(cause).__name__}: {cause}".strip()
    return " ".join(text.split())


def _pass_options(step: str) -> dict[str, Any]:
    return {
        "queue": STREAMS_QUEUE,
        "lock": step,
        "queueing_lock": f"pass {step}",
        "priority": PASS_PRIORITY,
    }


def _by_id_options(stream: str) -> dict[str, Any]:
    return {
        "queue": STREAMS_QUEUE,
        "lock": None if stream == CONTACTS else stream,
        "queueing_lock": f"by_id {stream}",
        "priority": BY_ID_PRIORITY,
    }


class Queue:
    """The job queue of one `leadbridge run` process: its Procrastinate workers (in a thread
    with an event loop of their own) and the deferring the webhook endpoint does."""

    def __init__(self, tasks: Tasks) -> None:
        # Procrastinate is the `postgres` extra's, as the driver is: imported only when used.
        from procrastinate import App, PsycopgConnector, SyncPsycopgConnector

        check_schema_version()
        self.tasks = tasks
        settings = tasks.settings
        info = conninfo(settings.database_url)
        self.cron, self.period = cadence(settings.poll_seconds)
        self.keep_hours = max(KEEP_JOBS_HOURS, math.ceil(2 * self.period / 3600) + 1)
        if self.period != settings.poll_seconds:
            log.info(
                "service.poll_cadence",
                poll_seconds=settings.poll_seconds,
                every_seconds=self.period,
            )
        # The workers' app (async, in the worker thread's loop) and the app that defers from
        # any other thread (sync): a psycopg async pool serves the loop it was opened in only.
        self.app: App = App(connector=PsycopgConnector(conninfo=info, min_size=1, max_size=4))
        self._defer_app = App(connector=SyncPsycopgConnector(conninfo=info, min_size=1, max_size=4))
        self._register()
        self._thread = threading.Thread(target=self._run, name="leadbridge-queue", daemon=True)
        self._running = threading.Event()
        if settings.log_level.lower() != "debug":
            logging.getLogger("procrastinate").setLevel(logging.WARNING)

    @property
    def connector(self) -> Connector:
        return self.tasks.connector

    # -- control (the same as the in-process `Worker`) ---------------------------------------
    def start(self) -> None:
        """Open the queue, start the workers, and defer a pass of every stream now."""
        self._defer_app.open()
        self._thread.start()
        self.defer_passes()

    def stop(self) -> None:
        """Take no new job; the one in flight ends after its page is recorded (the worker
        thread sees the stop within a tenth of a second)."""
        self.tasks.stopping.set()

    @property
    def stopping(self) -> bool:
        return self.tasks.stopping.is_set()

    def join(self, timeout: float) -> bool:
        """Wait for the workers to end (the job in flight finished); whether they did."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        done = not self._thread.is_alive()
        if done:
            self._defer_app.close()
        return done

    def poll_interval(self) -> float:
        """Seconds between passes: the cron's period, or longer while the Salesforce budget
        nears its reserve (`poll_delay` beyond the poll interval; ticks are then skipped)."""
        delay = self.tasks.poll_interval()
        return delay if delay > self.tasks.settings.poll_seconds else float(self.period)

    def wake(self, streams: Iterable[str] = WEBHOOK_STREAMS) -> None:
        """Webhooks recorded work for `streams`: defer the by-id job of each of merges and
        deletions named (each defers the contacts job after it), and of the first of contacts
        and conversions in run order (the contacts job defers the conversions job after it)."""
        wanted = set(streams)
        for stream in IDENTITY_STREAMS:
            if stream in wanted:
                self.defer_by_id(stream, window=True)
        for stream in WEBHOOK_STREAMS:
            if stream in IDENTITY_STREAMS:
                continue
            if stream in wanted:
                self.defer_by_id(stream, window=True)
                return

    def problems(self) -> list[str]:
        """What keeps this process from doing its share (for `/readyz`)."""
        if not self.stopping and not self._running.is_set():
            return ["the job queue's workers are not running"]
        return []

    # -- deferring --------------------------------------------------------------------------
    def defer_passes(self) -> None:
        """A pass of every step now (each collapses into one already waiting), and the merges
        and deletions a stopped run left."""
        for stream in IDENTITY_STREAMS:
            if self.tasks.work_waiting(stream):
                self.defer_by_id(stream)
        for step in self.connector.steps():
            self._defer(PASS_TASK, _pass_options(step), {"step": step})

    def defer_by_id(
        self, stream: str, *, window: bool = False, attempt: int = 0, delay: float = 0
    ) -> None:
        """The by-id job of `stream` (one waiting at most); `window`: it waits the batch window
        before reading the work."""
        options = _by_id_options(stream)
        if delay:
            options |= {"schedule_in": {"seconds": delay}, "priority": RETRY_PRIORITY}
        self._defer(BY_ID_TASK, options, {"stream": stream, "window": window, "attempt": attempt})

    def _defer(self, task: str, options: dict[str, Any], kwargs: dict[str, Any]) -> None:
        from procrastinate import exceptions

        try:
            self._defer_app.configure_task(name=task, **options).defer(**kwargs)
        except exceptions.AlreadyEnqueued:
            pass  # one is waiting already: it reads the durable state when it runs
        except exceptions.ConnectorException as exc:
            # The work stays recorded in the state store; the next pass does it.
            log.error("service.defer_failed", task=task, error=_why(exc))

    # -- the jobs ---------------------------------------------------------------------------
    def _register(self) -> None:
        app, tasks = self.app, self.tasks

        @app.task(name=PASS_TASK, queue=STREAMS_QUEUE)
        def stream_pass(step: str, timestamp: int | None = None) -> None:
            self._before_job()
            if timestamp is not None and not tick_due(timestamp, self.period, self.poll_interval()):
                log.info("service.pass_slowed", stream=step, reason="Salesforce API budget")
                return
            if step == CONTACTS:  # merges and deletions a failed or killed job left
                for stream in IDENTITY_STREAMS:
                    if tasks.work_waiting(stream):
                        self.defer_by_id(stream)
            if not tasks.pass_of(step):
                msg = f"the pass of {step} did not finish (logged as service.run_failed)"
                raise PassFailed(msg)
            tasks.step_passed(step)

        for step in PASS_STEPS:
            options = _pass_options(step) | {"task_kwargs": {"step": step}}
            # The deferrer passes `timestamp` by keyword; its type wants it first.
            periodic = app.periodic(cron=self.cron, periodic_id=step, **options)
            periodic(stream_pass)  # type: ignore[arg-type]

        @app.task(name=BY_ID_TASK, queue=STREAMS_QUEUE)
        def by_id(stream: str, window: bool = False, attempt: int = 0) -> None:
            self._before_job()
            seconds = tasks.settings.webhook_batch_ms / 1000 if window else 0.0
            if stream == CONTACTS:  # its run gathers for the window once the runs beside end
                done = tasks.by_id(stream, window=seconds)
            elif seconds and tasks.stopping.wait(seconds):
                self.defer_by_id(stream)  # stopping: another worker takes it
                return
            else:
                done = tasks.by_id(stream)
            if not done:
                if attempt < len(RETRY_SECONDS):
                    self.defer_by_id(stream, attempt=attempt + 1, delay=RETRY_SECONDS[attempt])
                return
            if tasks.stopping.is_set() and tasks.work_waiting(stream):
                self.defer_by_id(stream)  # stopped early: another worker finishes it
                return
            if stream in tasks.more_work:
                tasks.more_work.discard(stream)
                self.defer_by_id(stream)  # a page each: a free worker takes the next
            if stream == CONTACTS and tasks.work_waiting(CONVERSIONS):
                self.defer_by_id(CONVERSIONS)
            if stream in IDENTITY_STREAMS and tasks.work_waiting(CONTACTS):
                self.defer_by_id(CONTACTS)  # the merged contacts' changes, after the merge

        @app.periodic(cron=f"* * * * * */{RECOVERY_SECONDS}", periodic_id="recovery")
        @app.task(name=RECOVERY_TASK, queue=UPKEEP_QUEUE, queueing_lock=RECOVERY_TASK)
        async def retry_stalled_jobs(timestamp: int) -> None:
            await recover_stalled(app.job_manager)

        @app.periodic(cron="0 * * * *", periodic_id="cleanup")
        @app.task(name=CLEANUP_TASK, queue=UPKEEP_QUEUE, queueing_lock=CLEANUP_TASK)
        async def remove_old_jobs(timestamp: int) -> None:
            await app.job_manager.delete_old_jobs(nb_hours=self.keep_hours)

    def _before_job(self) -> None:
        """Every job starts on the mapping files live now; a new version's passes go first."""
        if self.tasks.reload_if_changed():
            self.defer_passes()

    # -- readiness --------------------------------------------------------------------------
    def last_pass_elsewhere(self) -> float | None:
        """Seconds since every step of this connector's pass last succeeded, in any process
        (the oldest of the steps' latest successes): a whole pass's worth, not one quick step.
        None before every step has succeeded once."""
        steps = self.connector.steps()
        query = sa.text(
            "SELECT count(*), EXTRACT(EPOCH FROM clock_timestamp() - min(last)) FROM ("
            "SELECT j.args ->> 'step' AS step, max(e.at) AS last "
            "FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
            "WHERE e.type = 'succeeded' AND j.task_name = :task "
            "AND j.args ->> 'step' IN :steps GROUP BY 1) AS latest"
        ).bindparams(sa.bindparam("steps", expanding=True))
        with self.connector.store.engine.connect() as connection:
            row = connection.execute(query, {"task": PASS_TASK, "steps": steps}).one()
        done, ago = row
        return None if ago is None or done < len(steps) else float(ago)

    # -- the worker thread ------------------------------------------------------------------
    async def _until_stopping(self) -> None:
        while not self.stopping:
            await asyncio.sleep(0.1)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        """Run both workers until stopped; a worker that ends otherwise (the database went
        away) is started again after a pause."""
        from procrastinate.worker import Worker as JobWorker

        options: dict[str, Any] = {
            "concurrency": 1,
            "install_signal_handlers": False,
            "fetch_job_polling_interval": FETCH_POLL_SECONDS,
            "update_heartbeat_interval": HEARTBEAT_SECONDS,
            "stalled_worker_timeout": STALLED_SECONDS,
        }
        while not self.stopping:
            try:
                async with self.app.open_async():
                    workers = [
                        JobWorker(self.app, queues=[STREAMS_QUEUE], name="streams", **options),
                        JobWorker(self.app, queues=[UPKEEP_QUEUE], name="upkeep", **options),
                    ]
                    runs = [asyncio.create_task(worker.run()) for worker in workers]
                    log.info("service.queue_started", every_seconds=self.period)
                    self._running.set()
                    watch = asyncio.create_task(self._until_stopping())
                    await asyncio.wait([*runs, watch], return_when=asyncio.FIRST_COMPLETED)
                    self._running.clear()
                    watch.cancel()
                    for worker in workers:
                        worker.stop()  # the job in flight ends after its page is recorded
                    for outcome in await asyncio.gather(*runs, return_exceptions=True):
                        if isinstance(outcome, BaseException):
                            log.error("service.queue_worker_failed", error=_why(outcome))
            except Exception as exc:
                log.error("service.queue_failed", error=_why(exc))
            finally:
                self._running.clear()
            if not self.stopping:
                await asyncio.sleep(1)
        log.info("service.queue_stopped")
