"""A corpus of broken mapping files: each gives exactly its expected findings, at their lines.

Every file in `mapping_corpus/` ends in `# expect: LINE:COL: SEVERITY: MESSAGE` lines. Structure
problems come from loading; the others from checking against the sandbox's schema (built
in-process). The findings of a file must be exactly the expected ones: no more, no fewer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.checks.lead import check
from connector.files.loader import MappingFileError, Problem, load_source
from connector.mapping.model import LeadMapping
from tests.unit.mapping_corpus.schema import sandbox_schema

CORPUS = Path(__file__).parent / "mapping_corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (error|warning): (.+)$", re.MULTILINE)


def findings(path: Path) -> list[Problem]:
    """What `leadbridge mappings validate` reports for a file against the sandbox schema."""
    try:
        loaded = load_source(path, LeadMapping)
    except MappingFileError as exc:
        return list(exc.problems)
    return check(loaded, sandbox_schema(), external_id_field="HubSpot_Contact_Id__c")


def test_the_corpus_is_large_enough():
    """At least twenty broken files, each with at least one expectation."""
    assert len(FILES) >= 20
    for path in FILES:
        assert EXPECT.search(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_file_reports_exactly_its_expected_findings(path):
    """Each expected finding appears at its line and column, and nothing else is reported."""
    expected = [
        (int(line), int(column), severity, message)
        for line, column, severity, message in EXPECT.findall(path.read_text(encoding="utf-8"))
    ]
    got = findings(path)
    assert len(got) == len(expected), [str(p) for p in got]
    for (line, column, severity, message), problem in zip(expected, got, strict=True):
        assert (problem.line, problem.column, problem.severity) == (line, column, severity), str(
            problem
        )
        assert problem.message.startswith(message), str(problem)
        assert str(problem).startswith(f"{path}:{line}:{column}: ")
