"""Value transforms named in mapping files, compiled once into plain functions.

A field's transforms run in order on its text. Empty values (None or "") skip every transform
but `default`, which fills them; a transform may empty a value (strip of spaces), and a later
`default` fills it then. A transform that cannot apply to a value (a map without that key and
without a default, a phone number that is none, a date that is not one) raises
`TransformError`; the plan turns it into the record's `MappingFailure`.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers
import regex
from nameparser import HumanName

from connector.countries import country_code
from connector.display import show
from connector.mapping.model import (
    Concat,
    Default,
    MapValues,
    Phone,
    SplitName,
    Template,
    Truncate,
    template_names,
)

#: A transform on non-empty text; it may return "" or None (empty) or raise TransformError.
Fn = Callable[[str], str | None]
#: A compiled chain: text or None in, text or None (never "") out.
Chain = Callable[[str | None], str | None]
#: Builds a field's value from the whole contact (concat, template).
Source = Callable[[Mapping[str, str | None]], str | None]


class TransformError(Exception):
    """A transform cannot apply to `value`; `message` says why, for the admin."""

    def __init__(self, value: str, message: str) -> None:
        super().__init__(f"{message} (value {show(value)})")
        self.value = value
        self.message = message


# -- truncate ----------------------------------------------------------------------------------
_GRAPHEME = regex.compile(r"\X")
_FORMATTER = string.Formatter()


def utf16_length(value: str) -> int:
    """Salesforce's length of a text: UTF-16 code units (an emoji beyond U+FFFF counts two)."""
    return len(value.encode("utf-16-le")) // 2


def truncate(value: str, limit: int) -> str:
    """The longest prefix of whole characters (grapheme clusters: a letter with its accents,
    an emoji with its modifiers and joiners) whose Salesforce length is at most `limit`.

    Salesforce counts UTF-16 code units (Knowledge article 005166849), so that is what is
    measured; a cluster longer than the limit on its own leaves "".
    """
    if len(value) <= limit and (value.isascii() or utf16_length(value) <= limit):
        return value
    if value.isascii():
        # Between two ASCII characters there is always a boundary, except inside CR LF.
        cut = limit - 1 if value[limit - 1 : limit + 1] == "\r\n" else limit
        return value[:cut]
    end = used = 0
    for match in _GRAPHEME.finditer(value):
        cluster = match.group()
        used += utf16_length(cluster)
        if used > limit:
            break
        end = match.end()
    return value[:end]


