"""Property definitions for contacts and companies, as `GET /crm/v3/properties/{type}` shows them.

The standard set covers what leadbridge reads and writes, with HubSpot's names, labels, types,
field types, groups and default options (lifecycle stages, lead statuses, company industries).
A seed may add custom properties (`seed.hubspot.properties.contacts[...]`). The same definitions
drive write validation (unknown property, read-only value, option not allowed, bad email or
number) so that the sandbox refuses exactly what HubSpot refuses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.hubspot.values import iso_ms, parse_datetime_ms, parse_number

#: When HubSpot created its standard properties; shown as their createdAt/updatedAt.
STANDARD_CREATED = "2019-08-06T02:41:52.425Z"
STANDARD_UPDATED = "2023-10-30T14:07:29.156Z"

TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = (
    "text",
    "textarea",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "phonenumber",
    "html",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


@dataclass(frozen=True)
class Option:
    """One choice of an enumeration property."""

    label: str
    value: str
    display_order: int
    hidden: bool = False
    description: str = ""

    def to_api(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "description": self.description,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
        }


@dataclass
class PropertyDef:
    """One property of an object type; `to_api()` is its Properties API representation."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: tuple[Option, ...] = ()
    display_order: int = -1
    calculated: bool = False
    external_options: bool = False
    has_unique_value: bool = False
    hidden: bool = False
    hubspot_defined: bool = True
    read_only_value: bool = False
    read_only_definition: bool = True
    archivable: bool = False
    form_field: bool = False
    referenced_object_type: str | None = None
    created_at: str = STANDARD_CREATED
    updated_at: str = STANDARD_UPDATED
    _values: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    #: A free-text property whose written values need no check (the fast path of writes).
    plain: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._values = frozenset(o.value for o in self.options)
        self.plain = self.type == "string" and self.name not in ("email", "hubspot_owner_id")

    def option_allowed(self, value: str) -> bool:
        return value in self._values

    def option_index(self, value: str) -> int:
        """Position of an option (lifecycle stages are ordered by it); -1 when absent."""
        for index, option in enumerate(self.options):
            if option.value == value:
                return index
        return -1

    def to_api(self) -> dict[str, Any]:
        metadata: dict[str, bool] = {
            "archivable": self.archivable,
            "readOnlyDefinition": self.read_only_definition,
            "readOnlyValue": self.read_only_value,
            # Options of calculated enumerations are HubSpot's; others may be edited.
            "readOnlyOptions": self.type == "enumeration" and self.read_only_value,
        }
        body: dict[str, Any] = {
            "updatedAt": self.updated_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [o.to_api() for o in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": metadata,
            "formField": self.form_field,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }
        if self.referenced_object_type:
            body["referencedObjectType"] = self.referenced_object_type
        return body


@dataclass(frozen=True)
class Issue:
    """Why one property value was refused, in HubSpot's validation-result terms."""

    name: str
    code: str  # PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE, INVALID_OPTION, INVALID_EMAIL, ...
    message: str

    def result(self) -> dict[str, Any]:
        """One entry of the `Property values were not valid: [...]` list."""
        return {"isValid": False, "message": self.message, "error": self.code, "name": self.name}

    def detail(self) -> dict[str, Any]:
        """One entry of the error body's `errors` array."""
        return {
            "message": self.message,
            "code": self.code,
            "context": {"propertyName": [self.name]},
        }


def issues_message(issues: list[Issue]) -> str:
    """HubSpot's top-level message for refused property values."""
    results = json.dumps([i.result() for i in issues], separators=(",", ":"), ensure_ascii=False)
    return f"Property values were not valid: {results}"


def _options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(label, value, i) for i, (value, label) in enumerate(pairs))


LIFECYCLE_STAGES = _options(
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)

LEAD_STATUSES = _options(
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)

ANALYTICS_SOURCES = _options(
    ("ORGANIC_SEARCH", "Organic Search"),
    ("PAID_SEARCH", "Paid Search"),
    ("EMAIL_MARKETING", "Email Marketing"),
    ("SOCIAL_MEDIA", "Organic Social"),
    ("REFERRALS", "Referrals"),
    ("OTHER_CAMPAIGNS", "Other Campaigns"),
    ("DIRECT_TRAFFIC", "Direct Traffic"),
    ("OFFLINE", "Offline Sources"),
    ("PAID_SOCIAL", "Paid Social"),
)

