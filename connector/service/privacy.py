"""HubSpot's `contact.privacyDeletion` webhook: the person erased from Salesforce (as
mappings/privacy.yaml says) and from the state store by the same `Eraser` as `leadbridge privacy
erase`, as a job of its own stream (`hubspot.privacy`), kept durable until it is done.

- Intake (`privacy_work`): each privacyDeletion becomes work of `hubspot.privacy` under its
  own record id (`privacy:<contact id>`), not the contact's: an erasure removes the person's
  work, and this work must outlive the store's part to see Salesforce's part done (a kill
  between the two is finished by the next run). HubSpot sends a plain `contact.deletion` with
  it: the pair is handled once, the privacy deletion winning (`plain_deletions` drops a
  deletion of the same contact in the batch, and of a contact erased already).
- The job (`erase_deleted`): per contact, the `Eraser` with reason `hubspot_privacy_deletion`
  (HubSpot is not called: it deleted the contact already), holding the contacts stream as the
  command does. The webhook names only the contact id: the person's Lead and Contact come from
  the store's link, the tombstone, and the Salesforce records carrying the contact id; their
  email (for the tombstone's keyed hash) from those records. With none known the erasure is
  recorded with Salesforce's outcome `not_found` ("no Salesforce record known"), and the
  tombstone keeps the HubSpot id. Without privacy.yaml, Salesforce is left alone (outcome
  `not_asked`, a warning) and the store erased all the same.
- A refused part (Salesforce down, a refusal) leaves the work for the next run; the tombstone
  says `failed` meanwhile (`leadbridge privacy report`). Logs say counts and outcomes, never
  who.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog

from connector.hubspot.webhooks import WebhookEvent
from connector.state.store import Commit
from connector.state.work import Work
from connector.wiring import Connector

log = structlog.get_logger(__name__)

#: The stream privacy deletions are work of.
PRIVACY = "hubspot.privacy"
#: A privacy deletion's work is kept under this prefix and the contact id.
RECORD_PREFIX = "privacy:"


def split_deletions(
    deletions: Iterable[WebhookEvent],
) -> tuple[list[WebhookEvent], list[WebhookEvent]]:
    """The batch's privacy deletions, and its plain deletions of other contacts (HubSpot sends
    both for one GDPR delete: the privacy deletion wins)."""
    events = list(deletions)
    privacy = [e for e in events if e.action == "privacyDeletion" and e.object_id]
    erased = {e.object_id for e in privacy}
    plain = [e for e in events if e.action != "privacyDeletion" and e.object_id not in erased]
    return privacy, plain


def privacy_work(events: Iterable[WebhookEvent]) -> list[Work]:
    """Each privacy deletion (its contact once) as work of `PRIVACY`: ids only."""
    work: dict[str, Work] = {}
    for event in events:
        if event.object_id is None:
            continue
        record = RECORD_PREFIX + event.object_id
        why = f"HubSpot webhook {event.subscription_type} (event {event.event_id})"
        payload = {"hubspot_id": event.object_id, "event_id": event.event_id}
        work.setdefault(record, Work(PRIVACY, record, "recheck", why, payload))
    return list(work.values())


def plain_deletions(connector: Connector, deletions: Sequence[WebhookEvent]) -> list[WebhookEvent]:
    """The plain deletions left to handle: a deletion of a contact erased already (its
    privacy deletion came first) is a no-op (one store query for the batch)."""
    ids = [e.object_id for e in deletions if e.object_id]
    if not ids:
        return list(deletions)
    gone = connector.store.tombstoned(hubspot_ids=ids)
    kept = [e for e in deletions if not gone.covers(hubspot_id=e.object_id)]
    if len(kept) < len(deletions):
        log.info("privacy.deletion_of_erased", ignored=len(deletions) - len(kept))
    return kept


@dataclass
class PrivacySummary:
    """What one run of privacy deletions did: counts only."""

    erased: int = 0  # erased now (in part or whole)
    already: int = 0  # erased before: nothing left
    failed: int = 0  # a system refused part: the work stays for the next run
    no_salesforce: int = 0  # no Salesforce record known for the contact

    def counts(self) -> dict[str, int]:
        return dict(vars(self))


def erase_deleted(connector: Connector) -> PrivacySummary:
    """Every privacy deletion waiting (`PRIVACY`'s work), each erased as the module says; the
    work of each one finished is done."""
    from connector.privacy.erase import Eraser
    from connector.streams.contacts.stream import STREAM as CONTACTS

    store = connector.store
    summary = PrivacySummary()
    waiting = store.work(PRIVACY)
    if not waiting:
        return summary
    policy = connector.files.privacy
    wait = connector.contacts.wait
    with store.hold(PRIVACY, wait=wait):
        for item in store.work(PRIVACY):  # read again: another run may have done some
            hubspot_id = str(item.payload.get("hubspot_id") or "")
            if not hubspot_id:
                store.record(Commit(stream=PRIVACY, done=[item.record_id]), run_id="privacy")
                continue
            # A pass or backfill running meanwhile could write the Lead again from the contact
            # it read before: the erasure holds their stream, as the command does.
            with store.hold(CONTACTS, wait=wait):
                if policy is None:
                    ok = _store_only(connector, hubspot_id, summary)
                else:
                    eraser = Eraser(
                        store=store,
                        salesforce=connector.salesforce,
                        hubspot=connector.hubspot,
                        policy=policy,
                        key=connector.settings.privacy_key,
                    )
                    result = eraser.erase(hubspot_id=hubspot_id, reason="hubspot_privacy_deletion")
                    ok = not result.failed
                    if result.nothing_left:
                        summary.already += 1
                    elif ok:
                        summary.erased += 1
                        summary.no_salesforce += result.salesforce_outcome == "not_found"
            if ok:
                store.record(Commit(stream=PRIVACY, done=[item.record_id]), run_id="privacy")
            else:
                summary.failed += 1
    log.info("privacy.webhook_erasures", **summary.counts())
    return summary


def _store_only(connector: Connector, hubspot_id: str, summary: PrivacySummary) -> bool:
    """Without privacy.yaml: the store erased and the tombstone kept; Salesforce not asked."""
    store = connector.store
    erased = store.erase(
        hubspot_id=hubspot_id, reason="hubspot_privacy_deletion", key=connector.settings.privacy_key
    )
    store.erasure_outcome(erased.tombstone_id, hubspot="deleted", salesforce="not_asked")
    log.warning(
        "privacy.no_policy",
        tombstone=erased.tombstone_id,
        message="mappings/privacy.yaml is missing: the Salesforce records were left as they are",
    )
    summary.erased += not erased.already
    summary.already += erased.already
    return True
