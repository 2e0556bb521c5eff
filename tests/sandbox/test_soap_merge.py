"""merge() and emptyRecycleBin() through the partner SOAP API behave as the SOAP API Developer
Guide describes them: merged records land in the Recycle Bin with MasterRecordId, queryAll
finds them, emptying the bin removes them for good (after a while) while getDeleted keeps them.

simple-salesforce has no SOAP data calls, so requests are POSTed with the client's own session
and token, as an admin script (or leadbridge's convertLead) does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from simple_salesforce import Salesforce

from tests.conftest import sf_client
from tests.sandbox.shapes import shape_diff

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

SEED: dict[str, Any] = {
    "salesforce": {
        "Account": [
            {"Id": "@acme", "Name": "Acme", "Phone": "+1 555 0100"},
            {"Id": "@acme2", "Name": "ACME Inc", "Website": "https://acme.test"},
            {"Id": "@child", "Name": "Acme Labs", "ParentId": "@acme2"},
        ],
        "Contact": [
            {"Id": "@ada", "LastName": "Lovelace", "Email": "ada@acme.test", "AccountId": "@acme"},
            {
                "Id": "@ada2",
                "LastName": "Lovelace",
                "Email": "ada.l@acme.test",
                "AccountId": "@acme2",
                "HubSpot_Contact_Id__c": "202",
            },
        ],
        "Opportunity": [
            {
                "Id": "@deal",
                "Name": "Acme deal",
                "AccountId": "@acme2",
                "StageName": "Prospecting",
                "CloseDate": "2026-12-31",
            }
        ],
        "Lead": [
            {"Id": "@keep", "LastName": "Keep", "Company": "Acme", "Email": "k@acme.test"},
            {"Id": "@dup1", "LastName": "Dup", "Company": "Acme", "Phone": "+1 555 0199"},
            {"Id": "@dup2", "LastName": "Dup2", "Company": "Acme", "HubSpot_Contact_Id__c": "77"},
            {"Id": "@dup3", "LastName": "Dup3", "Company": "Acme"},
        ],
    }
}


# -- helpers ------------------------------------------------------------------------------------
def _ids(server, sobject: str) -> dict[str, str]:
    """Name (LastName for people, Name otherwise) → id of the live records of `sobject`."""
    key = "Name" if sobject == "Account" else "LastName"
    if sobject == "Contact":
        key = "Email"
    return {r[key]: r["Id"] for r in server.sandbox.org.records[sobject].values()}


def _envelope(token: str, operation: etree._Element) -> bytes:
    root = etree.Element(
        f"{{{ENV}}}Envelope", nsmap={"soapenv": ENV, "urn": PARTNER, "urn1": SOBJECT}
    )
    header = etree.SubElement(root, f"{{{ENV}}}Header")
    etree.SubElement(
        etree.SubElement(header, f"{{{PARTNER}}}SessionHeader"), f"{{{PARTNER}}}sessionId"
    ).text = token
    etree.SubElement(root, f"{{{ENV}}}Body").append(operation)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _merge_body(
    sobject: str, master: str, victims: list[str], values: dict[str, str | None] | None = None
) -> etree._Element:
    operation = etree.Element(f"{{{PARTNER}}}merge")
    request = etree.SubElement(operation, f"{{{PARTNER}}}request")
    record = etree.SubElement(request, f"{{{PARTNER}}}masterRecord")
    etree.SubElement(record, f"{{{SOBJECT}}}type").text = sobject
    for name, value in (values or {}).items():
        if value is None:
            etree.SubElement(record, f"{{{SOBJECT}}}fieldsToNull").text = name
    etree.SubElement(record, f"{{{SOBJECT}}}Id").text = master
    for name, value in (values or {}).items():
        if value is not None:
            etree.SubElement(record, f"{{{SOBJECT}}}{name}").text = value
    for victim in victims:
        etree.SubElement(request, f"{{{PARTNER}}}recordToMergeIds").text = victim
    return operation


def _soap(sf: Salesforce, operation: etree._Element, version: str = "59.0"):
    """POST a partner call with the client's session (its token is the SessionHeader)."""
    return sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/{version}",
        data=_envelope(sf.session_id, operation),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        timeout=30,
    )


def _shape(element: etree._Element) -> Any:
    """An element as nested dicts by local name; repeated names become lists."""
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


