"""The REST replication resources (`sobjects/{Type}/deleted/` and `/updated/`) answer as the REST
API Developer Guide documents them, through simple-salesforce's own `deleted()` / `updated()`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import rest_replication
from tests.conftest import sf_client, sf_token
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
V = "/services/data/v59.0"
SEED: dict[str, Any] = {
    "salesforce": {
        "Lead": [{"LastName": name, "Company": "Acme"} for name in ("Kept", "Gone", "Also gone")],
        "Contact": [{"LastName": "Person"}],
    }
}


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _ids(sf) -> dict[str, str]:
    return {r["LastName"]: r["Id"] for r in sf.query("SELECT Id, LastName FROM Lead")["records"]}


def _minutes_pass(server, minutes: int = 2) -> None:
    """Move the org's clock on: the resources ignore seconds, so a change is covered once its
    minute is over (latestDateCovered never passes the current minute)."""
    server.sandbox.org.clock = lambda: datetime.now(UTC) + timedelta(minutes=minutes)


def _window(minutes_before: int = 10, minutes_after: int = 2) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=minutes_before), now + timedelta(minutes=minutes_after)


def _raw(server, path: str, token: str | None = None) -> requests.Response:
    token = token or sf_token(server)["access_token"]
    return requests.get(
        f"{server.url}{path}",
        headers={"Authorization": f"Bearer {token}"},
        verify=str(server.ca_file),
        timeout=30,
    )


def _iso(value: datetime) -> str:
    return quote(value.isoformat(timespec="seconds"), safe="")


def test_deleted_lists_deletions_in_the_documented_shape(sandbox):
    """Two Leads deleted (REST, Collections) come back from `Lead.deleted()` with their ids and
    deletion dates, in the documented body's shape; the live Lead and other types are absent."""
    server = sandbox(SEED)
    sf = sf_client(server)
    ids = _ids(sf)
    sf.Lead.delete(ids["Gone"])
    sf.restful(f"composite/sobjects?ids={ids['Also gone']}", method="DELETE")
    _minutes_pass(server)
    start, end = _window()

    answer = sf.Lead.deleted(start, end)

    fixture = _fixture("rest_get_deleted")
    assert shape_diff(fixture["body"], answer) == []
    assert sorted(r["id"] for r in answer["deletedRecords"]) == sorted(
        [ids["Gone"], ids["Also gone"]]
    )
    for record in answer["deletedRecords"]:
        deleted = datetime.strptime(record["deletedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert start - timedelta(minutes=1) <= deleted <= datetime.now(UTC)
    assert sf.Contact.deleted(start, end)["deletedRecords"] == []


def test_a_change_in_the_current_minute_waits_for_the_next_window(sandbox):
    """A deletion made in the minute the call is made is not covered yet (latestDateCovered is
    that minute's start); once the minute is over, a window from latestDateCovered lists it."""
    server = sandbox(SEED)
    sf = sf_client(server)
    gone = _ids(sf)["Gone"]
    start, end = _window()
    sf.Lead.delete(gone)
    first = sf.Lead.deleted(start, end)
    assert first["deletedRecords"] == []
    covered = datetime.strptime(first["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    _minutes_pass(server)
    second = sf.Lead.deleted(covered, end + timedelta(minutes=5))
    assert [r["id"] for r in second["deletedRecords"]] == [gone]


def test_documented_request_answers_the_documented_shape(sandbox):
    """The guide's request (its URL-encoded start/end), moved to a recent window because results
    go back 30 days at most, answers 200 with the documented keys and types."""
    server = sandbox(SEED)
    sf = sf_client(server)
    sf.Lead.delete(_ids(sf)["Gone"])
    _minutes_pass(server)
    start, end = _window()
    for name in ("rest_get_deleted", "rest_get_updated"):
        fixture = _fixture(name)
        path = fixture["request"]["path"].split("?")[0] + f"?start={_iso(start)}&end={_iso(end)}"
        response = _raw(server, path)
        assert response.status_code == fixture["status"], response.text
        assert shape_diff(fixture["body"], response.json()) == []


def test_updated_lists_created_and_changed_records_not_deleted_ones(sandbox):
    """`Lead.updated()` lists the Leads created or changed in the window (by SystemModstamp) and
    not the deleted one; a window that ended before a change does not list it."""
    server = sandbox(SEED)
    sf = sf_client(server)
    ids = _ids(sf)
    sf.Lead.delete(ids["Gone"])
    _minutes_pass(server)
    start, end = _window()

    answer = sf.Lead.updated(start, end)

    assert set(answer) == {"ids", "latestDateCovered"}
    assert sorted(answer["ids"]) == sorted([ids["Kept"], ids["Also gone"]])
    earlier = sf.Lead.updated(start - timedelta(hours=2), start - timedelta(hours=1))
    assert earlier["ids"] == []


def test_latest_date_covered_is_the_window_end_to_the_minute(sandbox):
    """latestDateCovered is the end asked for (seconds dropped), or now when the end is later:
    a client starting its next window there sees each change once."""
    server = sandbox(SEED)
    sf = sf_client(server)
    now = server.sandbox.org.clock()
    past_end = (now - timedelta(minutes=5)).replace(second=42)
    answer = sf.Lead.updated(past_end - timedelta(hours=1), past_end)
    expected = past_end.replace(second=0).strftime("%Y-%m-%dT%H:%M:00.000+0000")
    assert answer["latestDateCovered"] == expected

    future = sf.Lead.updated(now - timedelta(hours=1), now + timedelta(hours=1))
    covered = datetime.strptime(future["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert covered == server.sandbox.org.clock().replace(second=0, microsecond=0)


def test_a_change_is_seen_once_across_consecutive_windows(sandbox):
    """Windows chained on latestDateCovered list a Lead created before the first end exactly
    once between them."""
    server = sandbox(SEED)
    sf = sf_client(server)
    start = datetime.now(UTC) - timedelta(minutes=30)
    first = sf.Lead.updated(start, datetime.now(UTC) + timedelta(minutes=5))
    covered = datetime.strptime(first["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    _minutes_pass(server)
    second = sf.Lead.updated(covered, covered + timedelta(minutes=5))
    assert len(first["ids"]) + len(second["ids"]) == 3
    assert not set(first["ids"]) & set(second["ids"])


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "words"),
    [
        (timedelta(minutes=-1), timedelta(0), "more than one minute"),
        (timedelta(0), timedelta(minutes=-10), "more than one minute"),
        (timedelta(days=-31), timedelta(0), "30 days"),
    ],
    ids=["one-minute window", "end before start", "start beyond 30 days"],
)
def test_windows_the_rules_refuse_answer_invalid_replication_date(
    sandbox, start_offset, end_offset, words
):
    """A start not more than a minute before the end, or more than 30 days ago, is 400
    INVALID_REPLICATION_DATE (SOAP guide, getDeleted()/getUpdated() rules), for both
    resources."""
    sf = sf_client(sandbox(SEED))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for call in (sf.Lead.deleted, sf.Lead.updated):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            call(now + start_offset, now + end_offset)
        (error,) = caught.value.content
        assert error["errorCode"] == "INVALID_REPLICATION_DATE"
        assert words in error["message"]


def test_missing_or_bad_dates_are_refused(sandbox):
    """No `end`, or a `start` that is no date, is 400 INVALID_REPLICATION_DATE naming the
    parameter."""
    server = sandbox(SEED)
    start = _iso(datetime.now(UTC) - timedelta(hours=1))
    only_start = _raw(server, f"{V}/sobjects/Lead/deleted/?start={start}")
    assert only_start.status_code == 400
    assert only_start.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert "end" in only_start.json()[0]["message"]
    bad = _raw(server, f"{V}/sobjects/Lead/updated/?start=yesterday&end={start}")
    assert bad.status_code == 400 and "start" in bad.json()[0]["message"]


def test_too_many_ids_answer_exceeded_id_limit(sandbox, monkeypatch):
    """More ids than the resource may return (600,000; lowered here) answer 400
    EXCEEDED_ID_LIMIT rather than a cut list."""
    monkeypatch.setattr(rest_replication, "MAX_IDS", 2)
    server = sandbox(SEED)
    sf = sf_client(server)
    _minutes_pass(server)
    start, end = _window()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.updated(start, end)
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_unknown_type_is_404_and_calls_are_counted(sandbox):
    """An unknown sObject answers 404 NOT_FOUND; every call is journaled and counted against
    the daily API budget like any REST call."""
    server = sandbox(SEED)
    start = _iso(datetime.now(UTC) - timedelta(hours=1))
    end = _iso(datetime.now(UTC))
    token = sf_token(server)["access_token"]
    seq = server.sandbox.journal.last_seq()
    used = server.sandbox.org.api_used
    missing = _raw(server, f"{V}/sobjects/Nope__c/deleted/?start={start}&end={end}", token)
    assert missing.status_code == 404
    ok = _raw(server, f"{V}/sobjects/Lead/updated/?start={start}&end={end}", token)
    assert ok.status_code == 200
    assert ok.headers["Sforce-Limit-Info"] == f"api-usage={used + 2}/100000"
    paths = [e.path for e in server.sandbox.journal.entries(since=seq, api="salesforce")]
    assert paths[-2:] == [f"{V}/sobjects/Nope__c/deleted/", f"{V}/sobjects/Lead/updated/"]


def test_bulk_deletes_and_hard_deletes_are_listed_as_deletions(sandbox):
    """A Bulk API 2.0 delete and hardDelete (simple-salesforce's `bulk2`) both reach the delete
    log: `Lead.deleted()` lists the hard-deleted Lead too, though queryAll no longer sees it."""
    server = sandbox(SEED)
    sf = sf_client(server)
    ids = _ids(sf)
    sf.bulk2.Lead.delete(records=[{"Id": ids["Gone"]}])
    sf.bulk2.Lead.hard_delete(records=[{"Id": ids["Also gone"]}])
    _minutes_pass(server)
    start, end = _window()
    listed = {r["id"] for r in sf.Lead.deleted(start, end)["deletedRecords"]}
    assert listed == {ids["Gone"], ids["Also gone"]}
    seen = sf.query_all("SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert [r["Id"] for r in seen["records"]] == [ids["Gone"]]
