"""Lead conversion through the partner SOAP API behaves as Salesforce's convertLead() does."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import convert as convert_module
from connector.sandbox.salesforce.soap import LEAD_CONVERT_ELEMENTS
from tests.conftest import sf_client, sf_token
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
FAULT = "urn:fault.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}

LEAD = {
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Company": "Acme Corp",
    "Title": "CTO",
    "Email": "ada@acme.test",
    "Phone": "+1 555 0100",
    "MobilePhone": "+1 555 0101",
    "Website": "https://acme.test",
    "Street": "1 Main St",
    "City": "Springfield",
    "State": "IL",
    "PostalCode": "62701",
    "Country": "US",
    "Industry": "Technology",
    "NumberOfEmployees": 250,
    "AnnualRevenue": 5000000,
    "LeadSource": "Web",
    "HasOptedOutOfEmail": True,
}

SEED: dict[str, Any] = {
    "salesforce": {
        "LeadStatus": [
            {"MasterLabel": "Open - Not Contacted", "IsDefault": True},
            {"MasterLabel": "Working - Contacted"},
            {"MasterLabel": "Qualified", "IsConverted": True},
            {"MasterLabel": "Closed - Converted", "IsConverted": True},
            {"MasterLabel": "Closed - Not Converted"},
        ],
        "Group": [{"Id": "@queue", "Name": "Inbound", "DeveloperName": "Inbound", "Type": "Queue"}],
        "User": [
            {
                "Id": "@rep",
                "Username": "rep@acme.test",
                "LastName": "Rep",
                "Email": "rep@acme.test",
            },
            {
                "Id": "@gone",
                "Username": "gone@acme.test",
                "LastName": "Gone",
                "Email": "gone@acme.test",
                "IsActive": False,
            },
        ],
        "Account": [
            {
                "Id": "@globex",
                "Name": "Globex",
                "Website": "https://globex.test",
                "OwnerId": "@rep",
            },
            {"Id": "@initech", "Name": "Initech"},
        ],
        "Contact": [
            {
                "Id": "@hank",
                "AccountId": "@globex",
                "FirstName": "Hank",
                "LastName": "Scorpio",
                "Email": "hank@globex.test",
                "LeadSource": "Phone Inquiry",
                "OwnerId": "@rep",
            },
            {
                "Id": "@milton",
                "AccountId": "@initech",
                "LastName": "Waddams",
                "HubSpot_Contact_Id__c": "taken",
            },
        ],
        "Opportunity": [
            {
                "Id": "@deal",
                "Name": "Globex expansion",
                "AccountId": "@globex",
                "StageName": "Qualification",
                "CloseDate": "2026-12-31",
            }
        ],
        "Lead": [
            {"Id": "@ada", **LEAD, "HubSpot_Contact_Id__c": "101"},
            {"Id": "@bob", "FirstName": "Bob", "LastName": "Byte", "Company": "Bytes Inc"},
            {"Id": "@cy", "LastName": "Cy", "Company": "Cy Co", "HubSpot_Contact_Id__c": "taken"},
            {"Id": "@queued", "LastName": "Q", "Company": "Queue Co", "OwnerId": "@queue"},
            {
                "Id": "@done",
                "LastName": "Done",
                "Company": "Done Co",
                "Status": "Closed - Converted",
                "IsConverted": True,
                "ConvertedAccountId": "@globex",
                "ConvertedContactId": "@hank",
                "ConvertedDate": "2026-01-05",
            },
        ],
    }
}


# -- helpers ------------------------------------------------------------------------------------
def _id(server, sobject: str, **match: Any) -> str:
    """The id of the one record of `sobject` whose fields equal `match`."""
    (hit,) = [
        r
        for r in server.sandbox.org.records[sobject].values()
        if all(r.get(k) == v for k, v in match.items())
    ]
    return hit["Id"]


def _get(sf: Salesforce, sobject: str, record_id: str) -> dict[str, Any]:
    """A record as the REST API returns it (`GET /sobjects/{sobject}/{id}`)."""
    return getattr(sf, sobject).get(record_id)


#: Constant queries (no SOQL is built from strings here).
_COUNT_QUERIES = {
    "Account": "SELECT COUNT() FROM Account",
    "Contact": "SELECT COUNT() FROM Contact",
    "Opportunity": "SELECT COUNT() FROM Opportunity",
}


def _envelope(session: str, *converts: dict[str, Any]) -> bytes:
    """A partner convertLead request; each convert's elements are put in WSDL order."""
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"soapenv": ENV, "urn": PARTNER})
    header = etree.SubElement(root, f"{{{ENV}}}Header")
    etree.SubElement(
        etree.SubElement(header, f"{{{PARTNER}}}SessionHeader"), f"{{{PARTNER}}}sessionId"
    ).text = session
    operation = etree.SubElement(
        etree.SubElement(root, f"{{{ENV}}}Body"), f"{{{PARTNER}}}convertLead"
    )
    for convert in converts:
        element = etree.SubElement(operation, f"{{{PARTNER}}}leadConverts")
        for name in sorted(convert, key=LEAD_CONVERT_ELEMENTS.index):
            value = convert[name]
            text = str(value).lower() if isinstance(value, bool) else str(value)
            etree.SubElement(element, f"{{{PARTNER}}}{name}").text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _post(server, body: bytes | str, version: str = "59.0") -> requests.Response:
    return requests.post(
        f"{server.url}/services/Soap/u/{version}",
        data=body,
        headers=SOAP_HEADERS,
        verify=str(server.ca_file),
        timeout=30,
    )


