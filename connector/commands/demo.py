"""`leadbridge demo`: the first sync against a throwaway sandbox with demo data."""

from __future__ import annotations

from pathlib import Path

import click

from connector.commands.common import errors_to_exit
from connector.display import for_terminal
from connector.logging import configure_logging


@click.command("demo")
@click.option(
    "--mappings",
    "mappings_dir",
    default="mappings",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The mapping files to use.",
)
def demo_command(mappings_dir: Path) -> None:
    """Run the first sync against a throwaway sandbox with demo data, and show what it did."""
    from connector.demo import run_demo

    configure_logging("console", level="error")
    with errors_to_exit():
        run_demo(mappings_dir, echo=lambda text: click.echo(for_terminal(text)))
