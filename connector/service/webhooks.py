"""`POST /webhooks/hubspot`: HubSpot's webhooks v3, checked (`connector.hubspot.webhooks`) and
turned into durable work before the answer, so a change reaches Salesforce in about a second
and a crash after the 2xx loses nothing.

- Refused (and nothing queued): a bad or stale signature, missing headers (401), a body over
  the bound (413), not a batch of events (400), or the service stopping (503; HubSpot retries).
- Accepted: each contact created or with a changed property the streams read becomes work of
  the contacts stream (and of the conversion stream when its lifecycle stage moved to
  sales-qualified); a privacy deletion becomes work of `hubspot.privacy`, which erases the
  person (`connector.service.privacy`; the plain deletion sent with it, or of a contact erased
  before, is dropped); merges and other deletions are recorded as work of their own streams
  (`hubspot.merges`, `hubspot.deletions`: `connector.streams.identity`), a merge keyed by its
  survivor and the ids merged into it (so two merges into one contact are two, and the same
  merge delivered twice is one), a plain deletion as `ID:deletion`. Then the worker is woken
  (SQLite), or a job is deferred that any worker sharing the PostgreSQL store takes (the
  queue); either runs the work by id after the batch window.
- The URI the signature covers is the one HubSpot called: scheme and host from
  `X-Forwarded-Proto`/`-Host` only when the peer is one of `LEADBRIDGE_TRUSTED_PROXIES`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector.hubspot.webhooks import (
    WebhookEvent,
    WebhookRefused,
    called_uri,
    check_size,
    contact_ids,
    parse_batch,
    verify,
)
from connector.service.app import Service
from connector.service.privacy import plain_deletions, privacy_work, split_deletions
from connector.state.store import Commit
from connector.state.work import Work, hand_over
from connector.streams.identity import stream as identity

log = structlog.get_logger(__name__)

PATH = "/webhooks/hubspot"
#: The streams that carry out merges and deletions.
MERGES = identity.MERGES
DELETIONS = identity.DELETIONS
#: The stream that records the intake itself (its commits carry work for the others).
INTAKE = "hubspot.webhooks"


def webhook_routes(service: Service) -> list[Route]:
    """The webhook endpoint over `service`."""
    trusted = {a.strip() for a in service.settings.trusted_proxies.split(",") if a.strip()}
    secret_setting = service.settings.hubspot_webhook_secret
    secret = secret_setting.get_secret_value() if secret_setting else ""

    async def hubspot(request: Request) -> Response:
        metrics = service.metrics
        if service.stopping:
            metrics.webhooks.labels("stopping").inc()
            return JSONResponse({"error": "stopping", "message": "leadbridge is stopping"}, 503)
        try:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit():
                check_size(int(length))
            body = await request.body()
            check_size(len(body))
            verify(
                request.method,
                _called(request, trusted),
                body,
                request.headers,
                secret,
                datetime.now(UTC),
            )
            batch = parse_batch(body)
        except WebhookRefused as refused:
            metrics.webhooks.labels(refused.reason).inc()
            log.warning("service.webhook_refused", reason=refused.reason, status=refused.status)
            return JSONResponse(
                {"error": refused.reason, "message": str(refused)}, status_code=refused.status
            )
        work = await run_in_threadpool(_work, service, batch.events)
        if work:
            commit = Commit(stream=INTAKE, work=work)
            await run_in_threadpool(service.connector.store.record, commit, run_id="webhook")
            # One process: wake its worker thread; several: defer a job any of them takes.
            await run_in_threadpool(service.worker.wake, {w.stream for w in work})
        for event in batch.events:
            metrics.webhook_events.labels(event.subscription_type).inc()
        metrics.webhooks.labels("accepted").inc()
        if batch.unknown_types:
            log.warning("service.webhook_unknown_types", types=list(batch.unknown_types))
        log.info(
            "service.webhook",
            events=len(batch.events),
            duplicates=batch.duplicates,
            queued=len(work),
        )
        return JSONResponse({"accepted": len(batch.events), "queued": len(work)})

    return [Route(PATH, hubspot, methods=["POST"])]


def _called(request: Request, trusted: set[str]) -> str:
    """The full URI HubSpot called, as the request line and (from a trusted proxy) the
    forwarded headers say."""
    scope = request.scope
    peer = scope["client"][0] if scope.get("client") else ""
    scheme = scope.get("scheme", "http")
    host = request.headers.get("host", "")
    if peer in trusted:
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
    raw_path = scope.get("raw_path") or scope.get("path", "/").encode()
    query = scope.get("query_string", b"")
    return called_uri(scheme, host, raw_path.decode("latin-1"), query.decode("latin-1"))


def _work(service: Service, events: tuple[WebhookEvent, ...]) -> list[Work]:
    """What the events ask, as work: contacts to sync (and to convert, when their stage
    moved to sales-qualified), merges and deletions kept for their own handling."""
    connector = service.connector
    changes = contact_ids(events, connector.contacts.properties())
    first: dict[str, WebhookEvent] = {}
    for event in events:
        if event.object_id is not None:
            first.setdefault(event.object_id, event)
    work: list[Work] = []
    for contact_id in changes.sync:
        event = first[contact_id]
        why = f"HubSpot webhook {event.subscription_type} (event {event.event_id})"
        item = hand_over(connector.contacts.name, contact_id, why)
        work.append(_with_time(item, event))
    conversions = connector.conversions
    if conversions is not None:
        stage, sql = conversions.mapping.lifecycle_property, set(conversions.mapping.sql_stages)
        for event in events:
            if (
                event.object_id is not None
                and event.action in ("creation", "propertyChange")
                and (event.property_name == stage and event.property_value in sql)
            ):
                why = f"lifecycle stage {event.property_value} (webhook event {event.event_id})"
                item = hand_over(conversions.name, event.object_id, why)
                work.append(_with_time(item, event))
    # A privacy deletion erases the person (`connector.service.privacy`); the plain deletion
    # HubSpot sends with it, or of a contact erased before, asks nothing more.
    privacy, deletions = split_deletions(changes.deletions)
    work += privacy_work(privacy)
    deletions = plain_deletions(connector, deletions)
    for stream, kept in ((MERGES, changes.merges), (DELETIONS, deletions)):
        for event in kept:
            record = event.primary_object_id or event.object_id or str(event.event_id)
            if stream == MERGES and event.merged_object_ids:
                record = f"{record}<{'.'.join(sorted(event.merged_object_ids))}"
            elif event.action == "deletion":
                # Its own key: HubSpot sends a privacy deletion with it, which must not replace
                # it (nor it the privacy deletion) when both come in one batch.
                record = f"{record}:deletion"
            why = f"HubSpot webhook {event.subscription_type} (event {event.event_id})"
            work.append(Work(stream, record, "recheck", why, _event_payload(event)))
    return work


def _with_time(item: Work, event: WebhookEvent) -> Work:
    """The work, carrying when HubSpot says the change happened (for the latency metric)."""
    payload: dict[str, Any] = {"event_id": event.event_id}
    if event.occurred_at is not None:
        payload["occurred_at"] = event.occurred_at
    return Work(item.stream, item.record_id, item.kind, item.reason, payload)


def _event_payload(event: WebhookEvent) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(event).items()
        if value is not None and value != () and name != "attempt_number"
    } | {"merged_object_ids": list(event.merged_object_ids)}
