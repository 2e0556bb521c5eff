"""Properties, owners and v4 associations through the unmodified client."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.owners import ApiException as OwnersApiException
from hubspot.crm.properties import ApiException as PropertiesApiException

from tests.conftest import hubspot_client

SEED = {
    "hubspot": {
        "owners": [
            {
                "id": "7001",
                "email": "olga@acme.test",
                "firstName": "Olga",
                "lastName": "Owner",
                "userId": 9001,
            },
            {
                "id": "7002",
                "email": "pete@acme.test",
                "firstName": "Pete",
                "lastName": "Rep",
                "teams": [{"id": "1", "name": "EMEA", "primary": True}],
            },
            {"id": "7003", "email": "gone@acme.test", "archived": True},
        ],
        "properties": {
            "contacts": [
                {
                    "name": "lead_grade",
                    "label": "Lead grade",
                    "type": "enumeration",
                    "fieldType": "select",
                    "options": [{"label": "A", "value": "a"}],
                }
            ]
        },
        "companies": [
            {"id": "201", "properties": {"name": "Acme"}},
            {"id": "202", "properties": {"name": "Globex"}},
        ],
        "contacts": [
            {
                "id": "101",
                "properties": {"email": "ada@acme.test", "hubspot_owner_id": "7001"},
                "associations": {"companies": ["201", "202"]},
            },
            {
                "id": "102",
                "properties": {"email": "alan@globex.test"},
                "associations": {"companies": ["202"]},
            },
            {"id": "103", "properties": {"email": "loner@nowhere.test"}},
        ],
    }
}


def test_lifecyclestage_has_the_eight_default_stages_in_order(sandbox):
    """The properties API lists lifecyclestage's eight default options in funnel order."""
    client = hubspot_client(sandbox(SEED))
    props = {p.name: p for p in client.crm.properties.core_api.get_all("contacts").results}
    stage = props["lifecyclestage"]
    assert stage.type == "enumeration"
    assert [o.value for o in stage.options] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]
    assert [o.display_order for o in stage.options] == list(range(8))
    assert stage.options[2].label == "Marketing Qualified Lead"


def test_hs_lead_status_has_its_default_options(sandbox):
    """hs_lead_status offers HubSpot's default lead statuses."""
    client = hubspot_client(sandbox(SEED))
    status = client.crm.properties.core_api.get_by_name("contacts", "hs_lead_status")
    assert [o.value for o in status.options] == [
        "NEW",
        "OPEN",
        "IN_PROGRESS",
        "OPEN_DEAL",
        "UNQUALIFIED",
        "ATTEMPTED_TO_CONTACT",
        "CONNECTED",
        "BAD_TIMING",
    ]


def test_properties_list_covers_what_leadbridge_uses(sandbox):
    """Standard, integration and seeded custom properties are all listed, typed as in HubSpot."""
    client = hubspot_client(sandbox(SEED))
    contacts = {p.name: p for p in client.crm.properties.core_api.get_all("contacts").results}
    for name in (
        "email",
        "firstname",
        "lastname",
        "company",
        "jobtitle",
        "phone",
        "mobilephone",
        "website",
        "address",
        "city",
        "state",
        "zip",
        "country",
        "industry",
        "numemployees",
        "annualrevenue",
        "hubspotscore",
        "hs_analytics_source",
        "hubspot_owner_id",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
        "associatedcompanyid",
        "salesforceleadid",
        "salesforcecontactid",
        "salesforceaccountid",
        "salesforceopportunityid",
        "salesforce_owner_id",
        "sales_rejection_reason",
        "lead_grade",
    ):
        assert name in contacts, name
    assert contacts["hubspotscore"].type == "number"
    assert contacts["lastmodifieddate"].type == "datetime"
    assert contacts["lastmodifieddate"].modification_metadata.read_only_value is True
    assert contacts["lead_grade"].hubspot_defined is False
    companies = {p.name for p in client.crm.properties.core_api.get_all("companies").results}
    assert {
        "name",
        "domain",
        "website",
        "industry",
        "country",
        "city",
        "numberofemployees",
        "annualrevenue",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
        "hubspot_owner_id",
    } <= companies