EMPLOYEE_RANGES = _options(
    ("1-5", "1-5"),
    ("5-25", "5-25"),
    ("25-50", "25-50"),
    ("50-100", "50-100"),
    ("100-500", "100-500"),
    ("500-1000", "500-1000"),
    ("1000+", "1000+"),
)

#: The company `industry` options (HubSpot's LinkedIn-derived list; labels from the values).
_INDUSTRY_VALUES = """
ACCOUNTING AIRLINES_AVIATION ALTERNATIVE_DISPUTE_RESOLUTION ALTERNATIVE_MEDICINE ANIMATION
APPAREL_FASHION ARCHITECTURE_PLANNING ARTS_AND_CRAFTS AUTOMOTIVE AVIATION_AEROSPACE BANKING
BIOTECHNOLOGY BROADCAST_MEDIA BUILDING_MATERIALS BUSINESS_SUPPLIES_AND_EQUIPMENT CAPITAL_MARKETS
CHEMICALS CIVIC_SOCIAL_ORGANIZATION CIVIL_ENGINEERING COMMERCIAL_REAL_ESTATE
COMPUTER_NETWORK_SECURITY COMPUTER_GAMES COMPUTER_HARDWARE COMPUTER_NETWORKING COMPUTER_SOFTWARE
INTERNET CONSTRUCTION CONSUMER_ELECTRONICS CONSUMER_GOODS CONSUMER_SERVICES COSMETICS DAIRY
DEFENSE_SPACE DESIGN EDUCATION_MANAGEMENT E_LEARNING ELECTRICAL_ELECTRONIC_MANUFACTURING
ENTERTAINMENT ENVIRONMENTAL_SERVICES EVENTS_SERVICES EXECUTIVE_OFFICE FACILITIES_SERVICES FARMING
FINANCIAL_SERVICES FINE_ART FISHERY FOOD_BEVERAGES FOOD_PRODUCTION FUND_RAISING FURNITURE
GAMBLING_CASINOS GLASS_CERAMICS_CONCRETE GOVERNMENT_ADMINISTRATION GOVERNMENT_RELATIONS
GRAPHIC_DESIGN HEALTH_WELLNESS_AND_FITNESS HIGHER_EDUCATION HOSPITAL_HEALTH_CARE HOSPITALITY
HUMAN_RESOURCES IMPORT_AND_EXPORT INDIVIDUAL_FAMILY_SERVICES INDUSTRIAL_AUTOMATION
INFORMATION_SERVICES INFORMATION_TECHNOLOGY_AND_SERVICES INSURANCE INTERNATIONAL_AFFAIRS
INTERNATIONAL_TRADE_AND_DEVELOPMENT INVESTMENT_BANKING INVESTMENT_MANAGEMENT JUDICIARY
LAW_ENFORCEMENT LAW_PRACTICE LEGAL_SERVICES LEGISLATIVE_OFFICE LEISURE_TRAVEL_TOURISM LIBRARIES
LOGISTICS_AND_SUPPLY_CHAIN LUXURY_GOODS_JEWELRY MACHINERY MANAGEMENT_CONSULTING MARITIME
MARKET_RESEARCH MARKETING_AND_ADVERTISING MECHANICAL_OR_INDUSTRIAL_ENGINEERING MEDIA_PRODUCTION
MEDICAL_DEVICES MEDICAL_PRACTICE MENTAL_HEALTH_CARE MILITARY MINING_METALS
MOTION_PICTURES_AND_FILM MUSEUMS_AND_INSTITUTIONS MUSIC NANOTECHNOLOGY NEWSPAPERS
NON_PROFIT_ORGANIZATION_MANAGEMENT OIL_ENERGY ONLINE_MEDIA OUTSOURCING_OFFSHORING
PACKAGE_FREIGHT_DELIVERY PACKAGING_AND_CONTAINERS PAPER_FOREST_PRODUCTS PERFORMING_ARTS
PHARMACEUTICALS PHILANTHROPY PHOTOGRAPHY PLASTICS POLITICAL_ORGANIZATION
PRIMARY_SECONDARY_EDUCATION PRINTING PROFESSIONAL_TRAINING_COACHING PROGRAM_DEVELOPMENT
PUBLIC_POLICY PUBLIC_RELATIONS_AND_COMMUNICATIONS PUBLIC_SAFETY PUBLISHING RAILROAD_MANUFACTURE
RANCHING REAL_ESTATE RECREATIONAL_FACILITIES_AND_SERVICES RELIGIOUS_INSTITUTIONS
RENEWABLES_ENVIRONMENT RESEARCH RESTAURANTS RETAIL SECURITY_AND_INVESTIGATIONS SEMICONDUCTORS
SHIPBUILDING SPORTING_GOODS SPORTS STAFFING_AND_RECRUITING SUPERMARKETS TELECOMMUNICATIONS
TEXTILES THINK_TANKS TOBACCO TRANSLATION_AND_LOCALIZATION TRANSPORTATION_TRUCKING_RAILROAD
UTILITIES VENTURE_CAPITAL_PRIVATE_EQUITY VETERINARY WAREHOUSING WHOLESALE WINE_AND_SPIRITS
WIRELESS WRITING_AND_EDITING MOBILE_GAMES
"""

