"""`leadbridge dlq list|show|retry|drop`: the records that failed, for a person to look at.

The dead-letter store holds failures only (a hand-over or a conversion in flight is work, never
listed here). `retry` puts records back as work of their stream: its next pass reads them by id
and tries them whatever held them (`--now` runs that pass at once); `drop` closes them, the
reason kept in the audit log. Each record is named by its id (the HubSpot contact id, or the
Lead id for `salesforce.leads`); `--stream` picks one when an id failed in several streams.

Exit status 0 when done, 1 when an id names no open failure (or a failure that cannot be
retried), 2 for a settings or state store problem. Reading and closing letters needs no
credentials; `--now` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.display import for_terminal, show
from connector.errors import LeadbridgeError
from connector.failures import RETRYABLE, as_json, table, when
from connector.model import DeadLetter
from connector.settings import load_offline_settings


class NotFound(LeadbridgeError):
    """An id names no open failure (exit 1)."""


@click.group("dlq")
def dlq() -> None:
    """Failed records (the dead-letter store): list, show, retry, drop."""


def _store() -> Any:
    from connector.state.store import StateStore

    settings = settings_or_exit(load_offline_settings)
    return StateStore.open(settings.database_url)


@dlq.command("list")
@click.option("--stream", help="Only this stream's failures (e.g. hubspot.contacts).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def list_command(stream: str | None, fmt: str) -> None:
    """The open failures, oldest first: record, stream, Salesforce's or HubSpot's code, the
    fields, tries, when, and the reason."""
    with errors_to_exit(), _store() as store:
        letters = store.dead_letters(stream)
        queued = {(w.stream, w.record_id) for w in store.work() if w.kind == "retry"}
    if fmt == "json":
        rows = [as_json(d, queued=(d.stream, d.record_id) in queued) for d in letters]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo(table(letters, queued, stream))


@dlq.command("show")
@click.argument("record_id")
@click.option("--stream", help="The stream, when the id failed in several.")
def show_command(record_id: str, stream: str | None) -> None:
    """Everything the store keeps of one failure."""
    with errors_to_exit(), _store() as store:
        (letter,) = _find(store, [record_id], stream)
        queued = any(
            w.kind == "retry" and w.record_id == record_id for w in store.work(letter.stream)
        )
    lines = [
        f"record     {letter.record_id}",
        f"stream     {letter.stream}",
        f"code       {letter.code or '-'}",
        f"fields     {', '.join(letter.fields) or '-'}",
        f"attempts   {letter.attempts}",
        f"first      {when(letter.first_failed_at)}",
        f"last       {when(letter.last_failed_at)}",
        f"retry      {'queued for the next pass' if queued else 'not queued'}",
        f"reason     {letter.reason}",
    ]
    lines += [f"sent       {name} = {show(value)}" for name, value in letter.payload.items()]
    click.echo(for_terminal("\n".join(lines)))


@dlq.command("retry")
@click.argument("record_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every open failure (of --stream, if given).")
@click.option("--stream", help="The stream, when an id failed in several; with --all, only it.")
@click.option("--now", is_flag=True, help="Run a pass right away (needs the credentials).")
def retry_command(record_ids: tuple[str, ...], every: bool, stream: str | None, now: bool) -> None:
    """Put failed records back as work: the next pass reads each by id and tries it again,
    whatever held it."""
    from connector.state.store import Commit
    from connector.state.work import retry
    from connector.streams.erased import SKIPPED

    if bool(record_ids) == every:
        msg = "give record ids or --all (not both)"
        raise click.UsageError(msg)
    with errors_to_exit():
        with _store() as store:
            letters = (
                [d for d in store.dead_letters(stream) if d.stream in RETRYABLE]
                if every
                else _find(store, record_ids, stream)
            )
            fixed = [d for d in letters if d.stream not in RETRYABLE]
            if fixed:
                msg = (
                    f"{fixed[0].stream} {fixed[0].record_id} is not tried again by a pass: "
                    "set the value in Salesforce, then drop it"
                )
                raise NotFound(msg)
            # An erased person's failure is never tried again: it is closed, counted, unnamed.
            ids = [d.record_id for d in letters]
            gone = store.tombstoned(hubspot_ids=ids, salesforce_ids=ids)
            erased = [
                d
                for d in letters
                if gone.covers(hubspot_id=d.record_id) or gone.covers(salesforce_id=d.record_id)
            ]
            letters = [d for d in letters if d not in erased]
            for letter in erased:
                store.record(
                    Commit(stream=letter.stream, resolved=[letter.record_id]), run_id="dlq"
                )
            by_stream: dict[str, list[DeadLetter]] = {}
            for letter in letters:
                by_stream.setdefault(letter.stream, []).append(letter)
            for name, group in by_stream.items():
                work = [
                    retry(name, d.record_id, "put back with leadbridge dlq retry") for d in group
                ]
                store.record(Commit(stream=name, work=work), run_id="dlq")
        click.echo(f"{len(letters)} failures put back; the next pass tries them again")
        if erased:
            click.echo(
                f"{SKIPPED} {len(erased)} (people erased for privacy: closed, never tried again)"
            )
        if now:
            _run_pass()


@dlq.command("drop")
@click.argument("record_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why nobody needs this record tried again.")
@click.option("--stream", help="The stream, when an id failed in several.")
def drop_command(record_ids: tuple[str, ...], reason: str, stream: str | None) -> None:
    """Close failures for good; the reason, and what failed, stay in the audit log."""
    from connector.state.store import AuditEvent, Commit

    with errors_to_exit(), _store() as store:
        letters = _find(store, record_ids, stream)
        for letter in letters:
            details = {
                "stream": letter.stream,
                "code": letter.code,
                "failure": letter.reason,
                "attempts": letter.attempts,
                "reason": reason,
            }
            store.record(
                Commit(
                    stream=letter.stream,
                    resolved=[letter.record_id],
                    done=[letter.record_id],
                    audit=[AuditEvent("dlq_drop", letter.record_id, details)],
                ),
                run_id="dlq",
            )
    click.echo(for_terminal(f"{len(letters)} failures dropped: {reason}"))


def _find(store: Any, record_ids: Sequence[str], stream: str | None) -> list[DeadLetter]:
    """The open failure each id names, in the order given; NotFound names the first id that
    names none, or several without `stream`."""
    letters = store.dead_letters(stream)
    found: list[DeadLetter] = []
    for record_id in dict.fromkeys(record_ids):
        matches = [d for d in letters if d.record_id == record_id]
        if not matches:
            where = f" in {stream}" if stream else ""
            msg = f"no open failure for record {show(record_id)}{where}: see leadbridge dlq list"
            raise NotFound(msg)
        if len(matches) > 1:
            streams = ", ".join(d.stream for d in matches)
            msg = f"record {show(record_id)} failed in several streams ({streams}): give --stream"
            raise NotFound(msg)
        found.append(matches[0])
    return found


def _run_pass() -> None:
    from connector.wiring import open_connector

    settings = settings_or_exit()
    with open_connector(settings) as connector:
        for summary in connector.run_pass():
            click.echo(summary.render())
