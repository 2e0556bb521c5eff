"""Which contacts are qualified for sales, by stage or by score, as the mapping file says."""

from __future__ import annotations

import pytest

from connector.lifecycle import qualifies, search_filters
from connector.mapping.model import Include
from connector.model import SearchFilter

RULE = Include(min_stage="marketingqualifiedlead", score_property="hubspotscore", min_score=80)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"lifecyclestage": "marketingqualifiedlead"}, True),
        ({"lifecyclestage": "salesqualifiedlead"}, True),
        ({"lifecyclestage": "customer"}, True),
        ({"lifecyclestage": "lead", "hubspotscore": "79.5"}, False),
        ({"lifecyclestage": "lead", "hubspotscore": "80"}, True),
        ({"lifecyclestage": "subscriber", "hubspotscore": "not a number"}, False),
        ({"lifecyclestage": "some_custom_stage"}, False),
        ({}, False),
    ],
)
def test_mql_or_later_or_high_score_qualifies(props, expected):
    """Stage at least MQL, or score at least the threshold, and nothing else."""
    assert qualifies(props, RULE) is expected


def test_search_filters_pull_exactly_the_qualified_contacts():
    """The same rule becomes two OR-ed HubSpot filter groups: stage IN later stages, score GTE."""
    assert search_filters(RULE) == [
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
            )
        ],
        [SearchFilter("hubspotscore", "GTE", value="80.0")],
    ]


def test_without_a_score_rule_only_the_stage_counts():
    """No threshold: one filter group, and a high score alone does not qualify."""
    rule = Include(min_stage="salesqualifiedlead", min_score=None)
    assert len(search_filters(rule)) == 1
    assert not qualifies({"lifecyclestage": "marketingqualifiedlead", "hubspotscore": "99"}, rule)
