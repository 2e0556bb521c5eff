"""Checks against the live schema, and the schema cache `--offline` reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.checks import snapshot as live
from connector.checks.lead import check
from connector.errors import ConfigError
from connector.files.loader import load_source
from connector.mapping.model import LeadMapping
from tests.unit.mapping_corpus.schema import FETCHED_AT, sandbox_schema

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"


def _check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "lead.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_source(path, LeadMapping)
    problems = check(loaded, sandbox_schema(), external_id_field="HubSpot_Contact_Id__c")
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems]


BASE = (
    "fields:\n"
    "  - {hubspot: lastname, salesforce: LastName}\n"
    "  - {hubspot: company, salesforce: Company}\n"
)


def test_the_shipped_mapping_is_valid_against_the_sandbox_schema():
    """mappings/lead.yaml has no error and no warning against the sandbox's schema."""
    loaded = load_source(REPO_MAPPINGS / "lead.yaml", LeadMapping)
    assert check(loaded, sandbox_schema(), external_id_field="HubSpot_Contact_Id__c") == []


def test_an_enumeration_into_a_restricted_picklist_needs_no_map_when_options_fit(tmp_path):
    """A map covering every option with allowed values is valid; the schema knows why."""
    text = BASE + (
        "  - hubspot: hs_lead_status\n"
        "    salesforce: Status\n"
        "    direction: both\n"
        "    conflict: salesforce_wins\n"
        "    transform:\n"
        "      - map: {NEW: Open - Not Contacted, OPEN: Working - Contacted}\n"
        "        default: Open - Not Contacted\n"
        "    reverse:\n"
        "      - map: {Open - Not Contacted: NEW, Working - Contacted: IN_PROGRESS}\n"
        "        default: OPEN\n"
    )
    assert _check(tmp_path, text) == []


def test_the_way_back_to_an_enumeration_must_give_its_options(tmp_path):
    """to_hubspot into an enumeration: every picklist value must map to an option."""
    text = BASE + (
        "  - hubspot: hs_lead_status\n"
        "    salesforce: Status\n"
        "    direction: to_hubspot\n"
        "    transform: [{map: {Open - Not Contacted: NEW, Working - Contacted: IN_PROGRES}}]\n"
    )
    assert _check(tmp_path, text) == [
        "7:16: error: fields.2.transform: Lead.Status values 'Closed - Converted', 'Closed - Not "
        "Converted' have no map entry on the way back to HubSpot and the map has no default",
        "7:16: error: fields.2.transform: Lead.Status values 'IN_PROGRES' are not options of "
        "HubSpot property 'hs_lead_status'; did you mean 'IN_PROGRESS'?: give a map to its options",
    ]


def test_booleans_numbers_and_unrestricted_picklists(tmp_path):
    """A checkbox takes a true/false map; a number a number property; an unrestricted picklist
    warns about values it does not list."""
    text = BASE + (
        "  - hubspot: hs_lead_status\n"
        "    salesforce: HasOptedOutOfEmail\n"
        "    transform: [{map: {UNQUALIFIED: 'true'}, default: 'false'}]\n"
        "  - {hubspot: hubspotscore, salesforce: AnnualRevenue}\n"
        "  - hubspot: numemployees\n"
        "    salesforce: Rating\n"
        "    transform: [{map: {1-5: Cold, 5-25: Warm}, default: Luke-warm}]\n"
    )
    assert _check(tmp_path, text) == [
        "10:57: warning: fields.4.transform.0.default: 'Luke-warm' is not a value of the "
        "picklist Lead.Rating; did you mean 'Warm'?",
    ]


def test_concat_and_template_properties_must_exist(tmp_path):
    """Properties named in concat and template are checked like any other."""
    text = BASE + (
        "  - salesforce: Description\n"
        "    transform: [{template: '{firstname} {lastnme}'}]\n"
        "  - {salesforce: Street, transform: [{concat: [address, cty]}]}\n"
    )
    assert _check(tmp_path, text) == [
        "5:28: error: fields.2.transform.0.template: unknown HubSpot contact property "
        "'lastnme'; did you mean 'lastname'?",
        "6:57: error: fields.3.transform.0.concat.1: unknown HubSpot contact property 'cty'; "
        "did you mean 'city'?",
    ]


def test_schema_parsing_keeps_what_validation_needs():
    """Describe and properties answers become typed fields and properties."""
    schema = sandbox_schema()
    status = schema.lead["Status"]
    assert (status.type, status.restricted, status.required_on_create) == ("picklist", True, False)
    assert "Working - Contacted" in status.picklist
    assert schema.lead["LastName"].required_on_create
    assert schema.lead["Company"].length == 255
    assert not schema.lead["IsConverted"].createable
    stage = schema.contact["lifecyclestage"]
    assert stage.type == "enumeration" and "marketingqualifiedlead" in stage.options
    assert schema.contact["hubspotscore"].read_only


def test_cache_round_trip_and_age(tmp_path):
    """The cache keeps the schema and its fetch time; its age reads as people say it."""
    path = tmp_path / "nested" / ".schema-cache.json"
    live.save(sandbox_schema(), path)
    loaded = live.load(path)
    assert loaded == sandbox_schema()
    assert loaded.age(FETCHED_AT + timedelta(hours=3, minutes=12)) == "3 h 12 min"
    assert loaded.age(FETCHED_AT + timedelta(days=5)) == "5 days"
    assert json.loads(path.read_text())["fetched_at"] == FETCHED_AT.isoformat()


def test_no_cache_is_a_config_error_naming_the_fix(tmp_path):
    """--offline without a cache: one clear message saying how to make one."""
    with pytest.raises(
        ConfigError, match=r"no cached schema at .*run `leadbridge mappings validate`"
    ):
        live.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read"):
        live.load(broken)


def test_fetch_reads_lead_and_contacts_once_each():
    """fetch asks the gateways for the Lead and Contact describes and the contact properties,
    once each, and for nothing else when the other files need nothing."""
    calls = []

    class Salesforce:
        def describe(self, sobject):
            calls.append(("describe", sobject))
            return {"fields": [{"name": "LastName", "type": "string", "length": 80}]}

    class HubSpot:
        def properties(self, object_type="contacts"):
            calls.append(("properties", object_type))
            return [{"name": "lastname", "type": "string", "options": []}]

    now = datetime(2026, 2, 1, tzinfo=UTC)
    schema = live.fetch(Salesforce(), HubSpot(), now=now, source={"salesforce": "x"})
    assert calls == [("describe", "Lead"), ("describe", "Contact"), ("properties", "contacts")]
    assert schema.fetched_at == now
    assert schema.fields_of("Contact") == schema.lead
    assert (schema.lead_statuses, schema.lists) == (None, {})
    assert schema.lead["LastName"].length == 80
    assert schema.contact["lastname"].type == "string"


def test_the_merge_and_deletion_flag_must_be_an_updateable_field_holding_its_value(tmp_path):
    """merges_and_deletions.flag names a Lead field leadbridge can set, to a value it allows."""
    misspelt = BASE + "merges_and_deletions:\n  flag: {field: Statsu, value: Open}\n"
    assert _check(tmp_path, misspelt) == [
        "5:17: error: merges_and_deletions.flag.field: unknown Salesforce field 'Statsu' on "
        "Lead; did you mean 'Status'?"
    ]
    wrong = BASE + "merges_and_deletions:\n  flag: {field: Status, value: Duplicate}\n"
    (problem,) = _check(tmp_path, wrong)
    assert "merges_and_deletions.flag.value: 'Duplicate' is not a value of the picklist" in problem
