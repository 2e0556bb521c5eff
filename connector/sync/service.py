"""Building the engine from settings: mapping first (an invalid file writes nothing), then the
state store and the two gateways. The CLI, the demo, benchmarks and scripts all start here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.conversion import load_conversion_mapping
from connector.mapping.model import load_lead_mapping
from connector.mapping.plan import LeadPlan
from connector.mapping.status import load_status_mapping
from connector.routing.contacts import ContactRouter
from connector.routing.router import load_routing
from connector.salesforce.gateway import SalesforceGateway
from connector.settings import Settings
from connector.state.store import StateStore
from connector.sync.conversion import STREAM as CONVERSION_STREAM
from connector.sync.conversion import ConversionEngine
from connector.sync.engine import SyncEngine
from connector.sync.feedback import STREAM as FEEDBACK_STREAM
from connector.sync.feedback import FeedbackEngine
from connector.sync.mapcheck import check_mapping
from connector.sync.twoway import returning
from connector.sync.writeback import WriteBacks


@contextmanager
def open_engine(
    settings: Settings, *, sleep: Callable[[float], Any] = time.sleep
) -> Iterator[SyncEngine]:
    """A ready `SyncEngine`; raises MappingError or ConfigError before anything is written."""
    plan = LeadPlan.compile(load_lead_mapping(settings.mappings_dir))
    routing_file = Path(settings.mappings_dir) / "routing.yaml"
    routing = load_routing(settings.mappings_dir) if routing_file.exists() else None
    status_file = Path(settings.mappings_dir) / "status.yaml"
    status = load_status_mapping(settings.mappings_dir) if status_file.exists() else None
    store = StateStore.open(settings.database_url)
    try:
        salesforce = SalesforceGateway.connect(settings, sleep=sleep)
        hubspot = HubSpotGateway.connect(settings, sleep=sleep)
        router_factory = (
            (lambda: ContactRouter(routing, salesforce, state=store)) if routing else None
        )
        yield SyncEngine(
            salesforce=salesforce,
            hubspot=hubspot,
            store=store,
            plan=plan,
            external_id_field=settings.salesforce_external_id_field,
            overlap=timedelta(seconds=settings.sync_overlap_seconds),
            router_factory=router_factory,
            returned=status.returned() if status else None,
            feedback_stream=FEEDBACK_STREAM if status or returning(plan.fields) else None,
        )
    finally:
        store.close()


def open_feedback(settings: Settings, engine: SyncEngine) -> FeedbackEngine | None:
    """The `salesforce.leads` stream (Lead status → HubSpot per `mappings/status.yaml`, and the
    Lead fields lead.yaml sends back) over the same gateways and store; None when there is
    neither status.yaml nor a field going to HubSpot."""
    has_status = (Path(settings.mappings_dir) / "status.yaml").exists()
    if not has_status and not returning(engine.plan.fields):
        return None
    return FeedbackEngine(
        engine.salesforce,
        engine.hubspot,
        engine.store,
        load_status_mapping(settings.mappings_dir) if has_status else None,
        overlap=engine.overlap,
        external_id_field=settings.salesforce_external_id_field,
        plan=engine.plan,
        conversion_stream=(
            CONVERSION_STREAM
            if (Path(settings.mappings_dir) / "conversion.yaml").exists()
            else None
        ),
    )


def open_conversion(settings: Settings, engine: SyncEngine) -> ConversionEngine | None:
    """SQL conversion (convertLead into the account routing matched) over the same gateways and
    store, when `mappings/conversion.yaml` exists; None without it."""
    directory = Path(settings.mappings_dir)
    if not (directory / "conversion.yaml").exists():
        return None
    matched = "Matched_Account__c"
    if (directory / "routing.yaml").exists():
        matched = load_routing(directory).lead_fields.matched_account or matched
    return ConversionEngine(
        engine.salesforce,
        engine.hubspot,
        engine.store,
        load_conversion_mapping(directory),
        external_id_field=settings.salesforce_external_id_field,
        overlap=engine.overlap,
        matched_account_field=matched,
    )


def run_pass(settings: Settings, engine: SyncEngine) -> Iterator[Any]:
    """One pass of every stream the mapping files ask for, yielding each stream's summary as it
    finishes. The mapping is checked first: every file is loaded, and lead.yaml and status.yaml
    checked against the live schemas (`check_mapping`), before anything is written. Then the
    write-backs still owed to HubSpot (`connector.sync.writeback`; its summary only when
    something was owed), then sales feedback (a rep's change is pulled before our own write can
    be the Lead's latest: that stream skips the integration user's changes), then HubSpot
    contacts to Leads, then SQL conversion last (a new SQL Lead is routed, its matched account
    set, first)."""
    check_mapping(settings, engine)
    feedback = open_feedback(settings, engine)
    conversion = open_conversion(settings, engine)
    owed = WriteBacks(engine.hubspot, engine.store).run_once()
    if owed.owed:
        yield owed
    if feedback is not None:
        yield feedback.run_once()
    yield engine.run_once()
    if conversion is not None:
        yield conversion.run_once()
