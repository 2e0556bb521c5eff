"""The mapping check before each pass (`connector.mapping.precheck`), wired to an engine: its
gateways read the schemas, and what passed is remembered per engine, so a one-off `sync --once`
reads them once and a long-lived engine (the service) again after `CHECK_TTL` or as soon as the
files change. A new engine (a restart, a reload) checks at once."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from connector.checks.mapping_files import load_files
from connector.checks.precheck import PASS_FILES, MappingCheck
from connector.errors import MappingError
from connector.settings import Settings
from connector.sync.engine import SyncEngine

_CHECKS: WeakKeyDictionary[SyncEngine, MappingCheck] = WeakKeyDictionary()


def check_mapping(settings: Settings, engine: SyncEngine) -> None:
    """Refuse (MappingError, exit 1) before anything is written when lead.yaml or status.yaml
    does not fit the live schemas, or lead.yaml is no longer the one the engine runs."""
    files = load_files(settings.mappings_dir, PASS_FILES)
    lead = files.lead
    if lead is not None and lead.model != engine.plan.mapping:
        msg = (
            f"{lead.path}: changed since this pass loaded it: nothing was written; run the pass "
            "again to use the new file"
        )
        raise MappingError(msg)
    check = _CHECKS.setdefault(engine, MappingCheck())
    check(
        files,
        engine.salesforce,
        engine.hubspot,
        external_id_field=settings.salesforce_external_id_field,
    )
