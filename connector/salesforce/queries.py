"""Every SOQL text leadbridge sends, one function per query, each built only through the one
escaping helper (`connector.salesforce.soql`): values escaped, names checked.

Here are the texts and nothing else: no I/O. `connector.salesforce.reads` runs them (chunked,
typed), and so does the gateway for the reads that need its settings; the admin checks
(`connector.checks.snapshot`) put some of them into one Composite call. A module outside
`connector/salesforce/` never writes SOQL (`tests/unit/test_soql_home.py` holds that).

A function taking a list of values builds one query for them: the caller keeps the list within
`MAX_IN_LIST_CHARS` (`in_chunks`). Those that cut long lists themselves (`candidate_accounts`,
`users`, `queues`) return a list of texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import zip_longest
from typing import Any

from connector.model import AccountSearch
from connector.salesforce.soql import MAX_IN_LIST_CHARS, in_chunks, soql

# -- the Leads and Contacts of HubSpot contacts ---------------------------------------------


def leads_by_email(external_id_field: str, emails: Sequence[str]) -> str:
    """Unconverted Leads with one of `emails` (Salesforce compares emails without case), with
    the external id that says which HubSpot contact each is linked to, if any."""
    return soql(
        "SELECT Id, Email, {ext:literal}, OwnerId FROM Lead "
        "WHERE IsConverted = false AND Email IN {emails}",
        ext=external_id_field,
        emails=list(emails),
    )


def contacts_by_email(external_id_field: str, emails: Sequence[str]) -> str:
    """Contacts with one of `emails`: people who are customers already."""
    return soql(
        "SELECT Id, Email, {ext:literal}, AccountId, OwnerId FROM Contact WHERE Email IN {emails}",
        ext=external_id_field,
        emails=list(emails),
    )


def leads_by_id(fields: Sequence[str], lead_ids: Sequence[str]) -> str:
    """`fields` of these Leads."""
    return soql("SELECT {:fields} FROM Lead WHERE Id IN {}", list(fields), list(lead_ids))


def contacts_by_id(fields: Sequence[str], contact_ids: Sequence[str]) -> str:
    """`fields` of these Contacts."""
    return soql("SELECT {:fields} FROM Contact WHERE Id IN {}", list(fields), list(contact_ids))


def leads_by_external_id(
    fields: Sequence[str], external_id_field: str, hubspot_ids: Sequence[str]
) -> str:
    """`fields` of the Leads carrying one of `hubspot_ids` in the external id field, converted
    ones included."""
    return soql(
        "SELECT {fields:fields} FROM Lead WHERE {ext:literal} IN {ids}",
        fields=list(fields),
        ext=external_id_field,
        ids=list(hubspot_ids),
    )


def claims(
    sobject: str,
    fields: Sequence[str],
    external_id_field: str,
    *,
    after: str | None,
    limit: int,
) -> str:
    """`fields` of the `sobject` records (Lead or Contact) carrying a HubSpot contact id, in the
    order of that id after `after` (keyset paging), `limit` of them: who claims which contact."""
    template = "SELECT {names:fields} FROM {obj:literal} WHERE {ext:literal} != null"
    if after is not None:
        template += " AND {ext:literal} > {after}"
    template += " ORDER BY {ext:literal}, Id LIMIT {limit}"
    return soql(
        template,
        names=list(fields),
        obj=sobject,
        ext=external_id_field,
        after=after,
        limit=limit,
    )


def changed_leads(
    fields: Sequence[str],
    external_id_field: str,
    *,
    since: datetime | None,
    exclude_user_id: str | None,
) -> str:
    """Leads linked to a HubSpot contact whose `SystemModstamp` is `since` or later (all when
    None), not last changed by `exclude_user_id`, oldest first and by Id within a timestamp."""
    template = "SELECT {names:fields} FROM Lead WHERE {ext:literal} != null"
    if since is not None:
        template += " AND SystemModstamp >= {since}"
    if exclude_user_id is not None:
        template += " AND LastModifiedById != {user}"
    template += " ORDER BY SystemModstamp, Id"
    return soql(
        template, names=list(fields), ext=external_id_field, since=since, user=exclude_user_id
    )


def leads_at_status(
    fields: Sequence[str],
    statuses: Sequence[str],
    external_id_field: str,
    *,
    after: str | None,
    limit: int,
) -> str:
    """Unconverted Leads at one of `statuses` carrying an external id, in Id order after
    `after` (keyset paging), `limit` of them."""
    template = (
        "SELECT {names:fields} FROM Lead WHERE Status IN {statuses} AND IsConverted = false "
        "AND {ext:literal} != null"
    )
    if after is not None:
        template += " AND Id > {after}"
    template += " ORDER BY Id LIMIT {limit}"
    return soql(
        template,
        names=list(fields),
        statuses=list(statuses),
        ext=external_id_field,
        after=after,
        limit=limit,
    )


def contacts_on_accounts(account_ids: Sequence[str], emails: Sequence[str]) -> str:
    """Contacts of these accounts with one of `emails`."""
    return soql(
        "SELECT Id, Email, AccountId FROM Contact "
        "WHERE AccountId IN {accounts} AND Email IN {emails}",
        accounts=list(account_ids),
        emails=list(emails),
    )


def lead_statuses() -> str:
    """The org's Lead statuses: the values Lead.Status takes, and which a conversion sets."""
    return soql("SELECT ApiName, MasterLabel, IsConverted FROM LeadStatus")


