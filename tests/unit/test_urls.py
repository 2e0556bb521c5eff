"""URLs as people see them: the userinfo's secret masked wherever a URL is shown."""

from __future__ import annotations

import pytest
from pydantic import AnyHttpUrl

from connector.urls import origin, shown_url


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:PW@127.0.0.1:1", "https://user:***@127.0.0.1:1"),
        ("https://TOKEN@api.example.test/crm", "https://***@api.example.test/crm"),
        ("https://user:p@ss:w0rd@host/path?q=a@b", "https://user:***@host/path?q=a@b"),
        ("postgresql+psycopg://lb:db-pass@db:5432/lb", "postgresql+psycopg://lb:***@db:5432/lb"),
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        (
            "cannot reach 'https://u:PW@a.test' or \"https://v:QX@b.test/\" (retry)",
            "cannot reach 'https://u:***@a.test' or \"https://v:***@b.test/\" (retry)",
        ),
        ("mail sven@globex.se, no URL here", "mail sven@globex.se, no URL here"),
    ],
)
def test_userinfo_secrets_are_masked_in_urls_and_text(text: str, shown: str) -> None:
    """A password (or a userinfo that may be a token) never shows; the rest of the URL does."""
    assert shown_url(text) == shown


def test_settings_urls_and_other_masks() -> None:
    """pydantic URLs render like strings; the log redactor asks for its own mask."""
    assert shown_url(AnyHttpUrl("https://u:PW@h.test:8443")) == "https://u:***@h.test:8443/"
    assert shown_url("https://u:PW@h.test", mask="[redacted]") == "https://u:[redacted]@h.test"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://login.test/", "https://login.test"),
        ("https://user:PW@127.0.0.1:8443/services", "https://127.0.0.1:8443"),
        (AnyHttpUrl("https://test.salesforce.com"), "https://test.salesforce.com"),
    ],
)
def test_origin_is_scheme_host_and_port_only(url: object, expected: str) -> None:
    """The origin names the server: no path, no userinfo (a JWT audience must not carry it)."""
    assert origin(url) == expected
