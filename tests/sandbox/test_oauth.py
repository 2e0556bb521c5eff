"""The sandbox's OAuth endpoint answers like Salesforce's, for both grants."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.conftest import sf_client, sf_token


def _post(server, **data):
    return requests.post(
        f"{server.url}/services/oauth2/token", data=data, verify=str(server.ca_file), timeout=10
    )


def test_password_grant_returns_documented_token_shape(sandbox):
    """A correct login answers with every key of Salesforce's token response."""
    server = sandbox()
    body = sf_token(server)
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == server.url
    assert body["issued_at"].isdigit()


@pytest.mark.parametrize(
    ("field", "value", "error", "description"),
    [
        ("password", "wrong", "invalid_grant", "authentication failure"),
        ("username", "nobody@example.com", "invalid_grant", "authentication failure"),
        ("client_id", "other-app", "invalid_client_id", "client identifier invalid"),
        ("client_secret", "guess", "invalid_client", "invalid client credentials"),
    ],
)
def test_wrong_credentials_get_salesforce_400s(sandbox, field, value, error, description):
    """Each wrong credential answers 400 with Salesforce's error and description."""
    server = sandbox()
    config = server.sandbox.config
    data = {
        "grant_type": "password",
        "client_id": config.sf_consumer_key,
        "client_secret": config.sf_consumer_secret,
        "username": "integration@sandbox.local",
        "password": "sandbox",
        field: value,
    }
    response = _post(server, **data)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_seeded_user_logs_in_and_writes_as_themselves(sandbox):
    """A seeded sales rep can log in with the sandbox password; their writes carry their id."""
    server = sandbox(
        {
            "salesforce": {
                "User": [
                    {
                        "Id": "@rep",
                        "Username": "rep@acme.test",
                        "LastName": "Rep",
                        "Email": "rep@acme.test",
                    }
                ]
            }
        }
    )
    sf = sf_client(server, "rep@acme.test")
    rep_id = server.sandbox.org.user_by_username("rep@acme.test")["Id"]
    created = sf.Account.create({"Name": "Rep's Account"})
    record = sf.Account.get(created["id"])
    assert record["CreatedById"] == rep_id
    assert record["OwnerId"] == rep_id


def test_jwt_bearer_grant_with_the_sandbox_key(sandbox):
    """A JWT signed with DIR/jwt-private.pem for a known user gets a working token."""
    server = sandbox()
    key = server.tls.jwt_private_key.read_bytes()
    assertion = jwt.encode(
        {
            "iss": server.sandbox.config.sf_consumer_key,
            "sub": "integration@sandbox.local",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
        },
        key,
        algorithm="RS256",
    )
    response = _post(
        server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_jwt_signed_with_another_key_is_refused(sandbox):
    """A JWT not signed by the connected app's key answers invalid_grant."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    server = sandbox()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = jwt.encode(
        {
            "iss": server.sandbox.config.sf_consumer_key,
            "sub": "integration@sandbox.local",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
        },
        other,
        algorithm="RS256",
    )
    response = _post(
        server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_expired_sessions_answer_invalid_session_id(sandbox):
    """After the sandbox expires sessions, REST answers 401 INVALID_SESSION_ID."""
    server = sandbox()
    token = sf_token(server)["access_token"]
    requests.post(f"{server.url}/_sandbox/expire-sessions", verify=str(server.ca_file), timeout=10)
    response = requests.get(
        f"{server.url}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {token}"},
        verify=str(server.ca_file),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_jwt_against_a_certificate_without_an_rsa_key_is_refused(sandbox, tmp_path):
    """A connected app whose certificate holds an EC key refuses an RS256 assertion with
    invalid_grant, as Salesforce does, instead of failing with a 500."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from connector.sandbox.tls import connected_app_cert

    server = sandbox()
    cert = connected_app_cert(ec.generate_private_key(ec.SECP256R1()))
    cert_file = tmp_path / "ec-cert.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    server.sandbox.config.sf_jwt_cert_file = cert_file
    assertion = jwt.encode(
        {
            "iss": server.sandbox.config.sf_consumer_key,
            "sub": "integration@sandbox.local",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
        },
        server.tls.jwt_private_key.read_bytes(),
        algorithm="RS256",
    )
    response = _post(
        server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
