"""Found by the proof (bench/reliability.py, 1,000 contacts): a contacts stream page's record
rolled back by PostgreSQL for a deadlock ("deadlock detected ... while inserting index tuple in
relation written_hashes", another stream's batch writing the same contacts' hashes). The page's
Leads and write-backs were made already; with nothing recorded, the next pass upserted them all
again (98 writes changing nothing, counted as echo writes). A batch PostgreSQL rolls back for a
deadlock is now recorded again; batches write hashes in key order, so two of them lock shared
rows in the same order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from connector.state import Commit, StateStore
from connector.state.schema import written_hashes
from tests.conftest import PG_URL, pg_schema, until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set"),
]


def test_a_batch_rolled_back_for_a_deadlock_is_recorded_all_the_same() -> None:
    """Another writer holds hash k2 and then asks for k1, which the batch holds while it waits
    for k2: PostgreSQL rolls the batch back (the other writer is made to wait longer before it
    looks for deadlocks). The batch is recorded once the other writer is done, whole."""
    with pg_schema() as url, StateStore.open(url) as store:
        engine = sa.create_engine(url)
        errors: list[BaseException] = []
        batch = Commit(stream="hubspot.contacts", direction="to_salesforce")
        batch.hashes.update({"hubspot:1": "ours-1", "hubspot:2": "ours-2"})

        def record() -> None:
            try:
                store.record(batch, run_id="r1")
            except BaseException as exc:  # handed to the test's thread
                errors.append(exc)

        try:
            with engine.connect() as other:
                other.exec_driver_sql("SET deadlock_timeout = '60s'")
                mine = other.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                other.commit()
                upsert = sa.dialects.postgresql.insert(written_hashes)
                upsert = upsert.on_conflict_do_update(
                    index_elements=[written_hashes.c.record_key, written_hashes.c.direction],
                    set_={"hash": upsert.excluded.hash},
                )

                def row(key: str) -> dict[str, object]:
                    return {
                        "record_key": key,
                        "direction": "to_salesforce",
                        "hash": "theirs",
                        "written_at": datetime.now(UTC),
                    }

                with other.begin():
                    other.execute(upsert, [row("hubspot:2")])
                    thread = threading.Thread(target=record)
                    thread.start()

                    def batch_waits() -> bool:
                        with engine.connect() as look:
                            waiting = look.execute(
                                sa.text(
                                    "SELECT count(*) FROM pg_stat_activity "
                                    "WHERE :mine = ANY(pg_blocking_pids(pid))"
                                ),
                                {"mine": mine},
                            ).scalar_one()
                        return bool(waiting)

                    until(batch_waits, "the batch waiting for hubspot:2")
                    other.execute(upsert, [row("hubspot:1")])  # the deadlock: the batch gives way
                thread.join(timeout=60)
        finally:
            engine.dispose()
        assert not thread.is_alive()
        assert errors == []
        assert store.hashes(["hubspot:1", "hubspot:2"], "to_salesforce") == {
            "hubspot:1": "ours-1",
            "hubspot:2": "ours-2",
        }
