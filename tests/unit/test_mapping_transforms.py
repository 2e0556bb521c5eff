"""Mapping transforms: any text in, a value or a documented TransformError out, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import phonenumbers
import pycountry
import pytest
import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connector.countries import country_code
from connector.mapping.model import (
    SIMPLE_TRANSFORMS,
    Concat,
    Default,
    MapValues,
    Phone,
    SplitName,
    Template,
    Truncate,
)
from connector.mapping.transforms import (
    TransformError,
    chain,
    compile_transform,
    phone_e164,
    source,
    to_date,
    to_datetime,
    truncate,
    utf16_length,
)

GRAPHEME = regex.compile(r"\X")
#: Text that stresses character boundaries: combining marks, emoji ZWJ sequences and
#: modifiers, regional-indicator flags, Hangul jamo, CR LF, surrogate-range code points.
TRICKY = st.lists(
    st.sampled_from(
        [
            "a",
            "e\u0301",  # e + combining acute
            "a\u0308\u0304",  # two combining marks
            "👩\u200d👩\u200d👧\u200d👦",  # family: ZWJ sequence
            "👍🏽",  # modifier
            "🇸🇪",  # flag: two regional indicators
            "\u1100\u1161\u11a8",  # Hangul jamo forming one syllable
            "\r\n",
            "𝔘",  # beyond the BMP: two UTF-16 units
            "x",
            " ",
        ]
    ),
    max_size=40,
).map("".join)
ANY_TEXT = st.one_of(st.text(), TRICKY)


def _clusters(text: str) -> list[str]:
    return GRAPHEME.findall(text)


@settings(max_examples=400)
@given(text=ANY_TEXT, limit=st.integers(min_value=1, max_value=60))
def test_truncate_respects_the_limit_and_never_splits_a_character(text, limit):
    """truncate: N keeps at most N Salesforce characters and only whole grapheme clusters."""
    out = truncate(text, limit)
    assert utf16_length(out) <= limit
    assert text.startswith(out)
    # The cut falls on a cluster boundary: the kept part is whole clusters of the original.
    kept = _clusters(text)[: len(_clusters(out))]
    assert "".join(kept) == out
    # ... and as much as fits: the next cluster would break the limit.
    rest = _clusters(text)[len(kept) :]
    if rest:
        assert utf16_length(out + rest[0]) > limit


def test_truncate_examples():
    """Accents and emoji sequences stay whole; an emoji beyond U+FFFF counts as two."""
    assert truncate("Café au lait", 4) == "Café"
    assert truncate("Cafe\u0301", 4) == "Caf"  # é written as e + accent needs 5
    family = "👩\u200d👩\u200d👧"
    assert truncate(f"ab{family}", 3) == "ab"
    assert truncate("𝔘𝔘𝔘", 3) == "𝔘"
    assert truncate("ab\r\ncd", 3) == "ab"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SIMPLE_TRANSFORMS), text=ANY_TEXT)
def test_simple_transforms_never_raise_anything_but_transform_error(name, text):
    """strip/lower/upper/country_code/phone_e164/date/datetime: text out, or TransformError."""
    fn = compile_transform(name)
    try:
        out = fn(text)
    except TransformError as exc:
        assert exc.value == text
        assert exc.message
    else:
        assert out is None or isinstance(out, str)


@settings(max_examples=200)
@given(text=ANY_TEXT, part=st.sampled_from(["first", "last"]))
def test_split_name_never_raises(text, part):
    """split_name on any text gives text."""
    assert isinstance(compile_transform(SplitName(split_name=part))(text), str)


@settings(max_examples=200)
@given(text=ANY_TEXT, region=st.sampled_from(["SE", "DE", "US", "GB", "FR", "XX"]))
def test_phone_with_a_region_never_raises_anything_else(text, region):
    """phone_e164 with a region: E.164 text or TransformError for any text."""
    try:
        out = compile_transform(Phone.model_validate({"phone_e164": {"region": region}}))(text)
    except TransformError:
        return
    assert out.startswith("+") and out[1:].isdigit()


def _library(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONE_SHAPES = st.builds(
    lambda plus, code, digits, sep: (
        ("+" + str(code) if plus else "0") + sep + sep.join([digits[:3], digits[3:6], digits[6:]])
    ),
    st.booleans(),
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.text(alphabet="0123456789", min_size=4, max_size=13),
    st.sampled_from([" ", "-", "", ".", " - "]),
)


@settings(max_examples=1500, deadline=None)
@given(value=PHONE_SHAPES, region=st.sampled_from([None, "SE", "DE", "US", "FR", "NO", "FI"]))
def test_phone_fast_paths_agree_with_phonenumbers(value, region):
    """Our fast paths give exactly what phonenumbers.parse + format give, or both refuse."""
    expected = _library(value, region)
    try:
        got = phone_e164(value, region)
    except TransformError:
        got = None
    assert got == expected


def test_phone_examples():
    """International numbers need no region; national ones take the mapping's region."""
    assert phone_e164("+46 70 185 49 14") == "+46701854914"
    assert phone_e164("070-415 77 18", "SE") == "+46704157718"
    assert phone_e164("030 13301756", "DE") == "+493013301756"
    with pytest.raises(TransformError, match="give phone_e164 a region"):
        phone_e164("070-415 77 18")
    with pytest.raises(TransformError, match="not a phone number"):
        phone_e164("call me", "SE")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Sverige", "SE"),
        ("Deutschland", "DE"),
        ("Suomi", "FI"),
        ("Norge", "NO"),
        ("Danmark", "DK"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("ÖSTERREICH", "AT"),
        ("Schweiz", "CH"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.S.A.", "US"),
        ("Sweden", "SE"),
        ("日本", "JP"),
        ("Viet Nam", "VN"),
        ("swe", "SE"),
        (" no ", "NO"),
    ],
)
def test_country_names_in_common_languages_become_iso_codes(name, code):
    """country_code knows English, local and everyday names, codes and their cases."""
    assert country_code(name) == code


