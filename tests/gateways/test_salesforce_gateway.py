"""The Salesforce gateway sends exactly the HTTP the design promises (checked with `responses`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from simple_salesforce import Salesforce

from connector.errors import FatalApiError
from connector.model import (
    FieldError,
    LeadUpdate,
    LeadUpsert,
    RecordUpdate,
    SalesforceMatch,
    WriteResult,
)
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.session import SalesforceSession
from connector.settings import Settings

REPO = Path(__file__).resolve().parents[2]
INSTANCE = "https://sf.test"
API = f"{INSTANCE}/services/data/v59.0"
UPSERT_URL = f"{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c"
COLLECTIONS_URL = f"{API}/composite/sobjects"
COMPOSITE_URL = f"{API}/composite"
TOKEN_URL = "https://login.test/services/oauth2/token"
LIMIT_INFO = {"Sforce-Limit-Info": "api-usage=42/15000"}


def make_settings(**overrides: Any) -> Settings:
    """Password-login settings pointing at a fake login host (nothing read from .env)."""
    values: dict[str, Any] = {
        "salesforce_auth": "password",
        "salesforce_login_url": "https://login.test",
        "salesforce_username": "integration@x.test",
        "salesforce_password": "pw-secret",
        "salesforce_security_token": "tok-secret",
        "salesforce_consumer_key": "ck",
        "salesforce_consumer_secret": "cs-secret",
        "salesforce_max_attempts": 5,
        "hubspot_access_token": "hs-token",
        "mappings_dir": REPO / "mappings",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def make_gateway(
    settings: Settings | None = None, sleep: Callable[[float], Any] | None = None
) -> SalesforceGateway:
    """A gateway over a client for the fake instance; `sleep` records instead of sleeping."""
    client = Salesforce(
        session_id="x",
        instance_url=INSTANCE,
        version="59.0",
        session=SalesforceSession(timeout=30),
    )
    return SalesforceGateway(client, settings or make_settings(), sleep=sleep or (lambda _s: None))


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def echo_upserts(created: bool = True) -> Callable[[Any], tuple[int, dict[str, str], str]]:
    """A collections double answering success for every record, ids derived from the input."""

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        records = json.loads(request.body)["records"]
        results = [
            {
                "id": f"00Q{r.get('HubSpot_Contact_Id__c') or r.get('Id')}",
                "success": True,
                "errors": [],
                "created": created,
            }
            for r in records
        ]
        return 200, LIMIT_INFO, json.dumps(results)

    return callback


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_upsert_batches_of_200(http: responses.RequestsMock) -> None:
    """450 upserts are three collections calls of 200, 200 and 50, in order, by external id."""
    http.add_callback(responses.PATCH, UPSERT_URL, callback=echo_upserts())
    upserts = [LeadUpsert(str(1000 + i), {"LastName": f"L{i}", "Company": "C"}) for i in range(450)]

    results = make_gateway().upsert_leads(upserts)

    assert [len(body_of(c)["records"]) for c in http.calls] == [200, 200, 50]
    sent = [r for c in http.calls for r in body_of(c)["records"]]
    assert [r["HubSpot_Contact_Id__c"] for r in sent] == [u.hubspot_id for u in upserts]
    assert [r.hubspot_id for r in results] == [u.hubspot_id for u in upserts]
    assert results[0] == WriteResult("1000", success=True, salesforce_id="00Q1000", created=True)


def test_upsert_request_shape(http: responses.RequestsMock) -> None:
    """The upsert is PATCH composite/sobjects/Lead/<ext>, allOrNone false, typed records, the
    bearer token and Sforce-Auto-Assign: FALSE."""
    http.add_callback(responses.PATCH, UPSERT_URL, callback=echo_upserts())

    make_gateway().upsert_leads(
        [LeadUpsert("101", {"LastName": "Lovelace", "Company": "Analytical", "Email": "ada@x.com"})]
    )

    (call,) = http.calls
    assert call.request.method == "PATCH"
    assert call.request.url == UPSERT_URL
    assert call.request.headers["Authorization"] == "Bearer x"
    assert call.request.headers["Sforce-Auto-Assign"] == "FALSE"
    assert call.request.headers["Content-Type"] == "application/json"
    assert body_of(call) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "HubSpot_Contact_Id__c": "101",
                "LastName": "Lovelace",
                "Company": "Analytical",
                "Email": "ada@x.com",
            }
        ],
    }


def test_upsert_auto_assign_and_custom_external_id(http: responses.RequestsMock) -> None:
    """With auto_assign no Sforce-Auto-Assign header is sent (the org's rules apply), and the
    configured external id field names the path and the record key."""
    url = f"{API}/composite/sobjects/Lead/Hs_Id__c"
    http.add(
        responses.PATCH, url, json=[{"id": "00Q1", "success": True, "errors": [], "created": True}]
    )
    gateway = make_gateway(make_settings(salesforce_external_id_field="Hs_Id__c"))

    gateway.upsert_leads([LeadUpsert("7", {"LastName": "X"})], auto_assign=True)

    (call,) = http.calls
    assert "Sforce-Auto-Assign" not in call.request.headers
    assert body_of(call)["records"] == [
        {"attributes": {"type": "Lead"}, "Hs_Id__c": "7", "LastName": "X"}
    ]


def test_batch_size_setting(http: responses.RequestsMock) -> None:
    """salesforce_batch_size sets the records per collections call."""
    http.add_callback(responses.PATCH, UPSERT_URL, callback=echo_upserts())
    gateway = make_gateway(make_settings(salesforce_batch_size=2))

    gateway.upsert_leads([LeadUpsert(str(i), {"LastName": "L"}) for i in range(5)])

    assert [len(body_of(c)["records"]) for c in http.calls] == [2, 2, 1]


def test_per_record_results_mapped_in_order(http: responses.RequestsMock) -> None:
    """Every per-record result is checked: created, updated and failed records come back as
    WriteResults in request order, the failure with its code, message and fields."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        json=[
            {"id": "00Q000000000001AAA", "success": True, "errors": [], "created": True},
            {"id": "00Q000000000002AAA", "success": True, "errors": [], "created": False},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [LastName]",
                        "fields": ["LastName"],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_EMAIL_ADDRESS",
                        "message": "Email: invalid email address: nope",
                        "fields": ["Email"],
                    }
                ],
            },
        ],
    )
    upserts = [
        LeadUpsert("1", {"LastName": "A"}),
        LeadUpsert("2", {"LastName": "B"}),
        LeadUpsert("3", {}),
        LeadUpsert("4", {"LastName": "D", "Email": "nope"}),
    ]

    results = make_gateway().upsert_leads(upserts)

    assert results == [
        WriteResult("1", success=True, salesforce_id="00Q000000000001AAA", created=True),
        WriteResult("2", success=True, salesforce_id="00Q000000000002AAA", created=False),
        WriteResult(
            "3",
            success=False,
            errors=(
                FieldError(
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [LastName]",
                    ("LastName",),
                ),
            ),
        ),
        WriteResult(
            "4",
            success=False,
            errors=(
                FieldError(
                    "INVALID_EMAIL_ADDRESS", "Email: invalid email address: nope", ("Email",)
                ),
            ),
        ),
    ]
    assert (
        results[2].reason
        == "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (LastName)"
    )


