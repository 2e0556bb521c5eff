"""The live checks beyond lead.yaml's fields: converted people's Contact fields and the handoff
report (lead.yaml), status.yaml and conversion.yaml against the org, relationship paths, and
the schema the checks read (fetched once, cached for --offline)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest

from connector.checks import snapshot as live
from connector.checks.conversion import check_conversion
from connector.checks.lead import check
from connector.checks.snapshot import (
    HubSpotList,
    HubSpotProperty,
    LiveSchema,
    Needs,
    PathFinding,
    object_fields,
    walk_path,
)
from connector.checks.status import check_status
from connector.checks.validate import needs
from connector.errors import ConfigError
from connector.files.loader import load_source
from connector.mapping.conversion import ConversionMapping
from connector.mapping.model import LeadMapping
from connector.mapping.status import StatusMapping
from connector.sandbox.app import Sandbox
from connector.sandbox.salesforce.rest_describe import describe
from connector.sandbox.salesforce.schema import DEFAULT_LEAD_STATUSES
from tests.unit.mapping_corpus.schema import sandbox_schema

REPO_MAPPINGS = Path(__file__).parents[2] / "mappings"
LISTS = {
    "Prospect nurture": HubSpotList("12", "Prospect nurture", "MANUAL"),
    "Engaged this month": HubSpotList("13", "Engaged this month", "DYNAMIC"),
    "14": HubSpotList("14", "Webinar 2026", "SNAPSHOT"),
    "15": HubSpotList("15", "Target accounts", "MANUAL", object_type_id="0-2"),
    "Old nurture": None,
    "99": None,
}


@lru_cache(maxsize=1)
def _objects() -> dict[str, dict[str, live.SalesforceField]]:
    sandbox = Sandbox()

    def fields(name: str) -> dict[str, live.SalesforceField]:
        answer = describe(sandbox.org, sandbox.org.schema[name], "59.0", "https://sandbox.test")
        return object_fields(answer)

    return {name: fields(name) for name in ("Contact", "Group", "User", "Opportunity")}


def full_schema() -> LiveSchema:
    """The sandbox's schema with everything the other files may ask for: the Contact, Group,
    User and Opportunity describes, its Lead statuses, some lists, and a number property."""
    base = sandbox_schema()
    budget = HubSpotProperty("budget", "Budget", "number", "number")
    return replace(
        base,
        contact={**base.contact, "budget": budget},
        objects=dict(_objects()),
        lead_statuses=tuple(
            live.LeadStatusValue(label, label, converted)
            for label, converted, _default in DEFAULT_LEAD_STATUSES
        ),
        lists=dict(LISTS),
    )


def _lines(problems) -> list[str]:
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems]


def _lead(tmp_path: Path, text: str, schema: LiveSchema | None = None) -> list[str]:
    path = tmp_path / "lead.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_source(path, LeadMapping)
    found = check(loaded, schema or full_schema(), external_id_field="HubSpot_Contact_Id__c")
    return _lines(found)


def _status(tmp_path: Path, text: str, schema: LiveSchema | None = None) -> list[str]:
    path = tmp_path / "status.yaml"
    path.write_text(text, encoding="utf-8")
    return _lines(check_status(load_source(path, StatusMapping), schema or full_schema()))


def _conversion(tmp_path: Path, text: str, schema: LiveSchema | None = None) -> list[str]:
    path = tmp_path / "conversion.yaml"
    path.write_text(text, encoding="utf-8")
    return _lines(check_conversion(load_source(path, ConversionMapping), schema or full_schema()))


LEAD_BASE = (
    "fields:\n"
    "  - {hubspot: lastname, salesforce: LastName}\n"
    "  - {hubspot: company, salesforce: Company}\n"
)


# -- the shipped files -------------------------------------------------------------------------
def test_the_shipped_files_are_valid_against_the_full_sandbox_schema():
    """lead.yaml, status.yaml and conversion.yaml: no finding at all."""
    schema = full_schema()
    lead = load_source(REPO_MAPPINGS / "lead.yaml", LeadMapping)
    status = load_source(REPO_MAPPINGS / "status.yaml", StatusMapping)
    conversion = load_source(REPO_MAPPINGS / "conversion.yaml", ConversionMapping)
    assert check(lead, schema, external_id_field="HubSpot_Contact_Id__c") == []
    assert check_status(status, schema) == []
    assert check_conversion(conversion, schema) == []


def test_the_shipped_files_need_one_path_and_the_lead_statuses():
    """What the shipped status.yaml and conversion.yaml ask of the orgs beyond the basics."""
    status = load_source(REPO_MAPPINGS / "status.yaml", StatusMapping).model
    conversion = load_source(REPO_MAPPINGS / "conversion.yaml", ConversionMapping).model
    assert needs(status, conversion) == Needs(paths=("Owner.Email",), lead_statuses=True)
    assert needs() == Needs()


# -- lead.yaml: converted people's Contact fields, the handoff report ------------------------
def test_contact_targets_must_be_updateable_contact_fields(tmp_path):
    """An explicit `contact:` Contact lacks or cannot update is an error at `contact`; a
    to_hubspot field has no Contact target; `contact: false` is never checked."""
    text = LEAD_BASE + (
        "  - {hubspot: jobtitle, salesforce: Title, contact: Titel}\n"
        "  - {hubspot: city, salesforce: City, contact: Name}\n"
        "  - {hubspot: state, salesforce: State, contact: false}\n"
        "  - {hubspot: website, salesforce: Website, contact: Nope__c, direction: to_hubspot}\n"
    )
    assert _lead(tmp_path, text) == [
        "4:53: error: fields.2.contact: Contact has no field 'Titel'; did you mean 'Title'?: "
        "a converted person's changes to Title could not be written; name an updateable "
        "Contact field, or `contact: false` to leave them on the Lead",
        "5:48: error: fields.3.contact: Contact.Name is not updateable: a converted person's "
        "changes to City could not be written; name an updateable Contact field, or "
        "`contact: false` to leave them on the Lead",
    ]


def test_a_default_contact_target_the_org_lacks_is_a_warning(tmp_path):
    """Salesforce's standard mapping names MailingStreet for Street: an org without it gets a
    warning at the field, suggesting `contact: false`."""
    schema = full_schema()
    contact = {k: v for k, v in schema.objects["Contact"].items() if k != "MailingStreet"}
    schema = replace(schema, objects={**schema.objects, "Contact": contact})
    text = LEAD_BASE + "  - {hubspot: address, salesforce: Street}\n"
    assert _lead(tmp_path, text, schema) == [
        "4:36: warning: fields.2.salesforce: Lead.Street goes to Contact.MailingStreet once the "
        "Lead is converted (Salesforce's standard mapping), but Contact has no field "
        "'MailingStreet': add `contact: false` to this field to leave a converted person's "
        "changes on the Lead (or `contact:` and the Contact field to write)",
    ]
    # Without the Contact describe (a schema from before it was fetched) nothing is claimed.
    assert _lead(tmp_path, text, sandbox_schema()) == []


def test_the_handoff_report_property_must_be_a_writable_text_property(tmp_path):
    """Unknown (with a hint and the fix), read-only, or not text: an error at the key."""
    cases = {
        "sales_handof_warning": "unknown HubSpot contact property 'sales_handof_warning'; did "
        "you mean 'sales_handoff_warning'?: create it in HubSpot (a text property, single- or "
        "multi-line), or set report_property: null to report in the audit log only",
        "hubspotscore": "HubSpot property 'hubspotscore' is read-only: it cannot be written",
        "budget": "HubSpot property 'budget' is number; the report is text: choose (or create) "
        "a text property",
    }
    for name, message in cases.items():
        text = LEAD_BASE + f"after_handoff:\n  report_property: {name}\n"
        assert _lead(tmp_path, text) == [
            f"5:20: error: after_handoff.report_property: {message}"
        ], name
    assert _lead(tmp_path, LEAD_BASE + "after_handoff: {report_property: null}\n") == []


def test_the_default_report_property_missing_says_it_is_the_default(tmp_path):
    """A portal without sales_handoff_warning and a file that does not name it: the error
    says the name is the default (at the top of the file, where the key would go)."""
    schema = full_schema()
    contact = {k: v for k, v in schema.contact.items() if k != "sales_handoff_warning"}
    assert _lead(tmp_path, LEAD_BASE, replace(schema, contact=contact)) == [
        "1:1: error: after_handoff.report_property: unknown HubSpot contact property "
        "'sales_handoff_warning' (after_handoff.report_property's default): create it in "
        "HubSpot (a text property, single- or multi-line), or set report_property: null to "
        "report in the audit log only",
    ]


# -- relationship paths ------------------------------------------------------------------------
def _describer(schema: LiveSchema, calls: list[str]):
    def fields(sobject: str):
        calls.append(sobject)
        return schema.fields_of(sobject)

    return fields


def test_a_path_reads_its_relationship_and_describes_only_what_it_needs():
    """Owner.Email: Owner is Lead.OwnerId's relationship (Group or User); Group has Email, so
    User is never described. A plain field needs the Lead alone."""
    calls: list[str] = []
    assert walk_path("Owner.Email", _describer(full_schema(), calls)) is None
    assert calls == ["Lead", "Group"]
    calls.clear()
    assert walk_path("Rejection_Reason__c", _describer(full_schema(), calls)) is None
    assert calls == ["Lead"]
    assert walk_path("Owner.Manager.Email", full_schema().fields_of) is None


def test_a_broken_path_says_which_part_and_what_was_meant():
    """Each part is named: not a relationship (a close one suggested; a lookup field's
    relationship name given), a field neither object has, a Lead field that does not exist."""
    schema = full_schema()
    assert walk_path("Ownr.Email", schema.fields_of) == PathFinding(
        0, "'Ownr' is not a relationship of Lead; did you mean 'Owner'?"
    )
    assert walk_path("OwnerId.Email", schema.fields_of) == PathFinding(
        0, "'OwnerId' is a field of Lead, not a relationship: write its relationship name, 'Owner'"
    )
    assert walk_path("Owner.Emial", schema.fields_of) == PathFinding(
        1,
        "unknown Salesforce field 'Emial' on Group or User (through Lead.Owner); did you "
        "mean 'Email'?",
    )
    assert walk_path("Rejection_Reasn__c", schema.fields_of) == PathFinding(
        0,
        "unknown Salesforce field 'Rejection_Reasn__c' on Lead; did you mean "
        "'Rejection_Reason__c'?",
    )
    without_group = replace(schema, objects={"Contact": schema.objects["Contact"]})
    assert walk_path("Owner.Email", without_group.fields_of) == PathFinding(1, unchecked="Group")


# -- status.yaml -------------------------------------------------------------------------------
STATUS = """\
copy:
  OwnerId: salesforce_owner_id
  Owner.Emial: salesforce_owner_email
  Rejection_Reason__c: hubspotscore
