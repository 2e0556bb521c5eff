"""`leadbridge report funnel|sla|channels`: the pipeline as the state store recorded it.

Each report reads the journeys that entered the funnel in `--since`/`--until` (one grouped
query over the store's transitions); the funnel and the channels also read the opportunities
those journeys became (stage, amount, won) from Salesforce, in one batch. Rates are over that
cohort, and every format says so. Exit status 0; 2 for a settings, state store or credential
problem; 1 for an invalid `mappings/sla.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.display import for_terminal
from connector.model import OpportunityOutcome
from connector.reports.channels import channel_rows
from connector.reports.config import load_sla
from connector.reports.funnel import funnel_rows
from connector.reports.render import (
    FORMATS,
    Cohort,
    breach_records,
    channel_records,
    funnel_records,
    render,
    sla_records,
)
from connector.reports.sla import open_breaches, period_rows
from connector.settings import Settings, load_offline_settings


def _moment(_ctx: Any, param: click.Parameter, value: str | None) -> datetime | None:
    """A date (`2026-01-01`) or date-time; UTC unless it says its zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)"
        raise click.BadParameter(msg, param=param) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _options(command: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--since", callback=_moment, help="Leads that entered from then (UTC date)."
            ),
            click.option(
                "--until", callback=_moment, help="Leads that entered before then (UTC date)."
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="table",
                show_default=True,
            ),
        )
    ):
        command = option(command)
    return command


@click.group("report")
def report() -> None:
    """Funnel, SLA and channel reports from the state store's record of each lead's stages."""


@contextmanager
def _store(settings: Settings) -> Iterator[Any]:
    from connector.state.store import StateStore

    with StateStore.open(settings.database_url) as store:
        yield store


def _outcomes(settings: Settings, opportunity_ids: Iterable[str]) -> dict[str, OpportunityOutcome]:
    """The opportunities as Salesforce shows them now: one batched read (none when there are
    no ids)."""
    ids = sorted(set(opportunity_ids))
    if not ids:
        return {}
    from connector.salesforce.gateway import SalesforceGateway

    gateway = SalesforceGateway.connect(settings)
    return {o.id: o for o in gateway.opportunity_outcomes(ids)}


def _echo(text: str) -> None:
    click.echo(for_terminal(text))


@report.command("funnel")
@_options
@click.option(
    "--by",
    type=click.Choice(["month", "source", "campaign"]),
    default="month",
    show_default=True,
    help="One row per month the leads entered, per original source, or per latest campaign.",
)
def funnel_command(since: datetime | None, until: datetime | None, fmt: Any, by: Any) -> None:
    """Counts and conversion rates MQL -> accepted (SAL) -> SQL -> opportunity -> won, with the
    median and p90 hours spent in each stage."""
    settings = settings_or_exit()
    with errors_to_exit(), _store(settings) as store:
        found = store.funnel_input(since=since, until=until, by=by)
        outcomes = _outcomes(settings, (o.opportunity_id for o in found.opened))
        rows = funnel_rows(found, outcomes, by=by)
        _echo(render("funnel", funnel_records(rows), Cohort(since, until), fmt))


@report.command("sla")
@_options
@click.option(
    "--open",
    "open_only",
    is_flag=True,
    help="List the breaches open now (handed over, untouched, past the target) instead.",
)
def sla_command(since: datetime | None, until: datetime | None, fmt: Any, open_only: bool) -> None:
    """Minutes from handoff to sales' first touch per owner and queue, and the breaches of
    mappings/sla.yaml's targets (in working hours, in the owner's time zone)."""
    settings = settings_or_exit(load_offline_settings)
    with errors_to_exit():
        config = load_sla(settings.mappings_dir)
        with _store(settings) as store:
            now = datetime.now(UTC)
            if open_only:
                breaches = open_breaches(store, config, now=now)
                _echo(render("open SLA breaches", breach_records(breaches), None, fmt))
                return
            rows = period_rows(store, config, now=now, since=since, until=until)
            _echo(render("sla", sla_records(rows), Cohort(since, until), fmt))


@report.command("channels")
@_options
def channels_command(since: datetime | None, until: datetime | None, fmt: Any) -> None:
    """Per original source and latest campaign: Leads handed over, accepted and rejected (with
    the reasons), converted, and the opportunities' amounts (all, and closed won)."""
    settings = settings_or_exit()
    with errors_to_exit(), _store(settings) as store:
        found = store.channel_input(since=since, until=until)
        outcomes = _outcomes(settings, (o for _, _, o in found.opportunities))
        rows = channel_rows(found, outcomes)
        _echo(render("channels", channel_records(rows), Cohort(since, until), fmt))
