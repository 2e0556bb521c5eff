"""The `export LEADBRIDGE_...` lines that point the connector at a running sandbox."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
