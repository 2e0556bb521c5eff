"""Findings about a loaded mapping file, each a `Problem` at the line it is about: what every
check of a file against the live schemas reports through, in one order (line, column, message).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connector.files.loader import Loaded, Problem, Severity, key_node

#: Where in a file a finding is: its keys and list indexes (`("fields", 3, "salesforce")`).
Loc = tuple[str | int, ...]


@dataclass
class Findings:
    """Problems about one loaded file; `at_key` points at a mapping key (a status, a copied
    field) instead of its value."""

    loaded: Loaded[Any]
    problems: list[Problem] = field(default_factory=list)

    def add(
        self, loc: Loc, message: str, severity: Severity = "error", *, at_key: bool = False
    ) -> None:
        problem = self.loaded.problem(loc, message, severity)
        key = key_node(self.loaded.root, loc) if at_key else None
        if key is not None:
            line, column = key.start_mark.line + 1, key.start_mark.column + 1
            problem = Problem(problem.path, line, column, problem.message, severity)
        self.problems.append(problem)

    def unchecked(self, loc: Loc, what: str, *, at_key: bool = False) -> None:
        """What the (cached) schema cannot tell: a warning saying how to check it."""
        self.add(
            loc,
            f"not checked: the schema has no {what} (a cache holds what the files named when "
            "it was fetched); run `leadbridge mappings validate` without --offline",
            "warning",
            at_key=at_key,
        )


def ordered(problems: Iterable[Problem]) -> list[Problem]:
    """In file order: by line, column, then message."""
    return sorted(problems, key=lambda p: (p.line, p.column, p.message))