# -- phone numbers, dates, names -------------------------------------------------------------
def phone_e164(value: str, region: str | None = None) -> str:
    """The E.164 form (`+46701854914`) of a phone number; `region` is the country of numbers
    written without a country code."""
    fast = _international_e164(value) if region is None else _fast_e164(value, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            why = (
                "not an international number (+country code); give phone_e164 a region"
                if region is None
                else "no valid country code"
            )
        else:
            why = "not a phone number"
        raise TransformError(value, why) from None
    if not phonenumbers.is_possible_number(number):
        raise TransformError(value, "not a possible phone number (wrong length)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_SEPARATORS = str.maketrans("", "", " -.()")


def _international_e164(value: str) -> str | None:
    """The plain `+country digits` case without `phonenumbers.parse` (about 15 µs a call), or
    None to let parse decide. It takes only the cases where parse could not do anything but
    read the digits: no national prefix to strip, no leading zero, a possible length; a
    property test holds it equal to parse."""
    text = value.strip()
    if not text.startswith("+"):
        return None
    digits = text[1:].translate(_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 17 or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < 2 or national[0] == "0":
        return None
    country = _country_rules(code)
    if country is None or len(national) not in country[1]:
        return None
    if country[0] is not None and country[0].match(national):
        return None
    return f"+{code}{national}"


def _fast_e164(value: str, region: str) -> str | None:
    """`_international_e164`, or for a number in national form (`070-415 77 18`) in `region`
    the plain case of it: the national prefix stripped and nothing else parse could do."""
    text = value.strip()
    if text.startswith("+"):
        return _international_e164(text)
    rules = _region_rules(region)
    if rules is None:
        return None
    code, prefix, idd, pattern, lengths = rules
    digits = text.translate(_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()) or not digits.startswith(prefix):
        return None
    if idd.match(digits):
        return None
    national = digits[len(prefix) :]
    if not national or national[0] == "0" or len(national) not in lengths:
        return None
    if not pattern.fullmatch(national):
        return None
    return f"+{code}{national}"


@lru_cache(maxsize=256)
def _region_rules(
    region: str,
) -> tuple[int, str, regex.Pattern[str], regex.Pattern[str], frozenset[int]] | None:
    """What `_fast_e164` needs of a region (country code, its plain one-string national prefix,
    the international call prefix, the national number pattern, the possible lengths), or None
    when the region's rules are not that plain (prefix patterns, transform rules, ...)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.general_desc is None or metadata.country_code is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    general = metadata.general_desc
    if (
        not prefix
        or not prefix.isdigit()
        or prefix != metadata.national_prefix
        or metadata.national_prefix_transform_rule
        or not metadata.international_prefix
        or not general.national_number_pattern
        or general.possible_length_local_only
    ):
        return None
    return (
        metadata.country_code,
        prefix,
        regex.compile(metadata.international_prefix),
        regex.compile(general.national_number_pattern),
        frozenset(general.possible_length),
    )


@lru_cache(maxsize=512)
def _country_rules(code: int) -> tuple[regex.Pattern[str] | None, frozenset[int]] | None:
    """For a country code: the national prefix parse would strip (a pattern, or None), and the
    possible lengths of its national numbers (what `is_possible_number` checks); None when the
    code has no metadata."""
    region = phonenumbers.region_code_for_country_code(code)
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
    else:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.general_desc is None:
        return None
    general = metadata.general_desc
    lengths = frozenset((*general.possible_length, *(general.possible_length_local_only or ())))
    pattern = metadata.national_prefix_for_parsing
    return (regex.compile(pattern) if pattern else None), lengths


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // timedelta(
    milliseconds=1
)


def parse_moment(value: str) -> datetime | date:
    """A HubSpot date or datetime: epoch milliseconds, or ISO 8601 (a datetime without an
    offset is UTC)."""
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 15:
        if int(text) > _MAX_MS:
            raise TransformError(value, "a date past the year 9999")
        return _EPOCH + timedelta(milliseconds=int(text))
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        msg = "not a date (ISO 8601 such as 2024-05-31, or epoch milliseconds)"
        raise TransformError(value, msg) from None
    except OverflowError:  # in UTC it would fall before year 1 or after 9999
        raise TransformError(value, "a date outside the years 1 to 9999") from None


def to_date(value: str) -> str:
    """`YYYY-MM-DD` (the UTC day of a datetime)."""
    moment = parse_moment(value)
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def to_datetime(value: str) -> str:
    """ISO 8601 in UTC with milliseconds, as Salesforce writes them (a date is its midnight)."""
    text = value.strip()
    if len(text) == 24 and text[23] == "Z" and text[19] == "." and text.isascii():
        # Already the form HubSpot's v3 API and Salesforce use: checked, not rebuilt.
        try:
            datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return text
    moment = parse_moment(value)
    if not isinstance(moment, datetime):
        return f"{moment.isoformat()}T00:00:00.000Z"
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


def split_name(value: str, part: str) -> str:
    """`first` (given and middle names) or `last` (family name and suffix) of a full name; a
    single name is a family name, as Salesforce requires a last name."""
    name = HumanName(value)
    first = " ".join(p for p in (name.first, name.middle) if p)
    last = " ".join(p for p in (name.last, name.suffix) if p)
    if not last:
        first, last = "", first
    return first if part == "first" else last


def _country(value: str) -> str:
    code = country_code(value)
    if code is None:
        raise TransformError(value, "not a country name or ISO 3166 code leadbridge knows")
    return code


# -- compiling -------------------------------------------------------------------------------
_SIMPLE: dict[str, Fn] = {
    "strip": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "country_code": _country,
    "phone_e164": phone_e164,
    "date": to_date,
    "datetime": to_datetime,
}


def _lookup(spec: MapValues) -> Fn:
    table = dict(spec.map)
    if spec.has_default:
        default = spec.default
        return lambda value: table.get(value, default)

    def lookup(value: str) -> str | None:
        if value not in table:
            msg = "no map entry for this value and the map has no default"
            raise TransformError(value, msg)
        return table[value]

    return lookup


def compile_transform(spec: Any) -> Fn:
    """One transform spec (not `default`, concat or template) as a function on text."""
    if isinstance(spec, str):
        return _SIMPLE[spec]
    if isinstance(spec, Truncate):
        limit = spec.truncate
        return lambda value: truncate(value, limit)
    if isinstance(spec, MapValues):
        return _lookup(spec)
    if isinstance(spec, Phone):
        region = spec.phone_e164.region
        return lambda value: phone_e164(value, region)
    if isinstance(spec, SplitName):
        part = spec.split_name
        return lambda value: split_name(value, part)
    msg = f"not a value transform: {spec!r}"
    raise TypeError(msg)


def chain(specs: Sequence[Any]) -> Chain:
    """All transforms of a field (concat/template excluded: see `source`), applied in order."""
    steps: list[tuple[bool, Any]] = []
    for spec in specs:
        if isinstance(spec, Concat | Template):
            continue
        if isinstance(spec, Default):
            steps.append((True, spec.default))
        else:
            steps.append((False, compile_transform(spec)))
    if not steps:
        return _nonempty
    if len(steps) == 1 and not steps[0][0]:
        only = steps[0][1]
        return lambda value: (only(value) or None) if value else None
    if all(not is_default for is_default, _ in steps):
        fns = tuple(fn for _, fn in steps)

        def run_plain(value: str | None) -> str | None:
            for fn in fns:
                if not value:
                    return None
                value = fn(value)
            return value or None

        return run_plain

    plan = tuple(steps)

    def run(value: str | None) -> str | None:
        for is_default, step in plan:
            if value:
                if not is_default:
                    value = step(value)
            elif is_default:
                value = step
        return value or None

    return run


def _nonempty(value: str | None) -> str | None:
    return value or None


def source(spec: Concat | Template) -> Source:
    """A concat or template as a function of the contact's properties."""
    if isinstance(spec, Concat):
        names = tuple(spec.concat)
        separator = spec.separator

        def concat(properties: Mapping[str, str | None]) -> str | None:
            return separator.join(v for v in (properties.get(n) for n in names) if v) or None

        return concat
    names = tuple(dict.fromkeys(template_names(spec.template)))
    # `{firstname} {lastname}` → `{0} {1}`: positional formatting is the fast kind.
    positional = "".join(
        literal.replace("{", "{{").replace("}", "}}")
        + ("" if name is None else "{" + str(names.index(name)) + "}")
        for literal, name, _spec, _conversion in _FORMATTER.parse(spec.template)
    )

    def fill(properties: Mapping[str, str | None]) -> str | None:
        get = properties.get
        values = [get(n) or "" for n in names]
        if not any(values):
            return None
        return positional.format(*values).strip() or None

    return fill


def text_of(value: Any) -> str | None:
    """A Salesforce value as HubSpot text: `true`/`false`, numbers without a needless `.0`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