@given(country=st.sampled_from(sorted(pycountry.countries, key=lambda c: c.alpha_2)))
def test_country_code_of_an_iso_code_is_itself(country):
    """Round trip: the ISO code (alpha-2 or alpha-3, any case) of a country gives its code."""
    assert country_code(country.alpha_2) == country.alpha_2
    assert country_code(country.alpha_3.lower()) == country.alpha_2
    assert country_code(country.name) == country.alpha_2


def test_unknown_country_is_a_transform_error():
    """A name no table knows fails the record rather than writing a wrong country."""
    with pytest.raises(TransformError, match="not a country name"):
        compile_transform("country_code")("Narnia")


@settings(max_examples=300)
@given(
    table=st.dictionaries(st.text(min_size=1), st.text(min_size=1), min_size=1, max_size=8),
    default=st.text(min_size=1),
    value=st.text(min_size=1),
)
def test_map_with_default_is_total(table, default, value):
    """map + default gives a value for every input: the table's, or the default."""
    fn = compile_transform(MapValues(map=table, default=default))
    assert fn(value) == table.get(value, default)


@settings(max_examples=300)
@given(
    table=st.dictionaries(st.text(min_size=1), st.text(min_size=1), min_size=1, max_size=8),
    value=st.text(min_size=1),
)
def test_map_without_default_fails_exactly_the_uncovered_values(table, value):
    """Without a default, a value no key covers is a TransformError naming the value."""
    fn = compile_transform(MapValues(map=table))
    if value in table:
        assert fn(value) == table[value]
    else:
        with pytest.raises(TransformError) as excinfo:
            fn(value)
        assert excinfo.value.value == value


@settings(max_examples=300)
@given(pairs=st.lists(st.tuples(st.text(min_size=1), st.text(min_size=1)), min_size=1, max_size=8))
def test_map_and_its_inverse_round_trip(pairs):
    """A one-to-one map and its inverse bring every key back."""
    table = dict(pairs)
    assume(len(set(table.values())) == len(table))
    forward = compile_transform(MapValues(map=table))
    backward = compile_transform(MapValues(map={v: k for k, v in table.items()}))
    for key in table:
        assert backward(forward(key)) == key