def _convert(server, *converts: dict[str, Any], version: str = "59.0") -> requests.Response:
    return _post(server, _envelope(sf_token(server)["access_token"], *converts), version)


def _shape(element: etree._Element) -> Any:
    """An element as nested dicts by local name; repeated names become lists, nil becomes None."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return None if element.get(f"{{{XSI}}}nil") == "true" else (element.text or "")
    out: dict[str, Any] = {}
    for child in children:
        name, value = etree.QName(child).localname, _shape(child)
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def _results(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    results = root.findall(f"{{{ENV}}}Body/{{{PARTNER}}}convertLeadResponse/{{{PARTNER}}}result")
    out = []
    for result in results:
        shaped = _shape(result)
        errors = shaped.get("errors", [])
        errors = errors if isinstance(errors, list) else [errors]
        for error in errors:
            fields = error.get("fields", [])
            error["fields"] = fields if isinstance(fields, list) else [fields]
        shaped["errors"] = errors
        out.append(shaped)
    return out


def _fault(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    return _shape(fault)


def _counts(sf: Salesforce) -> dict[str, int]:
    return {k: sf.query(q)["totalSize"] for k, q in _COUNT_QUERIES.items()}


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"fields": fields or [], "message": message, "statusCode": code}


# -- conversion -----------------------------------------------------------------------------------
def test_conversion_creates_account_contact_and_opportunity_from_the_lead(sandbox, monkeypatch):
    """A plain conversion maps the lead onto a new account, contact and opportunity."""
    server = sandbox(SEED)
    today = date(2027, 2, 10)  # the org's today, fixed: no midnight between convert and check
    monkeypatch.setattr(convert_module, "_today", lambda: today)
    sf = sf_client(server)
    lead_id = _id(server, "Lead", LastName="Lovelace")
    integration = server.sandbox.org.integration_user_id()
    (result,) = _results(
        _convert(server, {"convertedStatus": "Closed - Converted", "leadId": lead_id})
    )

    assert result["success"] == "true"
    assert result["errors"] == []
    assert result["leadId"] == lead_id
    assert result["relatedPersonAccountId"] is None
    account = _get(sf, "Account", result["accountId"])
    contact = _get(sf, "Contact", result["contactId"])
    opportunity = _get(sf, "Opportunity", result["opportunityId"])
    assert {k: account[k] for k in ("Name", "Website", "Industry", "Phone", "OwnerId")} == {
        "Name": "Acme Corp",
        "Website": "https://acme.test",
        "Industry": "Technology",
        "Phone": "+1 555 0100",
        "OwnerId": integration,
    }
    assert (account["NumberOfEmployees"], account["AnnualRevenue"]) == (250, 5000000.0)
    assert [
        account[f"Billing{k}"] for k in ("Street", "City", "State", "PostalCode", "Country")
    ] == [
        "1 Main St",
        "Springfield",
        "IL",
        "62701",
        "US",
    ]
    assert {
        k: contact[k]
        for k in (
            "AccountId",
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "MobilePhone",
            "Title",
            "MailingStreet",
            "MailingCity",
            "MailingState",
            "MailingPostalCode",
            "MailingCountry",
            "LeadSource",
            "HasOptedOutOfEmail",
            "HubSpot_Contact_Id__c",
            "OwnerId",
        )
    } == {
        "AccountId": account["Id"],
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@acme.test",
        "Phone": "+1 555 0100",
        "MobilePhone": "+1 555 0101",
        "Title": "CTO",
        "MailingStreet": "1 Main St",
        "MailingCity": "Springfield",
        "MailingState": "IL",
        "MailingPostalCode": LEAD["PostalCode"],
        "MailingCountry": "US",
        "LeadSource": "Web",
        "HasOptedOutOfEmail": True,
        "HubSpot_Contact_Id__c": "101",
        "OwnerId": integration,
    }
    assert {
        k: opportunity[k]
        for k in (
            "Name",
            "StageName",
            "CloseDate",
            "AccountId",
            "OwnerId",
            "LeadSource",
            "IsClosed",
        )
    } == {
        "Name": "Acme Corp",
        "StageName": "Prospecting",
        "CloseDate": "2027-03-31",
        "AccountId": account["Id"],
        "OwnerId": integration,
        "LeadSource": "Web",
        "IsClosed": False,
    }
    lead = _get(sf, "Lead", lead_id)
    assert {
        k: lead[k]
        for k in (
            "IsConverted",
            "Status",
            "ConvertedAccountId",
            "ConvertedContactId",
            "ConvertedOpportunityId",
            "ConvertedDate",
            "LastModifiedById",
        )
    } == {
        "IsConverted": True,
        "Status": "Closed - Converted",
        "ConvertedAccountId": account["Id"],
        "ConvertedContactId": contact["Id"],
        "ConvertedOpportunityId": opportunity["Id"],
        "ConvertedDate": "2027-02-10",
        "LastModifiedById": integration,
    }


def test_opportunity_name_and_owner_are_taken_from_the_request(sandbox):
    """`opportunityName` names the opportunity and `ownerId` owns all three new records."""
    server = sandbox(SEED)
    sf = sf_client(server)
    rep = _id(server, "User", Username="rep@acme.test")
    (result,) = _results(
        _convert(
            server,
            {
                "convertedStatus": "Qualified",
                "leadId": _id(server, "Lead", LastName="Byte"),
                "opportunityName": "Bytes - Renewal",
                "ownerId": rep,
            },
        )
    )
    assert result["success"] == "true"
    opportunity = _get(sf, "Opportunity", result["opportunityId"])
    assert opportunity["Name"] == "Bytes - Renewal"
    owners = {
        _get(sf, "Account", result["accountId"])["OwnerId"],
        _get(sf, "Contact", result["contactId"])["OwnerId"],
        opportunity["OwnerId"],
    }
    assert owners == {rep}
    assert opportunity["CreatedById"] == server.sandbox.org.integration_user_id()


def test_conversion_into_existing_account_and_contact_fills_only_blank_fields(sandbox):
    """Merging keeps every value the account and contact have and fills only their blanks."""
    server = sandbox(SEED)
    sf = sf_client(server)
    globex = _id(server, "Account", Name="Globex")
    hank = _id(server, "Contact", LastName="Scorpio")
    before = _counts(sf)
    (result,) = _results(
        _convert(
            server,
            {
                "accountId": globex,
                "contactId": hank,
                "convertedStatus": "Closed - Converted",
                "doNotCreateOpportunity": True,
                "leadId": _id(server, "Lead", LastName="Lovelace"),
            },
        )
    )
    assert (result["success"], result["accountId"], result["contactId"]) == ("true", globex, hank)
    assert result["opportunityId"] is None
    assert _counts(sf) == before
    account = _get(sf, "Account", globex)
    assert (account["Name"], account["Website"], account["Industry"]) == (
        "Globex",
        "https://globex.test",
        "Technology",
    )
    assert account["BillingCity"] == "Springfield"
    contact = _get(sf, "Contact", hank)
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == (
        "Hank",
        "Scorpio",
        "hank@globex.test",
    )
    assert (contact["Phone"], contact["Title"], contact["LeadSource"]) == (
        "+1 555 0100",
        "CTO",
        "Phone Inquiry",
    )
    assert contact["HasOptedOutOfEmail"] is False  # not updated for existing contacts


def test_overwrite_lead_source_replaces_the_contacts_lead_source(sandbox):
    """With overwriteLeadSource the existing contact's LeadSource becomes the lead's."""
    server = sandbox(SEED)
    sf = sf_client(server)
    hank = _id(server, "Contact", LastName="Scorpio")
    (result,) = _results(
        _convert(
            server,
            {
                "accountId": _id(server, "Account", Name="Globex"),
                "contactId": hank,
                "convertedStatus": "Closed - Converted",
                "leadId": _id(server, "Lead", LastName="Lovelace"),
                "overwriteLeadSource": True,
            },
        )
    )
    assert result["success"] == "true"
    assert _get(sf, "Contact", hank)["LeadSource"] == "Web"


def test_conversion_into_an_existing_opportunity_creates_none(sandbox):
    """With opportunityId the lead joins that opportunity, filling only its blank fields."""
    server = sandbox(SEED)
    sf = sf_client(server)
    deal = _id(server, "Opportunity", Name="Globex expansion")
    before = _counts(sf)
    (result,) = _results(
        _convert(
            server,
            {
                "accountId": _id(server, "Account", Name="Globex"),
                "convertedStatus": "Qualified",
                "leadId": _id(server, "Lead", LastName="Lovelace"),
                "opportunityId": deal,
            },
        )
    )
    assert (result["success"], result["opportunityId"]) == ("true", deal)
    assert _counts(sf) == {**before, "Contact": before["Contact"] + 1}
    opportunity = _get(sf, "Opportunity", deal)
    assert (opportunity["Name"], opportunity["StageName"], opportunity["LeadSource"]) == (
        "Globex expansion",
        "Qualification",
        "Web",
    )


def test_contact_of_another_account_is_refused_and_nothing_changes(sandbox):
    """A contactId that does not belong to accountId fails that lead and writes nothing."""
    server = sandbox(SEED)
    sf = sf_client(server)
    lead_id = _id(server, "Lead", LastName="Lovelace")
    before = _counts(sf)
    (result,) = _results(
        _convert(
            server,
            {
                "accountId": _id(server, "Account", Name="Globex"),
                "contactId": _id(server, "Contact", LastName="Waddams"),
                "convertedStatus": "Closed - Converted",
                "leadId": lead_id,
            },
        )
    )
    assert result == {
        "accountId": None,
        "contactId": None,
        "errors": [_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")],
        "leadId": None,
        "opportunityId": None,
        "relatedPersonAccountId": None,
        "success": "false",
    }
    assert _counts(sf) == before
    assert _get(sf, "Lead", lead_id)["IsConverted"] is False
    assert _get(sf, "Account", _id(server, "Account", Name="Globex"))["Industry"] is None


def test_contact_without_account_is_refused(sandbox):
    """contactId needs accountId, as Salesforce says."""
    server = sandbox(SEED)
    (result,) = _results(
        _convert(
            server,
            {
                "contactId": _id(server, "Contact", LastName="Scorpio"),
                "convertedStatus": "Closed - Converted",
                "leadId": _id(server, "Lead", LastName="Lovelace"),
            },
        )
    )
    assert result["errors"] == [
        _error("REQUIRED_FIELD_MISSING", "accountId must be specified if contactId is not null")
    ]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("Closed - Not Converted", "Closed - Not Converted"),
        ("Nonsense", "Nonsense"),
        (None, "null"),
    ],
)
def test_converted_status_must_be_a_converted_lead_status(sandbox, status, shown):
    """A status that is not an IsConverted LeadStatus fails with INVALID_STATUS."""
    server = sandbox(SEED)
    convert = {"leadId": _id(server, "Lead", LastName="Lovelace")}
    if status is not None:
        convert["convertedStatus"] = status
    (result,) = _results(_convert(server, convert))
    assert result["success"] == "false"
    assert result["errors"] == [
        _error("INVALID_STATUS", f"invalid convertedStatus: {shown}", ["Status"])
    ]


def test_an_already_converted_lead_cannot_be_converted_again(sandbox):
    """Converting a converted lead answers CANNOT_UPDATE_CONVERTED_LEAD."""
    server = sandbox(SEED)
    (result,) = _results(
        _convert(
            server,
            {
                "convertedStatus": "Closed - Converted",
                "leadId": _id(server, "Lead", LastName="Done"),
            },
        )
    )
    assert result["errors"] == [
        _error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    ]


@pytest.mark.parametrize("lead_id", ["00Q000000000000AAA", "001000000000000AAA", "not-an-id"])
def test_unknown_lead_is_an_invalid_cross_reference(sandbox, lead_id):
    """A leadId that names no lead fails that lead with INVALID_CROSS_REFERENCE_KEY."""
    server = sandbox(SEED)
    (result,) = _results(_convert(server, {"convertedStatus": "Qualified", "leadId": lead_id}))
    assert result["errors"] == [_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]


def test_do_not_create_opportunity_creates_none(sandbox):
    """doNotCreateOpportunity=true converts without an opportunity."""
    server = sandbox(SEED)
    sf = sf_client(server)
    lead_id = _id(server, "Lead", LastName="Byte")
    before = _counts(sf)
    (result,) = _results(
        _convert(
            server,
            {"convertedStatus": "Qualified", "doNotCreateOpportunity": True, "leadId": lead_id},
        )
    )
    assert result["success"] == "true"
    assert result["opportunityId"] is None
    assert _counts(sf) == {
        **before,
        "Account": before["Account"] + 1,
        "Contact": before["Contact"] + 1,
    }
    lead = _get(sf, "Lead", lead_id)
    assert (lead["IsConverted"], lead["ConvertedOpportunityId"]) == (True, None)


def test_do_not_create_opportunity_with_an_opportunity_name_is_refused(sandbox):
    """opportunityName must be null when doNotCreateOpportunity is true."""
    server = sandbox(SEED)
    (result,) = _results(
        _convert(
            server,
            {
                "convertedStatus": "Qualified",
                "doNotCreateOpportunity": True,
                "leadId": _id(server, "Lead", LastName="Byte"),
                "opportunityName": "Nope",
            },
        )
    )
    assert result["errors"] == [
        _error(
            "INVALID_FIELD",
            "One or more leads couldn't be converted. If doNotCreateOpportunity is true, "
            "opportunityName and opportunityId must be null.",
            ["Id"],
        )
    ]


def test_inactive_owner_is_refused(sandbox):
    """An inactive ownerId fails the lead with INACTIVE_OWNER_OR_USER."""
    server = sandbox(SEED)
    sf = sf_client(server)
    gone = _id(server, "User", Username="gone@acme.test")
    (result,) = _results(
        _convert(
            server,
            {
                "convertedStatus": "Qualified",
                "leadId": _id(server, "Lead", LastName="Byte"),
                "ownerId": gone,
            },
        )
    )
    assert result["errors"] == [
        _error(
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{gone}] as owner of account",
        )
    ]
    assert _counts(sf)["Account"] == 2


def test_queue_owned_lead_needs_an_owner(sandbox):
    """Accounts cannot be owned by a queue: a queue's lead converts only with an ownerId."""
    server = sandbox(SEED)
    sf = sf_client(server)
    lead_id = _id(server, "Lead", LastName="Q")
    queue = _id(server, "Group", Name="Inbound")
    rep = _id(server, "User", Username="rep@acme.test")
    (refused,) = _results(_convert(server, {"convertedStatus": "Qualified", "leadId": lead_id}))
    assert refused["errors"] == [
        _error(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Owner ID: id value of incorrect type: {queue}",
            ["OwnerId"],
        )
    ]
    (converted,) = _results(
        _convert(server, {"convertedStatus": "Qualified", "leadId": lead_id, "ownerId": rep})
    )
    assert converted["success"] == "true"
    assert _get(sf, "Account", converted["accountId"])["OwnerId"] == rep


