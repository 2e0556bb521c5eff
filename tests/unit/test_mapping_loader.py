"""Loading mappings/lead.yaml: the shipped file is valid, broken files say file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping.loader import load_lead_mapping
from connector.mapping.plan import LeadPlan, values_hash

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"


def test_shipped_lead_mapping_loads_and_maps_a_contact():
    """The bundled lead.yaml maps standard properties, with the Company default."""
    plan = LeadPlan.compile(load_lead_mapping(REPO_MAPPINGS))
    fields = plan.map(
        {"firstname": " Ada ", "lastname": "Lovelace", "email": " ADA@Acme.Test", "company": "  "}
    )
    assert fields["FirstName"] == "Ada"
    assert fields["Email"] == "ada@acme.test"
    assert fields["Company"] == "[not provided]"
    assert fields["Title"] is None
    assert {"email", "lifecyclestage", "hubspotscore", "salesforceleadid"} <= set(
        plan.hubspot_properties()
    )


def test_hash_is_stable_across_key_order():
    """The echo hash depends on the values only, not on dict order."""
    assert values_hash({"a": 1, "b": "x"}) == values_hash({"b": "x", "a": 1})
    assert values_hash({"a": 1}) != values_hash({"a": 2})


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lead.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_every_error_is_reported_with_line_and_column(tmp_path):
    """Two mistakes in one file: both reported, each at its own line and column."""
    directory = _write(
        tmp_path,
        (
            "include:\n"
            "  min_stage: marketingqualifiedlead\n"
            "  colour: blue\n"
            "fields:\n"
            "  - {hubspot: email, salesforce: Email}\n"
            "  - hubspot: lastname\n"
            "    transform: [strip, shout]\n"
        ),
    )
    with pytest.raises(MappingError) as excinfo:
        load_lead_mapping(directory)
    lines = str(excinfo.value).splitlines()
    path = directory / "lead.yaml"
    assert f"{path}:3:11: include.colour: unknown key 'colour'" in lines
    assert any(
        line.startswith(f"{path}:6:5: fields.1.salesforce: Field required") for line in lines
    ), lines
    assert any(
        line.startswith(f"{path}:7:24: fields.1.transform.1: unknown transform") for line in lines
    ), lines


def test_unknown_min_stage_names_the_known_stages(tmp_path):
    """A min_stage outside the stage list is refused with the list shown."""
    directory = _write(
        tmp_path, "include: {min_stage: mql}\nfields: [{hubspot: a, salesforce: B}]\n"
    )
    with pytest.raises(MappingError, match="min_stage 'mql' is not one of stages"):
        load_lead_mapping(directory)


def test_broken_yaml_is_one_line_with_position(tmp_path):
    """A YAML syntax error names the file, line and column."""
    directory = _write(tmp_path, "fields:\n  - {hubspot: a, salesforce: B\n")
    with pytest.raises(MappingError) as excinfo:
        load_lead_mapping(directory)
    assert str(excinfo.value).startswith(f"{directory / 'lead.yaml'}:3:1: invalid YAML")


def test_missing_file_is_named(tmp_path):
    """No lead.yaml in the mappings directory: the path is named."""
    with pytest.raises(MappingError, match=r"lead\.yaml: cannot read mapping file"):
        load_lead_mapping(tmp_path)
