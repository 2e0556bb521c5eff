"""The HTTP session every Salesforce call goes through: a timeout always, the configured CA
bundle always, the daily API usage read off every response, and the budget's reserve kept
before every call (`connector.salesforce.budget`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from connector.salesforce.budget import BudgetGuard

if TYPE_CHECKING:
    from requests.sessions import _Settings  # types-requests' TypedDict, absent at run time

    from connector.settings import Settings

_API_USAGE = re.compile(r"(?:^|[,;\s])api-usage=(\d+)/(\d+)")
#: Logins (the OAuth token endpoint) do not count against the daily API budget.
_UNCOUNTED = "/services/oauth2/"


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

    With a `guard`, every call but a login is admitted by it first (`BudgetReserved`: not sent)
    and settled with the usage its answer reports, so no path to Salesforce (REST through
    simple-salesforce, SOAP convertLead, a retry, a query's next page) spends the reserve.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        ca_bundle: Path | str | None = None,
        guard: BudgetGuard | None = None,
    ) -> None:
        super().__init__()
        self.guard = guard
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
        guard = self.guard if self.guard is not None and _counted(url) else None
        if guard is not None:
            guard.admit()
        usage = None
        try:
            response = super().request(method, url, *args, **kwargs)
            self.last_headers = response.headers
            usage = parse_api_usage(response.headers.get("Sforce-Limit-Info"))
            if usage is not None:
                self.api_usage = usage
        finally:
            if guard is not None:
                guard.settle(usage)
        return response

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        """The environment's settings, except that the configured CA bundle stays in force."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle is not None and (verify is None or verify is True):
            settings["verify"] = self.ca_bundle
        return settings


def _counted(url: str | bytes) -> bool:
    """Whether a call to `url` counts against the daily API budget (all but logins)."""
    text = url.decode("latin-1") if isinstance(url, bytes) else url
    return not urlsplit(text).path.startswith(_UNCOUNTED)


def build_session(settings: Settings) -> SalesforceSession:
    """The session for `settings` (timeout, CA bundle, the budget's reserve)."""
    return SalesforceSession(
        timeout=settings.salesforce_timeout_seconds,
        ca_bundle=settings.salesforce_ca_bundle,
        guard=BudgetGuard(settings.salesforce_api_reserve_percent),
    )
