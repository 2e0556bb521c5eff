"""Text shown to people (a terminal, a log, the dead-letter store) that holds untrusted values.

HubSpot contacts and Salesforce records carry whatever people typed or pasted: a 10 kB street
with newlines, an escape sequence in a last name. Salesforce and HubSpot echo such values in
their error messages. Whatever leadbridge shows of them goes through here, so that no control
character reaches a terminal (non-printables are escaped the way `repr` escapes them, never
dropped) and a huge value is clipped with its full length said (`'Lorem…' (10,240 chars)`).

Every function given a limit keeps to it: `len(result) <= limit`. Escaping is idempotent: text
that went through here once comes out unchanged, so a safety net may run over it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Longest shown value, quotes and length included: enough to recognise it.
VALUE_LIMIT = 60
#: Longest message from Salesforce or HubSpot kept in a reason (each error of a record).
MESSAGE_LIMIT = 500
#: Longest line a summary or an error printed on a terminal may have.
LINE_LIMIT = 1000
#: Longest value in a log event.
LOG_LIMIT = 1000
#: Below this, a clipped value and its length would not fit.
_MIN_LIMIT = 32
_ELLIPSIS = "…"


def escape(text: str) -> str:
    """`text` with every non-printable character (control characters, line and paragraph
    separators, bidirectional overrides, lone surrogates) written as `repr` writes it (`\\n`,
    `\\x1b`, `\\u202e`); printable text, accented and non-Latin letters included, stays."""
    if text.isprintable():
        return text
    return "".join(_char(c) for c in text)


def clip(text: str, limit: int = LINE_LIMIT) -> str:
    """`text` escaped; when longer than `limit`, its start and `… (N chars)`, N its length."""
    _check(limit)
    head, cut = _prefix(text, limit)
    if not cut:
        return head
    suffix = f"{_ELLIPSIS} ({len(text):,} chars)"
    head, _ = _prefix(text, limit - len(suffix))
    return head + suffix


def shorten(text: str, limit: int = LOG_LIMIT) -> str:
    """`text` bounded as `clip` bounds it, but not escaped: for output that escapes by itself
    (JSON, a `repr`)."""
    _check(limit)
    if len(text) <= limit:
        return text
    suffix = f"{_ELLIPSIS} ({len(text):,} chars)"
    return text[: limit - len(suffix)] + suffix


def show(value: Any, limit: int = VALUE_LIMIT) -> str:
    """An untrusted value for a message: text as `repr` shows it (quoted, escaped); when that is
    longer than `limit`, its start inside the quotes and its length: `'Lorem…' (10,240 chars)`.
    Anything else is shown by its `repr`, clipped likewise."""
    _check(limit)
    if not isinstance(value, str):
        return clip(repr(value), limit)
    if len(value) + 2 <= limit:
        whole = repr(value)
        if len(whole) <= limit:
            return whole
    tail = f" ({len(value):,} chars)"
    room = limit - len(_ELLIPSIS) - len(tail)  # for the repr of the start, quotes included
    count = _fit(value, room - 2)
    while count and len(repr(value[:count])) > room:
        count -= 1  # repr escapes a quote when the value holds both kinds
    shown = repr(value[:count])
    return f"{shown[:-1]}{_ELLIPSIS}{shown[-1]}{tail}"


def show_message(text: str, values: Iterable[Any] = (), limit: int = MESSAGE_LIMIT) -> str:
    """A message from Salesforce or HubSpot, which may echo values we sent, fit to keep and show.

    Each of `values` that the message echoes and that is long or holds non-printables is
    replaced by `show(value)`; the rest is escaped. A message still longer than `limit` keeps
    its start and its end (where Salesforce says `(max length=80)`) around `…[N chars in all]…`.
    """
    _check(limit)
    echoed = {v for v in values if isinstance(v, str) and v and _unsafe(v)}
    for value in sorted(echoed, key=lambda v: (-len(v), v)):
        if value in text:
            text = text.replace(value, show(value))
    head, cut = _prefix(text, limit)
    if not cut:
        return head
    marker = f"{_ELLIPSIS}[{len(text):,} chars in all]{_ELLIPSIS}"
    room = limit - len(marker)
    head, _ = _prefix(text, room - room // 3)
    tail = _suffix(text, room - len(head))
    return head + marker + tail


def for_terminal(text: str, width: int = LINE_LIMIT) -> str:
    """The last pass over text about to be printed: each line (split on `\\n` only) escaped
    and clipped to `width`; nothing dropped silently."""
    if text.isprintable() and len(text) <= width:
        return text
    return "\n".join(clip(line, width) for line in text.split("\n"))


def _unsafe(value: str) -> bool:
    return not value.isprintable() or len(value) + 2 > VALUE_LIMIT


def _char(c: str) -> str:
    return c if c.isprintable() else repr(c)[1:-1]


def _prefix(text: str, budget: int) -> tuple[str, bool]:
    """The escaped start of `text` that fits `budget`, and whether anything was left out."""
    if len(text) <= budget and text.isprintable():
        return text, False
    pieces: list[str] = []
    used = 0
    for c in text:
        piece = _char(c)
        if used + len(piece) > budget:
            return "".join(pieces), True
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces), False


def _suffix(text: str, budget: int) -> str:
    """The escaped end of `text` that fits `budget`."""
    pieces: list[str] = []
    used = 0
    for c in reversed(text):
        piece = _char(c)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(reversed(pieces))


def _fit(value: str, budget: int) -> int:
    """How many characters of `value` its `repr` shows within `budget` (an upper estimate)."""
    used = 0
    for index, c in enumerate(value):
        used += len(repr(c)) - 2 if not c.isprintable() or c == "\\" else 1
        if used > budget:
            return index
    return len(value)


def _check(limit: int) -> None:
    if limit < _MIN_LIMIT:
        msg = f"a display limit must be at least {_MIN_LIMIT} characters, not {limit}"
        raise ValueError(msg)