def test_update_leads_by_id(http: responses.RequestsMock) -> None:
    """A link updates the found Lead by Id: PATCH composite/sobjects with typed records, the
    external id among the fields, no assignment rules."""
    http.add(
        responses.PATCH,
        COLLECTIONS_URL,
        json=[{"id": "00Q000000000009AAA", "success": True, "errors": []}],
    )

    results = make_gateway().update_leads(
        [LeadUpdate("55", "00Q000000000009AAA", {"HubSpot_Contact_Id__c": "55", "Status": "Open"})]
    )

    (call,) = http.calls
    assert call.request.method == "PATCH"
    assert call.request.url == COLLECTIONS_URL
    assert call.request.headers["Sforce-Auto-Assign"] == "FALSE"
    assert body_of(call) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "Id": "00Q000000000009AAA",
                "HubSpot_Contact_Id__c": "55",
                "Status": "Open",
            }
        ],
    }
    assert results == [WriteResult("55", success=True, salesforce_id="00Q000000000009AAA")]


def test_update_records_of_another_object_by_id(http: responses.RequestsMock) -> None:
    """Contacts (after conversion) and Opportunities are updated the same way, typed with their
    own object, each result under the caller's key; a refused record keeps its error."""
    http.add(
        responses.PATCH,
        COLLECTIONS_URL,
        json=[
            {"id": "003000000000001AAA", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "bad", "fields": ["Email"]}
                ],
            },
        ],
    )

    results = make_gateway().update_records(
        "Contact",
        [
            RecordUpdate("55", "003000000000001AAA", {"Title": "CTO"}),
            RecordUpdate("56", "003000000000002AAA", {"Email": "nope"}),
        ],
    )

    assert body_of(http.calls[0]) == {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Contact"}, "Id": "003000000000001AAA", "Title": "CTO"},
            {"attributes": {"type": "Contact"}, "Id": "003000000000002AAA", "Email": "nope"},
        ],
    }
    assert results[0] == WriteResult("55", success=True, salesforce_id="003000000000001AAA")
    assert results[1].hubspot_id == "56" and not results[1].success
    assert results[1].errors[0].code == "INVALID_EMAIL_ADDRESS"
    assert results[1].errors[0].fields == ("Email",)


