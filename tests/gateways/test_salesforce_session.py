"""The Salesforce HTTP session: a timeout on every call, the configured CA bundle beats the
environment's, and API usage is read off every response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from connector.salesforce.session import SalesforceSession, build_session, parse_api_usage
from tests.gateways.test_salesforce_gateway import make_settings

URL = "https://sf.test/services/data/v59.0/limits/"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_default_timeout_on_every_request(http: responses.RequestsMock) -> None:
    """Every request gets the configured timeout unless the caller passes its own."""
    http.add(responses.GET, URL, json={})
    session = build_session(make_settings(salesforce_timeout_seconds=12.5))

    session.get(URL)
    session.get(URL, timeout=3)
    session.request("GET", URL, timeout=None)

    assert [c.request.req_kwargs["timeout"] for c in http.calls] == [12.5, 3, 12.5]


def test_configured_bundle_beats_environment(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE cannot replace the configured CA bundle
    (psf/requests#3829), while proxies still come from the environment."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read by the double")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    http.add(responses.GET, URL, json={})

    SalesforceSession(ca_bundle=bundle).get(URL)

    kwargs = http.calls[0].request.req_kwargs
    assert kwargs["verify"] == str(bundle)
    assert kwargs["proxies"].get("https") == "http://proxy.test:3128"


def test_without_bundle_environment_applies(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no bundle configured, requests' usual environment handling is untouched."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/ca.pem")
    http.add(responses.GET, URL, json={})

    SalesforceSession().get(URL)

    assert http.calls[0].request.req_kwargs["verify"] == "/env/ca.pem"


def test_explicit_verify_false_is_respected(http: responses.RequestsMock, tmp_path: Path) -> None:
    """A caller's explicit `verify=` for one request is not overridden."""
    http.add(responses.GET, URL, json={})

    SalesforceSession(ca_bundle=tmp_path / "ca.pem").get(URL, verify=False)

    assert http.calls[0].request.req_kwargs["verify"] is False


def test_api_usage_read_from_every_response(http: responses.RequestsMock) -> None:
    """api_usage follows Sforce-Limit-Info, error responses included; other headers keep it."""
    http.add(responses.GET, URL, json={}, headers={"Sforce-Limit-Info": "api-usage=10/15000"})
    http.add(responses.GET, URL, status=503, headers={"Sforce-Limit-Info": "api-usage=11/15000"})
    http.add(responses.GET, URL, json={})
    session = SalesforceSession()
    assert session.api_usage is None

    session.get(URL)
    assert session.api_usage == (10, 15000)
    session.get(URL)
    assert session.api_usage == (11, 15000)
    session.get(URL)
    assert session.api_usage == (11, 15000)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=25/15000", (25, 15000)),
        ("api-usage=25/15000, per-app-api-usage=17/250(appName=sample)", (25, 15000)),
        ("per-app-api-usage=17/250(appName=sample), api-usage=3/100", (3, 100)),
        ("per-app-api-usage=17/250(appName=sample)", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_api_usage(header: str | None, expected: tuple[int, int] | None) -> None:
    """Only the org's api-usage counts; the per-app figure is not the daily budget."""
    assert parse_api_usage(header) == expected
