"""The partner SOAP API's `merge()` and `emptyRecycleBin()` calls (the REST API has neither:
its guide lists no merge resource, and a REST delete only moves records to the Recycle Bin).

Request and answer shapes (partner WSDL, as generated clients carry it, e.g. wavemaker's
`MergeRequestType` / `EmptyRecycleBinResultType`; SOAP API Developer Guide, merge() and
emptyRecycleBin(); sample answers in wso2/docs-apim `salesforce-soap-reference.md`):

    <merge><request>                      (1..200)
      <masterRecord><type>Lead</type><fieldsToNull>..</fieldsToNull>*<Id>00Q..</Id>
        <Company>..</Company>*</masterRecord>
      <recordToMergeIds>00Q..</recordToMergeIds>   (1..2)
    </request></merge>
    → <mergeResponse><result><errors/>*<id/><mergedRecordIds/>*<success/>
        <updatedRelatedIds/>*</result></mergeResponse>

    <emptyRecycleBin><ids>..</ids>(1..200)</emptyRecycleBin>
    → <emptyRecycleBinResponse><result><errors/>*<id/><success/></result>

The guide's table calls EmptyRecycleBinResult's flag `isSuccess` (its Java getter); on the wire,
as in the WSDL and the recorded answer, the element is `success`. The fields of
`masterRecord` (in `urn:sobject.partner.soap.sforce.com`, an `xsd:any` in the WSDL) are read
by local name whatever their namespace. More than 200 requests or ids is the
`EXCEEDED_ID_LIMIT` fault, as for convertLead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

from connector.sandbox.salesforce.merge import MergeRequest, merge_records
from connector.sandbox.salesforce.org import RecordError
from connector.sandbox.salesforce.soap import (
    PARTNER_NS,
    SoapFault,
    clark,
    elements,
    error_elements,
    leaf,
    response_envelope,
    text_of,
)

if TYPE_CHECKING:
    from connector.sandbox.app import Sandbox

#: "Up to 200 merge requests can be made in a single SOAP call."
MAX_MERGE_REQUESTS = 200
#: emptyRecycleBin(): "Maximum number of records is 200."
MAX_EMPTY_IDS = 200


def merge(sb: Sandbox, operation: etree._Element, user_id: str) -> etree._Element:
    """Parse the `request`s, merge each in its own transaction, answer a result per request."""
    requests = [_merge_request(child) for child in _children(operation, "request")]
    if len(requests) > MAX_MERGE_REQUESTS:
        raise _too_many(MAX_MERGE_REQUESTS)
    results = merge_records(sb.org, requests, user_id)
    root, response = response_envelope(sb, "merge")
    for outcome in results:
        result = etree.SubElement(response, f"{{{PARTNER_NS}}}result")
        error_elements(result, outcome.errors)
        leaf(result, "id", outcome.id)
        for merged in outcome.merged_ids:
            leaf(result, "mergedRecordIds", merged)
        leaf(result, "success", "true" if outcome.success else "false")
        for related in outcome.updated_related_ids:
            leaf(result, "updatedRelatedIds", related)
    return root


def empty_recycle_bin(sb: Sandbox, operation: etree._Element) -> etree._Element:
    """Empty each id out of the Recycle Bin; a result per id, in order."""
    ids = [text_of(child) or "" for child in _children(operation, "ids")]
    if len(ids) > MAX_EMPTY_IDS:
        raise _too_many(MAX_EMPTY_IDS)
    root, response = response_envelope(sb, "emptyRecycleBin")
    now = sb.org.clock()
    for record_id in ids:
        result = etree.SubElement(response, f"{{{PARTNER_NS}}}result")
        try:
            sb.org.empty_recycle_bin(record_id.strip(), now)
        except RecordError as exc:
            error_elements(result, exc.errors)
            leaf(result, "id", record_id.strip() or None)
            leaf(result, "success", "false")
            continue
        leaf(result, "id", record_id.strip())
        leaf(result, "success", "true")
    return root


def _children(operation: etree._Element, name: str) -> list[etree._Element]:
    """The operation's children, each of which must be `name` in the partner namespace."""
    found = []
    for child in elements(operation):
        if child.tag != f"{{{PARTNER_NS}}}{name}":
            msg = f"Element {clark(child)} invalid at this location"
            raise SoapFault.client(msg)
        found.append(child)
    return found


def _merge_request(element: etree._Element) -> MergeRequest:
    """One `request`: optional `additionalInformationMap`s, one `masterRecord`, then
    `recordToMergeIds`, in that order."""
    master: etree._Element | None = None
    victims: list[str] = []
    for child in elements(element):
        name = etree.QName(child).localname
        in_partner = etree.QName(child).namespace == PARTNER_NS
        if in_partner and name == "additionalInformationMap" and master is None:
            continue
        if in_partner and name == "masterRecord" and master is None and not victims:
            master = child
        elif in_partner and name == "recordToMergeIds" and master is not None:
            victims.append(text_of(child) or "")
        else:
            msg = f"Element {clark(child)} invalid at this location"
            raise SoapFault.client(msg)
    if master is None:
        msg = "Element {urn:partner.soap.sforce.com}masterRecord is missing"
        raise SoapFault.client(msg)
    sobject, master_id, values = _sobject(master)
    return MergeRequest(sobject=sobject, master_id=master_id, values=values, victim_ids=victims)


def _sobject(element: etree._Element) -> tuple[str | None, str | None, dict[str, Any]]:
    """An sObject element: its `type`, its `Id`, and the field values it sets (a nil value
    or a `fieldsToNull` name sets null)."""
    sobject: str | None = None
    record_id: str | None = None
    values: dict[str, Any] = {}
    for child in elements(element):
        name = etree.QName(child).localname
        value = text_of(child)
        if name == "type":
            sobject = value.strip() if value else None
        elif name == "Id":
            record_id = value.strip() if value else None
        elif name == "fieldsToNull":
            if value:
                values[value.strip()] = None
        else:
            values[name] = value
    return sobject, record_id, values


def _too_many(limit: int) -> SoapFault:
    return SoapFault.api(
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {limit} records into this call",
    )
