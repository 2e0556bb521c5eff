"""`mappings/conversion.yaml`: defaults, the shipped file, template and status checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping.conversion import (
    ConversionMapping,
    check_converted_status,
    load_conversion_mapping,
)
from connector.mapping.loader import MappingFileError

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


def test_stage_and_close_date_keys_are_refused(tmp_path: Path) -> None:
    """convertLead cannot set stage or close date, so those keys are errors, not ignored."""
    (tmp_path / "conversion.yaml").write_text("opportunity:\n  stage: Prospecting\n")
    with pytest.raises(MappingFileError) as caught:
        load_conversion_mapping(tmp_path)
    assert "conversion.yaml:2:" in str(caught.value)


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
