"""Building the engine from settings: mapping first (an invalid file writes nothing), then the
state store and the two gateways. The CLI, the demo, benchmarks and scripts all start here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from connector.hubspot.gateway import HubSpotGateway
from connector.mapping.loader import load_lead_mapping
from connector.mapping.plan import LeadPlan
from connector.salesforce.gateway import SalesforceGateway
from connector.settings import Settings
from connector.state.store import StateStore
from connector.sync.engine import SyncEngine


@contextmanager
def open_engine(
    settings: Settings, *, sleep: Callable[[float], Any] = time.sleep
) -> Iterator[SyncEngine]:
    """A ready `SyncEngine`; raises MappingError or ConfigError before anything is written."""
    plan = LeadPlan.compile(load_lead_mapping(settings.mappings_dir))
    store = StateStore.open(settings.database_url)
    try:
        salesforce = SalesforceGateway.connect(settings, sleep=sleep)
        hubspot = HubSpotGateway.connect(settings, sleep=sleep)
        yield SyncEngine(
            salesforce=salesforce,
            hubspot=hubspot,
            store=store,
            plan=plan,
            external_id_field=settings.salesforce_external_id_field,
            overlap=timedelta(seconds=settings.sync_overlap_seconds),
        )
    finally:
        store.close()
