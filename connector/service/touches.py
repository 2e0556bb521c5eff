"""Sales' first touch by activity, read for the alert check: the handed-over Leads still
untouched (the store's journeys) are asked for their Tasks and Events since their handoff, and
the first of each becomes the journey's `touched` transition (`connector.reports.touches`
decides; the store keeps the earliest touch). A Lead leaves this read once touched, so the
read costs one Composite call per about 1,000 Leads still waiting, nothing for the others."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import structlog

from connector.model import Activity
from connector.reports.touches import activity_touches, waiting
from connector.state.store import StateStore

log = structlog.get_logger(__name__)


class ActivitySource(Protocol):
    """`SalesforceGateway.activities`."""

    def activities(self, lead_ids: Sequence[str], since: datetime) -> dict[str, list[Activity]]: ...


def record_first_activities(store: StateStore, salesforce: ActivitySource, now: datetime) -> int:
    """Read the activities of the Leads waiting for a first touch and record the touches they
    make; how many were recorded."""
    found = waiting(store.journeys(untouched=True), now)
    if not found:
        return 0
    since = min(j.handoff for j in found if j.handoff is not None)
    touches = activity_touches(found, salesforce.activities([j.lead_id for j in found], since))
    store.record_touches(touches)
    if touches:
        log.info("sla.touched_by_activity", leads=len(found), touched=len(touches))
    return len(touches)