def test_each_lead_is_its_own_unit_and_results_keep_request_order(sandbox):
    """In one call a failing lead leaves nothing behind while the others convert, in order."""
    server = sandbox(SEED)
    sf = sf_client(server)
    ada, bob, cy = (_id(server, "Lead", LastName=n) for n in ("Lovelace", "Byte", "Cy"))
    before = _counts(sf)
    results = _results(
        _convert(
            server,
            {"convertedStatus": "Qualified", "leadId": ada},
            # Cy's HubSpot id is taken by another contact: its contact fails after its account
            # was created, so the whole conversion must be undone.
            {"convertedStatus": "Qualified", "leadId": cy},
            {"convertedStatus": "Qualified", "leadId": bob},
        )
    )
    assert [r["success"] for r in results] == ["true", "false", "true"]
    assert [r["leadId"] for r in results] == [ada, None, bob]
    (error,) = results[1]["errors"]
    assert error["statusCode"] == "DUPLICATE_VALUE"
    assert _counts(sf) == {k: v + 2 for k, v in before.items()}
    names = {a["Name"] for a in sf.query("SELECT Name FROM Account")["records"]}
    assert "Cy Co" not in names
    assert {"Acme Corp", "Bytes Inc"} <= names
    assert _get(sf, "Lead", cy)["IsConverted"] is False


