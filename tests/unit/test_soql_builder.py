"""SOQL is built only through `connector.salesforce.soql`: hostile values stay values."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from connector.salesforce.soql import in_chunks, quoted_length, soql
from connector.sandbox.app import SandboxConfig
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.soql import run
from connector.sandbox.seed import load_seed

HOSTILE_NAMES = [
    "' OR Name != '",
    "O'Brien & Sons",
    "Back\\slash Ltd",
    "Back\\",
    "100% Organic",
    "Under_score Inc",
    'Say "Hi" Ltd',
    "Line\nBreak LLC",
    "Tab\tand\rreturn",
    "東京商事 🚀",
    "\\' OR Id != null OR Name = '",
]
DECOYS = ["Plain Co", "100 Organic", "UnderXscore Inc", "O", "Back", "Line"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("' OR Name != '", "SELECT Id FROM Account WHERE Name = '\\' OR Name != \\''"),
        ("O'Brien", "SELECT Id FROM Account WHERE Name = 'O\\'Brien'"),
        ("Back\\slash", "SELECT Id FROM Account WHERE Name = 'Back\\\\slash'"),
        ("Back\\", "SELECT Id FROM Account WHERE Name = 'Back\\\\'"),
        ('Say "Hi"', "SELECT Id FROM Account WHERE Name = 'Say \\\"Hi\\\"'"),
        ("a\nb\rc\td\bf\fg", "SELECT Id FROM Account WHERE Name = 'a\\nb\\rc\\td\\bf\\fg'"),
        ("100%_x", "SELECT Id FROM Account WHERE Name = '100%_x'"),
        ("東京 🚀 Åsa", "SELECT Id FROM Account WHERE Name = '東京 🚀 Åsa'"),
    ],
)
def test_values_are_quoted_and_escaped(value: str, expected: str) -> None:
    """A `{}` value becomes one escaped string literal, whatever quotes or controls it holds."""
    assert soql("SELECT Id FROM Account WHERE Name = {}", value) == expected


def test_like_escapes_wildcards_and_quotes() -> None:
    """`{:like}` escapes `%` and `_` as well as quotes, so they match literally."""
    text = soql("SELECT Id FROM Account WHERE Name LIKE '{:like}%'", "100%_O'B\\")
    assert text == "SELECT Id FROM Account WHERE Name LIKE '100\\%\\_O\\'B\\\\%'"


def test_lists_become_in_lists() -> None:
    """A list becomes a parenthesised IN list of escaped literals."""
    text = soql("SELECT Id FROM Lead WHERE Email IN {}", ["a@x.com", "o'b@x.com", "c\\@x.com"])
    assert text == "SELECT Id FROM Lead WHERE Email IN ('a@x.com','o\\'b@x.com','c\\\\@x.com')"


def test_other_literal_kinds() -> None:
    """Booleans, null, numbers and aware datetimes use SOQL's literal forms (UTC)."""
    when = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
    text = soql(
        "WHERE a = {a} AND b = {b} AND c = {c} AND d = {d} AND e > {e}",
        a=True,
        b=None,
        c=5,
        d=1.5,
        e=when,
    )
    assert (
        text
        == "WHERE a = true AND b = null AND c = 5 AND d = 1.5 AND e > 2026-11-23T10:00:00+00:00"
    )


def test_literal_accepts_names_only() -> None:
    """`{:literal}` inserts field names and relationship paths, and refuses anything else."""
    assert soql("SELECT {:literal} FROM Account", "Parent.Parent.ParentId") == (
        "SELECT Parent.Parent.ParentId FROM Account"
    )
    for bad in ["Name FROM Account WHERE Name != null", "Name'", "", "a..b", "1x", 5]:
        with pytest.raises(ValueError, match="literal"):
            soql("SELECT {:literal} FROM Account", bad)


def test_naive_datetime_and_empty_list_refused() -> None:
    """A naive datetime (local time?) and an empty IN list (MALFORMED_QUERY) never reach SOQL."""
    with pytest.raises(ValueError, match="timezone-aware"):
        soql("WHERE CreatedDate > {}", datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="empty list"):
        soql("WHERE Email IN {}", [])
    with pytest.raises(ValueError, match="timezone-aware"):
        soql("WHERE CreatedDate IN {}", [datetime(2026, 1, 1)])  # noqa: DTZ001


