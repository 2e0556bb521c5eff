"""The one composition root: every mapping file loaded once (an invalid file writes nothing),
then the state store, the two gateways and the streams the files ask for. The CLI, the demo,
benchmarks, scripts and the coming service all start here, and nothing else builds them.

    with open_connector(settings) as connector:
        for summary in connector.run_pass():
            print(summary.render())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from connector.checks.mapping_files import MappingFiles as LoadedFiles
from connector.checks.mapping_files import load_files
from connector.checks.precheck import PASS_FILES, MappingCheck
from connector.errors import MappingError
from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.conversion import ConversionMapping, load_conversion_mapping
from connector.mapping.model import load_lead_mapping
from connector.mapping.plan import LeadPlan
from connector.mapping.privacy import FILE as PRIVACY_FILE
from connector.mapping.privacy import PrivacyPolicy, load_privacy_policy
from connector.mapping.status import StatusMapping, load_status_mapping
from connector.privacy.erase import Eraser
from connector.routing.config import RoutingConfig
from connector.routing.contacts import ContactRouter
from connector.routing.router import load_routing
from connector.salesforce.gateway import SalesforceGateway
from connector.settings import Settings
from connector.state.hold import Wait
from connector.state.store import StateStore
from connector.streams.backfill.stream import Backfill
from connector.streams.base import Summary
from connector.streams.contacts.stream import STREAM as CONTACTS_STREAM
from connector.streams.contacts.stream import ContactsStream
from connector.streams.conversions.stream import STREAM as CONVERSION_STREAM
from connector.streams.conversions.stream import ConversionsStream
from connector.streams.erased import ErasedPeople
from connector.streams.identity.stream import DELETIONS, MERGES, IdentityEvents
from connector.streams.leads.removals import Removals
from connector.streams.leads.stream import STREAM as FEEDBACK_STREAM
from connector.streams.leads.stream import LeadsStream
from connector.streams.leads.twoway import returning
from connector.streams.links.reconcile import Reconcile
from connector.streams.links.relink import Relink
from connector.streams.writeback import STREAM as WRITEBACK_STREAM
from connector.streams.writeback import WriteBacks, WriteBackSummary

#: The Lead field routing records the matched account in, when routing.yaml does not say.
DEFAULT_MATCHED_ACCOUNT_FIELD = "Matched_Account__c"
#: Every step a pass can have, in the order a pass runs them, each named by the stream it holds:
#: the write-backs owed to HubSpot, sales feedback, HubSpot contacts to Leads, SQL conversion.
#: Which of them a connector runs depends on its mapping files (`Connector.steps`).
PASS_STEPS = (WRITEBACK_STREAM, FEEDBACK_STREAM, CONTACTS_STREAM, CONVERSION_STREAM)


@dataclass(frozen=True)
class Mappings:
    """Every file in the mappings directory, loaded and validated once; None for a file that
    is not there (its stream or step is off)."""

    plan: LeadPlan
    routing: RoutingConfig | None = None
    status: StatusMapping | None = None
    conversion: ConversionMapping | None = None
    privacy: PrivacyPolicy | None = None

    @property
    def matched_account_field(self) -> str:
        """Where routing records the matched account (conversion converts into it)."""
        if self.routing is not None and self.routing.lead_fields.matched_account:
            return self.routing.lead_fields.matched_account
        return DEFAULT_MATCHED_ACCOUNT_FIELD

    @property
    def sends_feedback(self) -> bool:
        """Whether the `salesforce.leads` stream runs: status.yaml, or a field sent back."""
        return self.status is not None or bool(returning(self.plan.fields))


def load_mapping_files(directory: str | Path) -> Mappings:
    """lead.yaml (required), routing.yaml, status.yaml, conversion.yaml and privacy.yaml when
    present; MappingError with every problem's file:line:col before anything else happens."""
    directory = Path(directory)
    return Mappings(
        plan=LeadPlan.compile(load_lead_mapping(directory)),
        routing=load_routing(directory) if (directory / "routing.yaml").exists() else None,
        status=(load_status_mapping(directory) if (directory / "status.yaml").exists() else None),
        conversion=(
            load_conversion_mapping(directory) if (directory / "conversion.yaml").exists() else None
        ),
        privacy=load_privacy_policy(directory) if (directory / PRIVACY_FILE).exists() else None,
    )


