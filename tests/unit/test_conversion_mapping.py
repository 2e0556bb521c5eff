"""`mappings/conversion.yaml`: defaults, the shipped file, template and status checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.files.loader import MappingFileError
from connector.mapping.conversion import (
    ConversionMapping,
    OpportunityRule,
    check_amount_property,
    check_converted_status,
    check_opportunity_stage,
    check_sql_statuses,
    load_conversion_mapping,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_shipped_file_loads_with_the_documented_values() -> None:
    """The shipped conversion.yaml converts at SQL with Closed - Converted and an opportunity."""
    mapping = load_conversion_mapping(MAPPINGS)
    assert mapping == ConversionMapping()
    assert mapping.opportunity.render(company="Acme", lead_source="Web", month="2026-11") == (
        "Acme – Web – 2026-11"
    )


def test_unknown_placeholder_is_a_file_error_with_line(tmp_path: Path) -> None:
    """A name template with an unknown placeholder is reported at its line in the file."""
    (tmp_path / "conversion.yaml").write_text(
        "converted_status: Closed - Converted\nopportunity:\n  name: '{company} {region}'\n"
    )
    with pytest.raises(MappingFileError) as caught:
        load_conversion_mapping(tmp_path)
    text = str(caught.value)
    assert "conversion.yaml:3:" in text
    assert "unknown placeholder {region}" in text


def test_opportunity_stage_close_days_and_amount_load(tmp_path: Path) -> None:
    """stage, close_days and amount_property are read; the opportunity then gets an update."""
    (tmp_path / "conversion.yaml").write_text(
        "opportunity:\n  stage: Qualification\n  close_days: 30\n  amount_property: budget\n"
    )
    rule = load_conversion_mapping(tmp_path).opportunity
    assert (rule.stage, rule.close_days, rule.amount_property) == ("Qualification", 30, "budget")
    assert rule.sets_fields
    assert not ConversionMapping().opportunity.sets_fields


def test_unknown_opportunity_key_is_refused_at_its_line(tmp_path: Path) -> None:
    """A key convertLead and the update do not know (probability) is an error, not ignored."""
    (tmp_path / "conversion.yaml").write_text(
        "opportunity:\n  stage: Prospecting\n  probability: 10\n"
    )
    with pytest.raises(MappingFileError) as caught:
        load_conversion_mapping(tmp_path)
    assert "conversion.yaml:3:3: opportunity.probability: unknown key 'probability'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "sql_when: both\n",
            "conversion.yaml:1:",
            "sql_when: both needs salesforce_status",
        ),
        (
            "salesforce_status: Working - Contacted\n",
            "conversion.yaml:1:",
            "salesforce_status is set but sql_when is hubspot_stage (the default)",
        ),
        (
            "sql_when: either\nsalesforce_status: [Working - Contacted, Closed - Converted]\n",
            "conversion.yaml:2:",
            "'Closed - Converted' is the converted_status",
        ),
        (
            "opportunity:\n  create: false\n  stage: Prospecting\n",
            "conversion.yaml:3:",
            "opportunity.stage: stage needs an opportunity (create: true)",
        ),
        ("opportunity:\n  close_days: -1\n", "conversion.yaml:2:", "opportunity.close_days"),
        (
            "sql_when: status\n",
            "conversion.yaml:1:11:",
            "sql_when: Input should be 'hubspot_stage', 'salesforce_status', 'either' or 'both'",
        ),
    ],
)
def test_sql_trigger_mistakes_are_file_errors(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    """sql_when and salesforce_status must agree, SQL is not the converted status, and the
    opportunity keys need an opportunity: each mistake is reported at its line."""
    (tmp_path / "conversion.yaml").write_text(text)
    with pytest.raises(MappingFileError) as caught:
        load_conversion_mapping(tmp_path)
    assert where in str(caught.value)
    assert message in str(caught.value)


def test_salesforce_status_is_one_value_or_a_list(tmp_path: Path) -> None:
    """`salesforce_status: X` and `[X, Y]` both load, as a list."""
    (tmp_path / "conversion.yaml").write_text(
        "sql_when: salesforce_status\nsalesforce_status: Working - Contacted\n"
    )
    assert load_conversion_mapping(tmp_path).salesforce_status == ("Working - Contacted",)
    (tmp_path / "conversion.yaml").write_text("sql_when: both\nsalesforce_status: [A, B]\n")
    mapping = load_conversion_mapping(tmp_path)
    assert (mapping.salesforce_status, mapping.uses_stage, mapping.uses_status) == (
        ("A", "B"),
        True,
        True,
    )


ORG_STATUSES = [
    ("Open - Not Contacted", "Open - Not Contacted", False),
    ("Working_Contacted", "Working - Contacted", False),
    ("Closed - Converted", "Closed - Converted", True),
]


def test_sql_status_resolves_to_the_api_name() -> None:
    """A label or an API name is accepted; the Lead query uses the API name Status stores."""
    mapping = ConversionMapping(
        sql_when="salesforce_status", salesforce_status=("Working - Contacted",)
    )
    assert check_sql_statuses(mapping, ORG_STATUSES) == ("Working_Contacted",)


def test_sql_status_unknown_or_converted_names_the_file() -> None:
    """A status the org lacks, or one that is converted, stops the pass with the file's name."""
    typo = ConversionMapping(sql_when="either", salesforce_status=("Working - Contacte",))
    with pytest.raises(MappingError) as caught:
        check_sql_statuses(typo, ORG_STATUSES)
    assert str(caught.value) == (
        "conversion.yaml: salesforce_status 'Working - Contacte' is not a Lead status in "
        "Salesforce; use one of ['Open - Not Contacted', 'Working - Contacted']; did you mean "
        "'Working - Contacted'?"
    )
    converted = ConversionMapping(
        sql_when="both", salesforce_status=("Closed - Converted",), converted_status="Other"
    )
    with pytest.raises(MappingError, match="'Closed - Converted' is a converted Lead status"):
        check_sql_statuses(converted, ORG_STATUSES)


