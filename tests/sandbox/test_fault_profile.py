"""The fault profile: a seeded chance per fault kind and latency, switched on and off through
the admin API; each kind served as the real API answers (against documented or recorded
examples), its chances honoured and repeatable, its delays applied."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import ApiException
from simple_salesforce.exceptions import SalesforceExpiredSession
from werkzeug.test import Client

from connector.sandbox.faults import KINDS, OBSERVED, REQUEST_KINDS, DropConnection, FaultProfile
from tests.conftest import hubspot_client, sf_client, sf_token
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures"
V = "/services/data/v59.0"
SEED = {
    "hubspot": {
        "contacts": [
            {"id": "101", "properties": {"email": "ada@acme.test", "firstname": "Ada"}},
            {"id": "102", "properties": {"email": "alan@acme.test", "firstname": "Alan"}},
        ]
    }
}
UPSERT = "composite/sobjects/Lead/HubSpot_Contact_Id__c"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _fixture(api: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / api / f"{name}.json").read_text(encoding="utf-8"))


def _admin(server) -> requests.Session:
    session = requests.Session()
    session.verify = str(server.ca_file)
    session.trust_env = False
    return session


def _hubspot(server) -> requests.Session:
    session = _admin(server)
    session.headers["Authorization"] = "Bearer sandbox-token"
    return session


def _salesforce(server) -> requests.Session:
    session = _admin(server)
    session.headers["Authorization"] = f"Bearer {sf_token(server)['access_token']}"
    return session


def _profile(server, **profile: Any) -> dict[str, Any]:
    answer = _admin(server).put(f"{server.url}/_sandbox/faults/profile", json=profile)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _report(server) -> dict[str, Any]:
    return _admin(server).get(f"{server.url}/_sandbox/faults/profile").json()


def _get_contact(server, session: requests.Session | None = None) -> requests.Response:
    return (session or _hubspot(server)).get(
        f"{server.url}/crm/v3/objects/contacts/101", timeout=30
    )


def _faults(server, since: int = 0) -> list[str | None]:
    return [e.fault for e in server.sandbox.journal.entries(since=since)]


# -- on, off, refused ---------------------------------------------------------------------
def test_profile_goes_on_and_off_through_the_admin_api(sandbox):
    """PUT switches a profile on (the report shows it, every kind counted from zero), GET
    shows what it served, DELETE switches it off and answers the run's report."""
    server = sandbox(SEED)
    report = _profile(server, seed=7, rates={"server_error": 1.0})
    assert report["profile"]["seed"] == 7
    assert report["profile"]["rates"] == {"server_error": 1.0}
    assert set(report["counts"]) == {*KINDS, *OBSERVED}
    assert not any(report["counts"].values())
    assert _get_contact(server).status_code in (500, 502, 503)
    assert _report(server)["counts"]["server_error"] == 1
    assert _report(server)["draws"]["requests"] == 1
    ended = _admin(server).delete(f"{server.url}/_sandbox/faults/profile")
    assert ended.status_code == 200
    assert ended.json()["counts"]["server_error"] == 1
    assert _get_contact(server).status_code == 200
    assert _report(server)["profile"] is None