def _results(response, operation: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    found = root.findall(f"{{{ENV}}}Body/{{{PARTNER}}}{operation}Response/{{{PARTNER}}}result")
    return [_shape(r) for r in found]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _fault(response) -> tuple[str, str]:
    assert response.status_code == 500, response.text
    fault = etree.fromstring(response.content).find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def _merge(sf, sobject, master, victims, values=None) -> dict[str, Any]:
    (result,) = _results(_soap(sf, _merge_body(sobject, master, victims, values)), "merge")
    return result


# -- merge ----------------------------------------------------------------------------------------
def test_documented_merge_answers_the_documented_shape(sandbox):
    """The documented Account merge, replayed with the sandbox's ids, answers 200 with the
    recorded answer's header and result elements (id, mergedRecordIds, success)."""
    fixture = json.loads((FIXTURES / "soap_merge.json").read_text())
    server = sandbox(SEED)
    sf = sf_client(server)
    accounts = _ids(server, "Account")
    body = (
        fixture["request"]["body"]
        .replace("SESSION", sf.session_id)
        .replace("0012x000008un5bAAA", accounts["Acme"])
        .replace("0012x000008un5lAAA", accounts["Acme Labs"])
    )
    response = sf.session.post(
        f"https://{sf.sf_instance}{fixture['request']['path']}",
        data=body.encode(),
        headers=fixture["request"]["headers"],
        timeout=30,
    )
    assert response.status_code == fixture["status"], response.text
    documented = etree.fromstring(fixture["body"].encode())
    actual = etree.fromstring(response.content)
    assert shape_diff(_shape(documented), _shape(actual), nullable=False) == []
    result = _shape(actual.find(f"{{{ENV}}}Body/{{{PARTNER}}}mergeResponse"))["result"]
    assert (result["id"], result["mergedRecordIds"]) == (accounts["Acme"], accounts["Acme Labs"])


def test_merged_leads_go_to_the_recycle_bin_with_their_master(sandbox):
    """Two Leads merged into a third: the result names the master and both merged ids; query no
    longer sees them; queryAll shows them IsDeleted with MasterRecordId = the master, as the
    guide's "isDeleted=true and masterRecordId != null" query finds merged records."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    result = _merge(sf, "Lead", leads["Keep"], [leads["Dup"], leads["Dup2"]])

    assert result["success"] == "true"
    assert result["id"] == leads["Keep"]
    assert sorted(_as_list(result["mergedRecordIds"])) == sorted([leads["Dup"], leads["Dup2"]])
    live = sf.query("SELECT Id FROM Lead")["records"]
    assert sorted(r["Id"] for r in live) == sorted([leads["Keep"], leads["Dup3"]])
    merged = sf.query_all(
        "SELECT Id, IsDeleted, MasterRecordId FROM Lead "
        "WHERE IsDeleted = true AND MasterRecordId != null",
        include_deleted=True,
    )["records"]
    assert sorted((r["Id"], r["IsDeleted"], r["MasterRecordId"]) for r in merged) == sorted(
        [(leads["Dup"], True, leads["Keep"]), (leads["Dup2"], True, leads["Keep"])]
    )
    assert sf.Lead.get(leads["Keep"])["MasterRecordId"] is None


def test_values_in_master_record_are_written_and_fields_to_null_cleared(sandbox):
    """Field values sent in masterRecord land on the master like an update (a victim's phone
    kept, the email cleared through fieldsToNull), and LastModifiedDate moves."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    before = sf.Lead.get(leads["Keep"])
    result = _merge(
        sf, "Lead", leads["Keep"], [leads["Dup"]], {"Phone": "+1 555 0199", "Email": None}
    )
    assert result["success"] == "true"
    after = sf.Lead.get(leads["Keep"])
    assert (after["Phone"], after["Email"]) == ("+1 555 0199", None)
    assert after["SystemModstamp"] >= before["SystemModstamp"]


def test_merging_contacts_frees_the_victims_external_id(sandbox):
    """A merged Contact leaves the live records: its unique HubSpot id no longer blocks another
    Contact, and the merge answers its id in mergedRecordIds."""
    server = sandbox(SEED)
    sf = sf_client(server)
    contacts = _ids(server, "Contact")
    result = _merge(sf, "Contact", contacts["ada@acme.test"], [contacts["ada.l@acme.test"]])
    assert result["success"] == "true"
    assert result["mergedRecordIds"] == contacts["ada.l@acme.test"]
    created = sf.Contact.create({"LastName": "New", "HubSpot_Contact_Id__c": "202"})
    assert created["success"] is True
    (row,) = sf.query_all(
        "SELECT MasterRecordId FROM Contact "
        "WHERE HubSpot_Contact_Id__c = '202' AND IsDeleted = true",
        include_deleted=True,
    )["records"]
    assert row["MasterRecordId"] == contacts["ada@acme.test"]


def test_merging_accounts_reparents_their_related_records(sandbox):
    """The victim Account's contacts, opportunities and child accounts point at the master
    afterwards, and updatedRelatedIds lists them."""
    server = sandbox(SEED)
    sf = sf_client(server)
    accounts = _ids(server, "Account")
    contacts = _ids(server, "Contact")
    result = _merge(sf, "Account", accounts["Acme"], [accounts["ACME Inc"]])
    assert result["success"] == "true"
    deal = server.sandbox.org.records["Opportunity"]
    (deal_id,) = deal
    assert sorted(_as_list(result["updatedRelatedIds"])) == sorted(
        [contacts["ada.l@acme.test"], deal_id, accounts["Acme Labs"]]
    )
    assert sf.Contact.get(contacts["ada.l@acme.test"])["AccountId"] == accounts["Acme"]
    assert sf.Opportunity.get(deal_id)["AccountId"] == accounts["Acme"]
    assert sf.Account.get(accounts["Acme Labs"])["ParentId"] == accounts["Acme"]


def test_each_request_is_its_own_transaction(sandbox):
    """Of two requests in one call, a refused one (a deleted victim) changes nothing while the
    other lands; the refused one's result carries Salesforce's ENTITY_IS_DELETED."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    sf.Lead.delete(leads["Dup3"])
    operation = _merge_body("Lead", leads["Keep"], [leads["Dup"]])
    second = _merge_body("Lead", leads["Dup2"], [leads["Dup3"]], {"Company": "Changed"})
    operation.append(second[0])
    ok, refused = _results(_soap(sf, operation), "merge")
    assert ok["success"] == "true"
    assert refused["success"] == "false"
    assert refused["errors"]["statusCode"] == "ENTITY_IS_DELETED"
    assert sf.Lead.get(leads["Dup2"])["Company"] == "Acme"  # rolled back


@pytest.mark.parametrize(
    ("sobject", "pick", "code"),
    [
        ("Opportunity", lambda ids: (ids["@deal"], [ids["@deal"]]), "INVALID_TYPE"),
        ("Lead", lambda ids: (ids["Keep"], [ids["Keep"]]), "INVALID_ID_FIELD"),
        ("Lead", lambda ids: (ids["Keep"], []), "INVALID_ID_FIELD"),
        (
            "Lead",
            lambda ids: (ids["Keep"], [ids["Dup"], ids["Dup2"], ids["Dup3"]]),
            "LIMIT_EXCEEDED",
        ),
        ("Lead", lambda ids: (ids["Keep"], ["001000000000000AAA"]), "MALFORMED_ID"),
    ],
    ids=[
        "not mergeable",
        "master merged into itself",
        "nothing to merge",
        "four records",
        "an Account id among Leads",
    ],
)
def test_requests_the_guide_rules_out_fail_alone(sandbox, sobject, pick, code):
    """Only Leads, Contacts and Accounts merge; one or two other records of the same type; the
    failure is a result with errors, and nothing is deleted."""
    server = sandbox(SEED)
    sf = sf_client(server)
    ids = {**_ids(server, "Lead"), "@deal": next(iter(server.sandbox.org.records["Opportunity"]))}
    master, victims = pick(ids)
    result = _merge(sf, sobject, master, victims)
    assert result["success"] == "false"
    assert _as_list(result["errors"])[0]["statusCode"] == code
    assert (
        sf.query_all("SELECT COUNT() FROM Lead WHERE IsDeleted = true", include_deleted=True)[
            "totalSize"
        ]
        == 0
    )


def test_more_than_200_requests_is_a_fault(sandbox):
    """Up to 200 merge requests per call: 201 are refused whole with EXCEEDED_ID_LIMIT."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    operation = etree.Element(f"{{{PARTNER}}}merge")
    for _ in range(201):
        operation.append(_merge_body("Lead", leads["Keep"], [leads["Dup"]])[0])
    code, text = _fault(_soap(sf, operation))
    assert code == "sf:EXCEEDED_ID_LIMIT" and "200" in text
    assert len(sf.query("SELECT Id FROM Lead")["records"]) == 4


def test_a_merge_is_a_counted_journaled_call(sandbox):
    """A merge call counts one API request (LimitInfoHeader and Sforce-Limit-Info say so) and
    appears in the journal under the SOAP path."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    used = server.sandbox.org.api_used
    seq = server.sandbox.journal.last_seq()
    response = _soap(sf, _merge_body("Lead", leads["Keep"], [leads["Dup"]]))
    assert response.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/100000"
    current = etree.fromstring(response.content).findtext(f".//{{{PARTNER}}}current")
    assert current == str(used + 1)
    (entry,) = server.sandbox.journal.entries(since=seq)
    assert (entry.method, entry.path, entry.status) == ("POST", "/services/Soap/u/59.0", 200)


def test_merged_victims_are_listed_by_get_deleted(sandbox):
    """A merge's victims are deletions: Lead.deleted() lists them once their minute is over."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    _merge(sf, "Lead", leads["Keep"], [leads["Dup"]])
    server.sandbox.org.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    now = datetime.now(UTC)
    answer = sf.Lead.deleted(now - timedelta(minutes=10), now + timedelta(minutes=5))
    assert [r["id"] for r in answer["deletedRecords"]] == [leads["Dup"]]


# -- emptyRecycleBin ------------------------------------------------------------------------------
def _empty_body(*ids: str) -> etree._Element:
    operation = etree.Element(f"{{{PARTNER}}}emptyRecycleBin")
    for record_id in ids:
        etree.SubElement(operation, f"{{{PARTNER}}}ids").text = record_id
    return operation


def test_documented_empty_recycle_bin_answers_the_documented_shape(sandbox):
    """The documented call, replayed on a deleted Account, answers the recorded answer's
    elements (id, success)."""
    fixture = json.loads((FIXTURES / "soap_empty_recycle_bin.json").read_text())
    server = sandbox(SEED)
    sf = sf_client(server)
    account = _ids(server, "Account")["Acme Labs"]
    sf.Account.delete(account)
    body = (
        fixture["request"]["body"]
        .replace("SESSION", sf.session_id)
        .replace("0016F00002S4WaGQAV", account)
    )
    response = sf.session.post(
        f"https://{sf.sf_instance}{fixture['request']['path']}",
        data=body.encode(),
        headers=fixture["request"]["headers"],
        timeout=30,
    )
    assert response.status_code == fixture["status"], response.text
    documented = etree.fromstring(fixture["body"].encode())
    actual = etree.fromstring(response.content)
    assert shape_diff(_shape(documented), _shape(actual), nullable=False) == []


def test_emptied_records_leave_query_all_after_a_while_but_stay_in_get_deleted(sandbox):
    """Emptied from the Recycle Bin, a deleted Lead is still seen by queryAll for a while (the
    guide: "typically 24 hours"), then no more; getDeleted keeps listing the deletion; a second
    emptying fails."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    sf.Lead.delete(leads["Dup"])
    (result,) = _results(_soap(sf, _empty_body(leads["Dup"])), "emptyRecycleBin")
    assert (result["id"], result["success"]) == (leads["Dup"], "true")
    soql = "SELECT Id FROM Lead WHERE IsDeleted = true"
    assert [r["Id"] for r in sf.query_all(soql, include_deleted=True)["records"]] == [leads["Dup"]]

    server.sandbox.org.clock = lambda: datetime.now(UTC) + timedelta(hours=25)
    assert sf.query_all(soql, include_deleted=True)["records"] == []
    later = server.sandbox.org.clock()
    deleted = sf.Lead.deleted(later - timedelta(days=2), later)
    assert [r["id"] for r in deleted["deletedRecords"]] == [leads["Dup"]]
    (again,) = _results(_soap(sf, _empty_body(leads["Dup"])), "emptyRecycleBin")
    assert again["success"] == "false"


def test_ids_not_in_the_recycle_bin_fail_one_by_one(sandbox):
    """A live record and a malformed id each get a failed result with errors; a deleted one in
    the same call is emptied."""
    server = sandbox(SEED)
    sf = sf_client(server)
    leads = _ids(server, "Lead")
    sf.Lead.delete(leads["Dup"])
    results = _results(
        _soap(sf, _empty_body(leads["Keep"], "nonsense", leads["Dup"])), "emptyRecycleBin"
    )
    assert [r["success"] for r in results] == ["false", "false", "true"]
    assert [r["errors"]["statusCode"] for r in results[:2]] == ["INVALID_ID_FIELD", "MALFORMED_ID"]
    assert sf.Lead.get(leads["Keep"])["Id"] == leads["Keep"]


def test_more_than_200_ids_is_a_fault(sandbox):
    """emptyRecycleBin takes 200 ids at most; 201 are refused whole."""
    sf = sf_client(sandbox(SEED))
    code, _ = _fault(_soap(sf, _empty_body(*["00Q000000000000AAA"] * 201)))
    assert code == "sf:EXCEEDED_ID_LIMIT"


def test_rest_has_no_merge_resource(sandbox):
    """The REST API documents no merge resource (merges go through SOAP): `POST
    sobjects/Lead/merge` is a record URL that takes no POST (405), `POST merge` an unknown
    resource (404), and nothing is merged."""
    server = sandbox(SEED)
    sf = sf_client(server)
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    as_record = sf.session.post(
        f"{sf.base_url}sobjects/Lead/merge", json={}, headers=headers, timeout=30
    )
    assert (as_record.status_code, as_record.json()[0]["errorCode"]) == (405, "METHOD_NOT_ALLOWED")
    unknown = sf.session.post(f"{sf.base_url}merge", json={}, headers=headers, timeout=30)
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    assert len(sf.query("SELECT Id FROM Lead")["records"]) == 4
