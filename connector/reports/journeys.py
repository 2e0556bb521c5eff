"""Transitions grouped into journeys in Python: what `StateStore.journeys` does in SQL, for
transitions not in a store (a test's, a generated set). Both must agree; a test holds them to
it on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from connector.model import Journey, Transition

#: Whose owner a journey shows: the first of these stages that has one.
OWNER_FROM = ("touched", "accepted", "rejected", "handoff")


def journeys(
    transitions: Iterable[Transition],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Journey]:
    """The journeys (HubSpot contact and Lead) that entered the funnel in [since, until): each
    stage's first time, owner, queue (the handoff's), source, campaign, rejection reason and
    opportunity. A transition without a time counts as not recorded."""
    grouped: dict[tuple[str, str], dict[str, Transition]] = {}
    for t in transitions:
        if t.at is None:
            continue
        stages = grouped.setdefault((t.hubspot_id, t.lead_id), {})
        kept = stages.get(t.stage)
        if kept is None or (kept.at is not None and t.at < kept.at):
            stages[t.stage] = t
    found = []
    for (hubspot_id, lead_id), stages in grouped.items():
        start = stages.get("mql") or stages.get("handoff")
        if start is None or start.at is None:
            continue
        entered = start.at
        if (since is not None and entered < since) or (until is not None and entered >= until):
            continue
        owner = next(
            (stages[s].owner_id for s in OWNER_FROM if s in stages and stages[s].owner_id),
            None,
        )
        handoff = stages.get("handoff")
        rejected = stages.get("rejected")
        opportunity = stages.get("opportunity")
        found.append(
            Journey(
                hubspot_id=hubspot_id,
                lead_id=lead_id,
                entered=entered,
                **{s: stages[s].at if s in stages else None for s in _TIMED},
                owner_id=owner,
                queue=handoff.queue if handoff else None,
                source=max((t.source for t in stages.values() if t.source), default=None),
                campaign=max((t.campaign for t in stages.values() if t.campaign), default=None),
                reason=rejected.reason if rejected else None,
                opportunity_id=opportunity.opportunity_id if opportunity else None,
            )
        )
    return found


_TIMED = ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")
