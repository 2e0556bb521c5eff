"""Domain types shared by every stage: what gateways return and what the engine decides.

Once data leaves a gateway it travels in these types, never as raw API dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from connector.display import clip, escape, show_message

SalesforceObject = Literal["Lead", "Contact"]

#: Longest error code kept in a reason (Salesforce's and HubSpot's are short words).
CODE_LIMIT = 100


@dataclass(frozen=True)
class HubSpotContact:
    """A HubSpot contact as pulled: its id, the properties asked for, its change time (UTC)."""

    id: str
    properties: dict[str, str | None]
    updated_at: datetime

    @property
    def email(self) -> str | None:
        return self.properties.get("email")


@dataclass(frozen=True)
class SalesforceMatch:
    """An existing Lead or Contact found by email before creating a Lead."""

    object: SalesforceObject
    id: str
    email: str
    hubspot_id: str | None = None  # its HubSpot_Contact_Id__c, when it has one
    account_id: str | None = None  # Contact.AccountId
    owner_id: str | None = None


@dataclass(frozen=True)
class LeadStatusValue:
    """One row of the org's LeadStatus: the value Lead.Status takes, and whether it is one a
    conversion sets."""

    api_name: str
    label: str
    converted: bool

    def as_row(self) -> tuple[str, str, bool]:
        """`(ApiName, MasterLabel, IsConverted)`, as `connector.mapping.conversion` checks it."""
        return (self.api_name, self.label, self.converted)


@dataclass(frozen=True)
class UserInfo:
    """A Salesforce user as routing needs it."""

    id: str
    name: str
    username: str
    active: bool
    role: str | None = None


@dataclass(frozen=True)
class QueueInfo:
    """A Salesforce queue (a Group of type Queue)."""

    id: str
    name: str
    developer_name: str


@dataclass(frozen=True)
class Opportunity:
    """An open opportunity: whose it is and on which account."""

    id: str
    account_id: str
    owner_id: str


@dataclass(frozen=True)
class OpportunityOutcome:
    """Where an opportunity stands, for the reports: its stage, amount, and whether it closed
    and was won (read in one batch by id)."""

    id: str
    stage: str | None
    amount: float | None
    is_closed: bool
    is_won: bool
    close_date: date | None = None


#: The stages a lead's journey records, in funnel order (`Transition.stage`):
#: `mql` (marketing qualified: the moment HubSpot says, else when we first saw it qualified),
#: `handoff` (its Lead created and assigned), `touched` (the Lead's status left the open
#: status: sales' first touch), `accepted` / `rejected` (sales' feedback, a reason with the
#: rejection), `sql` (converted: sales qualified), `opportunity` (the conversion made one).
#: Won is no transition: it is read from Salesforce with the opportunity's stage and amount.
#: HubSpot contact properties a handoff takes its attribution from (HubSpot's own): when the
#: contact became MQL, its original source, its latest (last touch converting) campaign.
MQL_DATE_PROPERTY = "hs_lifecyclestage_marketingqualifiedlead_date"
SOURCE_PROPERTY = "hs_analytics_source"
CAMPAIGN_PROPERTY = "hs_analytics_last_touch_converting_campaign"
#: Salesforce's key prefix of a queue (a Group): a Lead owned by one waits in that queue.
QUEUE_PREFIX = "00G"

STAGES = ("mql", "handoff", "touched", "accepted", "rejected", "sql", "opportunity")


@dataclass(frozen=True)
class Transition:
    """One stage a lead entered, when, and what the reports group by. Ids only: never a name,
    email or phone (an erasure keeps the row without its ids). A lead's journey is its HubSpot
    contact and its Lead; the same stage of the same journey is recorded once (the first)."""

    stage: str
    hubspot_id: str
    lead_id: str
    at: datetime | None = None  # None: when the batch is recorded
    contact_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str | None = None  # the Lead's owner (a user, or a queue: `queue`)
    queue: str | None = None  # the queue that owned the Lead when it was handed over
    source: str | None = None  # HubSpot's original source
    campaign: str | None = None  # HubSpot's latest campaign
    reason: str | None = None  # the rejection reason sales gave


@dataclass(frozen=True)
class Activity:
    """An activity (a Task or an Event) on a Lead, when it was created: sales touching the
    Lead (the SLA's first touch, when it comes before the Lead's status changes)."""

    lead_id: str
    at: datetime
    sobject: str  # Task or Event


@dataclass(frozen=True)
class Journey:
    """One lead's journey as the store aggregates it: when it entered each stage (None: not
    yet), with its grouping keys. `entered` is the cohort it counts in: its MQL time, else its
    handoff."""

    hubspot_id: str
    lead_id: str
    entered: datetime
    mql: datetime | None = None
    handoff: datetime | None = None
    touched: datetime | None = None
    accepted: datetime | None = None
    rejected: datetime | None = None
    sql: datetime | None = None
    opportunity: datetime | None = None
    owner_id: str | None = None
    queue: str | None = None
    source: str | None = None
    campaign: str | None = None
    reason: str | None = None
    opportunity_id: str | None = None


@dataclass(frozen=True)
class AccountSearch:
    """Which accounts to read as a batch's candidates (routing's matching decides what to look
    for; the query is Salesforce's business): every account one of whose `domain_fields`
    contains one of `domains` (each spelling routing wants searched, in search order) or
    `website_words`, or whose Name matches one of `names`. Each of `names` is a tuple of LIKE
    patterns that must all occur in the name, each pattern a tuple of literal parts joined by
    single-character wildcards (`("m", "ll", "r")` is `%m_ll_r%`)."""

    domains: tuple[str, ...] = ()
    website_words: tuple[str, ...] = ()
    names: tuple[tuple[tuple[str, ...], ...], ...] = ()
    domain_fields: tuple[str, ...] = ("Website",)


@dataclass(frozen=True)
class LeadUpsert:
    """One Lead to upsert by external id (the HubSpot contact id)."""

    hubspot_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class LeadUpdate:
    """One existing Lead (found by email) to update by its Salesforce id, linking it."""

    hubspot_id: str
    lead_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class RecordUpdate:
    """One existing Salesforce record (Contact, Opportunity, ...) to update by its Id; `key`
    names it in the results (a HubSpot contact id, a Lead id: whatever the caller tracks)."""

    key: str
    record_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class RecordMerge:
    """Salesforce records of one type to merge (the partner API's `merge`): `duplicate_ids`
    (one or two) go into `master_id`, which keeps its values and Id."""

    master_id: str
    duplicate_ids: tuple[str, ...]


@dataclass(frozen=True)
class FieldError:
    """One error Salesforce or HubSpot reported for a record."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


def describe_errors(errors: tuple[FieldError, ...], values: Mapping[str, Any] | None = None) -> str:
    """Salesforce's (or HubSpot's) errors for people and the dead-letter store: `CODE: message
    (Field, ...)`, joined with "; ".

    Each message keeps the remote's words, but a value it echoes (the record's own data: a
    10 kB street, an escape sequence in a name) is shown clipped and escaped (`show_message`),
    so the reason is one bounded line. `values` (field -> value sent) lets the echoed value be
    found exactly; without them the message is escaped and clipped as a whole.
    """
    return "; ".join(_describe(e, values or {}) for e in errors)


def _describe(error: FieldError, values: Mapping[str, Any]) -> str:
    echoed = [values[f] for f in error.fields if f in values] or list(values.values())
    fields = f" ({escape(', '.join(error.fields))})" if error.fields else ""
    return f"{clip(error.code, CODE_LIMIT)}: {show_message(error.message, echoed)}{fields}"


@dataclass(frozen=True)
class WriteResult:
    """The outcome of writing one record: its Salesforce id, or the errors."""

    hubspot_id: str
    success: bool
    salesforce_id: str | None = None
    created: bool = False
    errors: tuple[FieldError, ...] = ()

    @property
    def reason(self) -> str:
        return describe_errors(self.errors)


@dataclass(frozen=True)
class Link:
    """What a HubSpot contact is linked to in Salesforce."""

    hubspot_id: str
    object: SalesforceObject
    salesforce_id: str
    lead_id: str | None = None
    contact_id: str | None = None
    account_id: str | None = None
    opportunity_id: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be written, kept with its reason until it succeeds."""

    stream: str
    record_id: str
    reason: str
    code: str | None = None
    fields: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    first_failed_at: datetime | None = None
    last_failed_at: datetime | None = None


#: Filters a caller may put in one group of a contacts search: HubSpot allows 6 per group, and
#: the HubSpot gateway adds 3 of its own (change time from and until, and the id for keyset).
MAX_CALLER_FILTERS = 3


_ID_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_salesforce_id(value: str | None) -> bool:
    """Whether `value` is a well-formed Salesforce record id (15 characters, or 18 with the
    checksum that makes them case-insensitively unique): Salesforce refuses a whole query
    that names a malformed one, so a stored id is checked before it is looked up."""
    if not value or len(value) not in (15, 18) or not (value.isascii() and value.isalnum()):
        return False
    if len(value) == 15:
        return True
    suffix = "".join(
        _ID_SUFFIX[sum(1 << i for i, ch in enumerate(value[k : k + 5]) if ch.isupper())]
        for k in (0, 5, 10)
    )
    return value[15:].upper() == suffix


@dataclass(frozen=True)
class ReadMark:
    """How far a read of contacts in change-time order has come, so a stopped read goes on
    from there: every contact changed before `ms` (epoch milliseconds) was read; at `ms`, those
    in `ids` and, when `upto` is set, every one whose id is `upto` or lower. Bounded whatever
    the data: `ids` holds at most the contacts of one instant read before its id order began."""

    ms: int
    ids: tuple[str, ...] = ()
    upto: int | None = None

    def covers(self, ms: int, record_id: str) -> bool:
        """Whether a contact changed at `ms` with this id was read already."""
        if ms != self.ms:
            return ms < self.ms
        return record_id in self.ids or (self.upto is not None and int(record_id) <= self.upto)

    def as_json(self) -> dict[str, Any]:
        """The mark as a checkpoint keeps it."""
        return {"ms": self.ms, "ids": list(self.ids), "upto": self.upto}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ReadMark:
        upto = value.get("upto")
        return cls(
            ms=int(value["ms"]),
            ids=tuple(str(i) for i in value.get("ids") or ()),
            upto=None if upto is None else int(upto),
        )


@dataclass(frozen=True)
class SearchFilter:
    """One HubSpot search filter (`EQ`, `IN`, `GTE`, `HAS_PROPERTY`, ...)."""

    property: str
    operator: str
    value: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadConvert:
    """One Lead to convert (a `leadConverts` element of the partner API's convertLead).

    `account_id`/`contact_id` merge into existing records (the contact must belong to the
    account); None makes new ones. `owner_id` None keeps the Lead's owner.
    """

    lead_id: str
    converted_status: str
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_name: str | None = None
    do_not_create_opportunity: bool = False
    owner_id: str | None = None


@dataclass(frozen=True)
class ConvertResult:
    """What one conversion became (its ids), or why Salesforce refused it (`errors`)."""

    lead_id: str
    success: bool
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: tuple[FieldError, ...] = ()

    @property
    def reason(self) -> str:
        return describe_errors(self.errors)


@dataclass(frozen=True)
class ListRemoval:
    """What taking contacts out of one HubSpot list did.

    `removed`: the contacts that were members and are no longer. `not_members`: the others
    asked for (not in the list, or no such contact): nothing to do, not an error. `refused`:
    HubSpot's reason when it refused the list as a whole (a DYNAMIC list, whose filters alone
    decide its members; no such list; no permission), with its `code`; `removed` then holds what
    earlier calls for the same list took out. The stream reports a refusal and the pass goes on.
    """

    list_id: str
    removed: tuple[str, ...] = ()
    not_members: tuple[str, ...] = ()
    refused: str | None = None
    code: str | None = None

    @property
    def success(self) -> bool:
        return self.refused is None
