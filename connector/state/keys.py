"""The written-hash store's keys and values: one scheme, shared by every stream.

`written_hashes` keeps, per record key and direction, the hash of what leadbridge last wrote, so
a change equal to it is our own echo. The contacts stream and the leads stream read each other's
entries (a write-back made by one is the other's echo), so the keys are spelled here only.
"""

from __future__ import annotations

import json


def contact_key(hubspot_id: str) -> str:
    """The hash of what a HubSpot contact maps to in Salesforce (written by the contacts
    stream; the leads stream updates it when its write-back changes what the contact maps to)."""
    return f"hubspot:{hubspot_id}"


def contact_fields_key(hubspot_id: str) -> str:
    """The per-field fingerprints of the values both sides last agreed on, for a contact's
    fields a conflict rule protects or that sync both ways (JSON: field -> digest)."""
    return f"hubspot:{hubspot_id}:fields"


def contact_sending_key(hubspot_id: str) -> str:
    """The per-field fingerprints of the values a stream was sending to one side when it last
    wrote a contact's protected or two-way fields, noted before the write (JSON: field ->
    digest). A run killed after the write and before its record leaves the agreement under
    `contact_fields_key` behind; with this, a side still holding what was being sent has not
    changed since (`connector.streams.contacts.decide.last_agreed`)."""
    return f"hubspot:{hubspot_id}:sending"


def lead_key(lead_id: str) -> str:
    """The hash of what a Lead's status last asked of its contact (the leads stream)."""
    return f"salesforce:{lead_id}"


def fingerprints(stored: str | None) -> dict[str, str]:
    """The per-field fingerprints kept under `contact_fields_key` (field -> digest); unreadable
    ones count as never agreed."""
    try:
        value = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
