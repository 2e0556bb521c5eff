"""`ErasedPeople`: the one question every path asks before it writes a person, and privacy.yaml's
`after_erasure` for a new contact with an erased email, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.model import HubSpotContact
from connector.state import StateStore
from connector.streams.erased import ErasedPeople
from tests.unit.test_state_erasure import (  # noqa: F401  (fixtures)
    AUGUSTA,
    KEY,
    clock,
    erase_augusta,
    fill,
    store,
)

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def contact(cid: str, email: str | None) -> HubSpotContact:
    return HubSpotContact(cid, {"email": email}, NOW)


def test_ignore_skips_her_contact_and_any_new_one_with_her_email(store: StateStore) -> None:  # noqa: F811
    """Under `ignore` her erased contact and a later form fill's new contact (her email in
    another case) are hers; another person's is not; one query answers the page."""
    fill(store, AUGUSTA, duplicate_id="951")
    erase_augusta(store)
    erased = ErasedPeople(store, KEY, "ignore")
    page = [
        contact(AUGUSTA.hubspot_id, None),
        contact("777", f"  {AUGUSTA.email.upper()} "),
        contact("778", "someone.else@example.test"),
    ]

    assert erased.contacts(page, where="test") == {AUGUSTA.hubspot_id, "777"}
    found = erased.records(salesforce_ids=[AUGUSTA.lead_id, "00Q000000000999"])
    assert found.salesforce_ids == {AUGUSTA.lead_id}


def test_treat_as_new_syncs_a_new_contact_with_her_email_but_never_her_old_ids(
    store: StateStore,  # noqa: F811
) -> None:
    """Under `treat_as_new` the form fill's new contact is a new person; her erased contact's
    id and her Lead stay skipped."""
    fill(store, AUGUSTA, duplicate_id="951")
    erase_augusta(store)
    erased = ErasedPeople(store, KEY, "treat_as_new")
    page = [contact(AUGUSTA.hubspot_id, AUGUSTA.email), contact("777", AUGUSTA.email)]

    assert erased.contacts(page, where="test") == {AUGUSTA.hubspot_id}
    found = erased.records(salesforce_ids=[AUGUSTA.lead_id], emails=[AUGUSTA.email])
    assert found.salesforce_ids == {AUGUSTA.lead_id} and not found.emails
