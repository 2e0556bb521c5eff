"""`mappings plan`'s per-record preview: which side each field would be written on, and why."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.checks.preview import Existing, FieldChange, Totals, preview, render
from connector.mapping.model import LeadMapping
from connector.mapping.plan import LeadPlan
from connector.model import HubSpotContact

PLAN = LeadPlan.compile(
    LeadMapping.model_validate(
        {
            "fields": [
                {"hubspot": "lastname", "salesforce": "LastName", "transform": ["strip"]},
                {
                    "hubspot": "company",
                    "salesforce": "Company",
                    "transform": [{"default": "[none]"}],
                },
                {
                    "hubspot": "jobtitle",
                    "salesforce": "Title",
                    "conflict": "salesforce_unless_blank",
                },
                {
                    "hubspot": "hs_lead_status",
                    "salesforce": "Status",
                    "direction": "both",
                    "conflict": "newest_wins",
                    "transform": [
                        {
                            "map": {
                                "NEW": "Open - Not Contacted",
                                "IN_PROGRESS": "Working - Contacted",
                            }
                        }
                    ],
                },
                {
                    "hubspot": "salesforce_owner_id",
                    "salesforce": "OwnerId",
                    "direction": "to_hubspot",
                },
                {
                    "hubspot": "hs_analytics_source",
                    "salesforce": "LeadSource",
                    "transform": [{"map": {"OFFLINE": "Other"}}],
                },
            ]
        }
    )
)
HUBSPOT_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _contact(**props: str | None) -> HubSpotContact:
    """As HubSpot sends it: every property the plan reads, None where it has no value."""
    base = {
        **dict.fromkeys(PLAN.hubspot_properties()),
        "lifecyclestage": "marketingqualifiedlead",
        "email": "ada@acme.test",
    }
    return HubSpotContact("101", {**base, **props}, HUBSPOT_AT)


def _lead(**fields: object) -> dict:
    return {
        "Id": "00Q000000000001AAA",
        "LastModifiedDate": "2026-03-01T10:00:00.000+0000",
        **fields,
    }


def test_a_new_contact_creates_a_lead_with_every_value():
    """No Lead yet: every non-empty value to Salesforce, nothing to HubSpot."""
    record = preview(PLAN, _contact(lastname=" Lovelace ", hs_lead_status="NEW"), Existing())
    assert record.action == "create"
    assert [(c.side, c.name, c.old, c.new) for c in record.changes] == [
        ("salesforce", "LastName", None, "Lovelace"),
        ("salesforce", "Company", None, "[none]"),
        ("salesforce", "Status", None, "Open - Not Contacted"),
    ]


def test_each_field_is_decided_by_its_rule_in_its_direction():
    """hubspot_wins writes Salesforce; salesforce_unless_blank keeps Salesforce's; newest_wins
    picks the later side; to_hubspot writes HubSpot."""
    contact = _contact(
        lastname="Lovelace",
        company="Acme",
        jobtitle="Countess",
        hs_lead_status="NEW",
        salesforce_owner_id=None,
    )
    lead = _lead(
        LastName="King",
        Company="Acme",
        Title="CEO",
        Status="Working - Contacted",
        OwnerId="005000000000001AAA",
        LastModifiedDate="2026-03-01T13:00:00.000+0000",  # after the contact's change
    )
    record = preview(PLAN, contact, Existing(lead=lead, linked=True))
    assert record.action == "update"
    assert record.changes == (
        FieldChange(
            "salesforce",
            "LastName",
            "King",
            "Lovelace",
            "hubspot_wins",
            "HubSpot wins (hubspot_wins)",
        ),
        FieldChange(
            "kept",
            "Title",
            "CEO",
            "Countess",
            "salesforce_unless_blank",
            "Salesforce wins unless blank",
        ),
        FieldChange(
            "hubspot",
            "hs_lead_status",
            "NEW",
            "IN_PROGRESS",
            "newest_wins",
            "Salesforce changed last (newest_wins)",
        ),
        FieldChange(
            "hubspot",
            "salesforce_owner_id",
            None,
            "005000000000001AAA",
            "salesforce_wins",
            "Salesforce wins (salesforce_wins)",
        ),
    )
    text = render(record)
    assert (
        "~ Lead.LastName: 'King' -> 'Lovelace'   [hubspot_wins: HubSpot wins (hubspot_wins)]"
        in text
    )
    assert "= Lead.Title keeps 'CEO' (HubSpot has 'Countess')" in text


def test_unchanged_link_customer_excluded_and_failing_records():
    """Equal values change nothing; unlinked Leads are linked; Contacts mean customers; a
    contact out of the rules is not included; a value no map covers fails the record."""
    same = preview(
        PLAN,
        _contact(lastname="King", company="Acme"),
        Existing(lead=_lead(LastName="King", Company="Acme"), linked=True),
    )
    assert (same.action, same.changes) == ("unchanged", ())
    link = preview(
        PLAN, _contact(lastname="King", company="Acme"), Existing(lead=_lead(LastName="K"))
    )
    assert link.action == "link"
    customer = preview(PLAN, _contact(lastname="X"), Existing(contact_id="003000000000001AAA"))
    assert customer.action == "customer"
    excluded = preview(PLAN, _contact(lifecyclestage="lead"), Existing())
    assert excluded.action == "not_included"
    failing = preview(PLAN, _contact(hs_analytics_source="PIGEON"), Existing())
    assert failing.action == "fail"
    assert failing.reason == (
        "MAPPING_FAILED: LeadSource: from HubSpot property 'hs_analytics_source': no map entry "
        "for this value and the map has no default (value 'PIGEON')"
    )
    totals = Totals()
    for record in (same, link, customer, excluded, failing):
        totals.add(record)
    assert totals.to_json()["unchanged"] == 1
    assert totals.to_json()["fail"] == 1
    assert totals.records == 5


def test_a_converted_person_previews_its_contact_under_the_contacts_field_names():
    """A converted Lead takes no update: the Contact it became is compared instead, field by
    field where Salesforce has a Contact field (Company and Status have none, and nothing comes
    back from a Contact)."""
    person = {
        "Id": "003000000000001AAA",
        "LastModifiedDate": "2026-03-01T10:00:00.000+0000",
        "LastName": "Lovelace",
        "Title": "CTO",
        "LeadSource": "Web",
    }
    contact = _contact(lastname="King", jobtitle="", hs_analytics_source="OFFLINE")

    record = preview(PLAN, contact, Existing(converted=person))

    assert (record.action, record.salesforce_id) == ("converted", "003000000000001AAA")
    assert {(c.side, c.name, c.new) for c in record.changes} == {
        ("salesforce", "LastName", "King"),
        ("salesforce", "LeadSource", "Other"),
        ("kept", "Title", None),  # salesforce_unless_blank keeps the Contact's CTO
    }
    text = render(record)
    assert "update Contact 003000000000001AAA (its Lead is converted)" in text
    assert "~ Contact.LastName: 'Lovelace' -> 'King'" in text
    unchanged = preview(
        PLAN,
        _contact(lastname="Lovelace", jobtitle="CTO", hs_analytics_source="OFFLINE"),
        Existing(converted={**person, "LeadSource": "Other"}),
    )
    assert unchanged.action == "unchanged"
    assert "nothing (Contact 003000000000001AAA unchanged)" in render(unchanged)
