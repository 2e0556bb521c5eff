"""`StateStore.find_tombstone`: what a privacy erasure reads to tell a first erasure from a
rerun, on SQLite and PostgreSQL."""

from __future__ import annotations

from connector.state import StateStore
from tests.unit.test_state_erasure import (  # noqa: F401  (fixtures)
    AUGUSTA,
    GRACE,
    KEY,
    OTHER_KEY,
    clock,
    erase_augusta,
    fill,
    store,
)


def test_a_tombstone_is_found_by_id_email_or_salesforce_id(store: StateStore) -> None:  # noqa: F811
    """Her tombstone is found by her HubSpot id, her email in any case, or her Lead or Contact
    id; Grace, never erased, has none; an email under another key is not hers."""
    fill(store, AUGUSTA, duplicate_id="951")
    fill(store, GRACE, duplicate_id="952")
    erase_augusta(store)
    store.erasure_outcome(1, hubspot="deleted", salesforce="pending")

    by_id = store.find_tombstone(hubspot_id=AUGUSTA.hubspot_id)
    by_email = store.find_tombstone(email=f" {AUGUSTA.email.lower()}", key=KEY)
    by_lead = store.find_tombstone(salesforce_ids=[None, AUGUSTA.lead_id])

    assert by_id is not None and by_id.id == 1
    assert by_id == by_email == by_lead
    assert (by_id.hubspot_outcome, by_id.salesforce_outcome) == ("deleted", "pending")
    assert by_id.contact_id == AUGUSTA.contact_id
    assert store.find_tombstone(hubspot_id=GRACE.hubspot_id, email=GRACE.email, key=KEY) is None
    assert store.find_tombstone(email=AUGUSTA.email, key=OTHER_KEY) is None
    assert store.find_tombstone() is None
