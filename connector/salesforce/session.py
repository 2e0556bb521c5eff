"""The HTTP session every Salesforce call goes through: a timeout always, the configured CA
bundle always, and the daily API usage read off every response."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from requests.sessions import _Settings  # types-requests' TypedDict, absent at run time

    from connector.settings import Settings

_API_USAGE = re.compile(r"(?:^|[,;\s])api-usage=(\d+)/(\d+)")


def parse_api_usage(header: str | None) -> tuple[int, int] | None:
    """`(used, max)` from `Sforce-Limit-Info: api-usage=USED/MAX` (per-app usage ignored)."""
    match = _API_USAGE.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class SalesforceSession(requests.Session):
    """A `requests.Session` with a default timeout and a CA bundle the environment cannot
    replace.

    requests lets `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` override `session.verify`
    (psf/requests#3829); a configured bundle must win, while proxies still come from the
    environment. `api_usage` and `last_headers` describe the latest response, whatever its
    status (the gateway reads `Retry-After` from there, since simple-salesforce's errors drop
    the headers).
    """

    def __init__(self, *, timeout: float = 30.0, ca_bundle: Path | str | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.ca_bundle = str(ca_bundle) if ca_bundle is not None else None
        if self.ca_bundle is not None:
            self.verify = self.ca_bundle
        self.api_usage: tuple[int, int] | None = None
        self.last_headers: Mapping[str, str] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send with the default timeout unless the caller gave one; note usage and headers."""
        if kwargs.get("timeout") is None and len(args) < 7:  # 7th positional after url
            kwargs["timeout"] = self.timeout
        self.last_headers = {}
        response = super().request(method, url, *args, **kwargs)
        self.last_headers = response.headers
        usage = parse_api_usage(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.api_usage = usage
        return response

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        """The environment's settings, except that the configured CA bundle stays in force."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle is not None and (verify is None or verify is True):
            settings["verify"] = self.ca_bundle
        return settings


def build_session(settings: Settings) -> SalesforceSession:
    """The session for `settings` (timeout, CA bundle)."""
    return SalesforceSession(
        timeout=settings.salesforce_timeout_seconds, ca_bundle=settings.salesforce_ca_bundle
    )
