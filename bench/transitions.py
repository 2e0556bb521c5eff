"""Months of lead journeys with known rates, as the state store's transitions: what the report
tests check the reports against, and what `bench/report_speed.py` fills a store with.

Counts are exact, not sampled: of every source's leads in a month, the first `sal` share is
accepted, of those the first `sql` share converts, and so on, so a report over the generated
store prints the rates given here (to rounding of the counts). Each journey enters on a
weekday of its month between 10:00 and 16:00 UTC (inside 09:00-17:00 working hours), is
handed over 5 minutes
after its MQL moment and, when sales touches it, touched 10 minutes after (or `late_minutes`
for the `late` share: past a 15-minute target). Run as a script to fill a store:

    python bench/transitions.py --database-url sqlite:///report.db --months 12 --per-month 1000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connector.model import OpportunityOutcome, Transition


@dataclass(frozen=True)
class Rates:
    """One source's rates: each of the stage before (rejected: of those not accepted)."""

    sal: float
    sql: float
    opportunity: float
    won: float
    rejected: float
    late: float = 0.0  # of the touched: touched after `late_minutes`, not 10


SOURCES: dict[str, Rates] = {
    "EMAIL_MARKETING": Rates(sal=0.6, sql=0.5, opportunity=0.8, won=0.25, rejected=0.5, late=0.1),
    "PAID_SEARCH": Rates(sal=0.4, sql=0.5, opportunity=1.0, won=0.5, rejected=1.0, late=0.2),
    "ORGANIC_SEARCH": Rates(sal=0.8, sql=0.25, opportunity=1.0, won=0.5, rejected=0.5, late=0.0),
    "REFERRALS": Rates(sal=0.5, sql=0.8, opportunity=0.5, won=1.0, rejected=0.0, late=0.5),
}
CAMPAIGNS = {source: f"{source.lower()}-campaign" for source in SOURCES}
OWNERS = ("005000000000001AAA", "005000000000002AAA", "005000000000003AAA")
QUEUE = "00G000000000001AAA"
REASONS = ("No budget", "Not a fit", "Competitor")
#: Hours each stage lasts before the next: MQL -> SAL, SAL -> SQL (opportunity at the SQL).
HOURS = {"mql": 2.0, "sal": 72.0, "sql": 0.0}
AMOUNT = 1000.0
WON_AFTER_DAYS = 10


@dataclass
class Generated:
    """What was generated: the transitions, the opportunities' outcomes, and the expected
    counts per (month, source) and stage."""

    transitions: list[Transition] = field(default_factory=list)
    outcomes: dict[str, OpportunityOutcome] = field(default_factory=dict)
    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def total(self, stage: str, *, month: str | None = None, source: str | None = None) -> int:
        return sum(
            n[stage]
            for (m, s), n in self.counts.items()
            if (month is None or m == month) and (source is None or s == source)
        )


def _weekdays(first: date) -> list[date]:
    """The weekdays of `first`'s month."""
    days = [first + timedelta(days=n) for n in range(31)]
    return [d for d in days if d.month == first.month and d.weekday() < 5]