accepted_leave_lists: ["Prospect nurture", "Engaged this month", "14"]
statuses:
  "Open - Not Contacted": {kind: open, lead_status: NEW}
  "Working - Contacted":
    kind: accepted
    lead_status: IN_PROGRESS
    stamp: sales_rejection_reason
    leave_lists: ["old nurture", "Old nurture", "15", "99"]
  "Closed - Not Converted":
    kind: rejected
    lead_status: UNQUALIFIED
    copy: {Rejection_Reason__c: sales_rejection_reasn, Owner.Title: salesforce_owner_title}
  "Closed - Converted": {kind: converted}
  "Closed - Lost": {kind: rejected}
"""


def test_status_yaml_against_the_org(tmp_path):
    """Every status.yaml finding, each at its line: a status Salesforce does not have, copies
    from fields that do not exist or to properties that cannot be written, a stamp that is no
    date, lists HubSpot does not know, a DYNAMIC one, a company list; a path whose objects
    the (cached) schema lacks is only a warning."""
    assert _status(tmp_path, STATUS) == [
        "3:3: error: copy.Owner.Emial: unknown Salesforce field 'Emial' on Group or User "
        "(through Lead.Owner); did you mean 'Email'?",
        "4:24: error: copy.Rejection_Reason__c: HubSpot property 'hubspotscore' is read-only "
        "(HubSpot calculates it): it cannot be written",
        "5:44: error: accepted_leave_lists.1: HubSpot list 'Engaged this month' (id 13) is "
        "DYNAMIC (an active list): HubSpot refuses to remove members of an active list; change "
        "its filters instead, or name a MANUAL or SNAPSHOT list",
        "11:12: error: statuses.Working - Contacted.stamp: HubSpot property "
        "'sales_rejection_reason' is a string property; it must be datetime or date",
        "12:19: warning: statuses.Working - Contacted.leave_lists.0: not checked: the schema "
        "has no HubSpot list 'old nurture' (a cache holds what the files named when it was "
        "fetched); run `leadbridge mappings validate` without --offline",
        "12:34: error: statuses.Working - Contacted.leave_lists.1: HubSpot has no contact list "
        "named 'Old nurture' (names are matched without regard to case; a list can also be "
        "named by its id, digits only)",
        "12:49: error: statuses.Working - Contacted.leave_lists.2: HubSpot list 'Target "
        "accounts' (id 15) is not a list of contacts (objectTypeId 0-2)",
        "12:55: error: statuses.Working - Contacted.leave_lists.3: HubSpot has no list with "
        "the id 99",
        "16:33: error: statuses.Closed - Not Converted.copy.Rejection_Reason__c: unknown "
        "HubSpot contact property 'sales_rejection_reasn'; did you mean "
        "'sales_rejection_reason'?",
        "16:69: error: statuses.Closed - Not Converted.copy.Owner.Title: unknown HubSpot "
        "contact property 'salesforce_owner_title'; did you mean 'salesforce_owner_id'?",
        "18:3: error: statuses.Closed - Lost: 'Closed - Lost' is not a value of Salesforce's "
        "Lead Status picklist; did you mean 'Closed - Converted'? (values: Open - Not "
        "Contacted, Working - Contacted, Closed - Converted, Closed - Not Converted)",
    ]


def test_status_copies_the_default_owner_id_when_no_copy_is_given(tmp_path):
    """Without `copy`, OwnerId goes to salesforce_owner_id: a portal without that property
    hears so, with the reason it is written at all."""
    schema = full_schema()
    contact = {k: v for k, v in schema.contact.items() if k != "salesforce_owner_id"}
    text = 'statuses:\n  "Open - Not Contacted": {kind: open}\n'
    assert _status(tmp_path, text, replace(schema, contact=contact)) == [
        "1:1: error: copy.OwnerId: unknown HubSpot contact property 'salesforce_owner_id'; did "
        "you mean 'salesforce_owner_email'? (copied when no `copy` is given)"
    ]


def test_a_path_the_cache_cannot_follow_is_a_warning(tmp_path):
    """A cache fetched before Owner.Email was named has no Group describe: not checked, and
    said so, at the copied field."""
    schema = full_schema()
    cached = replace(schema, objects={"Contact": schema.objects["Contact"]})
    text = (
        "copy: {Owner.Email: salesforce_owner_email}\n"
        'statuses:\n  "Open - Not Contacted": {kind: open}\n'
    )
    assert _status(tmp_path, text, cached) == [
        "1:8: warning: copy.Owner.Email: not checked: the schema has no describe of Group (a "
        "cache holds what the files named when it was fetched); run `leadbridge mappings "
        "validate` without --offline"
    ]


# -- conversion.yaml ---------------------------------------------------------------------------
def test_conversion_yaml_against_the_org(tmp_path):
    """The pass's own checks, each at its line: a converted_status that is not converted, SQL
    statuses unknown or converted (each at its list item), an Opportunity stage the picklist
    lacks, an amount property unknown."""
    text = (
        "sql_when: either\n"
        'salesforce_status: ["Working - Contacted", "Qualifed", "Closed - Converted"]\n'
        'converted_status: "Closed - Not Converted"\n'
        "opportunity:\n"
        "  stage: Qualifcation\n"
        "  amount_property: budgt\n"
    )
    assert _conversion(tmp_path, text) == [
        "2:44: error: salesforce_status.1: 'Qualifed' is not a Lead status in Salesforce; use "
        "one of ['Open - Not Contacted', 'Working - Contacted', 'Closed - Not Converted']",
        "2:56: error: salesforce_status.2: 'Closed - Converted' is a converted Lead status: a "
        "Lead with it is converted already; use one of ['Open - Not Contacted', 'Working - "
        "Contacted', 'Closed - Not Converted']",
        "3:19: error: converted_status: 'Closed - Not Converted' is not a converted Lead "
        "status in Salesforce; use one of ['Closed - Converted']",
        "5:10: error: opportunity.stage: 'Qualifcation' is not an Opportunity stage in "
        "Salesforce; use one of ['Prospecting', 'Qualification', 'Needs Analysis', 'Value "
        "Proposition', 'Id. Decision Makers', 'Perception Analysis', 'Proposal/Price Quote', "
        "'Negotiation/Review', 'Closed Won', 'Closed Lost']; did you mean 'Qualification'?",
        "6:20: error: opportunity.amount_property: 'budgt' is not a HubSpot contact property; "
        "did you mean 'budget'?",
    ]


def test_the_amount_property_must_be_a_number(tmp_path):
    """An amount read from a text property: an error naming its type; a number one is fine."""
    text = "opportunity: {amount_property: company}\n"
    assert _conversion(tmp_path, text) == [
        "1:32: error: opportunity.amount_property: HubSpot property 'company' is a string "
        "property; the Amount needs a number property"
    ]
    assert (
        _conversion(tmp_path, "opportunity: {amount_property: budget, stage: Closed Won}\n") == []
    )


def test_conversion_without_the_org_data_in_the_cache_warns(tmp_path):
    """A cache without Lead statuses or the Opportunity describe: not checked, said so."""
    cached = replace(full_schema(), lead_statuses=None, objects={})
    assert _conversion(tmp_path, "opportunity: {stage: Prospecting}\n", cached) == [
        "1:1: warning: converted_status: not checked: the schema has no Lead statuses (a cache "
        "holds what the files named when it was fetched); run `leadbridge mappings validate` "
        "without --offline",
        "1:22: warning: opportunity.stage: not checked: the schema has no describe of "
        "Opportunity (a cache holds what the files named when it was fetched); run `leadbridge "
        "mappings validate` without --offline",
    ]


# -- fetching and the cache ---------------------------------------------------------------------
class _Salesforce:
    def __init__(self, calls: list[tuple[str, str]]) -> None:
        self.calls = calls

    def describe(self, sobject: str) -> dict:
        self.calls.append(("describe", sobject))
        sandbox = Sandbox()
        return describe(sandbox.org, sandbox.org.schema[sobject], "59.0", "https://x.test")

    def query(self, text: str) -> list[dict]:
        self.calls.append(("query", text))
        return [
            {"ApiName": "Open", "MasterLabel": "Open", "IsConverted": False},
            {"MasterLabel": "Converted", "IsConverted": True},
        ]


class _HubSpot:
    def __init__(self, calls: list[tuple[str, str]]) -> None:
        self.calls = calls

    def properties(self, object_type: str = "contacts") -> list[dict]:
        self.calls.append(("properties", object_type))
        return [{"name": "email", "type": "string"}]

    def list_ids_by_name(self, names):
        self.calls.append(("list_ids_by_name", ",".join(names)))
        return {"Prospect nurture": "12"}

    def lists(self, ids):
        self.calls.append(("lists", ",".join(ids)))
        known = {"12": ("Prospect nurture", "MANUAL"), "13": ("Engaged", "DYNAMIC")}
        return [
            {"listId": i, "name": known[i][0], "processingType": known[i][1], "objectTypeId": "0-1"}
            for i in ids
            if i in known
        ]


def test_fetch_asks_for_what_the_files_need_once_each(tmp_path):
    """Two paths through Owner: one Group describe; two list names: one look-up call, then one
    call for every list's definition; the Lead statuses: one query; Opportunity when a stage
    is named. The cache keeps it all, so --offline reads the same schema."""
    calls: list[tuple[str, str]] = []
    wanted = Needs(
        paths=("Owner.Email", "Owner.Name"),
        list_refs=("Prospect nurture", "Unknown list", "13", "77"),
        lead_statuses=True,
        objects=("Opportunity",),
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    schema = live.fetch(_Salesforce(calls), _HubSpot(calls), needs=wanted, now=now)
    assert calls == [
        ("describe", "Lead"),
        ("describe", "Contact"),
        ("describe", "Opportunity"),
        ("properties", "contacts"),
        ("describe", "Group"),
        ("query", "SELECT ApiName, MasterLabel, IsConverted FROM LeadStatus"),
        ("list_ids_by_name", "Prospect nurture,Unknown list"),
        ("lists", "12,13,77"),
    ]
    assert sorted(schema.objects) == ["Contact", "Group", "Opportunity"]
    assert [s.as_row() for s in schema.lead_statuses or ()] == [
        ("Open", "Open", False),
        ("Converted", "Converted", True),
    ]
    assert schema.lists == {
        "Prospect nurture": HubSpotList("12", "Prospect nurture", "MANUAL"),
        "Unknown list": None,
        "13": HubSpotList("13", "Engaged", "DYNAMIC"),
        "77": None,
    }
    path = tmp_path / "cache.json"
    live.save(schema, path)
    assert live.load(path) == schema


def test_an_old_cache_asks_to_fetch_again(tmp_path):
    """A cache of the first format (no Contact, statuses or lists) is refused with the fix."""
    path = tmp_path / "cache.json"
    old = {**sandbox_schema().to_json(), "format": 1}
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown schema cache format 1.*without --offline"):
        live.load(path)


def test_the_removals_status_property_must_be_a_writable_text_property(tmp_path):
    """lead.yaml's `salesforce_removals.status_property`: unknown (with a hint and the fix) or
    not writable text is an error at the key; null asks for none; the default is known."""
    text = LEAD_BASE + "salesforce_removals:\n  status_property: leadbridge_salesforce_stat\n"
    assert _lead(tmp_path, text) == [
        "5:20: error: salesforce_removals.status_property: unknown HubSpot contact property "
        "'leadbridge_salesforce_stat'; did you mean 'leadbridge_salesforce_status'?: create it "
        "in HubSpot (a text property), or set status_property: null to only clear the "
        "Salesforce id",
    ]
    text = LEAD_BASE + "salesforce_removals: {status_property: hubspotscore}\n"
    assert _lead(tmp_path, text) == [
        "4:40: error: salesforce_removals.status_property: HubSpot property 'hubspotscore' "
        "cannot take the text saying the record was removed: choose (or create) a writable "
        "text property",
    ]
    assert _lead(tmp_path, LEAD_BASE + "salesforce_removals: {status_property: null}\n") == []
    assert _lead(tmp_path, LEAD_BASE) == []
