"""`SalesforceGateway`: the CRM side of a pass (email look-ups, Lead upserts and updates, SOQL).

It speaks through simple-salesforce over our `SalesforceSession`, batches as the API allows
(Composite for the look-ups, sObject Collections for writes), checks every per-record result,
and turns every failure into a `connector.errors` error through `classify`: transient ones are
retried by the shared tenacity policy, an expired session logs in again once, a record-level
problem comes back as a failed `WriteResult` for the caller to dead-letter.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
import structlog
import tenacity
from lxml import etree
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connector.errors import (
    ApiError,
    FatalApiError,
    ReauthRequired,
    RetriableApiError,
    Unreachable,
)
from connector.model import (
    ConvertResult,
    FieldError,
    LeadConvert,
    LeadUpdate,
    LeadUpsert,
    RecordMerge,
    RecordUpdate,
    SalesforceMatch,
    SalesforceObject,
    WriteResult,
)
from connector.retry import retry_policy
from connector.salesforce import auth, queries
from connector.salesforce.budget import Budget, BudgetGuard
from connector.salesforce.bulk import POLL_SECONDS, BulkIngest, BulkLeads
from connector.salesforce.classify import (
    TRANSIENT_CODES,
    Resolution,
    classify,
    classify_record,
)
from connector.salesforce.reads import SalesforceReads
from connector.salesforce.session import SalesforceSession, build_session
from connector.salesforce.soql import MAX_IN_LIST_CHARS, in_chunks, moment, soql
from connector.settings import Settings, env_name
from connector.unreachable import connection_error, gave_up
from connector.urls import origin

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Emails per look-up query.
EMAILS_PER_LOOKUP = 200
#: The longest quoted IN list of emails in a look-up for many pages (`find_by_many_emails`):
#: a SOQL statement may be 100,000 characters long ("SOQL and SOSL Limits"), and a query in a
#: Composite subrequest travels in the request body, which Salesforce advises for a query too
#: long for a URI's 16,384 bytes (Knowledge article 000386264); the rest of the statement fits
#: in what is left.
BULK_LOOKUP_CHARS = 90_000
#: The objects an email look-up reads, each with its subrequests' reference.
_MATCH_REFS: dict[SalesforceObject, str] = {"Lead": "leads", "Contact": "contacts"}


class _Rejected(FatalApiError):
    """A whole request refused for its data: each record in it is rejected, the pass goes on.

    Outside the collection writes it is what it derives from: a FatalApiError.
    """

    def __init__(self, message: str, *, status: int, code: str | None, reason: str) -> None:
        super().__init__(message, status=status, code=code)
        self.reason = reason


class _Locked(RetriableApiError):
    """Some records of a collections call hit UNABLE_TO_LOCK_ROW: send just them again."""


def _error(what: str, resolution: Resolution, status: int) -> ApiError:
    """The error to raise for a classified failure of the call `what`."""
    message = f"Salesforce {what} failed (HTTP {status}): {resolution.reason}"
    if resolution.action == "retry":
        return RetriableApiError(
            message, status=status, code=resolution.code, retry_after=resolution.retry_after
        )
    if resolution.action == "reauth":
        return ReauthRequired(message, status=status, code=resolution.code)
    if resolution.action == "reject_record":
        return _Rejected(message, status=status, code=resolution.code, reason=resolution.reason)
    return FatalApiError(message, status=status, code=resolution.code)


def _strip_attributes(value: Any) -> Any:
    """A query record without the `attributes` entries (type and URL) at every level."""
    if isinstance(value, dict):
        return {k: _strip_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_strip_attributes(v) for v in value]
    return value


def _field_errors(errors: Any) -> tuple[FieldError, ...]:
    return tuple(
        FieldError(
            code=str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
            message=str(e.get("message") or ""),
            fields=tuple(str(f) for f in e.get("fields") or ()),
        )
        for e in errors or ()
        if isinstance(e, Mapping)
    )


def _write_result(hubspot_id: str, result: Mapping[str, Any]) -> WriteResult:
    """One SaveResult/UpsertResult as a WriteResult."""
    success = result.get("success") is True
    return WriteResult(
        hubspot_id=hubspot_id,
        success=success,
        salesforce_id=result.get("id") or None,
        created=bool(result.get("created")) and success,
        errors=() if success else _field_errors(result.get("errors")),
    )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SalesforceGateway(SalesforceReads):
    """Salesforce as the engine sees it. Build it with `connect`; the constructor does no I/O.

    Its typed reads (`SalesforceReads`) run over `query` and `query_many` below.
    """

    def __init__(
        self,
        client: Salesforce,
        settings: Settings,
        *,
        sleep: Callable[[float], Any] = time.sleep,
        user_id: str | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._user_id = user_id

    @classmethod
    def connect(
        cls, settings: Settings, *, sleep: Callable[[float], Any] = time.sleep
    ) -> SalesforceGateway:
        """Log in as `settings` say and return a gateway over the new session."""
        session = build_session(settings)
        retrying = retry_policy(
            "salesforce", attempts=settings.salesforce_max_attempts, sleep=sleep
        )
        try:
            login = retrying(auth.login, settings, session)
        except Unreachable as exc:
            raise gave_up(exc, settings.salesforce_max_attempts) from None
        client = Salesforce(
            session_id=login.access_token.get_secret_value(),
            instance_url=login.instance_url,
            version=settings.salesforce_api_version,
            session=session,
        )
        return cls(client, settings, sleep=sleep, user_id=login.user_id)

    # -- public interface ----------------------------------------------------------------------
    @property
    def api_usage(self) -> tuple[int, int] | None:
        """`(used, max)` of the org's daily API requests, as of the latest response."""
        session = self._client.session
        if isinstance(session, SalesforceSession) and session.api_usage is not None:
            return session.api_usage
        usage = self._client.api_usage.get("api-usage")
        return (usage.used, usage.total) if usage is not None else None

    # -- the daily API budget --------------------------------------------------------------
    @property
    def _guard(self) -> BudgetGuard | None:
        session = self._client.session
        return session.guard if isinstance(session, SalesforceSession) else None

    def budget(self) -> Budget | None:
        """Where the org's daily API budget stands (used, max, the reserve kept for people,
        what leadbridge may still spend); None until Salesforce has answered once. Read-only:
        for metrics and for pacing (`connector.salesforce.budget.poll_delay`)."""
        guard = self._guard
        return guard.budget() if guard is not None else None

    def calls_sent(self) -> int:
        """Salesforce calls this process sent (logins aside), for metrics."""
        guard = self._guard
        return guard.sent if guard is not None else 0

    def ensure_budget(
        self, what: str, *, reads: int = 0, writes: Sequence[int] = (), converts: int = 0
    ) -> None:
        """Raise `BudgetReserved` unless the calls of work that must not stop half-way fit
        above the reserve: `reads` calls, one Collections call per `salesforce_batch_size`
        records of each write in `writes` (a count of records each), one convertLead call per
        `CONVERTS_PER_CALL` of `converts`. Sends nothing; every call is still admitted on its
        own as it leaves."""
        guard = self._guard
        if guard is None:
            return
        size = self._settings.salesforce_batch_size
        calls = (
            reads
            + sum(math.ceil(n / size) for n in writes)
            + math.ceil(converts / self.CONVERTS_PER_CALL)
        )
        if calls:
            guard.ensure(calls, what)

    def find_by_emails(self, emails: Sequence[str]) -> list[SalesforceMatch]:
        """Unconverted Leads and Contacts whose Email is one of `emails` (case-insensitive).

        Each chunk of up to 200 emails costs one API call: its Lead and Contact queries travel
        together in one Composite request.
        """
        return self._find_by_emails(emails, MAX_IN_LIST_CHARS, EMAILS_PER_LOOKUP, per_call=2)

    def find_by_many_emails(self, emails: Sequence[str]) -> list[SalesforceMatch]:
        """`find_by_emails` for the thousands of emails of a backfill's Bulk API 2.0 job: each
        query's IN list as long as SOQL allows (`BULK_LOOKUP_CHARS`), five queries to a
        Composite call (Salesforce's most), so 10,000 emails cost two calls, not fifty."""
        return self._find_by_emails(
            emails, BULK_LOOKUP_CHARS, None, per_call=self.QUERIES_PER_COMPOSITE
        )

    def _find_by_emails(
        self, emails: Sequence[str], max_chars: int, max_items: int | None, *, per_call: int
    ) -> list[SalesforceMatch]:
        """The Lead and Contact look-ups of `emails`, IN lists within `max_chars` and
        `max_items`, `per_call` queries to a Composite call."""
        unique: dict[str, str] = {}  # by lower case, first spelling kept
        for email in emails:
            if email and email.strip():
                unique.setdefault(email.strip().lower(), email.strip())
        ext = self._settings.salesforce_external_id_field
        asked: list[tuple[SalesforceObject, str]] = []
        for chunk in in_chunks(list(unique.values()), max_chars, max_items):
            asked += [
                ("Lead", queries.leads_by_email(ext, chunk)),
                ("Contact", queries.contacts_by_email(ext, chunk)),
            ]
        matches: list[SalesforceMatch] = []
        for part in _chunks(asked, per_call):
            seen: Counter[str] = Counter()
            refs: dict[str, tuple[SalesforceObject, str]] = {}
            for obj, text in part:
                name = _MATCH_REFS[obj]
                seen[name] += 1
                refs[name if seen[name] == 1 else f"{name}_{seen[name]}"] = (obj, text)
            results = self._composite_queries({ref: text for ref, (_, text) in refs.items()})
            for ref, (obj, _) in refs.items():
                matches.extend(
                    SalesforceMatch(
                        object=obj,
                        id=record["Id"],
                        email=record.get("Email") or "",
                        hubspot_id=record.get(ext) or None,
                        account_id=record.get("AccountId") or None,
                        owner_id=record.get("OwnerId") or None,
                    )
                    for record in results[ref]
                )
        log.info("salesforce.lookup", emails=len(unique), matches=len(matches))
        return matches

    def upsert_leads(
        self, upserts: Sequence[LeadUpsert], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        """Upsert Leads by the external id (the HubSpot contact id), in request order.

        Without `auto_assign`, Salesforce's assignment rules stay out (`Sforce-Auto-Assign:
        FALSE`): leadbridge sets the owner itself. A FatalApiError part-way leaves earlier
        chunks written; replaying them is harmless (upsert by external id).
        """
        ext = self._settings.salesforce_external_id_field
        soql("{:literal}", ext)  # an external id field must be a field name
        records = [
            (
                u.hubspot_id,
                {
                    "attributes": {"type": "Lead"},
                    ext: u.hubspot_id,
                    **{k: v for k, v in u.fields.items() if k not in ("attributes", ext)},
                },
            )
            for u in upserts
        ]
        return self._write(
            "upsert", f"composite/sobjects/Lead/{ext}", records, auto_assign=auto_assign
        )

    def update_leads(
        self, updates: Sequence[LeadUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        """Update existing Leads by their Salesforce id (linking a Lead found by email)."""
        return self.update_records(
            "Lead",
            [RecordUpdate(u.hubspot_id, u.lead_id, u.fields) for u in updates],
            auto_assign=auto_assign,
        )

    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]:
        """Update existing records of `sobject` by Id (Collections, 200 a call), in request
        order; each result carries the update's `key` as its `hubspot_id`."""
        soql("{:literal}", sobject)  # an object name, never anything else
        records = [
            (
                u.key,
                {
                    "attributes": {"type": sobject},
                    "Id": u.record_id,
                    **{k: v for k, v in u.fields.items() if k not in ("attributes", "Id")},
                },
            )
            for u in updates
        ]
        return self._write(
            "update", "composite/sobjects", records, auto_assign=auto_assign, sobject=sobject
        )

    def query(self, text: str) -> list[dict[str, Any]]:
        """Every record `text` selects (all pages), without `attributes`. `text` comes from
        `connector.salesforce.queries`."""
        result = self._run("query", lambda: self._client.query_all(text))
        return [_strip_attributes(r) for r in result["records"]]

    def _query_more(self, next_url: str) -> dict[str, Any]:
        """The page after a query's `nextRecordsUrl`, over the current session (read anew on
        each attempt, so a new login's client serves the retry)."""
        page: dict[str, Any] = self._client.query_more(next_url, identifier_is_url=True)
        return page

    # -- calls -----------------------------------------------------------------------------
    def _retrying(self) -> tenacity.Retrying:
        return retry_policy(
            "salesforce", attempts=self._settings.salesforce_max_attempts, sleep=self._sleep
        )

    def _run(self, what: str, call: Callable[[], T]) -> T:
        """`call` under the retry policy, logging in again once if the session expired."""
        return self._retrying()(self._reauthing(what, call))

    def _reauthing(self, what: str, call: Callable[[], T]) -> Callable[[], T]:
        relogged = False

        def attempt() -> T:
            nonlocal relogged
            while True:
                try:
                    return self._once(what, call)
                except ReauthRequired as exc:
                    if relogged:
                        msg = (
                            f"{exc} even after logging in again; check the integration "
                            "user's access and the connected app's session policies"
                        )
                        raise FatalApiError(msg, status=exc.status, code=exc.code) from None
                    self._relogin()
                    relogged = True

        return attempt

    def _once(self, what: str, call: Callable[[], T]) -> T:
        """`call` once, with every simple-salesforce or requests failure classified."""
        try:
            return call()
        except SalesforceError as exc:
            headers = getattr(self._client.session, "last_headers", {})
            raise _error(what, classify(exc.status, exc.content, headers), exc.status) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._no_answer(what, exc) from None
        except ValueError:  # a 2xx whose body is not JSON
            msg = f"Salesforce {what} failed: the answer was not JSON"
            raise FatalApiError(msg) from None

    def _no_answer(self, what: str, exc: requests.RequestException) -> Exception:
        """An untrusted certificate names the CA bundle; anything else is `Unreachable` and
        retried (the instance answered at login, so even a refusal is a blip)."""
        return connection_error(
            exc,
            remote="Salesforce",
            what=what,
            url=origin(self._client.base_url),
            url_setting=env_name("salesforce_instance_url"),
            ca_setting=env_name("salesforce_ca_bundle"),
            first_contact=False,
        )

    def _relogin(self) -> None:
        """A new session for the client (same HTTP session, API version and instance)."""
        login = auth.login(self._settings, self._client.session)
        self._client = Salesforce(
            session_id=login.access_token.get_secret_value(),
            instance_url=login.instance_url,
            version=self._client.sf_version,
            session=self._client.session,
        )
        log.info("salesforce.reauth")

    # -- look-ups ----------------------------------------------------------------------------
    def _composite_queries(
        self, queries: Mapping[str, str], *, endpoint: str = "query"
    ) -> dict[str, list[dict[str, Any]]]:
        """Run several queries as GET subrequests of one Composite call; records by reference.
        `endpoint` `queryAll` includes the records in the Recycle Bin."""
        version = self._client.sf_version
        body = {
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": f"/services/data/v{version}/{endpoint}?{urlencode({'q': text})}",
                    "referenceId": ref,
                }
                for ref, text in queries.items()
            ],
        }

        def fetch() -> dict[str, Any]:
            answer = self._client.restful("composite", method="POST", json=body)
            replies = {
                r.get("referenceId"): r
                for r in (answer or {}).get("compositeResponse", [])
                if isinstance(r, Mapping)
            }
            pages: dict[str, Any] = {}
            for ref in queries:
                reply = replies.get(ref)
                if reply is None:
                    msg = f"Salesforce composite query failed: no answer for subrequest {ref}"
                    raise FatalApiError(msg, status=200)
                status = int(reply.get("httpStatusCode") or 0)
                if status >= 300:
                    what = f"query {ref}"
                    resolution = classify(status, reply.get("body"), reply.get("httpHeaders") or {})
                    raise _error(what, resolution, status)
                pages[ref] = reply.get("body") or {}
            return pages

        pages = self._run("composite query", fetch)
        out: dict[str, list[dict[str, Any]]] = {}
        for ref in queries:
            page = pages[ref]
            records = list(page.get("records") or [])
            while not page.get("done", True) and page.get("nextRecordsUrl"):
                next_url = page["nextRecordsUrl"]
                page = self._run(
                    f"query {ref} (more)",
                    partial(self._query_more, next_url),
                )
                records.extend(page.get("records") or [])
            out[ref] = [_strip_attributes(r) for r in records]
        return out

    # -- writes ------------------------------------------------------------------------------
    def _write(
        self,
        operation: str,
        path: str,
        records: Sequence[tuple[str, dict[str, Any]]],
        *,
        auto_assign: bool,
        sobject: str = "Lead",
    ) -> list[WriteResult]:
        headers = {} if auto_assign else {"Sforce-Auto-Assign": "FALSE"}
        results: list[WriteResult] = []
        for chunk in _chunks(records, self._settings.salesforce_batch_size):
            results.extend(self._write_chunk(operation, path, chunk, headers))
        failed = sum(not r.success for r in results)
        log.info(
            "salesforce.write",
            object=sobject,
            operation=operation,
            count=len(results),
            failed=failed,
            created=sum(r.created for r in results),
        )
        return results

    def _write_chunk(
        self,
        operation: str,
        path: str,
        chunk: Sequence[tuple[str, dict[str, Any]]],
        headers: dict[str, str],
    ) -> list[WriteResult]:
        """One collections call (and, for locked rows, calls with just those records)."""
        what = f"PATCH {path}"
        done: dict[int, WriteResult] = {}
        pending = list(range(len(chunk)))

        def send() -> None:
            nonlocal pending
            body = {"allOrNone": False, "records": [chunk[i][1] for i in pending]}
            answer = self._client.restful(path, method="PATCH", json=body, headers=headers)
            if not isinstance(answer, list) or len(answer) != len(pending):
                msg = (
                    f"Salesforce {what} answered {type(answer).__name__} instead of "
                    f"{len(pending)} results"
                )
                raise FatalApiError(msg, status=200)
            locked: list[int] = []
            reasons: list[str] = []
            for i, result in zip(pending, answer, strict=True):
                item = result if isinstance(result, Mapping) else {}
                done[i] = _write_result(chunk[i][0], item)
                if not done[i].success:
                    verdict = classify_record(item.get("errors") or [])
                    if verdict.action == "retry":
                        locked.append(i)
                        reasons.append(verdict.reason)
            pending = locked
            if locked:
                msg = f"Salesforce {what}: {len(locked)} records locked ({reasons[0]})"
                raise _Locked(msg, status=200, code="UNABLE_TO_LOCK_ROW")

        try:
            self._run(what, send)
        except _Locked:
            pass  # still locked after every attempt: failed results, the caller dead-letters
        except _Rejected as exc:
            for i in pending:
                done[i] = WriteResult(
                    hubspot_id=chunk[i][0],
                    success=False,
                    errors=(
                        FieldError(
                            code=exc.code or "REJECTED",
                            message=exc.reason.removeprefix(f"{exc.code}: "),
                        ),
                    ),
                )
        except ApiError as exc:
            # Sending the locked records again failed for good (no answer, a 5xx...): the
            # records an earlier attempt wrote stay written, and their results are returned
            # (so their writes are recorded), the locked ones with their lock failure. Raising
            # would lose those results: the next pass would find their Leads by email and
            # write them again, with the fields' last agreement unknown.
            if not any(result.success for result in done.values()):
                raise
            log.warning(
                "salesforce.write_retry_failed",
                operation=operation,
                written=sum(result.success for result in done.values()),
                locked=len(pending),
                error=str(exc),
            )
        return [done[i] for i in range(len(chunk))]

    # -- metadata ----------------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, Any]:
        """`GET /sobjects/{sobject}/describe`: the object's fields with their types, lengths,
        picklist values and permissions (for `mappings validate`)."""
        if not (sobject.isascii() and sobject.isidentifier()):  # an object name, never a path
            msg = f"not an sObject name: {sobject!r}"
            raise ValueError(msg)
        return self._run(f"describe {sobject}", lambda: getattr(self._client, sobject).describe())

    # -- Bulk API 2.0 -----------------------------------------------------------------------
    def bulk_leads(self, *, poll_seconds: float = POLL_SECONDS) -> BulkLeads:
        """Lead upserts as Bulk API 2.0 jobs over this gateway's call path (budget guard,
        retries, classification, a new login once on an expired session, each attempt with
        the current session)."""
        return BulkLeads(
            BulkIngest(self._bulk_call, poll_seconds=poll_seconds, sleep=self._sleep),
            self._settings.salesforce_external_id_field,
        )

    def _bulk_call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One Bulk API 2.0 request (a path under the API version), its raw answer."""

        def send() -> requests.Response:
            client = self._client  # read anew each attempt: a new login replaces it
            # simple-salesforce's own call helper: its headers (the session) and its
            # exceptions per status, which `_once` classifies as for every other call.
            answer: requests.Response = client._call_salesforce(
                method, client.base_url + path, name=path, **kwargs
            )
            return answer

        return self._run(f"Bulk API {method} {path}", send)

    # -- independent queries together ------------------------------------------------------
    #: Queries one Composite call carries: of its 25 subrequests, Salesforce lets at most five
    #: be queries (Query, QueryAll or Query More).
    QUERIES_PER_COMPOSITE = 5

    def query_many(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        """The records of each query in `texts` (all pages, without `attributes`), in order.

        Independent queries travel together, five to a Composite call (one API call each, and
        one more per further page of a result). The queries ride in the request body (what
        Salesforce advises for one too long for a GET URI). Each comes from
        `connector.salesforce.queries`. A query Salesforce refuses fails the call as `query`
        would (classified; retried when transient).
        """
        results: list[list[dict[str, Any]]] = []
        for chunk in _chunks(list(texts), self.QUERIES_PER_COMPOSITE):
            refs = {f"q{i}": text for i, text in enumerate(chunk)}
            found = self._composite_queries(refs)
            results.extend(found[ref] for ref in refs)
        return results

    # -- sales feedback --------------------------------------------------------------------
    @property
    def user_id(self) -> str:
        """The integration user's id (`005…`): the one its login named, else looked up once by
        `LEADBRIDGE_SALESFORCE_USERNAME`. Its own writes are not sales feedback."""
        if self._user_id is None:
            username = str(self._settings.salesforce_username or "")
            rows = self.query(queries.user_by_username(username))
            if not rows:
                msg = f"Salesforce has no user {username!r}; check LEADBRIDGE_SALESFORCE_USERNAME"
                raise FatalApiError(msg)
            self._user_id = str(rows[0]["Id"])
        return self._user_id

    def changed_leads(
        self,
        since: datetime | None,
        fields: Sequence[str],
        *,
        exclude_user_id: str | None,
    ) -> list[dict[str, Any]]:
        """Leads linked to a HubSpot contact (carrying the external id) whose `SystemModstamp`
        is `since` or later (all when None), oldest first and by Id within one timestamp, so a
        cursor on the last one skips none. Each has `fields`, `Id`, the external id,
        `LastModifiedById` and `SystemModstamp` (as a UTC datetime; `LastModifiedDate` too, when
        asked for).

        Leads last changed by `exclude_user_id` (the integration user) are left out: our own
        writes are not sales feedback. One query, all its pages read.
        """
        ext = self._settings.salesforce_external_id_field
        names = list(
            dict.fromkeys(["Id", ext, "Status", "LastModifiedById", "SystemModstamp", *fields])
        )
        text = queries.changed_leads(names, ext, since=since, exclude_user_id=exclude_user_id)
        leads = self.query(text)
        for lead in leads:
            lead["SystemModstamp"] = moment(lead.get("SystemModstamp"))
            if "LastModifiedDate" in lead:
                lead["LastModifiedDate"] = moment(lead["LastModifiedDate"])
        log.info(
            "salesforce.changed_leads",
            since=since.isoformat() if since else None,
            count=len(leads),
        )
        return leads

    def removed_records(
        self,
        since: datetime | None,
        *,
        lead_fields: Sequence[str] = (),
        contact_fields: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The Leads and Contacts deleted or merged away since `since` (`SystemModstamp`, all
        in the Recycle Bin when None), oldest first: each with `sobject`, `Id`,
        `MasterRecordId` (the record a merge kept; null after a plain delete), the external id,
        `SystemModstamp` (a UTC datetime) and the fields asked. `queryAll`, both objects in one
        Composite call: one API call when nothing was removed, one more per further page.

        Not `getDeleted`: it lists ids and deletion times only (no `MasterRecordId`, no field
        values), needs a `start`/`end` window within the last 15 days, and one call per object.
        """
        ext = self._settings.salesforce_external_id_field
        base = ["Id", "MasterRecordId", "SystemModstamp", ext]
        texts = {
            "leads": queries.removed_records(
                "Lead", list(dict.fromkeys([*base, *lead_fields])), since=since
            ),
            "contacts": queries.removed_records(
                "Contact", list(dict.fromkeys([*base, *contact_fields])), since=since
            ),
        }
        found = self._composite_queries(texts, endpoint="queryAll")
        removed: list[dict[str, Any]] = []
        for ref, sobject in (("leads", "Lead"), ("contacts", "Contact")):
            for record in found.get(ref, []):
                record["sobject"] = sobject
                record["SystemModstamp"] = moment(record.get("SystemModstamp"))
                removed.append(record)
        earliest = datetime.min.replace(tzinfo=UTC)
        removed.sort(key=lambda r: (r["SystemModstamp"] or earliest, str(r["Id"])))
        log.info(
            "salesforce.removed_records",
            since=since.isoformat() if since else None,
            count=len(removed),
        )
        return removed

    # -- lead conversion (SOAP partner API) --------------------------------------------------
    #: LeadConverts per convertLead call (Apex documents 100 as the limit).
    CONVERTS_PER_CALL = 100

    def convert_leads(self, converts: Sequence[LeadConvert]) -> list[ConvertResult]:
        """Convert Leads with the partner API's `convertLead` (REST has no lead conversion),
        100 per call; one result per convert, in request order, refused ones with Salesforce's
        errors. An expired session logs in again once; a 5xx is retried; any other SOAP fault
        is a FatalApiError carrying the fault's code.
        """
        results: list[ConvertResult] = []
        for chunk in _chunks(list(converts), self.CONVERTS_PER_CALL):
            results.extend(self._run("convertLead", partial(self._convert_call, chunk)))
        log.info(
            "salesforce.convert",
            count=len(results),
            failed=sum(not r.success for r in results),
        )
        return results

    def _convert_call(self, chunk: Sequence[LeadConvert]) -> list[ConvertResult]:
        """One convertLead call over the current session (read anew on each attempt)."""
        body = _convert_envelope(str(self._client.session_id), chunk)
        answers = self._soap_call("convertLead", body, len(chunk), "leads")
        return [_convert_result(c, a) for c, a in zip(chunk, answers, strict=True)]

    def _soap_call(self, operation: str, body: bytes, count: int, noun: str) -> list[Any]:
        """POST one partner-API `operation` envelope and return its `count` result elements
        in order; a SOAP fault or a non-XML answer raises as its kind (reauth, retry, fatal),
        and a result count that differs from the `count` `noun` sent is fatal."""
        client = self._client
        url = f"https://{client.sf_instance}/services/Soap/u/{client.sf_version}"
        response = client.session.post(url, data=body, headers=SOAP_HEADERS)
        root = _soap_root(response.content)
        fault = None if root is None else root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        if fault is not None:
            raise _soap_fault(fault, response.status_code, response.headers, operation)
        if response.status_code != 200 or root is None:
            resolution = classify(response.status_code, None, response.headers)
            raise _error(operation, resolution, response.status_code)
        path = f"{{{SOAP_ENV}}}Body/{{{PARTNER}}}{operation}Response/{{{PARTNER}}}result"
        answers: list[Any] = root.findall(path)
        if len(answers) != count:
            msg = f"Salesforce {operation} answered {len(answers)} results for {count} {noun}"
            raise FatalApiError(msg, status=response.status_code)
        return answers

    # -- record merges (SOAP partner API) ---------------------------------------------------
    #: Merge requests per `merge` call (the SOAP API's limit).
    MERGES_PER_CALL = 200

    def merge_records(self, sobject: str, merges: Sequence[RecordMerge]) -> list[WriteResult]:
        """Merge records of `sobject` (Lead, Contact or Account) with the partner API's
        `merge` (REST has none), 200 requests a call: each duplicate goes to the Recycle Bin
        with `MasterRecordId` set. One result per merge, in order, keyed by the master's Id;
        a refused one (each request is its own transaction) carries Salesforce's errors."""
        if not (sobject.isascii() and sobject.isidentifier()):
            msg = f"not an sObject name: {sobject!r}"
            raise ValueError(msg)
        results: list[WriteResult] = []
        for chunk in _chunks(list(merges), self.MERGES_PER_CALL):
            results += self._run("merge", partial(self._merge_call, sobject, chunk))
        log.info(
            "salesforce.merge",
            sobject=sobject,
            count=len(results),
            failed=sum(not r.success for r in results),
        )
        return results

    def _merge_call(self, sobject: str, chunk: Sequence[RecordMerge]) -> list[WriteResult]:
        """One merge call over the current session (read anew on each attempt)."""
        body = _merge_envelope(str(self._client.session_id), sobject, chunk)
        found = self._soap_call("merge", body, len(chunk), "requests")
        return [_empty_result(m.master_id, a) for m, a in zip(chunk, found, strict=True)]

    # -- privacy erasure -----------------------------------------------------------------
    #: Ids per Collections delete and per emptyRecycleBin call (both take 200).
    DELETES_PER_CALL = 200

    def person_records(
        self,
        *,
        email: str | None,
        hubspot_id: str | None,
        ids: Sequence[str],
        lead_fields: Sequence[str],
        contact_fields: Sequence[str],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The Leads (converted ones included) and Contacts that are one person: with this
        email, carrying this HubSpot contact id, or with one of `ids`; each with `Id` and the
        fields asked (Leads also `IsConverted` and `ConvertedContactId`). One Composite call.
        Deleted records (in the Recycle Bin) are not among them."""
        ext = self._settings.salesforce_external_id_field
        lead_ids = [i for i in ids if i.startswith("00Q")]
        contact_ids = [i for i in ids if i.startswith("003")]
        lead_names = list(dict.fromkeys(["Id", "IsConverted", "ConvertedContactId", *lead_fields]))
        contact_names = list(dict.fromkeys(["Id", *contact_fields]))
        texts = {}
        if email or hubspot_id or lead_ids:
            texts["leads"] = queries.person_records(
                "Lead", lead_names, ext, email=email, hubspot_id=hubspot_id, ids=lead_ids
            )
        if email or hubspot_id or contact_ids:
            texts["contacts"] = queries.person_records(
                "Contact", contact_names, ext, email=email, hubspot_id=hubspot_id, ids=contact_ids
            )
        found = self._composite_queries(texts) if texts else {}
        leads, contacts = found.get("leads", []), found.get("contacts", [])
        log.info("salesforce.person_records", leads=len(leads), contacts=len(contacts))
        return leads, contacts

    def binned_records(
        self, *, email: str | None, hubspot_id: str | None, ids: Sequence[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The person's Leads and Contacts (found as `person_records` finds them) that are in
        the Recycle Bin, each with its `Id`: `queryAll`, one Composite call."""
        ext = self._settings.salesforce_external_id_field
        texts = {}
        for ref, sobject, prefix in (("leads", "Lead", "00Q"), ("contacts", "Contact", "003")):
            known = [i for i in ids if i.startswith(prefix)]
            if email or hubspot_id or known:
                texts[ref] = queries.person_records(
                    sobject,
                    ["Id"],
                    ext,
                    email=email,
                    hubspot_id=hubspot_id,
                    ids=known,
                    deleted=True,
                )
        found = self._composite_queries(texts, endpoint="queryAll") if texts else {}
        leads, contacts = found.get("leads", []), found.get("contacts", [])
        log.info("salesforce.binned_records", leads=len(leads), contacts=len(contacts))
        return leads, contacts

    def delete_records(self, ids: Sequence[str]) -> list[WriteResult]:
        """Delete records by Id (sObject Collections, `allOrNone=false`, 200 a call): each goes
        to the Recycle Bin. One result per id, in order, keyed by the id (`hubspot_id`); an id
        Salesforce knows no longer (deleted already) fails with its `ENTITY_IS_DELETED` or
        `INVALID_CROSS_REFERENCE_KEY`."""
        results: list[WriteResult] = []
        for chunk in _chunks(list(ids), self.DELETES_PER_CALL):
            params = {"ids": ",".join(chunk), "allOrNone": "false"}

            def send(params: dict[str, str] = params) -> Any:
                return self._client.restful("composite/sobjects", params=params, method="DELETE")

            answer = self._run("DELETE composite/sobjects", send)
            if not isinstance(answer, list) or len(answer) != len(chunk):
                msg = (
                    f"Salesforce DELETE composite/sobjects answered {type(answer).__name__} "
                    f"instead of {len(chunk)} results"
                )
                raise FatalApiError(msg, status=200)
            results += [
                _write_result(i, a if isinstance(a, Mapping) else {})
                for i, a in zip(chunk, answer, strict=True)
            ]
        log.info(
            "salesforce.write",
            operation="delete",
            count=len(results),
            failed=sum(not r.success for r in results),
        )
        return results

    def empty_recycle_bin(self, ids: Sequence[str]) -> list[WriteResult]:
        """Empty the Recycle Bin of these deleted records (the partner API's `emptyRecycleBin`;
        REST has no hard delete but Bulk API's), 200 a call: gone at once, not after 15 days.
        One result per id, in order; a refused one (not in the bin, no permission) carries
        Salesforce's code."""
        results: list[WriteResult] = []
        for chunk in _chunks(list(ids), self.DELETES_PER_CALL):
            results += self._run("emptyRecycleBin", partial(self._empty_call, chunk))
        log.info(
            "salesforce.empty_recycle_bin",
            count=len(results),
            failed=sum(not r.success for r in results),
        )
        return results

    def _empty_call(self, chunk: Sequence[str]) -> list[WriteResult]:
        """One emptyRecycleBin call over the current session (read anew on each attempt)."""
        root, operation = _soap_envelope(str(self._client.session_id), "emptyRecycleBin")
        for record_id in chunk:
            etree.SubElement(operation, f"{{{PARTNER}}}ids").text = record_id
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        found = self._soap_call("emptyRecycleBin", body, len(chunk), "ids")
        return [_empty_result(i, a) for i, a in zip(chunk, found, strict=True)]


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
#: A parser that resolves no entities, loads no DTD and fetches nothing.
_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def _soap_envelope(
    session_id: str, operation: str, namespaces: Mapping[str, str] | None = None
) -> tuple[Any, Any]:
    """A partner-API envelope carrying the session header: its root and the (empty) element
    of `operation` in its body, for the caller to fill."""
    nsmap = {"soapenv": SOAP_ENV, "urn": PARTNER, **(namespaces or {})}
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
    session = etree.SubElement(header, f"{{{PARTNER}}}SessionHeader")
    etree.SubElement(session, f"{{{PARTNER}}}sessionId").text = session_id
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    return root, etree.SubElement(body, f"{{{PARTNER}}}{operation}")


def _convert_envelope(session_id: str, converts: Sequence[LeadConvert]) -> bytes:
    """The convertLead request; each `leadConverts` lists its children in the WSDL's
    (alphabetical) order, which Salesforce's deserializer enforces. Nulls are left out."""
    root, operation = _soap_envelope(session_id, "convertLead")
    for convert in converts:
        element = etree.SubElement(operation, f"{{{PARTNER}}}leadConverts")
        values = {
            "accountId": convert.account_id,
            "contactId": convert.contact_id,
            "convertedStatus": convert.converted_status,
            "doNotCreateOpportunity": "true" if convert.do_not_create_opportunity else "false",
            "leadId": convert.lead_id,
            "opportunityName": convert.opportunity_name,
            "ownerId": convert.owner_id,
        }
        for name, value in values.items():
            if value is not None:
                etree.SubElement(element, f"{{{PARTNER}}}{name}").text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _merge_envelope(session_id: str, sobject: str, merges: Sequence[RecordMerge]) -> bytes:
    """The merge request: per merge, a `masterRecord` (its type and Id, no values: the master
    keeps its own) and its `recordToMergeIds`, in the WSDL's order."""
    sobject_ns = "urn:sobject.partner.soap.sforce.com"
    root, operation = _soap_envelope(session_id, "merge", {"urn1": sobject_ns})
    for item in merges:
        request = etree.SubElement(operation, f"{{{PARTNER}}}request")
        master = etree.SubElement(request, f"{{{PARTNER}}}masterRecord")
        etree.SubElement(master, f"{{{sobject_ns}}}type").text = sobject
        etree.SubElement(master, f"{{{sobject_ns}}}Id").text = item.master_id
        for duplicate in item.duplicate_ids:
            etree.SubElement(request, f"{{{PARTNER}}}recordToMergeIds").text = duplicate
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _soap_root(content: bytes) -> Any:
    """The answer's XML root, or None when it is not XML (a proxy's HTML 503, say)."""
    try:
        return etree.fromstring(content, parser=_SAFE_XML)
    except etree.XMLSyntaxError:
        return None


def _soap_fault(
    fault: Any, status: int, headers: Mapping[str, str], operation: str = "convertLead"
) -> ApiError:
    """A SOAP fault as an error: an expired session → reauth, transient → retry, else fatal."""
    detail = fault.find("detail")
    code = None
    if detail is not None:
        code = next((e.text for e in detail.iter("{*}exceptionCode") if e.text), None)
    code = code or (fault.findtext("faultcode") or "UNKNOWN").split(":")[-1]
    message = f"Salesforce {operation} failed (HTTP {status}): {fault.findtext('faultstring')}"
    if code == "INVALID_SESSION_ID":
        return ReauthRequired(message, status=status, code=code)
    if code in TRANSIENT_CODES or code == "SERVER_UNAVAILABLE":
        return RetriableApiError(message, status=status, code=code)
    return FatalApiError(message, status=status, code=code)


def _convert_result(convert: LeadConvert, answer: Any) -> ConvertResult:
    def text(element: Any, name: str) -> str | None:
        value = element.findtext(f"{{{PARTNER}}}{name}")
        return value.strip() if value and value.strip() else None

    errors = tuple(
        FieldError(
            code=text(e, "statusCode") or "UNKNOWN",
            message=text(e, "message") or "",
            fields=tuple(f.text for f in e.findall(f"{{{PARTNER}}}fields") if f.text),
        )
        for e in answer.findall(f"{{{PARTNER}}}errors")
    )
    success = text(answer, "success") == "true"
    return ConvertResult(
        lead_id=convert.lead_id,
        success=success,
        account_id=text(answer, "accountId") if success else None,
        contact_id=text(answer, "contactId") if success else None,
        opportunity_id=text(answer, "opportunityId") if success else None,
        errors=() if success else errors,
    )


def _empty_result(record_id: str, answer: Any) -> WriteResult:
    """One EmptyRecycleBinResult or MergeResult (the same shape) as a WriteResult keyed by
    the id."""
    errors = tuple(
        FieldError(
            code=(e.findtext(f"{{{PARTNER}}}statusCode") or "UNKNOWN").strip(),
            message=(e.findtext(f"{{{PARTNER}}}message") or "").strip(),
        )
        for e in answer.findall(f"{{{PARTNER}}}errors")
    )
    success = (answer.findtext(f"{{{PARTNER}}}success") or "").strip() == "true"
    return WriteResult(
        hubspot_id=record_id,
        success=success,
        salesforce_id=record_id if success else None,
        errors=() if success else errors,
    )
