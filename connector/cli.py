"""The `leadbridge` command: the root group only; each family lives in `connector/commands/`."""

from __future__ import annotations

import click

from connector.commands.backfill import backfill_command
from connector.commands.demo import demo_command
from connector.commands.dlq import dlq
from connector.commands.links import reconcile_command, relink_command
from connector.commands.mappings import mappings
from connector.commands.privacy import privacy
from connector.commands.report import report
from connector.commands.routing import routing
from connector.commands.run import run_command
from connector.commands.sandbox import sandbox
from connector.commands.sync import sync_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="leadbridge", prog_name="leadbridge", message="%(prog)s %(version)s"
)
def main() -> None:
    """leadbridge: hands marketing's leads (HubSpot) to sales (Salesforce) without losing one."""


for _family in (
    sandbox,
    sync_command,
    run_command,
    backfill_command,
    relink_command,
    reconcile_command,
    demo_command,
    dlq,
    routing,
    mappings,
    privacy,
    report,
):
    main.add_command(_family)

if __name__ == "__main__":
    main(prog_name="leadbridge")
