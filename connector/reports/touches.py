"""Sales' first touch by activity: a Task or an Event on a handed-over Lead counts as the
first touch when it comes before its status leaves the open status (`connector.service.touches`
reads the activities and records what this decides). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from connector.model import Activity, Journey, Transition

#: How long after its handoff an untouched Lead's activities are still looked for: an SLA is
#: counted in minutes or hours, and a Lead untouched for a month is no longer waiting for a
#: first touch worth measuring (nor worth an API call every check).
HORIZON = timedelta(days=30)
#: A Lead's Salesforce id (15 or 18 characters, key prefix 00Q). An erased journey's key
#: (`erased:…`) is none: asked for, Salesforce would refuse the whole query.
_LEAD_ID = re.compile(r"00Q[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")


def is_lead_id(value: str) -> bool:
    """Whether `value` is a Salesforce Lead id (not an erased journey's key)."""
    return bool(_LEAD_ID.fullmatch(value))


def waiting(journeys: Iterable[Journey], now: datetime) -> list[Journey]:
    """The untouched journeys of Leads handed over within `HORIZON` of `now`: whose
    activities to read."""
    return [
        j
        for j in journeys
        if j.handoff is not None
        and now - HORIZON <= j.handoff
        and first_touch_free(j)
        and is_lead_id(j.lead_id)
    ]


def first_touch_free(journey: Journey) -> bool:
    """No touch of any kind recorded yet."""
    return not (journey.touched or journey.accepted or journey.rejected or journey.sql)


def activity_touches(
    journeys: Iterable[Journey], activities: Mapping[str, Sequence[Activity]]
) -> list[Transition]:
    """A `touched` transition for each journey with an activity on its Lead at or after its
    handoff (one from before was not an answer to it): at the first such activity, with the
    journey's owner, and the kind of activity as its reason."""
    found = []
    for journey in journeys:
        handoff = journey.handoff
        if handoff is None:
            continue
        first = next((a for a in activities.get(journey.lead_id, ()) if a.at >= handoff), None)
        if first is not None:
            found.append(
                Transition(
                    "touched",
                    journey.hubspot_id,
                    journey.lead_id,
                    first.at,
                    owner_id=journey.owner_id,
                    reason=f"first activity: {first.sobject}",
                )
            )
    return found
