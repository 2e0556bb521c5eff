"""The one `Settings` of leadbridge: environment variables prefixed `LEADBRIDGE_`, or `.env`.

`.env.example` lists and explains every setting. Secrets are `SecretStr`, so they never show in a
repr, a log line or an error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything leadbridge reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="LEADBRIDGE_", env_file=".env", extra="ignore")

    # Salesforce: JWT bearer for the deployed service, username-password for trials.
    salesforce_auth: Literal["jwt", "password"] = "jwt"
    salesforce_login_url: AnyHttpUrl = AnyHttpUrl("https://login.salesforce.com")
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_consumer_key: str | None = None
    salesforce_consumer_secret: SecretStr | None = None
    salesforce_private_key_file: Path | None = None
    salesforce_api_version: str = "59.0"
    salesforce_ca_bundle: Path | None = None

    # HubSpot: a private app's access token.
    hubspot_base_url: AnyHttpUrl = AnyHttpUrl("https://api.hubapi.com")
    hubspot_access_token: SecretStr | None = None
    hubspot_ca_bundle: Path | None = None
    hubspot_webhook_secret: SecretStr | None = None

    database_url: str = "sqlite:///leadbridge.db"
    mappings_dir: Path = Path("mappings")
    log_format: Literal["auto", "json", "console"] = "auto"
