"""`POST /services/oauth2/token`: the username-password and JWT bearer grants, and session checks.

Answers follow Salesforce's OAuth endpoint: 200 with `access_token`, `instance_url`, `id`,
`token_type`, `issued_at`, `signature`; 400 with `{"error", "error_description"}` on failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response
from connector.sandbox.salesforce.org import ORG_ID

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def routes() -> list[tuple[str, list[str], Handler]]:
    return [("/services/oauth2/token", ["POST"], token)]


def token(sb: Sandbox, request: Request) -> Response:
    """Issue an access token for the password or JWT bearer grant."""
    grant = request.form.get("grant_type")
    if grant == "password":
        return _password_grant(sb, request)
    if grant == JWT_GRANT:
        return _jwt_grant(sb, request)
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _password_grant(sb: Sandbox, request: Request) -> Response:
    form = request.form
    if form.get("client_id") != sb.config.sf_consumer_key:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(form.get("client_secret", ""), sb.config.sf_consumer_secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    username = form.get("username", "")
    expected = sb.org.passwords.get(username.lower())
    if expected is None or not hmac.compare_digest(form.get("password", ""), expected):
        return _oauth_error("invalid_grant", "authentication failure")
    user = sb.org.user_by_username(username)
    if not user.get("IsActive"):
        return _oauth_error("invalid_grant", "inactive user")
    body = _issue(sb, user["Id"])
    body["signature"] = _signature(sb, body)
    return json_response(body)


def _jwt_grant(sb: Sandbox, request: Request) -> Response:
    assertion = request.form.get("assertion", "")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != sb.config.sf_consumer_key:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    cert_file = sb.config.sf_jwt_cert_file
    if cert_file is None:
        return _oauth_error("invalid_grant", "invalid assertion")
    public_key = x509.load_pem_x509_certificate(cert_file.read_bytes()).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):  # RS256 verifies with an RSA key only
        return _oauth_error("invalid_grant", "invalid assertion")
    audiences = [*_AUDIENCES, sb.config.base_url]
    try:
        claims = jwt.decode(
            assertion,
            public_key,
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        return _oauth_error("invalid_grant", "expired authorization code")
    except jwt.InvalidAudienceError:
        return _oauth_error("invalid_grant", "audience is invalid")
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    if claims["exp"] > time.time() + 300:  # Salesforce allows at most 3 minutes (+ skew)
        return _oauth_error("invalid_grant", "invalid assertion")
    try:
        user = sb.org.user_by_username(str(claims["sub"]))
    except KeyError:
        return _oauth_error("invalid_grant", "user hasn't approved this consumer")
    if not user.get("IsActive"):
        return _oauth_error("invalid_grant", "inactive user")
    body = _issue(sb, user["Id"])
    body["scope"] = "api"
    return json_response(body)


def _issue(sb: Sandbox, user_id: str) -> dict[str, Any]:
    access_token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
    sb.org.sessions[access_token] = user_id
    return {
        "access_token": access_token,
        "instance_url": sb.config.base_url,
        "id": f"{sb.config.base_url}/id/{ORG_ID}/{user_id}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
    }


def _signature(sb: Sandbox, body: dict[str, Any]) -> str:
    mac = hmac.new(
        sb.config.sf_consumer_secret.encode(),
        (body["id"] + body["issued_at"]).encode(),
        hashlib.sha256,
    )
    return base64.b64encode(mac.digest()).decode()


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def session_user(sb: Sandbox, request: Request) -> str | None:
    """The user id behind the request's `Authorization: Bearer` (or `OAuth`) token, if valid."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not value:
        return None
    return sb.org.sessions.get(value.strip())


def invalid_session() -> Response:
    """The REST API's answer to a missing, expired or revoked token."""
    return json_response(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        401,
        {"WWW-Authenticate": "Token"},
    )
