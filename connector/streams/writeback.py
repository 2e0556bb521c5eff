"""Write-backs owed to HubSpot, paid: the first step of every pass.

A stream that learns something HubSpot must show (a conversion's Contact, Account and
Opportunity ids and stage; a Lead id HubSpot refused) records it as owed in the same
transaction as the link (`connector.state.work`). This step reads what is owed, 100 contacts at
a time: one batch read of those contacts, then one batch update carrying only what they do not
show yet (a write whose answer was lost after HubSpot made it costs no second write), and one
transaction recording what HubSpot confirmed. What HubSpot refuses stays owed, with the reason
and the count of tries, and is tried again by the next pass. A run holds the step's own stream
name, `hubspot.writeback`, as every stream run holds its own (`StateStore.hold`).

A Lead id owed (sales feedback owes it to a rejected Lead's contact that does not show it) may
be on its way already: a contacts stream run that upserted the Lead writes it back before it
ends. Such a debt is paid only while no contacts stream run can be writing to that contact
(holding the contacts stream shared and the contact's record hold, as a run of webhook work
does, never waiting); otherwise it waits for the next pass, which reads the contact again and
finds the id written (paying it as well would write it twice, the second an echo).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import structlog

from connector.errors import StreamBusy
from connector.state.hold import Wait
from connector.state.store import AuditEvent, Commit, StateStore
from connector.state.work import OwedWriteBack, outstanding
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
    left: int = 0  # Lead ids owed to contacts a contacts stream run held: for the next pass

    def lines(self) -> list[str]:
        lines = [
            f"write-backs {self.run_id}: {self.completed} write-backs owed to HubSpot completed"
            f", {self.failed} still owed"
        ]
        if self.left:
            lines.append(
                f"  {self.left} Lead ids owed left for the next pass: the contacts stream was "
                "writing to those contacts"
            )
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
        lead_id: str | None = None,
        contacts_stream: str | None = None,
    ):
        self.hubspot = hubspot
        self.store = store
        self.page_size = page_size
        self.wait = wait
        #: Who is erased (`connector.streams.erased`; `connector.wiring` gives it the key).
        self.erased = ErasedPeople(store)
        #: The contact property showing its Lead's id (lead.yaml's write-back), and the stream
        #: that writes it back after an upsert: a debt of that id is paid only while no run of
        #: that stream holds the contact (module docstring).
        self.lead_id = lead_id
        self.contacts_stream = contacts_stream

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
                with self._at_rest(owed) as payable:
                    summary.left += len(owed) - len(payable)
                    if payable:
                        self._page(
                            {o.hubspot_id: o.properties for o in owed if o.hubspot_id in payable},
                            summary,
                        )
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

    @contextmanager
    def _at_rest(self, owed: list[OwedWriteBack]) -> Iterator[set[str]]:
        """The contacts of `owed` whose debts may be paid now, held so for the block: every one
        not owed a Lead id, and those owed one that no contacts stream run holds (the stream
        held shared and their record holds taken, never waiting: a pass, holding the stream
        alone, or a run of webhook work holding the contact, may be about to write the id)."""
        ids = [o.hubspot_id for o in owed]
        lead_id, stream = self.lead_id, self.contacts_stream
        guarded = [o.hubspot_id for o in owed if lead_id and lead_id in o.properties]
        if not guarded or stream is None:
            yield set(ids)
            return
        free = set(ids) - set(guarded)
        with ExitStack() as held:
            try:
                held.enter_context(self.store.hold(stream, wait=Wait(0), shared=True))
            except StreamBusy:
                mine: list[str] = []
            else:
                mine = held.enter_context(self.store.hold_records(stream, guarded))
            if len(mine) < len(guarded):
                log.info("writeback.left", stream=STREAM, left=len(guarded) - len(mine))
            yield free | set(mine)

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
