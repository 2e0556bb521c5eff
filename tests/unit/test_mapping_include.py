"""Which contacts sync: stage or score, property conditions, exclusions, and the search filters."""

from __future__ import annotations

import pytest

from connector.hubspot.search import MAX_CALLER_FILTERS, check_filters
from connector.lifecycle import qualifies, search_filters, why_not
from connector.mapping.model import Include
from connector.model import SearchFilter

RULE = Include.model_validate(
    {
        "min_score": 80,
        "conditions": [
            {"property": "email", "is_set": True},
            {"property": "country", "in": ["Sweden", "Norway"]},
            {"property": "jobtitle", "matches": "(?i)engineer|cto"},
        ],
        "exclude": {
            "competitor_domains": ["rival.example", "@other-rival.test"],
            "test_addresses": ["*@example.com", "test+*@*"],
            "consent": {"property": "hs_legal_basis", "is_set": True},
            "conditions": [{"property": "hs_lead_status", "equals": "unqualified"}],
        },
    }
)
GOOD = {
    "lifecyclestage": "marketingqualifiedlead",
    "email": "ada@acme.test",
    "country": "sweden",
    "jobtitle": "Senior Engineer",
    "hs_legal_basis": "Legitimate interest – prospect/lead",
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        (
            {"lifecyclestage": "lead", "hubspotscore": "79"},
            "lifecycle stage 'lead' is before 'marketingqualifiedlead' and score 79 is below 80",
        ),
        ({"lifecyclestage": "lead", "hubspotscore": "80"}, None),
        ({"country": "Denmark"}, "condition not met: country in [Sweden, Norway]"),
        ({"country": None}, "condition not met: country in [Sweden, Norway]"),
        ({"jobtitle": "Office Manager"}, "condition not met: jobtitle matches '(?i)engineer|cto'"),
        ({"email": "ada@sales.rival.example"}, "excluded: competitor domain rival.example"),
        ({"email": "ada@OTHER-RIVAL.test"}, "excluded: competitor domain other-rival.test"),
        ({"email": "ada@notrival.example"}, None),
        ({"email": "qa@example.com"}, "excluded: test address (*@example.com)"),
        ({"email": "Test+1@acme.test"}, "excluded: test address (test+*@*)"),
        (
            {"hs_legal_basis": ""},
            "excluded: no marketing consent (hs_legal_basis is set does not hold)",
        ),
        ({"hs_lead_status": "UNQUALIFIED"}, "excluded: hs_lead_status equals 'unqualified'"),
    ],
)
def test_conditions_and_exclusions(change, reason):
    """Each rule excludes exactly its contacts, and says why."""
    props = {**GOOD, **change}
    assert why_not(props, RULE) == reason
    assert qualifies(props, RULE) is (reason is None)


def test_not_in_keeps_contacts_without_a_value():
    """`not_in` holds for an empty value (it is in no list)."""
    rule = Include.model_validate({"conditions": [{"property": "x", "not_in": ["a"]}]})
    base = {"lifecyclestage": "customer"}
    assert qualifies(base, rule)
    assert qualifies({**base, "x": "b"}, rule)
    assert not qualifies({**base, "x": "A"}, rule)


def test_is_set_conditions_are_pushed_into_the_search_within_its_limits():
    """HAS_PROPERTY finds every contact `is_set: true` holds for: added to every group while
    room is left; the other conditions stay in Python."""
    groups = search_filters(RULE)
    assert groups == [
        [
            SearchFilter(
                "lifecyclestage",
                "IN",
                values=(
                    "marketingqualifiedlead",
                    "salesqualifiedlead",
                    "opportunity",
                    "customer",
                    "evangelist",
                ),
            ),
            SearchFilter("email", "HAS_PROPERTY"),
        ],
        [SearchFilter("hubspotscore", "GTE", value="80.0"), SearchFilter("email", "HAS_PROPERTY")],
    ]
    many = Include.model_validate(
        {"conditions": [{"property": f"p{i}", "is_set": i % 2 == 0} for i in range(6)]}
    )
    pushed = search_filters(many)
    assert all(len(group) == MAX_CALLER_FILTERS for group in pushed)
    assert pushed[0][1:] == [
        SearchFilter("p0", "HAS_PROPERTY"),
        SearchFilter("p2", "HAS_PROPERTY"),
    ]
    check_filters(pushed)  # HubSpot's limits hold
