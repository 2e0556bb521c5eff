"""sObject Collections answer batch writes as Salesforce does: HTTP 200 with one result per
record in request order, allOrNone rollback, and 400 only for malformed requests."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.conftest import sf_client

UPSERT = "composite/sobjects/Lead/HubSpot_Contact_Id__c"
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}


def _lead(n: int, **extra) -> dict:
    return {
        "attributes": {"type": "Lead"},
        "LastName": f"Lead {n}",
        "Company": f"Company {n}",
        "Email": f"lead{n}@example.com",
        "HubSpot_Contact_Id__c": str(1000 + n),
        **extra,
    }


def _entries_since(server, seq: int) -> list[dict]:
    return [e.as_dict() for e in server.sandbox.journal.entries(since=seq, api="salesforce")]


def test_upsert_200_records_with_one_failure_writes_the_rest(sandbox):
    """199 good leads land and one without LastName fails, all in one HTTP 200 answer."""
    server = sandbox()
    sf = sf_client(server)
    records = [_lead(n) for n in range(200)]
    del records[57]["LastName"]
    results = sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert len(results) == 200
    assert results[57] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
        "created": False,
    }
    others = results[:57] + results[58:]
    assert all(r["success"] and r["created"] and r["errors"] == [] for r in others)
    leads = server.sandbox.org.records["Lead"]
    assert len(leads) == 199
    assert [r["id"] for r in others] == [
        lead_id
        for lead_id, _ in sorted(leads.items(), key=lambda kv: int(kv[1]["HubSpot_Contact_Id__c"]))
    ]
    again = sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["created"] for r in again if r["success"]] == [False] * 199
    assert [r["id"] for r in again if r["success"]] == [r["id"] for r in others]


def test_all_or_none_rolls_back_every_record(sandbox):
    """With allOrNone, one bad record leaves nothing written; the others report the rollback."""
    server = sandbox()
    sf = sf_client(server)
    sf.Lead.upsert("HubSpot_Contact_Id__c/1001", {"LastName": "Before", "Company": "C"})
    records = [_lead(1, LastName="After"), _lead(2, Email="broken"), _lead(3)]
    results = sf.restful(UPSERT, method="PATCH", json={"allOrNone": True, "records": records})
    assert results[0] == {"success": False, "errors": [ROLLED_BACK], "created": False}
    assert results[2] == {"success": False, "errors": [ROLLED_BACK], "created": False}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    (lead,) = server.sandbox.org.records["Lead"].values()
    assert lead["LastName"] == "Before"


def test_more_than_200_records_answer_400_exceeded_id_limit(sandbox):
    """201 records are refused whole with EXCEEDED_ID_LIMIT; nothing is written."""
    server = sandbox()
    sf = sf_client(server)
    records = [_lead(n) for n in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert caught.value.status == 400
    assert caught.value.content == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    assert server.sandbox.org.records["Lead"] == {}


def test_unknown_field_fails_the_whole_request(sandbox):
    """A field Lead does not have answers 400 INVALID_FIELD, even for earlier good records."""
    server = sandbox()
    sf = sf_client(server)
    records = [_lead(1), _lead(2, Favourite_Colour__c="blue")]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(UPSERT, method="PATCH", json={"allOrNone": False, "records": records})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert server.sandbox.org.records["Lead"] == {}


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"LastName": "No type", "Company": "C", "HubSpot_Contact_Id__c": "5"}, "INVALID_TYPE"),
        (
            {"attributes": {"type": "Lead"}, "LastName": "No key", "Company": "C"},
            "MISSING_ARGUMENT",
        ),
        (
            {"attributes": {"type": "Contact"}, "LastName": "Other", "HubSpot_Contact_Id__c": "6"},
            "INVALID_TYPE",
        ),
    ],
)
def test_records_without_type_or_external_id_fail_alone(sandbox, record, code):
    """A record without attributes.type, of another type, or without its external id fails
    by itself; the rest of the request is written."""
    server = sandbox()
    sf = sf_client(server)
    results = sf.restful(
        UPSERT, method="PATCH", json={"allOrNone": False, "records": [record, _lead(1)]}
    )
    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == code
    assert results[1]["success"] is True
    assert len(server.sandbox.org.records["Lead"]) == 1


def test_the_same_external_id_twice_fails_both_records(sandbox):
    """Two records with one external id value both fail DUPLICATE_EXTERNAL_ID."""
    sf = sf_client(sandbox())
    records = [_lead(1), _lead(1, LastName="Twin"), _lead(2)]
    results = sf.restful(UPSERT, method="PATCH", json={"records": records})
    assert [r["success"] for r in results] == [False, False, True]
    assert {r["errors"][0]["statusCode"] for r in results[:2]} == {"DUPLICATE_EXTERNAL_ID"}


def test_each_per_record_error_code_reaches_the_results(sandbox):
    """Bad values come back per record with Salesforce's statusCode and fields."""
    sf = sf_client(sandbox())
    sf.restful(UPSERT, method="PATCH", json={"records": [_lead(1)]})
    records = [
        _lead(2, LastName="x" * 81),
        _lead(3, Status="Bogus"),
        _lead(4, Email="nope"),
        {**_lead(5), "HubSpot_Contact_Id__c": "1001", "LastName": None},
    ]
    results = sf.restful(UPSERT, method="PATCH", json={"records": records})
    assert [(r["errors"][0]["statusCode"], r["errors"][0]["fields"]) for r in results] == [
        ("STRING_TOO_LONG", ["LastName"]),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
        ("INVALID_EMAIL_ADDRESS", ["Email"]),
        ("REQUIRED_FIELD_MISSING", ["LastName"]),
    ]