def test_update_records_refuses_an_object_name_that_is_not_a_name() -> None:
    with pytest.raises(ValueError):
        make_gateway().update_records("Contact; DROP", [RecordUpdate("1", "003", {})])


def test_request_level_data_error_rejects_every_record_of_the_call(
    http: responses.RequestsMock,
) -> None:
    """A 400 with a data code for the whole call rejects its records (to dead-letter), once."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=400,
        json=[
            {
                "errorCode": "STRING_TOO_LONG",
                "message": "Company: data value too large",
                "fields": [],
            }
        ],
    )

    results = make_gateway().upsert_leads([LeadUpsert("1", {}), LeadUpsert("2", {})])

    assert len(http.calls) == 1
    assert results == [
        WriteResult(
            h,
            success=False,
            errors=(FieldError("STRING_TOO_LONG", "Company: data value too large"),),
        )
        for h in ("1", "2")
    ]


def test_request_level_malformed_raises(http: responses.RequestsMock) -> None:
    """A request Salesforce cannot parse stops the pass with a FatalApiError naming the call."""
    http.add(
        responses.PATCH,
        UPSERT_URL,
        status=400,
        json=[
            {
                "errorCode": "INVALID_FIELD",
                "message": "No such column 'Emial' on sobject of type Lead",
            }
        ],
    )

    with pytest.raises(FatalApiError) as info:
        make_gateway().upsert_leads([LeadUpsert("1", {"Emial": "x"})])

    assert str(info.value) == (
        "Salesforce PATCH composite/sobjects/Lead/HubSpot_Contact_Id__c failed (HTTP 400): "
        "INVALID_FIELD: No such column 'Emial' on sobject of type Lead"
    )
    assert (info.value.status, info.value.code) == (400, "INVALID_FIELD")


def composite_answer(leads: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    def page(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"totalSize": len(records), "done": True, "records": records}

    return {
        "compositeResponse": [
            {"body": page(leads), "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "leads"},
            {
                "body": page(contacts),
                "httpHeaders": {},
                "httpStatusCode": 200,
                "referenceId": "contacts",
            },
        ]
    }


def subrequest_queries(call: Any) -> dict[str, str]:
    """The SOQL of each composite subrequest, by reference id (URL-decoded)."""
    out = {}
    for sub in body_of(call)["compositeRequest"]:
        parts = urlsplit(sub["url"])
        assert (sub["method"], parts.path) == ("GET", "/services/data/v59.0/query")
        out[sub["referenceId"]] = parse_qs(parts.query)["q"][0]
    return out


def test_find_by_emails_one_composite_call(http: responses.RequestsMock) -> None:
    """The Lead and Contact look-ups travel in one Composite call (allOrNone false) with
    escaped IN lists, and their records come back as SalesforceMatches."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json=composite_answer(
            leads=[
                {
                    "attributes": {
                        "type": "Lead",
                        "url": "/services/data/v59.0/sobjects/Lead/00Q1",
                    },
                    "Id": "00Q1",
                    "Email": "ada@x.com",
                    "HubSpot_Contact_Id__c": None,
                    "OwnerId": "005A",
                }
            ],
            contacts=[
                {
                    "attributes": {
                        "type": "Contact",
                        "url": "/services/data/v59.0/sobjects/Contact/003B",
                    },
                    "Id": "003B",
                    "Email": "O'Brien@X.com",
                    "HubSpot_Contact_Id__c": "77",
                    "AccountId": "001C",
                    "OwnerId": "005D",
                }
            ],
        ),
    )

    matches = make_gateway().find_by_emails(
        ["ADA@x.com", "o'brien@x.com", "ada@X.com", "", "back\\slash@x.com"]
    )

    (call,) = http.calls
    assert call.request.url == COMPOSITE_URL
    body = body_of(call)
    assert body["allOrNone"] is False
    assert [s["referenceId"] for s in body["compositeRequest"]] == ["leads", "contacts"]
    emails = "('ADA@x.com','o\\'brien@x.com','back\\\\slash@x.com')"
    assert subrequest_queries(call) == {
        "leads": "SELECT Id, Email, HubSpot_Contact_Id__c, OwnerId FROM Lead "  # noqa: S608
        f"WHERE IsConverted = false AND Email IN {emails}",
        "contacts": "SELECT Id, Email, HubSpot_Contact_Id__c, AccountId, OwnerId "  # noqa: S608
        f"FROM Contact WHERE Email IN {emails}",
    }
    assert matches == [
        SalesforceMatch(
            "Lead", "00Q1", "ada@x.com", hubspot_id=None, account_id=None, owner_id="005A"
        ),
        SalesforceMatch(
            "Contact", "003B", "O'Brien@X.com", hubspot_id="77", account_id="001C", owner_id="005D"
        ),
    ]


