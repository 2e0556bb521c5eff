"""The calls a privacy erasure makes: Salesforce's person look-up, Collections delete and SOAP
emptyRecycleBin (exact HTTP, with `responses`), HubSpot's GDPR delete and read by email
(against the sandbox and its journal: hubspot-api-client sends through urllib3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from lxml import etree

from connector.errors import FatalApiError
from connector.model import FieldError, WriteResult
from tests.gateways.hubspot_support import fast_gateway
from tests.gateways.test_salesforce_gateway import (
    COLLECTIONS_URL,
    COMPOSITE_URL,
    INSTANCE,
    LIMIT_INFO,
    make_gateway,
)

SOAP_URL = f"{INSTANCE}/services/Soap/u/59.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
P = "urn:partner.soap.sforce.com"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_person_records_is_one_composite_call_with_the_email_escaped(http) -> None:
    """The Lead and Contact look-ups travel in one Composite call; an email carrying a quote
    stays a literal (no SOQL injection), and the HubSpot id and known ids are ORed in."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={
            "compositeResponse": [
                {
                    "referenceId": ref,
                    "httpStatusCode": 200,
                    "body": {"done": True, "records": records},
                }
                for ref, records in (
                    ("leads", [{"attributes": {}, "Id": "00Q1", "IsConverted": False}]),
                    ("contacts", []),
                )
            ]
        },
        headers=LIMIT_INFO,
    )
    email = "o'hara@x.test' OR Email != '"

    leads, contacts = make_gateway().person_records(
        email=email,
        hubspot_id="101",
        ids=["00Q9", "0039"],
        lead_fields=["Email"],
        contact_fields=["Email", "LastName"],
    )

    assert (leads, contacts) == ([{"Id": "00Q1", "IsConverted": False}], [])
    (call,) = http.calls
    subrequests = json.loads(call.request.body)["compositeRequest"]
    texts = [parse_qs(urlsplit(s["url"]).query)["q"][0] for s in subrequests]
    assert texts == [
        "SELECT Id, IsConverted, ConvertedContactId, Email FROM Lead WHERE Email = "
        "'o\\'hara@x.test\\' OR Email != \\'' OR HubSpot_Contact_Id__c = '101' "
        "OR Id IN ('00Q9') ORDER BY Id",
        "SELECT Id, Email, LastName FROM Contact WHERE Email = "
        "'o\\'hara@x.test\\' OR Email != \\'' OR HubSpot_Contact_Id__c = '101' "
        "OR Id IN ('0039') ORDER BY Id",
    ]


def test_binned_records_asks_query_all_for_the_deleted_ones_only(http) -> None:
    """The person's records in the Recycle Bin: `queryAll` subrequests of one Composite call,
    `IsDeleted = true` around the same conditions; no Contact query without a way to find
    one."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={
            "compositeResponse": [
                {
                    "referenceId": "leads",
                    "httpStatusCode": 200,
                    "body": {"done": True, "records": [{"attributes": {}, "Id": "00Q1"}]},
                }
            ]
        },
        headers=LIMIT_INFO,
    )

    leads, contacts = make_gateway().binned_records(email=None, hubspot_id=None, ids=["00Q1"])

    assert (leads, contacts) == ([{"Id": "00Q1"}], [])
    (subrequest,) = json.loads(http.calls[0].request.body)["compositeRequest"]
    url = urlsplit(subrequest["url"])
    assert url.path == "/services/data/v59.0/queryAll"
    assert parse_qs(url.query)["q"] == [
        "SELECT Id FROM Lead WHERE IsDeleted = true AND (Id IN ('00Q1')) ORDER BY Id"
    ]


def test_delete_records_is_collections_delete_200_a_call_with_results_by_id(http) -> None:
    """250 ids: DELETE composite/sobjects with 200 then 50 ids, allOrNone false; each result
    keyed by its id, a refusal with Salesforce's code."""

    def answer(request):
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        results = [
            {"id": i, "success": True, "errors": []}
            if i != "00Q7"
            else {
                "id": None,
                "success": False,
                "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "deleted"}],
            }
            for i in ids
        ]
        return 200, LIMIT_INFO, json.dumps(results)

    http.add_callback(responses.DELETE, COLLECTIONS_URL, callback=answer)
    ids = [f"00Q{i}" for i in range(250)]

    results = make_gateway().delete_records(ids)

    queries = [parse_qs(urlsplit(c.request.url).query) for c in http.calls]
    assert [len(q["ids"][0].split(",")) for q in queries] == [200, 50]
    assert {q["allOrNone"][0] for q in queries} == {"false"}
    assert [r.hubspot_id for r in results] == ids
    assert results[0] == WriteResult("00Q0", success=True, salesforce_id="00Q0")
    assert results[7].errors == (FieldError("ENTITY_IS_DELETED", "deleted"),)