def user_by_username(username: str) -> str:
    """The user with this Username."""
    return soql("SELECT Id FROM User WHERE Username = {}", username)


# -- routing: accounts, opportunities, owners -----------------------------------------------


def candidate_accounts(
    search: AccountSearch, fields: Sequence[str], *, max_chars: int = 20_000
) -> list[str]:
    """Texts reading `fields` of the accounts `search` points to, every one within `max_chars`:
    `Website LIKE '%globex.se%' OR Name LIKE '%gl_b_x%' OR ...`.

    Domains and name parts go in through `{:like}`, so quotes, backslashes, `%` and `_` in them
    match literally. A GET `/query` also carries the text URL-encoded in its URI (16,384 bytes
    at most): send long ones through Composite, or lower `max_chars`.
    """
    head = "SELECT {:fields} FROM Account WHERE "
    head_text = soql(head, list(fields))
    clauses: list[tuple[str, list[Any]]] = []
    for domain in search.domains:
        for field in search.domain_fields:
            clauses.append(("{:literal} LIKE '%{:like}%'", [field, domain]))
    for word in search.website_words:
        for field in search.domain_fields:
            clauses.append(("{:literal} LIKE '%{:like}%'", [field, word]))
    for name in search.names:
        patterns = [_like_template(parts) for parts in name]
        template = " AND ".join("Name LIKE '%" + t + "%'" for t, _ in patterns)
        if len(name) > 1:
            template = "(" + template + ")"
        clauses.append((template, [v for _, values in patterns for v in values]))
    texts: list[str] = []
    chunk: list[tuple[str, list[Any]]] = []
    size = len(head_text)
    for clause in clauses:
        length = len(soql(clause[0], *clause[1])) + (4 if chunk else 0)  # " OR "
        if chunk and size + length > max_chars:
            texts.append(_any_of(head, fields, chunk))
            chunk, size, length = [], len(head_text), length - 4
        chunk.append(clause)
        size += length
    if chunk:
        texts.append(_any_of(head, fields, chunk))
    return texts


def _like_template(parts: tuple[str, ...]) -> tuple[str, list[str]]:
    return "_".join("{:like}" for _ in parts), list(parts)


def _any_of(head: str, fields: Sequence[str], clauses: Sequence[tuple[str, list[Any]]]) -> str:
    template = head + " OR ".join(t for t, _ in clauses)
    return soql(template, list(fields), *(v for _, values in clauses for v in values))