def test_the_same_lead_twice_in_one_call_converts_once(sandbox):
    """The second leadConverts for a lead finds it converted by the first."""
    server = sandbox(SEED)
    bob = _id(server, "Lead", LastName="Byte")
    first, second = _results(
        _convert(
            server,
            {"convertedStatus": "Qualified", "leadId": bob},
            {"convertedStatus": "Qualified", "leadId": bob},
        )
    )
    assert first["success"] == "true"
    assert second["errors"] == [
        _error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    ]


def test_a_converted_lead_can_no_longer_be_updated(sandbox):
    """After conversion, updating the lead through the REST API fails with 400."""
    server = sandbox(SEED)
    bob = _id(server, "Lead", LastName="Byte")
    sf = sf_client(server)
    (result,) = _results(_convert(server, {"convertedStatus": "Qualified", "leadId": bob}))
    assert result["success"] == "true"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Lead.update(bob, {"Title": "CEO"})
    assert raised.value.content == [
        {
            "message": "cannot reference converted lead",
            "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD",
            "fields": [],
        }
    ]


# -- the call -------------------------------------------------------------------------------------
def test_a_call_counts_against_the_daily_limit_and_reports_usage(sandbox):
    """One convertLead call is one API call, shown in Sforce-Limit-Info and LimitInfoHeader."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    used = server.sandbox.org.api_used
    response = _post(server, _envelope(token, {"convertedStatus": "Qualified", "leadId": "x"}))
    assert response.status_code == 200
    assert server.sandbox.org.api_used == used + 1
    limit = server.sandbox.org.daily_api_limit
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/{limit}"
    header = _shape(etree.fromstring(response.content).find(f"{{{ENV}}}Header"))
    assert header == {
        "LimitInfoHeader": {
            "limitInfo": {"current": str(used + 1), "limit": str(limit), "type": "API REQUESTS"}
        }
    }
    (entry,) = server.sandbox.journal.entries(api="salesforce")[-1:]
    assert (entry.path, entry.status) == ("/services/Soap/u/59.0", 200)
    assert entry.user == server.sandbox.org.integration_user_id()


def test_over_the_daily_limit_answers_request_limit_exceeded(sandbox):
    """Past the daily API limit the call faults with REQUEST_LIMIT_EXCEEDED and converts nothing."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    org = server.sandbox.org
    org.api_used = org.daily_api_limit
    lead_id = _id(server, "Lead", LastName="Byte")
    fault = _fault(
        _post(server, _envelope(token, {"convertedStatus": "Qualified", "leadId": lead_id}))
    )
    assert fault["faultcode"] == "sf:REQUEST_LIMIT_EXCEEDED"
    assert fault["faultstring"] == "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
    assert org.api_used == org.daily_api_limit
    # Read the org directly: over the limit, the REST API refuses reads too.
    assert org.records["Lead"][lead_id]["IsConverted"] is False


