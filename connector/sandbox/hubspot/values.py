"""Property values as HubSpot stores, returns and compares them.

HubSpot's CRM v3 API carries every property value as a string. Datetimes come back as ISO 8601
with milliseconds and `Z` (`2024-01-17T19:55:04.281Z`) and may be written either that way or as
epoch milliseconds; dates come back as `YYYY-MM-DD`. Search compares datetimes as epoch
milliseconds, numbers numerically and strings case-insensitively, so `typed()` turns a stored
string into the value those comparisons need.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"^-?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.lru_cache(maxsize=8192)
def iso_ms(epoch_ms: int) -> str:
    """`1700000000000` → `2023-11-14T22:13:20.000Z`, the form HubSpot returns datetimes in."""
    seconds, millis = divmod(epoch_ms, 1000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}Z"
    )


def parse_datetime_ms(value: str) -> int | None:
    """Epoch milliseconds from epoch-ms digits or an ISO 8601 datetime/date; None if neither."""
    text = value.strip()
    if _DIGITS.match(text):
        return int(text)
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def parse_number(value: str) -> Decimal | None:
    """The number a string holds, or None (HubSpot accepts plain decimal notation)."""
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def as_text(value: Any) -> str:
    """A JSON property value as the string HubSpot stores (`true` → `"true"`, null → `""`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def typed(kind: str, stored: str) -> Any:
    """The comparable form of a stored value: ms for datetimes, float for numbers, else text."""
    if kind in ("datetime", "date"):
        return parse_datetime_ms(stored)
    if kind == "number":
        number = parse_number(stored)
        return float(number) if number is not None else None
    return stored
