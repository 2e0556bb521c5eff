"""The one way to build SOQL text: simple-salesforce's `format_soql`, with three guards.

Values go in as `{}` (quoted and escaped; lists become `(...)` for IN), `{:like}` (escaped for
the inside of a LIKE pattern, `%` and `_` included; the template supplies the quotes) and
`{:literal}` (inserted as is, so it accepts only field and object names, never a value) and
`{:fields}` (a list of such names, joined with commas: a SELECT list).
Guards on top of the library: a `{:literal}` that is not a name, a naive datetime (it would be
read as local time) and an empty IN list (`IN ()` is a MALFORMED_QUERY) raise `ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import SoqlFormatter, quote_soql_value

#: A field or object name, or a relationship path such as `Parent.Parent.ParentId`.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


class _GuardedFormatter(SoqlFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec == "literal" and not (isinstance(value, str) and _NAME.fullmatch(value)):
            msg = f"{{:literal}} takes a field or object name, not {value!r}"
            raise ValueError(msg)
        if format_spec == "fields":
            names = list(value) if isinstance(value, list | tuple) else None
            if not names or not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names):
                msg = f"{{:fields}} takes a non-empty list of field names, not {value!r}"
                raise ValueError(msg)
            return ", ".join(names)
        if not format_spec:
            _check_value(value)
        return super().format_field(value, format_spec)


def _check_value(value: Any) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        msg = f"SOQL datetimes must be timezone-aware (UTC); got naive {value.isoformat()}"
        raise ValueError(msg)
    if isinstance(value, list | set | tuple):
        if not value:
            msg = "an empty list cannot be a SOQL IN list"
            raise ValueError(msg)
        for member in value:
            _check_value(member)


def soql(template: str, *args: Any, **kwargs: Any) -> str:
    """`template` with its `{}`/`{:like}`/`{:literal}` fields filled in, escaped for SOQL."""
    return _GuardedFormatter().vformat(template, args, kwargs)


#: Ids per read by Id, and the longest IN list a query may carry (well within SOQL's 100,000
#: characters a query and the URL length a GET carries it in).
IDS_PER_QUERY = 200
MAX_IN_LIST_CHARS = 9_000


def moment(value: Any) -> datetime | None:
    """A Salesforce datetime (`2026-11-23T10:00:00.000+0000`, or one parsed already) as an
    aware UTC datetime; None for an empty or unreadable one."""
    if not value:
        return None
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def quoted_length(value: Any) -> int:
    """How many characters `value` takes once quoted into SOQL."""
    return len(quote_soql_value(value))


def in_chunks(
    values: Iterable[Any], max_chars: int, max_items: int | None = None
) -> Iterator[list[Any]]:
    """Split `values` into lists whose quoted IN list `(a,b,...)` stays within `max_chars`
    (and `max_items`), so every query built from them stays within Salesforce's limits.

    A single value longer than `max_chars` gets a list of its own rather than being dropped.
    """
    chunk: list[Any] = []
    size = 2  # the parentheses
    for value in values:
        extra = quoted_length(value) + (1 if chunk else 0)
        full = max_items is not None and len(chunk) >= max_items
        if chunk and (full or size + extra > max_chars):
            yield chunk
            chunk, size, extra = [], 2, quoted_length(value)
        chunk.append(value)
        size += extra
    if chunk:
        yield chunk
