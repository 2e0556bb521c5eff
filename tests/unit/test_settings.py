"""Settings validation: every problem of one load on its own line, naming its variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr, ValidationError

from connector.errors import ConfigError
from connector.settings import Settings, env_name, load_settings

PASSWORD = "pw-Sekr1t-value"
CONSUMER_SECRET = "cs-Sekr1t-value"
TOKEN = "pat-na1-Sekr1t-token"
SECURITY_TOKEN = "st-Sekr1t-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LEADBRIDGE_* variable and no .env leak in from the machine running the tests."""
    for key in list(os.environ):
        if key.startswith("LEADBRIDGE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def password_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A complete username-password set-up, with a mappings directory in the working dir."""
    (tmp_path / "mappings").mkdir(exist_ok=True)
    for key, value in {
        "SALESFORCE_AUTH": "password",
        "SALESFORCE_USERNAME": "integration@example.com",
        "SALESFORCE_PASSWORD": PASSWORD,
        "SALESFORCE_SECURITY_TOKEN": SECURITY_TOKEN,
        "SALESFORCE_CONSUMER_KEY": "consumer-key",
        "SALESFORCE_CONSUMER_SECRET": CONSUMER_SECRET,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(f"LEADBRIDGE_{key}", value)


def private_key_pem(*, password: bytes | None = None) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def jwt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: bytes | None = None) -> Path:
    """A complete JWT bearer set-up; the private key file's path."""
    (tmp_path / "mappings").mkdir(exist_ok=True)
    key_file = tmp_path / "jwt-private.pem"
    key_file.write_bytes(key if key is not None else private_key_pem())
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_AUTH", "jwt")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_USERNAME", "integration@example.com")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_CONSUMER_KEY", "consumer-key")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_ACCESS_TOKEN", TOKEN)
    return key_file


def problems(**overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    return str(caught.value).splitlines()


def test_complete_password_setup_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A complete username-password environment gives typed settings with the defaults."""
    password_env(monkeypatch, tmp_path)
    settings = load_settings()
    assert settings.salesforce_auth == "password"
    assert settings.salesforce_password == SecretStr(PASSWORD)
    assert settings.hubspot_access_token == SecretStr(TOKEN)
    assert str(settings.salesforce_login_url) == "https://login.salesforce.com/"
    assert settings.mappings_dir == Path("mappings")
    assert settings.database_url == "sqlite:///leadbridge.db"
    assert (settings.log_format, settings.log_level, settings.log_redact_pii) == (
        "auto",
        "info",
        True,
    )


def test_complete_jwt_setup_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """JWT bearer needs no password or consumer secret, only the key file."""
    key_file = jwt_env(monkeypatch, tmp_path)
    settings = load_settings()
    assert settings.salesforce_private_key_file == key_file
    assert settings.salesforce_password is None


def test_bad_url_names_the_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A URL that is not one is reported with its variable and the value given."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_LOGIN_URL", "foo")
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_BASE_URL", "ftp://api.hubapi.com")
    assert problems() == [
        "LEADBRIDGE_SALESFORCE_LOGIN_URL: not a URL ('foo')",
        "LEADBRIDGE_HUBSPOT_BASE_URL: not a URL with scheme 'http' or 'https' "
        "('ftp://api.hubapi.com')",
    ]


def test_every_problem_of_one_load_is_listed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Field errors and missing credentials come together, one line each, in field order."""
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_AUTH", "jwt")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_LOGIN_URL", "foo")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_CA_BUNDLE", "ca.pem")
    monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "xml")
    monkeypatch.setenv("LEADBRIDGE_LOG_LEVEL", "loud")
    monkeypatch.setenv("LEADBRIDGE_LOG_REDACT_PII", "perhaps")
    assert problems() == [
        "LEADBRIDGE_SALESFORCE_LOGIN_URL: not a URL ('foo')",
        "LEADBRIDGE_SALESFORCE_USERNAME: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "LEADBRIDGE_SALESFORCE_CONSUMER_KEY: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        f"LEADBRIDGE_SALESFORCE_CA_BUNDLE: no such file or directory ('{tmp_path / 'ca.pem'}')",
        "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN: required",
        f"LEADBRIDGE_MAPPINGS_DIR: no such directory ('{tmp_path / 'mappings'}')",
        "LEADBRIDGE_LOG_FORMAT: must be 'auto', 'json' or 'console' ('xml')",
        "LEADBRIDGE_LOG_LEVEL: must be one of debug, info, warning, error, critical ('loud')",
        "LEADBRIDGE_LOG_REDACT_PII: should be a valid boolean, unable to interpret input "
        "('perhaps')",
    ]


