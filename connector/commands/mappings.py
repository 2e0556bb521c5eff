"""`leadbridge mappings validate|plan`: check the mapping files, and see what they would change.

`validate` checks the structure of `lead.yaml`, `routing.yaml`, `status.yaml` and
`conversion.yaml` (where present; every error with its line), then each against the live
schemas (the Lead, Contact and further describes, the Lead statuses, the contact properties,
the lists and the users and queues the files name: fetched through the gateways and cached
with a timestamp; `--offline` uses the cache, and needs no credentials), the same check every
pass makes (`connector.checks.validate.check_files`); one verdict line per file. Exit status 0
when valid (warnings allowed), 1 when not, 2 for a settings or connection problem.

`plan` reads contacts and their Leads (searches and queries only; nothing is written) and
prints, per record, the field changes the mapping would make in each direction, with the rule
that decided each one, totals, and which of those records the next `sync --once` sends (only
contacts changed since the stream's cursor, read from the state store without writing). It
refuses (exit 1, in validate's words) files that a sync refuses: a structure problem in any
file, or lead.yaml or status.yaml not fitting the live schemas.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.errors import LeadbridgeError
from connector.files.loader import Problem
from connector.settings import Settings, load_offline_settings, load_settings
from connector.urls import shown_url

if TYPE_CHECKING:
    from connector.checks.preview import Existing
    from connector.hubspot.gateway import HubSpotGateway
    from connector.mapping.plan import LeadPlan
    from connector.model import HubSpotContact
    from connector.salesforce.gateway import SalesforceGateway


@click.group("mappings")
def mappings() -> None:
    """The admin-edited mapping files: validate them, and preview what they would change."""


def cache_path(settings: Settings) -> Path:
    """Where the schema cache lives (LEADBRIDGE_MAPPINGS_SCHEMA_CACHE, else the mappings dir)."""
    from connector.checks.snapshot import CACHE_NAME

    return settings.mappings_schema_cache or settings.mappings_dir / CACHE_NAME


@mappings.command("validate")
@click.option(
    "--offline",
    is_flag=True,
    help="Check against the cached schema; call no API (and need no credentials).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON document on stdout, for CI pipelines.",
)
def validate_command(offline: bool, output: str) -> None:
    """Check the mapping files' structure, then each against the live Salesforce and HubSpot
    schemas (routing.yaml: its users and queues)."""
    from connector.checks import validate
    from connector.checks.mapping_files import LEAD, load_files

    # Offline, no API is called: the credentials are not asked for.
    settings = settings_or_exit(load_offline_settings if offline else load_settings)
    files = load_files(settings.mappings_dir)
    problems = list(files.problems)
    schema = None
    with errors_to_exit():
        if files.loaded:
            try:
                schema = _schema(settings, offline, validate.files_needs(files))
            except LeadbridgeError:
                if output == "text":  # what the files say, even when the schema is not had
                    _echo(problems)
                raise
            problems += validate.check_files(
                files, schema, external_id_field=settings.salesforce_external_id_field
            )
    problems = _by_file(problems)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    verdicts = [_verdict(files.path(name), problems) for name in files.present]
    if output == "json":
        document = {
            "valid": not errors,
            "file": str(files.path(LEAD)),
            "files": [v.to_json() for v in verdicts],
            "errors": [p.to_json() for p in errors],
            "warnings": [p.to_json() for p in warnings],
            "schema": None
            if schema is None
            else {
                "fetched_at": schema.fetched_at.isoformat(),
                "age": schema.age(),
                "offline": offline,
                "cache": str(cache_path(settings)),
                "source": schema.source,
            },
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _echo(problems)
        if schema is not None:
            how = f"cached {schema.age()} ago" if offline else "fetched just now"
            described = [f"Lead ({len(schema.lead)} fields)"]
            described += [f"{name} ({len(fields)})" for name, fields in schema.objects.items()]
            click.echo(
                f"schema: {', '.join(described)} and contact properties "
                f"({len(schema.contact)}), {how} ({schema.fetched_at:%Y-%m-%d %H:%M} UTC)"
            )
        for verdict in verdicts:
            click.echo(verdict.render())
    sys.exit(1 if errors else 0)


def _echo(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(f"{problem.severity}: {problem.where()}")


def _by_file(problems: Sequence[Problem]) -> list[Problem]:
    """File by file (lead.yaml, routing.yaml, status.yaml, conversion.yaml), each in the order
    its checks gave."""
    from connector.checks.mapping_files import ALL

    def rank(problem: Problem) -> int:
        name = problem.path.name
        return ALL.index(name) if name in ALL else len(ALL)

    return sorted(problems, key=rank)


@dataclass(frozen=True)
class _Verdict:
    """One file's outcome: its errors and warnings counted."""

    path: Path
    errors: int
    warnings: int

    def render(self) -> str:
        verdict = "valid" if not self.errors else "invalid"
        return (
            f"{self.path}: {verdict} ({_counted(self.errors, 'error')}, "
            f"{_counted(self.warnings, 'warning')})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "valid": not self.errors,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _verdict(path: Path, problems: Sequence[Problem]) -> _Verdict:
    mine = [p for p in problems if p.path == path]
    errors = sum(1 for p in mine if p.severity == "error")
    return _Verdict(path, errors, len(mine) - errors)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _schema(settings: Settings, offline: bool, needs: Any) -> Any:
    """The live schema: from the cache (offline) or fetched now, with what the files `needs`,
    and cached."""
    from connector.checks import snapshot as live

    path = cache_path(settings)
    if offline:
        return live.load(path)
    from connector.hubspot.gateway import HubSpotGateway
    from connector.salesforce.gateway import SalesforceGateway

    salesforce = SalesforceGateway.connect(settings)
    hubspot = HubSpotGateway.connect(settings)
    fetched = live.fetch(
        salesforce,
        hubspot,
        needs=needs,
        source={
            "salesforce": shown_url(
                settings.salesforce_instance_url or settings.salesforce_login_url
            ),
            "hubspot": shown_url(settings.hubspot_base_url),
        },
        now=datetime.now(UTC),
    )
    try:
        live.save(fetched, path)
    except OSError as exc:
        click.echo(f"warning: cannot write the schema cache {path}: {exc.strerror}", err=True)
    return fetched


@mappings.command("plan")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="How many contacts to read: those a sync would pull, oldest change first.",
)
@click.option(
    "--email",
    "emails",
    multiple=True,
    help="Preview these contacts (repeatable), whether they qualify or not.",
)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def plan_command(limit: int, emails: Sequence[str], output: str) -> None:
    """Show, per record, what the mapping would change in each direction (writes nothing), and
    which of those changes the next `sync --once` makes."""
    from connector.checks.mapping_files import LEAD, SYNC_FILES, load_files
    from connector.checks.precheck import MappingCheck, MappingRefused
    from connector.checks.preview import Totals, preview, render
    from connector.files.loader import MappingFileError
    from connector.hubspot.gateway import HubSpotGateway
    from connector.mapping.plan import LeadPlan
    from connector.salesforce.gateway import SalesforceGateway

    settings = settings_or_exit()
    with errors_to_exit():
        # What validate refuses, plan refuses, in the same words: a sync would not run on it.
        files = load_files(settings.mappings_dir, SYNC_FILES)
        if files.problems:
            raise MappingFileError(files.problems)
        hubspot = HubSpotGateway.connect(settings)
        salesforce = SalesforceGateway.connect(settings)
        try:
            unsyncable = MappingCheck()(
                files,
                salesforce,
                hubspot,
                external_id_field=settings.salesforce_external_id_field,
            )
        except MappingRefused as exc:
            raise MappingRefused(exc.problems, note=PLAN_REFUSED) from None
        plan = LeadPlan.compile(files.model(LEAD))
        contacts, existing = _read(
            settings, plan, limit, [e.strip() for e in emails], hubspot, salesforce
        )
        records = [preview(plan, c, existing[c.id]) for c in contacts]
    upcoming = _next_pass(
        settings, [(r, c.updated_at) for r, c in zip(records, contacts, strict=True)]
    )
    totals = Totals()
    for record in records:
        totals.add(record)
    if output == "json":
        document = {
            "records": [r.to_json() for r in records],
            "totals": totals.to_json(),
            "next_sync": upcoming.to_json(),
            "validate_errors": [p.to_json() for p in unsyncable],
            "writes": 0,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if unsyncable:  # validate refuses the files; a sync runs, failing the records they name
        _echo(unsyncable)
        click.echo(
            f"warning: `leadbridge mappings validate` refuses these files "
            f"({_counted(len(unsyncable), 'error')} above): `sync --once` still runs, and "
            "each contact with such a value fails alone (shown as `fail` below)"
        )
    for record in records:
        click.echo(render(record))
    if emails:
        found = {(c.email or "").lower() for c in contacts}
        for email in emails:
            if email.strip().lower() not in found:
                click.echo(f"no HubSpot contact has the email {email!r}")
    click.echo(totals.render())
    if records:
        click.echo(upcoming.render())
    click.echo("nothing was written (plan reads only)")


PLAN_REFUSED = (
    "no plan: `sync --once` refuses these files and would write nothing; fix them first "
    "(`leadbridge mappings validate` lists the same)"
)


def _next_pass(settings: Settings, records: list[tuple[Any, datetime]]) -> Any:
    """Which records with changes the next pass sends: those whose contacts changed since the
    contacts stream's cursor (read from the state store without writing to it)."""
    from datetime import timedelta

    from connector.checks.preview import next_pass
    from connector.state.peek import peek_cursor
    from connector.streams.contacts.stream import STREAM

    peek = peek_cursor(settings.database_url, STREAM)
    if peek.problem is not None:
        return next_pass(records, None, unknown=peek.problem)
    overlap = timedelta(seconds=settings.sync_overlap_seconds)
    return next_pass(records, peek.value - overlap if peek.value else None)


def _read(
    settings: Settings,
    plan: LeadPlan,
    limit: int,
    emails: list[str],
    hubspot: HubSpotGateway,
    salesforce: SalesforceGateway,
) -> tuple[list[HubSpotContact], dict[str, Existing]]:
    """The contacts to preview and, by contact id, what Salesforce has for each: searches and
    queries only."""
    from itertools import islice

    from connector.lifecycle import search_filters
    from connector.model import SearchFilter

    properties = plan.hubspot_properties()
    if emails:
        wanted = sorted({e.lower() for e in emails if e})
        any_of = [[SearchFilter("email", "IN", values=tuple(wanted))]]
    else:
        any_of = search_filters(plan.mapping.include)
    pages = hubspot.changed_contacts(None, properties, any_of=any_of)
    contacts = list(islice((c for page in pages for c in page), limit))
    if not contacts:
        return [], {}
    return contacts, _existing(
        contacts, plan, salesforce, external_id_field=settings.salesforce_external_id_field
    )


def _existing(
    contacts: Sequence[HubSpotContact],
    plan: LeadPlan,
    salesforce: SalesforceGateway,
    *,
    external_id_field: str,
) -> dict[str, Existing]:
    """What Salesforce holds for each contact, read with the reads a sync makes
    (`connector.salesforce.reads`). Without the state store's links, a contact's Lead is the one
    carrying its id; the others are looked up by email (`find_by_emails`, as the contacts
    stream does), and what that finds is chosen by the stream's own rule (`decide`), so a plan
    says what a pass would do: link, already a customer, or fail on a Lead linked to another
    contact."""
    from connector.checks.preview import Existing
    from connector.model import SalesforceMatch
    from connector.streams.contacts.decide import decide

    ext = external_id_field
    fields = ["Email", "LastModifiedDate", ext, *plan.salesforce_fields()]
    linked = salesforce.linked_leads([c.id for c in contacts], fields, external_id_field=ext)
    people = _converted_people(salesforce, plan, linked)
    unlinked = [c for c in contacts if c.id not in linked and c.email]
    found: dict[str, list[SalesforceMatch]] = {}
    lookup = sorted({(c.email or "").lower() for c in unlinked})
    for match in salesforce.find_by_emails(lookup) if lookup else []:
        found.setdefault(match.email.lower(), []).append(match)
    chosen = {
        c.id: decide(
            c,
            qualified=True,
            fields={},
            values_hash="",
            link=None,
            last_hash=None,
            matches=found.get((c.email or "").lower(), []),
        )
        for c in unlinked
    }
    targets = [d.target_id for d in chosen.values() if d.known and d.target_id]
    leads = salesforce.current_leads(targets, fields) if targets else {}
    existing: dict[str, Existing] = {}
    for contact in contacts:
        decision = chosen.get(contact.id)
        if contact.id in people:
            existing[contact.id] = Existing(converted=people[contact.id])
        elif contact.id in linked:
            existing[contact.id] = Existing(lead=linked[contact.id], linked=True)
        elif decision is None or (decision.action == "upsert" and not decision.known):
            existing[contact.id] = Existing()
        elif decision.action == "link_contact":
            existing[contact.id] = Existing(contact_id=decision.target_id)
        elif decision.action == "fail":
            existing[contact.id] = Existing(conflict=decision.reason)
        else:  # a Lead found by email: to link (or carrying the contact's id already)
            lead = leads.get(decision.target_id or "")
            existing[contact.id] = Existing(lead=lead, linked=decision.action == "upsert")
    return existing


def _converted_people(
    salesforce: SalesforceGateway, plan: LeadPlan, linked: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The Contacts converted Leads became, by HubSpot id, each under the Lead field names
    whose values go there after conversion (lead.yaml `contact:`)."""
    targets = {
        f.salesforce: f.spec.contact_field
        for f in plan.fields
        if f.spec.to_salesforce and f.spec.contact_field
    }
    became = {
        hubspot_id: str(lead["ConvertedContactId"])
        for hubspot_id, lead in linked.items()
        if lead.get("IsConverted") and lead.get("ConvertedContactId")
    }
    if not became or not targets:
        return {}
    rows = salesforce.current_contacts(sorted(set(became.values())), list(targets.values()))
    people: dict[str, dict[str, Any]] = {}
    for hubspot_id, contact_id in became.items():
        row = rows.get(contact_id)
        if row is not None:
            values = {lead: row.get(field) for lead, field in targets.items()}
            people[hubspot_id] = {
                **values,
                "Id": contact_id,
                "LastModifiedDate": row.get("LastModifiedDate"),
            }
    return people