def accounts_by_id(fields: Sequence[str], account_ids: Sequence[str]) -> str:
    """`fields` (relationship paths such as `Parent.Parent.Name` included) of these accounts."""
    return soql("SELECT {:fields} FROM Account WHERE Id IN {}", list(fields), list(account_ids))


def open_opportunities(account_ids: Sequence[str]) -> str:
    """The open opportunities on these accounts, with their owners."""
    return soql(
        "SELECT Id, OwnerId, AccountId FROM Opportunity WHERE IsClosed = false AND AccountId IN {}",
        list(account_ids),
    )


def opportunity_outcomes(opportunity_ids: Sequence[str]) -> str:
    """Stage, amount, close date and outcome of these opportunities (the reports)."""
    return soql(
        "SELECT Id, StageName, Amount, IsClosed, IsWon, CloseDate FROM Opportunity WHERE Id IN {}",
        list(opportunity_ids),
    )


#: The users and queues queries, by (ids given, names given): an empty IN list is refused.
USER_QUERIES = {
    (True, True): "SELECT Id, Name, Username, IsActive, UserRole.Name FROM User "
    "WHERE Id IN {ids} OR Username IN {names}",
    (True, False): "SELECT Id, Name, Username, IsActive, UserRole.Name FROM User WHERE Id IN {ids}",
    (False, True): "SELECT Id, Name, Username, IsActive, UserRole.Name FROM User "
    "WHERE Username IN {names}",
}
QUEUE_QUERIES = {
    (True, True): "SELECT Id, Name, DeveloperName FROM Group "
    "WHERE Type = 'Queue' AND (Id IN {ids} OR DeveloperName IN {names})",
    (True, False): "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue' AND Id IN {ids}",
    (False, True): "SELECT Id, Name, DeveloperName FROM Group "
    "WHERE Type = 'Queue' AND DeveloperName IN {names}",
}


def users(user_ids: Sequence[str], usernames: Sequence[str]) -> list[str]:
    """The users with these ids or Usernames, cut to SOQL's limits: none for neither. The
    router and `mappings validate` look owners up with the same texts, so both find the same."""
    return _owner_queries(USER_QUERIES, user_ids, usernames)


def queues(queue_ids: Sequence[str], developer_names: Sequence[str]) -> list[str]:
    """The queues with these ids or DeveloperNames, cut to SOQL's limits: none for neither."""
    return _owner_queries(QUEUE_QUERIES, queue_ids, developer_names)


def _owner_queries(
    templates: dict[tuple[bool, bool], str], ids: Sequence[str], names: Sequence[str]
) -> list[str]:
    return [
        soql(templates[bool(id_chunk), bool(name_chunk)], ids=id_chunk, names=name_chunk)
        for id_chunk, name_chunk in _paired_chunks(list(ids), list(names))
    ]


def _paired_chunks(first: list[str], second: list[str]) -> list[tuple[list[str], list[str]]]:
    """Both lists cut to fit the IN-list limit together, paired up for one query each."""
    half = MAX_IN_LIST_CHARS // 2
    firsts = list(in_chunks(first, half)) if first else []
    seconds = list(in_chunks(second, half)) if second else []
    return [(a or [], b or []) for a, b in zip_longest(firsts, seconds)]


def active_usernames(limit: int) -> str:
    """The first `limit` active Usernames, by name (for "did you mean")."""
    return soql(
        "SELECT Username FROM User WHERE IsActive = true ORDER BY Username LIMIT {limit}",
        limit=limit,
    )


def queue_names(limit: int) -> str:
    """The first `limit` queue DeveloperNames, by name (for "did you mean")."""
    return soql(
        "SELECT DeveloperName FROM Group WHERE Type = 'Queue' ORDER BY DeveloperName LIMIT {limit}",
        limit=limit,
    )


# -- `leadbridge demo` ----------------------------------------------------------------------


