"""The Salesforce side of sales feedback: the incremental Lead query and the integration user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses

from connector.errors import FatalApiError
from connector.salesforce.gateway import SalesforceGateway
from tests.gateways.test_salesforce_gateway import API, TOKEN_URL, make_gateway, make_settings


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _query(http: responses.RequestsMock, text: str, records: list[dict]) -> None:
    """The one query `text` answers `records` (any other query text fails the test)."""
    http.add(
        responses.GET,
        f"{API}/query/",
        match=[responses.matchers.query_param_matcher({"q": text})],
        json={"totalSize": len(records), "done": True, "records": records},
    )


def test_changed_leads_soql_with_since_and_exclusion(http: responses.RequestsMock) -> None:
    """Only linked Leads changed since the cursor (to the second, UTC), not last changed by the
    integration user (its id escaped), oldest first and by Id; the stamp comes back aware."""
    text = (
        "SELECT Id, HubSpot_Contact_Id__c, Status, LastModifiedById, SystemModstamp, OwnerId, "
        "Rejection_Reason__c FROM Lead WHERE HubSpot_Contact_Id__c != null "
        "AND SystemModstamp >= 2026-11-23T09:59:30+00:00 AND LastModifiedById != '005\\'x' "
        "ORDER BY SystemModstamp, Id"
    )
    record = {
        "attributes": {"type": "Lead"},
        "Id": "00QA",
        "HubSpot_Contact_Id__c": "101",
        "Status": "Working - Contacted",
        "LastModifiedById": "005rep",
        "SystemModstamp": "2026-11-23T10:00:00.000+0000",
        "OwnerId": "005rep",
        "Rejection_Reason__c": None,
    }
    _query(http, text, [record])
    since = datetime(2026, 11, 23, 9, 59, 30, 999_000, tzinfo=UTC)  # milliseconds dropped

    leads = make_gateway().changed_leads(
        since, ["Status", "OwnerId", "Rejection_Reason__c"], exclude_user_id="005'x"
    )

    assert leads == [
        {
            "Id": "00QA",
            "HubSpot_Contact_Id__c": "101",
            "Status": "Working - Contacted",
            "LastModifiedById": "005rep",
            "SystemModstamp": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            "OwnerId": "005rep",
            "Rejection_Reason__c": None,
        }
    ]


def test_changed_leads_first_pass_reads_all_linked_leads(http: responses.RequestsMock) -> None:
    """Before the first cursor and without a user to exclude: every linked Lead, in order, with
    the configured external id field."""
    text = (
        "SELECT Id, HS_Id__c, Status, LastModifiedById, SystemModstamp FROM Lead "
        "WHERE HS_Id__c != null ORDER BY SystemModstamp, Id"
    )
    _query(http, text, [])
    gateway = make_gateway(make_settings(salesforce_external_id_field="HS_Id__c"))

    assert gateway.changed_leads(None, ["Status"], exclude_user_id=None) == []


def test_user_id_from_the_login_identity(http: responses.RequestsMock) -> None:
    """connect() keeps the user id the OAuth answer names (`.../id/ORG/USER`): no query."""
    http.add(
        responses.POST,
        TOKEN_URL,
        json={
            "access_token": "T1",
            "instance_url": "https://sf.test",
            "id": "https://login.test/id/00Dxx0000001gPL/005xx000001SwiU",
        },
    )

    gateway = SalesforceGateway.connect(make_settings(), sleep=lambda _s: None)

    assert gateway.user_id == "005xx000001SwiU"
    assert len(http.calls) == 1


def test_user_id_looked_up_once_by_username(http: responses.RequestsMock) -> None:
    """Without an identity from the login, the user is found by username, once per gateway."""
    text = "SELECT Id FROM User WHERE Username = 'integration@x.test'"
    _query(http, text, [{"attributes": {"type": "User"}, "Id": "005INT"}])
    gateway = make_gateway()

    assert (gateway.user_id, gateway.user_id) == ("005INT", "005INT")
    assert len(http.calls) == 1


def test_unknown_username_is_fatal(http: responses.RequestsMock) -> None:
    """A username Salesforce does not know stops the pass, naming the setting."""
    _query(http, "SELECT Id FROM User WHERE Username = 'integration@x.test'", [])

    with pytest.raises(FatalApiError, match="LEADBRIDGE_SALESFORCE_USERNAME"):
        _ = make_gateway().user_id