def test_password_flow_needs_its_four_credentials(tmp_path: Path) -> None:
    """Username-password login names each of the four settings it lacks."""
    (tmp_path / "mappings").mkdir()
    assert problems(salesforce_auth="password", hubspot_access_token=TOKEN) == [
        "LEADBRIDGE_SALESFORCE_USERNAME: required when LEADBRIDGE_SALESFORCE_AUTH=password",
        "LEADBRIDGE_SALESFORCE_PASSWORD: required when LEADBRIDGE_SALESFORCE_AUTH=password",
        "LEADBRIDGE_SALESFORCE_CONSUMER_KEY: required when LEADBRIDGE_SALESFORCE_AUTH=password",
        "LEADBRIDGE_SALESFORCE_CONSUMER_SECRET: required when LEADBRIDGE_SALESFORCE_AUTH=password",
    ]


def test_unknown_auth_is_reported_without_credential_lines(tmp_path: Path) -> None:
    """A login flow that does not exist is the one problem; no guess at what it would need."""
    (tmp_path / "mappings").mkdir()
    assert problems(salesforce_auth="oauth", hubspot_access_token=TOKEN) == [
        "LEADBRIDGE_SALESFORCE_AUTH: must be 'jwt' or 'password' ('oauth')"
    ]


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`KEY=` lines, as `.env.example` has them, are missing values, not empty paths or keys."""
    password_env(monkeypatch, tmp_path)
    (tmp_path / ".env").write_text(
        "LEADBRIDGE_SALESFORCE_CA_BUNDLE=\nLEADBRIDGE_HUBSPOT_CA_BUNDLE=\n", encoding="utf-8"
    )
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_CONSUMER_SECRET", "")
    assert problems(salesforce_username="  ") == [
        "LEADBRIDGE_SALESFORCE_USERNAME: required when LEADBRIDGE_SALESFORCE_AUTH=password",
        "LEADBRIDGE_SALESFORCE_CONSUMER_SECRET: required when LEADBRIDGE_SALESFORCE_AUTH=password",
    ]
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_CONSUMER_SECRET", CONSUMER_SECRET)
    settings = load_settings()
    assert (settings.salesforce_ca_bundle, settings.hubspot_ca_bundle) == (None, None)


def test_dotenv_in_working_directory_is_read(tmp_path: Path) -> None:
    """Settings come from `.env` too; overrides win over it."""
    (tmp_path / "mappings").mkdir()
    (tmp_path / ".env").write_text(
        "LEADBRIDGE_SALESFORCE_AUTH=password\nLEADBRIDGE_SALESFORCE_USERNAME=u@example.com\n"
        f"LEADBRIDGE_SALESFORCE_PASSWORD={PASSWORD}\nLEADBRIDGE_SALESFORCE_CONSUMER_KEY=k\n"
        f"LEADBRIDGE_SALESFORCE_CONSUMER_SECRET={CONSUMER_SECRET}\n"
        f"LEADBRIDGE_HUBSPOT_ACCESS_TOKEN={TOKEN}\nLEADBRIDGE_LOG_LEVEL=WARNING\n",
        encoding="utf-8",
    )
    settings = load_settings(salesforce_username="other@example.com")
    assert settings.salesforce_username == "other@example.com"
    assert settings.log_level == "warning"


def test_missing_private_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A JWT key file that is not there is named with its absolute path."""
    jwt_env(monkeypatch, tmp_path)
    assert problems(salesforce_private_key_file="keys/missing.pem") == [
        "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: no such file "
        f"('{tmp_path / 'keys' / 'missing.pem'}')"
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "not a PEM private key",
        ),
        (b"", "not a PEM private key"),
        (
            private_key_pem(password=b"passphrase"),
            "an encrypted private key; leadbridge needs it without a passphrase",
        ),
        (
            b"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
            "an EC key; the JWT bearer flow signs with RS256, an RSA key",
        ),
    ],
    ids=["certificate", "empty", "encrypted", "ec"],
)
def test_private_key_file_must_be_a_usable_pem_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes, problem: str
) -> None:
    """A certificate, an empty file, an encrypted or a non-RSA key is refused before login."""
    key_file = jwt_env(monkeypatch, tmp_path, key=content)
    assert problems() == [f"LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: {problem} ('{key_file}')"]


def test_private_key_file_must_be_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A directory given as the key file is reported as not a file."""
    jwt_env(monkeypatch, tmp_path)
    assert problems(salesforce_private_key_file=str(tmp_path)) == [
        f"LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: not a file ('{tmp_path}')"
    ]


def test_private_key_file_is_not_checked_for_password_login(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The key file only matters to JWT login; a stale path does not block password login."""
    password_env(monkeypatch, tmp_path)
    settings = load_settings(salesforce_private_key_file="missing.pem")
    assert settings.salesforce_private_key_file == Path("missing.pem")