def test_find_by_emails_chunks_of_200(http: responses.RequestsMock) -> None:
    """450 emails cost three Composite calls of 200, 200 and 50 emails."""
    http.add(responses.POST, COMPOSITE_URL, json=composite_answer([], []))
    emails = [f"user{i}@example.com" for i in range(450)]

    assert make_gateway().find_by_emails(emails) == []

    counts = [subrequest_queries(c)["leads"].count("@example.com") for c in http.calls]
    assert counts == [200, 200, 50]
    assert all(len(q) < 10_000 for c in http.calls for q in subrequest_queries(c).values())


def test_find_by_many_emails_packs_long_queries_five_to_a_call(
    http: responses.RequestsMock,
) -> None:
    """A backfill job's 10,000 emails cost two Composite calls (not fifty): IN lists as long as
    a SOQL statement allows (100,000 characters), five queries to a call, every email asked
    once of Leads and once of Contacts; each subrequest's records come back as matches."""
    found = {"person1234@bulk4.example", "person9999@bulk9.example"}

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        replies = []
        for sub in json.loads(request.body)["compositeRequest"]:
            text = parse_qs(urlsplit(sub["url"]).query)["q"][0]
            obj = "Lead" if " FROM Lead " in text else "Contact"
            records = [
                {"attributes": {"type": obj}, "Id": f"{obj[:3]}-{email}", "Email": email.upper()}
                for email in sorted(found)
                if f"'{email}'" in text
            ]
            body = {"totalSize": len(records), "done": True, "records": records}
            replies.append(
                {
                    "body": body,
                    "httpHeaders": {},
                    "httpStatusCode": 200,
                    "referenceId": sub["referenceId"],
                }
            )
        return 200, {}, json.dumps({"compositeResponse": replies})

    http.add_callback(responses.POST, COMPOSITE_URL, callback=answer)
    emails = [f"person{i}@bulk{i % 10}.example" for i in range(10_000)]

    matches = make_gateway().find_by_many_emails(emails)

    assert len(http.calls) == 2
    texts = [q for c in http.calls for q in subrequest_queries(c).values()]
    assert [len(subrequest_queries(c)) for c in http.calls] == [5, len(texts) - 5]
    assert all(len(q) <= 100_000 for q in texts)
    for obj in ("Lead", "Contact"):
        asked = [q for q in texts if f" FROM {obj} " in q]
        assert sum(q.count("@bulk") for q in asked) == len(emails)
    assert sorted((m.object, m.email.lower()) for m in matches) == sorted(
        (obj, email) for obj in ("Lead", "Contact") for email in found
    )


def test_find_by_emails_none_sends_nothing(http: responses.RequestsMock) -> None:
    """No emails, no call."""
    assert make_gateway().find_by_emails(["", "  "]) == []
    assert len(http.calls) == 0


def test_find_by_emails_follows_next_records_url(http: responses.RequestsMock) -> None:
    """A subresult with more pages is completed through its nextRecordsUrl."""
    answer = composite_answer([], [])
    answer["compositeResponse"][0]["body"] = {
        "totalSize": 2,
        "done": False,
        "nextRecordsUrl": "/services/data/v59.0/query/01gXX-1",
        "records": [{"Id": "00Q1", "Email": "a@x.com", "OwnerId": "005A"}],
    }
    http.add(responses.POST, COMPOSITE_URL, json=answer)
    http.add(
        responses.GET,
        f"{API}/query/01gXX-1",
        json={
            "totalSize": 2,
            "done": True,
            "records": [{"Id": "00Q2", "Email": "b@x.com", "OwnerId": "005A"}],
        },
    )

    matches = make_gateway().find_by_emails(["a@x.com", "b@x.com"])

    assert [m.id for m in matches] == ["00Q1", "00Q2"]