def test_invalid_session_is_a_soap_fault_with_http_500(sandbox):
    """A session id that is no live access token answers Salesforce's INVALID_SESSION_ID fault."""
    server = sandbox(SEED)
    used = server.sandbox.org.api_used
    response = _post(
        server, _envelope("00D!not-a-token", {"convertedStatus": "Qualified", "leadId": "x"})
    )
    assert _fault(response) == {
        "faultcode": "sf:INVALID_SESSION_ID",
        "faultstring": "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
        "Illegal Session",
        "detail": {
            "UnexpectedErrorFault": {
                "exceptionCode": "INVALID_SESSION_ID",
                "exceptionMessage": "Invalid Session ID found in SessionHeader: Illegal Session",
            }
        },
    }
    root = etree.fromstring(response.content)
    (detail,) = root.iter(f"{{{FAULT}}}UnexpectedErrorFault")
    assert detail.get(f"{{{XSI}}}type") == "sf:UnexpectedErrorFault"
    assert server.sandbox.org.api_used == used


def test_invalid_session_fault_matches_a_recorded_salesforce_fault(sandbox):
    """The fault's structure is the one Salesforce sends, element for element."""
    recorded = json.loads((FIXTURES / "soap_invalid_session_fault.json").read_text())
    server = sandbox(SEED)
    response = _post(server, _envelope("expired", {"leadId": "x"}))
    assert response.status_code == recorded["status"]
    documented = etree.fromstring(recorded["body"].encode())
    actual = etree.fromstring(response.content)
    assert shape_diff(_shape(documented), _shape(actual), nullable=False) == []
    assert [e.tag for e in documented.iter() if isinstance(e.tag, str)] == [
        e.tag for e in actual.iter() if isinstance(e.tag, str)
    ]


