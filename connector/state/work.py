"""Work: what leadbridge owes a remote system and has not had confirmed yet.

Today one kind: a write-back owed to a HubSpot contact (Salesforce ids, the converted stage,
routing facts). It is recorded in the same transaction as the link that makes it owed, and a
property is settled only when HubSpot confirmed the value owed; so a pass stopped anywhere
between Salesforce's answer and HubSpot's leaves the debt in the store, and the next pass pays
it. Work is not failure: it never goes to the dead-letter store, which is for people.

Pure: how debts and confirmations combine, without the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

#: The kind of a write-back owed to a HubSpot contact (`work.kind`); its record is the contact.
WRITEBACK = "hubspot.writeback"

Properties = dict[str, str | None]


@dataclass(frozen=True)
class OwedWriteBack:
    """Properties owed to one HubSpot contact, with the tries that did not settle them."""

    hubspot_id: str
    properties: Properties
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime | None = None


def same(a: str | None, b: str | None) -> bool:
    """Whether two HubSpot property values are the same (HubSpot keeps no empty string)."""
    return (a or "") == (b or "")


def owe(stored: Mapping[str, str | None], owed: Mapping[str, str | None]) -> Properties:
    """What is owed after a new debt: a later value of a property replaces the earlier one."""
    return {**stored, **owed}


def settle(stored: Mapping[str, str | None], confirmed: Mapping[str, str | None]) -> Properties:
    """What is still owed after HubSpot confirmed `confirmed`: a property whose owed value is
    the value confirmed is paid; one owed anew with another value since stays."""
    return {
        name: value
        for name, value in stored.items()
        if name not in confirmed or not same(confirmed[name], value)
    }


def outstanding(owed: Mapping[str, str | None], shown: Mapping[str, str | None]) -> Properties:
    """The owed properties a contact does not show yet (what a write must still carry)."""
    return {name: value for name, value in owed.items() if not same(shown.get(name), value)}
