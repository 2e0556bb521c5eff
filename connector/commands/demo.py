"""`leadbridge demo`: the first sync against a throwaway sandbox with demo data.

The demo runs the sandbox, so it needs the `leadbridge[sandbox]` extra; without it, one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from connector.commands.common import errors_to_exit
from connector.display import for_terminal
from connector.extras import SANDBOX, needs
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
    configure_logging("console", level="error")
    with errors_to_exit():
        with needs(SANDBOX):
            from connector.demo import run_demo
        run_demo(mappings_dir, echo=lambda text: click.echo(for_terminal(text)))
