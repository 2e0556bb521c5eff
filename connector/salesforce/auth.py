"""Logging in to Salesforce through its OAuth token endpoint (username-password or JWT bearer).

simple-salesforce's own login talks only to `*.salesforce.com` and hides which setting is wrong,
so leadbridge logs in itself and hands the token to the client. Every failure a person must fix
becomes one `ConfigError` line naming the setting to check, never a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
import requests
import structlog
from pydantic import SecretStr

from connector.errors import ConfigError, LeadbridgeError, RetriableApiError
from connector.salesforce.classify import classify
from connector.settings import env_name
from connector.unreachable import connection_error
from connector.urls import origin, shown_url

if TYPE_CHECKING:
    from connector.settings import Settings

log = structlog.get_logger(__name__)

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a password
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce accepts a JWT assertion for at most 3 minutes.
JWT_LIFETIME_S = 180


@dataclass(frozen=True)
class Login:
    """A session: the access token (a secret), the instance to call with it, and the id of the
    user it acts as (from the identity URL `.../id/ORG/USER`; None when absent)."""

    access_token: SecretStr
    instance_url: str
    user_id: str | None = None


def token_url(settings: Settings) -> str:
    return str(settings.salesforce_login_url).rstrip("/") + TOKEN_PATH


def _checks(*fields: str) -> str:
    return " and ".join(env_name(f) for f in fields)


def _require(settings: Settings, *fields: str) -> None:
    missing = [f for f in fields if not getattr(settings, f)]
    if missing:
        msg = (
            f"Salesforce login ({settings.salesforce_auth}) needs {_checks(*missing)}; "
            "set it in the environment or .env"
        )
        raise ConfigError(msg)


def _password_form(settings: Settings) -> dict[str, str]:
    _require(
        settings,
        "salesforce_username",
        "salesforce_password",
        "salesforce_consumer_key",
        "salesforce_consumer_secret",
    )
    assert settings.salesforce_password is not None
    assert settings.salesforce_consumer_secret is not None
    token = settings.salesforce_security_token
    return {
        "grant_type": "password",
        "client_id": str(settings.salesforce_consumer_key),
        "client_secret": settings.salesforce_consumer_secret.get_secret_value(),
        "username": str(settings.salesforce_username),
        "password": settings.salesforce_password.get_secret_value()
        + (token.get_secret_value() if token else ""),
    }


def jwt_assertion(settings: Settings, *, now: Callable[[], float] = time.time) -> str:
    """The signed RS256 assertion: iss the consumer key, sub the user, aud the login origin."""
    _require(
        settings, "salesforce_username", "salesforce_consumer_key", "salesforce_private_key_file"
    )
    key_file = settings.salesforce_private_key_file
    assert key_file is not None
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        msg = (
            f"cannot read the JWT private key {key_file} ({exc.strerror or exc}); "
            f"check {env_name('salesforce_private_key_file')}"
        )
        raise ConfigError(msg) from None
    claims = {
        "iss": settings.salesforce_consumer_key,
        "sub": settings.salesforce_username,
        "aud": origin(settings.salesforce_login_url),
        "exp": int(now()) + JWT_LIFETIME_S,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        msg = (
            f"{key_file} is not an RSA private key in PEM form; "
            f"check {env_name('salesforce_private_key_file')}"
        )
        raise ConfigError(msg) from None


def _jwt_form(settings: Settings, now: Callable[[], float]) -> dict[str, str]:
    return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings, now=now)}


def _settings_to_check(grant: str, error: str, description: str) -> tuple[str, ...]:
    """Which settings an OAuth error points at."""
    if error == "invalid_client_id":
        return ("salesforce_consumer_key",)
    if error == "invalid_client":
        return ("salesforce_consumer_key", "salesforce_consumer_secret")
    if error == "unsupported_grant_type":
        return ("salesforce_auth",)
    text = description.lower()
    if "inactive" in text or "approved" in text:
        return ("salesforce_username",)
    if "audience" in text:
        return ("salesforce_login_url",)
    if grant == "password":
        return ("salesforce_password", "salesforce_security_token")
    return ("salesforce_private_key_file", "salesforce_consumer_key")


def _no_answer(settings: Settings, exc: requests.RequestException) -> LeadbridgeError:
    """The error for a token request that got no answer: a setting's fault (unknown host,
    refused connection, untrusted certificate) or `Unreachable`, retried like a 503."""
    return connection_error(
        exc,
        remote="Salesforce",
        what="login",
        url=str(settings.salesforce_login_url).rstrip("/"),
        url_setting=env_name("salesforce_login_url"),
        ca_setting=env_name("salesforce_ca_bundle"),
        first_contact=True,
    )


def check_ca_bundle(settings: Settings) -> None:
    """Fail early, naming the setting, when the configured CA bundle is not a readable file."""
    bundle = settings.salesforce_ca_bundle
    if bundle is not None and not bundle.is_file():
        msg = f"the CA bundle {bundle} does not exist; check {env_name('salesforce_ca_bundle')}"
        raise ConfigError(msg)


def login(
    settings: Settings, session: requests.Session, *, now: Callable[[], float] = time.time
) -> Login:
    """Log in with the grant `settings.salesforce_auth` names; the token and instance URL.

    Raises ConfigError for anything a person must fix; RetriableApiError for what may pass
    (429 or 5xx, classified as every Salesforce answer is; `Unreachable` for a timeout or a
    reset connection), which the caller's retry policy tries again.
    """
    check_ca_bundle(settings)
    grant = settings.salesforce_auth
    form = _password_form(settings) if grant == "password" else _jwt_form(settings, now)
    url = token_url(settings)
    try:
        response = session.post(url, data=form, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise _no_answer(settings, exc) from None
    user = settings.salesforce_username
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        resolution = classify(response.status_code, body, response.headers)
        if resolution.action == "retry":
            msg = (
                f"Salesforce login for {user} answered HTTP {response.status_code}; try again later"
            )
            raise RetriableApiError(
                msg,
                status=response.status_code,
                code=resolution.code,
                retry_after=resolution.retry_after,
            )
    if response.status_code != 200 or not isinstance(body, dict):
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        if error:
            what = f"{error}: {description}" if description else error
            checks = _settings_to_check(grant, error, description)
        else:
            what = f"HTTP {response.status_code} from {shown_url(url)}"
            checks = ("salesforce_login_url",)
        msg = f"Salesforce login failed for {user} ({what}); check {_checks(*checks)}"
        raise ConfigError(msg)
    token, instance_url = body.get("access_token"), body.get("instance_url")
    if not isinstance(token, str) or not token or not isinstance(instance_url, str):
        msg = (
            f"Salesforce login for {user} answered without an access token or instance URL; "
            f"check {env_name('salesforce_login_url')}"
        )
        raise ConfigError(msg)
    if settings.salesforce_instance_url is not None:  # e.g. behind a proxy or private link
        instance_url = str(settings.salesforce_instance_url).rstrip("/")
    log.info("salesforce.login", grant=grant, instance_url=shown_url(instance_url))
    identity = body.get("id")
    user_id = str(identity).rstrip("/").rpartition("/")[2] if identity else None
    return Login(access_token=SecretStr(token), instance_url=instance_url, user_id=user_id or None)
