"""The reports as text: a table for people, CSV and JSON for tools. Each report is first made
flat (`*_records`: one dict a row, a column a key, numbers as numbers), then written in the
format asked for. Pure: text out, nothing printed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from connector.reports.channels import ChannelRow
from connector.reports.funnel import FUNNEL_STAGES, FunnelRow
from connector.reports.sla import Breach, SlaRow

Format = Literal["table", "csv", "json"]
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Cohort:
    """Which leads a report counts: those that entered the funnel (MQL, else handoff) in
    [since, until); None: no bound."""

    since: datetime | None
    until: datetime | None

    def describe(self) -> str:
        since = self.since.isoformat() if self.since else "the first"
        until = self.until.isoformat() if self.until else "now"
        return (
            f"cohort: leads that entered the funnel (MQL, else handoff) from {since} until "
            f"{until}; every count and rate is over that cohort, whenever its later stages came"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "note": self.describe(),
        }


def funnel_records(rows: Sequence[FunnelRow]) -> list[dict[str, Any]]:
    records = []
    for row in rows:
        record: dict[str, Any] = {row.by: row.group}
        for stage in FUNNEL_STAGES:
            record[stage] = getattr(row, stage)
            if stage != "mql":
                record[f"{stage}_rate"] = getattr(row, f"{stage}_rate")
        for stage, spent in row.times.items():
            record[f"{stage}_median_hours"] = spent.median_hours
            record[f"{stage}_p90_hours"] = spent.p90_hours
        records.append(record)
    return records


def sla_records(rows: Sequence[SlaRow]) -> list[dict[str, Any]]:
    return [
        {
            "owner": r.owner_id,
            "queue": r.queue,
            "handed_over": r.handed_over,
            "touched": r.touched,
            "median_minutes": r.median_minutes,
            "p90_minutes": r.p90_minutes,
            "breaches": r.breaches,
            "breach_rate": r.breach_rate,
            "open_breaches": r.open_breaches,
        }
        for r in rows
    ]


def breach_records(breaches: Sequence[Breach]) -> list[dict[str, Any]]:
    return [
        {
            "hubspot_id": b.hubspot_id,
            "lead_id": b.lead_id,
            "owner": b.owner_id,
            "queue": b.queue,
            "target": b.target,
            "handoff": b.handoff,
            "deadline": b.deadline,
        }
        for b in breaches
    ]


def channel_records(rows: Sequence[ChannelRow]) -> list[dict[str, Any]]:
    return [
        {
            "source": r.source,
            "campaign": r.campaign,
            "handed_over": r.handed_over,
            "accepted": r.accepted,
            "accepted_rate": r.accepted_rate,
            "rejected": r.rejected,
            "rejected_rate": r.rejected_rate,
            "reasons": r.reasons,
            "converted": r.converted,
            "opportunity_amount": r.opportunity_amount,
            "won_amount": r.won_amount,
        }
        for r in rows
    ]


def render(report: str, records: list[dict[str, Any]], cohort: Cohort | None, fmt: Format) -> str:
    """`records` as `fmt`, saying which cohort they count (table: a first line; CSV: a first
    `#` line; JSON: a `cohort` key)."""
    if fmt == "json":
        body: dict[str, Any] = {"report": report}
        if cohort is not None:
            body["cohort"] = cohort.to_json()
        body["rows"] = records
        return json.dumps(body, default=_json_value, indent=2, ensure_ascii=False)
    columns = list(dict.fromkeys(k for r in records for k in r))
    if fmt == "csv":
        out = io.StringIO()
        if cohort is not None:
            out.write(f"# {cohort.describe()}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_value(record.get(c)) for c in columns])
        return out.getvalue().rstrip("\n")
    return _table(report, columns, records, cohort)


def _table(
    report: str, columns: list[str], records: list[dict[str, Any]], cohort: Cohort | None
) -> str:
    lines = [f"{report} report"]
    if cohort is not None:
        lines.append(cohort.describe())
    if not records:
        return "\n".join([*lines, "(nothing recorded)"])
    cells = [[_cell(c, r.get(c)) for c in columns] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column.endswith("_rate") and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    msg = f"not JSON: {type(value).__name__}"
    raise TypeError(msg)
