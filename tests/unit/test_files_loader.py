"""Loading mappings/lead.yaml: the shipped file is valid, broken files say file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from connector.errors import MappingError
from connector.files.loader import MappingFileError, load_file
from connector.mapping.model import load_lead_mapping
from connector.mapping.plan import LeadPlan, values_hash

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"


def test_shipped_lead_mapping_loads_and_maps_a_contact():
    """The bundled lead.yaml maps standard properties, with the Company default."""
    plan = LeadPlan.compile(load_lead_mapping(REPO_MAPPINGS))
    fields = plan.map(
        {
            **dict.fromkeys(plan.hubspot_properties()),  # as HubSpot sends them: None if empty
            "firstname": " Ada ",
            "lastname": "Lovelace",
            "email": " ADA@Acme.Test",
            "company": "  ",
        }
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
    assert f"{path}:3:3: include.colour: unknown key 'colour'" in lines
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


def test_yaml_1_2_scalars_keep_country_codes_and_postal_codes_as_text(tmp_path):
    """`NO`, `yes`, `01234` and dates stay text (PyYAML's 1.1 rules would mangle them)."""
    directory = _write(
        tmp_path,
        (
            "include:\n"
            "  exclude:\n"
            "    conditions:\n"
            "      - {property: country, in: [NO, SE, yes, off]}\n"
            "      - {property: zip, equals: 01234}\n"
            "      - {property: createdate, equals: 2024-01-01}\n"
            "fields:\n"
            "  - hubspot: country\n"
            "    salesforce: Country\n"
            "    required: true\n"
            "    transform: [{map: {NO: Norway, true: yes, 10: ten}}, {truncate: 12}]\n"
        ),
    )
    mapping = load_lead_mapping(directory)
    conditions = mapping.include.exclude.conditions
    assert conditions[0].in_ == ["NO", "SE", "yes", "off"]
    assert conditions[1].equals == "01234"
    assert conditions[2].equals == "2024-01-01"
    field = mapping.fields[0]
    assert field.required is True
    assert field.transform[0].map == {"NO": "Norway", "true": "yes", "10": "ten"}
    assert field.transform[1].truncate == 12


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    """A key given twice is reported where it repeats, naming the first line."""
    directory = _write(
        tmp_path,
        "fields:\n  - hubspot: a\n    salesforce: B\n    hubspot: c\ninclude: {}\ninclude: {}\n",
    )
    with pytest.raises(MappingFileError) as excinfo:
        load_lead_mapping(directory)
    lines = [str(p) for p in excinfo.value.problems]
    path = directory / "lead.yaml"
    assert lines == [
        f"{path}:4:5: duplicate key 'hubspot' (first given on line 2); YAML would keep only "
        "the last one",
        f"{path}:6:1: duplicate key 'include' (first given on line 5); YAML would keep only "
        "the last one",
    ]


def test_duplicate_keys_and_schema_errors_are_reported_together(tmp_path):
    """One run shows every problem: a duplicate key and an unknown key with a suggestion."""
    directory = _write(
        tmp_path,
        "include: {}\nfields:\n  - {hubspot: a, salesforce: B, drection: both}\ninclude: {}\n",
    )
    with pytest.raises(MappingFileError) as excinfo:
        load_lead_mapping(directory)
    assert [(p.line, p.column, p.message) for p in excinfo.value.problems] == [
        (3, 33, "fields.0.drection: unknown key 'drection'; did you mean 'direction'?"),
        (
            4,
            1,
            "duplicate key 'include' (first given on line 1); YAML would keep only the last one",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fields:\n  - {hubspot: a, salesforce: B}\nwriteback: {lead_idd: x}\n", "'lead_id'"),
        ("fields:\n  - {hubspot: a, salesforce: B, trasnform: []}\n", "'transform'"),
        ("include: {exlude: {}}\nfields:\n  - {hubspot: a, salesforce: B}\n", "'exclude'"),
        (
            "include: {conditions: [{property: a, inn: [x]}]}\n"
            "fields: [{hubspot: a, salesforce: B}]\n",
            "'in'",
        ),
        (
            "fields:\n  - {hubspot: a, salesforce: B, conflict: newest_win, direction: both}\n",
            "'newest_wins'",
        ),
    ],
)
def test_typos_get_a_did_you_mean(tmp_path, text, expected):
    """Unknown keys and misspelt choices name the closest known one (aliases included)."""
    with pytest.raises(MappingFileError, match=f"did you mean {expected}"):
        load_lead_mapping(_write(tmp_path, text))


def test_indentation_mistakes_get_a_hint(tmp_path):
    """A mis-indented key is a YAML error with its position and a hint about indentation."""
    directory = _write(tmp_path, "fields:\n  - hubspot: a\n     salesforce: B\n")
    with pytest.raises(MappingFileError) as excinfo:
        load_lead_mapping(directory)
    (problem,) = excinfo.value.problems
    assert (problem.line, problem.column) == (3, 16)
    assert "check the indentation" in problem.message


class _Region(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    countries: list[str]
    weight: int = 1
    global_: bool = Field(default=False, alias="global")


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[_Region]


def test_load_file_takes_any_model_with_the_same_reporting(tmp_path):
    """The one loader serves every mapping file: other models get the same line:col errors."""
    path = tmp_path / "routing.yaml"
    path.write_text(
        "regions:\n  - {countries: [NO, SE], weight: 2, global: true}\n"
        "  - {countries: [FI], wieght: 3, weight: x}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingFileError) as excinfo:
        load_file(path, _Rules)
    assert [str(p) for p in excinfo.value.problems] == [
        f"{path}:3:23: regions.1.wieght: unknown key 'wieght'; did you mean 'weight'?",
        f"{path}:3:42: regions.1.weight: Input should be a valid integer, unable to parse "
        "string as an integer",
    ]
    path.write_text("regions:\n  - {countries: [NO, SE], global: true}\n", encoding="utf-8")
    rules = load_file(path, _Rules)
    assert rules.regions[0].countries == ["NO", "SE"]
    assert rules.regions[0].global_ is True