def _empty_answer(*results: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
        f'xmlns="{P}"><soapenv:Body><emptyRecycleBinResponse>{"".join(results)}'
        "</emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>"
    )


def test_empty_recycle_bin_sends_the_partner_envelope_and_reads_each_result(http) -> None:
    """emptyRecycleBin is a SOAP call with the session header and the ids in order; a result
    per id, a refused one with its status code."""
    http.add(
        responses.POST,
        SOAP_URL,
        body=_empty_answer(
            "<result><id>00Q1</id><success>true</success></result>",
            "<result><errors><message>no access</message><statusCode>INSUFFICIENT_ACCESS"
            "</statusCode></errors><id>0031</id><success>false</success></result>",
        ),
        headers=LIMIT_INFO,
    )

    results = make_gateway().empty_recycle_bin(["00Q1", "0031"])

    (call,) = http.calls
    root = etree.fromstring(call.request.body)
    assert root.findtext(f"{{{ENV}}}Header/{{{P}}}SessionHeader/{{{P}}}sessionId") == "x"
    ids = root.findall(f"{{{ENV}}}Body/{{{P}}}emptyRecycleBin/{{{P}}}ids")
    assert [i.text for i in ids] == ["00Q1", "0031"]
    assert results == [
        WriteResult("00Q1", success=True, salesforce_id="00Q1"),
        WriteResult(
            "0031", success=False, errors=(FieldError("INSUFFICIENT_ACCESS", "no access"),)
        ),
    ]


def test_a_soap_fault_of_empty_recycle_bin_names_the_call(http) -> None:
    """A fault that is not transient fails the call, named, with the fault's code."""
    fault = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com">'
        "<soapenv:Body><soapenv:Fault><faultcode>sf:EXCEEDED_ID_LIMIT</faultcode>"
        "<faultstring>too many ids</faultstring></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    http.add(responses.POST, SOAP_URL, body=fault, status=500, headers=LIMIT_INFO)

    with pytest.raises(FatalApiError, match="emptyRecycleBin failed") as caught:
        make_gateway().empty_recycle_bin(["00Q1"])
    assert caught.value.code == "EXCEEDED_ID_LIMIT"


def test_hubspot_gdpr_delete_by_id_and_by_email(sandbox) -> None:
    """By id: the client library's purge, the contact gone; by an email no contact has, the
    email blocked; an id HubSpot no longer knows answers 404, returned as False. A read by
    email (a batch read: the email in the body, never in a URL) finds a contact in any case,
    and None once it is gone."""
    server = sandbox(
        {"hubspot": {"contacts": [{"id": "7", "properties": {"email": "ann@x.test"}}]}}
    )
    gateway, _ = fast_gateway(server)

    found = gateway.find_contact(["email"], email="ANN@x.test")
    (read,) = server.sandbox.journal.entries()
    assert (read.method, read.path) == ("POST", "/crm/v3/objects/contacts/batch/read")
    assert "ann" not in (read.path + read.query).lower()  # the email rides in the body
    mark = server.sandbox.journal.last_seq()
    assert gateway.gdpr_delete(contact_id="7") is True
    assert gateway.gdpr_delete(email="nobody@x.test") is True
    assert gateway.gdpr_delete(contact_id="7") is False

    assert found is not None and found.id == "7"
    sent = [(e.method, e.path, e.status) for e in server.sandbox.journal.entries(since=mark)]
    path = "/crm/v3/objects/contacts/gdpr-delete"
    assert sent == [("POST", path, 204), ("POST", path, 204), ("POST", path, 404)]
    assert gateway.find_contact(["email"], email="ann@x.test") is None
    assert "nobody@x.test" in server.sandbox.portal.blocked_emails
