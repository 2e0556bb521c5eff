"""The compiled plan: values per direction, record-level failures, and the conflict resolver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mapping.model import LeadMapping
from connector.mapping.plan import (
    NEVER_WRITTEN,
    LeadPlan,
    MappingFailure,
    UnreadProperty,
    resolve,
)

MAPPING = LeadMapping.model_validate(
    {
        "include": {"conditions": [{"property": "hs_lead_status", "not_in": ["UNQUALIFIED"]}]},
        "fields": [
            {"hubspot": "lastname", "salesforce": "LastName", "transform": ["strip"]},
            {"hubspot": "email", "salesforce": "Email", "transform": ["strip", "lower"]},
            {
                "hubspot": "company",
                "salesforce": "Company",
                "transform": ["strip", {"truncate": 5}, {"default": "[none]"}],
            },
            {"hubspot": "country", "salesforce": "Country", "transform": ["country_code"]},
            {
                "hubspot": "hs_analytics_source",
                "salesforce": "LeadSource",
                "transform": [{"map": {"ORGANIC_SEARCH": "Web", "OFFLINE": "Other"}}],
            },
            {
                "hubspot": "numemployees",
                "salesforce": "NumberOfEmployees",
                "transform": [{"map": {"1-5": "5", "5-25": "25"}, "default": None}],
            },
            {"hubspot": "phone", "salesforce": "Phone", "transform": ["phone_e164"]},
            {"hubspot": "firstname", "salesforce": "FirstName", "required": True},
            {
                "salesforce": "Description",
                "transform": [{"template": "{firstname} ({jobtitle})"}, "upper"],
            },
            {"hubspot": "fullname", "salesforce": "Title", "transform": [{"split_name": "last"}]},
            {
                "hubspot": "hs_lead_status",
                "salesforce": "Status",
                "direction": "both",
                "conflict": "salesforce_unless_blank",
                "transform": [
                    {"map": {"NEW": "Open - Not Contacted", "IN_PROGRESS": "Working - Contacted"}}
                ],
            },
            {
                "hubspot": "salesforce_owner_id",
                "salesforce": "OwnerId",
                "direction": "to_hubspot",
            },
            {
                "hubspot": "hs_email_optout",
                "salesforce": "HasOptedOutOfEmail",
                "direction": "both",
                "conflict": "newest_wins",
                "reverse": [{"map": {"true": "true", "false": "false"}}],
            },
        ],
    }
)
PLAN = LeadPlan.compile(MAPPING)
GOOD = {
    "lastname": " Lovelace ",
    "email": " ADA@Example.TEST ",
    "company": "  Analytical Engines Ltd ",
    "country": "Sverige",
    "hs_analytics_source": "OFFLINE",
    "numemployees": "500+",
    "phone": "+46 70 185 49 14",
    "firstname": "Ada",
    "jobtitle": "Countess",
    "fullname": "Dr. Augusta Ada King",
    "hs_lead_status": "IN_PROGRESS",
    "hs_email_optout": "true",
}


def test_map_gives_every_field_that_goes_to_salesforce():
    """Transforms run in order; to_hubspot fields are not written to Salesforce."""
    assert PLAN.map(GOOD) == {
        "LastName": "Lovelace",
        "Email": "ada@example.test",
        "Company": "Analy",
        "Country": "SE",
        "LeadSource": "Other",
        "NumberOfEmployees": None,  # the map's default is null: clear the field
        "Phone": "+46701854914",
        "FirstName": "Ada",
        "Description": "ADA (COUNTESS)",
        "Title": "King",
        "Status": "Working - Contacted",
        "HasOptedOutOfEmail": "true",
    }


#: A contact as HubSpot sends it: every property asked for, None where it has no value.
EMPTY = dict.fromkeys(PLAN.hubspot_properties())


def test_empty_values_clear_fields_and_defaults_fill_them():
    """Empty or blank properties give None, except where a default fills them."""
    fields = PLAN.map({**EMPTY, "firstname": "Ada", "company": "   "})
    assert fields["Company"] == "[none]"
    assert fields["LastName"] is None
    assert fields["LeadSource"] is None  # an empty value passes a map without a default
    assert fields["Description"] == "ADA ()"


@pytest.mark.parametrize(
    ("missing", "field", "named"),
    [
        ("jobtitle", "Description", "'jobtitle'"),  # read by a template
        ("company", "Company", "'company'"),  # a default would have filled it
        ("fullname", "Title", "'fullname'"),
    ],
)
def test_a_property_the_contact_came_without_is_never_read_as_empty(missing, field, named):
    """HubSpot leaves out the properties it does not have: a missing one stops the mapping
    (UnreadProperty, a MappingError naming the Lead field and the property) where an empty
    one would have cleared, or defaulted, the field; the fast loop and each field's own
    function agree."""
    given = {**EMPTY, **GOOD}
    del given[missing]
    with pytest.raises(UnreadProperty) as mapped:
        PLAN.map(given)
    (compiled,) = [f for f in PLAN.fields if f.salesforce == field]
    with pytest.raises(UnreadProperty) as alone:
        compiled.salesforce_value(given)
    for error in (mapped.value, alone.value):
        assert (error.field, error.properties) == (field, (missing,))
        assert str(error).startswith(
            f"lead.yaml: Lead.{field} is mapped from HubSpot contact property {named}, but "
            "HubSpot sent a contact without it"
        )


@pytest.mark.parametrize(
    ("change", "field", "value", "message"),
    [
        (
            {"hs_analytics_source": "CARRIER_PIGEON"},
            "LeadSource",
            "CARRIER_PIGEON",
            "from HubSpot property 'hs_analytics_source': no map entry for this value and the "
            "map has no default",
        ),
        (
            {"country": "Narnia"},
            "Country",
            "Narnia",
            "from HubSpot property 'country': not a country name or ISO 3166 code leadbridge knows",
        ),
        (
            {"firstname": "  "},
            "FirstName",
            "  ",
            "from HubSpot property 'firstname': required, but empty",
        ),
        (
            {"phone": "070-415 77 18"},
            "Phone",
            "070-415 77 18",
            "from HubSpot property 'phone': not an international number (+country code); give "
            "phone_e164 a region",
        ),
    ],
)
def test_a_value_the_mapping_cannot_handle_fails_the_record(change, field, value, message):
    """MappingFailure names the Salesforce field, the HubSpot property and the value."""
    with pytest.raises(MappingFailure) as excinfo:
        PLAN.map({**GOOD, **change})
    failure = excinfo.value
    assert (failure.field, failure.value, failure.message) == (field, value, message)
    assert str(failure) == f"{field}: {message} (value {value!r})"


PROPERTY_VALUES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        ["IN_PROGRESS", "NEW", "OFFLINE", "1-5", "Sweden", "Narnia", "+46 70 185 49 14", "  "]
    ),
)


@settings(max_examples=300)
@given(props=st.fixed_dictionaries({name: PROPERTY_VALUES for name in {*GOOD, "jobtitle"}}))
def test_generated_map_equals_the_field_by_field_functions(props):
    """The generated fast loop gives exactly what each field's own function gives (or fails
    on the same field with the same message)."""
    expected: dict | MappingFailure
    try:
        expected = {
            f.salesforce: f.salesforce_value(props) for f in PLAN.fields if f.spec.to_salesforce
        }
    except MappingFailure as exc:
        expected = exc
    try:
        got = PLAN.map(props)
    except MappingFailure as exc:
        assert isinstance(expected, MappingFailure)
        assert (exc.field, exc.value, exc.message) == (
            expected.field,
            expected.value,
            expected.message,
        )
    else:
        assert got == expected


def test_to_hubspot_turns_maps_around_and_writes_text():
    """to_hubspot and both fields: inverted maps, `reverse`, booleans as true/false."""
    lead = {
        "Status": "Working - Contacted",
        "OwnerId": "005000000000001AAA",
        "HasOptedOutOfEmail": False,
    }
    assert PLAN.to_hubspot(lead) == {
        "hs_lead_status": "IN_PROGRESS",
        "salesforce_owner_id": "005000000000001AAA",
        "hs_email_optout": "false",
    }
    with pytest.raises(MappingFailure, match="to HubSpot property 'hs_lead_status'"):
        PLAN.to_hubspot({"Status": "Closed - Converted"})


def test_hubspot_properties_cover_fields_conditions_templates_and_writeback():
    """A pass reads every property the mapping looks at, once."""
    names = PLAN.hubspot_properties()
    assert names == sorted(set(names))
    assert {
        "lastname",
        "jobtitle",  # read by the template only
        "hs_lead_status",  # a field and an inclusion condition
        "salesforce_owner_id",  # to_hubspot: its current value is compared
        "lifecyclestage",
        "hubspotscore",
        "salesforceleadid",
        "salesforcecontactid",
        "email",
    } <= set(names)


T0 = datetime(2026, 1, 1, tzinfo=UTC)
EARLIER, LATER = T0, T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("rule", "hs", "hs_at", "sf", "sf_at", "last", "winner", "value"),
    [
        ("hubspot_wins", "a", EARLIER, "b", LATER, NEVER_WRITTEN, "hubspot", "a"),
        ("hubspot_wins", None, EARLIER, "b", LATER, NEVER_WRITTEN, "hubspot", None),
        ("salesforce_wins", "a", LATER, "b", EARLIER, NEVER_WRITTEN, "salesforce", "b"),
        ("salesforce_unless_blank", "a", LATER, "b", EARLIER, NEVER_WRITTEN, "salesforce", "b"),
        ("salesforce_unless_blank", "a", LATER, " ", EARLIER, NEVER_WRITTEN, "hubspot", "a"),
        ("hubspot_unless_blank", "a", EARLIER, "b", LATER, NEVER_WRITTEN, "hubspot", "a"),
        ("hubspot_unless_blank", "", EARLIER, "b", LATER, NEVER_WRITTEN, "salesforce", "b"),
        ("newest_wins", "a", LATER, "b", EARLIER, NEVER_WRITTEN, "hubspot", "a"),
        ("newest_wins", "a", EARLIER, "b", LATER, NEVER_WRITTEN, "salesforce", "b"),
        ("newest_wins", "a", EARLIER, "b", EARLIER, NEVER_WRITTEN, "salesforce", "b"),
        ("newest_wins", "a", EARLIER, "b", None, NEVER_WRITTEN, "hubspot", "a"),
        ("never_overwrite", "a", LATER, "b", EARLIER, NEVER_WRITTEN, "none", None),
        ("never_overwrite", "a", LATER, None, EARLIER, NEVER_WRITTEN, "hubspot", "a"),
        ("never_overwrite", None, LATER, "b", EARLIER, NEVER_WRITTEN, "salesforce", "b"),
        # Only one side changed since our last write: it wins whatever the rule.
        ("salesforce_wins", "new", EARLIER, "old", LATER, "old", "hubspot", "new"),
        ("hubspot_wins", "old", LATER, "new", EARLIER, "old", "salesforce", "new"),
        # Both changed: the rule decides.
        ("salesforce_wins", "x", LATER, "y", EARLIER, "old", "salesforce", "y"),
        # never_overwrite ignores history: a set value is never replaced.
        ("never_overwrite", "new", LATER, "old", EARLIER, "old", "none", None),
        # Equal values (numbers and booleans in their text forms too) need nothing.
        ("hubspot_wins", "5", LATER, 5.0, EARLIER, NEVER_WRITTEN, "none", 5.0),
        ("hubspot_wins", "true", LATER, True, EARLIER, NEVER_WRITTEN, "none", True),
        ("hubspot_wins", "", LATER, None, EARLIER, NEVER_WRITTEN, "none", None),
    ],
)
def test_resolve(rule, hs, hs_at, sf, sf_at, last, winner, value):
    """Each conflict rule picks its side; history says which side changed."""
    decision = resolve(rule, hs, hs_at, sf, sf_at, last)
    assert (decision.winner, decision.value) == (winner, value)
    assert decision.reason


def test_contact_field_follows_salesforces_lead_mapping_unless_told():
    """After conversion a value goes to the Contact field Salesforce maps the Lead field to;
    `contact:` names another, `contact: false` keeps it on the Lead; Company has none."""
    mapping = LeadMapping.model_validate(
        {
            "fields": [
                {"hubspot": "city", "salesforce": "City"},
                {"hubspot": "company", "salesforce": "Company"},
                {"hubspot": "title", "salesforce": "Title", "contact": False},
                {"hubspot": "tier", "salesforce": "Tier__c", "contact": "Tier__c"},
            ]
        }
    )
    assert [f.contact_field for f in mapping.fields] == ["MailingCity", None, None, "Tier__c"]


def test_a_huge_or_hostile_value_is_named_clipped_and_escaped() -> None:
    """The failure names the value as people can read it: escaped, clipped, its length said."""
    value = "\x1b]0;pwned\x07Narnia\n" * 1000
    with pytest.raises(MappingFailure) as excinfo:
        PLAN.map({**GOOD, "country": value})
    failure = excinfo.value
    assert failure.value == value  # kept whole: the dead letter's payload holds it
    text = str(failure)
    assert text.isprintable()
    assert len(text) < 300
    assert text.endswith("…' (17,000 chars))")
    assert "'\\x1b]0;pwned\\x07Narnia\\n" in text
