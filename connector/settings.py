"""The one `Settings` of leadbridge: environment variables prefixed `LEADBRIDGE_`, or `.env`.

`.env.example` lists and explains every setting. Secrets are `SecretStr`, so they never show in a
repr, a log line or an error message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Self, get_args

from pydantic import (
    AnyHttpUrl,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.errors import ConfigError
from connector.urls import shown_url


class Settings(BaseSettings):
    """Everything leadbridge reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="LEADBRIDGE_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        hide_input_in_errors=True,  # a pydantic error must never print a secret
    )

    # Salesforce: JWT bearer for the deployed service, username-password for trials.
    salesforce_auth: Literal["jwt", "password"] = "jwt"
    salesforce_login_url: AnyHttpUrl = AnyHttpUrl("https://login.salesforce.com")
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_consumer_key: str | None = None
    salesforce_consumer_secret: SecretStr | None = None
    salesforce_private_key_file: Path | None = None
    # The REST host to call; by default the one the login answers with.
    salesforce_instance_url: AnyHttpUrl | None = None
    salesforce_api_version: str = "59.0"
    salesforce_ca_bundle: Path | None = None
    # Salesforce gateway tuning
    salesforce_external_id_field: str = "HubSpot_Contact_Id__c"
    salesforce_batch_size: int = Field(200, ge=1, le=200)  # records per sObject Collections call
    salesforce_timeout_seconds: float = Field(30, gt=0)
    salesforce_max_attempts: int = Field(5, ge=1)  # tries per call, the first included
    # The share of the org's daily API requests kept for people: never spent by leadbridge.
    salesforce_api_reserve_percent: float = Field(20, ge=0, lt=100)

    # HubSpot: a private app's access token.
    hubspot_base_url: AnyHttpUrl = AnyHttpUrl("https://api.hubapi.com")
    hubspot_access_token: SecretStr | None = None
    hubspot_ca_bundle: Path | None = None
    hubspot_webhook_secret: SecretStr | None = None
    # HubSpot gateway tuning
    hubspot_batch_size: int = Field(100, ge=1, le=100)  # inputs per batch read/update call
    hubspot_search_page_size: int = Field(200, ge=1, le=200)  # results per search call
    hubspot_timeout_seconds: float = Field(30, gt=0)
    hubspot_max_attempts: int = Field(5, ge=1)  # tries per call, the first included
    hubspot_requests_per_10s: int = Field(150, ge=1)  # 100 on Free/Starter, 190 on Pro/Ent.
    hubspot_searches_per_second: int = Field(4, ge=1)  # HubSpot allows 5

    database_url: str = "sqlite:///leadbridge.db"
    mappings_dir: Path = Path("mappings")
    # How late a source may show a change (HubSpot search lags writes by a few seconds): the
    # HubSpot streams read each change time once more when it is this old
    # (connector.streams.windows), the leads stream re-reads this far before its cursor.
    sync_overlap_seconds: float = Field(60, ge=0)
    # The service (`leadbridge run`): a pass every poll interval (the safety net for missed
    # webhooks); webhook events within the batch window become one run; a stop finishes the
    # batch in flight within the stop bound; forwarded headers are believed only from these
    # proxy addresses (comma-separated).
    poll_seconds: float = Field(30, gt=0)
    webhook_batch_ms: int = Field(200, ge=0, le=5000)
    stop_seconds: float = Field(20, gt=0)
    trusted_proxies: str = ""
    # The status page's admin token: with it, a dead letter can be put back from the page.
    admin_token: SecretStr | None = None
    # Alerts (connector.alerts): the period an alert is sent at most once in, the bounds of
    # each condition (0: off), how often they are checked, and where they are posted.
    alert_period_seconds: float = Field(3600, gt=0)
    alert_dead_letter_spike: int = Field(10, ge=0)
    alert_lag_seconds: float = Field(3600, ge=0)
    alert_check_seconds: float = Field(60, ge=0)
    alert_webhook_url: SecretStr | None = None
    alert_webhook_format: Literal["slack", "teams"] = "slack"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "info"
    # Mask emails, phone numbers and names in log lines (secrets are always redacted).
    log_redact_pii: bool = True
    # Where `mappings validate` caches the live schemas it checks against (default:
    # `<mappings_dir>/.schema-cache.json`); `--offline` reads it.
    mappings_schema_cache: Path | None = None
    # The server secret keying the email hash an erased person's tombstone keeps
    # (connector.state.privacy); needed to erase, and to recognise erased people by email.
    privacy_key: SecretStr | None = None

    # -- validation: every problem of one load, each naming its variable (see load_settings) --

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """`LEADBRIDGE_X=` (as `.env.example` has it) means "not set" for an optional setting."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, str) and not value.strip() and field and field.default is None:
            return None
        return value

    @field_validator("salesforce_ca_bundle", "hubspot_ca_bundle")
    @classmethod
    def _ca_bundle_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            msg = f"no such file or directory ({_shown(value)})"
            raise _problem(msg)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except (ArgumentError, ValueError, TypeError):
            text = f"not a database URL SQLAlchemy can parse ({shown_url(value)!r})"
            raise _problem(text) from None
        return value

    @field_validator("mappings_dir")
    @classmethod
    def _mappings_dir_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            what = "not a directory" if value.exists() else "no such directory"
            msg = f"{what} ({_shown(value)})"
            raise _problem(msg)
        return value

    @field_validator("privacy_key")
    @classmethod
    def _privacy_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        from connector.state.privacy import MIN_KEY_CHARS

        if value is not None and len(value.get_secret_value().strip()) < MIN_KEY_CHARS:
            msg = (
                f"at least {MIN_KEY_CHARS} characters: the email hashes it keys are only as "
                "safe as it (openssl rand -hex 32)"
            )
            raise _problem(msg)
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_is_a_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(
            r"https?://[^/\s]+", value.get_secret_value().strip()
        ):
            msg = "not an http(s) URL (its value is not shown: it is a secret)"
            raise _problem(msg)
        return value

    @field_validator("admin_token")
    @classmethod
    def _admin_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < ADMIN_TOKEN_CHARS:
            msg = f"at least {ADMIN_TOKEN_CHARS} characters (openssl rand -hex 32)"
            raise _problem(msg)
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            msg = f"must be one of {', '.join(LOG_LEVELS)} ({value!r})"
            raise _problem(msg)
        return level

    @model_validator(mode="wrap")
    @classmethod
    def _check_together(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Add the cross-field checks (what the chosen logins need) to the per-field ones.

        They run on the raw values, so one load reports a bad URL and a missing token together.
        """
        problems = _login_problems(data) if isinstance(data, dict) else []
        try:
            settings = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise _merged(cls.__name__, exc, problems) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems, hide_input=True)
        return settings

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Like pydantic's, but a URL (the database's, a login or base URL) shows `***` for
        its password."""
        for name, value in super().__repr_args__():
            if isinstance(value, str | AnyHttpUrl):
                value = shown_url(value)
            yield name, value


#: The shortest admin token the status page takes.
ADMIN_TOKEN_CHARS = 16

#: Log levels `LEADBRIDGE_LOG_LEVEL` accepts, least severe first.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

#: What each Salesforce login flow needs besides the login URL.
_LOGIN_NEEDS = {
    "jwt": ("salesforce_consumer_key", "salesforce_username", "salesforce_private_key_file"),
    "password": (
        "salesforce_consumer_key",
        "salesforce_consumer_secret",
        "salesforce_username",
        "salesforce_password",
    ),
}
_PEM_KEY = re.compile(rb"-----BEGIN (RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----")


def env_name(field: str) -> str:
    """The environment variable that sets `field` (`mappings_dir` → `LEADBRIDGE_MAPPINGS_DIR`)."""
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def load_settings(**overrides: Any) -> Settings:
    """The validated settings: the environment and `.env`, with `overrides` (by field name) on top.

    Raises `ConfigError` with one line per problem, each naming its environment variable and
    never a secret's value (`LEADBRIDGE_SALESFORCE_LOGIN_URL: not a URL ('foo')`).
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        msg = "\n".join(problem_lines(exc))
        raise ConfigError(msg) from None


