"""Bulk API 2.0 ingest (`connector.salesforce.bulk`): the calls a job costs. A job this process
closed is polled at its pace, not every two seconds, and result sets its counters say are
empty are not downloaded; a job recorded by an earlier run is asked its state first."""

from __future__ import annotations

from typing import Any

import pytest

from connector.model import LeadUpsert
from connector.salesforce.bulk import BulkIngest, BulkLeads, next_poll

JOB = "750000000000001AAA"


class Answer:
    def __init__(self, body: Any = None, text: str = "") -> None:
        self._body, self.text, self.encoding = body, text, "utf-8"

    def json(self) -> Any:
        return self._body


class FakeSalesforce:
    """A job that processes `rate` records a second of the fake clock, every record created;
    every call recorded."""

    def __init__(self, records: int, rate: float, *, state: str = "Open") -> None:
        self.records, self.rate, self.state = records, rate, state
        self.now = 0.0
        self.closed_at: float | None = None
        self.calls: list[tuple[str, str]] = []
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def processed(self) -> int:
        if self.closed_at is None:
            return 0
        return min(self.records, int((self.now - self.closed_at) * self.rate))

    def call(self, method: str, path: str, **_kwargs: Any) -> Answer:
        self.calls.append(
            (method, path.rstrip("/").rsplit("/", 1)[-1] if path.endswith("/") else method)
        )
        if method == "PATCH":
            self.closed_at = self.now
            self.state = "UploadComplete"
            return Answer({})
        if method == "GET" and path.endswith("Results/"):
            rows = "".join(f"true,001{i},{i}\n" for i in range(self.processed()))
            body = "sf__Created,sf__Id,HubSpot_Contact_Id__c\n"
            return Answer(text=body + (rows if "successful" in path else ""))
        if method == "GET" and path.endswith("unprocessedrecords/"):
            return Answer(text="HubSpot_Contact_Id__c\n")
        if method == "GET":
            done = self.processed()
            if self.closed_at is not None:
                self.state = "JobComplete" if done >= self.records else "InProgress"
            return Answer(
                {
                    "id": JOB,
                    "state": self.state,
                    "numberRecordsProcessed": done,
                    "numberRecordsFailed": 0,
                    "columnDelimiter": "COMMA",
                    "lineEnding": "LF",
                }
            )
        return Answer({"id": JOB})


def leads(fake: FakeSalesforce) -> BulkLeads:
    ingest = BulkIngest(fake.call, sleep=fake.sleep, clock=fake.clock)
    return BulkLeads(ingest, "HubSpot_Contact_Id__c")


@pytest.mark.parametrize("rate", [200.0, 1000.0, 5000.0])
def test_a_job_just_closed_costs_two_or_three_polls_and_one_download(rate: float) -> None:
    """10,000 records at 200, 1,000 or 5,000 a second: open, upload, close, at most three
    polls, the successful results only (nothing failed, nothing left unprocessed)."""
    fake = FakeSalesforce(10_000, rate)
    bulk = leads(fake)
    job = bulk.start()
    bulk.send(job, [LeadUpsert(str(i), {"LastName": f"L{i}"}) for i in range(10_000)])

    results = bulk.finish(job)

    assert len(results) == 10_000 and all(r.success and r.created for r in results.values())
    polls = [c for c in fake.calls if c == ("GET", "GET")]
    assert 1 <= len(polls) <= 3
    assert [c for c in fake.calls if c[0] == "GET" and c != ("GET", "GET")] == [
        ("GET", "successfulResults")
    ]
    assert len(fake.calls) <= 7
    # It waited no more than a poll interval and a tenth past the job's end.
    assert fake.now - (fake.closed_at or 0) <= 10_000 / rate * 1.1 + 2.0


def test_a_job_recorded_by_an_earlier_run_is_asked_its_state_and_closed_if_open() -> None:
    """A job left Open by a killed run: its state asked, closed, then polled."""
    fake = FakeSalesforce(50, 1000.0)
    bulk = leads(fake)

    results = bulk.finish(JOB)

    assert fake.calls[:2] == [("GET", "GET"), ("PATCH", "PATCH")]
    assert len(results) == 50


def test_next_poll_follows_the_job_and_stays_in_bounds() -> None:
    assert next_poll(2.0, 2_000, 10_000) == pytest.approx(8.8)  # 8 s left at 1,000/s
    assert next_poll(2.0, 9_990, 10_000) == 2.0  # never sooner than the least
    assert next_poll(2.0, 10, 10_000) == 30.0  # never later than the most
    assert next_poll(2.0, 0, 10_000, polls=1) == 2.0  # no rate yet: doubling
    assert next_poll(6.0, 0, 10_000, polls=3) == 8.0
    assert next_poll(6.0, 500, None, polls=2) == 4.0  # size unknown (a resumed run)