def test_find_by_emails_subrequest_error_is_fatal(http: responses.RequestsMock) -> None:
    """A failed subrequest (bad query) raises FatalApiError with Salesforce's message."""
    answer = composite_answer([], [])
    answer["compositeResponse"][1] = {
        "body": [
            {"errorCode": "INVALID_FIELD", "message": "No such column 'HubSpot_Contact_Id__c'"}
        ],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "contacts",
    }
    http.add(responses.POST, COMPOSITE_URL, json=answer)

    with pytest.raises(FatalApiError, match="query contacts failed \\(HTTP 400\\): INVALID_FIELD"):
        make_gateway().find_by_emails(["a@x.com"])


def test_query_all_pages_without_attributes(http: responses.RequestsMock) -> None:
    """query() runs the given SOQL, follows every page and drops `attributes` everywhere."""
    text = "SELECT Id, Parent.Name FROM Account WHERE Name = 'O\\'Brien'"
    http.add(
        responses.GET,
        f"{API}/query/",
        match=[responses.matchers.query_param_matcher({"q": text})],
        json={
            "totalSize": 2,
            "done": False,
            "nextRecordsUrl": "/services/data/v59.0/query/01gYY-1",
            "records": [
                {
                    "attributes": {"type": "Account"},
                    "Id": "001A",
                    "Parent": {"attributes": {}, "Name": "P"},
                }
            ],
        },
    )
    http.add(
        responses.GET,
        f"{API}/query/01gYY-1",
        json={
            "totalSize": 2,
            "done": True,
            "records": [{"attributes": {}, "Id": "001B", "Parent": None}],
        },
    )

    assert make_gateway().query(text) == [
        {"Id": "001A", "Parent": {"Name": "P"}},
        {"Id": "001B", "Parent": None},
    ]


def test_current_leads_by_id_in_chunks_of_200(http: responses.RequestsMock) -> None:
    """Reading Leads before an update: one query per 200 Ids through the SOQL helper, the fields
    plus LastModifiedDate, records by Id with the change time as an aware UTC datetime."""
    seen: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        text = parse_qs(urlsplit(request.url).query)["q"][0]
        seen.append(text)
        records = [
            {
                "attributes": {"type": "Lead"},
                "Id": "00Q0",
                "LastModifiedDate": "2026-11-23T10:00:00.000+0000",
                "Title": "VP Sales",
                "Phone": None,
            }
        ]
        body = {"totalSize": 1, "done": True, "records": records if len(seen) == 1 else []}
        return 200, {}, json.dumps(body)

    http.add_callback(responses.GET, f"{API}/query/", callback=answer)
    ids = [f"00Q{i}" for i in range(250)]

    leads = make_gateway().current_leads([*ids, "", "00Q0"], ["Title", "Phone"])

    assert leads == {
        "00Q0": {
            "Id": "00Q0",
            "LastModifiedDate": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            "Title": "VP Sales",
            "Phone": None,
        }
    }
    first = "', '".join(ids[:200]).replace(" ", "")
    assert seen[0] == (
        f"SELECT Id, LastModifiedDate, Title, Phone FROM Lead WHERE Id IN ('{first}')"  # noqa: S608
    )
    assert [q.count("'00Q") for q in seen] == [200, 50]


def test_current_leads_refuses_a_field_that_is_not_a_name(http: responses.RequestsMock) -> None:
    """Field names go in as a checked list: anything else raises before a call."""
    with pytest.raises(ValueError, match="takes a non-empty list of field names"):
        make_gateway().current_leads(["00Q1"], ["Title FROM User --"])
    assert len(http.calls) == 0


def test_api_usage_from_limit_info(http: responses.RequestsMock) -> None:
    """api_usage reports the latest Sforce-Limit-Info (None before any call)."""
    http.add_callback(responses.PATCH, UPSERT_URL, callback=echo_upserts())
    gateway = make_gateway()
    assert gateway.api_usage is None

    gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert gateway.api_usage == (42, 15000)


def test_api_usage_with_a_plain_session(http: responses.RequestsMock) -> None:
    """Built over a plain requests.Session, api_usage falls back to simple-salesforce's parse."""
    http.add_callback(responses.PATCH, UPSERT_URL, callback=echo_upserts())
    client = Salesforce(
        session_id="x", instance_url=INSTANCE, version="59.0", session=requests.Session()
    )
    gateway = SalesforceGateway(client, make_settings())

    gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert gateway.api_usage == (42, 15000)


def test_no_simple_salesforce_error_escapes(http: responses.RequestsMock) -> None:
    """A 404 comes out as our FatalApiError, not simple-salesforce's exception."""
    http.add(
        responses.GET,
        f"{API}/query/",
        status=404,
        json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
    )

    with pytest.raises(FatalApiError) as info:
        make_gateway().query("SELECT Id FROM Lead")

    assert type(info.value) is FatalApiError
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