def test_a_missing_session_header_is_an_invalid_session(sandbox):
    """Without a SessionHeader the call faults with INVALID_SESSION_ID."""
    server = sandbox(SEED)
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{PARTNER}"><soapenv:Body>'
        "<urn:convertLead/></soapenv:Body></soapenv:Envelope>"
    )
    assert _fault(_post(server, body))["faultcode"] == "sf:INVALID_SESSION_ID"


def test_more_than_100_lead_converts_fault_and_100_are_accepted(sandbox):
    """100 leadConverts a call are served; 101 fault with EXCEEDED_ID_LIMIT and change nothing."""
    server = sandbox(SEED)
    sf = sf_client(server)
    bob = _id(server, "Lead", LastName="Byte")
    filler = {"convertedStatus": "Qualified", "leadId": "00Q000000000000AAA"}
    fault = _fault(
        _convert(server, {"convertedStatus": "Qualified", "leadId": bob}, *[filler] * 100)
    )
    assert fault["faultcode"] == "sf:EXCEEDED_ID_LIMIT"
    assert fault["faultstring"] == (
        "EXCEEDED_ID_LIMIT: record limit reached. "
        "cannot submit more than 100 records into this call"
    )
    assert _get(sf, "Lead", bob)["IsConverted"] is False
    results = _results(
        _convert(server, {"convertedStatus": "Qualified", "leadId": bob}, *[filler] * 99)
    )
    assert len(results) == 100
    assert results[0]["success"] == "true"