def test_ca_bundles_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Both CA bundle settings name the missing path; an existing one is accepted."""
    password_env(monkeypatch, tmp_path)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    assert problems(salesforce_ca_bundle="ca.pem", hubspot_ca_bundle="/nonexistent/ca.pem") == [
        "LEADBRIDGE_HUBSPOT_CA_BUNDLE: no such file or directory ('/nonexistent/ca.pem')"
    ]


def test_database_url_must_parse_and_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An unparseable database URL is named, with any password in it masked."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", "postgresql+psycopg://lb:db-Sekr1t@db:port/lb")
    assert problems() == [
        "LEADBRIDGE_DATABASE_URL: not a database URL SQLAlchemy can parse "
        "('postgresql+psycopg://lb:***@db:port/lb')"
    ]
    assert problems(database_url="leadbridge.db") == [
        "LEADBRIDGE_DATABASE_URL: not a database URL SQLAlchemy can parse ('leadbridge.db')"
    ]
    url = "postgresql+psycopg://lb:db-Sekr1t@db.internal:5432/lb"
    assert load_settings(database_url=url).database_url == url


def test_mappings_dir_must_be_a_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The mappings directory is checked at load, naming LEADBRIDGE_MAPPINGS_DIR."""
    password_env(monkeypatch, tmp_path)
    (tmp_path / "mappings.yaml").write_text("", encoding="utf-8")
    assert problems(mappings_dir="mappings.yaml") == [
        f"LEADBRIDGE_MAPPINGS_DIR: not a directory ('{tmp_path / 'mappings.yaml'}')"
    ]
    assert problems(mappings_dir=tmp_path / "elsewhere") == [
        f"LEADBRIDGE_MAPPINGS_DIR: no such directory ('{tmp_path / 'elsewhere'}')"
    ]


def test_tuning_bounds_are_reported_per_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Numeric settings out of range or unparseable name the variable and the value."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_BATCH_SIZE", "500")
    monkeypatch.setenv("LEADBRIDGE_SALESFORCE_TIMEOUT_SECONDS", "soon")
    assert problems() == [
        "LEADBRIDGE_SALESFORCE_BATCH_SIZE: should be less than or equal to 200 ('500')",
        "LEADBRIDGE_SALESFORCE_TIMEOUT_SECONDS: should be a valid number, unable to parse string "
        "as a number ('soon')",
    ]


def test_errors_never_show_secret_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A problem with a secret setting names the variable but never echoes what was given."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_MAPPINGS_DIR", "nowhere")
    lines = problems(salesforce_password=["pw-Sekr1t-in-a-list"])
    assert lines[0] == "LEADBRIDGE_SALESFORCE_PASSWORD: should be a valid string"
    assert not any("Sekr1t" in line for line in lines)
    with pytest.raises(ValidationError) as caught:
        Settings(salesforce_password=["pw-Sekr1t-in-a-list"])
    assert "Sekr1t" not in str(caught.value)


def test_repr_and_str_show_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Printing the settings (as a debugger or a log line would) reveals no secret."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_HUBSPOT_WEBHOOK_SECRET", "wh-Sekr1t-value")
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", "postgresql+psycopg://lb:db-Sekr1t@db:5432/lb")
    settings = load_settings()
    for shown in (repr(settings), str(settings)):
        assert "Sekr1t" not in shown
        assert "database_url='postgresql+psycopg://lb:***@db:5432/lb'" in shown
        assert "salesforce_username='integration@example.com'" in shown
    assert settings.hubspot_webhook_secret.get_secret_value() == "wh-Sekr1t-value"


def test_privacy_key_is_a_secret_and_a_short_one_is_refused_unshown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """LEADBRIDGE_PRIVACY_KEY never shows in a repr or an error; one too short to protect the
    email hashes it keys is refused, naming the variable."""
    password_env(monkeypatch, tmp_path)
    key = "pk-Sekr1t-" + "7" * 30
    monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", key)
    settings = load_settings()
    assert settings.privacy_key is not None and settings.privacy_key.get_secret_value() == key
    assert "Sekr1t" not in repr(settings) and "Sekr1t" not in str(settings)

    monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", "pk-Sekr1t-short")
    lines = problems()
    assert lines == [
        "LEADBRIDGE_PRIVACY_KEY: at least 32 characters: the email hashes it keys are only as "
        "safe as it (openssl rand -hex 32)"
    ]


