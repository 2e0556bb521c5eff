"""`POST /services/Soap/u/{version}`: the partner SOAP API, as far as leadbridge needs it:
`convertLead()` (the REST API has no lead conversion), and `merge()` and `emptyRecycleBin()`
(the REST API has neither; `soap_merge`).

The session id in `<SessionHeader>` is the OAuth access token. A call counts against the daily
API limit like a REST call, and answers carry both `Sforce-Limit-Info` and the SOAP
`LimitInfoHeader`. Faults are SOAP 1.1 faults with HTTP 500, shaped as Salesforce sends them
(`faultcode` `sf:CODE`, `faultstring` "CODE: message", an `sf:UnexpectedErrorFault` detail).
Requests are parsed with a parser that resolves no entities and fetches nothing; a DOCTYPE is
refused outright.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree
from werkzeug.wrappers import Request, Response

from connector.sandbox.salesforce.common import version_ok, with_limit_info
from connector.sandbox.salesforce.convert import ConvertResult, LeadConvert, convert_leads
from connector.sandbox.salesforce.errors import REQUEST_LIMIT

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox
    from connector.sandbox.salesforce.org import SfError

ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CONTENT_TYPE = "text/xml;charset=UTF-8"
#: Apex documents "The convertLead method accepts up to 100 LeadConvert objects".
MAX_LEAD_CONVERTS = 100
#: API version from which LeadConvertResult carries relatedPersonAccountId (in the v51 docs,
#: absent from the v38 ones).
PERSON_ACCOUNT_RESULT_VERSION = 51.0

#: The LeadConvert complexType's sequence, in WSDL order (Salesforce's deserializer enforces it).
LEAD_CONVERT_ELEMENTS = (
    "accountId",
    "accountRecord",
    "bypassAccountDedupeCheck",
    "bypassContactDedupeCheck",
    "contactId",
    "contactRecord",
    "convertedStatus",
    "doNotCreateOpportunity",
    "leadId",
    "opportunityId",
    "opportunityName",
    "opportunityRecord",
    "overwriteLeadSource",
    "ownerId",
    "relatedPersonAccountId",
    "relatedPersonAccountRecord",
    "sendNotificationEmail",
)
#: Elements the sandbox cannot honour; it faults rather than convert differently than asked.
UNSUPPORTED_ELEMENTS = frozenset(
    {
        "accountRecord",
        "contactRecord",
        "opportunityRecord",
        "relatedPersonAccountId",
        "relatedPersonAccountRecord",
    }
)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

# Fault texts, as Salesforce words them where known.
_INVALID_SESSION = (
    "INVALID_SESSION_ID",
    "Invalid Session ID found in SessionHeader: Illegal Session",
)
_OVER_LIMIT = (REQUEST_LIMIT["errorCode"], REQUEST_LIMIT["message"])
_BAD_VERSION = ("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
_TOO_MANY = (
    "EXCEEDED_ID_LIMIT",
    f"record limit reached. cannot submit more than {MAX_LEAD_CONVERTS} records into this call",
)
_NOT_SUPPORTED = "FUNCTIONALITY_NOT_ENABLED"
_DOCTYPE = (
    'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/'
    'disallow-doctype-decl" set to true.'
)
_VERSION_MISMATCH = ("soapenv:VersionMismatch", "Wrong SOAP version: expected a SOAP 1.1 Envelope")
#: The partner API calls the sandbox serves.
OPERATIONS = ("convertLead", "merge", "emptyRecycleBin")
_NO_OPERATION = "No operation available for request, please check the WSDL for the service."


def routes() -> list[tuple[str, list[str], Handler]]:
    return [("/services/Soap/u/<version>", ["POST"], soap)]


class SoapFault(Exception):
    """A SOAP fault to answer with HTTP 500 (SOAP 1.1 section 6.2)."""

    def __init__(
        self,
        faultcode: str,
        faultstring: str,
        code: str | None = None,
        detail_message: str | None = None,
    ) -> None:
        super().__init__(faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.code = code  # when set, an sf:UnexpectedErrorFault detail carries it
        self.detail_message = detail_message or faultstring

    @classmethod
    def api(cls, code: str, message: str) -> SoapFault:
        """A Salesforce API fault: `sf:CODE`, "CODE: message", with detail."""
        return cls(f"sf:{code}", f"{code}: {message}", code, message)

    @classmethod
    def unknown(cls, message: str) -> SoapFault:
        """What Salesforce answers to XML it cannot parse (faultcode without the sf: prefix)."""
        code = "UNKNOWN_EXCEPTION"
        return cls(code, f"{code}: {message}", code, message)

    @classmethod
    def client(cls, message: str) -> SoapFault:
        """A request that does not fit the WSDL: `soapenv:Client`, no detail."""
        return cls("soapenv:Client", message)

    def response(self) -> Response:
        root = etree.Element(
            f"{{{ENV_NS}}}Envelope", nsmap={"soapenv": ENV_NS, "sf": FAULT_NS, "xsi": XSI_NS}
        )
        fault = etree.SubElement(etree.SubElement(root, f"{{{ENV_NS}}}Body"), f"{{{ENV_NS}}}Fault")
        etree.SubElement(fault, "faultcode").text = self.faultcode
        etree.SubElement(fault, "faultstring").text = self.faultstring
        if self.code:
            detail = etree.SubElement(
                etree.SubElement(fault, "detail"), f"{{{FAULT_NS}}}UnexpectedErrorFault"
            )
            detail.set(f"{{{XSI_NS}}}type", "sf:UnexpectedErrorFault")
            etree.SubElement(detail, f"{{{FAULT_NS}}}exceptionCode").text = self.code
            etree.SubElement(detail, f"{{{FAULT_NS}}}exceptionMessage").text = self.detail_message
        return _xml_response(root, 500)


def soap(sb: Sandbox, request: Request, version: str) -> Response:
    """Serve one partner API call: `convertLead`, `merge` or `emptyRecycleBin`."""
    from connector.sandbox.salesforce import soap_merge

    try:
        if not version_ok(version):
            raise SoapFault.api(*_BAD_VERSION)
        envelope = _parse(request.get_data(cache=True))
        _begin_call(sb, request, envelope)
        operation = _operation(envelope)
        user_id = request.environ["sandbox.user"]
        name = etree.QName(operation).localname
        if name == "merge":
            answer = soap_merge.merge(sb, operation, user_id)
        elif name == "emptyRecycleBin":
            answer = soap_merge.empty_recycle_bin(sb, operation)
        else:
            converts = _lead_converts(operation)
            results = convert_leads(sb.org, converts, user_id)
            answer = _convert_response(sb, float(version), results)
    except SoapFault as fault:
        return with_limit_info(sb, fault.response())
    return with_limit_info(sb, _xml_response(answer))


# -- request ------------------------------------------------------------------------------------
def _parse(data: bytes) -> etree._Element:
    """The request's Envelope element; never resolves entities or reaches the network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SoapFault.unknown(str(exc) or "Premature end of file.") from None
    if root.getroottree().docinfo.doctype:
        raise SoapFault.unknown(_DOCTYPE)
    if root.tag != f"{{{ENV_NS}}}Envelope":
        if etree.QName(root).localname == "Envelope":
            raise SoapFault(*_VERSION_MISMATCH)
        msg = f"Element {clark(root)} invalid at this location"
        raise SoapFault.client(msg)
    return root


