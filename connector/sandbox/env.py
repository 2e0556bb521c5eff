"""The `export LEADBRIDGE_...` lines that point the connector at a running sandbox."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from simple_salesforce import Salesforce

from connector.sandbox.app import SandboxConfig
from connector.sandbox.server import HOST
from connector.sandbox.tls import TlsFiles
from connector.settings import Settings, load_settings

if TYPE_CHECKING:
    from connector.sandbox.server import SandboxServer


def sandbox_env(
    port: int, tls_dir: str | Path, config: SandboxConfig | None = None, *, auth: str = "password"
) -> dict[str, str]:
    """Settings (as environment variables) for a sandbox on `port` with its files in `tls_dir`."""
    config = config or SandboxConfig()
    files = TlsFiles(Path(tls_dir).resolve())
    url = f"https://{HOST}:{port}"
    return {
        "LEADBRIDGE_SALESFORCE_AUTH": auth,
        "LEADBRIDGE_SALESFORCE_LOGIN_URL": url,
        "LEADBRIDGE_SALESFORCE_USERNAME": config.sf_integration_username,
        "LEADBRIDGE_SALESFORCE_PASSWORD": config.sf_password,
        "LEADBRIDGE_SALESFORCE_CONSUMER_KEY": config.sf_consumer_key,
        "LEADBRIDGE_SALESFORCE_CONSUMER_SECRET": config.sf_consumer_secret,
        "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE": str(files.jwt_private_key),
        "LEADBRIDGE_SALESFORCE_CA_BUNDLE": str(files.ca),
        "LEADBRIDGE_HUBSPOT_BASE_URL": url,
        "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN": config.hubspot_token,
        "LEADBRIDGE_HUBSPOT_CA_BUNDLE": str(files.ca),
    }


def export_lines(env: dict[str, str]) -> str:
    """`export K=V` lines, shell-quoted, for `eval "$(leadbridge sandbox env ...)"`."""
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


def sandbox_settings(
    server: SandboxServer, *, auth: str = "password", **overrides: Any
) -> Settings:
    """Settings for a running sandbox: what `sandbox_env` exports, as the connector reads it
    (no `.env` file), with `overrides` (a state database, a mappings folder, ...)."""
    env = sandbox_env(server.port, server.tls.directory, server.sandbox.config, auth=auth)
    values: dict[str, Any] = {k.removeprefix("LEADBRIDGE_").lower(): v for k, v in env.items()}
    return load_settings(_env_file=None, **{**values, **overrides})


def sandbox_login(
    server: SandboxServer, username: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """Log in to a running sandbox through its OAuth password grant (as `username`, the
    integration user by default); the token response (`access_token`, `instance_url`, …)."""
    config = server.sandbox.config
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the sandbox's CA
    response = session.post(
        f"{server.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": config.sf_consumer_key,
            "client_secret": config.sf_consumer_secret,
            "username": username or config.sf_integration_username,
            "password": password or config.sf_password,
        },
        verify=str(server.ca_file),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def sandbox_salesforce(
    server: SandboxServer, username: str | None = None, *, version: str = "59.0"
) -> Salesforce:
    """An unmodified simple-salesforce client logged in to a running sandbox as `username`
    (the integration user by default): what a person's script, a test or a benchmark uses."""
    token = sandbox_login(server, username)
    session = requests.Session()
    session.verify = str(server.ca_file)
    # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify (psf/requests#3829)
    session.trust_env = False
    return Salesforce(
        session_id=token["access_token"],
        instance_url=token["instance_url"],
        version=version,
        session=session,
    )
