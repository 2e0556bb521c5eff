"""The Salesforce gateway against the sandbox: real logins, TLS, look-ups, writes and faults."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from connector.errors import ConfigError
from connector.model import FieldError, LeadUpsert, SalesforceMatch, WriteResult
from connector.salesforce.gateway import SalesforceGateway
from connector.sandbox.app import Fault
from connector.sandbox.env import sandbox_settings
from connector.sandbox.ids import to18
from connector.sandbox.server import SandboxServer
from connector.settings import Settings

REPO = Path(__file__).resolve().parents[2]
API = "/services/data/v59.0"

SEED: dict[str, Any] = {
    "salesforce": {
        "settings": {"leadAssignmentOwner": "@queue"},
        "Group": [{"Id": "@queue", "Name": "Inbound", "Type": "Queue"}],
        "Account": [{"Id": "@acme", "Name": "Acme"}],
        "Lead": [
            {"Id": "@ada", "LastName": "Lovelace", "Company": "Analytical", "Email": "ada@x.com"},
            {
                "Id": "@old",
                "LastName": "Old",
                "Company": "Gone",
                "Email": "bob@y.com",
                "IsConverted": True,
                "Status": "Closed - Converted",
            },
            {"Id": "@eve", "LastName": "Eve", "Company": "E", "Email": "eve@z.com"},
        ],
        "Contact": [
            {
                "Id": "@bob",
                "LastName": "Bob",
                "Email": "Bob@Y.com",
                "AccountId": "@acme",
                "HubSpot_Contact_Id__c": "42",
            }
        ],
    }
}


def settings_for(server: SandboxServer, *, auth: str = "password", **overrides: Any) -> Settings:
    """Settings from `leadbridge sandbox env` for this sandbox, with overrides."""
    return sandbox_settings(server, auth=auth, **{"mappings_dir": REPO / "mappings", **overrides})


@pytest.fixture
def server(sandbox: Callable[..., SandboxServer], monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The seeded sandbox, with the environment's CA bundle pointing elsewhere (as on CI)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    return sandbox(SEED)


def calls(server: SandboxServer) -> list[tuple[str, str, int]]:
    return [(e.method, e.path, e.status) for e in server.sandbox.journal.entries(api="salesforce")]


def test_password_login(server: SandboxServer) -> None:
    """The password grant logs in through the configured CA bundle despite REQUESTS_CA_BUNDLE."""
    gateway = SalesforceGateway.connect(settings_for(server))

    rows = gateway.query("SELECT Username FROM User WHERE Username = 'integration@sandbox.local'")

    assert rows == [{"Username": "integration@sandbox.local"}]
    assert calls(server) == [
        ("POST", "/services/oauth2/token", 200),
        ("GET", f"{API}/query/", 200),
    ]
    assert gateway.api_usage == (server.sandbox.org.api_used, 100_000)


def test_jwt_login(server: SandboxServer) -> None:
    """The JWT bearer grant (audience: the sandbox URL) logs in as the integration user."""
    gateway = SalesforceGateway.connect(settings_for(server, auth="jwt"))

    assert gateway.query("SELECT Id FROM Lead WHERE Email = 'ada@x.com'") != []
    (login, query) = server.sandbox.journal.entries(api="salesforce")
    assert (login.path, login.status) == ("/services/oauth2/token", 200)
    assert query.user == server.sandbox.org.user_by_username("integration@sandbox.local")["Id"]


def test_wrong_password(server: SandboxServer) -> None:
    """A wrong password is one ConfigError line naming the variables, never the password."""
    with pytest.raises(ConfigError) as info:
        SalesforceGateway.connect(settings_for(server, salesforce_password="hunter2-wrong"))

    assert str(info.value) == (
        "Salesforce login failed for integration@sandbox.local (invalid_grant: authentication "
        "failure); check LEADBRIDGE_SALESFORCE_PASSWORD and LEADBRIDGE_SALESFORCE_SECURITY_TOKEN"
    )
    assert "hunter2" not in str(info.value)


def test_unreachable_port(server: SandboxServer) -> None:
    """Nothing listening: ConfigError naming the host and port and the URL setting."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(server, salesforce_login_url=f"https://127.0.0.1:{port}")

    with pytest.raises(ConfigError) as info:
        SalesforceGateway.connect(settings)

    assert str(info.value) == (
        f"cannot reach Salesforce at https://127.0.0.1:{port} (connection refused); "
        "check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )


def test_untrusted_certificate(server: SandboxServer) -> None:
    """A CA bundle that does not hold the server's CA: ConfigError naming the CA bundle setting."""
    settings = settings_for(server, salesforce_ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"))

    with pytest.raises(ConfigError) as info:
        SalesforceGateway.connect(settings)

    assert str(info.value).startswith(f"TLS with Salesforce at {server.url} failed (certificate")
    assert str(info.value).endswith("check LEADBRIDGE_SALESFORCE_CA_BUNDLE")


def test_find_by_emails_case_insensitive_one_call(server: SandboxServer) -> None:
    """`ADA@X.COM` finds the Lead `ada@x.com`, `bob@y.com` the Contact (not the converted Lead),
    all in one journaled Composite call."""
    gateway = SalesforceGateway.connect(settings_for(server))
    server.sandbox.journal.clear()
    org = server.sandbox.org
    ada = next(r for r in org.records["Lead"].values() if r["LastName"] == "Lovelace")
    bob = next(iter(org.records["Contact"].values()))

    matches = gateway.find_by_emails(["ADA@X.COM", "bob@y.com", "nobody@x.com", "o'hara@x.com"])

    assert matches == [
        SalesforceMatch("Lead", ada["Id"], "ada@x.com", owner_id=ada["OwnerId"]),
        SalesforceMatch(
            "Contact",
            bob["Id"],
            "Bob@Y.com",
            hubspot_id="42",
            account_id=bob["AccountId"],
            owner_id=bob["OwnerId"],
        ),
    ]
    assert calls(server) == [("POST", f"{API}/composite", 200)]


def test_current_leads_one_query(server: SandboxServer) -> None:
    """The Leads an update will touch are read by Id in one query, with their change time as
    an aware datetime; an Id that no longer exists is simply absent."""
    gateway = SalesforceGateway.connect(settings_for(server))
    server.sandbox.journal.clear()
    org = server.sandbox.org
    ada = next(r for r in org.records["Lead"].values() if r["LastName"] == "Lovelace")

    gone = to18("00QKb0000009999")  # a well-formed Lead Id no record has

    leads = gateway.current_leads([ada["Id"], gone], ["Email", "Title"])

    assert list(leads) == [ada["Id"]]
    lead = leads[ada["Id"]]
    assert (lead["Email"], lead["Title"]) == ("ada@x.com", None)
    assert lead["LastModifiedDate"].utcoffset() == timedelta(0)
    assert abs(lead["LastModifiedDate"] - datetime.now(UTC)) < timedelta(minutes=5)
    assert [(m, p.split("?")[0], s) for m, p, s in calls(server)] == [("GET", f"{API}/query/", 200)]


def test_upsert_250_leads(server: SandboxServer) -> None:
    """250 upserts land in two collections calls; the one without LastName fails alone with
    REQUIRED_FIELD_MISSING; assignment rules stay out (the integration user owns them)."""
    gateway = SalesforceGateway.connect(settings_for(server))
    server.sandbox.journal.clear()
    upserts = [
        LeadUpsert(str(5000 + i), {"LastName": f"Lead {i}", "Company": "Acme"}) for i in range(250)
    ]
    upserts[123] = LeadUpsert("5123", {"Company": "Acme"})

    results = gateway.upsert_leads(upserts)

    assert calls(server) == [
        ("PATCH", f"{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c", 200),
        ("PATCH", f"{API}/composite/sobjects/Lead/HubSpot_Contact_Id__c", 200),
    ]
    failed = [r for r in results if not r.success]
    assert failed == [
        WriteResult(
            "5123",
            success=False,
            errors=(
                FieldError(
                    "REQUIRED_FIELD_MISSING",
                    failed[0].errors[0].message,
                    ("LastName",),
                ),
            ),
        )
    ]
    assert [r.hubspot_id for r in results] == [u.hubspot_id for u in upserts]
    assert all(r.created and r.salesforce_id for r in results if r.success)
    org = server.sandbox.org
    landed = {
        r["HubSpot_Contact_Id__c"]: r
        for r in org.records["Lead"].values()
        if r.get("HubSpot_Contact_Id__c")
    }
    assert len(landed) == 249
    integration = org.user_by_username("integration@sandbox.local")["Id"]
    assert {r["OwnerId"] for r in landed.values()} == {integration}

    again = gateway.upsert_leads(upserts[:2])
    assert [(r.success, r.created) for r in again] == [(True, False), (True, False)]


def test_fault_injected_503_retried(server: SandboxServer) -> None:
    """A 503 with Retry-After: 1 is waited out (injected sleep) and the write goes through."""
    sleeps: list[float] = []
    gateway = SalesforceGateway.connect(settings_for(server), sleep=sleeps.append)
    server.sandbox.journal.clear()
    server.sandbox.inject_fault(
        Fault(
            path_prefix=f"{API}/composite/sobjects",
            status=503,
            body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}],
            headers={"Retry-After": "1"},
            times=1,
        )
    )

    with capture_logs() as logs:
        results = gateway.upsert_leads([LeadUpsert("9001", {"LastName": "Late", "Company": "C"})])

    assert sleeps == [1.0]
    assert [e["event"] for e in logs].count("api.retry") == 1
    assert [status for _, _, status in calls(server)] == [503, 200]
    assert results[0].success and results[0].created


def test_expired_session_logs_in_again(server: SandboxServer) -> None:
    """When the sandbox revokes every token, the gateway logs in again once and carries on."""
    gateway = SalesforceGateway.connect(settings_for(server))
    server.sandbox.journal.clear()
    server.sandbox.org.sessions.clear()

    assert len(gateway.query("SELECT Id FROM Lead")) == 3

    assert calls(server) == [
        ("GET", f"{API}/query/", 401),
        ("POST", "/services/oauth2/token", 200),
        ("GET", f"{API}/query/", 200),
    ]