@given(text=ANY_TEXT)
def test_idempotent_pairs(text):
    """lower after lower, upper after upper, strip after strip change nothing more."""
    for name in ("lower", "upper", "strip"):
        fn = compile_transform(name)
        assert fn(fn(text)) == fn(text)


@given(text=ANY_TEXT)
def test_dates_round_trip(text):
    """A date that parses gives YYYY-MM-DD, and that date gives itself again."""
    try:
        day = to_date(text)
    except TransformError:
        return
    assert to_date(day) == day
    assert to_datetime(day) == f"{day}T00:00:00.000Z"


def test_date_examples():
    """HubSpot's ISO dates, datetimes with offsets and epoch milliseconds are read as UTC."""
    assert to_date("2024-05-31") == "2024-05-31"
    assert to_date("2024-05-31T23:30:00-02:00") == "2024-06-01"
    assert to_datetime("1700000123456") == "2023-11-14T22:15:23.456Z"
    assert to_datetime("2024-05-31T10:00:00Z") == "2024-05-31T10:00:00.000Z"
    with pytest.raises(TransformError, match="not a date"):
        to_date("31/05/2024")
    with pytest.raises(TransformError, match="past the year 9999"):
        to_date("999999999999999")


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.sampled_from(
            [
                "strip",
                "lower",
                "upper",
                Truncate(truncate=5),
                Default(default="n/a"),
                MapValues(map={"a": "b"}, default="z"),
                SplitName(split_name="last"),
            ]
        ),
        max_size=5,
    ),
    text=st.one_of(st.none(), ANY_TEXT),
)
def test_chains_give_text_or_none_never_empty(steps, text):
    """A chain's result is None or non-empty text; a default at the end always fills."""
    out = chain(steps)(text)
    assert out is None or (isinstance(out, str) and out != "")
    if steps and isinstance(steps[-1], Default):
        assert out is not None


def test_empty_values_skip_transforms_and_take_defaults():
    """An empty value passes a map untouched; a later default fills it."""
    run = chain([MapValues(map={"x": "y"}), Default(default="none")])
    assert run(None) == "none"
    assert run("") == "none"
    assert run("x") == "y"
    assert chain(["strip", Default(default="d")])("   ") == "d"


def test_concat_and_template_build_from_several_properties():
    """concat joins the non-empty values; template fills placeholders (empty ones as "")."""
    props = {"first": "Ada", "last": "Lovelace", "title": None}
    assert source(Concat(concat=["first", "title", "last"], separator=" / "))(props) == (
        "Ada / Lovelace"
    )
    fill = source(Template(template="{first} {last} ({title}) {{literal}}"))
    assert fill(props) == "Ada Lovelace () {literal}"
    assert fill({}) is None


@settings(max_examples=200)
@given(props=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.one_of(st.none(), st.text())))
def test_template_and_concat_never_raise(props):
    """Any property values, braces included, fill a template without error."""
    filled = source(Template(template="{a}-{b}:{c}"))(props)
    if any(props.get(k) for k in "abc"):
        assert isinstance(filled, str)
    else:
        assert filled is None
    out = source(Concat(concat=["a", "b"]))(props)
    assert out is None or out != ""


@settings(max_examples=300)
@given(
    moment=st.datetimes(
        # hypothesis takes naive bounds and adds the time zones itself
        min_value=datetime(1, 1, 2),  # noqa: DTZ001
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]
        ),
    )
)
def test_datetime_is_idempotent_and_in_utc(moment):
    """Any datetime becomes UTC with milliseconds; the result given again comes back as is."""
    out = to_datetime(moment.isoformat())
    assert out == moment.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"
    assert to_datetime(out) == out
    assert to_datetime(f" {out} ") == out
