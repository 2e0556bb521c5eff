"""The live schema as the sandbox describes it, built in-process (no network in unit tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from connector.checks.snapshot import LiveSchema, contact_properties, lead_fields
from connector.sandbox.app import Sandbox
from connector.sandbox.salesforce.rest_describe import describe

FETCHED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@lru_cache(maxsize=1)
def sandbox_schema() -> LiveSchema:
    """The Lead describe and contact properties the sandbox's own endpoints would answer."""
    sandbox = Sandbox()
    lead = describe(sandbox.org, sandbox.org.schema["Lead"], "59.0", "https://sandbox.test")
    properties = [p.to_api() for p in sandbox.portal.types["contacts"].properties.values()]
    return LiveSchema(FETCHED_AT, lead_fields(lead), contact_properties(properties))
