"""Why a remote gave no answer, in a few words for people, and what that calls for.

Both gateways meet the same socket and TLS failures, wrapped differently (requests for
Salesforce, urllib3 under hubspot-api-client for HubSpot). `why_unreachable` looks through the
wrappers to the failure inside, so both say the same words; `connection_error` turns it into
what the caller must do: a `ConfigError` naming the setting for what a setting causes (an
untrusted certificate; an unknown host or a refused connection at first contact), otherwise
`Unreachable`, which the shared retry policy retries and `gave_up` reports once attempts run out.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Literal

import requests
import urllib3

from connector.errors import ConfigError, Unreachable
from connector.urls import shown_url

#: "tls": the certificate or handshake (check the CA bundle); "address": the host cannot be
#: what was meant (check the URL) when it never answered; "transient": try again.
Kind = Literal["tls", "address", "transient"]

#: getaddrinfo's answers for a name that does not exist (EAI_AGAIN, a resolver that is
#: briefly down, is transient).
_NO_SUCH_NAME = frozenset(
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
)
_BAD_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    urllib3.exceptions.LocationParseError,
)
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError)
_TRANSPORT = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


@dataclass(frozen=True)
class Why:
    """Why no answer came: `cause` in a few words ("connection refused", "timed out")."""

    cause: str
    kind: Kind


def why_unreachable(exc: BaseException) -> Why | None:
    """Why a request got no answer, from the errors inside `exc` (its args, `reason`, cause
    and context); None when nothing in it is a connection failure (a request the library
    could not even build)."""
    chain = _chain(exc)

    def first(kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
        return next((item for item in chain if isinstance(item, kind)), None)

    if (verify := first(ssl.SSLCertVerificationError)) is not None:
        detail = getattr(verify, "verify_message", None)
        return Why(
            f"certificate verify failed: {detail}" if detail else "certificate verify failed", "tls"
        )
    if first((ssl.SSLEOFError, ssl.SSLZeroReturnError)) is not None:
        return Why("connection closed during the TLS handshake", "transient")
    if (tls := first(ssl.SSLError)) is not None:
        if tls.reason == "WRONG_VERSION_NUMBER":  # an http:// server called as https://
            return Why("the server does not speak TLS", "address")
        return Why(f"TLS error: {tls.reason or tls.strerror or 'handshake failed'}", "tls")
    if first(ConnectionRefusedError) is not None:
        return Why("connection refused", "address")
    if (lookup := first(socket.gaierror)) is not None:
        if lookup.errno in _NO_SUCH_NAME:
            return Why("unknown host", "address")
        return Why("host name lookup failed", "transient")
    if first(http.client.RemoteDisconnected) is not None:
        return Why("connection closed without an answer", "transient")
    if first(ConnectionResetError) is not None:
        return Why("connection reset", "transient")
    if first(TimeoutError) is not None:  # a TLS handshake that timed out too
        return Why("timed out", "transient")
    if first((requests.exceptions.SSLError, urllib3.exceptions.SSLError)) is not None:
        return Why("TLS handshake failed", "tls")
    if first(_BAD_URL) is not None:
        return Why("not a URL that can be called", "address")
    if first(requests.TooManyRedirects) is not None:
        return Why("too many redirects", "address")
    if first(urllib3.exceptions.NewConnectionError) is not None:  # before the timeouts it extends
        return Why("connection failed", "transient")
    if first(_TIMEOUTS) is not None:
        return Why("timed out", "transient")
    if first((ConnectionAbortedError, BrokenPipeError, requests.exceptions.ChunkedEncodingError)):
        return Why("connection broken", "transient")
    if first(_TRANSPORT) is not None:
        return Why("connection failed", "transient")
    return None


def connection_error(
    exc: BaseException,
    *,
    remote: str,
    what: str,
    url: object,
    url_setting: str,
    ca_setting: str,
    first_contact: bool,
    code: str | None = None,
) -> ConfigError | Unreachable:
    """The error to raise for a call `what` to `remote` at `url` that got no answer.

    A refused connection or an unknown host is the URL setting's doing only when the host
    never answered (`first_contact`); later it is a blip, retried like a timeout.
    """
    why = why_unreachable(exc) or Why("connection failed", "transient")
    shown = shown_url(url)
    if why.kind == "tls":
        return ConfigError(f"TLS with {remote} at {shown} failed ({why.cause}); check {ca_setting}")
    if why.kind == "address" and first_contact:
        return ConfigError(_cannot_reach(remote, shown, why.cause, url_setting))
    message = f"{remote} {what} failed: no answer from {shown} ({why.cause})"
    return Unreachable(
        message, remote=remote, url=shown, cause=why.cause, setting=url_setting, code=code
    )


def gave_up(exc: Unreachable, attempts: int) -> ConfigError:
    """What to tell a person once every attempt went unanswered: the host, the cause, the
    number of attempts, and the setting that names the host."""
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    return ConfigError(_cannot_reach(exc.remote, exc.url, f"{exc.cause}, {tries}", exc.setting))


def _cannot_reach(remote: str, url: object, cause: str, setting: str) -> str:
    """`cannot reach Salesforce at https://host (connection refused); check SETTING`."""
    return f"cannot reach {remote} at {shown_url(url)} ({cause}); check {setting}"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception inside it, outermost first, each once."""
    seen: set[int] = set()
    found: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        found.append(item)
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return found