@dataclass
class Connector:
    """The store, the gateways and the streams of one mappings directory, ready to run."""

    settings: Settings
    files: Mappings
    store: StateStore
    salesforce: SalesforceGateway
    hubspot: HubSpotGateway
    contacts: ContactsStream
    leads: LeadsStream | None
    conversions: ConversionsStream | None
    writebacks: WriteBacks
    #: HubSpot contact merges and plain deletions (`hubspot.merges`, `hubspot.deletions`): run
    #: by id on the work the webhook endpoint records.
    merges: IdentityEvents | None = None
    deletions: IdentityEvents | None = None
    #: The files as loaded, with their lines, when this connector must keep to them whatever
    #: the disk says (the service, which reloads on its own); None: read the disk each pass.
    pinned: LoadedFiles | None = None
    _check: MappingCheck = field(default_factory=MappingCheck)

    def check_mapping(self) -> None:
        """Refuse (MappingError, exit 1) before anything is written when lead.yaml or
        status.yaml does not fit the live schemas, or lead.yaml is no longer the file this
        connector loaded. What passed is remembered per connector (`MappingCheck`): a one-off
        pass reads the schemas once, a long-lived connector again after its lifetime or as soon
        as a file changes. A pinned connector checks the files it was built from."""
        files = self.pinned or load_files(self.settings.mappings_dir, PASS_FILES)
        lead = files.lead
        if self.pinned is None and lead is not None and lead.model != self.files.plan.mapping:
            msg = (
                f"{lead.path}: changed since this pass loaded it: nothing was written; run the "
                "pass again to use the new file"
            )
            raise MappingError(msg)
        self._check(
            files,
            self.salesforce,
            self.hubspot,
            external_id_field=self.settings.salesforce_external_id_field,
        )

    def steps(self) -> list[str]:
        """The steps of a pass this connector runs, in order (`PASS_STEPS` its files ask for)."""
        present = {
            WRITEBACK_STREAM: True,
            FEEDBACK_STREAM: self.leads is not None,
            CONTACTS_STREAM: True,
            CONVERSION_STREAM: self.conversions is not None,
        }
        return [name for name in PASS_STEPS if present[name]]

    def run_step(self, name: str) -> Summary:
        """One step of a pass: one pass of the stream `name` (one of `steps()`), holding it
        throughout. The mapping is not checked here (`check_mapping` first)."""
        if name == WRITEBACK_STREAM:
            return self.writebacks.run_once()
        streams = {s.name: s for s in (self.leads, self.contacts, self.conversions) if s}
        if name not in streams:
            msg = f"no step {name!r} in this pass (its steps: {', '.join(self.steps())})"
            raise ValueError(msg)
        summary: Summary = streams[name].run_once()
        return summary

    def backfill(self) -> Backfill:
        """A backfill over this connector's contacts stream (its decisions, not a copy), handing
        sales-qualified contacts to the conversions stream when conversion.yaml is there."""
        conversion = self.files.conversion
        return Backfill(
            self.contacts,
            self.store,
            self.salesforce,
            self.hubspot,
            sql_stages=(
                frozenset(conversion.sql_stages)
                if conversion is not None and conversion.uses_stage
                else frozenset()
            ),
            conversion_stream=CONVERSION_STREAM if conversion is not None else None,
            bulk=self.salesforce.bulk_leads(),
        )

    def relink(self) -> Relink:
        """Rebuilds the store's links from both sides (`leadbridge relink`)."""
        writeback = self.files.plan.mapping.writeback
        relink = Relink(
            self.store,
            self.salesforce,
            self.hubspot,
            external_id_field=self.settings.salesforce_external_id_field,
            lead_property=writeback.lead_id,
            contact_property=writeback.contact_id,
            wait=self.contacts.wait,
        )
        relink.erased = self.contacts.erased
        return relink

    def reconcile(self) -> Reconcile:
        """Compares both sides for the synced population (`leadbridge reconcile`)."""
        return Reconcile(
            self.contacts,
            self.store,
            self.salesforce,
            self.hubspot,
            external_id_field=self.settings.salesforce_external_id_field,
        )

    def run_pass(self) -> Iterator[Any]:
        """One pass, yielding each step's summary as it finishes. The mapping is checked
        first, before anything is written. Then the write-backs still owed to HubSpot (its
        summary only when something was owed), then sales feedback (a rep's change is pulled
        before our own write can be the Lead's latest: that stream skips the integration user's
        changes), then HubSpot contacts to Leads, then SQL conversion last (a new SQL Lead is
        routed, its matched account set, first)."""
        self.check_mapping()
        for name in self.steps():
            summary = self.run_step(name)
            if isinstance(summary, WriteBackSummary) and not summary.owed:
                continue
            yield summary