def test_unknown_property_answers_404(sandbox):
    """Reading a property that does not exist answers 404."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(PropertiesApiException) as raised:
        client.crm.properties.core_api.get_by_name("contacts", "shoe_size")
    assert raised.value.status == 404
    assert json.loads(raised.value.body)["category"] == "OBJECT_NOT_FOUND"


def test_owners_page_filter_and_get(sandbox):
    """Owners list in id order (active only), page with after, filter by email, get by id."""
    client = hubspot_client(sandbox(SEED))
    api = client.crm.owners.owners_api
    page = api.get_page(limit=1)
    assert [o.id for o in page.results] == ["7001"]
    rest = api.get_page(limit=1, after=page.paging.next.after)
    assert [o.email for o in rest.results] == ["pete@acme.test"]
    assert rest.results[0].teams[0].name == "EMEA"
    assert rest.paging is None
    assert [o.id for o in api.get_page(email="OLGA@acme.test").results] == ["7001"]
    assert [o.id for o in api.get_page(archived=True).results] == ["7003"]
    owner = api.get_by_id(7001)
    assert (owner.first_name, owner.user_id, owner.type) == ("Olga", 9001, "PERSON")
    assert api.get_by_id(9001, id_property="userId").id == "7001"
    with pytest.raises(OwnersApiException) as raised:
        api.get_by_id(1234)
    assert raised.value.status == 404


def test_owner_ids_validate_hubspot_owner_id(sandbox):
    """hubspot_owner_id accepts active owners' ids only (INVALID_OWNER_ID otherwise)."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    client.crm.contacts.basic_api.update("102", {"properties": {"hubspot_owner_id": "7002"}})
    with pytest.raises(ContactsApiException) as raised:
        client.crm.contacts.basic_api.update("102", {"properties": {"hubspot_owner_id": "7003"}})
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["errors"][0]["code"] == "INVALID_OWNER_ID"


def test_contact_company_associations_mark_the_primary(sandbox):
    """A contact's first company carries typeId 1 'Primary' besides the unlabeled 279."""
    client = hubspot_client(sandbox(SEED))
    answer = client.crm.associations.v4.batch_api.get_page(
        "contacts", "companies", {"inputs": [{"id": "101"}, {"id": "102"}]}
    )
    to = {r._from.id: r.to for r in answer.results}
    assert [t.to_object_id for t in to["101"]] == ["201", "202"]
    assert [(a.type_id, a.label) for a in to["101"][0].association_types] == [
        (1, "Primary"),
        (279, None),
    ]
    assert [(a.type_id, a.label) for a in to["101"][1].association_types] == [(279, None)]
    assert [(a.type_id, a.label) for a in to["102"][0].association_types] == [
        (1, "Primary"),
        (279, None),
    ]
    assert type(answer).__name__ == "BatchResponsePublicAssociationMultiWithLabel"  # a 200


def test_contacts_without_companies_are_207_errors(sandbox):
    """An input without associations becomes a NO_ASSOCIATIONS_FOUND error (207)."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    answer = client.crm.associations.v4.batch_api.get_page(
        "contacts", "companies", {"inputs": [{"id": "101"}, {"id": "103"}]}
    )
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 207
    assert [r._from.id for r in answer.results] == ["101"]
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert error.sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error.message == "No company is associated with contact 103."
    assert error.context["fromObjectId"] == ["103"]


def test_company_to_contact_associations(sandbox):
    """From a company, its contacts come back; primary where it is their primary company."""
    client = hubspot_client(sandbox(SEED))
    answer = client.crm.associations.v4.batch_api.get_page(
        "companies", "contacts", {"inputs": [{"id": "202"}]}
    )
    to = answer.results[0].to
    assert [t.to_object_id for t in to] == ["101", "102"]
    assert [a.type_id for a in to[0].association_types] == [280]
    assert [a.type_id for a in to[1].association_types] == [2, 280]
