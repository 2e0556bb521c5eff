"""`leadbridge relink` and `leadbridge reconcile`: the links between HubSpot contacts and
Salesforce records, rebuilt from both sides or checked against both sides.

Exit status: 0 when done (conflicts and drift are reported, not failures: the report says what
to look at); 3 when a sync or the service holds the contacts stream past the wait; 1 and 2 as
every command.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.display import for_terminal
from connector.state.hold import DEFAULT_WAIT_SECONDS, Wait


@contextmanager
def _csv(path: Path | None, columns: tuple[str, ...]) -> Iterator[Any]:
    """A writer of rows with these columns to `path` (or nowhere)."""
    if path is None:
        yield lambda _row: None
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        yield writer.writerow


@click.command("relink")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every conflict here (hubspot_id, kind, detail).",
)
def relink_command(csv_path: Path | None) -> None:
    """Rebuild the state store's links from Salesforce (the HubSpot contact id on Leads and
    Contacts, converted Leads' Contacts) and HubSpot (the Salesforce ids written back), after
    the store was lost or moved. Conflicts are reported, never guessed."""
    from connector.wiring import open_connector

    settings = settings_or_exit()
    with (
        errors_to_exit(),
        open_connector(settings, wait=Wait(DEFAULT_WAIT_SECONDS)) as connector,
        _csv(csv_path, ("hubspot_id", "kind", "detail")) as write,
    ):
        report = connector.relink().run(conflicts=lambda c: write([c.hubspot_id, c.kind, c.detail]))
        click.echo(for_terminal("\n".join(report.lines())))


@click.command("reconcile")
@click.option("--repair", is_flag=True, help="Queue the fixes a pass can make as work.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write all the drift here (kind, hubspot_id, salesforce_id, fields, repair, detail).",
)
def reconcile_command(repair: bool, csv_path: Path | None) -> None:
    """Compare both sides for every synced contact: drift (missing, duplicated, differing
    mapped fields, orphaned ids) as a table, and with --csv every row. --repair queues what a
    pass can fix (a contact written again, ids owed to HubSpot); the rest is for a person."""
    from connector.wiring import open_connector

    settings = settings_or_exit()
    columns = ("kind", "hubspot_id", "salesforce_id", "fields", "repair", "detail")
    with (
        errors_to_exit(),
        open_connector(settings, wait=Wait(DEFAULT_WAIT_SECONDS)) as connector,
        _csv(csv_path, columns) as write,
    ):
        connector.check_mapping()
        report = connector.reconcile().run(
            repair=repair,
            drift=lambda d: write(
                [d.kind, d.hubspot_id, d.salesforce_id, " ".join(d.fields), d.repair, d.detail]
            ),
        )
        click.echo(for_terminal("\n".join(report.lines())))