@pytest.mark.parametrize(
    ("profile", "named"),
    [
        ({"rates": {"server_eror": 0.1}}, "rates.server_eror"),
        ({"rates": {"server_error": 1.5}}, "rates.server_error"),
        ({"rates": {"server_error": 0.6, "connection_reset": 0.6}}, "add up to 1.2"),
        ({"server_error_statuses": [500, 418]}, "server_error_statuses"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"lost_answer_as": "both"}, "lost_answer_as"),
        ({"seed": "x"}, "seed"),
        ({"chaos": True}, "chaos"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(sandbox, profile, named):
    """A profile the sandbox cannot honour answers 400 naming the field; nothing changes."""
    server = sandbox(SEED)
    answer = _admin(server).put(f"{server.url}/_sandbox/faults/profile", json=profile)
    assert answer.status_code == 400
    assert named in answer.json()["error"]
    assert _report(server)["profile"] is None


def test_a_profile_without_a_seed_gets_one_and_can_be_repeated(sandbox):
    """A seedless profile is given a seed, shown in the report; setting that seed again
    serves the same faults to the same requests."""
    server = sandbox(SEED)
    rates = {"server_error": 0.3, "hubspot_rate_limit": 0.2}
    seed = _profile(server, rates=rates)["profile"]["seed"]
    assert isinstance(seed, int)
    session = _hubspot(server)
    mark = server.sandbox.journal.last_seq()
    for _ in range(40):
        _get_contact(server, session)
    first = _faults(server, mark)
    _profile(server, rates=rates, seed=seed)
    mark = server.sandbox.journal.last_seq()
    for _ in range(40):
        _get_contact(server, session)
    assert _faults(server, mark) == first
    assert {"server_error", "hubspot_rate_limit", None} == set(first)


def test_reset_goes_back_to_the_profile_the_sandbox_started_with(sandbox):
    """A sandbox configured with a profile (as `serve --faults` does) keeps its seed across
    resets, so each reset repeats the run; the test fixture's own reset switches it off."""
    server = sandbox(SEED)
    server.sandbox.config.fault_profile = server.sandbox.set_fault_profile(
        {"rates": {"connection_reset": 0.5}}
    )
    seed = _report(server)["profile"]["seed"]
    server.sandbox.reset()
    assert _report(server)["profile"]["seed"] == seed
    assert _report(server)["draws"]["requests"] == 0


# -- chances and delays ---------------------------------------------------------------------
def test_chances_are_honoured_with_a_fixed_seed(sandbox):
    """Over 600 requests each kind's share is near its chance, the same on every run with the
    same seed, and every fault is journaled with what the client got."""
    server = sandbox(SEED)
    rates = {"server_error": 0.15, "connection_reset": 0.05, "hubspot_rate_limit": 0.1}
    _profile(server, seed=2024, rates=rates)
    _calls(server, 600)
    counts = Counter(_faults(server))
    for kind, chance in rates.items():
        assert abs(counts[kind] / 600 - chance) < 0.04, (kind, counts)
    report = _report(server)
    assert {k: report["counts"][k] for k in rates} == {k: counts[k] for k in rates}
    statuses = {e.fault: e.status for e in server.sandbox.journal.entries() if e.fault}
    assert statuses["connection_reset"] == 0
    assert statuses["hubspot_rate_limit"] == 429
    # Deterministic: the exact counts this seed gives (a change here changes every run).
    again = sandbox(SEED)
    _profile(again, seed=2024, rates=rates)
    _calls(again, 600)
    assert Counter(_faults(again)) == counts


def _calls(server, n: int) -> None:
    """`n` HubSpot reads straight into the sandbox's WSGI app (the draws do not depend on the
    transport; HTTPS would only make the test slow): a reset is the app's DropConnection."""
    client = Client(server.sandbox)
    token = {"Authorization": "Bearer sandbox-token"}
    for _ in range(n):
        with contextlib.suppress(DropConnection):
            client.get("/crm/v3/objects/contacts/101", headers=token)


def test_latency_delays_every_answer_by_the_fixed_part_plus_jitter(sandbox):
    """`latency_ms` plus up to `jitter_ms` delays each API answer (admin calls are not
    delayed), and the journal's duration includes it."""
    server = sandbox(SEED)
    _profile(server, seed=1, latency_ms=150, jitter_ms=100)
    session = _hubspot(server)
    took = []
    for _ in range(5):
        started = time.monotonic()
        assert _get_contact(server, session).status_code == 200
        took.append(time.monotonic() - started)
    assert min(took) >= 0.15
    durations = [e.duration_ms for e in server.sandbox.journal.entries()]
    assert all(d >= 150 for d in durations)
    assert max(durations) - min(durations) > 1  # jittered, not one fixed delay
    started = time.monotonic()
    _report(server)
    assert time.monotonic() - started < 0.15


def test_a_slow_answer_holds_up_no_other_request(sandbox):
    """Delays are slept outside the sandbox's lock: two slow requests at once take the time
    of one."""
    server = sandbox(SEED)
    _profile(server, seed=1, rates={"slow_answer": 1.0}, slow_answer_ms=800)
    answers: list[int] = []

    def call() -> None:
        answers.append(_get_contact(server).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200, 200]
    assert time.monotonic() - started < 1.6


def test_latency_holds_up_no_other_request(sandbox):
    """Every answer's latency is slept in its own request's thread, outside the sandbox's
    lock: eight requests at once, each delayed 400 ms, take about the time of one (what
    bench/throughput.py's `--latency` relies on to make workers wait as in production)."""
    server = sandbox(SEED)
    _profile(server, seed=1, latency_ms=400)
    answers: list[int] = []

    def call() -> None:
        answers.append(_get_contact(server).status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    assert time.monotonic() - started < 8 * 0.4 / 2
    assert all(e.duration_ms >= 400 for e in server.sandbox.journal.entries())


# -- each kind, as the API answers ----------------------------------------------------------
def test_hubspot_ten_second_limit_as_hubspot_answers_it(sandbox):
    """`hubspot_rate_limit`: 429 TEN_SECONDLY_ROLLING in the observed shape, with the
    rate-limit headers showing the window spent and no Retry-After; the unmodified client
    raises its ApiException 429."""
    server = sandbox(SEED)
    _profile(server, seed=1, rates={"hubspot_rate_limit": 1.0})
    answer = _get_contact(server)
    documented = _fixture("hubspot", "error_429_ten_secondly")
    assert answer.status_code == documented["status"]
    assert shape_diff(documented["body"], answer.json()) == []
    assert answer.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert answer.json()["message"] == documented["body"]["message"]
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert "Retry-After" not in answer.headers
    with pytest.raises(ApiException) as raised:
        hubspot_client(server).crm.contacts.basic_api.get_by_id("101")
    assert raised.value.status == 429


def test_hubspot_rate_limit_with_retry_after_and_on_search(sandbox):
    """`hubspot_rate_limit_retry_after` adds `Retry-After: retry_after_s`; a search is refused
    with the search endpoints' own SECONDLY policy and no rate-limit headers."""
    server = sandbox(SEED)
    _profile(server, seed=1, rates={"hubspot_rate_limit_retry_after": 1.0}, retry_after_s=3)
    assert _get_contact(server).headers["Retry-After"] == "3"
    answer = _hubspot(server).post(
        f"{server.url}/crm/v3/objects/contacts/search", json={}, timeout=30
    )
    documented = _fixture("hubspot", "error_429_secondly")
    assert answer.status_code == 429
    assert shape_diff(documented["body"], answer.json()) == []
    assert answer.json()["message"] == documented["body"]["message"]
    assert answer.headers["Retry-After"] == "3"
    assert not [h for h in answer.headers if h.lower().startswith("x-hubspot-ratelimit")]


def test_a_rate_limit_storm_refuses_the_next_calls_too(sandbox):
    """With `rate_limit_burst`, a 429 is the first of that many in a row to the same API."""
    server = sandbox(SEED)
    _profile(server, seed=5, rates={"hubspot_rate_limit": 0.05}, rate_limit_burst=4)
    _calls(server, 200)
    runs = [
        len(m.group())
        for m in re.finditer("R+", "".join("R" if f else "." for f in _faults(server)))
    ]
    assert runs
    assert all(n % 4 == 0 for n in runs[:-1])


def test_salesforce_request_limit_as_salesforce_answers_it(sandbox):
    """`salesforce_request_limit`: REST 403 REQUEST_LIMIT_EXCEEDED with Sforce-Limit-Info;
    the SOAP endpoint's `sf:REQUEST_LIMIT_EXCEEDED` fault; HubSpot untouched."""
    server = sandbox(SEED)
    salesforce = _salesforce(server)
    _profile(server, seed=1, rates={"salesforce_request_limit": 1.0})
    answer = salesforce.get(f"{server.url}{V}/limits", timeout=30)
    documented = _fixture("salesforce", "rest_request_limit_403")
    assert answer.status_code == 403
    assert answer.json() == documented["body"]
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")
    soap = salesforce.post(
        f"{server.url}/services/Soap/u/59.0",
        data=_envelope(salesforce.headers["Authorization"].split()[1]),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        timeout=30,
    )
    assert soap.status_code == 500
    assert b"<faultcode>sf:REQUEST_LIMIT_EXCEEDED</faultcode>" in soap.content
    assert b"TotalRequests Limit exceeded." in soap.content
    assert _get_contact(server).status_code == 200


def _envelope(session_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
        f"<urn:sessionId>{session_id}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        "<soapenv:Body><urn:convertLead/></soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_server_errors_as_each_api_answers_them(sandbox):
    """`server_error`: HubSpot's JSON 500 and its proxy's HTML 502; Salesforce's JSON 500
    UNKNOWN_EXCEPTION with an ErrorId, 503 SERVER_UNAVAILABLE, and the edge's HTML 502."""
    server = sandbox(SEED)
    salesforce = _salesforce(server)
    seen: dict[tuple[str, int], requests.Response] = {}
    for status in (500, 502, 503):
        _profile(server, seed=1, rates={"server_error": 1.0}, server_error_statuses=[status])
        seen["hubspot", status] = _get_contact(server)
        seen["salesforce", status] = salesforce.get(f"{server.url}{V}/limits", timeout=30)
    documented = _fixture("hubspot", "error_500")
    assert seen["hubspot", 500].status_code == 500
    assert shape_diff(documented["body"], seen["hubspot", 500].json()) == []
    assert seen["hubspot", 500].json()["message"] == "internal error"
    proxy = _fixture("hubspot", "error_502")
    assert seen["hubspot", 502].status_code == 502
    assert seen["hubspot", 502].headers["Content-Type"].startswith(proxy["content_type"])
    assert seen["hubspot", 502].text.startswith(proxy["body"])
    documented = _fixture("salesforce", "rest_unknown_exception_500")
    assert seen["salesforce", 500].status_code == 500
    assert shape_diff(documented["body"], seen["salesforce", 500].json()) == []
    message = seen["salesforce", 500].json()[0]["message"]
    assert re.fullmatch(
        r"An unexpected error occurred\. Please include this ErrorId if you contact support: "
        r"\d+-\d+ \(-?\d+\)",
        message,
    )
    assert seen["salesforce", 503].json() == [
        {"message": "Server too busy", "errorCode": "SERVER_UNAVAILABLE"}
    ]
    assert seen["salesforce", 502].headers["Content-Type"].startswith("text/html")
    assert "<title>Error Page</title>" in seen["salesforce", 502].text


def test_a_connection_reset_answers_nothing_and_serves_nothing(sandbox):
    """`connection_reset`: the connection closes without an answer (the client's
    ConnectionError) and the write is not made; the journal says status 0."""
    server = sandbox(SEED)
    _profile(server, seed=1, rates={"connection_reset": 1.0})
    with pytest.raises(requests.ConnectionError):
        _hubspot(server).patch(
            f"{server.url}/crm/v3/objects/contacts/101",
            json={"properties": {"firstname": "Changed"}},
            timeout=30,
        )
    assert server.sandbox.portal.stores["contacts"].get("101").props["firstname"] == "Ada"
    [entry] = server.sandbox.journal.entries()
    assert (entry.status, entry.fault) == (0, "connection_reset")


@pytest.mark.parametrize("form", ["reset", "5xx"])
def test_a_lost_answer_commits_the_write_first(sandbox, form):
    """`lost_answer`: the write is made, then its answer is lost (the connection reset, or a
    5xx); a read is never one (nothing to lose)."""
    server = sandbox(SEED)
    _profile(
        server,
        seed=1,
        rates={"lost_answer": 1.0},
        lost_answer_as=form,
        server_error_statuses=[503],
    )
    session = _hubspot(server)
    assert _get_contact(server, session).status_code == 200
    url = f"{server.url}/crm/v3/objects/contacts/101"
    if form == "reset":
        with pytest.raises(requests.ConnectionError):
            session.patch(url, json={"properties": {"firstname": "Changed"}}, timeout=30)
    else:
        assert session.patch(url, json={"properties": {"firstname": "Changed"}}).status_code == 503
    assert server.sandbox.portal.stores["contacts"].get("101").props["firstname"] == "Changed"
    assert _faults(server) == [None, "lost_answer"]
    refused = session.patch(url, json={"properties": {"nosuch": "x"}}, timeout=30)
    assert refused.status_code == 400  # a refused write commits nothing: answered as it is
    assert _report(server)["counts"]["lost_answer"] == 1


def test_a_slow_answer_outlasts_the_client_timeout_after_the_write(sandbox):
    """`slow_answer`: the request is served, then answered after `slow_answer_ms`: a client
    with a shorter timeout gives up though the write was made."""
    server = sandbox(SEED)
    _profile(server, seed=1, rates={"slow_answer": 1.0}, slow_answer_ms=1500)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        _hubspot(server).patch(
            f"{server.url}/crm/v3/objects/contacts/101",
            json={"properties": {"firstname": "Slow"}},
            timeout=0.5,
        )
    assert time.monotonic() - started < 1.4
    assert server.sandbox.portal.stores["contacts"].get("101").props["firstname"] == "Slow"


def test_session_expiry_ends_the_session_mid_run(sandbox):
    """`session_expiry`: the Salesforce session the call carries ends: 401 INVALID_SESSION_ID
    as documented (simple-salesforce's SalesforceExpiredSession), and it stays ended; a new
    login works; the SOAP endpoint answers its INVALID_SESSION_ID fault."""
    server = sandbox(SEED)
    client = sf_client(server)
    _profile(server, seed=1, rates={"session_expiry": 1.0})
    with pytest.raises(SalesforceExpiredSession) as raised:
        client.query("SELECT Id FROM Lead")
    assert raised.value.status == 401
    assert raised.value.content == _fixture("salesforce", "rest_invalid_session_401")["body"]
    server.sandbox.set_fault_profile(None)
    with pytest.raises(SalesforceExpiredSession):
        client.query("SELECT Id FROM Lead")
    assert sf_client(server).query("SELECT Id FROM Lead")["totalSize"] == 0
    session = _salesforce(server)
    _profile(server, seed=1, rates={"session_expiry": 1.0})
    token = session.headers["Authorization"].split()[1]
    soap = session.post(
        f"{server.url}/services/Soap/u/59.0",
        data=_envelope(token),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        timeout=30,
    )
    documented = _fixture("salesforce", "soap_invalid_session_fault")
    assert soap.status_code == documented["status"]
    assert b"<faultcode>sf:INVALID_SESSION_ID</faultcode>" in soap.content
    assert token not in server.sandbox.org.sessions
    assert _report(server)["counts"]["session_expiry"] == 1


def _lead(n: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "Lead"},
        "LastName": f"Lead {n}",
        "Company": f"Company {n}",
        "HubSpot_Contact_Id__c": str(1000 + n),
    }


def test_row_locks_fail_single_records_of_a_collections_write(sandbox):
    """`row_lock`: some records of one Collections upsert fail alone with UNABLE_TO_LOCK_ROW
    in the documented per-record shape (naming an existing row), the others are written, and
    a retry of just the locked ones can land."""
    server = sandbox(SEED)
    client = sf_client(server)
    client.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": [_lead(0)]})
    _profile(server, seed=3, rates={"row_lock": 0.3})
    records = [_lead(n) for n in range(100)]
    results = client.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    locked = [i for i, r in enumerate(results) if not r["success"]]
    assert 15 <= len(locked) <= 45
    documented = _fixture("salesforce", "rest_collections_unable_to_lock_row")
    for i in locked:
        assert shape_diff(documented["body"][0], results[i]) == []
        assert results[i]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    existing = server.sandbox.org.find_by_external_id("Lead", "HubSpot_Contact_Id__c", "1000")
    if 0 in locked:
        assert results[0]["errors"][0]["message"].endswith(f"or 1 records: {existing[0]}")
    new = [results[i] for i in locked if i != 0]
    assert all(
        r["errors"][0]["message"] == "unable to obtain exclusive access to this record" for r in new
    )
    leads = server.sandbox.org.records["Lead"]
    assert len(leads) == 100 - len([i for i in locked if i != 0])
    assert _report(server)["counts"]["row_lock"] == len(locked)
    assert _report(server)["draws"]["records"] == 100
    server.sandbox.set_fault_profile(None)
    again = [records[i] for i in locked]
    retried = client.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": again})
    assert all(r["success"] for r in retried)
    assert len(leads) == 100


def test_a_changed_record_is_left_out_of_search_until_the_index_catches_up(sandbox):
    """`search_lag`: a record changed is missing from search results (and the total) for
    `search_lag_ms` after the change, while reads by id show it at once."""
    server = sandbox(SEED)
    clock = FakeClock()
    server.sandbox.portal.clock = clock
    _profile(server, seed=1, rates={"search_lag": 1.0}, search_lag_ms=5000)
    session = _hubspot(server)
    url = f"{server.url}/crm/v3/objects/contacts"
    session.patch(f"{url}/101", json={"properties": {"firstname": "Late"}}, timeout=30)
    created = session.post(url, json={"properties": {"email": "new@acme.test"}}, timeout=30)

    def found() -> set[str]:
        answer = session.post(f"{url}/search", json={"limit": 100}, timeout=30).json()
        assert answer["total"] == len(answer["results"])
        return {r["id"] for r in answer["results"]}

    assert found() == {"102"}
    assert _get_contact(server, session).json()["properties"]["firstname"] == "Late"
    clock.now += 4.9
    assert found() == {"102"}
    clock.now += 0.2
    assert found() == {"101", "102", created.json()["id"]}
    assert _report(server)["counts"]["search_lag"] == 2


def test_thousands_of_contacts_stamped_with_one_instant(sandbox):
    """The stamp admin action gives many contacts one `lastmodifieddate` (and the values
    asked), as a bulk import does: a search for that instant finds them all."""
    contacts = [
        {
            "id": str(1000 + i),
            "properties": {"email": f"c{i}@bulk.test", "createdate": "2026-01-05T09:00:00Z"},
        }
        for i in range(2500)
    ]
    server = sandbox({"hubspot": {"contacts": contacts}})
    answer = _admin(server).post(
        f"{server.url}/_sandbox/hubspot/contacts/stamp",
        json={"count": 2000, "at": "2026-03-01T12:00:00.000Z", "properties": {"city": "Oslo"}},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 2000
    assert answer.json()["modified"] == "2026-03-01T12:00:00.000Z"
    store = server.sandbox.portal.stores["contacts"]
    stamped = [store.get(i) for i in answer.json()["ids"]]
    assert {r.props["lastmodifieddate"] for r in stamped} == {"2026-03-01T12:00:00.000Z"}
    assert {r.props["city"] for r in stamped} == {"Oslo"}
    instant = {"propertyName": "lastmodifieddate", "operator": "EQ", "value": "1772366400000"}
    search = _hubspot(server).post(
        f"{server.url}/crm/v3/objects/contacts/search",
        json={"filterGroups": [{"filters": [instant]}], "limit": 1},
        timeout=30,
    )
    assert search.json()["total"] == 2000
    assert _report(server)["counts"]["shared_modified"] == 2000
    refused = _admin(server).post(
        f"{server.url}/_sandbox/hubspot/contacts/stamp", json={"ids": ["999"]}, timeout=30
    )
    assert refused.status_code == 400
    assert "999" in refused.json()["error"]


def test_paging_past_ten_thousand_results_is_refused(sandbox):
    """A search window of more than 10,000 results (here 10,050 contacts sharing one
    `lastmodifieddate`) reports its total, pages up to the 10,000th result, and answers
    HubSpot's 400 past it; the report counts the refusal."""
    contacts = [
        {
            "id": str(1000 + i),
            "properties": {"email": f"c{i}@wide.test", "lastmodifieddate": "2026-03-01T12:00:00Z"},
        }
        for i in range(10_050)
    ]
    server = sandbox({"hubspot": {"contacts": contacts}})
    _profile(server, seed=1)
    session = _hubspot(server)
    url = f"{server.url}/crm/v3/objects/contacts/search"
    instant = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1772366400000"}
    body = {"filterGroups": [{"filters": [instant]}], "limit": 200}
    last = session.post(url, json={**body, "after": "9800"}, timeout=60)
    assert last.status_code == 200
    assert last.json()["total"] == 10_050
    assert len(last.json()["results"]) == 200
    past = session.post(url, json={**body, "after": "9900"}, timeout=60)
    assert past.status_code == 400
    assert past.json()["category"] == "VALIDATION_ERROR"
    assert "10,000" in past.json()["message"]
    assert _report(server)["counts"]["search_window"] == 1


def test_spread_shares_a_total_among_the_per_request_kinds():
    """`FaultProfile.spread(0.1)` gives the retryable per-request kinds 10 % between them,
    and each per-record and per-change kind 10 %."""
    profile = FaultProfile.spread(0.1, seed=3)
    per_request = sum(profile.rate(k) for k in REQUEST_KINDS)
    assert per_request == pytest.approx(0.1)
    assert profile.rate("salesforce_request_limit") == 0
    assert profile.rate("row_lock") == profile.rate("search_lag") == pytest.approx(0.1)
