"""The Salesforce gateway keeps the daily API budget's reserve: every call is admitted before
it leaves (queries and their next pages, writes, convertLead, retries), none past the reserve
is ever sent, and logins cost nothing (checked with `responses`: the exact calls made)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from simple_salesforce import Salesforce

from connector.errors import BudgetReserved
from connector.model import LeadConvert, LeadUpsert
from connector.salesforce.budget import Budget, BudgetGuard
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.session import SalesforceSession
from tests.gateways.test_salesforce_gateway import (
    API,
    INSTANCE,
    TOKEN_URL,
    UPSERT_URL,
    make_settings,
)

QUERY_URL = f"{API}/query/"
SOAP_URL = f"{INSTANCE}/services/Soap/u/59.0"
NEXT_URL = f"{API}/query/01gNEXT-2000"


def _usage(used: int, maximum: int = 40) -> dict[str, str]:
    return {"Sforce-Limit-Info": f"api-usage={used}/{maximum}"}


def _page(done: bool = True) -> dict[str, Any]:
    page: dict[str, Any] = {"totalSize": 1, "done": done, "records": [{"Id": "00Q1"}]}
    if not done:
        page["nextRecordsUrl"] = "/services/data/v59.0/query/01gNEXT-2000"
    return page


def _gateway(**overrides: Any) -> SalesforceGateway:
    """A gateway whose session keeps the reserve the settings name (20 % by default)."""
    settings = make_settings(**overrides)
    session = SalesforceSession(
        timeout=30, guard=BudgetGuard(settings.salesforce_api_reserve_percent)
    )
    client = Salesforce(session_id="x", instance_url=INSTANCE, version="59.0", session=session)
    return SalesforceGateway(client, settings, sleep=lambda _s: None)


def _calls(http: responses.RequestsMock) -> list[tuple[str, str]]:
    return [(c.request.method, str(c.request.url).split("?")[0]) for c in http.calls]


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_the_call_that_would_cut_into_the_reserve_is_never_sent(
    http: responses.RequestsMock,
) -> None:
    """40 a day, 8 kept for people: after 31 one more call goes (a write), the next is
    refused before it leaves; Salesforce saw 32 calls, never the 33rd."""
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(31))
    ok = [{"id": "00Q1", "success": True, "errors": [], "created": True}]
    http.add(responses.PATCH, UPSERT_URL, json=ok, headers=_usage(32))
    gateway = _gateway()

    gateway.query("SELECT Id FROM Lead")
    gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])
    with pytest.raises(BudgetReserved, match=r"8 of 40 calls left"):
        gateway.query("SELECT Id FROM Lead")

    assert _calls(http) == [("GET", QUERY_URL), ("PATCH", UPSERT_URL)]
    assert gateway.budget() == Budget(used=32, max=40, reserve=8)


def test_a_query_stops_before_a_next_page_past_the_reserve(http: responses.RequestsMock) -> None:
    """Each page of a query is a call: the one past the reserve is not fetched."""
    http.add(responses.GET, QUERY_URL, json=_page(done=False), headers=_usage(31))
    http.add(responses.GET, NEXT_URL, json=_page(done=False), headers=_usage(32))

    with pytest.raises(BudgetReserved):
        _gateway().query("SELECT Id FROM Lead")

    assert _calls(http) == [("GET", QUERY_URL), ("GET", NEXT_URL)]


def test_convert_lead_is_not_sent_when_the_budget_is_at_the_reserve(
    http: responses.RequestsMock,
) -> None:
    """The SOAP convertLead goes through the same session: at the reserve it is never sent."""
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(32))
    gateway = _gateway()
    gateway.query("SELECT Id FROM Lead")

    with pytest.raises(BudgetReserved):
        gateway.convert_leads([LeadConvert(lead_id="00Q1", converted_status="Qualified")])

    assert _calls(http) == [("GET", QUERY_URL)]


def test_a_retry_is_a_call_and_is_refused_like_one(http: responses.RequestsMock) -> None:
    """A 503 answered the last call above the reserve: its retry is not sent."""
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(30))
    http.add(responses.GET, QUERY_URL, status=503, json=[], headers=_usage(32))
    gateway = _gateway()
    gateway.query("SELECT Id FROM Lead")

    with pytest.raises(BudgetReserved):
        gateway.query("SELECT Id FROM Lead")

    assert _calls(http) == [("GET", QUERY_URL), ("GET", QUERY_URL)]


def test_logging_in_again_costs_nothing_and_the_write_goes_once(
    http: responses.RequestsMock,
) -> None:
    """An expired session near the reserve: the login (not counted by Salesforce) goes, and
    the write is sent again once, with the new token."""
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(29))
    expired = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
    http.add(responses.PATCH, UPSERT_URL, status=401, json=expired)
    token = {"access_token": "new-token", "instance_url": INSTANCE, "token_type": "Bearer"}
    http.add(responses.POST, TOKEN_URL, json=token)
    ok = [{"id": "00Q1", "success": True, "errors": [], "created": True}]
    http.add(responses.PATCH, UPSERT_URL, json=ok, headers=_usage(30))
    gateway = _gateway()
    gateway.query("SELECT Id FROM Lead")

    results = gateway.upsert_leads([LeadUpsert("1", {"LastName": "A"})])

    assert results[0].success
    assert _calls(http) == [
        ("GET", QUERY_URL),
        ("PATCH", UPSERT_URL),
        ("POST", TOKEN_URL),
        ("PATCH", UPSERT_URL),
    ]


def test_ensure_budget_counts_the_calls_of_the_work(http: responses.RequestsMock) -> None:
    """Room is asked in calls: 200 records a Collections call, 100 Leads a convertLead call;
    with 4 calls left above the reserve, 150 conversions and their opportunities' update
    (3 calls) fit, one more read does not; nothing is sent either way."""
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(28))
    gateway = _gateway()
    gateway.query("SELECT Id FROM Lead")

    gateway.ensure_budget("converting 150 Leads", converts=150, writes=[150])
    gateway.ensure_budget("writing 201 contacts", writes=[201, 1, 0])
    with pytest.raises(BudgetReserved, match=r"converting 150 Leads needs 5 calls"):
        gateway.ensure_budget("converting 150 Leads", reads=2, converts=150, writes=[150])

    assert len(http.calls) == 1
    assert gateway.budget() == Budget(used=28, max=40, reserve=8)


def test_the_reserve_comes_from_the_setting(http: responses.RequestsMock) -> None:
    """LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT=50 keeps half: at 5 of 10 nothing more goes,
    through a gateway built by `connect` as every command builds it."""
    token = {"access_token": "t", "instance_url": INSTANCE, "token_type": "Bearer"}
    http.add(responses.POST, TOKEN_URL, json=token)
    http.add(responses.GET, QUERY_URL, json=_page(), headers=_usage(5, 10))
    settings = make_settings(salesforce_api_reserve_percent=50)
    gateway = SalesforceGateway.connect(settings, sleep=lambda _s: None)

    gateway.query("SELECT Id FROM Lead")
    with pytest.raises(BudgetReserved, match=r"LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT=50: 5"):
        gateway.query("SELECT Id FROM Lead")

    assert gateway.budget() == Budget(used=5, max=10, reserve=5)
    assert _calls(http) == [("POST", TOKEN_URL), ("GET", QUERY_URL)]
