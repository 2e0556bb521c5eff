"""Untrusted values shown to people: escaped like `repr`, clipped with their length said."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.display import (
    LINE_LIMIT,
    VALUE_LIMIT,
    clip,
    escape,
    for_terminal,
    shorten,
    show,
    show_message,
)
from connector.model import FieldError, describe_errors
from connector.streams.contacts.stream import ContactsSummary
from connector.streams.conversions.stream import ConversionsSummary
from connector.streams.leads.stream import LeadsSummary

#: Any text at all: control characters, separators, bidi overrides, lone surrogates, astral.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=400) | st.text(
    st.sampled_from("\x1b]0;pwned\x07\n\r\t\x00\x7f\x85\x9b\u2028\u202e\ud800'\"\\ aé漢😀"),
    max_size=3000,
)
LIMITS = st.integers(min_value=32, max_value=600)
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 200)[:10_240]


def _no_control(text: str) -> bool:
    return text.isprintable()


@given(ANY_TEXT, LIMITS)
def test_show_never_lets_a_non_printable_through_and_stays_within_its_limit(
    text: str, limit: int
) -> None:
    """Any value shows as printable text no longer than the limit; clipped, it says its length."""
    shown = show(text, limit)
    assert _no_control(shown)
    assert len(shown) <= limit
    if shown.endswith(" chars)"):
        quoted, _, length = shown.rpartition(" (")
        assert length == f"{len(text):,} chars)"
        assert quoted[-2:] in ("…'", '…"')  # repr's own choice of quotes
        assert text.startswith(ast.literal_eval(quoted[:-2] + quoted[-1]))
    else:
        assert ast.literal_eval(shown) == text  # whole, it is exactly the value's repr


@given(ANY_TEXT, LIMITS)
def test_clip_escapes_and_bounds_any_text(text: str, limit: int) -> None:
    """Clipped text is printable, within the limit, and says the full length when cut."""
    clipped = clip(text, limit)
    assert _no_control(clipped)
    assert len(clipped) <= limit
    if clipped != escape(text):
        assert clipped.endswith(f"… ({len(text):,} chars)")


@given(ANY_TEXT)
def test_escape_is_printable_idempotent_and_keeps_printable_text(text: str) -> None:
    """Escaping drops nothing, leaves printable text alone and is safe to apply twice."""
    escaped = escape(text)
    assert _no_control(escaped)
    assert escape(escaped) == escaped
    if text.isprintable():
        assert escaped == text


@given(ANY_TEXT, st.integers(min_value=32, max_value=200))
def test_for_terminal_escapes_each_line_and_drops_none(text: str, width: int) -> None:
    """The last pass keeps every line (split on newlines only), each printable and bounded."""
    lines = for_terminal(text, width).split("\n")
    assert len(lines) == text.count("\n") + 1
    assert all(_no_control(line) and len(line) <= width for line in lines)


@given(ANY_TEXT, ANY_TEXT, LIMITS)
def test_show_message_is_bounded_and_printable_whatever_it_echoes(
    message: str, value: str, limit: int
) -> None:
    """A remote's message comes out printable and within the limit, whatever values it holds."""
    shown = show_message(message + value + " (max length=80)", [value], limit)
    assert _no_control(shown)
    assert len(shown) <= limit


@given(ANY_TEXT, LIMITS)
def test_shorten_bounds_without_escaping(text: str, limit: int) -> None:
    """For JSON, which escapes by itself: bounded, the start kept as it is."""
    short = shorten(text, limit)
    assert len(short) <= limit
    if short != text:
        assert short.endswith(f"… ({len(text):,} chars)")
        assert text.startswith(short[: short.index("… (")])


def test_a_long_value_shows_its_start_and_its_length() -> None:
    """The issue's example: `'Lorem…' (10,240 chars)`."""
    assert show(LOREM) == "'Lorem ipsum dolor sit amet, consectetur ad…' (10,240 chars)"
    assert len(show(LOREM)) <= VALUE_LIMIT


