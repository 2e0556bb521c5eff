"""The project's documents stand alone: every file they point to is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / name for name in ("mappings/README.md", "scripts/README.md")),
    ]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...


def _inside_repository(document: Path, target: str) -> Path | None:
    """The file `target` (relative to `document`) names, when it is inside the repository."""
    path = (document.parent / target.split("#", 1)[0]).resolve()
    return path if path.is_relative_to(ROOT.resolve()) else None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files_in_the_repository(document: Path) -> None:
    """Every relative link of the Markdown documents opens a file a clone of the repo has."""
    text = document.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        path = _inside_repository(document, target)
        if path is None or not path.exists():
            broken.append(target)
    assert broken == [], f"{document.relative_to(ROOT)} links to what a clone does not have"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_document_names_a_file_outside_the_repository(document: Path) -> None:
    """A path such as `../shared/DESIGN.md` names what only the authors' machine has."""
    text = document.read_text(encoding="utf-8")
    outside = [
        path
        for path in CODE.findall(text)
        if path.startswith("../") and _inside_repository(document, path) is None
    ]
    assert outside == []


def test_docs_exist_and_are_linked_from_the_readme() -> None:
    """The architecture document ships with the code, and the README leads to it."""
    assert (ROOT / "docs" / "architecture.md").is_file()
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
