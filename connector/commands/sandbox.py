"""`leadbridge sandbox serve|env`: the local Salesforce + HubSpot sandbox.

The sandbox (werkzeug, lark, trustme, …) is imported only when one of these commands runs, and
comes with the `leadbridge[sandbox]` extra: without it these commands say so in one line (exit 2).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from connector.commands.common import errors_to_exit
from connector.display import for_terminal
from connector.extras import SANDBOX, needs

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_PORT = 8443
DEFAULT_TLS_DIR = Path(".sandbox/tls")


@click.group("sandbox")
def sandbox() -> None:
    """The local Salesforce + HubSpot sandbox (HTTPS on 127.0.0.1)."""


def _config_options(func: F) -> F:
    """The options `serve` and `env` share (the credentials the sandbox accepts)."""
    options = [
        click.option(
            "--sf-password",
            default="sandbox",
            show_default=True,
            help="Password of every Salesforce user in the sandbox.",
        ),
        click.option(
            "--hubspot-token",
            default="sandbox-token",
            show_default=True,
            help="The HubSpot private-app access token the sandbox accepts.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@sandbox.command("serve")
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed file (JSON) with the records to start with; empty when omitted.",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--tls-dir",
    default=DEFAULT_TLS_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the CA (ca.pem), server certificate and JWT key pair are written.",
)
@click.option(
    "--sf-daily-limit",
    default=100_000,
    show_default=True,
    type=click.IntRange(1),
    help="Salesforce daily API request limit (DailyApiRequests.Max).",
)
@click.option(
    "--no-rate-limits", is_flag=True, help="Report HubSpot rate-limit headers but never answer 429."
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A fault profile (JSON: seed, rates per kind, latency_ms, ...) to serve with; see the "
    "README's sandbox section.",
)
@click.option(
    "--fault",
    "fault_rates",
    multiple=True,
    metavar="KIND=CHANCE",
    help="A fault kind's chance from 0 to 1 (repeatable; over the --faults file's).",
)
@click.option("--fault-seed", type=int, help="Seed of the fault profile's draws.")
@click.option("--latency-ms", type=click.IntRange(0), help="Delay every API answer this long (ms).")
@click.option("--jitter-ms", type=click.IntRange(0), help="And by up to this much more (ms).")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
@_config_options
def sandbox_serve(
    seed_file: Path | None,
    port: int,
    tls_dir: Path,
    sf_daily_limit: int,
    no_rate_limits: bool,
    faults_file: Path | None,
    fault_rates: tuple[str, ...],
    fault_seed: int | None,
    latency_ms: int | None,
    jitter_ms: int | None,
    quiet: bool,
    sf_password: str,
    hubspot_token: str,
) -> None:
    """Serve the sandbox until stopped (Ctrl-C, SIGINT or SIGTERM)."""
    with errors_to_exit(), needs(SANDBOX):
        from connector.sandbox.app import SandboxConfig
        from connector.sandbox.seed import SeedError, read_seed
        from connector.sandbox.server import SandboxServer, Stopped, stop_on_signals

    profile = _fault_profile(faults_file, fault_rates, fault_seed, latency_ms, jitter_ms)
    config = SandboxConfig(
        sf_password=sf_password,
        hubspot_token=hubspot_token,
        sf_daily_api_limit=sf_daily_limit,
        enforce_rate_limits=not no_rate_limits,
        fault_profile=profile,
    )
    # From the first moment: a stop asked for while the certificates are made counts too.
    with stop_on_signals():
        try:
            try:
                seed = read_seed(seed_file) if seed_file else {}
                server = SandboxServer(seed, port=port, tls_dir=tls_dir, config=config)
            except SeedError as exc:
                click.echo(for_terminal(f"error: {exc}"), err=True)
                sys.exit(2)
            except OSError as exc:
                message = exc.strerror or exc
                click.echo(
                    for_terminal(f"error: cannot serve on 127.0.0.1:{port}: {message}"), err=True
                )
                sys.exit(2)
            level = logging.WARNING if quiet else logging.INFO
            logging.basicConfig(level=level, format="%(message)s")
            # werkzeug sets its own logger to INFO when it first logs: set it ourselves.
            logging.getLogger("werkzeug").setLevel(level)
            counts = server.sandbox.org.records
            click.echo(
                f"sandbox: serving {server.url} (Salesforce /services/, HubSpot /crm/)", err=True
            )
            click.echo(f"sandbox: CA certificate {server.ca_file.resolve()}", err=True)
            click.echo(
                f"sandbox: {len(counts['Lead'])} leads, {len(counts['Account'])} accounts, "
                f"{len(counts['User'])} users; HubSpot {server.sandbox.portal.counts()}",
                err=True,
            )
            chosen = server.sandbox.config.fault_profile
            if chosen is not None:
                click.echo(f"sandbox: fault profile {_describe(chosen)}", err=True)
            click.echo(
                f'sandbox: point the connector here with: eval "$(leadbridge sandbox env '
                f'--port {server.port} --tls-dir {tls_dir})"',
                err=True,
            )
            server.serve_forever()
        except Stopped as stopped:
            click.echo(f"sandbox: stopped ({stopped.signal_name})", err=True)


def _fault_profile(
    faults_file: Path | None,
    fault_rates: tuple[str, ...],
    seed: int | None,
    latency_ms: int | None,
    jitter_ms: int | None,
) -> Any:
    """The fault profile the options describe (None when none is asked for); a bad one ends
    the command with the file or option and the field named (exit status 2)."""
    if not (faults_file or fault_rates or seed is not None or latency_ms or jitter_ms):
        return None
    from connector.sandbox.faults import ProfileError, profile_from

    where = f"--faults {faults_file}" if faults_file else "--fault"
    try:
        data: Any = json.loads(faults_file.read_text(encoding="utf-8")) if faults_file else {}
        if not isinstance(data, dict):
            msg = "a fault profile is a JSON object"
            raise ProfileError(msg)
        rates = dict(data.get("rates") or {})
        for item in fault_rates:
            kind, sep, chance = item.partition("=")
            try:
                rates[kind.strip()] = float(chance)
            except ValueError:
                sep = ""
            if not sep:
                msg = f"--fault {item!r}: expected KIND=CHANCE, such as server_error=0.02"
                raise ProfileError(msg)
        data["rates"] = rates
        for name, value in (("seed", seed), ("latency_ms", latency_ms), ("jitter_ms", jitter_ms)):
            if value is not None:
                data[name] = value
        return profile_from(data)
    except (OSError, ValueError) as exc:
        click.echo(for_terminal(f"error: {where}: {exc}"), err=True)
        sys.exit(2)


def _describe(profile: Any) -> str:
    """`seed 42; server_error 0.02, ...; latency 20 ms + up to 30 ms`, for the start-up line."""
    rates = ", ".join(f"{kind} {chance:.3g}" for kind, chance in profile.as_dict()["rates"].items())
    text = f"seed {profile.seed}; {rates or 'no faults'}"
    if profile.latency_ms or profile.jitter_ms:
        text += f"; latency {profile.latency_ms} ms + up to {profile.jitter_ms} ms"
    return text


@sandbox.command("env")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--tls-dir",
    default=DEFAULT_TLS_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--auth",
    type=click.Choice(["password", "jwt"]),
    default="password",
    show_default=True,
    help="Which Salesforce login the connector should use.",
)
@_config_options
def sandbox_env_command(
    port: int, tls_dir: Path, auth: str, sf_password: str, hubspot_token: str
) -> None:
    """Print `export LEADBRIDGE_...` lines pointing the connector at a sandbox."""
    with errors_to_exit(), needs(SANDBOX):
        from connector.sandbox.app import SandboxConfig
        from connector.sandbox.env import export_lines, sandbox_env

    config = SandboxConfig(sf_password=sf_password, hubspot_token=hubspot_token)
    click.echo(export_lines(sandbox_env(port, tls_dir, config, auth=auth)))