def _begin_call(sb: Sandbox, request: Request, envelope: etree._Element) -> None:
    """Check the SessionHeader and count the call against the daily API limit."""
    token = envelope.findtext(
        f"{{{ENV_NS}}}Header/{{{PARTNER_NS}}}SessionHeader/{{{PARTNER_NS}}}sessionId"
    )
    user_id = sb.org.sessions.get((token or "").strip())
    if user_id is None:
        raise SoapFault.api(*_INVALID_SESSION)
    request.environ["sandbox.user"] = user_id
    if sb.org.api_used >= sb.org.daily_api_limit:
        raise SoapFault.api(*_OVER_LIMIT)
    sb.org.api_used += 1


def _operation(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{ENV_NS}}}Body")
    children = elements(body) if body is not None else []
    if not children:
        raise SoapFault.client(_NO_OPERATION)
    operation = children[0]
    if operation.tag not in {f"{{{PARTNER_NS}}}{name}" for name in OPERATIONS}:
        msg = (
            f"No operation available for request {clark(operation)}, "
            "please check the WSDL for the service."
        )
        raise SoapFault.client(msg)
    return operation


def _lead_converts(operation: etree._Element) -> list[LeadConvert]:
    found = []
    for child in elements(operation):
        if child.tag != f"{{{PARTNER_NS}}}leadConverts":
            msg = f"Element {clark(child)} invalid at this location"
            raise SoapFault.client(msg)
        found.append(child)
    if len(found) > MAX_LEAD_CONVERTS:
        raise SoapFault.api(*_TOO_MANY)
    return [_lead_convert(element) for element in found]


