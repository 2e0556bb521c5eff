"""`SalesforceGateway.query_many`: independent queries together in Composite calls, checked with
`responses` (the exact request) and against the sandbox (the journaled calls)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from connector.errors import FatalApiError
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.soql import soql
from connector.sandbox.server import SandboxServer
from tests.gateways.test_salesforce_gateway import API, COMPOSITE_URL, body_of, make_gateway
from tests.gateways.test_salesforce_sandbox import settings_for

SANDBOX_API = "/services/data/v59.0"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def reply(ref: str, records: list[dict[str, Any]], **page: Any) -> dict[str, Any]:
    """One subrequest's answer in a Composite response."""
    body = {"totalSize": len(records), "done": True, "records": records, **page}
    return {"body": body, "httpHeaders": {}, "httpStatusCode": 200, "referenceId": ref}


def echo(request: Any) -> tuple[int, dict[str, str], str]:
    """A Composite double answering each query subrequest with one record naming its query."""
    subs = json.loads(request.body)["compositeRequest"]
    answers = [reply(s["referenceId"], [{"Id": s["url"].rsplit("+", 1)[-1]}]) for s in subs]
    return 200, {}, json.dumps({"compositeResponse": answers})


def test_query_many_sends_the_queries_in_one_composite_call(http: responses.RequestsMock) -> None:
    """Three queries: one POST /composite (allOrNone false) of three query subrequests, the
    SOQL URL-encoded; results in the order of the queries whatever the answer's order, without
    `attributes` at any level."""
    account = {
        "attributes": {"type": "Account", "url": f"{SANDBOX_API}/sobjects/Account/001A"},
        "Id": "001A",
        "Parent": {"attributes": {"type": "Account"}, "Name": "Top"},
    }
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={
            "compositeResponse": [
                reply("q2", []),
                reply("q0", [account]),
                reply("q1", [{"attributes": {"type": "User"}, "Id": "005B"}]),
            ]
        },
    )

    results = make_gateway().query_many(
        [
            "SELECT Id, Parent.Name FROM Account WHERE Name LIKE '%O\\'Brien 100\\%%'",
            "SELECT Id FROM User WHERE Username IN ('a@x.test')",
            "SELECT Id FROM Group WHERE Type = 'Queue'",
        ]
    )

    (call,) = http.calls
    assert (call.request.method, call.request.url) == ("POST", COMPOSITE_URL)
    assert body_of(call) == {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "GET",
                "url": "/services/data/v59.0/query?q=SELECT+Id%2C+Parent.Name+FROM+Account+"
                "WHERE+Name+LIKE+%27%25O%5C%27Brien+100%5C%25%25%27",
                "referenceId": "q0",
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+User+"
                "WHERE+Username+IN+%28%27a%40x.test%27%29",
                "referenceId": "q1",
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+Group+"
                "WHERE+Type+%3D+%27Queue%27",
                "referenceId": "q2",
            },
        ],
    }
    assert results == [[{"Id": "001A", "Parent": {"Name": "Top"}}], [{"Id": "005B"}], []]


def test_query_many_carries_five_queries_a_call(http: responses.RequestsMock) -> None:
    """Salesforce lets five of a Composite call's subrequests be queries: twelve queries cost
    three calls (5, 5, 2), their results still in order."""
    http.add_callback(responses.POST, COMPOSITE_URL, callback=echo)
    texts = [soql("SELECT Id FROM Account WHERE Name = {}", f"n{i}") for i in range(12)]

    results = make_gateway().query_many(texts)

    assert [len(body_of(c)["compositeRequest"]) for c in http.calls] == [5, 5, 2]
    assert [[s["referenceId"] for s in body_of(c)["compositeRequest"]] for c in http.calls] == [
        ["q0", "q1", "q2", "q3", "q4"],
        ["q0", "q1", "q2", "q3", "q4"],
        ["q0", "q1"],
    ]
    assert results == [[{"Id": f"%27n{i}%27"}] for i in range(12)]


def test_query_many_of_nothing_sends_nothing(http: responses.RequestsMock) -> None:
    """No queries, no call."""
    assert make_gateway().query_many([]) == []
    assert len(http.calls) == 0


