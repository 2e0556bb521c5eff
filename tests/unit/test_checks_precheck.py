"""The check before every pass (`connector.checks.precheck`): validate's own check of lead.yaml
and status.yaml, two reads, remembered for a few minutes per mapping."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from connector.checks.mapping_files import load_files
from connector.checks.precheck import CHECK_TTL, MappingCheck, MappingRefused
from connector.checks.validate import check_files
from connector.files.loader import MappingFileError
from connector.sandbox.app import Sandbox
from connector.sandbox.salesforce.rest_describe import describe
from tests.unit.mapping_corpus.schema import sandbox_schema

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"
EXT = "HubSpot_Contact_Id__c"
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def _answers() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sandbox = Sandbox()
    lead = describe(sandbox.org, sandbox.org.schema["Lead"], "59.0", "https://sandbox.test")
    properties = [p.to_api() for p in sandbox.portal.types["contacts"].properties.values()]
    return lead, properties


class Orgs:
    """The two reads the check makes, answered as the sandbox would, and counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe(self, sobject: str) -> dict[str, Any]:
        self.calls.append(f"describe {sobject}")
        return _answers()[0]

    def properties(self, object_type: str = "contacts") -> list[dict[str, Any]]:
        self.calls.append(f"properties {object_type}")
        return _answers()[1]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    shutil.copy(REPO_MAPPINGS / "lead.yaml", tmp_path / "lead.yaml")
    return tmp_path


def _edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_one_describe_and_one_properties_read_remembered_for_the_ttl(directory):
    """The first pass reads the Lead describe and the contact properties; the next ones within
    the TTL read nothing; after it, both again: a long-running process re-checks."""
    orgs, clock = Orgs(), Clock()
    check = MappingCheck(clock=clock)
    files = load_files(directory)
    assert check(files, orgs, orgs, external_id_field=EXT) == ()
    assert orgs.calls == ["describe Lead", "properties contacts"]
    clock.now += CHECK_TTL - timedelta(seconds=1)
    check(load_files(directory), orgs, orgs, external_id_field=EXT)
    assert len(orgs.calls) == 2
    clock.now += timedelta(seconds=1)
    check(load_files(directory), orgs, orgs, external_id_field=EXT)
    assert len(orgs.calls) == 4


def test_a_changed_mapping_is_checked_at_once_and_a_refusal_is_not_remembered(directory):
    """Within the TTL, an edited lead.yaml is checked again (and refused: validate's finding,
    at its line); a comment alone changes nothing; the refused mapping is read again on the
    next pass, so a property created in HubSpot meanwhile is seen at once."""
    orgs, clock = Orgs(), Clock()
    check = MappingCheck(clock=clock)
    check(load_files(directory), orgs, orgs, external_id_field=EXT)
    _edit(directory, "lead.yaml", "# HubSpot contact property -> ", "# A comment. ")
    check(load_files(directory), orgs, orgs, external_id_field=EXT)
    assert len(orgs.calls) == 2

    _edit(directory, "lead.yaml", "{hubspot: jobtitle,", "{hubspot: job_title_typo,")
    files = load_files(directory)
    with pytest.raises(MappingRefused) as refused:
        check(files, orgs, orgs, external_id_field=EXT)
    assert len(orgs.calls) == 4
    expected = check_files(files, sandbox_schema(), external_id_field=EXT)
    assert refused.value.problems == tuple(expected)
    assert str(refused.value).splitlines()[0] == (
        f"{directory / 'lead.yaml'}:33:15: fields.4.hubspot: unknown HubSpot contact property "
        "'job_title_typo'; did you mean 'jobtitle'?"
    )
    with pytest.raises(MappingRefused):
        check(files, orgs, orgs, external_id_field=EXT)
    assert len(orgs.calls) == 6


def test_status_yaml_is_checked_with_the_same_two_reads(directory):
    """status.yaml's statuses, copied Lead fields and contact properties need no further call;
    a relationship path (more describes) and a list (HubSpot's lists API) are left to
    validate: not checked here, and never a refusal."""
    (directory / "status.yaml").write_text(
        "copy:\n  Owner.Email: salesforce_owner_email\n  OwnerId: salesforce_owner_id\n"
        "accepted_leave_lists: [Some list]\n"
        "statuses:\n  Working - Contacte: {kind: accepted}\n"
    )
    orgs = Orgs()
    with pytest.raises(MappingRefused) as refused:
        MappingCheck()(load_files(directory), orgs, orgs, external_id_field=EXT)
    assert orgs.calls == ["describe Lead", "properties contacts"]
    (problem,) = refused.value.problems
    assert problem.path.name == "status.yaml"
    assert "'Working - Contacte' is not a value of Salesforce's Lead Status picklist" in (
        problem.message
    )


def test_errors_only_some_records_meet_do_not_refuse_a_pass(directory):
    """An option no map entry covers fails validate, but a pass goes on (each contact with it
    fails alone, named): the check gives it back instead of refusing."""
    _edit(
        directory,
        "lead.yaml",
        "# HubSpot contact properties that receive",
        "  - {hubspot: hs_lead_status, salesforce: Status, transform: [{map: {NEW: Open - Not "
        "Contacted}}]}\n\n# HubSpot contact properties that receive",
    )
    orgs = Orgs()
    kept = MappingCheck()(load_files(directory), orgs, orgs, external_id_field=EXT)
    (problem,) = kept
    assert (problem.severity, problem.scope) == ("error", "records")
    assert "have no map entry and the map has no default" in problem.message


def test_a_structure_problem_refuses_before_any_call(directory):
    """A file that does not load is refused with the loader's lines, nothing read."""
    (directory / "status.yaml").write_text("statusez: {}\n")
    orgs = Orgs()
    with pytest.raises(MappingFileError) as refused:
        MappingCheck()(load_files(directory), orgs, orgs, external_id_field=EXT)
    assert "unknown key 'statusez'" in str(refused.value)
    assert orgs.calls == []
