"""Salesforce login: the exact token requests, and one clear ConfigError line per mistake."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from structlog.testing import capture_logs

from connector.errors import ConfigError, RetriableApiError
from connector.salesforce import auth
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.session import SalesforceSession
from tests.gateways.test_salesforce_gateway import TOKEN_URL, make_settings

SECRETS = ("pw-secret", "tok-secret", "cs-secret")
NOW = 1_800_000_000.0


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "jwt-private.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def jwt_settings(key_file: Path, **overrides: Any) -> Any:
    return make_settings(salesforce_auth="jwt", salesforce_private_key_file=key_file, **overrides)


def form_of(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_password_grant_request(http: responses.RequestsMock) -> None:
    """The password grant posts client id/secret, the user, and password + security token."""
    http.add(
        responses.POST, TOKEN_URL, json={"access_token": "T", "instance_url": "https://sf.test"}
    )

    login = auth.login(make_settings(), SalesforceSession())

    (call,) = http.calls
    assert call.request.url == TOKEN_URL
    assert form_of(call) == {
        "grant_type": "password",
        "client_id": "ck",
        "client_secret": "cs-secret",
        "username": "integration@x.test",
        "password": "pw-secrettok-secret",
    }
    assert login.instance_url == "https://sf.test"
    assert login.access_token.get_secret_value() == "T"
    assert "T" not in repr(login.access_token)


def test_configured_instance_url_wins_over_the_logins(http: responses.RequestsMock) -> None:
    """LEADBRIDGE_SALESFORCE_INSTANCE_URL, when set, is the REST host the gateway calls."""
    http.add(
        responses.POST, TOKEN_URL, json={"access_token": "T", "instance_url": "https://sf.test"}
    )

    login = auth.login(
        make_settings(salesforce_instance_url="https://proxy.sf.test/"), SalesforceSession()
    )

    assert login.instance_url == "https://proxy.sf.test"


def test_password_without_security_token(http: responses.RequestsMock) -> None:
    """Without a security token (trusted IP ranges) the password is sent alone."""
    http.add(
        responses.POST, TOKEN_URL, json={"access_token": "T", "instance_url": "https://sf.test"}
    )

    auth.login(make_settings(salesforce_security_token=None), SalesforceSession())

    assert form_of(http.calls[0])["password"] == "pw-secret"


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.test", "https://login.test"),
        ("https://test.salesforce.com/", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ],
)
def test_jwt_grant_request(
    http: responses.RequestsMock,
    key_file: Path,
    rsa_key: rsa.RSAPrivateKey,
    login_url: str,
    audience: str,
) -> None:
    """The JWT bearer grant posts an RS256 assertion: iss consumer key, sub user, aud the login
    URL's origin, exp three minutes ahead."""
    http.add(
        responses.POST,
        login_url.rstrip("/") + "/services/oauth2/token",
        json={"access_token": "T", "instance_url": "https://sf.test"},
    )

    auth.login(
        jwt_settings(key_file, salesforce_login_url=login_url), SalesforceSession(), now=lambda: NOW
    )

    form = form_of(http.calls[0])
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert jwt.get_unverified_header(form["assertion"])["alg"] == "RS256"
    claims = jwt.decode(
        form["assertion"],
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience=audience,
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "ck",
        "sub": "integration@x.test",
        "aud": audience,
        "exp": int(NOW) + 180,
    }