def test_opportunity_stage_and_amount_property_must_exist() -> None:
    """A stage not in the StageName picklist, or an unknown contact property, names the file."""
    mapping = ConversionMapping(
        opportunity=OpportunityRule(stage="Qualifcation", amount_property="budgt")
    )
    with pytest.raises(MappingError) as caught:
        check_opportunity_stage(mapping, ["Prospecting", "Qualification"])
    assert str(caught.value) == (
        "conversion.yaml: opportunity.stage 'Qualifcation' is not an Opportunity stage in "
        "Salesforce; use one of ['Prospecting', 'Qualification']; did you mean 'Qualification'?"
    )
    check_opportunity_stage(mapping.model_copy(update={"opportunity": OpportunityRule()}), [])
    with pytest.raises(
        MappingError, match=r"opportunity\.amount_property 'budgt' is not a HubSpot"
    ):
        check_amount_property(mapping, ["email", "budget"])
    check_amount_property(mapping, ["budgt"])


def test_converted_status_must_be_a_converted_lead_status() -> None:
    """A converted_status the org does not mark IsConverted is an error naming the file."""
    mapping = ConversionMapping(converted_status="Qualified")
    check_converted_status(mapping, ["Qualified"])
    with pytest.raises(MappingError) as caught:
        check_converted_status(mapping, ["Closed - Converted"], source="mappings/conversion.yaml")
    assert str(caught.value) == (
        "mappings/conversion.yaml: converted_status 'Qualified' is not a converted Lead status "
        "in Salesforce; use one of ['Closed - Converted']"
    )


def test_sql_stage_must_be_one_of_the_stages(tmp_path):
    """A hubspot_stage outside `stages` could never be reached: a file error at its line."""
    path = tmp_path / "conversion.yaml"
    path.write_text("hubspot_stage: salesqualifedlead\n")
    with pytest.raises(
        MappingError,
        match=r"conversion.yaml:1:\d+: hubspot_stage: "
        r"'salesqualifedlead' is not one of stages .*did you mean "
        r"'salesqualifiedlead'",
    ):
        load_conversion_mapping(tmp_path)
