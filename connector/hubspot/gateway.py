"""The HubSpot side: contacts searched, read and updated, and taken out of lists, through
hubspot-api-client.

The only module that talks to HubSpot. Every call goes through the pacer (stay under the rate
limits), the retry policy (429, 5xx, dropped connections) and `classify` (what an error means);
whatever the client library raises leaves as a `connector.errors` type, never with the token in
it. Answers are read as HubSpot's own JSON (`_preload_content=False`), so `classify` and the
per-record results see exactly what HubSpot sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import hubspot
import structlog
import urllib3
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.lists import ApiException as ListsApiException

from connector.errors import ConfigError, FatalApiError, RetriableApiError, Unreachable
from connector.hubspot.classify import Resolution, classify
from connector.hubspot.pacing import HubSpotBudget, Pacer
from connector.hubspot.search import (
    MODIFIED,
    OBJECT_ID,
    check_filters,
    contact_from_api,
    fits,
    incremental_pages,
    marked_pages,
    total,
)
from connector.model import (
    FieldError,
    HubSpotContact,
    ListRemoval,
    ReadMark,
    SearchFilter,
    WriteResult,
)
from connector.retry import retry_policy
from connector.settings import Settings
from connector.unreachable import connection_error, gave_up, why_unreachable

log = structlog.get_logger(__name__)

#: What the client library raises for an HTTP error answer (each API package has its own
#: `ApiException`; the gateway calls the contacts and the lists packages).
_API_EXCEPTIONS: tuple[type[Exception], ...] = (ContactsApiException, ListsApiException)
#: Record ids per `PUT /crm/v3/lists/{listId}/memberships/remove` call. HubSpot's v3 reference
#: states no maximum (unconfirmed; the legacy v1 lists API took 500 a request): 100, as for the
#: CRM batch endpoints.
LIST_MEMBERSHIP_CHUNK = 100
#: The object type id of contact lists (`objectTypeId` in the Lists API).
CONTACT_LISTS = "0-1"
#: List ids per `GET /crm/v3/lists/?listIds=...` (Fetch Multiple Lists): the ids ride in the
#: URL, whose length HubSpot limits; the reference states no maximum count (unconfirmed).
LIST_FETCH_CHUNK = 100
_BASE_URL_SETTING = "LEADBRIDGE_HUBSPOT_BASE_URL"
_CA_SETTING = "LEADBRIDGE_HUBSPOT_CA_BUNDLE"


class _Refused(FatalApiError):
    """HubSpot refused the call as made; keeps `classify`'s reason (HubSpot's message in it)
    for callers that report a refusal per item instead of stopping."""

    def __init__(self, operation: str, status: int, resolution: Resolution) -> None:
        super().__init__(
            f"HubSpot {operation}: {resolution.reason}", status=status, code=resolution.code
        )
        self.reason = resolution.reason


class HubSpotGateway:
    """Contacts in and out of HubSpot, as `connector.model` types."""

    def __init__(
        self,
        client: hubspot.Client,
        settings: Settings,
        *,
        pacer: Pacer,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        # The discovery properties build a new API client (and connection pool) on each
        # access: take each API once.
        contacts = client.crm.contacts
        self._search_api = contacts.search_api
        self._batch_api = contacts.batch_api
        self._basic_api = contacts.basic_api
        lists = client.crm.lists
        self._lists_api = lists.lists_api
        self._memberships_api = lists.memberships_api
        self._settings = settings
        self._pacer = pacer
        self._sleep = sleep
        self._base_url = str(settings.hubspot_base_url).rstrip("/")
        # Until HubSpot has answered once, a refused connection or an unknown host is the base
        # URL's doing; afterwards it is a blip, retried.
        self._answered = False

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> HubSpotGateway:
        """A gateway for the portal `settings` name; no call is made until one is needed."""
        if settings.hubspot_access_token is None:
            msg = "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN is not set (a private app's access token)"
            raise ConfigError(msg)
        options: dict[str, Any] = {
            "access_token": settings.hubspot_access_token.get_secret_value(),
            "host": str(settings.hubspot_base_url).rstrip("/"),
            # urllib3 would retry connection errors itself and wrap them in MaxRetryError;
            # our retry policy does that, so urllib3 must hand each failure straight back.
            "retry": False,
        }
        if settings.hubspot_ca_bundle is not None:
            options["ssl_ca_cert"] = str(settings.hubspot_ca_bundle)
        client = hubspot.Client.create(**options)
        pacer = Pacer(
            requests_per_10s=settings.hubspot_requests_per_10s,
            searches_per_second=settings.hubspot_searches_per_second,
            clock=clock,
            sleep=sleep,
        )
        return cls(client, settings, pacer=pacer, sleep=sleep)

    def calls_sent(self) -> int:
        """HubSpot calls this process sent, for metrics."""
        return self._pacer.sent

    def budget(self) -> HubSpotBudget:
        """HubSpot's rate limits as this gateway's pacer sees them (read-only, for metrics)."""
        return self._pacer.budget()

    # -- reads ----------------------------------------------------------------------------
    def changed_contacts(
        self,
        since: datetime | None,
        properties: Sequence[str],
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
        until: datetime | None = None,
        earlier: tuple[datetime | None, datetime | None] | None = None,
    ) -> Iterator[list[HubSpotContact]]:
        """Contacts modified from `since` (all when None) to `until` (no end when None) that
        match one of the `any_of` filter groups, one list per search page, oldest first; each
        contact once per call, even while contacts change as we page. `earlier`: a window of
        change times before `since` read too (a stream's late window), in the same searches
        when HubSpot's filter limits allow.

        Each group gets at most `search.MAX_CALLER_FILTERS` filters (ValueError otherwise).
        """

        def fetch(body: dict[str, Any]) -> Mapping[str, Any]:
            answer = self._call("search", self._search_api.do_search_with_http_info, body)
            log.debug(
                "hubspot.search.page",
                after=body.get("after"),
                count=len(answer.get("results") or []),
            )
            return answer

        check_filters(any_of)
        size = self._settings.hubspot_search_page_size
        return incremental_pages(fetch, since, properties, any_of, size, until, earlier=earlier)

    def contacts_in_window(
        self,
        since: datetime | None,
        until: datetime | None,
        properties: Sequence[str],
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
        start: ReadMark | None = None,
    ) -> Iterator[tuple[list[HubSpotContact], ReadMark]]:
        """Contacts modified from `since` to `until` matching one of `any_of`, oldest first,
        each page with the mark a later call goes on from (`start`): a backfill's read, however
        many contacts the window holds (`search.marked_pages`)."""
        check_filters(any_of)
        size = self._settings.hubspot_search_page_size
        return marked_pages(self._search, since, until, properties, any_of, size, start=start)

    def count_contacts(
        self,
        since: datetime | None,
        until: datetime | None,
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
    ) -> int:
        """How many contacts `contacts_in_window` would read: one search call."""
        check_filters(any_of)
        return total(self._search, since, until, any_of)

    def _search(self, body: dict[str, Any]) -> Mapping[str, Any]:
        return self._call("search", self._search_api.do_search_with_http_info, body)

    def searchable_together(
        self, any_of: Sequence[Sequence[SearchFilter]], *, windows: int
    ) -> bool:
        """Whether `windows` windows of change times with these filter groups fit one search
        (HubSpot's limits on filter groups and filters)."""
        return fits(any_of, windows=windows)

    def read_contacts(self, ids: Sequence[str], properties: Sequence[str]) -> list[HubSpotContact]:
        """The contacts with these ids, in the order asked; ids HubSpot does not know are absent."""
        names = list(dict.fromkeys([*properties, MODIFIED, OBJECT_ID]))
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, HubSpotContact] = {}
        for chunk in _chunks(wanted, self._settings.hubspot_batch_size):
            body = {"inputs": [{"id": i} for i in chunk], "properties": names}
            answer = self._call("batch_read", self._batch_api.read_with_http_info, body)
            for raw in answer.get("results") or []:
                contact = contact_from_api(raw)
                found[contact.id] = contact
        return [found[i] for i in wanted if i in found]

    def find_contact(
        self,
        properties: Sequence[str],
        *,
        contact_id: str | None = None,
        email: str | None = None,
    ) -> HubSpotContact | None:
        """The contact with this id, or else this email (HubSpot compares emails without
        case), with `properties`; None when HubSpot has none. One batch read (`idProperty:
        email` for an email): the email travels in the body, never in a URL that proxies and
        access logs keep."""
        if not (contact_id or email):
            msg = "find_contact takes a contact id or an email"
            raise ValueError(msg)
        names = list(dict.fromkeys([*properties, MODIFIED, OBJECT_ID]))
        body: dict[str, Any] = {"inputs": [{"id": str(contact_id or email)}], "properties": names}
        if not contact_id:
            body["idProperty"] = "email"
        answer = self._call("batch_read", self._batch_api.read_with_http_info, body)
        found = [contact_from_api(raw) for raw in answer.get("results") or []]
        return found[0] if found else None

    def gdpr_delete(self, *, contact_id: str | None = None, email: str | None = None) -> bool:
        """HubSpot's GDPR delete (`POST /crm/v3/objects/contacts/gdpr-delete`, the client's
        `basic_api.purge`): the contact with this id, or this email, is purged for good and
        its email blocked from coming back; by email, an email no contact has is blocked all
        the same. False when HubSpot knows no contact with the id (404); any other refusal
        raises. The log line names no one."""
        if not (contact_id or email):
            msg = "gdpr_delete takes a contact id or an email"
            raise ValueError(msg)
        body: dict[str, Any] = {"objectId": str(contact_id or email)}
        if not contact_id:
            body["idProperty"] = "email"
        try:
            self._call("gdpr_delete", self._basic_api.purge_with_http_info, body)
        except _Refused as refused:
            if refused.status != 404 or not contact_id:
                raise
            log.info("hubspot.contacts.gdpr_deleted", count=0, by="id")
            return False
        log.info("hubspot.contacts.gdpr_deleted", count=1, by="id" if contact_id else "email")
        return True

    # -- writes ---------------------------------------------------------------------------
    def update_contacts(self, updates: Mapping[str, Mapping[str, str | None]]) -> list[WriteResult]:
        """Write properties (None clears one) to existing contacts; one result per contact, in
        input order. Records HubSpot refuses come back failed with its category and message."""
        ids = [str(i) for i in updates]
        results: dict[str, WriteResult] = {}
        for chunk in _chunks(ids, self._settings.hubspot_batch_size):
            # objectWriteTraceId asks HubSpot to report refused inputs one by one (multi-status).
            inputs = [
                {
                    "id": i,
                    "objectWriteTraceId": i,
                    "properties": {k: "" if v is None else v for k, v in updates[i].items()},
                }
                for i in chunk
            ]
            answer = self._call(
                "batch_update", self._batch_api.update_with_http_info, {"inputs": inputs}
            )
            results.update(_write_results(chunk, answer))
        failed = sum(1 for r in results.values() if not r.success)
        log.info("hubspot.contacts.updated", count=len(ids), failed=failed)
        return [results[i] for i in ids]

    # -- lists ----------------------------------------------------------------------------
    def remove_from_lists(self, memberships: Mapping[str, Sequence[str]]) -> list[ListRemoval]:
        """Take contacts out of HubSpot lists (list id -> contact ids); one result per list, in
        input order.

        `PUT /crm/v3/lists/{listId}/memberships/remove` with a JSON array of ids, one call per
        `LIST_MEMBERSHIP_CHUNK` ids, paced and retried like every call. Ids that are not members
        (or no contacts) come back in `not_members`: HubSpot ignores them. A list HubSpot
        refuses as a whole (4xx: DYNAMIC, unknown, no permission) comes back `refused` with
        HubSpot's reason, its remaining chunks unsent; a refusal that concerns every list (the
        token, a missing scope, the daily limit) still raises.
        """
        results: list[ListRemoval] = []
        for list_id, contact_ids in memberships.items():
            results.append(self._remove_from_list(str(list_id), contact_ids))
        log.info(
            "hubspot.lists.removed",
            lists=len(results),
            removed=sum(len(r.removed) for r in results),
            refused=sum(1 for r in results if not r.success),
        )
        return results

    def _remove_from_list(self, list_id: str, contact_ids: Sequence[str]) -> ListRemoval:
        wanted = list(dict.fromkeys(str(i) for i in contact_ids))
        removed: set[str] = set()

        def remove(body: list[str], **options: Any) -> Any:
            return self._memberships_api.remove_with_http_info(list_id, body, **options)

        for chunk in _chunks(wanted, LIST_MEMBERSHIP_CHUNK):
            try:
                answer = self._call("remove_from_list", remove, list(chunk))
            except _Refused as refused:
                if not _refuses_the_list(refused.status):
                    raise
                log.warning(
                    "hubspot.lists.refused",
                    list_id=list_id,
                    status=refused.status,
                    code=refused.code,
                )
                done = tuple(i for i in wanted if i in removed)  # by earlier chunks
                return ListRemoval(list_id, done, refused=refused.reason, code=refused.code)
            # Only `recordIdsRemoved` is trusted: whether HubSpot lists a non-member in
            # `recordIdsMissing` or in no array at all is unconfirmed.
            removed.update(str(i) for i in answer.get("recordIdsRemoved") or [])
        return ListRemoval(
            list_id,
            removed=tuple(i for i in wanted if i in removed),
            not_members=tuple(i for i in wanted if i not in removed),
        )

    def list_ids_by_name(self, names: Sequence[str]) -> dict[str, str]:
        """The ids of the contact lists with these names (HubSpot compares names without
        regard to case); a name no list has is absent from the answer.

        One `GET /crm/v3/lists/object-type-id/0-1/name/{listName}` per distinct name: a
        stream resolves its names once per pass. A name HubSpot answers 404 for is unknown;
        any other refusal raises.
        """
        found: dict[str, str] = {}
        for name in dict.fromkeys(names):

            def get(_body: Any, name: str = name, **options: Any) -> Any:
                return self._lists_api.get_by_name_with_http_info(name, CONTACT_LISTS, **options)

            try:
                answer = self._call("list_by_name", get, None)
            except _Refused as refused:
                if refused.status != 404:
                    raise
                continue
            list_id = (answer.get("list") or {}).get("listId")
            if list_id is not None:
                found[name] = str(list_id)
        return found

    def lists(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The definitions of the lists with these ILS ids, as HubSpot's JSON (`listId`,
        `name`, `objectTypeId`, `processingType`: MANUAL, DYNAMIC or SNAPSHOT, ...), for
        `mappings validate`; an id no list has is absent from the answer.

        `GET /crm/v3/lists/?listIds=..&listIds=..` (Fetch Multiple Lists), one call per
        `LIST_FETCH_CHUNK` distinct ids and none for no ids. The reference says the answer
        holds "all lists that exist for the listIds provided"; that an unknown id is only left
        out, not refused, is unconfirmed: should HubSpot answer 404, the chunk's lists are
        fetched one by one (`GET /crm/v3/lists/{listId}`, 404: no such list).
        """
        found: list[dict[str, Any]] = []
        wanted = list(dict.fromkeys(str(i) for i in ids))
        for chunk in _chunks(wanted, LIST_FETCH_CHUNK):

            def get_all(_body: Any, chunk: Sequence[str] = chunk, **options: Any) -> Any:
                return self._lists_api.get_all_with_http_info(list_ids=list(chunk), **options)

            try:
                answer = self._call("lists", get_all, None)
            except _Refused as refused:
                if refused.status != 404:
                    raise
                found += self._lists_one_by_one(chunk)
                continue
            found += [lst for lst in answer.get("lists") or [] if isinstance(lst, dict)]
        return found

    def _lists_one_by_one(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for list_id in ids:

            def get(_body: Any, list_id: str = list_id, **options: Any) -> Any:
                return self._lists_api.get_by_id_with_http_info(list_id, **options)

            try:
                answer = self._call("list", get, None)
            except _Refused as refused:
                if refused.status != 404:
                    raise
                continue
            if isinstance(answer.get("list"), dict):
                found.append(answer["list"])
        return found

    # -- one call -------------------------------------------------------------------------
    def _call(self, operation: str, method: Callable[..., Any], body: Any) -> dict[str, Any]:
        """Send one request, paced and retried; HubSpot's JSON answer (a 207's included)."""
        policy = retry_policy(
            "hubspot", attempts=self._settings.hubspot_max_attempts, sleep=self._sleep
        )
        try:
            return policy(self._send, operation, method, body)
        except Unreachable as exc:
            raise gave_up(exc, self._settings.hubspot_max_attempts) from None

    def _send(self, operation: str, method: Callable[..., Any], body: Any) -> dict[str, Any]:
        timeout = self._settings.hubspot_timeout_seconds
        search = operation == "search"
        try:
            with self._pacer.call(search=search):
                response = method(body, _request_timeout=timeout, _preload_content=False)
                status, data, headers = response.status, response.data, response.headers
                response.release_conn()
        except _API_EXCEPTIONS as exc:
            status = int(getattr(exc, "status", 0) or 0)
            if status == 0:
                raise self._unsent(operation, exc) from None
            self._answered = True
            headers = getattr(exc, "headers", None) or {}
            self._pacer.observe(headers)
            resolution = classify(status, getattr(exc, "body", None), headers)
            raise _error(operation, status, resolution) from None
        except AttributeError as exc:
            # hubspot-api-client 12 turns its own status-0 ApiException (a TLS failure) into
            # AttributeError: its handler calls `e.body.decode()` on a body that is None.
            failed = exc.__context__
            if not isinstance(failed, _API_EXCEPTIONS) or getattr(failed, "status", None) != 0:
                raise
            raise self._unsent(operation, failed) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._no_answer(operation, exc) from None
        self._answered = True
        self._pacer.observe(headers)
        try:
            return json.loads(data) if data else {}
        except ValueError:
            msg = f"HubSpot answered {operation} with {status} and a body that is not JSON"
            raise RetriableApiError(msg, status=status, code="BAD_JSON") from None

    def _unsent(self, operation: str, exc: Exception) -> Exception:
        """The library's status-0 `ApiException`: a failed connection (TLS, which it catches
        itself), or a request it could not build."""
        if why_unreachable(exc) is not None:
            return self._no_answer(operation, exc)
        reason = " ".join(str(getattr(exc, "reason", "") or "").split())
        msg = f"HubSpot {operation}: the client library could not send the request ({reason})"
        return FatalApiError(msg, status=0, code="REQUEST_NOT_SENT")

    def _no_answer(self, operation: str, exc: BaseException) -> Exception:
        """Said as the Salesforce side says it: the host, the cause, the setting to check."""
        return connection_error(
            exc,
            remote="HubSpot",
            what=operation,
            url=self._base_url,
            url_setting=_BASE_URL_SETTING,
            ca_setting=_CA_SETTING,
            first_contact=not self._answered,
            code=classify(0, None, None).code,
        )

    # -- metadata -------------------------------------------------------------------------
    def properties(self, object_type: str = "contacts") -> list[dict[str, Any]]:
        """`GET /crm/v3/properties/{object_type}`: every property definition (name, type,
        fieldType, options, modificationMetadata, ...) as HubSpot's JSON, for `mappings
        validate`.

        Sent through the contacts API's client (same host, token and TLS settings), so it
        takes the pacer, the retry policy and `classify` like every other call.
        """
        if not object_type.replace("_", "").isalnum():
            msg = f"not a HubSpot object type: {object_type!r}"
            raise ValueError(msg)
        api_client = self._search_api.api_client

        def get_all(_body: dict[str, Any], **options: Any) -> Any:
            return api_client.call_api(
                f"/crm/v3/properties/{object_type}",
                "GET",
                header_params={"Accept": "application/json"},
                auth_settings=["oauth2"],
                **options,
            )

        answer = self._call("properties", get_all, {})
        return [p for p in answer.get("results") or [] if isinstance(p, dict)]


def _error(operation: str, status: int, resolution: Resolution) -> Exception:
    """The exception that carries out a resolution of a failed call."""
    if resolution.action == "retry":
        return RetriableApiError(
            f"HubSpot {operation}: {resolution.reason}",
            status=status,
            code=resolution.code,
            retry_after=resolution.retry_after,
        )
    if resolution.setting is not None:
        return ConfigError(resolution.reason)
    return _Refused(operation, status, resolution)


def _refuses_the_list(status: int) -> bool:
    """A 4xx about one list (DYNAMIC, unknown, no permission), not the spent daily budget."""
    return 400 <= status < 500 and status != 429


def _write_results(ids: Sequence[str], answer: Mapping[str, Any]) -> dict[str, WriteResult]:
    """Per-contact outcomes of one batch write: HubSpot's results and its 207 `errors`."""
    written = {str(r.get("id")) for r in answer.get("results") or []}
    refused: dict[str, list[FieldError]] = {}
    for record in classify(207, answer).rejected:
        refused.setdefault(record.id, []).append(
            FieldError(code=record.code, message=record.message, fields=record.fields)
        )
    results: dict[str, WriteResult] = {}
    for hubspot_id in ids:
        if hubspot_id in refused:
            results[hubspot_id] = WriteResult(
                hubspot_id, success=False, errors=tuple(refused[hubspot_id])
            )
        elif hubspot_id in written:
            results[hubspot_id] = WriteResult(hubspot_id, success=True)
        else:
            missing = FieldError("NO_RESULT", "HubSpot reported neither a result nor an error")
            results[hubspot_id] = WriteResult(hubspot_id, success=False, errors=(missing,))
    return results


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
