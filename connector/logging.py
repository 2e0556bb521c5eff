"""structlog set-up: one JSON event per line (or a console view on a terminal), never a secret.

Every event carries an ISO UTC `timestamp`, its `level`, the `event` name and whatever is bound
with `structlog.contextvars.bind_contextvars` (`run_id`, `stream`, `record_id`). The `Redactor`
processor runs near the end: it removes secrets always, and masks emails, phone numbers and
names unless told not to; `Bounded`, last before rendering, clips long values and, for the
console view, escapes control characters. Records logged through the standard library
(urllib3, werkzeug) go through the same processors.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal, TextIO, cast

import structlog
from pydantic import SecretBytes, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from connector.display import LOG_LIMIT, clip, for_terminal, shorten
from connector.urls import shown_url

REDACTED = "[redacted]"

#: Key fragments (lower case, separators removed) whose values are secrets.
SECRET_KEY_PARTS = (
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "privatekey",
    "assertion",
    "sessionid",
    "apikey",
    "clientsecret",
    "cookie",
    "privacykey",
)
#: Keys (lower case, separators removed) whose values are personal data.
PII_KEYS = frozenset({"email", "phone", "mobilephone", "firstname", "lastname", "name"})

_HANDLER_NAME = "leadbridge"
_ZERO_WIDTH = "\u200b-\u200f\u2060\ufeff"

# Secrets inside text: bearer tokens, Salesforce session ids (`00D…!…`), JWTs and HubSpot private
# app tokens. Passwords in URLs (`scheme://user:password@host`) go through `shown_url`.
_SECRET_TEXT = re.compile(
    r"(?P<bearer>\b(?i:bearer)\s+)[A-Za-z0-9\-._~+/]+=*"
    r"|\b00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?![^\s\"',;]+"
    r"|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
    r"|\bpat-[a-z0-9]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)
_EMAIL = re.compile(
    rf"[\w.%+'{_ZERO_WIDTH}-]+"
    rf"@(?:[^\W_](?:[\w{_ZERO_WIDTH}-]*[^\W_])?\.)+[^\W\d_]{{2,}}"
)
# Candidates only: `_mask_phone_match` keeps what is not phone-shaped (dates, decimals, IPs).
_PHONE = re.compile(r"(?<![\w+*])\+?\(?\d[\d ().\-/\u00a0]{5,}\d(?!\w)")
_PHONE_SEPARATORS = frozenset(" ().-/\u00a0")
_NOT_A_PHONE = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # an ISO date anywhere in the candidate
    r"|^\d{1,4}([./-])\d{1,2}\1\d{1,4}$"  # 23.11.2026, 2026/11/23
    r"|^\d{1,3}(?:\.\d{1,3}){3}$"  # an IPv4 address
)
_NOT_SCRUBBED = frozenset({"timestamp", "level"})
#: Event keys holding a traceback: never cut, and escaped line by line.
_TRACEBACKS = frozenset({"exception", "stack"})


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto",
    *,
    redact_pii: bool = True,
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Set structlog (and the standard library's root logger) up for this process.

    `fmt="auto"` renders JSON lines unless `stream` is a terminal. Without `stream`, events go to
    whatever `sys.stderr` is when they are written (pytest and click swap it), not to the object
    it was at set-up. Events below `level` are dropped before any processing.
    """
    if fmt not in ("auto", "json", "console"):
        msg = f"log format {fmt!r}: expected 'auto', 'json' or 'console'"
        raise ValueError(msg)
    out = stream if stream is not None else cast("TextIO", _CurrentStderr())
    threshold = _level_number(level)
    tty = _isatty(out)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json" or (fmt == "auto" and not tty)
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    first: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    last: list[Processor] = [
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        Redactor(redact_pii=redact_pii),
        Bounded(console=not isinstance(renderer, structlog.processors.JSONRenderer)),
        renderer,
    ]
    structlog.configure(
        processors=[*first, *last],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        # Loggers made at import time must follow a later configure_logging (tests, the CLI).
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(out, threshold, first, last)


class Redactor:
    """structlog processor: secrets become `[redacted]`; personal data is masked.

    Secrets: values of keys naming one (`SECRET_KEY_PARTS`), `SecretStr` values anywhere, and
    bearer tokens, Salesforce session ids, JWTs and URL passwords inside text. Personal data
    (unless `redact_pii=False`): values of `PII_KEYS`, and emails and phone numbers inside any
    text, nested dicts and lists included. Pure: returns a new event dict, touches nothing else.
    """

    def __init__(self, *, redact_pii: bool = True) -> None:
        self.redact_pii = redact_pii

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {
            key: value if key in _NOT_SCRUBBED else self._clean(key, value)
            for key, value in event_dict.items()
        }

    def _clean(self, key: str | None, value: Any) -> Any:
        if isinstance(value, SecretStr | SecretBytes):
            return REDACTED
        if key is not None and value is not None:
            kind = _key_kind(key)
            if kind == "secret":
                return REDACTED
            if kind and self.redact_pii:
                return _mask_pii(kind, value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {
                self.scrub(k) if isinstance(k, str) else k: self._clean(str(k), v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(None, v) for v in value]
        return self.scrub(str(value))

    def scrub(self, text: str) -> str:
        """`text` without secrets and, when redacting PII, with emails and phones masked."""
        text = shown_url(_SECRET_TEXT.sub(_redact_secret_match, text), mask=REDACTED)
        if self.redact_pii:
            if "@" in text:
                text = _EMAIL.sub(_mask_email_match, text)
            text = _PHONE.sub(_mask_phone_match, text)
        return text


class Bounded:
    """structlog processor, after the `Redactor` (which must see whole values): every text value
    is bounded to `LOG_LIMIT` characters with its length said, and for the console view also
    escaped, so no control character in a logged value (a contact's name, an API's message)
    reaches a terminal. JSON escapes them itself; the console view prints plain words as they
    are. Tracebacks keep their lines, each escaped."""

    def __init__(self, *, console: bool) -> None:
        self.console = console

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        return {key: self._top(key, value) for key, value in event_dict.items()}

    def _top(self, key: str, value: Any) -> Any:
        if not isinstance(value, str):
            return _shorten_inside(value)  # the console view shows these by their repr
        if not self.console:
            return value if key in _TRACEBACKS else shorten(value, LOG_LIMIT)
        if key in _TRACEBACKS:
            return for_terminal(value, LOG_LIMIT)
        return clip(value, LOG_LIMIT)


def _shorten_inside(value: Any) -> Any:
    if isinstance(value, str):
        return shorten(value, LOG_LIMIT)
    if isinstance(value, Mapping):
        return {k: _shorten_inside(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shorten_inside(v) for v in value]
    return value


def mask_email(email: str) -> str:
    """`sven.svensson@globex.se` → `s***@g***.se`: each part keeps its first character only."""
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    masked = [_first(label) for label in labels[:-1]]
    return f"{_first(local)}@{'.'.join([*masked, labels[-1]])}"


def mask_phone(phone: str) -> str:
    """`+46 70 123 45 67` → `+** ** *** ** 67`: every digit but the last two hidden."""
    digits = sum(c.isdigit() for c in phone)
    seen = 0
    out = []
    for char in phone:
        if char.isdigit():
            seen += 1
            out.append(char if seen > digits - 2 else "*")
        else:
            out.append(char)
    return "".join(out)


def _first(part: str) -> str:
    return f"{part[:1]}***"


def _redact_secret_match(match: re.Match[str]) -> str:
    if match.group("bearer"):
        return f"{match.group('bearer')}{REDACTED}"
    return REDACTED


def _mask_email_match(match: re.Match[str]) -> str:
    return mask_email(match.group(0))


def _mask_phone_match(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    separators = [c for c in text if c in _PHONE_SEPARATORS]
    if (
        not 7 <= digits <= 15
        or not (text.startswith("+") or separators)
        or separators == ["."]  # a decimal number
        or _NOT_A_PHONE.search(text)
    ):
        return text
    return mask_phone(text)


@lru_cache(maxsize=1024)
def _key_kind(key: str) -> str | None:
    """ "secret", the PII key it is ("email", "phone", ...), or None."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(part in norm for part in SECRET_KEY_PARTS):
        return "secret"
    return norm if norm in PII_KEYS else None


def _mask_pii(kind: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_pii(kind, v) for v in value]
    if isinstance(value, Mapping):
        return {k: _mask_pii(kind, v) for k, v in value.items()}
    text = value if isinstance(value, str) else str(value)
    if not text:
        return text
    if kind == "email" and _EMAIL.fullmatch(text):
        return mask_email(text)
    if kind in ("phone", "mobilephone"):
        return mask_phone(text)
    return _first(text)


def _level_number(level: str) -> int:
    number = logging.getLevelNamesMapping().get(level.strip().upper())
    if number is None:
        msg = f"log level {level!r}: expected debug, info, warning, error or critical"
        raise ValueError(msg)
    return number


def _isatty(stream: TextIO) -> bool:
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class _CurrentStderr:
    """A stream that writes to the `sys.stderr` of the moment."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return _isatty(sys.stderr)


def _route_standard_logging(
    out: TextIO, threshold: int, first: list[Processor], last: list[Processor]
) -> None:
    """Send the standard library's records (urllib3, werkzeug, ...) through the same processors.

    They show from warning up, or from debug when `level` is debug. Replaces the handler an
    earlier call installed; other handlers (pytest's) stay.
    """
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*first, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *last],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Libraries' info chatter (alembic, werkzeug) is noise next to our events; debug shows it.
    root.setLevel(threshold if threshold <= logging.DEBUG else max(threshold, logging.WARNING))