def routed_leads(external_id_field: str, *, global_lead: bool, limit: int) -> str:
    """The newest Leads linked to HubSpot contacts whose `Global_Lead__c` (the demo routing's
    flag) is `global_lead`, with their owner's name."""
    return soql(
        "SELECT Id, Name, Company, Status, Owner.Name, Global_Lead__c, {ext:literal} FROM Lead "
        "WHERE {ext:literal} != null AND Global_Lead__c = {global_lead} "
        "ORDER BY CreatedDate DESC LIMIT {limit}",
        ext=external_id_field,
        global_lead=global_lead,
        limit=limit,
    )


def open_leads_owned_by(external_id_field: str, username: str, *, limit: int) -> str:
    """The first `limit` unconverted Leads (by Name) linked to HubSpot contacts and owned by
    the user with this Username."""
    return soql(
        "SELECT Id, Name, {ext:literal} FROM Lead WHERE Owner.Username = {username} "
        "AND IsConverted = false AND {ext:literal} != null ORDER BY Name LIMIT {limit}",
        ext=external_id_field,
        username=username,
        limit=limit,
    )


# -- activities: sales' first touch (the SLA) ------------------------------------------------

#: The activity objects whose records on a Lead (`WhoId`) count as sales touching it.
ACTIVITIES = ("Task", "Event")


def activities_on(sobject: str, lead_ids: Sequence[str], since: datetime) -> str:
    """When each activity of `sobject` (Task or Event) on these Leads created at or after
    `since` was created, oldest first. An ordered read rather than `MIN(CreatedDate) ...
    GROUP BY WhoId`: it is asked only of Leads not touched yet, which have an activity or two
    at most, and the sandbox answers no aggregate but `COUNT()`."""
    return soql(
        "SELECT WhoId, CreatedDate FROM {obj:literal} WHERE WhoId IN {ids} "
        "AND CreatedDate >= {since} ORDER BY CreatedDate, Id",
        obj=sobject,
        ids=list(lead_ids),
        since=since,
    )


# -- records removed in Salesforce -----------------------------------------------------------


def removed_records(sobject: str, fields: Sequence[str], *, since: datetime | None) -> str:
    """`fields` of the `sobject` records in the Recycle Bin (deleted, or merged into the
    record their `MasterRecordId` names) whose `SystemModstamp` (set by the deletion) is
    `since` or later (all when None), oldest first and by Id within a timestamp. For
    `queryAll`: `query` never shows a deleted record."""
    template = "SELECT {names:fields} FROM {obj:literal} WHERE IsDeleted = true"
    if since is not None:
        template += " AND SystemModstamp >= {since}"
    template += " ORDER BY SystemModstamp, Id"
    return soql(template, names=list(fields), obj=sobject, since=since)


# -- privacy erasure --------------------------------------------------------------------------


def person_records(
    sobject: str,
    fields: Sequence[str],
    external_id_field: str,
    *,
    email: str | None,
    hubspot_id: str | None,
    ids: Sequence[str],
    deleted: bool = False,
) -> str:
    """`fields` of the `sobject` records (Lead, converted ones included, or Contact) that are
    one person: with this email (Salesforce compares emails without case), carrying this
    HubSpot contact id, or with one of these ids. At least one of the three is given.
    `deleted`: only those in the Recycle Bin (for `queryAll`)."""
    conditions: list[str] = []
    values: dict[str, Any] = {"names": list(fields), "obj": sobject}
    if email:
        conditions.append("Email = {email}")
        values["email"] = email
    if hubspot_id:
        conditions.append("{ext:literal} = {hubspot_id}")
        values.update(ext=external_id_field, hubspot_id=hubspot_id)
    if ids:
        conditions.append("Id IN {ids}")
        values["ids"] = list(ids)
    if not conditions:
        msg = "a person's records are found by an email, a HubSpot contact id or ids"
        raise ValueError(msg)
    template = "SELECT {names:fields} FROM {obj:literal} WHERE "
    if deleted:
        template += "IsDeleted = true AND (" + " OR ".join(conditions) + ")"
    else:
        template += " OR ".join(conditions)
    template += " ORDER BY Id"
    return soql(template, **values)
