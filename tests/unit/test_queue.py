"""The job queue's rules: the pass cadence a cron keeps, passes slowed for the API budget, the
connection it opens, the Procrastinate schema it expects, and the stalled-job recovery against
a real PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connector.errors import ConfigError
from connector.service import queue
from connector.service.queue import (
    SCHEMA_MIGRATION,
    STALLED_SECONDS,
    cadence,
    check_schema_version,
    conninfo,
    installed_schema_migration,
    recover_stalled,
    tick_due,
)
from connector.state.store import StateStore
from connector.streams.contacts.stream import STREAM as CONTACTS
from connector.streams.conversions.stream import STREAM as CONVERSIONS
from tests.conftest import PG_URL, pg_schema


@pytest.mark.parametrize(
    ("poll", "cron", "period"),
    [
        (30, "* * * * * */30", 30),
        (1, "* * * * * */1", 1),
        (0.2, "* * * * * */1", 1),
        (45, "* * * * * */30", 30),
        (60, "*/1 * * * *", 60),
        (300, "*/5 * * * *", 300),
        (3600, "0 */1 * * *", 3600),
        (7 * 3600, "0 */6 * * *", 6 * 3600),
        (10**6, "0 0 * * *", 86400),
    ],
)
def test_passes_keep_the_longest_cron_period_within_the_poll_interval(
    poll: float, cron: str, period: int
) -> None:
    """A pass is deferred once per period a cron keeps evenly, never less often than asked."""
    assert cadence(poll) == (cron, period)


def test_every_tick_passes_while_the_budget_is_fine() -> None:
    """With the budget far from its reserve every periodic tick runs its pass."""
    assert all(tick_due(t, 5, 5) for t in range(0, 600, 5))


@pytest.mark.parametrize("delay", [12.5, 45, 300])
def test_a_slowed_poll_spaces_passes_by_the_delay(delay: float) -> None:
    """Near the reserve, ticks are skipped so that passes are `delay` apart on average, the
    same whichever worker runs the tick (the decision depends on the tick's time only)."""
    period = 5
    due = [t for t in range(0, 36_000, period) if tick_due(t, period, delay)]
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert min(gaps) >= delay - period
    assert abs(sum(gaps) / len(gaps) - delay) < period


def test_the_queue_connects_as_the_state_store_does() -> None:
    """Options in the store's URL (a schema's search_path with its space-separated settings)
    reach the queue's connections as SQLAlchemy reads them; the password stays a parameter."""
    url = (
        "postgresql+psycopg://lb:p%40ss@db.example:5433/leadbridge"
        "?options=-csearch_path%3Dtenant_a+-clock_timeout%3D20s"
    )
    info = conninfo(url)
    assert "options='-csearch_path=tenant_a -clock_timeout=20s'" in info
    assert "password=p@ss" in info and "port=5433" in info and "dbname=leadbridge" in info


def test_the_installed_procrastinate_has_the_schema_migration_0004_applies() -> None:
    """A Procrastinate with another schema migration needs a state revision that applies it:
    this fails first, and a queue would refuse to start."""
    assert installed_schema_migration() == SCHEMA_MIGRATION


def test_a_procrastinate_with_another_schema_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue does not start on a schema its Procrastinate does not expect."""
    monkeypatch.setattr(queue, "SCHEMA_MIGRATION", "03.00.00_01_pre_cancel_notification.sql")
    with pytest.raises(ConfigError, match="Procrastinate"):
        check_schema_version()


@pytest.fixture
def pg_store() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("LEADBRIDGE_TEST_DATABASE_URL not set")
    with pg_schema() as url:
        StateStore.open(url).close()  # migrated: the queue's tables are there
        yield url


@pytest.mark.postgres
def test_stalled_jobs_are_retried_or_dropped_for_the_one_waiting(pg_store: str) -> None:
    """Jobs of a worker whose heartbeat stopped are retried (their lock released), except one
    whose queueing lock another job waits under, which is finished as failed (the waiting job
    does the same work); a live worker's job is left alone."""
    engine = sa.create_engine(pg_store)
    with engine.begin() as connection:
        dead, live = (
            connection.execute(
                sa.text(
                    "INSERT INTO procrastinate_workers (last_heartbeat) VALUES "
                    "(now() - make_interval(secs => :old)), (now()) RETURNING id"
                ),
                {"old": STALLED_SECONDS * 3},
            )
            .scalars()
            .all()
        )

        def job(lock: str, status: str, worker: int | None) -> int:
            return int(
                connection.execute(
                    sa.text(
                        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, "
                        "queueing_lock, status, worker_id) VALUES ('leadbridge.streams', "
                        "'leadbridge.pass', :lock, 'pass ' || :lock, "
                        "CAST(:status AS procrastinate_job_status), :worker) RETURNING id"
                    ),
                    {"lock": lock, "status": status, "worker": worker},
                ).scalar_one()
            )

        waited_for = job("hubspot.contacts", "doing", dead)
        waiting = job("hubspot.contacts", "todo", None)
        alone = job("salesforce.leads", "doing", dead)
        running = job("hubspot.writeback", "doing", live)

    from procrastinate import App, PsycopgConnector

    async def recover() -> list[tuple[int, str]]:
        app = App(connector=PsycopgConnector(conninfo=conninfo(pg_store)))
        async with app.open_async():
            return await recover_stalled(app.job_manager)

    outcomes = dict(asyncio.run(recover()))

    assert outcomes == {waited_for: "dropped: the same job waits", alone: "retried"}
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, status, attempts FROM procrastinate_jobs"))
        status = {row.id: (row.status, row.attempts) for row in rows}
    engine.dispose()
    assert status == {
        waited_for: ("failed", 1),
        waiting: ("todo", 0),
        alone: ("todo", 1),
        running: ("doing", 0),
    }


@pytest.mark.postgres
def test_the_queue_schema_comes_off_with_its_revision_and_back(pg_store: str) -> None:
    """Downgrading revision 0004 removes every Procrastinate object from the store's schema;
    upgrading again recreates them."""
    from alembic import command

    from connector.state.migrate import _config

    def objects(connection: sa.Connection) -> set[str]:
        query = sa.text(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relname LIKE 'procrastinate%' UNION ALL "
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
            "AND proname LIKE 'procrastinate%' UNION ALL "
            "SELECT typname FROM pg_type WHERE typnamespace = current_schema()::regnamespace "
            "AND typname LIKE 'procrastinate%'"
        )
        return set(connection.scalars(query))

    engine = sa.create_engine(pg_store)
    with engine.begin() as connection:
        before = objects(connection)
        command.downgrade(_config(connection), "0003")
        after_downgrade = objects(connection)
        command.upgrade(_config(connection), "head")
        again = objects(connection)
    engine.dispose()
    assert "procrastinate_jobs" in before and "procrastinate_fetch_job_v2" in before
    assert after_downgrade == set()
    assert again == before


@pytest.mark.postgres
def test_contacts_webhook_jobs_run_side_by_side_and_a_burst_collapses(pg_store: str) -> None:
    """The contacts by-id job as deferred: while one waits, deferring another is refused (the
    burst collapses into the one waiting); once it runs, the next burst's job waits and a
    second worker takes it beside the first. The conversions job keeps its stream's lock (its
    second job waits for the first to end), as does a contacts pass."""
    from procrastinate import App, PsycopgConnector, exceptions, jobs

    async def scenario() -> dict[str, object]:
        app = App(connector=PsycopgConnector(conninfo=conninfo(pg_store)))
        async with app.open_async():
            manager = app.job_manager
            one, two = await manager.register_worker(), await manager.register_worker()

            async def defer(stream: str) -> int:
                options = queue._by_id_options(stream)
                task = app.configure_task(name=queue.BY_ID_TASK, **options)
                return await task.defer_async(stream=stream)

            async def fetch(worker: int) -> int | None:
                job = await manager.fetch_job([queue.STREAMS_QUEUE], worker)
                return None if job is None else job.id

            seen: dict[str, object] = {}
            first = await defer(CONTACTS)
            with pytest.raises(exceptions.AlreadyEnqueued):
                await defer(CONTACTS)
            seen["first runs"] = await fetch(one) == first
            second = await defer(CONTACTS)
            seen["second runs beside it"] = await fetch(two) == second

            for job_id in (first, second):
                await manager.finish_job_by_id_async(
                    job_id=job_id, status=jobs.Status.SUCCEEDED, delete_job=False
                )
            converting = await defer(CONVERSIONS)
            seen["a conversions job runs"] = await fetch(one) == converting
            waiting = await defer(CONVERSIONS)
            seen["the next waits for it"] = await fetch(two) is None
            await manager.finish_job_by_id_async(
                job_id=converting, status=jobs.Status.SUCCEEDED, delete_job=False
            )
            seen["then runs"] = await fetch(two) == waiting
            return seen

    seen = asyncio.run(scenario())
    assert seen == {
        "first runs": True,
        "second runs beside it": True,
        "a conversions job runs": True,
        "the next waits for it": True,
        "then runs": True,
    }
    assert queue._pass_options(CONTACTS)["lock"] == CONTACTS
