"""SOQL has one home: every query text is in `connector/salesforce/` (the sandbox, a Salesforce
of its own, aside), and none is an f-string, so each goes through the escaping helper."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "connector"
HOME = PACKAGE / "salesforce"
SANDBOX = PACKAGE / "sandbox"

#: `SELECT` and a field list (names, paths, `{...}` placeholders), then `FROM` or the end of the
#: string (a text continued elsewhere): the shape of a query, not a word in a sentence.
_FIELDS = r"SELECT\s+(?:[\w.{}:]+\s*,\s*)*[\w.{}:]+"
SOQL = re.compile(rf"\b{_FIELDS}\s+FROM\b|\b{_FIELDS}\s*$")


def _texts(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """Every string of a module, docstrings included: (line, text, is an f-string). An
    f-string's text has `{}` where its values go."""
    parts: dict[int, str] = {}
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
            found.append((node.lineno, text, True))
            parts.update({id(v): "" for v in node.values})
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            found.append((node.lineno, node.value, False))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if SANDBOX not in p.parents)


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for line, text, formatted in _texts(tree):
        if not SOQL.search(text):
            continue
        if formatted:
            out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: SOQL in an f-string")
        elif HOME not in path.parents:
            out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: SOQL outside salesforce/")
    return out


def test_no_module_outside_salesforce_writes_soql() -> None:
    """Streams, routing, checks, commands and the demo ask the gateway's typed reads (or take a
    text from `connector.salesforce.queries`); none writes a query, and none builds one with an
    f-string."""
    assert [o for path in _modules() for o in _offences(path)] == []


def test_the_queries_live_in_salesforce() -> None:
    """The check sees the queries where they are: it is not vacuous."""
    found = [t for _, t, _ in _texts(ast.parse((HOME / "queries.py").read_text("utf-8")))]
    assert sum(1 for text in found if SOQL.search(text)) >= 20


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ('q = "SELECT Id, Name FROM Account"', True),
        ('q = "SELECT {:fields} FROM Lead WHERE Id IN {}"', True),
        ('q = "SELECT Id, Parent.Name "\n', True),  # continued on another line
        ("q = f'SELECT Id FROM Lead WHERE Email = {email}'", True),
        ('q = f"SELECT {names} FROM " + table', True),
        ('"""Begins no transaction for DDL and SELECT; see the docs."""', False),
        ('"""Select the Leads from the org."""', False),
        ('msg = "a SELECT list takes names"', False),
    ],
)
def test_what_counts_as_soql(source: str, caught: bool) -> None:
    """Query text is recognised in plain strings, docstrings and f-strings; prose that only
    mentions SELECT is not."""
    assert any(SOQL.search(text) for _, text, _ in _texts(ast.parse(source))) is caught
