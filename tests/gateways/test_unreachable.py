"""Both client stacks (requests for Salesforce, urllib3 for HubSpot) failing for real, and the
same few words and the same verdict for each failure."""

from __future__ import annotations

import contextlib
import http.server
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import urllib3

from connector.errors import ConfigError, Unreachable
from connector.sandbox.server import SandboxServer
from connector.unreachable import Why, connection_error, gave_up, why_unreachable

UNKNOWN = "no-such-host.invalid"
FLAKY_DNS = "flaky-dns.invalid"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two made-up names fail to resolve as a resolver says so; no lookup leaves the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == UNKNOWN:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host == FLAKY_DNS:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers them."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        yield silent.getsockname()[1]


@contextlib.contextmanager
def http_server() -> Iterator[int]:
    """A plain HTTP server on a free loopback port, for a request that expects TLS."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A TLS hello is a bad request to it; nothing to print."""


def via_requests(url: str, ca: str | None) -> BaseException:
    try:
        requests.get(url, timeout=0.3, verify=ca or True)
    except requests.RequestException as exc:
        return exc
    raise AssertionError(url)


def via_urllib3(url: str, ca: str | None) -> BaseException:
    pool = urllib3.PoolManager(retries=False, timeout=0.3, ca_certs=ca)
    try:
        pool.request("GET", url)
    except urllib3.exceptions.HTTPError as exc:
        return exc
    raise AssertionError(url)


CLIENTS = [pytest.param(via_requests, id="requests"), pytest.param(via_urllib3, id="urllib3")]


@pytest.mark.parametrize("client", CLIENTS)
def test_each_failure_in_the_same_words_from_both_clients(
    client: Callable[[str, str | None], BaseException],
    sandbox_server: SandboxServer,
    closed_port: int,
    silent_port: int,
) -> None:
    """Refused, unknown host, a lookup that may pass, silence, an untrusted certificate: each
    has one wording and one verdict, whichever library failed."""
    ca = str(sandbox_server.ca_file)
    cases = {
        f"https://127.0.0.1:{closed_port}": Why("connection refused", "address"),
        f"https://{UNKNOWN}": Why("unknown host", "address"),
        f"https://{FLAKY_DNS}": Why("host name lookup failed", "transient"),
        f"https://127.0.0.1:{silent_port}": Why("timed out", "transient"),
    }
    with http_server() as plain_port:  # https:// to a server that speaks plain HTTP
        cases[f"https://127.0.0.1:{plain_port}"] = Why("the server does not speak TLS", "address")
        for url, why in cases.items():
            assert why_unreachable(client(url, ca)) == why, url
    untrusted = why_unreachable(client(sandbox_server.url, None))
    assert untrusted is not None
    assert untrusted.kind == "tls"
    assert untrusted.cause.startswith("certificate verify failed: ")


@pytest.mark.parametrize("linger", [pytest.param(0, id="reset"), pytest.param(None, id="closed")])
@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_that_drops_the_connection_is_transient(
    client: Callable[[str, str | None], BaseException], linger: int | None
) -> None:
    """A server that hangs up (a reset or a plain close, even mid-handshake) is worth another
    try, never a certificate problem."""
    with socket.create_server(("127.0.0.1", 0)) as server:

        def hang_up() -> None:
            conn, _ = server.accept()
            if linger is not None:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, linger))
            conn.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        failed = client(f"https://127.0.0.1:{server.getsockname()[1]}", None)
        thread.join()

    why = why_unreachable(failed)
    assert why is not None
    assert why.kind == "transient", why


def test_a_request_that_was_never_sent_is_no_connection_failure() -> None:
    """An error with no transport failure inside (a request the library could not build) is
    not taken for an unreachable host."""
    assert why_unreachable(ValueError("Cannot prepare a request message")) is None


def test_what_a_setting_causes_is_a_config_error_only_at_first_contact() -> None:
    """A refusal before the host ever answered names the URL setting; after, it is retried and
    named only once the attempts ran out. An untrusted certificate always names the CA bundle."""
    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    untrusted = requests.exceptions.SSLError("bad handshake")
    args: dict[str, Any] = {
        "remote": "HubSpot",
        "what": "search",
        "url": "https://u:PW@hub.test",
        "url_setting": "LEADBRIDGE_HUBSPOT_BASE_URL",
        "ca_setting": "LEADBRIDGE_HUBSPOT_CA_BUNDLE",
    }

    first = connection_error(refused, first_contact=True, **args)
    later = connection_error(refused, first_contact=False, code="CONNECTION", **args)
    tls = connection_error(untrusted, first_contact=False, **args)

    assert isinstance(first, ConfigError)
    assert str(first) == (
        "cannot reach HubSpot at https://u:***@hub.test (connection refused); "
        "check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert isinstance(later, Unreachable)
    assert (later.status, later.code) == (0, "CONNECTION")
    assert (
        str(later)
        == "HubSpot search failed: no answer from https://u:***@hub.test (connection refused)"
    )
    assert str(gave_up(later, 3)) == (
        "cannot reach HubSpot at https://u:***@hub.test (connection refused, after 3 attempts); "
        "check LEADBRIDGE_HUBSPOT_BASE_URL"
    )
    assert isinstance(tls, ConfigError)
    assert str(tls) == (
        "TLS with HubSpot at https://u:***@hub.test failed (TLS handshake failed); "
        "check LEADBRIDGE_HUBSPOT_CA_BUNDLE"
    )