def test_in_chunks_respects_item_and_char_limits() -> None:
    """Chunks never exceed the item count nor the quoted IN-list length, and keep order."""
    values = [f"user{i}@example.com" for i in range(450)]
    by_items = list(in_chunks(values, 100_000, 200))
    assert [len(c) for c in by_items] == [200, 200, 50]
    assert [v for c in by_items for v in c] == values

    by_chars = list(in_chunks(values, 200))
    assert all(len(soql("{}", c)) <= 200 for c in by_chars)
    assert [v for c in by_chars for v in c] == values
    assert len(by_chars) > 1
    # a chunk is only cut when the next value would not fit
    first = by_chars[0]
    assert len(soql("{}", [*first, values[len(first)]])) > 200


def test_in_chunks_counts_escapes() -> None:
    """The limit counts escaped characters: a quote-heavy value takes its escaped length."""
    value = "''''"
    assert quoted_length(value) == len("'\\'\\'\\'\\''")
    assert list(in_chunks([value, value], quoted_length(value) * 2 + 2)) == [[value], [value]]
    assert list(in_chunks([value, value], quoted_length(value) * 2 + 3)) == [[value, value]]


@pytest.fixture(scope="module")
def org() -> Org:
    """A sandbox org holding accounts with hostile names, and decoys they must not match."""
    seed = {"salesforce": {"Account": [{"Name": n} for n in HOSTILE_NAMES + DECOYS]}}
    return load_seed(seed, SandboxConfig())[0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_value_matches_only_itself(org: Org, name: str) -> None:
    """Run through Salesforce's SOQL grammar, an escaped hostile value matches only its own
    record: no injection widens the WHERE clause."""
    result = run(org, soql("SELECT Name FROM Account WHERE Name = {}", name))
    assert [r["Name"] for r in result.records] == [name]
    listed = run(org, soql("SELECT Name FROM Account WHERE Name IN {}", [name, "nobody"]))
    assert [r["Name"] for r in listed.records] == [name]


def test_injection_payload_matches_nothing_else(org: Org) -> None:
    """The classic payload, quoted, selects no decoy (unescaped it would select everything)."""
    result = run(org, soql("SELECT Name FROM Account WHERE Name = {}", "x' OR Name != 'x"))
    assert result.records == []


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("100%", ["100% Organic"]),
        ("Under_", ["Under_score Inc"]),
        ("Back\\", ["Back\\slash Ltd", "Back\\"]),
    ],
)
def test_like_wildcards_match_literally(org: Org, prefix: str, expected: list[str]) -> None:
    """`%` and `_` in a LIKE prefix match themselves, not any characters."""
    text = soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%' ORDER BY Name", prefix)
    assert sorted(r["Name"] for r in run(org, text).records) == sorted(expected)


def test_field_lists_are_checked_names_joined_with_commas() -> None:
    """`{:fields}` builds a SELECT list from names only: a value smuggled in is refused."""
    assert (
        soql("SELECT {:fields} FROM Account WHERE Id IN {}", ["Id", "Parent.ParentId"], ["001A"])
        == "SELECT Id, Parent.ParentId FROM Account WHERE Id IN ('001A')"
    )
    for bad in ([], ["Id", "Name FROM Lead --"], "Id, Name", ["Id", "'x'"]):
        with pytest.raises(ValueError, match=r"\{:fields\} takes a non-empty list"):
            soql("SELECT {:fields} FROM Account", bad)


def test_activity_reads_keep_lead_ids_values_and_the_object_a_name(org: Org) -> None:
    """`queries.activities_on` quotes the Lead ids (a hostile one stays one value, which
    Salesforce's grammar refuses as an id instead of widening the query) and takes only an
    object name for the activity object."""
    from connector.salesforce.queries import activities_on
    from connector.sandbox.ids import to18
    from connector.sandbox.salesforce.soql import SoqlError

    since = datetime(2026, 12, 1, tzinfo=UTC)
    lead = to18("00Q000000000001")
    assert run(org, activities_on("Event", [lead], since)).records == []
    hostile = activities_on("Task", [lead, "x') OR (WhoId != null"], since)
    assert f"WhoId IN ('{lead}','x\\') OR (WhoId != null')" in hostile
    with pytest.raises(SoqlError, match=re.escape("invalid ID field: x') OR (WhoId != null")):
        run(org, hostile)
    with pytest.raises(ValueError, match=r"\{:literal\} takes a field or object name"):
        activities_on("Task WHERE Id != null OR Id", [lead], since)