@pytest.mark.parametrize(
    ("grant", "error", "description", "check"),
    [
        (
            "password",
            "invalid_grant",
            "authentication failure",
            "LEADBRIDGE_SALESFORCE_PASSWORD and LEADBRIDGE_SALESFORCE_SECURITY_TOKEN",
        ),
        (
            "password",
            "invalid_client_id",
            "client identifier invalid",
            "LEADBRIDGE_SALESFORCE_CONSUMER_KEY",
        ),
        (
            "password",
            "invalid_client",
            "invalid client credentials",
            "LEADBRIDGE_SALESFORCE_CONSUMER_KEY and LEADBRIDGE_SALESFORCE_CONSUMER_SECRET",
        ),
        ("password", "invalid_grant", "inactive user", "LEADBRIDGE_SALESFORCE_USERNAME"),
        (
            "jwt",
            "invalid_grant",
            "invalid assertion",
            "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE and LEADBRIDGE_SALESFORCE_CONSUMER_KEY",
        ),
        ("jwt", "invalid_grant", "audience is invalid", "LEADBRIDGE_SALESFORCE_LOGIN_URL"),
        (
            "jwt",
            "invalid_grant",
            "user hasn't approved this consumer",
            "LEADBRIDGE_SALESFORCE_USERNAME",
        ),
        (
            "jwt",
            "invalid_client_id",
            "client identifier invalid",
            "LEADBRIDGE_SALESFORCE_CONSUMER_KEY",
        ),
    ],
)
def test_oauth_errors_name_the_setting(
    http: responses.RequestsMock,
    key_file: Path,
    grant: str,
    error: str,
    description: str,
    check: str,
) -> None:
    """Each OAuth refusal becomes one line naming the user, Salesforce's words and what to check."""
    http.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": error, "error_description": description},
    )
    settings = make_settings() if grant == "password" else jwt_settings(key_file)

    with pytest.raises(ConfigError) as info:
        auth.login(settings, SalesforceSession())

    assert str(info.value) == (
        f"Salesforce login failed for integration@x.test ({error}: {description}); check {check}"
    )
    assert not any(secret in str(info.value) for secret in SECRETS)


