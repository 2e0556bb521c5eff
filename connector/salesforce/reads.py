"""Typed reads of Salesforce: each query of `connector.salesforce.queries`, cut to SOQL's limits,
run, and its rows made into what the caller uses.

`SalesforceReads` runs them through two calls its subclass supplies: `query(text)` (every record
of one query) and, for queries that do not depend on each other, `query_many(texts)` (one
Composite call for up to five; here one query after the other). `SalesforceGateway` is one; a
test double answering SOQL from the sandbox's engine is another, so the router's tests still see
the exact texts sent.

What Salesforce holds for some HubSpot contacts is read the same way by the contacts stream and by
`leadbridge mappings plan`: `find_by_emails` (the gateway: Leads and Contacts by email),
`current_leads` and `current_contacts` (fields by Id), and, for the plan, which knows no links,
`linked_leads` (by the external id).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import structlog

from connector.model import (
    AccountSearch,
    Activity,
    LeadStatusValue,
    Opportunity,
    OpportunityOutcome,
    QueueInfo,
    UserInfo,
)
from connector.salesforce import queries
from connector.salesforce.soql import IDS_PER_QUERY, MAX_IN_LIST_CHARS, in_chunks, moment

log = structlog.get_logger(__name__)

Row = dict[str, Any]

#: Bytes a query may take in a URI (`q=...`), leaving room for the path and the headers within
#: Salesforce's 16,384. A query sent in a Composite subrequest travels in the request body,
#: for whose `url` Salesforce documents no limit of its own: it is held to the same bound.
MAX_QUERY_URI_BYTES = 14_000
FIRST_QUERY_CHARS = 12_000
MIN_QUERY_CHARS = 2_000
#: Emails per Contact look-up by account (`contacts_on_accounts`): the account ids share the
#: query's length.
CONTACT_EMAILS_CHARS = 4_000


class SalesforceReads(ABC):
    """Every typed read, over `query` and `query_many`."""

    @abstractmethod
    def query(self, text: str) -> list[Row]:
        """Every record `text` selects (all pages), without `attributes`."""

    def query_many(self, texts: Sequence[str]) -> list[list[Row]]:
        """The records of each of `texts`, in order (one query after the other here)."""
        return [self.query(text) for text in texts]

    # -- what Salesforce holds for HubSpot contacts ---------------------------------------
    def current_leads(self, lead_ids: Sequence[str], fields: Sequence[str]) -> dict[str, Row]:
        """The current `fields` of these Leads, by Lead Id, each with `LastModifiedDate` as a
        UTC datetime (None if absent; `SystemModstamp` too, when asked for): what conflict rules
        weigh before an update. Selected by Id, not by the external id, because a Lead found by
        email does not carry ours yet.

        One query per 200 ids; Leads not found (deleted) are left out.
        """
        found = self._by_id(queries.leads_by_id, lead_ids, fields)
        log.info("salesforce.current_leads", leads=len(set(lead_ids) - {""}), found=len(found))
        return found

    def current_contacts(self, contact_ids: Sequence[str], fields: Sequence[str]) -> dict[str, Row]:
        """The current `fields` of these Contacts (those converted Leads became), by Contact
        Id, each with `LastModifiedDate` as a UTC datetime. One query per 200 ids."""
        return self._by_id(queries.contacts_by_id, contact_ids, fields)

    def _by_id(
        self,
        text: Callable[[Sequence[str], Sequence[str]], str],
        ids: Sequence[str],
        fields: Sequence[str],
    ) -> dict[str, Row]:
        """`fields` of the records with these ids, by Id (one `text(names, ids)` per 200), the
        change times as UTC datetimes."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        names = list(dict.fromkeys(["Id", "LastModifiedDate", *fields]))
        found: dict[str, Row] = {}
        for chunk in in_chunks(wanted, MAX_IN_LIST_CHARS, IDS_PER_QUERY):
            for record in self.query(text(names, chunk)):
                record["LastModifiedDate"] = moment(record.get("LastModifiedDate"))
                if "SystemModstamp" in record:
                    record["SystemModstamp"] = moment(record["SystemModstamp"])
                found[str(record["Id"])] = record
        return found

    def linked_leads(
        self, hubspot_ids: Sequence[str], fields: Sequence[str], *, external_id_field: str
    ) -> dict[str, Row]:
        """The Leads carrying these HubSpot contact ids in `external_id_field`, converted ones
        included, by HubSpot id: `fields` of each (in their order) with `Id`, the external id,
        `LastModifiedDate` (as a UTC datetime), `IsConverted` and `ConvertedContactId`. What a
        reader without the state store's links takes for them; one query per 200 ids."""
        ids = list(dict.fromkeys(i for i in hubspot_ids if i))
        wanted = ["Id", *fields, external_id_field, "LastModifiedDate"]
        names = list(dict.fromkeys([*wanted, "IsConverted", "ConvertedContactId"]))
        found: dict[str, Row] = {}
        for chunk in in_chunks(ids, MAX_IN_LIST_CHARS, IDS_PER_QUERY):
            text = queries.leads_by_external_id(names, external_id_field, chunk)
            for record in self.query(text):
                record["LastModifiedDate"] = moment(record.get("LastModifiedDate"))
                found[str(record[external_id_field])] = record
        return found

    def claims(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        external_id_field: str,
        after: str | None,
        limit: int,
    ) -> list[Row]:
        """Up to `limit` Leads or Contacts (`sobject`) carrying a HubSpot contact id in
        `external_id_field`, in that id's order after `after`: `Id`, the id and `fields` of
        each. One query; what `relink` and `reconcile` walk, page by page."""
        names = list(dict.fromkeys(["Id", external_id_field, *fields]))
        return self.query(
            queries.claims(sobject, names, external_id_field, after=after, limit=limit)
        )

    # -- conversion ------------------------------------------------------------------------
    def lead_statuses(self) -> tuple[LeadStatusValue, ...]:
        """The org's Lead statuses (one query): what conversion.yaml is checked against, by the
        conversion stream and by `mappings validate` alike."""
        return lead_statuses_of(self.query(queries.lead_statuses()))

    def leads_at_status(
        self,
        statuses: Sequence[str],
        fields: Sequence[str],
        *,
        external_id_field: str,
        after: str | None,
        limit: int,
    ) -> list[Row]:
        """Up to `limit` unconverted Leads at one of `statuses` carrying an external id, in Id
        order after `after`: `Id`, the external id, `LastModifiedDate` (as a UTC datetime) and
        `fields` of each. One query."""
        names = list(dict.fromkeys(["Id", external_id_field, "LastModifiedDate", *fields]))
        text = queries.leads_at_status(names, statuses, external_id_field, after=after, limit=limit)
        leads = self.query(text)
        for lead in leads:
            lead["LastModifiedDate"] = moment(lead.get("LastModifiedDate"))
        return leads

    def contacts_on_accounts(self, account_ids: Sequence[str], emails: Sequence[str]) -> list[Row]:
        """`Id`, `Email` and `AccountId` of the Contacts of these accounts with one of
        `emails`: one query per chunk of emails."""
        if not account_ids or not emails:
            return []
        found: list[Row] = []
        for chunk in in_chunks(list(emails), CONTACT_EMAILS_CHARS, IDS_PER_QUERY):
            found += self.query(queries.contacts_on_accounts(list(account_ids), chunk))
        return found

    # -- routing ---------------------------------------------------------------------------
    def candidate_accounts(self, search: AccountSearch, fields: Sequence[str]) -> list[Row]:
        """`fields` of every account `search` points to: its queries (each short enough for a
        GET URI) together in as few calls as `query_many` makes; none for an empty search."""
        texts = _fitting(lambda limit: queries.candidate_accounts(search, fields, max_chars=limit))
        return [row for result in self.query_many(texts) for row in result] if texts else []

    def accounts_by_id(self, account_ids: Sequence[str], fields: Sequence[str]) -> list[Row]:
        """`fields` of these accounts (parent paths as nested records), one query per IN
        list's worth of ids, one after the other."""
        rows: list[Row] = []
        for chunk in in_chunks(list(account_ids), MAX_IN_LIST_CHARS):
            rows += self.query(queries.accounts_by_id(fields, chunk))
        return rows

    def open_opportunities(self, account_ids: Sequence[str]) -> list[Opportunity]:
        """The open opportunities on these accounts, together in as few calls as `query_many`
        makes; none for no accounts."""
        texts = [
            queries.open_opportunities(chunk)
            for chunk in in_chunks(list(account_ids), MAX_IN_LIST_CHARS)
        ]
        rows = [row for result in self.query_many(texts) for row in result] if texts else []
        return [
            Opportunity(id=str(r["Id"]), account_id=str(r["AccountId"]), owner_id=str(r["OwnerId"]))
            for r in rows
        ]

    def opportunity_outcomes(self, opportunity_ids: Sequence[str]) -> list[OpportunityOutcome]:
        """Where these opportunities stand (stage, amount, won), together in as few calls as
        `query_many` makes; none for no ids. Deleted ones are not in the answer."""
        texts = [
            queries.opportunity_outcomes(chunk)
            for chunk in in_chunks(sorted(set(opportunity_ids)), MAX_IN_LIST_CHARS)
        ]
        rows = [row for result in self.query_many(texts) for row in result] if texts else []
        return [
            OpportunityOutcome(
                id=str(r["Id"]),
                stage=r.get("StageName"),
                amount=float(r["Amount"]) if r.get("Amount") is not None else None,
                is_closed=bool(r.get("IsClosed")),
                is_won=bool(r.get("IsWon")),
                close_date=_day(r.get("CloseDate")),
            )
            for r in rows
        ]

    def owners(
        self,
        *,
        user_ids: Sequence[str] = (),
        usernames: Sequence[str] = (),
        queue_ids: Sequence[str] = (),
        developer_names: Sequence[str] = (),
    ) -> tuple[list[UserInfo], list[QueueInfo]]:
        """The users with these ids or Usernames and the queues with these ids or
        DeveloperNames: their queries do not depend on each other, so they travel together
        (one call for up to five through `query_many`); none when nothing is asked."""
        user_texts = queries.users(user_ids, usernames)
        queue_texts = queries.queues(queue_ids, developer_names)
        texts = [*user_texts, *queue_texts]
        results = self.query_many(texts) if texts else []
        found_users = [user_of(r) for result in results[: len(user_texts)] for r in result]
        found_queues = [queue_of(r) for result in results[len(user_texts) :] for r in result]
        return found_users, found_queues

    # -- the SLA's first touch -------------------------------------------------------------
    def activities(self, lead_ids: Sequence[str], since: datetime) -> dict[str, list[Activity]]:
        """The activities (Tasks and Events, `WhoId` the Lead) on these Leads created at or
        after `since`, oldest first, by Lead id; Leads without one are left out. The Task and
        the Event query of each IN list's worth of ids travel together: with five queries to a
        Composite call, about 1,000 Leads a call; none for no ids."""
        wanted = sorted({i for i in lead_ids if i})
        asked = [
            (sobject, queries.activities_on(sobject, chunk, since))
            for chunk in in_chunks(wanted, MAX_IN_LIST_CHARS)
            for sobject in queries.ACTIVITIES
        ]
        results = self.query_many([text for _, text in asked]) if asked else []
        found: dict[str, list[Activity]] = {}
        for (sobject, _), rows in zip(asked, results, strict=True):
            for row in rows:
                who, at = row.get("WhoId"), moment(row.get("CreatedDate"))
                if who and at is not None:
                    found.setdefault(str(who), []).append(Activity(str(who), at, sobject))
        for listed in found.values():
            listed.sort(key=lambda a: a.at)
        log.info("salesforce.activities", leads=len(wanted), touched=len(found))
        return found

    # -- `leadbridge demo` -----------------------------------------------------------------
    def routed_leads(self, external_id_field: str, *, global_lead: bool, limit: int) -> list[Row]:
        """The newest `limit` Leads linked to HubSpot contacts, global or not (the demo
        routing's `Global_Lead__c`), with their owner's name."""
        text = queries.routed_leads(external_id_field, global_lead=global_lead, limit=limit)
        return self.query(text)

    def open_leads_owned_by(
        self, external_id_field: str, username: str, *, limit: int
    ) -> list[Row]:
        """The first `limit` unconverted Leads linked to HubSpot contacts that `username`
        owns, by Name."""
        return self.query(queries.open_leads_owned_by(external_id_field, username, limit=limit))


