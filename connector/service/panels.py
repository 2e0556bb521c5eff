"""The status page's report panels as plain data, and their bar charts' geometry: the funnel
(stage, count, median and 90th percentile time to reach it) and the SLA (stage, bound, within,
breached) of the last 30 days. Pure: rows in, numbers out; the template draws the SVG
(`templates/status.html`), escaping every label.

`FunnelRow` and `SlaRow` are what the report commands' results become (`page.report_panels` is
the one adapter that fills them); either list None leaves its panel out: the page never shows
a number nobody measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connector.display import clip

#: Characters of a bar's label.
LABEL_LIMIT = 40
CHART_WIDTH = 640
LABEL_WIDTH = 260
BAR_HEIGHT = 22
BAR_GAP = 8


@dataclass(frozen=True)
class FunnelRow:
    """One stage of the funnel: how many leads reached it, and how long after the first stage
    (seconds; None when unknown or for the first stage)."""

    stage: str
    count: int
    median_seconds: float | None = None
    p90_seconds: float | None = None


@dataclass(frozen=True)
class SlaRow:
    """One stage's SLA: its bound (hours), the leads that left it within the bound, and those
    past it (still in it, or left late)."""

    stage: str
    bound_hours: float
    within: int
    breached: int

    @property
    def share_within(self) -> float | None:
        total = self.within + self.breached
        return self.within / total if total else None


@dataclass(frozen=True)
class ReportPanels:
    """What the funnel and SLA panels show; None leaves a panel out."""

    funnel: Sequence[FunnelRow] | None
    sla: Sequence[SlaRow] | None
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
    """Each stage's share of leads within its SLA (percent)."""
    shown = []
    for r in rows:
        share = r.share_within
        shown.append(
            (
                r.stage,
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