def test_a_terminal_title_sequence_shows_escaped() -> None:
    """An xterm title sequence in a name is shown, escaped as repr does, never sent raw."""
    assert show("\x1b]0;pwned\x07Smith") == "'\\x1b]0;pwned\\x07Smith'"
    assert escape("a\x1b[2Jb\u202ec") == "a\\x1b[2Jb\\u202ec"


def test_printable_text_of_any_script_is_left_alone() -> None:
    """Accents, CJK and emoji are printable: nothing to escape."""
    for text in ("Jürgen Groß", "錦織 圭", "Data Engineer 😀"):
        assert escape(text) == text
        assert show(text) == repr(text)


def test_salesforce_message_keeps_its_words_with_the_echoed_value_clipped() -> None:
    """`STRING_TOO_LONG`'s message keeps the field label and `(max length=N)`; the value is
    shown clipped, with its length."""
    message = f"Street: data value too large: {LOREM} (max length=255)"
    assert show_message(message, [LOREM]) == (
        f"Street: data value too large: {show(LOREM)} (max length=255)"
    )


def test_a_message_without_known_values_keeps_its_start_and_end() -> None:
    """When the echoed value is not known, the message is escaped and cut in the middle, so
    Salesforce's `(max length=N)` at its end survives."""
    message = f"Street: data value too large: {LOREM} (max length=255)"
    shown = show_message(message, limit=200)
    assert len(shown) == 200
    assert shown.startswith("Street: data value too large: Lorem ipsum")
    assert shown.endswith(" (max length=255)")
    assert f"[{len(message):,} chars in all]" in shown
    assert "\n" not in shown


def test_short_printable_values_stay_as_the_remote_wrote_them() -> None:
    """Nothing to hide: a short, printable message is unchanged, quotes and all."""
    message = "Email: invalid email address: jürgen.groß@example.de"
    assert show_message(message, ["jürgen.groß@example.de"]) == message


def test_record_errors_show_the_value_sent_for_the_field_they_name() -> None:
    """`describe_errors` finds the echoed value among the values sent and clips it."""
    name = "\x1b]0;pwned\x07" + "x" * 100
    error = FieldError(
        "STRING_TOO_LONG", f"Last Name: data value too large: {name} (max length=80)", ("LastName",)
    )
    reason = describe_errors((error,), {"LastName": name, "Company": "Acme"})
    assert reason == (
        f"STRING_TOO_LONG: Last Name: data value too large: {show(name)} (max length=80) (LastName)"
    )
    assert _no_control(describe_errors((error,)))  # without the values: escaped all the same


def test_a_limit_too_small_to_say_the_length_is_refused() -> None:
    """Below 32 characters a clipped value and its length cannot both fit."""
    with pytest.raises(ValueError, match="at least 32"):
        show("x", 10)


def test_a_summary_line_is_bounded() -> None:
    """The last pass clips a line at LINE_LIMIT."""
    assert len(for_terminal("x" * 50_000)) == LINE_LIMIT


@pytest.mark.parametrize(
    "summary",
    [
        ContactsSummary("run1", failures=[("101", "bad \x1b]0;pwned\x07 value\nsecond line")]),
        LeadsSummary("run1", failures=[("00Q1", "bad \x1b[2J\r\nvalue")]),
        ConversionsSummary("run1", opportunity_failures=[("101", "\x9b31m" + "x" * 5000)]),
    ],
    ids=["sync", "feedback", "conversion"],
)
def test_every_summary_renders_one_printable_bounded_line_per_failure(summary: object) -> None:
    """Whatever a reason holds, a pass summary prints it escaped, on its own bounded line."""
    lines = summary.render().split("\n")  # type: ignore[attr-defined]
    assert all(line.isprintable() and len(line) <= LINE_LIMIT for line in lines)
    assert sum("\\x1b" in line or "\\x9b" in line for line in lines) == 1