@pytest.mark.parametrize(
    "body",
    [
        "<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>",
        "not xml at all",
        "",
    ],
)
def test_malformed_xml_is_an_unknown_exception_fault(sandbox, body):
    """XML that does not parse answers an UNKNOWN_EXCEPTION fault with HTTP 500."""
    server = sandbox(SEED)
    fault = _fault(_post(server, body))
    assert fault["faultcode"] == "UNKNOWN_EXCEPTION"
    assert fault["faultstring"].startswith("UNKNOWN_EXCEPTION: ")
    assert fault["detail"]["UnexpectedErrorFault"]["exceptionCode"] == "UNKNOWN_EXCEPTION"


def test_entities_are_never_expanded(sandbox, tmp_path):
    """A DOCTYPE (the XXE vector) is refused and no external file is read into the answer."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    body = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{PARTNER}"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
        "</soapenv:Header><soapenv:Body><urn:convertLead><urn:leadConverts>"
        "<urn:convertedStatus>&x;</urn:convertedStatus></urn:leadConverts></urn:convertLead>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    response = _post(server, body)
    fault = _fault(response)
    assert fault["faultcode"] == "UNKNOWN_EXCEPTION"
    assert "DOCTYPE is disallowed" in fault["faultstring"]
    assert b"TOP-SECRET" not in response.content


def test_elements_out_of_wsdl_order_fault(sandbox):
    """Salesforce reads LeadConvert as a sequence: leadId before convertedStatus is a fault."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{PARTNER}"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
        "</soapenv:Header><soapenv:Body><urn:convertLead><urn:leadConverts>"
        "<urn:leadId>00Q000000000000AAA</urn:leadId><urn:convertedStatus>Qualified"
        "</urn:convertedStatus></urn:leadConverts></urn:convertLead></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    assert _fault(_post(server, body)) == {
        "faultcode": "soapenv:Client",
        "faultstring": f"Element {{{PARTNER}}}convertedStatus invalid at this location",
    }


