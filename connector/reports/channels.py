"""Channels: per source and campaign, the Leads handed over, the share sales accepted and
rejected (with the reasons), how many converted, and the amounts of the opportunities they
became (all, and closed won), as Salesforce shows them now."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connector.model import Journey, OpportunityOutcome
from connector.reports.stats import rate

NONE = "(none)"
TOTAL = "(all)"


@dataclass(frozen=True)
class ChannelRow:
    """One source and campaign."""

    source: str
    campaign: str
    handed_over: int
    accepted: int
    accepted_rate: float | None
    rejected: int
    rejected_rate: float | None
    converted: int
    opportunity_amount: float
    won_amount: float
    reasons: dict[str, int] = field(default_factory=dict)


def channels(
    journeys: Iterable[Journey], outcomes: Mapping[str, OpportunityOutcome]
) -> list[ChannelRow]:
    """One row per source and campaign (most Leads handed over first), then all of them.
    Only journeys with a handoff count. A rejected Lead that was accepted first counts in
    both."""
    groups: dict[tuple[str, str], list[Journey]] = {}
    everyone: list[Journey] = []
    for journey in journeys:
        if journey.handoff is None:
            continue
        groups.setdefault((journey.source or NONE, journey.campaign or NONE), []).append(journey)
        everyone.append(journey)
    order = sorted(groups, key=lambda k: (-len(groups[k]), k))
    return [
        *(
            _row(source, campaign, groups[(source, campaign)], outcomes)
            for source, campaign in order
        ),
        _row(TOTAL, TOTAL, everyone, outcomes),
    ]


def _row(
    source: str,
    campaign: str,
    journeys: list[Journey],
    outcomes: Mapping[str, OpportunityOutcome],
) -> ChannelRow:
    handed = len(journeys)
    converted = [j for j in journeys if j.sql or j.opportunity]
    accepted = sum(1 for j in journeys if j.accepted or j.sql or j.opportunity)
    rejected = [j for j in journeys if j.rejected]
    reasons = Counter(j.reason or NONE for j in rejected)
    amounts = [outcomes.get(j.opportunity_id or "") for j in converted]
    return ChannelRow(
        source=source,
        campaign=campaign,
        handed_over=handed,
        accepted=accepted,
        accepted_rate=rate(accepted, handed),
        rejected=len(rejected),
        rejected_rate=rate(len(rejected), handed),
        converted=len(converted),
        opportunity_amount=sum(o.amount or 0.0 for o in amounts if o is not None),
        won_amount=sum(o.amount or 0.0 for o in amounts if o is not None and o.is_won),
        reasons=dict(reasons.most_common()),
    )
