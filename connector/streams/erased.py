"""Erased people are never written again: the one question every path that writes asks before
it writes (the contacts stream and a backfill, sales feedback, conversions, owed write-backs,
reconcile and relink, a dead letter put back), answered from the tombstones a privacy erasure
keeps (`StateStore.tombstoned`: one query a page, never one a record).

A record is an erased person's when its HubSpot contact id, its Salesforce Lead or Contact id, or
its email (through the keyed hash, LEADBRIDGE_PRIVACY_KEY) is a tombstone's. Such records are
left alone and counted ("skipped: erased", `Summary.erased`); the log says how many, never who.

`after_erasure` (mappings/privacy.yaml) says what a new HubSpot contact with an erased email is:
`ignore` (the default) skips it like the erased one; `treat_as_new` syncs another contact than
the erased one as a new person (HubSpot blocks an erased email from imports and the API, so such
a contact is the person's own new form fill). The erased contact's own id and Salesforce ids are
skipped either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from connector.model import HubSpotContact
from connector.state.privacy import Tombstoned
from connector.state.store import StateStore

log = structlog.get_logger(__name__)

AfterErasure = Literal["ignore", "treat_as_new"]
#: What a skipped record is counted as, in summaries and reports.
SKIPPED = "skipped: erased"


@dataclass
class ErasedPeople:
    """Which records are erased people's, for one store (`key`: LEADBRIDGE_PRIVACY_KEY, to
    match emails; `after_erasure`: privacy.yaml's)."""

    store: StateStore
    key: Any = None
    after_erasure: AfterErasure = "ignore"

    def contacts(self, contacts: Sequence[HubSpotContact], *, where: str) -> frozenset[str]:
        """The ids of `contacts` that are erased people's (by id, or by email unless
        `treat_as_new`), logged as a count under `where` (a stream's name)."""
        if not contacts:
            return frozenset()
        by_email = self.after_erasure == "ignore"
        found = self.store.tombstoned(
            hubspot_ids=[c.id for c in contacts],
            emails=[c.email for c in contacts if c.email] if by_email else (),
            key=self.key,
        )
        erased = frozenset(
            c.id
            for c in contacts
            if found.covers(hubspot_id=c.id, email=c.email if by_email else None)
        )
        self.skipped(where, len(erased))
        return erased

    def records(
        self,
        *,
        hubspot_ids: Iterable[str | None] = (),
        salesforce_ids: Iterable[str | None] = (),
        emails: Iterable[str | None] = (),
    ) -> Tombstoned:
        """Which of these ids and emails are erased people's (emails only under `ignore`)."""
        return self.store.tombstoned(
            hubspot_ids=[i for i in hubspot_ids if i],
            salesforce_ids=[i for i in salesforce_ids if i],
            emails=[e for e in emails if e] if self.after_erasure == "ignore" else (),
            key=self.key,
        )

    @staticmethod
    def skipped(where: str, count: int) -> None:
        """Log that `count` records were skipped as erased people's (never which)."""
        if count:
            log.info("privacy.skipped_erased", stream=where, erased=count)