INDUSTRIES = _options(*((v, v.replace("_", " ").title()) for v in _INDUSTRY_VALUES.split()))


def _p(name: str, label: str, kind: str, field_type: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(
        name=name, label=label, type=kind, field_type=field_type, group_name=group, **kw
    )


def _text(name: str, label: str, group: str = "contactinformation", **kw: Any) -> PropertyDef:
    kw.setdefault("form_field", True)
    return _p(name, label, "string", "text", group, **kw)


def _custom(name: str, label: str, group: str, field_type: str = "text") -> PropertyDef:
    return _p(
        name,
        label,
        "string",
        field_type,
        group,
        hubspot_defined=False,
        read_only_definition=False,
        archivable=True,
        created_at="2024-02-01T09:00:00.000Z",
        updated_at="2024-02-01T09:00:00.000Z",
    )


def _owner(order: int) -> PropertyDef:
    return _p(
        "hubspot_owner_id",
        "Contact owner",
        "enumeration",
        "select",
        "contactinformation",
        description="The owner of a contact. This can be any HubSpot user or Salesforce "
        "integration user, and can be set manually or via Workflows.",
        display_order=order,
        external_options=True,
        referenced_object_type="OWNER",
        form_field=False,
    )


def _readonly_dt(name: str, label: str, group: str, description: str) -> PropertyDef:
    return _p(name, label, "datetime", "date", group, description=description, read_only_value=True)


def contact_properties() -> list[PropertyDef]:
    """The standard contact properties leadbridge uses, plus the integration's custom ones."""
    g = "contactinformation"
    return [
        _text("email", "Email", description="A contact's email address", display_order=3),
        _text("firstname", "First Name", description="A contact's first name", display_order=0),
        _text("lastname", "Last Name", description="A contact's last name", display_order=1),
        _text(
            "company",
            "Company Name",
            description="Name of the contact's company. This can "
            "be set independently from the name property on the contact's associated company.",
        ),
        _text("jobtitle", "Job Title", description="A contact's job title"),
        _p(
            "phone",
            "Phone Number",
            "string",
            "phonenumber",
            g,
            form_field=True,
            description="A contact's primary phone number",
        ),
        _p(
            "mobilephone",
            "Mobile Phone Number",
            "string",
            "phonenumber",
            g,
            form_field=True,
            description="A contact's mobile phone number",
        ),
        _text("website", "Website URL", description="The contact's company website"),
        _p(
            "address",
            "Street Address",
            "string",
            "textarea",
            g,
            form_field=True,
            description="Contact's street address, including apartment or unit number.",
        ),
        _text("city", "City", description="A contact's city of residence"),
        _text("state", "State/Region", description="The contact's state of residence."),
        _text(
            "zip",
            "Postal Code",
            description="Contact's zip code. This might be set via import, form, or integration.",
        ),
        _text(
            "country", "Country/Region", description="The contact's country/region of residence."
        ),
        _text("industry", "Industry", description="The Industry a contact is in"),
        _p(
            "numemployees",
            "Number of Employees",
            "enumeration",
            "select",
            g,
            form_field=True,
            description="The number of company employees",
            options=EMPLOYEE_RANGES,
            read_only_definition=False,
        ),
        _text("annualrevenue", "Annual Revenue", description="Annual company revenue"),
        _p(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            g,
            form_field=True,
            description="The qualification of contacts to sales readiness. It can be set "
            "through imports, forms, workflows, and manually on a per contact basis.",
            options=LIFECYCLE_STAGES,
            display_order=6,
        ),
        _p(
            "hs_lead_status",
            "Lead Status",
            "enumeration",
            "radio",
            "sales_properties",
            form_field=True,
            description="The contact's sales, prospecting or outreach status",
            options=LEAD_STATUSES,
            read_only_definition=False,
        ),
        _p(
            "hubspotscore",
            "HubSpot Score",
            "number",
            "number",
            g,
            calculated=True,
            read_only_value=True,
            description="The number that shows qualification of contacts "
            "to sales readiness. It can be set in HubSpot's Lead Scoring app.",
        ),
        _p(
            "hs_analytics_source",
            "Original Traffic Source",
            "enumeration",
            "select",
            "analyticsinformation",
            options=ANALYTICS_SOURCES,
            read_only_value=True,
            description="First known source the contact used to find your website. Set "
            "automatically, but may be updated manually.",
        ),
        _owner(-1),
        _readonly_dt("createdate", "Create Date", g, "The date that a contact entered the system"),
        _readonly_dt(
            "lastmodifieddate",
            "Last Modified Date",
            g,
            "The date any property on this contact was modified",
        ),
        _p(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            g,
            read_only_value=True,
            description="The unique ID for this record. This value is set automatically by "
            "HubSpot.",
        ),
        _p(
            "hs_additional_emails",
            "Additional email addresses",
            "enumeration",
            "checkbox",
            "contactinformation",
            read_only_value=True,
            description="A set of additional email addresses for a contact",
        ),
        _p(
            "hs_merged_object_ids",
            "Merged Record IDs",
            "enumeration",
            "checkbox",
            g,
            read_only_value=True,
            description="The list of record IDs that have been merged into this record. This "
            "value is set automatically by HubSpot.",
        ),
        _p(
            "associatedcompanyid",
            "Primary Associated Company ID",
            "number",
            "number",
            g,
            description="HubSpot defined ID of a contact's primary associated company in HubSpot.",
        ),
        _custom("salesforceleadid", "Salesforce Lead ID", "salesforceinformation"),
        _custom("salesforcecontactid", "Salesforce Contact ID", "salesforceinformation"),
        _custom("salesforceaccountid", "Salesforce Account ID", "salesforceinformation"),
        _custom("salesforceopportunityid", "Salesforce Opportunity ID", "salesforceinformation"),
        _custom("salesforce_owner_id", "Salesforce Owner ID", "salesforceinformation"),
        _custom("sales_rejection_reason", "Sales rejection reason", g, "textarea"),
        _custom("sales_handoff_warning", "Sales handoff warning", g, "textarea"),
        _custom("leadbridge_salesforce_status", "Salesforce record status", g),
        _custom("salesforce_owner_email", "Salesforce owner email", "salesforceinformation"),
        _p(
            "sales_accepted_at",
            "Sales accepted at",
            "datetime",
            "date",
            g,
            hubspot_defined=False,
            read_only_definition=False,
            archivable=True,
            created_at="2024-02-01T09:00:00.000Z",
            updated_at="2024-02-01T09:00:00.000Z",
        ),
        _custom("salesforce_global_lead", "Salesforce global lead", "salesforceinformation"),
        _custom("salesforce_watchers", "Salesforce opportunity watchers", "salesforceinformation"),
    ]


def company_properties() -> list[PropertyDef]:
    """The standard company properties leadbridge uses."""
    g = "companyinformation"
    owner = _owner(-1)
    owner.label = "Company owner"
    owner.description = "The owner of the company"
    owner.group_name = g
    return [
        _text("name", "Company name", g, description="The name of the company or organization."),
        _text(
            "domain",
            "Company Domain Name",
            g,
            description="The domain name of the company or organization",
        ),
        _text(
            "website",
            "Website URL",
            g,
            description="The main website of the company or organization.",
        ),
        _p(
            "industry",
            "Industry",
            "enumeration",
            "select",
            g,
            form_field=True,
            description="The type of business the company performs.",
            options=INDUSTRIES,
        ),
        _text(
            "country",
            "Country/Region",
            g,
            description="The country/region in which the company or organization is located.",
        ),
        _text("city", "City", g, description="The main city of the company or organization"),
        _p(
            "numberofemployees",
            "Number of Employees",
            "number",
            "number",
            g,
            form_field=True,
            description="The total number of employees who work for the company or organization.",
        ),
        _p(
            "annualrevenue",
            "Annual Revenue",
            "number",
            "number",
            g,
            form_field=True,
            description="The actual or estimated annual revenue of the company.",
        ),
        owner,
        _readonly_dt(
            "createdate",
            "Create Date",
            g,
            "The date the company or organization was added to the database",
        ),
        _readonly_dt(
            "hs_lastmodifieddate",
            "Last Modified Date",
            g,
            "Most recent timestamp "
            "of any property update for this company. This includes HubSpot internal "
            "properties, which can be visible or hidden. This property is updated "
            "automatically.",
        ),
        _p(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            g,
            read_only_value=True,
            description="The unique ID for this record. This value is set automatically by "
            "HubSpot.",
        ),
    ]


def custom_property(spec: Any, where: str, now_ms: int) -> PropertyDef:
    """A seed's custom property definition; `ValueError` naming `where` when it is malformed."""
    if not isinstance(spec, dict):
        msg = f"{where}: a property is a JSON object with name, label, type, fieldType"
        raise ValueError(msg)
    for key in ("name", "label", "type", "fieldType"):
        if not isinstance(spec.get(key), str) or not spec.get(key):
            msg = f"{where}.{key}: required (a non-empty string)"
            raise ValueError(msg)
    name = spec["name"]
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        msg = f"{where}.name: {name!r} is not a valid internal name (lowercase, digits, _)"
        raise ValueError(msg)
    if spec["type"] not in TYPES:
        msg = f"{where}.type: {spec['type']!r} is not one of {list(TYPES)}"
        raise ValueError(msg)
    if spec["fieldType"] not in FIELD_TYPES:
        msg = f"{where}.fieldType: {spec['fieldType']!r} is not one of {list(FIELD_TYPES)}"
        raise ValueError(msg)
    options: list[Option] = []
    for index, raw in enumerate(spec.get("options") or []):
        at = f"{where}.options[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("value"), str):
            msg = f"{at}: an option is an object with a string value (and label)"
            raise ValueError(msg)
        options.append(
            Option(
                label=str(raw.get("label", raw["value"])),
                value=raw["value"],
                display_order=int(raw.get("displayOrder", index)),
                hidden=bool(raw.get("hidden", False)),
                description=str(raw.get("description", "")),
            )
        )
    if spec["type"] == "enumeration" and not options:
        msg = f"{where}.options: an enumeration property needs options"
        raise ValueError(msg)
    stamp = iso_ms(now_ms)
    return PropertyDef(
        name=name,
        label=spec["label"],
        type=spec["type"],
        field_type=spec["fieldType"],
        group_name=str(spec.get("groupName", "contactinformation")),
        description=str(spec.get("description", "")),
        options=tuple(options),
        display_order=int(spec.get("displayOrder", -1)),
        has_unique_value=bool(spec.get("hasUniqueValue", False)),
        hidden=bool(spec.get("hidden", False)),
        hubspot_defined=False,
        read_only_definition=False,
        archivable=True,
        form_field=bool(spec.get("formField", True)),
        created_at=stamp,
        updated_at=stamp,
    )


def normalize(prop: PropertyDef, text: str, owner_ids: frozenset[str]) -> tuple[str, Issue | None]:
    """Check a non-empty written value against its definition; the value to store, or an issue.

    Messages follow HubSpot's validation results (INVALID_OPTION lists the allowed options the
    way HubSpot prints them).
    """
    name = prop.name
    if name == "email":
        value = text.strip().lower()
        if not _EMAIL.match(value):
            return text, Issue(name, "INVALID_EMAIL", f"Email address {text} is invalid")
        return value, None
    if name == "hubspot_owner_id":
        if text not in owner_ids:
            return text, Issue(name, "INVALID_OWNER_ID", f"{text} is not a valid owner id")
        return text, None
    if prop.type == "enumeration":
        values = text.split(";") if prop.field_type == "checkbox" else [text]
        for value in values:
            if not prop.option_allowed(value):
                return text, Issue(name, "INVALID_OPTION", _invalid_option(value, prop))
        return text, None
    if prop.type == "number":
        number = parse_number(text)
        if number is None:
            return text, Issue(name, "INVALID_DECIMAL", f"{text} was not a valid number.")
        return text.strip(), None
    if prop.type == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            return text, Issue(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
        return lowered, None
    if prop.type in ("datetime", "date"):
        ms = parse_datetime_ms(text)
        if ms is None:
            return text, Issue(name, "INVALID_DATE", f"{text} was not a valid date.")
        if prop.type == "date":
            if ms % 86_400_000:
                return text, Issue(name, "INVALID_DATE", f"{text} is not at midnight UTC!")
            return iso_ms(ms)[:10], None
        return iso_ms(ms), None
    return text, None


def _invalid_option(value: str, prop: PropertyDef) -> str:
    listed = ", ".join(
        f'label: "{o.label}"\nvalue: "{o.value}"\ndisplay_order: {o.display_order}\n'
        f"hidden: {str(o.hidden).lower()}\nread_only: false\n"
        for o in prop.options
    )
    return f"{value} was not one of the allowed options: [{listed}]"
