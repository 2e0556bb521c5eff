"""What the stream engines need of the two gateways, as protocols: the engines take anything
shaped like this (the real gateways, or fakes in tests), and never import the client libraries.
Salesforce is read through typed reads only (`connector.salesforce.reads`): no stream writes
SOQL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from connector.model import (
    ConvertResult,
    HubSpotContact,
    LeadConvert,
    LeadStatusValue,
    LeadUpdate,
    LeadUpsert,
    ListRemoval,
    RecordUpdate,
    SalesforceMatch,
    SearchFilter,
    WriteResult,
)
from connector.streams.windows import Search


class SalesforceSide(Protocol):
    """The Salesforce gateway's calls the streams make."""

    @property
    def user_id(self) -> str: ...
    def find_by_emails(self, emails: Sequence[str]) -> list[SalesforceMatch]: ...
    def current_leads(
        self, lead_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def current_contacts(
        self, contact_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def lead_statuses(self) -> tuple[LeadStatusValue, ...]: ...
    def leads_at_status(
        self,
        statuses: Sequence[str],
        fields: Sequence[str],
        *,
        external_id_field: str,
        after: str | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...
    def contacts_on_accounts(
        self, account_ids: Sequence[str], emails: Sequence[str]
    ) -> list[dict[str, Any]]: ...
    def changed_leads(
        self, since: datetime | None, fields: Sequence[str], *, exclude_user_id: str | None
    ) -> list[dict[str, Any]]: ...
    def upsert_leads(
        self, upserts: Sequence[LeadUpsert], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...
    def update_leads(self, updates: Sequence[LeadUpdate]) -> list[WriteResult]: ...
    def update_records(
        self, sobject: str, updates: Sequence[RecordUpdate], *, auto_assign: bool = False
    ) -> list[WriteResult]: ...
    def convert_leads(self, converts: Sequence[LeadConvert]) -> list[ConvertResult]: ...
    def describe(self, sobject: str) -> dict[str, Any]: ...
    def ensure_budget(
        self, what: str, *, reads: int = 0, writes: Sequence[int] = (), converts: int = 0
    ) -> None: ...


class HubSpotSide(Protocol):
    """The HubSpot gateway's calls the streams make."""

    def changed_contacts(
        self,
        since: datetime | None,
        properties: Sequence[str],
        *,
        any_of: Sequence[Sequence[SearchFilter]] = (),
        until: datetime | None = None,
        earlier: tuple[datetime | None, datetime | None] | None = None,
    ) -> Iterator[list[HubSpotContact]]: ...
    def searchable_together(
        self, any_of: Sequence[Sequence[SearchFilter]], *, windows: int
    ) -> bool: ...
    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[HubSpotContact]: ...
    def update_contacts(
        self, updates: Mapping[str, Mapping[str, str | None]]
    ) -> list[WriteResult]: ...
    def remove_from_lists(self, memberships: Mapping[str, Sequence[str]]) -> list[ListRemoval]: ...
    def list_ids_by_name(self, names: Sequence[str]) -> dict[str, str]: ...
    def properties(self, object_type: str = "contacts") -> list[dict[str, Any]]: ...


def contacts_search(
    hubspot: HubSpotSide, properties: Sequence[str], any_of: Sequence[Sequence[SearchFilter]]
) -> Search[HubSpotContact]:
    """A stream's search of changed contacts by window of change times (`Stream.sweep`)."""

    def search(
        since: datetime | None,
        until: datetime | None,
        earlier: tuple[datetime | None, datetime | None] | None,
    ) -> Iterator[list[HubSpotContact]]:
        return hubspot.changed_contacts(
            since, properties, any_of=any_of, until=until, earlier=earlier
        )

    return search