def test_not_a_token_endpoint(http: responses.RequestsMock) -> None:
    """An HTML 404 (wrong login URL) names the URL setting."""
    http.add(responses.POST, TOKEN_URL, status=404, body="<html>nope</html>")

    with pytest.raises(ConfigError) as info:
        auth.login(make_settings(), SalesforceSession())

    assert str(info.value) == (
        "Salesforce login failed for integration@x.test (HTTP 404 from "
        "https://login.test/services/oauth2/token); check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )


def test_tls_failure_names_ca_bundle(http: responses.RequestsMock) -> None:
    """A TLS failure at login names LEADBRIDGE_SALESFORCE_CA_BUNDLE."""
    http.add(responses.POST, TOKEN_URL, body=requests.exceptions.SSLError("bad handshake"))

    with pytest.raises(ConfigError) as info:
        auth.login(make_settings(), SalesforceSession())

    assert str(info.value) == (
        "TLS with Salesforce at https://login.test failed (TLS handshake failed); "
        "check LEADBRIDGE_SALESFORCE_CA_BUNDLE"
    )


def test_unreadable_or_bad_key(key_file: Path) -> None:
    """A JWT key that vanished or is not an RSA key is named, not sent."""
    settings = jwt_settings(key_file)
    key_file.write_text(
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(
        ConfigError,
        match="is not an RSA private key in PEM form; check LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE",
    ):
        auth.login(settings, SalesforceSession())
    key_file.unlink()
    with pytest.raises(
        ConfigError,
        match=r"cannot read the JWT private key .*check LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE",
    ):
        auth.login(settings, SalesforceSession())


def test_missing_ca_bundle_named(tmp_path: Path) -> None:
    """A CA bundle that disappeared after start is named before any request is made."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    settings = make_settings(salesforce_ca_bundle=bundle)
    bundle.unlink()

    with pytest.raises(ConfigError) as info:
        auth.login(settings, SalesforceSession())

    assert (
        str(info.value)
        == f"the CA bundle {bundle} does not exist; check LEADBRIDGE_SALESFORCE_CA_BUNDLE"
    )


def test_missing_credentials_named() -> None:
    """Settings built without validation still get a clear error naming what is missing."""
    settings = make_settings().model_copy(update={"salesforce_password": None})

    with pytest.raises(ConfigError) as info:
        auth.login(settings, SalesforceSession())

    assert str(info.value) == (
        "Salesforce login (password) needs LEADBRIDGE_SALESFORCE_PASSWORD; "
        "set it in the environment or .env"
    )


def test_busy_token_endpoint_is_retriable(http: responses.RequestsMock) -> None:
    """A 503 from the token endpoint is transient, not a configuration mistake."""
    http.add(responses.POST, TOKEN_URL, status=503, headers={"Retry-After": "2"})

    with pytest.raises(RetriableApiError) as info:
        auth.login(make_settings(), SalesforceSession())

    assert (info.value.status, info.value.retry_after) == (503, 2.0)


def test_connect_retries_login_and_builds_client(http: responses.RequestsMock) -> None:
    """connect() logs in (retrying a busy token endpoint) and calls the instance with the token,
    through a session with the configured timeout."""
    sleeps: list[float] = []
    http.add(responses.POST, TOKEN_URL, status=503, headers={"Retry-After": "2"})
    http.add(
        responses.POST, TOKEN_URL, json={"access_token": "T1", "instance_url": "https://sf.test"}
    )
    http.add(
        responses.GET,
        "https://sf.test/services/data/v58.0/query/",
        json={"totalSize": 0, "done": True, "records": []},
    )

    gateway = SalesforceGateway.connect(
        make_settings(salesforce_api_version="58.0", salesforce_timeout_seconds=7),
        sleep=sleeps.append,
    )
    assert gateway.query("SELECT Id FROM Lead") == []

    assert sleeps == [2.0]
    query = http.calls[2].request
    assert query.headers["Authorization"] == "Bearer T1"
    assert query.req_kwargs["timeout"] == 7


def test_constructor_does_no_io(http: responses.RequestsMock) -> None:
    """Building a gateway from a client sends nothing (the double would see it)."""
    client = Salesforce(session_id="x", instance_url="https://sf.test", session=SalesforceSession())
    SalesforceGateway(client, make_settings())
    assert len(http.calls) == 0


# -- what may pass is retried; what a setting causes is named ---------------------------------

PASSWORD_FORM = {
    "grant_type": "password",
    "client_id": "ck",
    "client_secret": "cs-secret",
    "username": "integration@x.test",
    "password": "pw-secrettok-secret",
}
TOKEN = {"access_token": "T1", "instance_url": "https://sf.test"}


def retry_events(logs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["remote"], e["attempt"], e["status"], e["code"])
        for e in logs
        if e["event"] == "api.retry"
    ]


@pytest.mark.parametrize(
    ("first", "status", "code"),
    [
        pytest.param(
            {"body": requests.exceptions.ReadTimeout("Read timed out.")}, 0, None, id="timeout"
        ),
        pytest.param(
            {
                "body": requests.ConnectionError(
                    ConnectionResetError(104, "Connection reset by peer")
                )
            },
            0,
            None,
            id="reset",
        ),
        pytest.param({"status": 503, "body": "<html>down</html>"}, 503, None, id="503"),
        pytest.param(
            {"status": 500, "json": {"error": "server_error", "error_description": "try later"}},
            500,
            "server_error",
            id="500",
        ),
    ],
)
def test_a_transient_login_failure_is_retried_by_the_shared_policy(
    http: responses.RequestsMock, first: dict[str, Any], status: int, code: str | None
) -> None:
    """A login that times out, is reset or answers 5xx is sent again, the same form to the same
    URL, after one back-off and one `api.retry` event, as any API call would be."""
    sleeps: list[float] = []
    http.add(responses.POST, TOKEN_URL, **first)
    http.add(responses.POST, TOKEN_URL, json=TOKEN)

    with capture_logs() as logs:
        gateway = SalesforceGateway.connect(make_settings(), sleep=sleeps.append)

    assert [call.request.url for call in http.calls] == [TOKEN_URL, TOKEN_URL]
    assert [form_of(call) for call in http.calls] == [PASSWORD_FORM, PASSWORD_FORM]
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 2.0  # exponential back-off: 1 s plus up to 1 s of jitter
    assert retry_events(logs) == [("salesforce", 1, status, code)]
    assert gateway._client.base_url.startswith("https://sf.test/")


def test_login_timeouts_until_attempts_run_out_name_the_login_url(
    http: responses.RequestsMock,
) -> None:
    """A token endpoint that never answers in time: every attempt made, then one line naming the
    host, the cause, the attempts and the setting."""
    sleeps: list[float] = []
    http.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectTimeout("timed out"))

    with capture_logs() as logs, pytest.raises(ConfigError) as info:
        SalesforceGateway.connect(make_settings(salesforce_max_attempts=3), sleep=sleeps.append)

    assert str(info.value) == (
        "cannot reach Salesforce at https://login.test (timed out, after 3 attempts); "
        "check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )
    assert len(http.calls) == 3
    assert len(sleeps) == 2
    assert retry_events(logs) == [("salesforce", 1, 0, None), ("salesforce", 2, 0, None)]


def _untrusted() -> requests.exceptions.SSLError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    error.verify_message = "self-signed certificate in certificate chain"
    return requests.exceptions.SSLError(error)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            {"body": requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))},
            "cannot reach Salesforce at https://login.test (connection refused); "
            "check LEADBRIDGE_SALESFORCE_LOGIN_URL",
            id="refused",
        ),
        pytest.param(
            {"body": requests.ConnectionError(socket.gaierror(socket.EAI_NONAME, "not known"))},
            "cannot reach Salesforce at https://login.test (unknown host); "
            "check LEADBRIDGE_SALESFORCE_LOGIN_URL",
            id="unknown-host",
        ),
        pytest.param(
            {"body": _untrusted()},
            "TLS with Salesforce at https://login.test failed (certificate verify failed: "
            "self-signed certificate in certificate chain); check LEADBRIDGE_SALESFORCE_CA_BUNDLE",
            id="untrusted",
        ),
        pytest.param(
            {"status": 400, "json": {"error": "invalid_client", "error_description": "bad"}},
            "Salesforce login failed for integration@x.test (invalid_client: bad); "
            "check LEADBRIDGE_SALESFORCE_CONSUMER_KEY and LEADBRIDGE_SALESFORCE_CONSUMER_SECRET",
            id="invalid_client",
        ),
        pytest.param(
            {"status": 400, "json": {"error": "invalid_grant", "error_description": "auth"}},
            "Salesforce login failed for integration@x.test (invalid_grant: auth); "
            "check LEADBRIDGE_SALESFORCE_PASSWORD and LEADBRIDGE_SALESFORCE_SECURITY_TOKEN",
            id="invalid_grant",
        ),
    ],
)
def test_what_a_setting_causes_is_named_at_once(
    http: responses.RequestsMock, answer: dict[str, Any], message: str
) -> None:
    """No such host, a refused connection, an untrusted certificate, a refused client or
    grant: one login request, no retry, one line naming the setting to check."""
    sleeps: list[float] = []
    http.add(responses.POST, TOKEN_URL, **answer)

    with capture_logs() as logs, pytest.raises(ConfigError) as info:
        SalesforceGateway.connect(make_settings(), sleep=sleeps.append)

    assert str(info.value) == message
    assert len(http.calls) == 1
    assert sleeps == []
    assert retry_events(logs) == []


def test_a_password_in_the_login_url_never_shows(
    http: responses.RequestsMock, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    """`https://user:PW@host` as the login URL: every message and log line masks PW, and the
    JWT audience is the bare origin."""
    url = "https://user:PW-s3cret@login.test"
    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    token_url = f"{url}/services/oauth2/token"
    http.add(responses.POST, token_url, body=refused)
    http.add(responses.POST, token_url, status=404, body="<html>nope</html>")
    http.add(responses.POST, token_url, json=TOKEN)
    settings = jwt_settings(key_file, salesforce_login_url=url, salesforce_instance_url=url)

    with pytest.raises(ConfigError) as refused_info:
        auth.login(settings, SalesforceSession())
    with pytest.raises(ConfigError) as not_found_info:
        auth.login(settings, SalesforceSession())
    with capture_logs() as logs:
        auth.login(settings, SalesforceSession(), now=lambda: NOW)

    assert str(refused_info.value) == (
        "cannot reach Salesforce at https://user:***@login.test (connection refused); "
        "check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )
    assert str(not_found_info.value) == (
        "Salesforce login failed for integration@x.test (HTTP 404 from "
        "https://user:***@login.test/services/oauth2/token); check LEADBRIDGE_SALESFORCE_LOGIN_URL"
    )
    assert logs[-1]["instance_url"] == "https://user:***@login.test"
    claims = jwt.decode(
        form_of(http.calls[2])["assertion"],
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience="https://login.test",
        options={"verify_exp": False},
    )
    assert claims["aud"] == "https://login.test"