def _removals(
    settings: Settings,
    files: Mappings,
    store: StateStore,
    salesforce: SalesforceGateway,
    hubspot: HubSpotGateway,
    wait: Wait,
    overlap: timedelta,
) -> Removals:
    """The read of Leads and Contacts deleted or merged in Salesforce (lead.yaml's
    `salesforce_removals`), erasing the people privacy.yaml's `salesforce_requests` recognise
    (holding the contacts stream meanwhile, as `leadbridge privacy erase` does)."""
    policy = files.privacy
    eraser = (
        Eraser(
            store=store,
            salesforce=salesforce,
            hubspot=hubspot,
            policy=policy,
            key=settings.privacy_key,
        )
        if policy is not None and settings.privacy_key is not None
        else None
    )
    return Removals(
        salesforce,
        hubspot,
        store,
        external_id_field=settings.salesforce_external_id_field,
        settings=files.plan.mapping.salesforce_removals,
        writeback=files.plan.mapping.writeback,
        requests=policy.salesforce_requests if policy is not None else None,
        eraser=eraser,
        erasure_hold=lambda: store.hold(CONTACTS_STREAM, wait=wait),
        overlap=overlap,
    )


@contextmanager
def open_connector(
    settings: Settings,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    wait: Wait | None = None,
) -> Iterator[Connector]:
    """A ready `Connector`; MappingError or ConfigError before anything is written. The store
    is closed on the way out. `wait`: how long each stream run waits for another holder of its
    stream (see `build`)."""
    files = load_mapping_files(settings.mappings_dir)
    store = StateStore.open(settings.database_url)
    try:
        salesforce = SalesforceGateway.connect(settings, sleep=sleep)
        hubspot = HubSpotGateway.connect(settings, sleep=sleep)
        yield build(settings, files, store, salesforce, hubspot, wait=wait)
    finally:
        store.close()


def build(
    settings: Settings,
    files: Mappings,
    store: StateStore,
    salesforce: SalesforceGateway,
    hubspot: HubSpotGateway,
    *,
    wait: Wait | None = None,
) -> Connector:
    """The streams over given parts (`open_connector` opens them; tests may bring their own).

    Each run of a stream holds it against every other run (`StateStore.hold`); `wait` is how
    long a run waits for another holder before `StreamBusy` (None: `Wait()`, a bounded wait):
    a one-off command waits a little, a service as long as it takes, until it stops."""
    wait = wait or Wait()
    overlap = timedelta(seconds=settings.sync_overlap_seconds)
    external_id = settings.salesforce_external_id_field
    routing = files.routing
    router_factory = (
        (lambda: ContactRouter(routing, salesforce, state=store)) if routing is not None else None
    )
    contacts = ContactsStream(
        salesforce=salesforce,
        hubspot=hubspot,
        store=store,
        plan=files.plan,
        external_id_field=external_id,
        overlap=overlap,
        router_factory=router_factory,
        returned=files.status.returned() if files.status else None,
        feedback_stream=FEEDBACK_STREAM if files.sends_feedback else None,
        feedback_fields=files.status.lead_fields() if files.status else (),
        conversion=(
            (
                CONVERSION_STREAM,
                files.conversion.lifecycle_property,
                frozenset(files.conversion.sql_stages),
            )
            if files.conversion and files.conversion.uses_stage
            else None
        ),
    )
    leads = (
        LeadsStream(
            salesforce,
            hubspot,
            store,
            files.status,
            overlap=overlap,
            external_id_field=external_id,
            plan=files.plan,
            conversion_stream=CONVERSION_STREAM if files.conversion else None,
            removals=_removals(settings, files, store, salesforce, hubspot, wait, overlap),
        )
        if files.sends_feedback
        else None
    )
    conversions = (
        ConversionsStream(
            salesforce,
            hubspot,
            store,
            files.conversion,
            external_id_field=external_id,
            overlap=overlap,
            matched_account_field=files.matched_account_field,
        )
        if files.conversion is not None
        else None
    )
    # Erased people (tombstones) are skipped by every stream and step: one view of them.
    erased = ErasedPeople(
        store,
        settings.privacy_key,
        files.privacy.after_erasure if files.privacy is not None else "ignore",
    )
    for stream in (contacts, leads, conversions):
        if stream is not None:
            stream.wait = wait
            stream.erased = erased
    mapping = files.plan.mapping
    identity = {
        name: IdentityEvents(
            name,
            salesforce,
            hubspot,
            store,
            mapping.merges_and_deletions,
            external_id_field=external_id,
            lead_property=mapping.writeback.lead_id,
            contact_property=mapping.writeback.contact_id,
            wait=wait,
        )
        for name in (MERGES, DELETIONS)
    }
    writebacks = WriteBacks(
        hubspot,
        store,
        wait=wait,
        lead_id=files.plan.mapping.writeback.lead_id,
        contacts_stream=CONTACTS_STREAM,
    )
    writebacks.erased = erased
    return Connector(
        settings=settings,
        files=files,
        store=store,
        salesforce=salesforce,
        hubspot=hubspot,
        contacts=contacts,
        leads=leads,
        conversions=conversions,
        writebacks=writebacks,
        merges=identity[MERGES],
        deletions=identity[DELETIONS],
    )