def test_other_operations_are_not_available(sandbox):
    """An operation other than convertLead faults as an unknown operation."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{PARTNER}"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
        "</soapenv:Header><soapenv:Body><urn:getUserInfo/></soapenv:Body></soapenv:Envelope>"
    )
    assert _fault(_post(server, body)) == {
        "faultcode": "soapenv:Client",
        "faultstring": f"No operation available for request {{{PARTNER}}}getUserInfo, "
        "please check the WSDL for the service.",
    }


def test_record_elements_the_sandbox_cannot_honour_fault(sandbox):
    """accountRecord and the other sObject-valued elements fault instead of being ignored."""
    server = sandbox(SEED)
    token = sf_token(server)["access_token"]
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:urn="{PARTNER}"><soapenv:Header>'
        f"<urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>"
        "</soapenv:Header><soapenv:Body><urn:convertLead><urn:leadConverts>"
        "<urn:accountRecord><urn:type>Account</urn:type><urn:Name>X</urn:Name></urn:accountRecord>"
        "<urn:convertedStatus>Qualified</urn:convertedStatus>"
        "<urn:leadId>00Q000000000000AAA</urn:leadId></urn:leadConverts></urn:convertLead>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    fault = _fault(_post(server, body))
    assert fault["faultcode"] == "sf:FUNCTIONALITY_NOT_ENABLED"
    assert "accountRecord" in fault["faultstring"]


def test_an_unsupported_api_version_faults(sandbox):
    """A version the sandbox does not serve answers UNSUPPORTED_API_VERSION."""
    server = sandbox(SEED)
    fault = _fault(_convert(server, {"leadId": "x"}, version="20.0"))
    assert fault["faultcode"] == "sf:UNSUPPORTED_API_VERSION"


# -- fidelity -------------------------------------------------------------------------------------
def _documented_request(server, fixture: dict[str, Any], lead_id: str, owner_id: str) -> str:
    """The documented request, pointed at the partner API and at this org's lead and owner."""
    body = fixture["request"]["body"]
    for old, new in (
        ("urn:enterprise.soap.sforce.com", PARTNER),
        ("QwWsHJyTPW.1pd0_jXlNKOSU", sf_token(server)["access_token"]),
        ("00QD000000FP14JMAT", lead_id),
        ("005D0000000nVYVIA2", owner_id),
    ):
        assert old in body
        body = body.replace(old, new)
    return body


@pytest.mark.parametrize(
    ("version", "beyond_the_example"),
    [
        ("50.0", []),
        (
            "59.0",
            ["$.convertLeadResponse.result.relatedPersonAccountId: not in the documented example"],
        ),
    ],
)
def test_convert_lead_response_has_the_documented_structure(sandbox, version, beyond_the_example):
    """The documented request gets a response shaped like the documented one (plus, from API 51,
    relatedPersonAccountId, which LeadConvertResult documents since)."""
    fixture = json.loads((FIXTURES / "soap_convert_lead.json").read_text())
    server = sandbox(SEED)
    sf = sf_client(server)
    lead_id = _id(server, "Lead", LastName="Byte")
    rep = _id(server, "User", Username="rep@acme.test")
    response = _post(server, _documented_request(server, fixture, lead_id, rep), version)
    assert response.status_code == fixture["status"]
    assert response.headers["Content-Type"].startswith("text/xml")
    documented = etree.fromstring(fixture["body"].encode()).find(f"{{{ENV}}}Body")
    actual_root = etree.fromstring(response.content)
    actual = actual_root.find(f"{{{ENV}}}Body")
    assert shape_diff(_shape(documented), _shape(actual)) == beyond_the_example
    (response_element,) = actual
    assert response_element.tag == f"{{{PARTNER}}}convertLeadResponse"
    assert {e.tag.split("}")[0] + "}" for e in response_element.iter()} == {f"{{{PARTNER}}}"}
    result = _shape(response_element)["result"]
    assert (result["success"], result["leadId"]) == ("true", lead_id)
    assert _get(sf, "Opportunity", result["opportunityId"])["Name"] == "Partner Opportunity"


def test_limit_info_header_has_the_documented_structure(sandbox):
    """The SOAP header carries LimitInfoHeader exactly as the SOAP API guide shows it."""
    fixture = json.loads((FIXTURES / "soap_limit_info_header.json").read_text())
    server = sandbox(SEED)
    response = _convert(server, {"convertedStatus": "Qualified", "leadId": "x"})
    assert response.status_code == fixture["status"]
    documented = etree.fromstring(fixture["body"].encode()).find(f"{{{ENV}}}Header")
    actual = etree.fromstring(response.content).find(f"{{{ENV}}}Header")
    assert shape_diff(_shape(documented), _shape(actual), nullable=False) == []
    assert [e.tag for e in documented.iter()] == [e.tag for e in actual.iter()]
