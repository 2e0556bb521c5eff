"""`leadbridge sync --once`: one pass of every stream the mapping files ask for."""

from __future__ import annotations

import click

from connector.commands.common import errors_to_exit, settings_or_exit


@click.command("sync")
@click.option("--once", is_flag=True, required=True, help="Run one pass and exit (required).")
def sync_command(once: bool) -> None:
    """One pass: sales feedback to HubSpot (with mappings/status.yaml), qualified HubSpot
    contacts to Salesforce Leads, then SQL conversion (with mappings/conversion.yaml); a
    summary of each."""
    from connector.wiring import open_connector

    settings = settings_or_exit()
    with errors_to_exit(), open_connector(settings) as connector:
        for summary in connector.run_pass():
            click.echo(summary.render())
