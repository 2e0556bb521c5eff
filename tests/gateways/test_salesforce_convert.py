"""Lead conversion through the partner SOAP API: the exact envelope, results, faults, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses
from lxml import etree

from connector.errors import FatalApiError, RetriableApiError
from connector.mapping.conversion import OpportunityRule
from connector.model import ConvertResult, FieldError, LeadConvert, RecordUpdate
from connector.streams.conversions.decide import opportunity_fields
from tests.gateways.test_salesforce_gateway import (
    COLLECTIONS_URL,
    INSTANCE,
    TOKEN_URL,
    make_gateway,
    make_settings,
)

SOAP_URL = f"{INSTANCE}/services/Soap/u/59.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
P = "urn:partner.soap.sforce.com"
ADA = "00Q000000000001AAA"
BOB = "00Q000000000002AAA"


def _answer(*results: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
        f'xmlns="{P}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f"<convertLeadResponse>{''.join(results)}</convertLeadResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )


OK_ADA = (
    "<result><accountId>001000000000001AAA</accountId><contactId>003000000000001AAA</contactId>"
    f"<leadId>{ADA}</leadId><opportunityId>006000000000001AAA</opportunityId>"
    "<success>true</success></result>"
)
REFUSED_BOB = (
    '<result><accountId xsi:nil="true"/><contactId xsi:nil="true"/><errors>'
    "<fields>Industry</fields><message>Industry is required to convert</message>"
    "<statusCode>FIELD_CUSTOM_VALIDATION_EXCEPTION</statusCode></errors>"
    '<leadId xsi:nil="true"/><opportunityId xsi:nil="true"/><success>false</success></result>'
)


def _fault(code: str, message: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {message}</faultstring><detail><sf:UnexpectedErrorFault>"
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}"
        "</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    )


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _converts(body: bytes) -> list[list[tuple[str, str | None]]]:
    root = etree.fromstring(body)
    return [
        [(etree.QName(child).localname, child.text) for child in element]
        for element in root.iter(f"{{{P}}}leadConverts")
    ]


ADA_CONVERT = LeadConvert(
    ADA,
    "Closed - Converted",
    account_id="001000000000009AAA",
    contact_id="003000000000009AAA",
    opportunity_name="Acme – Web – 2026-11",
    owner_id="005000000000001AAA",
)


def test_convert_envelope_and_results(http: responses.RequestsMock) -> None:
    """One call carries the session id and each convert's elements in WSDL order; the answer
    gives the ids of a conversion and Salesforce's error for a refused one."""
    http.add(responses.POST, SOAP_URL, body=_answer(OK_ADA, REFUSED_BOB))
    bob = LeadConvert(BOB, "Closed - Converted", do_not_create_opportunity=True)

    results = make_gateway().convert_leads([ADA_CONVERT, bob])

    (call,) = http.calls
    assert call.request.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert call.request.headers["SOAPAction"] == '""'
    root = etree.fromstring(call.request.body)
    assert root.findtext(f"{{{ENV}}}Header/{{{P}}}SessionHeader/{{{P}}}sessionId") == "x"
    assert [etree.QName(e).localname for e in root.find(f"{{{ENV}}}Body")] == ["convertLead"]
    assert _converts(call.request.body) == [
        [
            ("accountId", "001000000000009AAA"),
            ("contactId", "003000000000009AAA"),
            ("convertedStatus", "Closed - Converted"),
            ("doNotCreateOpportunity", "false"),
            ("leadId", ADA),
            ("opportunityName", "Acme – Web – 2026-11"),
            ("ownerId", "005000000000001AAA"),
        ],
        [
            ("convertedStatus", "Closed - Converted"),
            ("doNotCreateOpportunity", "true"),
            ("leadId", BOB),
        ],
    ]
    assert results == [
        ConvertResult(
            ADA,
            success=True,
            account_id="001000000000001AAA",
            contact_id="003000000000001AAA",
            opportunity_id="006000000000001AAA",
        ),
        ConvertResult(
            BOB,
            success=False,
            errors=(
                FieldError(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    "Industry is required to convert",
                    ("Industry",),
                ),
            ),
        ),
    ]
    assert results[1].reason == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Industry is required to convert (Industry)"
    )


