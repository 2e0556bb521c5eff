"""The URI the webhook signature covers: the one HubSpot called, rebuilt from the request line,
and from forwarded headers only when the peer is a trusted proxy."""

from __future__ import annotations

from starlette.requests import Request

from connector.service.webhooks import _called


def _request(peer: str, headers: dict[str, str], query: bytes = b"") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/hubspot",
        "raw_path": b"/webhooks/hubspot",
        "query_string": query,
        "client": (peer, 40000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


FORWARDED = {
    "host": "10.0.0.5:8080",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "hooks.example.com",
}


def test_a_trusted_proxy_s_forwarded_scheme_and_host_are_believed() -> None:
    """Behind the proxy named in LEADBRIDGE_TRUSTED_PROXIES, HubSpot called the public URL."""
    uri = _called(_request("10.0.0.1", FORWARDED, b"a=1"), {"10.0.0.1"})
    assert uri == "https://hooks.example.com/webhooks/hubspot?a=1"


def test_forwarded_headers_from_anyone_else_are_ignored() -> None:
    """A client that is not a trusted proxy cannot choose the URL the signature covers."""
    uri = _called(_request("203.0.113.9", FORWARDED), {"10.0.0.1"})
    assert uri == "http://10.0.0.5:8080/webhooks/hubspot"
