"""Composite runs up to 25 subrequests as one API call, resolves references between them and,
with allOrNone, rolls every subrequest back when one fails."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.conftest import sf_client

V = "/services/data/v59.0"
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction "
    "failed.",
}


def _composite(sf, subrequests: list[dict], *, all_or_none: bool, headers=None) -> list[dict]:
    body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
    answer = sf.restful("composite", method="POST", json=body, headers=headers or {})
    return answer["compositeResponse"]


def test_references_chain_subrequests_in_one_api_call(sandbox):
    """Later subrequests use earlier ids and query rows; the whole is one call, one entry."""
    server = sandbox()
    sf = sf_client(server)
    before, seq = server.sandbox.org.api_used, server.sandbox.journal.last_seq()
    responses = _composite(
        sf,
        [
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Contact/HubSpot_Contact_Id__c/77",
                "referenceId": "upserted",
                "body": {"LastName": "Harrison"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "NewAccount",
                "body": {"Name": "Acme"},
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Contact/@{{upserted.id}}",
                "referenceId": "linked",
                "body": {"AccountId": "@{NewAccount.id}"},
            },
            {
                "method": "GET",
                "url": f"{V}/query?q=SELECT+Id+FROM+Contact+WHERE+AccountId='@{{NewAccount.id}}'",
                "referenceId": "found",
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Contact/@{{found.records[0].Id}}?fields=AccountId",
                "referenceId": "read",
            },
        ],
        all_or_none=True,
    )
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 204, 200, 200]
    assert [r["referenceId"] for r in responses] == [
        "upserted",
        "NewAccount",
        "linked",
        "found",
        "read",
    ]
    contact_id, account_id = responses[0]["body"]["id"], responses[1]["body"]["id"]
    assert responses[0]["body"] == {
        "id": contact_id,
        "success": True,
        "errors": [],
        "created": True,
    }
    assert responses[1]["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{account_id}"}
    assert responses[2]["body"] is None
    assert responses[3]["body"]["records"][0]["Id"] == contact_id
    assert responses[4]["body"]["AccountId"] == account_id
    assert server.sandbox.org.api_used == before + 1
    entries = server.sandbox.journal.entries(since=seq, api="salesforce")
    assert [(e.method, e.path) for e in entries] == [("POST", f"{V}/composite")]


def test_all_or_none_failure_rolls_back_and_halts_the_others(sandbox):
    """With allOrNone one failing subrequest undoes the earlier ones; the failed one carries
    its error and every other answers 400 PROCESSING_HALTED."""
    server = sandbox()
    sf = sf_client(server)
    responses = _composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "refAccount",
                "body": {"Name": "Rolled back"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "refContact",
                "body": {
                    "LastName": "Smith",
                    "AccountId": "@{refAccount.id}",
                    "Email": "Not a real email address",
                },
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Lead",
                "referenceId": "refLead",
                "body": {"LastName": "Never", "Company": "C"},
            },
        ],
        all_or_none=True,
    )
    assert responses[0] == {
        "body": [HALTED],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "refAccount",
    }
    assert responses[1]["httpStatusCode"] == 400
    assert responses[1]["body"] == [
        {
            "message": "Email: invalid email address: Not a real email address",
            "errorCode": "INVALID_EMAIL_ADDRESS",
            "fields": ["Email"],
        }
    ]
    assert responses[2]["body"] == [HALTED]
    org = server.sandbox.org
    assert org.records["Account"] == org.records["Contact"] == org.records["Lead"] == {}


def test_without_all_or_none_failures_stay_local(sandbox):
    """Without allOrNone the other subrequests commit; one that needs the failed one's id
    fails with PROCESSING_HALTED naming the missing reference."""
    server = sandbox()
    sf = sf_client(server)
    responses = _composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "bad",
                "body": {"Website": "no name"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "dependent",
                "body": {"LastName": "D", "AccountId": "@{bad.id}"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Lead",
                "referenceId": "independent",
                "body": {"LastName": "I", "Company": "C"},
            },
        ],
        all_or_none=False,
    )
    assert responses[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert responses[1]["httpStatusCode"] == 400
    assert responses[1]["body"] == [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "Invalid reference specified. No value for bad.id found in bad",
        }
    ]
    assert responses[2]["httpStatusCode"] == 201
    assert len(server.sandbox.org.records["Lead"]) == 1


def test_collections_inside_composite_roll_back_with_it(sandbox):
    """A collections subrequest is undone too when a later subrequest fails under allOrNone."""
    server = sandbox()
    sf = sf_client(server)
    responses = _composite(
        sf,
        [
            {
                "method": "PATCH",
                "url": f"{V}/composite/sobjects/Lead/HubSpot_Contact_Id__c",
                "referenceId": "batch",
                "body": {
                    "records": [
                        {
                            "attributes": {"type": "Lead"},
                            "LastName": "B",
                            "Company": "C",
                            "HubSpot_Contact_Id__c": "1",
                        }
                    ]
                },
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Lead/00QKb00000ZZZZZ",
                "referenceId": "missing",
            },
        ],
        all_or_none=True,
    )
    assert [r["httpStatusCode"] for r in responses] == [400, 404]
    assert server.sandbox.org.records["Lead"] == {}


@pytest.mark.parametrize("outer", [True, False])
def test_composite_all_or_none_overrides_its_collections(sandbox, outer):
    """Under an allOrNone composite a collections subrequest with a failing record is all-or-none
    too and halts the composite; without it the collection's own allOrNone (false) decides."""
    server = sandbox()
    sf = sf_client(server)
    records = [
        {"attributes": {"type": "Account"}, "Name": "Northern Trail Outfitters"},
        {"attributes": {"type": "Account"}, "Website": "nameless.example"},
    ]
    responses = _composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{V}/composite/sobjects",
                "referenceId": "accounts",
                "body": {"allOrNone": False, "records": records},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "contact",
                "body": {"LastName": "Jones", "AccountId": "@{accounts[0].id}"},
            },
        ],
        all_or_none=outer,
    )
    accounts = responses[0]["body"]
    assert responses[0]["httpStatusCode"] == 200
    assert accounts[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    org = server.sandbox.org
    if outer:
        assert accounts[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        assert responses[1] == {
            "body": [HALTED],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": "contact",
        }
        assert org.records["Account"] == org.records["Contact"] == {}
    else:
        assert accounts[0]["success"] is True
        assert responses[1]["httpStatusCode"] == 201
        (contact,) = org.records["Contact"].values()
        assert contact["AccountId"] == accounts[0]["id"]


def test_more_than_25_subrequests_are_refused(sandbox):
    """26 subrequests answer 400 and run none of them."""
    server = sandbox()
    sf = sf_client(server)
    subrequests = [
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": f"a{n}",
            "body": {"Name": f"A{n}"},
        }
        for n in range(26)
    ]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _composite(sf, subrequests, all_or_none=False)
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert server.sandbox.org.records["Account"] == {}


def test_more_than_five_query_subrequests_are_refused(sandbox):
    """Salesforce allows at most 5 query or Collections subrequests per composite: 6 answer 400,
    5 run (REST API Developer Guide, Composite)."""
    server = sandbox({"salesforce": {"Account": [{"Name": "Q"}]}})
    sf = sf_client(server)

    def queries(n: int) -> list[dict]:
        return [
            {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account", "referenceId": f"q{i}"}
            for i in range(n)
        ]

    with pytest.raises(SalesforceMalformedRequest) as caught:
        _composite(sf, queries(6), all_or_none=False)
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    answers = _composite(sf, queries(5), all_or_none=False)
    assert [a["body"]["totalSize"] for a in answers] == [1] * 5


def test_unknown_subrequest_urls_answer_per_subrequest(sandbox):
    """A subrequest to a resource that does not exist answers 404 inside a 200 composite."""
    sf = sf_client(sandbox())
    (response,) = _composite(
        sf, [{"method": "GET", "url": f"{V}/nowhere", "referenceId": "x"}], all_or_none=False
    )
    assert response["httpStatusCode"] == 404
    assert response["body"][0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize("where", ["request", "subrequest"])
def test_composite_honours_sforce_auto_assign(sandbox, where):
    """`Sforce-Auto-Assign: FALSE` on the composite or in a subrequest's httpHeaders keeps the
    owner the client set; without it the assignment rule owns the lead."""
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
    kept: dict = {
        "method": "POST",
        "url": f"{V}/sobjects/Lead",
        "referenceId": "kept",
        "body": {"LastName": "K", "Company": "C", "OwnerId": me},
    }
    assigned = {**kept, "referenceId": "assigned"}
    headers = None
    if where == "request":
        headers = {"Sforce-Auto-Assign": "FALSE"}
        assigned["httpHeaders"] = {"Sforce-Auto-Assign": "TRUE"}
    else:
        kept["httpHeaders"] = {"Sforce-Auto-Assign": "false"}
    responses = _composite(sf, [kept, assigned], all_or_none=False, headers=headers)
    leads = server.sandbox.org.records["Lead"]
    assert leads[responses[0]["body"]["id"]]["OwnerId"] == me
    assert leads[responses[1]["body"]["id"]]["OwnerId"] == queue_id