def test_convert_splits_into_calls_of_100(http: responses.RequestsMock) -> None:
    """150 leads cost two calls: 100, then 50."""
    ids = [f"00Q{i:012d}AAA" for i in range(150)]
    ok = "<result><leadId/><success>true</success></result>"
    http.add(responses.POST, SOAP_URL, body=_answer(*[ok] * 100))
    http.add(responses.POST, SOAP_URL, body=_answer(*[ok] * 50))

    results = make_gateway().convert_leads([LeadConvert(i, "Closed - Converted") for i in ids])

    assert [len(_converts(c.request.body)) for c in http.calls] == [100, 50]
    assert [r.lead_id for r in results] == ids


def test_invalid_session_fault_logs_in_again_once(http: responses.RequestsMock) -> None:
    """An INVALID_SESSION_ID fault logs in again and repeats the call with the new session."""
    expired = _fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader")
    http.add(responses.POST, SOAP_URL, status=500, body=expired)
    http.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": "new-token", "instance_url": INSTANCE, "token_type": "Bearer"},
    )
    http.add(responses.POST, SOAP_URL, body=_answer(OK_ADA))

    results = make_gateway().convert_leads([ADA_CONVERT])

    sessions = [
        etree.fromstring(c.request.body).findtext(f".//{{{P}}}sessionId")
        for c in http.calls
        if c.request.url == SOAP_URL
    ]
    assert sessions == ["x", "new-token"]
    assert results[0].success


def test_other_fault_is_fatal_with_its_code(http: responses.RequestsMock) -> None:
    """A fault other than an expired session stops the call, carrying the fault's code."""
    http.add(responses.POST, SOAP_URL, status=500, body=_fault("EXCEEDED_ID_LIMIT", "too many"))

    with pytest.raises(FatalApiError) as caught:
        make_gateway().convert_leads([ADA_CONVERT])

    assert caught.value.code == "EXCEEDED_ID_LIMIT"
    assert "EXCEEDED_ID_LIMIT: too many" in str(caught.value)
    assert len(http.calls) == 1


def test_5xx_without_fault_is_retried(http: responses.RequestsMock) -> None:
    """A 503 that is not a SOAP fault is retried (as Retry-After says), then succeeds."""
    sleeps: list[float] = []
    http.add(responses.POST, SOAP_URL, status=503, body="busy", headers={"Retry-After": "2"})
    http.add(responses.POST, SOAP_URL, body=_answer(OK_ADA))

    results = make_gateway(sleep=sleeps.append).convert_leads([ADA_CONVERT])

    assert (len(http.calls), sleeps, results[0].success) == (2, [2.0], True)


def test_5xx_until_attempts_run_out(http: responses.RequestsMock) -> None:
    """A 502 that never ends raises RetriableApiError after salesforce_max_attempts tries."""
    http.add(responses.POST, SOAP_URL, status=502, body="<html>bad gateway</html>")
    gateway = make_gateway(make_settings(salesforce_max_attempts=2), sleep=lambda _s: None)

    with pytest.raises(RetriableApiError):
        gateway.convert_leads([ADA_CONVERT])

    assert len(http.calls) == 2


def test_entities_in_the_answer_are_not_resolved(http: responses.RequestsMock) -> None:
    """An answer declaring an external entity is not expanded (safe parser): the id stays empty."""
    evil = (
        _answer(OK_ADA)
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        )
        .replace("<accountId>001000000000001AAA</accountId>", "<accountId>&e;</accountId>")
    )
    http.add(responses.POST, SOAP_URL, body=evil)

    (result,) = make_gateway().convert_leads([ADA_CONVERT])

    assert result.account_id is None


def test_opportunity_fields_after_conversion_in_one_collections_call(
    http: responses.RequestsMock,
) -> None:
    """The stage, close date and amount conversion.yaml asks for travel in one sObject
    Collections PATCH typed Opportunity, as Salesforce's JSON types (a date as YYYY-MM-DD, the
    amount as a number), with assignment rules off."""
    http.add(
        responses.PATCH,
        COLLECTIONS_URL,
        json=[{"id": "006000000000001AAA", "success": True, "errors": []}],
    )
    rule = OpportunityRule(stage="Qualification", close_days=30, amount_property="budget")
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    fields = opportunity_fields(rule, now=now, amount="48000.50", contact_id="301")

    (result,) = make_gateway().update_records(
        "Opportunity", [RecordUpdate("301", "006000000000001AAA", fields)]
    )

    (call,) = http.calls
    assert call.request.headers["Sforce-Auto-Assign"] == "FALSE"
    assert json.loads(call.request.body) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Opportunity"},
                "Id": "006000000000001AAA",
                "StageName": "Qualification",
                "CloseDate": "2026-12-23",
                "Amount": 48000.5,
            }
        ],
    }
    assert (result.hubspot_id, result.success) == ("301", True)