def test_private_key_content_is_never_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Settings keep the key file's path only: its content is in no field, repr or dump."""
    key = private_key_pem()
    key_file = jwt_env(monkeypatch, tmp_path, key=key)
    body = key.decode().splitlines()[1]  # a line of the key's base64 body
    settings = load_settings()
    assert settings.salesforce_private_key_file == key_file
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert body not in shown
        assert "PRIVATE KEY" not in shown
    for value in settings.model_dump().values():
        assert not isinstance(value, bytes)
        assert "PRIVATE KEY" not in str(value)


def test_env_name_is_the_variable_for_a_field() -> None:
    """Messages elsewhere can name a setting the way the operator sets it."""
    assert env_name("mappings_dir") == "LEADBRIDGE_MAPPINGS_DIR"


# .env.example, as a user copies it

ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"
TO_FILL_IN = (
    "LEADBRIDGE_SALESFORCE_USERNAME",
    "LEADBRIDGE_SALESFORCE_CONSUMER_KEY",
    "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE",
    "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN",
)


def example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


def test_env_example_copied_as_is_names_each_value_to_fill_in(tmp_path: Path) -> None:
    """`cp .env.example .env`: one "required" line per value the file marks FILL IN, no other."""
    (tmp_path / "mappings").mkdir()
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")

    assert problems() == [
        "LEADBRIDGE_SALESFORCE_USERNAME: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "LEADBRIDGE_SALESFORCE_CONSUMER_KEY: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE: required when LEADBRIDGE_SALESFORCE_AUTH=jwt",
        "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN: required",
    ]
    lines = example_lines()
    for name in TO_FILL_IN:
        at = lines.index(f"{name}=")  # left empty, never a made-up value that looks real
        comment = next(line for line in reversed(lines[:at]) if line.startswith("# FILL IN"))
        assert lines.index(comment) >= at - 2, name  # the mark is right above the line


def test_env_example_once_filled_in_loads_with_the_defaults(tmp_path: Path) -> None:
    """With the four values filled in, the example loads and every other value is the default."""
    (tmp_path / "mappings").mkdir()
    key_file = tmp_path / "jwt-private.pem"
    key_file.write_bytes(private_key_pem())
    filled = {
        "LEADBRIDGE_SALESFORCE_USERNAME": "integration@example.com",
        "LEADBRIDGE_SALESFORCE_CONSUMER_KEY": "consumer-key",
        "LEADBRIDGE_SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
        "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN": TOKEN,
    }
    lines = [
        f"{key}={filled[key]}" if key in filled else line
        for line in example_lines()
        for key in [line.partition("=")[0]]
    ]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    settings = load_settings()

    assert settings.salesforce_auth == "jwt"
    assert settings.salesforce_private_key_file == key_file
    for name, field in Settings.model_fields.items():
        if env_name(name) not in filled and name != "salesforce_auth":
            assert getattr(settings, name) == field.default, env_name(name)


def test_env_example_lists_and_explains_every_setting() -> None:
    """Every setting is in the example, set or commented out, with a comment above it."""
    lines = example_lines()
    for name in Settings.model_fields:
        variable = env_name(name)
        at = next(
            (n for n, line in enumerate(lines) if line.lstrip("#").startswith(f"{variable}=")),
            None,
        )
        assert at is not None, f"{variable} is not in .env.example"
        above = next(
            line for line in reversed(lines[:at]) if not line.lstrip("#").startswith("LEADBRIDGE_")
        )
        assert above.startswith("# "), f"{variable} has no comment above it (or its group)"


def test_alert_webhook_url_and_admin_token_are_checked_without_showing_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A webhook URL that is no http(s) URL and a short admin token are each named, their
    values (secrets) never shown; good ones load as secrets."""
    password_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LEADBRIDGE_ALERT_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/s3cr3t")
    monkeypatch.setenv("LEADBRIDGE_ADMIN_TOKEN", "short-s3cr3t")

    lines = problems()

    assert lines == [
        "LEADBRIDGE_ADMIN_TOKEN: at least 16 characters (openssl rand -hex 32)",
        "LEADBRIDGE_ALERT_WEBHOOK_URL: not an http(s) URL (its value is not shown: it is a secret)",
    ]
    monkeypatch.setenv("LEADBRIDGE_ALERT_WEBHOOK_URL", "https://hooks.slack.com/services/T0/s3cr3t")
    monkeypatch.setenv("LEADBRIDGE_ADMIN_TOKEN", "0123456789abcdef-s3cr3t")
    settings = load_settings()
    assert "s3cr3t" not in repr(settings)
    assert settings.alert_webhook_url is not None and settings.admin_token is not None
