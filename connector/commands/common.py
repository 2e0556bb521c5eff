"""What every command family shares: settings or a clean exit, and our errors as one line.

Exit status: 2 for a missing or wrong setting, credential, host or state store; 1 for an invalid
mapping file or a refused call; 3 when a stream is busy (another leadbridge runs it, and it
did not finish within the wait); 75 (EX_TEMPFAIL: try again later) when the API budget's reserve
stopped the work; never a traceback, never a control character from a value a message quotes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from connector.display import for_terminal
from connector.errors import (
    BudgetReserved,
    ConfigError,
    LeadbridgeError,
    MappingError,
    StreamBusy,
)
from connector.logging import configure_logging
from connector.settings import Settings, load_settings

#: The exit status of a command that stopped because another leadbridge runs a stream.
EXIT_BUSY = 3
#: Exit status of a command the API budget's reserve stopped (sysexits.h EX_TEMPFAIL): nothing
#: is wrong, run it again once the budget has room.
EXIT_BUDGET_RESERVED = 75


def settings_or_exit(load: Callable[[], Settings] = load_settings) -> Settings:
    """Settings from the environment (through `load`), or every problem on its own line and
    exit status 2."""
    try:
        settings = load()
    except ConfigError as exc:
        click.echo(for_terminal(f"error: {exc}".replace("\n", "\nerror: ")), err=True)
        sys.exit(2)
    configure_logging(
        settings.log_format, redact_pii=settings.log_redact_pii, level=settings.log_level
    )
    return settings


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Our errors as one clear message and an exit status; never a traceback, never a control
    character from a value the message quotes."""
    try:
        yield
    except ConfigError as exc:
        click.echo(for_terminal(f"error: {exc}"), err=True)
        sys.exit(2)
    except StreamBusy as exc:
        click.echo(for_terminal(f"error: {exc}"), err=True)
        sys.exit(EXIT_BUSY)
    except BudgetReserved as exc:
        if exc.summary is not None:  # what the stream that stopped had done
            click.echo(exc.summary.render())
        click.echo(for_terminal(f"error: {exc}"), err=True)
        sys.exit(EXIT_BUDGET_RESERVED)
    except MappingError as exc:
        for line in str(exc).splitlines():
            click.echo(for_terminal(f"error: {line}"), err=True)
        sys.exit(1)
    except LeadbridgeError as exc:
        click.echo(for_terminal(f"error: {exc}"), err=True)
        sys.exit(1)