def test_collections_call_is_one_api_call_and_one_journal_entry(sandbox):
    """A 200-record collections request counts once against the daily limit."""
    server = sandbox()
    sf = sf_client(server)
    before, seq = server.sandbox.org.api_used, server.sandbox.journal.last_seq()
    sf.restful(UPSERT, method="PATCH", json={"records": [_lead(n) for n in range(200)]})
    assert server.sandbox.org.api_used == before + 1
    (entry,) = _entries_since(server, seq)
    assert (entry["method"], entry["path"], entry["status"]) == (
        "PATCH",
        f"/services/data/v59.0/{UPSERT}",
        200,
    )


def test_create_update_retrieve_and_delete_collections(sandbox):
    """POST creates, PATCH updates by id, GET retrieves in order (null for unknown ids), and
    DELETE removes: each answering one result per record."""
    server = sandbox()
    sf = sf_client(server)
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"},
                {"attributes": {"type": "Lead"}, "Id": "00QKb00000AAAAA", "LastName": "X"},
            ],
        },
    )
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    account_id, lead_id = created[0]["id"], created[1]["id"]
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "id": lead_id, "Title": "CFO"},
                {"attributes": {"type": "Lead"}, "Title": "No id"},
            ]
        },
    )
    assert updated[0] == {"id": lead_id, "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    fetched = sf.restful(
        "composite/sobjects/Lead", params={"ids": f"{lead_id},00QKb00000ZZZZZ", "fields": "Title"}
    )
    assert fetched == [
        {
            "attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}"},
            "Title": "CFO",
        },
        None,
    ]
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{account_id},{lead_id},bogus"}
    )
    assert [r["success"] for r in deleted] == [True, True, False]
    assert deleted[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert server.sandbox.org.records["Lead"] == server.sandbox.org.records["Account"] == {}


def test_collections_honour_sforce_auto_assign(sandbox):
    """The assignment rule owns created leads unless the request says Sforce-Auto-Assign FALSE."""
    server = sandbox(
        {
            "salesforce": {
                "Group": [{"Id": "@queue", "Name": "Q", "DeveloperName": "Q", "Type": "Queue"}],
                "settings": {"leadAssignmentOwner": "@queue"},
            }
        }
    )
    sf = sf_client(server)
    me = server.sandbox.org.integration_user_id()
    queue_id = next(iter(server.sandbox.org.records["Group"]))
    assigned = sf.restful(UPSERT, method="PATCH", json={"records": [_lead(1, OwnerId=me)]})
    kept = sf.restful(
        UPSERT,
        method="PATCH",
        json={"records": [_lead(2, OwnerId=me)]},
        headers={"Sforce-Auto-Assign": "FALSE"},
    )
    leads = server.sandbox.org.records["Lead"]
    assert leads[assigned[0]["id"]]["OwnerId"] == queue_id
    assert leads[kept[0]["id"]]["OwnerId"] == me
