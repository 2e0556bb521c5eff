"""Channels: per source and campaign, the Leads handed over, the share sales accepted and
rejected (with the reasons), how many converted, and the amounts of the opportunities they
became (all, and closed won), as Salesforce shows them now."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connector.model import Journey, OpportunityOutcome
from connector.reports.inputs import NONE, ChannelInput, channel_input
from connector.reports.stats import rate

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
    """The channels of these journeys (see `channel_rows`)."""
    return channel_rows(channel_input(journeys), outcomes)


def channel_rows(
    found: ChannelInput, outcomes: Mapping[str, OpportunityOutcome]
) -> list[ChannelRow]:
    """One row per source and campaign (most Leads handed over first), then all of them.
    Only journeys with a handoff count; a rejected Lead accepted first counts in both."""
    amounts: defaultdict[tuple[str, str], float] = defaultdict(float)
    won: defaultdict[tuple[str, str], float] = defaultdict(float)
    for source, campaign, opportunity_id in found.opportunities:
        outcome = outcomes.get(opportunity_id)
        if outcome is None:
            continue
        key = (source or NONE, campaign or NONE)
        amounts[key] += outcome.amount or 0.0
        if outcome.is_won:
            won[key] += outcome.amount or 0.0
    rows: list[ChannelRow] = []
    total = dict.fromkeys(("handed_over", "accepted", "rejected", "converted"), 0)
    reasons_total: Counter[str] = Counter()
    for g in sorted(
        found.groups, key=lambda g: (-g.handed_over, g.source or NONE, g.campaign or NONE)
    ):
        key = (g.source or NONE, g.campaign or NONE)
        reasons = Counter({(r or NONE): n for r, n in g.reasons.items()})
        reasons_total.update(reasons)
        for name in total:
            total[name] += getattr(g, name)
        rows.append(
            _row(
                *key,
                g.handed_over,
                g.accepted,
                g.rejected,
                g.converted,
                reasons,
                amounts[key],
                won[key],
            )
        )
    rows.append(
        _row(
            TOTAL,
            TOTAL,
            total["handed_over"],
            total["accepted"],
            total["rejected"],
            total["converted"],
            reasons_total,
            sum(amounts.values()),
            sum(won.values()),
        )
    )
    return rows


def _row(
    source: str,
    campaign: str,
    handed: int,
    accepted: int,
    rejected: int,
    converted: int,
    reasons: Counter[str],
    amount: float,
    won: float,
) -> ChannelRow:
    return ChannelRow(
        source=source,
        campaign=campaign,
        handed_over=handed,
        accepted=accepted,
        accepted_rate=rate(accepted, handed),
        rejected=rejected,
        rejected_rate=rate(rejected, handed),
        converted=converted,
        opportunity_amount=amount,
        won_amount=won,
        reasons=dict(reasons.most_common()),
    )