def test_query_many_follows_each_querys_next_records_url(http: responses.RequestsMock) -> None:
    """A result with more pages is completed through its nextRecordsUrl (query_more), the
    other results as answered."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={
            "compositeResponse": [
                reply("q0", [{"Id": "001A"}]),
                reply(
                    "q1",
                    [{"attributes": {"type": "Lead"}, "Id": "00Q1"}],
                    done=False,
                    totalSize=2,
                    nextRecordsUrl=f"{SANDBOX_API}/query/01gXX-1",
                ),
            ]
        },
    )
    http.add(
        responses.GET,
        f"{API}/query/01gXX-1",
        json={
            "totalSize": 2,
            "done": True,
            "records": [{"attributes": {"type": "Lead"}, "Id": "00Q2"}],
        },
    )

    results = make_gateway().query_many(["SELECT Id FROM Account", "SELECT Id FROM Lead"])

    assert results == [[{"Id": "001A"}], [{"Id": "00Q1"}, {"Id": "00Q2"}]]
    assert [c.request.method for c in http.calls] == ["POST", "GET"]


def test_query_many_refused_query_is_fatal(http: responses.RequestsMock) -> None:
    """A query Salesforce refuses fails the call with its code and message, naming the query."""
    refused = {
        "body": [{"errorCode": "INVALID_FIELD", "message": "No such column 'Domains__c'"}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "q1",
    }
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={"compositeResponse": [reply("q0", []), refused]},
    )

    with pytest.raises(
        FatalApiError,
        match=r"Salesforce query q1 failed \(HTTP 400\): INVALID_FIELD: No such column",
    ):
        make_gateway().query_many(["SELECT Id FROM Lead", "SELECT Domains__c FROM Account"])


def test_query_many_waits_out_a_busy_salesforce(http: responses.RequestsMock) -> None:
    """A 503 with Retry-After on the Composite call is retried after the wait it asks for."""
    sleeps: list[float] = []
    http.add(
        responses.POST,
        COMPOSITE_URL,
        status=503,
        json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}],
        headers={"Retry-After": "2"},
    )
    http.add_callback(responses.POST, COMPOSITE_URL, callback=echo)

    results = make_gateway(sleep=sleeps.append).query_many(["SELECT Id FROM Lead WHERE x = 'a'"])

    assert sleeps == [2.0]
    assert len(http.calls) == 2
    assert results == [[{"Id": "%27a%27"}]]


# -- against the sandbox -------------------------------------------------------------------------


SEED: dict[str, Any] = {
    "salesforce": {
        "Group": [{"Id": "@queue", "Name": "Inbound", "DeveloperName": "Inbound", "Type": "Queue"}],
        "Account": [
            {"Id": "@top", "Name": "Globex Corporation", "Website": "globex.com"},
            {
                "Id": "@sub",
                "Name": "O'Brien 100% Ltd",
                "ParentId": "@top",
                "Domains__c": "obrien.ie\nobrien.co.uk",
            },
            *({"Name": f"Filler {i:04d}"} for i in range(2100)),
        ],
        "Lead": [{"LastName": "Lovelace", "Company": "Analytical", "Email": "ada@x.com"}],
    }
}


@pytest.fixture
def server(sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox(SEED)


def test_query_many_against_the_sandbox(server: SandboxServer) -> None:
    """Seven queries cost two journaled Composite calls (five and two) plus one queryMore for
    the result of more than 2,000 rows; each result is what `query` returns for its text."""
    gateway = SalesforceGateway.connect(settings_for(server))
    texts = [
        "SELECT Id, Name, Parent.Name FROM Account WHERE Name LIKE '%O\\'Brien 100\\%%'",
        "SELECT Id FROM Account WHERE Domains__c LIKE '%obrien.co.uk%'",
        "SELECT Id, Name FROM Group WHERE Type = 'Queue'",
        "SELECT Id, Email FROM Lead",
        "SELECT Id FROM Account WHERE Name LIKE 'Filler%'",
        "SELECT Id FROM Account WHERE Website LIKE '%globex.com%'",
        "SELECT Id FROM Contact",
    ]
    server.sandbox.journal.clear()

    results = gateway.query_many(texts)

    sent = server.sandbox.journal.entries(api="salesforce")
    assert [(e.method, e.path, e.status) for e in sent] == [
        ("POST", f"{SANDBOX_API}/composite", 200),
        ("GET", f"{SANDBOX_API}/query/{sent[1].path.rsplit('/', 1)[-1]}", 200),
        ("POST", f"{SANDBOX_API}/composite", 200),
    ]
    accounts = {r["Name"]: r["Id"] for r in server.sandbox.org.records["Account"].values()}
    assert results[0] == [
        {
            "Id": accounts["O'Brien 100% Ltd"],
            "Name": "O'Brien 100% Ltd",
            "Parent": {"Name": "Globex Corporation"},
        }
    ]
    assert results[1] == [{"Id": accounts["O'Brien 100% Ltd"]}]
    assert len(results[4]) == 2100
    assert results[6] == []
    assert results == [gateway.query(text) for text in texts]


def test_sandbox_account_has_a_filterable_known_domains_field(server: SandboxServer) -> None:
    """Account describes `Domains__c` (Known Domains), a custom Text Area (255): filterable, so
    routing can search accounts by it (a Long Text Area could not be)."""
    gateway = SalesforceGateway.connect(settings_for(server))

    fields = {f["name"]: f for f in gateway.describe("Account")["fields"]}

    domains = fields["Domains__c"]
    assert (domains["type"], domains["length"], domains["label"]) == (
        "textarea",
        255,
        "Known Domains",
    )
    assert (domains["custom"], domains["filterable"]) == (True, True)
    assert fields["Description"]["filterable"] is False  # a Long Text Area
