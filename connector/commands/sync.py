"""`leadbridge sync --once`: one pass of every stream the mapping files ask for."""

from __future__ import annotations

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.state.hold import DEFAULT_WAIT_SECONDS, Wait


@click.command("sync")
@click.option("--once", is_flag=True, required=True, help="Run one pass and exit (required).")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="How long each stream waits for another leadbridge running it (a service, a second "
    "sync) before the pass stops with exit status 3.",
)
@click.option(
    "--no-wait", is_flag=True, help="Stop at once (exit status 3) when a stream is running."
)
def sync_command(once: bool, wait_seconds: float, no_wait: bool) -> None:
    """One pass: sales feedback to HubSpot (with mappings/status.yaml), qualified HubSpot
    contacts to Salesforce Leads, then SQL conversion (with mappings/conversion.yaml); a
    summary of each. A stream another leadbridge is running is waited for, never run twice
    at once."""
    from connector.wiring import open_connector

    settings = settings_or_exit()
    wait = Wait(0 if no_wait else wait_seconds)
    with errors_to_exit(), open_connector(settings, wait=wait) as connector:
        for summary in connector.run_pass():
            click.echo(summary.render())
