"""Record merges through the partner SOAP API's `merge` (exact HTTP, with `responses`): the
envelope, a result per request keyed by the master, refused requests, faults and retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from lxml import etree

from connector.errors import FatalApiError
from connector.model import FieldError, RecordMerge, WriteResult
from tests.gateways.test_salesforce_gateway import INSTANCE, make_gateway

SOAP_URL = f"{INSTANCE}/services/Soap/u/59.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
P = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
KEEP = "00Q000000000001AAA"
DUP = "00Q000000000002AAA"
KEEP2 = "00Q000000000003AAA"
DUP2 = "00Q000000000004AAA"


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _answer(*results: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
        f'xmlns="{P}"><soapenv:Body><mergeResponse>{"".join(results)}</mergeResponse>'
        "</soapenv:Body></soapenv:Envelope>"
    )


MERGED = (
    f"<result><id>{KEEP}</id><mergedRecordIds>{DUP}</mergedRecordIds><success>true</success>"
    "</result>"
)
REFUSED = (
    "<result><errors><message>entity is deleted</message><statusCode>ENTITY_IS_DELETED"
    f"</statusCode></errors><id>{KEEP2}</id><success>false</success></result>"
)


def test_merge_sends_one_request_per_merge_and_reads_each_result(http) -> None:
    """One call carries the session header and, per merge, the master's type and Id (no values:
    it keeps its own) then its duplicates; results come back in order, keyed by the master."""
    http.add(responses.POST, SOAP_URL, body=_answer(MERGED, REFUSED))

    results = make_gateway().merge_records(
        "Lead", [RecordMerge(KEEP, (DUP,)), RecordMerge(KEEP2, (DUP2,))]
    )

    (call,) = http.calls
    assert call.request.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert call.request.headers["SOAPAction"] == '""'
    root = etree.fromstring(call.request.body)
    assert root.findtext(f"{{{ENV}}}Header/{{{P}}}SessionHeader/{{{P}}}sessionId") == "x"
    requests = root.findall(f"{{{ENV}}}Body/{{{P}}}merge/{{{P}}}request")
    assert [
        [(etree.QName(e).namespace, etree.QName(e).localname, e.text) for e in r.iter()][1:]
        for r in requests
    ] == [
        [
            (P, "masterRecord", None),
            (SOBJECT, "type", "Lead"),
            (SOBJECT, "Id", master),
            (P, "recordToMergeIds", duplicate),
        ]
        for master, duplicate in ((KEEP, DUP), (KEEP2, DUP2))
    ]
    assert results == [
        WriteResult(KEEP, success=True, salesforce_id=KEEP),
        WriteResult(
            KEEP2,
            success=False,
            errors=(FieldError("ENTITY_IS_DELETED", "entity is deleted"),),
        ),
    ]


def test_a_fault_of_merge_names_the_call_and_is_not_retried(http) -> None:
    """A SOAP fault other than an expired session or a transient one fails at once."""
    fault = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}"><soapenv:Body><soapenv:Fault>'
        "<faultcode>sf:INVALID_TYPE</faultcode><faultstring>INVALID_TYPE: no</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    http.add(responses.POST, SOAP_URL, body=fault, status=500)
    with pytest.raises(FatalApiError, match="merge failed") as caught:
        make_gateway().merge_records("Lead", [RecordMerge(KEEP, (DUP,))])
    assert caught.value.code == "INVALID_TYPE"
    assert len(http.calls) == 1


def test_a_server_error_is_retried_and_then_merges(http) -> None:
    """A 503 without a SOAP body is retried (Retry-After honoured by the shared policy)."""
    http.add(responses.POST, SOAP_URL, body="busy", status=503)
    http.add(responses.POST, SOAP_URL, body=_answer(MERGED))
    (result,) = make_gateway().merge_records("Lead", [RecordMerge(KEEP, (DUP,))])
    assert result.success and len(http.calls) == 2


def test_an_sobject_name_that_is_no_name_is_refused_before_any_call(http) -> None:
    """The type goes into the envelope: only an identifier is taken."""
    with pytest.raises(ValueError, match="not an sObject name"):
        make_gateway().merge_records("Lead<x/>", [RecordMerge(KEEP, (DUP,))])
