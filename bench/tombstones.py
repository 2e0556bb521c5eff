"""What asking about erased people costs a page: `ErasedPeople.contacts` (the question the
contacts stream and a backfill ask of every page before writing) for pages of 100 contacts,
against a state store holding N tombstones (10,000 by default), on SQLite (a temporary file)
and, when LEADBRIDGE_TEST_DATABASE_URL is set, PostgreSQL (a temporary schema).

Per store it prints the milliseconds a page (median and 95th percentile over `--pages` pages,
each with 100 never-erased contacts and 2 erased ones, by id and by email), the queries a page
sent, and this process's CPU seconds. No API call is made: the answer comes from the store.

    .venv/bin/python bench/tombstones.py [--tombstones 10000] [--pages 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from connector.model import HubSpotContact
from connector.state.privacy import PrivacyKey
from connector.state.schema import tombstones
from connector.state.store import StateStore
from connector.streams.erased import ErasedPeople

KEY = "b" * 40
PAGE = 100


def stores() -> Iterator[tuple[str, str]]:
    """(name, URL) of each store to measure; temporary, removed after."""
    with tempfile.TemporaryDirectory() as directory:
        yield "sqlite", f"sqlite:///{Path(directory) / 'state.db'}"
    pg = os.environ.get("LEADBRIDGE_TEST_DATABASE_URL")
    if pg:
        schema = f"lb_bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(pg)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = sa.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
            yield "postgresql", url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def fill(store: StateStore, count: int) -> None:
    """`count` tombstones (HubSpot id e<i>, Lead and Contact ids, an email hash each), written
    in one insert (the erasures themselves are not what is measured), then analysed."""
    key = PrivacyKey(KEY)
    now = datetime.now(UTC)
    rows = [
        {
            "hubspot_id": f"e{i}",
            "lead_id": f"00Q{i:015d}",
            "contact_id": f"003{i:015d}",
            "email_hash": key.email_hash(f"erased{i}@example.test"),
            "key_id": key.id,
            "reason": "request",
            "erased_at": now,
            "hubspot_outcome": "deleted",
            "salesforce_outcome": "deleted",
            "removed": {},
            "updated_at": now,
        }
        for i in range(count)
    ]
    with store.engine.begin() as connection:
        connection.execute(sa.insert(tombstones), rows)
        if connection.dialect.name == "postgresql":  # the statistics autovacuum would gather
            connection.exec_driver_sql("ANALYZE tombstones")


def page(number: int, erased: int) -> list[HubSpotContact]:
    now = datetime.now(UTC)
    contacts = [
        HubSpotContact(f"{number}-{i}", {"email": f"p{number}-{i}@example.test"}, now)
        for i in range(PAGE)
    ]
    contacts.append(HubSpotContact(f"e{number % erased}", {"email": None}, now))
    contacts.append(
        HubSpotContact(
            f"new{number}", {"email": f"Erased{(number + 1) % erased}@example.test"}, now
        )
    )
    return contacts


def measure(name: str, url: str, count: int, pages: int) -> None:
    with StateStore.open(url) as store:
        fill(store, count)
        queries = 0

        def counted(*_: object) -> None:
            nonlocal queries
            queries += 1

        event.listen(store.engine, "before_cursor_execute", counted)
        erased = ErasedPeople(store, KEY, "ignore")
        erased.contacts(page(0, count), where="bench")  # the key check, once per store
        seconds: list[float] = []
        queries = 0
        cpu = time.process_time()
        for number in range(1, pages + 1):
            started = time.perf_counter()
            found = erased.contacts(page(number, count), where="bench")
            seconds.append(time.perf_counter() - started)
            assert len(found) == 2, found
        cpu = time.process_time() - cpu
        ms = sorted(s * 1000 for s in seconds)
        print(
            f"{name}: {count} tombstones, {pages} pages of {PAGE + 2} contacts: "
            f"median {statistics.median(ms):.2f} ms a page, p95 {ms[int(len(ms) * 0.95)]:.2f} ms, "
            f"{queries / pages:.1f} queries a page, {cpu:.2f} CPU s in all"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tombstones", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)")
    for name, url in stores():
        measure(name, url, args.tombstones, args.pages)


if __name__ == "__main__":
    main()
