"""`leadbridge privacy erase|report`: right-to-be-forgotten requests that reach you by other
channels (mail, a form, a ticket), and what was erased, in counts.

`erase` erases the person in HubSpot (its GDPR delete, which blocks the email from re-import),
in Salesforce (`mappings/privacy.yaml`: delete or anonymise, per object) and in the state store
(a tombstone keeps ids and a keyed hash of the email), then prints what it did per system: ids
and counts, never the person's values. Safe to run again: a rerun finishes what an earlier one
left (killed, or refused) and is a no-op that says so once nothing is left. `--dry-run` reads
both systems and the store and writes nothing. `report` counts erasures by date and outcome.

While it erases it holds the contacts stream (a pass or backfill running meanwhile could write
the Lead again from what it read before): it waits for one running, 30 seconds at most.

Exit status 0 when done; 1 when a system refused part of it (run it again once fixed), when
privacy.yaml is missing or invalid, or the records found do not make one person; 2 for a
setting (LEADBRIDGE_PRIVACY_KEY among them), credential or state store problem; 3 when the
contacts stream stayed busy.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from contextlib import nullcontext
from typing import Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.display import for_terminal
from connector.errors import MappingError
from connector.settings import Settings, load_offline_settings


@click.group("privacy")
def privacy() -> None:
    """Privacy erasure: erase a person everywhere; report erasures (counts only)."""


def _policy(settings: Settings) -> Any:
    from connector.mapping.privacy import FILE, load_privacy_policy

    path = settings.mappings_dir / FILE
    if not path.exists():
        msg = (
            f"{path}: missing: it says what an erasure does to Salesforce Leads and Contacts "
            "(delete or anonymise); copy the shipped mappings/privacy.yaml and choose"
        )
        raise MappingError(msg)
    return load_privacy_policy(settings.mappings_dir)


@privacy.command("erase")
@click.argument("email", required=False)
@click.option("--hubspot-id", help="The person's HubSpot contact id, instead of an email.")
@click.option("--dry-run", is_flag=True, help="Read both systems and the store; write nothing.")
def erase_command(email: str | None, hubspot_id: str | None, dry_run: bool) -> None:
    """Erase the person with EMAIL (or --hubspot-id) from HubSpot, Salesforce and the state
    store; print what was done per system."""
    if bool(email) == bool(hubspot_id):
        msg = "give the person's EMAIL or --hubspot-id ID (one of them)"
        raise click.UsageError(msg)
    if email is not None and not _looks_like_email(email):
        msg = "EMAIL is not an email address (name@domain)"
        raise click.UsageError(msg)
    from connector.hubspot.gateway import HubSpotGateway
    from connector.privacy.erase import Eraser
    from connector.salesforce.gateway import SalesforceGateway
    from connector.state.hold import DEFAULT_WAIT_SECONDS, Wait
    from connector.state.privacy import PrivacyKey
    from connector.state.store import StateStore
    from connector.streams.contacts.stream import STREAM as CONTACTS_STREAM

    settings = settings_or_exit()
    with errors_to_exit():
        policy = _policy(settings)
        PrivacyKey(settings.privacy_key)  # named before any call when missing
        with StateStore.open(settings.database_url) as store:
            eraser = Eraser(
                store=store,
                salesforce=SalesforceGateway.connect(settings),
                hubspot=HubSpotGateway.connect(settings),
                policy=policy,
                key=settings.privacy_key,
            )
            # A contacts pass (or backfill) running meanwhile could write the Lead again
            # from the contact it read before the erasure: the erasure holds their stream.
            hold = (
                nullcontext()
                if dry_run
                else store.hold(CONTACTS_STREAM, wait=Wait(DEFAULT_WAIT_SECONDS))
            )
            with hold:
                result = eraser.erase(email=email, hubspot_id=hubspot_id, dry_run=dry_run)
    click.echo(for_terminal("\n".join(result.lines())))
    if result.failed:
        click.echo("error: part of the erasure was refused: run the same command again", err=True)
        sys.exit(1)


@privacy.command("report")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
def report_command(fmt: str) -> None:
    """Erasures by date (UTC), reason and outcome in each system: counts only."""
    from connector.state.store import StateStore

    settings = settings_or_exit(load_offline_settings)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    with errors_to_exit(), StateStore.open(settings.database_url) as store:
        after = None
        while page := store.tombstones(after=after, limit=500):
            for t in page:
                day = t.erased_at.strftime("%Y-%m-%d")
                hubspot, salesforce = t.hubspot_outcome or "-", t.salesforce_outcome or "-"
                counts[(day, t.reason, hubspot, salesforce)] += 1
            after = page[-1].id
    columns = ("date", "reason", "hubspot", "salesforce", "erasures")
    rows = [(*key, n) for key, n in sorted(counts.items())]
    if fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(out.getvalue(), nl=False)
        return
    click.echo(_table(columns, rows))


def _looks_like_email(text: str) -> bool:
    local, at, domain = text.strip().rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in text.strip()))


def _table(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    total = sum(r[-1] for r in rows)
    if not total:
        return "no erasures"
    widths = [max(len(str(x)) for x in (c, *(r[i] for r in rows))) for i, c in enumerate(columns)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in (columns, *rows)
    ]
    open_ = sum(r[-1] for r in rows if {"pending", "failed"} & {r[2], r[3]})
    lines.append(f"{total} erasures")
    if open_:
        lines.append(
            f"{open_} not finished (pending or failed): run `leadbridge privacy erase` for "
            "each person again"
        )
    return "\n".join(lines)
