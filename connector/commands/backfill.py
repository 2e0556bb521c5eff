"""`leadbridge backfill`: HubSpot's contacts into Salesforce with the contacts stream's own
decisions, resumable (a checkpoint per recorded batch), within a share of the Salesforce API
budget; `--dry-run` reads both sides and writes nothing; `--mapping-changed` re-applies the
current lead.yaml to every contact already synced, after showing the plan.

Exit status: 0 when the run finished (or had finished before); 75 when it stopped at its budget
share or the API reserve (the checkpoint is kept: run it again to go on); 130 when stopped by
Ctrl-C between batches; 3 when another backfill holds it; 1 and 2 as every command.
"""

from __future__ import annotations

import csv
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import click

from connector.commands.common import EXIT_BUDGET_RESERVED, errors_to_exit, settings_or_exit
from connector.display import for_terminal
from connector.state.hold import DEFAULT_WAIT_SECONDS, Wait

#: Exit status of a run stopped by Ctrl-C between batches (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Rows of a plan printed before the summary (all of them go to --csv).
ROWS_SHOWN = 20
CSV_COLUMNS = ("hubspot_id", "email", "outcome", "salesforce_id", "reason", "convert")


def _moment(_ctx: Any, _param: Any, value: str | None) -> datetime | None:
    """An ISO 8601 date or time; a date is its midnight, a time without a zone is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{value!r} is not an ISO 8601 date or time (2024-01-31 or 2024-01-31T08:00:00Z)"
        raise click.BadParameter(msg) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@click.command("backfill")
@click.option("--since", callback=_moment, help="Contacts last changed at or after this (UTC).")
@click.option(
    "--until", callback=_moment, help="Contacts last changed up to this (default: the start)."
)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    help="Only contacts at this lifecycle stage (repeat for several); the mapping still decides.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many contacts.")
@click.option(
    "--dry-run", is_flag=True, help="Read both sides, write nothing: what would be done, and why."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --dry-run or --mapping-changed: write every contact's planned outcome here.",
)
@click.option(
    "--budget",
    "budget_percent",
    type=click.FloatRange(min=0, max=100, min_open=True),
    default=30.0,
    show_default=True,
    metavar="PERCENT",
    help="Share of the Salesforce API calls left today this run may spend.",
)
@click.option("--restart", is_flag=True, help="Drop the checkpoint and start from the beginning.")
@click.option(
    "--mapping-changed",
    is_flag=True,
    help="Re-apply the current lead.yaml to every contact already synced (shows the plan first).",
)
@click.option("--yes", is_flag=True, help="With --mapping-changed: apply without asking.")
@click.option(
    "--bulk-threshold",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    metavar="N",
    help="From this many contacts on, Lead upserts go through Bulk API 2.0 jobs (by external "
    "id, --job-records a job) instead of sObject Collections.",
)
@click.option(
    "--job-records",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    metavar="N",
    help="Records per Bulk API 2.0 job: its pages' look-ups and writes go together; the memory "
    "a job's planned pages take grows with it.",
)
def backfill_command(
    since: datetime | None,
    until: datetime | None,
    stages: tuple[str, ...],
    limit: int | None,
    dry_run: bool,
    csv_path: Path | None,
    budget_percent: float,
    restart: bool,
    mapping_changed: bool,
    yes: bool,
    bulk_threshold: int,
    job_records: int,
) -> None:
    """Backfill HubSpot's contacts into Salesforce with the same decisions as `sync` (mapping,
    dedupe against Leads and Contacts, routing, conflict rules). Resumes from its checkpoint
    unless --restart; stops cleanly at its --budget share."""
    from connector.commands.progress import Display
    from connector.mapping.plan import values_hash
    from connector.streams.backfill.decide import MAPPING_CHANGED, Options
    from connector.wiring import open_connector

    if mapping_changed and (since or until or stages or limit):
        msg = (
            "--mapping-changed takes the whole synced population: "
            "no --since, --until, --stage or --limit"
        )
        raise click.UsageError(msg)
    if csv_path is not None and not (dry_run or mapping_changed):
        msg = "--csv goes with --dry-run or --mapping-changed"
        raise click.UsageError(msg)
    settings = settings_or_exit()
    options = Options(since=since, until=until, stages=stages, limit=limit)
    with (
        errors_to_exit(),
        open_connector(settings, wait=Wait(DEFAULT_WAIT_SECONDS)) as connector,
        _stop_on_ctrl_c() as stopping,
    ):
        connector.check_mapping()
        backfill = connector.backfill()
        backfill.bulk_threshold = bulk_threshold
        backfill.job_records = job_records
        if mapping_changed:
            options = Options(
                mapping=values_hash(connector.files.plan.mapping.model_dump(mode="json"))
            )
            with _rows(csv_path) as rows, Display("plan") as display:
                plan = backfill.dry_run(
                    options,
                    source=backfill.linked(),
                    rows=rows,
                    budget_percent=budget_percent,
                    progress=display,
                    should_stop=stopping,
                )
            plan.title = "backfill --mapping-changed (the plan: nothing written yet)"
            click.echo(for_terminal("\n".join(plan.lines())))
            if dry_run or not _confirmed(yes, plan.tally.outcomes):
                return
            with Display("mapping") as display:
                report = backfill.run(
                    options,
                    name=MAPPING_CHANGED,
                    command="leadbridge backfill --mapping-changed --yes",
                    source=lambda _until: backfill.linked(),
                    restart=restart,
                    budget_percent=budget_percent,
                    progress=display,
                    should_stop=stopping,
                )
        elif dry_run:
            with _rows(csv_path) as rows, Display("dry run") as display:
                report = backfill.dry_run(
                    options,
                    rows=rows,
                    budget_percent=budget_percent,
                    progress=display,
                    should_stop=stopping,
                )
        else:
            with Display("backfill") as display:
                report = backfill.run(
                    options,
                    restart=restart,
                    budget_percent=budget_percent,
                    progress=display,
                    should_stop=stopping,
                )
        click.echo(for_terminal("\n".join(report.lines())))
    if report.status in ("budget", "reserve"):
        sys.exit(EXIT_BUDGET_RESERVED)
    if report.status == "stopped":
        sys.exit(EXIT_INTERRUPTED)


def _confirmed(yes: bool, outcomes: dict[str, int]) -> bool:
    """Whether to apply a plan: --yes, or a person at a terminal says so."""
    writes = sum(outcomes.get(o, 0) for o in ("create", "update", "link", "converted"))
    if writes == 0:
        click.echo("nothing to apply: every synced contact already has what the mapping makes")
        return False
    if yes:
        return True
    if not sys.stdin.isatty():
        click.echo("not applied: add --yes to apply this plan")
        return False
    return click.confirm(f"apply the plan ({writes} writes)?", default=False)


@contextmanager
def _rows(path: Path | None) -> Iterator[Any]:
    """A sink for a plan's rows: the first `ROWS_SHOWN` printed, every one to `path`."""
    shown = 0
    handle: TextIO | None = None
    writer: Any = None
    if path is not None:
        handle = path.open("w", newline="", encoding="utf-8")
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)

    def row(item: Any) -> None:
        nonlocal shown
        if writer is not None:
            writer.writerow(
                [
                    item.hubspot_id,
                    item.email,
                    item.outcome,
                    item.salesforce_id,
                    item.reason,
                    "yes" if item.convert else "",
                ]
            )
        if shown < ROWS_SHOWN and item.outcome not in ("unchanged", "skip"):
            shown += 1
            target = f" {item.salesforce_id}" if item.salesforce_id else ""
            click.echo(for_terminal(f"  {item.hubspot_id}: {item.outcome}{target}: {item.reason}"))

    try:
        yield row
    finally:
        if handle is not None:
            handle.close()


@contextmanager
def _stop_on_ctrl_c() -> Iterator[Any]:
    """The first Ctrl-C asks the run to stop after the batch in flight is recorded; a second
    one stops at once (the batch, unrecorded, is done again by the next run)."""
    asked = False

    def handler(_signum: int, _frame: FrameType | None) -> None:
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        click.echo("stopping after the batch in flight (Ctrl-C again to stop at once)", err=True)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C keeps its default meaning
        yield lambda: False
        return
    try:
        yield lambda: asked
    finally:
        signal.signal(signal.SIGINT, previous)