# -- rows into values -------------------------------------------------------------------------
def lead_statuses_of(rows: Sequence[Mapping[str, Any]]) -> tuple[LeadStatusValue, ...]:
    """The rows of `queries.lead_statuses()` (ApiName may be absent: then the label is the
    value)."""
    return tuple(
        LeadStatusValue(
            api_name=str(r.get("ApiName") or r["MasterLabel"]),
            label=str(r["MasterLabel"]),
            converted=bool(r.get("IsConverted")),
        )
        for r in rows
    )


def user_of(row: Mapping[str, Any]) -> UserInfo:
    """A row of `queries.users` (its role, when it has one, a nested `UserRole`)."""
    role = row.get("UserRole") or {}
    return UserInfo(
        id=str(row["Id"]),
        name=str(row.get("Name") or row.get("Username") or ""),
        username=str(row.get("Username") or ""),
        active=bool(row.get("IsActive")),
        role=role.get("Name") if isinstance(role, Mapping) else None,
    )


def queue_of(row: Mapping[str, Any]) -> QueueInfo:
    """A row of `queries.queues`."""
    return QueueInfo(
        id=str(row["Id"]),
        name=str(row.get("Name") or ""),
        developer_name=str(row.get("DeveloperName") or ""),
    )


def _fitting(build: Callable[[int], list[str]]) -> list[str]:
    """Queries from `build(max_chars)`, with max_chars lowered until each fits in a GET URI.

    Salesforce refuses a request whose URI and headers pass 16,384 bytes, and the URI carries
    the query URL-encoded (a `%` or `'` takes three bytes).
    """
    limit = FIRST_QUERY_CHARS
    while True:
        texts = build(limit)
        if limit <= MIN_QUERY_CHARS or all(
            len(urlencode({"q": text})) <= MAX_QUERY_URI_BYTES for text in texts
        ):
            return texts
        limit = max(MIN_QUERY_CHARS, limit * 3 // 4)


def _day(value: Any) -> date | None:
    """A SOQL date (`2026-03-31`) as a date; None when absent or not one."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
