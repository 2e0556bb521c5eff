"""`leadbridge run`: the service, until SIGTERM or SIGINT (see `connector.service.server`)."""

from __future__ import annotations

import sys

import click

from connector.commands.common import errors_to_exit, settings_or_exit


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
def run_command(host: str, port: int) -> None:
    """The service: every stream as a loop (a pass every LEADBRIDGE_POLL_SECONDS, and at once
    for what HubSpot's webhooks name), with /webhooks/hubspot, /healthz, /readyz and /metrics
    on one port. Stops cleanly on SIGTERM or SIGINT."""
    from connector.service.server import serve

    settings = settings_or_exit()
    with errors_to_exit():
        sys.exit(serve(settings, host=host, port=port))