def generate(
    *,
    months: int = 3,
    per_source: int = 20,
    start: date = date(2026, 1, 1),
    late_minutes: float = 30.0,
    sources: dict[str, Rates] | None = None,
) -> Generated:
    """`per_source` journeys a month for each source, `months` months from `start`."""
    sources = sources or SOURCES
    out = Generated()
    serial = 0
    for month_index in range(months):
        year = start.year + (start.month - 1 + month_index) // 12
        month = (start.month - 1 + month_index) % 12 + 1
        label = f"{year:04d}-{month:02d}"
        days = _weekdays(date(year, month, 1))
        for source, rates in sources.items():
            counts: dict[str, int] = {}
            sal = round(per_source * rates.sal)
            sql = round(sal * rates.sql)
            opportunity = round(sql * rates.opportunity)
            won = round(opportunity * rates.won)
            rejected = round((per_source - sal) * rates.rejected)
            touched = sal + rejected
            late = round(touched * rates.late)
            for i in range(per_source):
                serial += 1
                day = days[i % len(days)]
                minute = (i // len(days)) % 360  # 10:00 to 16:00, inside working hours
                mql = datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(
                    minutes=minute
                )
                out.transitions += _journey(
                    serial,
                    i,
                    mql,
                    source,
                    stages=(i < sal, i < sql, i < opportunity, i < won),
                    rejected=sal <= i < sal + rejected,
                    late=i < late if i < touched else False,
                    late_minutes=late_minutes,
                    outcomes=out.outcomes,
                )
            counts.update(
                mql=per_source,
                sal=sal,
                sql=sql,
                opportunity=opportunity,
                won=won,
                rejected=rejected,
                touched=touched,
                late=min(late, touched),
            )
            out.counts[(label, source)] = counts
    return out


def _journey(
    serial: int,
    i: int,
    mql: datetime,
    source: str,
    *,
    stages: tuple[bool, bool, bool, bool],
    rejected: bool,
    late: bool,
    late_minutes: float,
    outcomes: dict[str, OpportunityOutcome],
) -> list[Transition]:
    accepted, converted, opportunity, won = stages
    hubspot_id, lead_id = str(100_000 + serial), f"00Q{serial:015d}"
    owner = OWNERS[serial % len(OWNERS)]
    queue = QUEUE if serial % 4 == 0 else None
    common = {"source": source, "campaign": CAMPAIGNS.get(source)}
    handoff = mql + timedelta(minutes=5)
    rows = [
        Transition("mql", hubspot_id, lead_id, mql, **common),
        Transition(
            "handoff", hubspot_id, lead_id, handoff, owner_id=queue or owner, queue=queue, **common
        ),
    ]
    touched = handoff + timedelta(minutes=late_minutes if late else 10)
    if accepted or rejected:
        rows.append(Transition("touched", hubspot_id, lead_id, touched, owner_id=owner))
    sal_at = mql + timedelta(hours=HOURS["mql"])
    if accepted:
        rows.append(Transition("accepted", hubspot_id, lead_id, sal_at, owner_id=owner))
    if rejected:
        reason = REASONS[i % len(REASONS)]
        rows.append(
            Transition("rejected", hubspot_id, lead_id, sal_at, owner_id=owner, reason=reason)
        )
    sql_at = sal_at + timedelta(hours=HOURS["sal"])
    if converted:
        rows.append(Transition("sql", hubspot_id, lead_id, sql_at, contact_id=f"003{serial:015d}"))
    if opportunity:
        opp = f"006{serial:015d}"
        rows.append(Transition("opportunity", hubspot_id, lead_id, sql_at, opportunity_id=opp))
        closed = (sql_at + timedelta(days=WON_AFTER_DAYS)).date()
        outcomes[opp] = OpportunityOutcome(
            opp,
            "Closed Won" if won else "Prospecting",
            AMOUNT,
            is_closed=won,
            is_won=won,
            close_date=closed if won else None,
        )
    return rows


def main() -> None:
    from connector.state.store import StateStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--per-month", type=int, default=1000, help="journeys per source")
    args = parser.parse_args()
    started = time.monotonic()
    made = generate(months=args.months, per_source=args.per_month)
    with StateStore.open(args.database_url) as store:
        fill(store, made.transitions)
    print(
        f"{len(made.transitions):,} transitions of {made.total('mql'):,} journeys in "
        f"{time.monotonic() - started:.1f} s"
    )


def fill(store: object, transitions: list[Transition], chunk: int = 20_000) -> None:
    """Record `transitions` in chunks (one transaction each)."""
    for begin in range(0, len(transitions), chunk):
        store.record_transitions(transitions[begin : begin + chunk])  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
