"""Seeds load into the shapes the real APIs have, and broken seeds say exactly what is wrong."""

from __future__ import annotations

import pytest

from connector.sandbox.app import SandboxConfig
from connector.sandbox.ids import is_valid_id, to18
from connector.sandbox.seed import SeedError, load_seed


def _org(salesforce: dict):
    org, _portal = load_seed({"salesforce": salesforce}, SandboxConfig())
    return org


def test_eighteen_character_ids_match_salesforces_documented_example():
    """The checksum suffix is Salesforce's: 001D000000IqhSL becomes 001D000000IqhSLIAZ."""
    assert to18("001D000000IqhSL") == "001D000000IqhSLIAZ"
    assert is_valid_id("001D000000IqhSLIAZ")
    assert not is_valid_id("001D000000IqhSLAAA")


def test_generated_ids_have_the_objects_key_prefix():
    """Records without an Id get 18-character ids with their object's key prefix."""
    org = _org({"Account": [{"Name": "A"}], "Lead": [{"LastName": "L", "Company": "C"}]})
    (account,) = org.records["Account"].values()
    (lead,) = org.records["Lead"].values()
    assert account["Id"].startswith("001") and len(account["Id"]) == 18
    assert lead["Id"].startswith("00Q") and is_valid_id(lead["Id"])


def test_named_records_can_be_referenced_forward_and_backward():
    """`@names` resolve to generated ids, including a child listed before its parent."""
    org = _org(
        {
            "Account": [
                {"Id": "@child", "Name": "Child", "ParentId": "@parent"},
                {"Id": "@parent", "Name": "Parent"},
            ]
        }
    )
    by_name = {a["Name"]: a for a in org.records["Account"].values()}
    assert by_name["Child"]["ParentId"] == by_name["Parent"]["Id"]


def test_system_fields_default_to_the_integration_user_and_can_be_set():
    """Unset system fields are filled at load; a seed may set ones the API would refuse."""
    org = _org(
        {
            "Lead": [
                {
                    "LastName": "Old",
                    "Company": "C",
                    "CreatedDate": "2020-01-02T03:04:05Z",
                    "LastModifiedDate": "2021-01-01T00:00:00.000+0000",
                },
                {"LastName": "New", "Company": "C"},
            ]
        }
    )
    integration = org.integration_user_id()
    old, new = sorted(org.records["Lead"].values(), key=lambda r: r["LastName"] != "Old")
    assert old["CreatedDate"] == "2020-01-02T03:04:05.000+0000"
    assert old["SystemModstamp"] == "2021-01-01T00:00:00.000+0000"
    assert new["CreatedById"] == integration and new["OwnerId"] == integration
    assert new["Status"] == "Open - Not Contacted"


def test_integration_user_exists_in_every_sandbox():
    """Even an empty seed has the integration user, active, with the sandbox password."""
    org = _org({})
    user = org.user_by_username("integration@sandbox.local")
    assert user["IsActive"] is True
    assert org.passwords["integration@sandbox.local"] == "sandbox"


def test_seeded_lead_statuses_replace_the_defaults():
    """A seed's LeadStatus list is the org's: Lead.Status accepts exactly those labels."""
    org = _org(
        {
            "LeadStatus": [
                {"MasterLabel": "New", "IsDefault": True},
                {"MasterLabel": "Qualified", "IsConverted": True},
            ],
            "Lead": [{"LastName": "L", "Company": "C"}],
        }
    )
    assert [s["MasterLabel"] for s in org.lead_statuses()] == ["New", "Qualified"]
    assert next(iter(org.records["Lead"].values()))["Status"] == "New"
    assert org.schema["Lead"].fields["Status"].picklist == ("New", "Qualified")


@pytest.mark.parametrize(
    ("salesforce", "expected"),
    [
        ({"Lead": [{"LastName": "L"}]}, "seed.salesforce.Lead[0] (Company): Required fields"),
        (
            {"Account": [{"Name": "A", "ParentId": "@nowhere"}]},
            "seed.salesforce.Account[0].ParentId: no record is named '@nowhere'",
        ),
        (
            {"Lead": [{"LastName": "L", "Company": "C", "Email": "not an email"}]},
            "seed.salesforce.Lead[0] (Email): Email: invalid email address: not an email",
        ),
        (
            {"Lead": [{"LastName": "L", "Company": "C", "Status": "Maybe"}]},
            "bad value for restricted picklist field: Maybe",
        ),
        ({"Account": [{"Id": "003D000000IqhSL", "Name": "A"}]}, "not a valid Account id"),
        (
            {"Lead": [{"LastName": "L", "Company": "C", "Colour__c": "red"}]},
            "No such column 'Colour__c' on sobject of type Lead",
        ),
        ({"Leads": []}, "unknown objects ['Leads']"),
        (
            {
                "Lead": [
                    {"LastName": "A", "Company": "C", "HubSpot_Contact_Id__c": "7"},
                    {"LastName": "B", "Company": "C", "HubSpot_Contact_Id__c": "7"},
                ]
            },
            "duplicate value found: HubSpot_Contact_Id__c",
        ),
    ],
)
def test_broken_seeds_name_object_record_and_field(salesforce, expected):
    """Each kind of seed mistake is refused with a message that points at it."""
    with pytest.raises(SeedError) as excinfo:
        _org(salesforce)
    assert expected in str(excinfo.value)