class _WithoutLogins(Settings):
    """The settings of a command that calls neither API (`mappings validate --offline`): the
    same, without asking for what the logins need."""

    @model_validator(mode="wrap")
    @classmethod
    def _check_together(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        return handler(data)


def load_offline_settings(**overrides: Any) -> Settings:
    """Like `load_settings`, for a command that calls no API: no credential is required."""
    try:
        return _WithoutLogins(**overrides)
    except ValidationError as exc:
        msg = "\n".join(problem_lines(exc))
        raise ConfigError(msg) from None


def problem_lines(exc: ValidationError) -> list[str]:
    """One `VARIABLE: problem` line per setting in a validation error, in field order."""
    fields = list(Settings.model_fields)
    lines: dict[str, tuple[int, str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else ""
        if name in lines:
            continue  # one line per setting: the first problem is the one to fix
        text = _describe(error, secret=name in _SECRET_FIELDS)
        if name in Settings.model_fields:
            lines[name] = (fields.index(name), f"{env_name(name)}: {text}")
        else:
            lines[name] = (len(fields), f"{name}: {text}" if name else text)
    return [line for _, line in sorted(lines.values(), key=lambda item: item[0])]


def _describe(error: ErrorDetails, *, secret: bool) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "config":
        return str(ctx["problem"])
    if kind in ("url_parsing", "url_syntax_violation", "url_type", "url_too_long"):
        text = "not a URL"
    elif kind == "url_scheme":
        text = f"not a URL with scheme {ctx.get('expected_schemes', 'http or https')}"
    elif kind == "literal_error":
        text = f"must be {ctx.get('expected')}"
    else:
        message = error["msg"]
        text = message[6].lower() + message[7:] if message.startswith("Input ") else message
    if secret:
        return text
    shown = repr(error["input"])
    return f"{text} ({shown if len(shown) <= 80 else shown[:77] + '...'})"


def _problem(text: str) -> PydanticCustomError:
    """A validation problem whose text is the whole message (`_describe` shows it as is)."""
    return PydanticCustomError("config", "{problem}", {"problem": text})


def _detail(field: str, text: str) -> InitErrorDetails:
    return InitErrorDetails(type=_problem(text), loc=(field,), input=None)


def _given(value: Any) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and str(value).strip() != ""


def _login_problems(data: dict[str, Any]) -> list[InitErrorDetails]:
    """What the Salesforce login flow and HubSpot need but the raw values lack."""
    auth = data.get("salesforce_auth", Settings.model_fields["salesforce_auth"].default)
    problems: list[InitErrorDetails] = []
    if isinstance(auth, str) and auth in _LOGIN_NEEDS:
        required = f"required when {env_name('salesforce_auth')}={auth}"
        problems += [_detail(f, required) for f in _LOGIN_NEEDS[auth] if not _given(data.get(f))]
        key_file = data.get("salesforce_private_key_file")
        if auth == "jwt" and _given(key_file) and isinstance(key_file, str | Path):
            problem = _private_key_problem(Path(key_file))
            if problem:
                problems.append(_detail("salesforce_private_key_file", problem))
    if not _given(data.get("hubspot_access_token")):
        problems.append(_detail("hubspot_access_token", "required"))
    return problems


def _private_key_problem(path: Path) -> str | None:
    """Why `path` cannot be the JWT signing key, or None. Reads its head; keeps nothing."""
    try:
        with path.open("rb") as file:
            head = file.read(64 * 1024)
    except FileNotFoundError:
        return f"no such file ({_shown(path)})"
    except IsADirectoryError:
        return f"not a file ({_shown(path)})"
    except OSError as exc:
        return f"cannot read ({_shown(path)}): {exc.strerror or type(exc).__name__}"
    found = _PEM_KEY.search(head)
    if found is None:
        return f"not a PEM private key ({_shown(path)})"
    if found.group(1) in (b"EC ", b"DSA "):
        kind = found.group(1).decode().strip()
        return f"an {kind} key; the JWT bearer flow signs with RS256, an RSA key ({_shown(path)})"
    if found.group(1) == b"ENCRYPTED ":
        return (
            f"an encrypted private key; leadbridge needs it without a passphrase ({_shown(path)})"
        )
    return None


def _merged(title: str, exc: ValidationError, extra: list[InitErrorDetails]) -> ValidationError:
    """One validation error holding `exc`'s problems and `extra`."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(
                e["type"], "{message}", {**e.get("ctx", {}), "message": e["msg"]}
            ),
            loc=e["loc"],
            input=e["input"],
        )
        for e in exc.errors(include_url=False)
    ]
    return ValidationError.from_exception_data(title, [*details, *extra], hide_input=True)


def _shown(path: Path) -> str:
    return repr(str(path.absolute()))


_SECRET_FIELDS = frozenset(
    name
    for name, field in Settings.model_fields.items()
    if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
)
