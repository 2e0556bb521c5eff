"""The way back of lead.yaml's fields (`both`, `to_hubspot`): pure decisions per Lead."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from connector.mapping.model import LeadMapping
from connector.mapping.plan import LeadPlan
from connector.streams.contacts.decide import fingerprint
from connector.streams.leads.twoway import back_to_hubspot, changed, returning

EARLY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

YAML = """
fields:
  - {hubspot: lastname, salesforce: LastName}
  - {hubspot: phone, salesforce: Phone, direction: both, conflict: newest_wins}
  - {hubspot: jobtitle, salesforce: Title, direction: both, conflict: hubspot_wins}
  - {hubspot: rating, salesforce: Rating, direction: to_hubspot}
  - hubspot: size
    salesforce: Size__c
    direction: both
    conflict: salesforce_wins
    transform: [map: {small: S, large: L}]
  - {hubspot: tier, salesforce: Tier__c, direction: to_hubspot, transform: [map: {A: gold}]}
"""


def _plan():
    return LeadPlan.compile(LeadMapping.model_validate(yaml.safe_load(YAML)))


def _fields():
    return returning(_plan().fields)


def _back(lead, props, agreed, *, hubspot_at=EARLY, salesforce_at=LATE):
    """`props` as HubSpot sends a contact: every property the plan reads, None if not given."""
    return back_to_hubspot(
        _fields(),
        lead,
        {**dict.fromkeys(_plan().hubspot_properties()), **props},
        agreed,
        hubspot_changed_at=hubspot_at,
        salesforce_changed_at=salesforce_at,
    )


def test_only_fields_going_to_hubspot_come_back():
    assert [f.salesforce for f in _fields()] == ["Phone", "Title", "Rating", "Size__c", "Tier__c"]


def test_a_lead_value_both_sides_agreed_on_is_no_change():
    """Our own write (or the overlap) reads as unchanged: nothing to weigh, nothing to send."""
    lead = {"Phone": "+1 555", "Title": "CTO", "Rating": None, "Size__c": "S", "Tier__c": None}
    agreed = {name: fingerprint(value) for name, value in lead.items()}
    assert changed(_fields(), lead, agreed) == []
    assert _back(lead, {}, agreed).updates == {}


def test_only_salesforce_changed_goes_to_hubspot_in_hubspot_terms():
    """Size__c "L" goes back through the inverted map as "large"; the agreement is recorded."""
    agreed = {"Size__c": fingerprint("S"), "Title": fingerprint("CTO")}
    lead = {"Size__c": "L", "Title": "CTO"}
    back = _back(lead, {"size": "small", "jobtitle": "CTO"}, agreed)
    assert back.updates == {"size": "large"}
    assert back.agreed["Size__c"] == fingerprint("L")


def test_hubspot_wins_only_when_hubspot_changed_too():
    """Title is hubspot_wins: a rep's new title comes back while HubSpot still holds the value
    both agreed on, and is kept out when marketing changed it as well."""
    agreed = {"Title": fingerprint("CTO")}
    assert _back({"Title": "CEO"}, {"jobtitle": "CTO"}, agreed).updates == {"jobtitle": "CEO"}
    both = _back({"Title": "CEO"}, {"jobtitle": "Founder"}, agreed)
    assert both.updates == {} and "Title" in both.kept


def test_newest_wins_weighs_each_sides_change_time():
    agreed = {"Phone": fingerprint("+1 000")}
    props = {"phone": "+1 111"}
    assert _back({"Phone": "+1 222"}, props, agreed, salesforce_at=LATE).updates == {
        "phone": "+1 222"
    }
    kept = _back({"Phone": "+1 222"}, props, agreed, hubspot_at=LATE, salesforce_at=EARLY)
    assert kept.updates == {} and kept.kept["Phone"].startswith("newest_wins")


def test_both_already_agree_records_the_agreement_without_a_write():
    back = _back({"Phone": "+1 333"}, {"phone": "+1 333"}, {})
    assert back.updates == {} and back.agreed["Phone"] == fingerprint("+1 333")
    assert back.kept == {}


def test_to_hubspot_field_follows_its_rule_and_transform():
    """Rating (salesforce_wins by default) overwrites HubSpot; Tier__c maps "A" to "gold"."""
    back = _back({"Rating": "Hot", "Tier__c": "A"}, {"rating": "Warm"}, {})
    assert back.updates == {"rating": "Hot", "tier": "gold"}


def test_a_value_the_map_cannot_carry_back_fails_the_record_naming_the_field():
    back = _back({"Tier__c": "Z"}, {}, {})
    assert back.updates == {}
    assert back.failure is not None and back.failure[0] == "Tier__c"
    assert "tier" in back.failure[1] and "'Z'" in back.failure[1]  # the value named
