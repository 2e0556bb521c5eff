"""Stage rules: which contacts are qualified enough for sales (MQL or later, or a high score).

Pure: data in, decisions out. The stages, the threshold and the property names all come from the
mapping files, never from code.
"""

from __future__ import annotations

from connector.mapping.model import Include
from connector.model import SearchFilter


def qualified_stages(include: Include) -> list[str]:
    """The lifecycle stages at or past the minimum stage, in order."""
    return include.stages[include.stages.index(include.min_stage) :]


def qualifies(properties: dict[str, str | None], include: Include) -> bool:
    """True when the contact's stage is MQL or later, or its score reaches the threshold."""
    stage = properties.get(include.lifecycle_property)
    if stage and stage in qualified_stages(include):
        return True
    if include.score_property and include.min_score is not None:
        try:
            score = float(properties.get(include.score_property) or "")
        except ValueError:
            return False
        return score >= include.min_score
    return False


def search_filters(include: Include) -> list[list[SearchFilter]]:
    """The same rule as HubSpot search filter groups (OR of groups), so we pull only these."""
    groups = [
        [SearchFilter(include.lifecycle_property, "IN", values=tuple(qualified_stages(include)))]
    ]
    if include.score_property and include.min_score is not None:
        groups.append([SearchFilter(include.score_property, "GTE", value=str(include.min_score))])
    return groups
