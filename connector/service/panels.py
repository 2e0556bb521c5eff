"""The status page's report panels as plain data, and their bar charts' geometry: the funnel
(stage, count, median and 90th percentile time spent in it) and the SLA (per owner and queue:
within, breached; and the breaches open now) of the cohort of the last 30 days. Pure: rows
in, numbers out; the template draws the SVG (`templates/status.html`), escaping every label.

`FunnelRow` and `SlaRow` are what the report commands' results become (`page.report_panels` is
the one adapter that fills them, from the same functions `leadbridge report` calls); a list
None leaves its panel out: the page never shows a number nobody measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connector.display import clip

#: Characters of a bar's label.
LABEL_LIMIT = 40
CHART_WIDTH = 640
LABEL_WIDTH = 260
BAR_HEIGHT = 22
BAR_GAP = 8


@dataclass(frozen=True)
class FunnelRow:
    """One stage of the cohort's funnel: how many of its leads reached it, and the hours they
    spent in it before the next stage (median, 90th percentile; None when unknown)."""

    stage: str
    count: int
    median_hours: float | None = None
    p90_hours: float | None = None


@dataclass(frozen=True)
class SlaRow:
    """One owner and queue: Leads handed over, those not past their target (touched in time,
    or still within it), those past it (`breached`), and of those the still untouched."""

    owner: str
    queue: str
    handed_over: int
    within: int
    breached: int
    open_breaches: int

    @property
    def share_within(self) -> float | None:
        total = self.within + self.breached
        return self.within / total if total else None


@dataclass(frozen=True)
class OpenBreach:
    """A Lead handed over, untouched, past its target now."""

    lead_id: str
    hubspot_id: str
    owner: str
    queue: str
    target: str
    deadline: datetime


@dataclass(frozen=True)
class ReportPanels:
    """What the funnel and SLA panels show. `funnel` None: nobody entered the funnel in the
    period; `sla` None: no SLA panel, `sla_note` says why."""

    cohort: str
    since: datetime
    funnel: Sequence[FunnelRow] | None
    sla: Sequence[SlaRow] | None
    breaches: Sequence[OpenBreach] = ()
    sla_note: str | None = None
    days: int = 30


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal bar chart, in SVG user units."""

    label: str
    value_text: str
    y: float
    width: float
    text_y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]


def bar_chart(rows: Sequence[tuple[str, float, str]]) -> Chart:
    """Horizontal bars for (label, value, value as shown), scaled to the largest value (a
    negative value draws no bar); labels clipped."""
    top = max((value for _, value, _ in rows), default=0.0)
    span = CHART_WIDTH - LABEL_WIDTH - 80
    bars = []
    for number, (label, value, shown) in enumerate(rows):
        y = number * (BAR_HEIGHT + BAR_GAP)
        width = span * value / top if top > 0 and value > 0 else 0.0
        bars.append(Bar(clip(label, LABEL_LIMIT), shown, y, round(width, 1), y + BAR_HEIGHT * 0.7))
    height = max(1, len(rows) * (BAR_HEIGHT + BAR_GAP))
    return Chart(CHART_WIDTH, height, LABEL_WIDTH, BAR_HEIGHT, bars)


def funnel_chart(rows: Sequence[FunnelRow]) -> Chart:
    return bar_chart([(r.stage, float(r.count), f"{r.count:,}") for r in rows])


def sla_chart(rows: Sequence[SlaRow]) -> Chart:
    """Each owner and queue's share of Leads within their SLA (percent)."""
    shown = []
    for r in rows:
        share = r.share_within
        shown.append(
            (
                f"{r.owner} / {r.queue}",
                -1.0 if share is None else share * 100,
                "-" if share is None else f"{share:.0%}",
            )
        )
    return bar_chart(shown)


def duration(seconds: float | None) -> str:
    """`-`, `45 s`, `12 min`, `3.5 h`, `2.1 d`."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of `values` (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]
