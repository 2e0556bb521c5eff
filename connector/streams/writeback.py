"""Write-backs owed to HubSpot, paid: the first step of every pass.

A stream that learns something HubSpot must show (a conversion's Contact, Account and
Opportunity ids and stage; a Lead id HubSpot refused) records it as owed in the same
transaction as the link (`connector.state.work`). This step reads what is owed, 100 contacts at
a time: one batch read of those contacts, then one batch update carrying only what they do not
show yet (a write whose answer was lost after HubSpot made it costs no second write), and one
transaction recording what HubSpot confirmed. What HubSpot refuses stays owed, with the reason
and the count of tries, and is tried again by the next pass. A run holds the step's own stream
name, `hubspot.writeback`, as every stream run holds its own (`StateStore.hold`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from connector.state.hold import Wait
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import outstanding
from connector.streams.base import Summary, new_run_id
from connector.streams.erased import ErasedPeople
from connector.streams.sides import HubSpotSide

log = structlog.get_logger(__name__)

STREAM = "hubspot.writeback"
#: Contacts per page: one HubSpot batch read and at most one batch update.
PAGE_SIZE = 100


@dataclass
class WriteBackSummary(Summary):
    """What one pass of owed write-backs did, for people (`render`) and tests (the counts)."""

    owed: int = 0  # contacts owed a write-back when the step started
    completed: int = 0  # of those, now showing everything owed
    gone: int = 0  # contacts HubSpot no longer has: nothing left to write to

    def lines(self) -> list[str]:
        lines = [
            f"write-backs {self.run_id}: {self.completed} write-backs owed to HubSpot completed"
            f", {self.failed} still owed"
        ]
        if self.gone:
            lines.append(f"  {self.gone} contacts owed a write-back no longer exist in HubSpot")
        lines += [f"  still owed: HubSpot contact {cid}: {why}" for cid, why in self.failures]
        return lines


class WriteBacks:
    """Pays the write-backs owed to HubSpot contacts."""

    #: Asked between pages, as the streams do (`connector.streams.base.Stream.should_stop`).
    should_stop: Callable[[], bool] | None = None

    def __init__(
        self,
        hubspot: HubSpotSide,
        store: StateStore,
        *,
        page_size: int = PAGE_SIZE,
        wait: Wait = Wait(),  # noqa: B008 - frozen: one shared default is safe
    ):
        self.hubspot = hubspot
        self.store = store
        self.page_size = page_size
        self.wait = wait
        #: Who is erased (`connector.streams.erased`; `connector.wiring` gives it the key).
        self.erased = ErasedPeople(store)

    def run_once(self, run_id: str | None = None) -> WriteBackSummary:
        """Every write-back owed when the step starts, once (a refusal waits for the next).
        Holds `hubspot.writeback` throughout; `StreamBusy` when another run holds it past
        `wait`."""
        summary = WriteBackSummary(run_id or new_run_id(), stream=STREAM)
        after: str | None = None
        with self.store.hold(STREAM, wait=self.wait):
            while not (self.should_stop is not None and self.should_stop()):
                owed = self.store.owed_writebacks(after=after, limit=self.page_size)
                if not owed:
                    break
                after = owed[-1].hubspot_id
                summary.owed += len(owed)
                self._page({o.hubspot_id: o.properties for o in owed}, summary)
        if summary.owed:
            log.info(
                "writeback.done",
                stream=STREAM,
                run_id=summary.run_id,
                owed=summary.owed,
                completed=summary.completed,
                failed=summary.failed,
            )
        return summary

    def _page(self, owed: dict[str, dict[str, str | None]], summary: WriteBackSummary) -> None:
        gone = self.erased.records(hubspot_ids=list(owed))
        if gone:
            # An erased person is owed nothing: the debt goes, unpaid and unaudited.
            erased = {h: p for h, p in owed.items() if gone.covers(hubspot_id=h)}
            summary.erased += len(erased)
            ErasedPeople.skipped(STREAM, len(erased))
            self.store.record(
                Commit(stream=STREAM, direction="to_hubspot", confirmed=erased),
                run_id=summary.run_id,
            )
            owed = {h: p for h, p in owed.items() if h not in erased}
            if not owed:
                return
        names = sorted({name for properties in owed.values() for name in properties})
        shown = {c.id: c.properties for c in self.hubspot.read_contacts(list(owed), names)}
        commit = Commit(stream=STREAM, direction="to_hubspot")
        writes: dict[str, dict[str, str | None]] = {}
        for hubspot_id, properties in owed.items():
            if hubspot_id not in shown:
                # Deleted or merged away in HubSpot: the debt has no one to be paid to.
                commit.confirmed[hubspot_id] = properties
                commit.audit.append(AuditEvent("writeback_gone", hubspot_id, properties))
                summary.gone += 1
                continue
            missing = outstanding(properties, shown[hubspot_id])
            if missing:
                writes[hubspot_id] = missing
            else:  # written before, its answer lost: nothing to send
                commit.confirmed[hubspot_id] = properties
                summary.completed += 1
        for result in self.hubspot.update_contacts(writes) if writes else []:
            if result.success:
                commit.confirmed[result.hubspot_id] = owed[result.hubspot_id]
                summary.completed += 1
                continue
            commit.unconfirmed[result.hubspot_id] = result.reason
            summary.failures.append((result.hubspot_id, result.reason))
            log.warning("writeback.refused", stream=STREAM, record_id=result.hubspot_id)
        self.store.record(commit, run_id=summary.run_id)