def _lead_convert(element: etree._Element) -> LeadConvert:
    """One leadConverts element, its children in WSDL order, each at most once."""
    values: dict[str, str | None] = {}
    position = -1
    for child in elements(element):
        name = etree.QName(child).localname
        index = LEAD_CONVERT_ELEMENTS.index(name) if name in LEAD_CONVERT_ELEMENTS else -1
        if etree.QName(child).namespace != PARTNER_NS or index <= position:
            msg = f"Element {clark(child)} invalid at this location"
            raise SoapFault.client(msg)
        position = index
        values[name] = text_of(child)
    unsupported = sorted(name for name in UNSUPPORTED_ELEMENTS if values.get(name) is not None)
    if unsupported:
        msg = f"the leadbridge sandbox does not support {', '.join(unsupported)} in convertLead"
        raise SoapFault.api(_NOT_SUPPORTED, msg)
    return LeadConvert(
        lead_id=_id(values.get("leadId")),
        converted_status=values.get("convertedStatus"),
        account_id=_id(values.get("accountId")),
        contact_id=_id(values.get("contactId")),
        opportunity_id=_id(values.get("opportunityId")),
        opportunity_name=values.get("opportunityName"),
        do_not_create_opportunity=_boolean(values.get("doNotCreateOpportunity")),
        overwrite_lead_source=_boolean(values.get("overwriteLeadSource")),
        owner_id=_id(values.get("ownerId")),
        send_notification_email=_boolean(values.get("sendNotificationEmail")),
    )


def elements(parent: etree._Element) -> list[etree._Element]:
    """Child elements, skipping comments and processing instructions."""
    return [child for child in parent if isinstance(child.tag, str)]


def text_of(element: etree._Element) -> str | None:
    """The element's value; `xsi:nil="true"` and an empty element both mean null."""
    if element.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
        return None
    if len(element):  # an sObject value (the *Record elements)
        return ""
    return element.text if element.text and element.text.strip() else None


def _id(value: str | None) -> str | None:
    return value.strip() if value else None


def _boolean(value: str | None) -> bool:
    if value is None:
        return False
    parsed = _BOOLEANS.get(value.strip())
    if parsed is None:
        msg = f"'{value}' is not a valid value for the type xsd:boolean"
        raise SoapFault.client(msg)
    return parsed


def clark(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"{{{qname.namespace or ''}}}{qname.localname}"


# -- response -----------------------------------------------------------------------------------
def response_envelope(sb: Sandbox, operation: str) -> tuple[etree._Element, etree._Element]:
    """An answer's Envelope with its `LimitInfoHeader`, and its `{operation}Response` element
    to fill with `result`s."""
    root = etree.Element(
        f"{{{ENV_NS}}}Envelope", nsmap={"soapenv": ENV_NS, None: PARTNER_NS, "xsi": XSI_NS}
    )
    header = etree.SubElement(root, f"{{{ENV_NS}}}Header")
    limit = etree.SubElement(
        etree.SubElement(header, f"{{{PARTNER_NS}}}LimitInfoHeader"), f"{{{PARTNER_NS}}}limitInfo"
    )
    leaf(limit, "current", str(sb.org.api_used))
    leaf(limit, "limit", str(sb.org.daily_api_limit))
    leaf(limit, "type", "API REQUESTS")
    body = etree.SubElement(root, f"{{{ENV_NS}}}Body")
    return root, etree.SubElement(body, f"{{{PARTNER_NS}}}{operation}Response")


def error_elements(result: etree._Element, errors: list[SfError]) -> None:
    """`errors` children of a result: `fields`, `message`, `statusCode` each."""
    for error in errors:
        element = etree.SubElement(result, f"{{{PARTNER_NS}}}errors")
        for name in error.fields:
            leaf(element, "fields", name)
        leaf(element, "message", error.message)
        leaf(element, "statusCode", error.code)


def _convert_response(sb: Sandbox, version: float, results: list[ConvertResult]) -> etree._Element:
    root, response = response_envelope(sb, "convertLead")
    for outcome in results:
        result = etree.SubElement(response, f"{{{PARTNER_NS}}}result")
        leaf(result, "accountId", outcome.account_id)
        leaf(result, "contactId", outcome.contact_id)
        error_elements(result, outcome.errors)
        leaf(result, "leadId", outcome.lead_id)
        leaf(result, "opportunityId", outcome.opportunity_id)
        if version >= PERSON_ACCOUNT_RESULT_VERSION:
            leaf(result, "relatedPersonAccountId", None)
        leaf(result, "success", "true" if outcome.success else "false")
    return root


def leaf(parent: etree._Element, name: str, text: str | None) -> None:
    """A child in the partner namespace; None becomes `xsi:nil="true"` as Salesforce sends."""
    element = etree.SubElement(parent, f"{{{PARTNER_NS}}}{name}")
    if text is None:
        element.set(f"{{{XSI_NS}}}nil", "true")
    else:
        element.text = text


def _xml_response(root: etree._Element, status: int = 200) -> Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Response(body, status=status, content_type=CONTENT_TYPE)
