"""Stage rules: which contacts are qualified enough for sales (MQL or later, or a high score),
pass the mapping's property conditions, and are not excluded (competitors, test addresses, no
marketing consent).

Pure: data in, decisions out. The stages, the threshold, the conditions and the property names
all come from the mapping files, never from code.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import lru_cache

from connector.mapping.model import Condition, Include
from connector.model import MAX_CALLER_FILTERS, SearchFilter

Properties = Mapping[str, str | None]


def qualified_stages(include: Include) -> list[str]:
    """The lifecycle stages at or past the minimum stage, in order."""
    return include.stages[include.stages.index(include.min_stage) :]


def qualifies(properties: Properties, include: Include) -> bool:
    """True when the contact is MQL or later (or scores enough), meets every condition, and
    is not excluded."""
    return why_not(properties, include) is None


def why_not(properties: Properties, include: Include) -> str | None:
    """Why the contact does not sync (for people: `mappings plan`), or None when it does."""
    if not _stage_or_score(properties, include):
        stage = properties.get(include.lifecycle_property) or "none"
        why = f"lifecycle stage {stage!r} is before {include.min_stage!r}"
        if include.score_property and include.min_score is not None:
            score = properties.get(include.score_property) or "none"
            why += f" and score {score} is below {include.min_score:g}"
        return why
    for condition in include.conditions:
        if not holds(condition, properties):
            return f"condition not met: {condition.describe()}"
    exclude = include.exclude
    email = (properties.get("email") or "").strip().lower()
    domain = email.rpartition("@")[2] if "@" in email else ""
    for competitor in exclude.competitor_domains:
        if domain and (domain == competitor or domain.endswith("." + competitor)):
            return f"excluded: competitor domain {competitor}"
    for pattern in exclude.test_addresses:
        if email and fnmatch.fnmatchcase(email, pattern):
            return f"excluded: test address ({pattern})"
    if exclude.consent is not None and not holds(exclude.consent, properties):
        return f"excluded: no marketing consent ({exclude.consent.describe()} does not hold)"
    for condition in exclude.conditions:
        if holds(condition, properties):
            return f"excluded: {condition.describe()}"
    return None


def _stage_or_score(properties: Properties, include: Include) -> bool:
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


def holds(condition: Condition, properties: Properties) -> bool:
    """Whether one condition holds for the contact (text compared case-insensitively)."""
    value = properties.get(condition.property)
    present = value is not None and value.strip() != ""
    operator = condition.operator
    if operator == "is_set":
        return present == condition.is_set
    if operator == "matches":
        return present and _regex(condition.matches or "").search(value or "") is not None
    text = (value or "").strip().casefold()
    if operator == "equals":
        return present and text == (condition.equals or "").strip().casefold()
    options = {v.strip().casefold() for v in condition.operand(operator)}
    if operator == "in":
        return present and text in options
    return not present or text not in options  # not_in: an empty value is in no list


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def search_filters(include: Include) -> list[list[SearchFilter]]:
    """The same rule as HubSpot search filter groups (OR of groups), so we pull only these.

    Stage IN the qualified stages, or score GTE the threshold; `is_set: true` conditions are
    added to each group while room is left (HubSpot's HAS_PROPERTY finds every contact they
    hold for, and `qualifies` drops a whitespace-only value). The other conditions and the
    exclusions are checked by `qualifies` after the search: pushing them could drop contacts
    (HubSpot's text matching and empty-value rules are not ours).
    """
    groups = [
        [SearchFilter(include.lifecycle_property, "IN", values=tuple(qualified_stages(include)))]
    ]
    if include.score_property and include.min_score is not None:
        groups.append([SearchFilter(include.score_property, "GTE", value=str(include.min_score))])
    exact = [
        SearchFilter(c.property, "HAS_PROPERTY")
        for c in include.conditions
        if c.operator == "is_set" and c.is_set
    ]
    room = MAX_CALLER_FILTERS - max(len(g) for g in groups)
    return [[*group, *exact[:room]] for group in groups]
