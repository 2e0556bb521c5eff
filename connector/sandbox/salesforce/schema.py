"""The sObjects the sandbox knows, described the way `GET /sobjects/{Type}/describe` reports them.

Field types, lengths and picklist values follow Salesforce's standard objects (Spring '24 docs);
custom fields (`__c`) are the ones leadbridge uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict, Unpack


@dataclass(frozen=True)
class Field:
    """One field of an sObject, as describe reports it."""

    name: str
    type: str  # id, string, textarea, email, phone, url, picklist, boolean, reference, datetime,
    # date, double, int, currency, percent
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    default_on_create: bool = False  # Salesforce fills it when not given (e.g. OwnerId, Status)
    calculated: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0

    @property
    def is_text(self) -> bool:
        return self.type in {
            "string",
            "textarea",
            "email",
            "phone",
            "url",
            "picklist",
            "id",
            "reference",
        }


@dataclass(frozen=True)
class SObject:
    """An sObject type: its fields by name, in describe order."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, Field] = field(default_factory=dict)

    def field(self, name: str) -> Field | None:
        """Look a field up case-insensitively, as the API does."""
        return self._by_lower().get(name.lower())

    def _by_lower(self) -> dict[str, Field]:
        cache = self.__dict__.get("_lower")
        if cache is None:
            cache = {k.lower(): v for k, v in self.fields.items()}
            object.__setattr__(self, "_lower", cache)
        return cache

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationship name is `name` (`Parent` → ParentId)."""
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == name.lower():
                return f
        return None


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") if name != "Id" else "Record ID"
    out = []
    for i, ch in enumerate(base.replace("_", " ")):
        if i and ch.isupper() and base[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return "".join(out)


class _Traits(TypedDict, total=False):
    """What a field helper passes on to `Field` besides the traits its kind fixes."""

    label: str
    nillable: bool
    createable: bool
    updateable: bool
    external_id: bool
    unique: bool
    case_sensitive: bool
    default_on_create: bool
    calculated: bool
    precision: int
    scale: int
    digits: int


def _s(name: str, length: int, **kw: Unpack[_Traits]) -> Field:
    return Field(name, "string", length=length, **kw)


def _ref(name: str, to: tuple[str, ...], rel: str | None, **kw: Unpack[_Traits]) -> Field:
    return Field(name, "reference", length=18, reference_to=to, relationship_name=rel, **kw)


def _pick(
    name: str, values: tuple[str, ...], *, restricted: bool = False, **kw: Unpack[_Traits]
) -> Field:
    return Field(name, "picklist", length=255, picklist=values, restricted=restricted, **kw)


def _system_fields() -> list[Field]:
    ro: _Traits = {"createable": False, "updateable": False, "nillable": False}
    return [
        _ref("CreatedById", ("User",), "CreatedBy", **ro),
        Field("CreatedDate", "datetime", **ro),
        _ref("LastModifiedById", ("User",), "LastModifiedBy", **ro),
        Field("LastModifiedDate", "datetime", **ro),
        Field("SystemModstamp", "datetime", **ro),
        Field("IsDeleted", "boolean", **ro),
    ]


def _id() -> Field:
    return Field("Id", "id", length=18, nillable=False, createable=False, updateable=False)


def _name_calc(length: int = 121) -> Field:
    return Field(
        "Name", "string", length=length, createable=False, updateable=False, calculated=True
    )


def _master(sobject: str) -> Field:
    """`MasterRecordId`: on a record deleted by a merge, the record it was merged into (Object
    Reference: Account, Contact and Lead carry it, read-only, null on any other record)."""
    return _ref(
        "MasterRecordId",
        (sobject,),
        "MasterRecord",
        label="Master Record ID",
        createable=False,
        updateable=False,
    )


_OWNER = _ref("OwnerId", ("Group", "User"), "Owner", nillable=False, default_on_create=True)

INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
#: Salesforce's default Lead Status values: (label, is_converted, is_default).
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")

DEFAULT_LEAD_STATUSES = (
    ("Open - Not Contacted", False, True),
    ("Working - Contacted", False, False),
    ("Closed - Converted", True, False),
    ("Closed - Not Converted", False, False),
)


def _obj(name: str, label: str, plural: str, prefix: str, fields: list[Field]) -> SObject:
    all_fields = [_id(), *fields, *_system_fields()]
    named = {}
    for f in all_fields:
        named[f.name] = f if f.label else Field(**{**f.__dict__, "label": _label(f.name)})
    return SObject(name, label, plural, prefix, named)


def build_schema(lead_statuses: tuple[str, ...]) -> dict[str, SObject]:
    """All sObjects; Lead.Status's picklist is the org's LeadStatus labels."""
    return {
        "UserRole": _obj(
            "UserRole",
            "Role",
            "Roles",
            "00E",
            [
                _s("Name", 80, nillable=False),
                _s("DeveloperName", 80),
                _ref("ParentRoleId", ("UserRole",), None),
            ],
        ),
        "User": _obj(
            "User",
            "User",
            "Users",
            "005",
            [
                _s("Username", 80, nillable=False, unique=True),
                _s("FirstName", 40),
                _s("LastName", 80, nillable=False),
                _name_calc(),
                Field("Email", "email", length=128, nillable=False),
                _s("Alias", 8),
                _s("Title", 80),
                _s("Department", 80),
                _s("Country", 80),
                Field("IsActive", "boolean", nillable=False),
                _ref("UserRoleId", ("UserRole",), "UserRole"),
                _ref("ManagerId", ("User",), "Manager"),
            ],
        ),
        "Group": _obj(
            "Group",
            "Group",
            "Groups",
            "00G",
            [
                _s("Name", 40, nillable=False),
                _s("DeveloperName", 80),
                _pick("Type", ("Queue", "Regular", "Role"), restricted=True, nillable=False),
                Field("Email", "email", length=255),
            ],
        ),
        "Account": _obj(
            "Account",
            "Account",
            "Accounts",
            "001",
            [
                _s("Name", 255, nillable=False),
                _s("AccountNumber", 40),
                _ref("ParentId", ("Account",), "Parent"),
                _pick("Type", ACCOUNT_TYPES),
                _pick("Industry", INDUSTRIES),
                Field("Website", "url", length=255),
                Field("Phone", "phone", length=40),
                _s("BillingStreet", 255),
                _s("BillingCity", 40),
                _s("BillingState", 80),
                _s("BillingPostalCode", 20),
                _s("BillingCountry", 80),
                Field("NumberOfEmployees", "int", digits=8),
                Field("AnnualRevenue", "currency", precision=18, scale=0),
                Field("Description", "textarea", length=32000),
                Field("Global_Account__c", "boolean", nillable=False, label="Global Account"),
                # The account's other domains (country variants), several a line: a Text Area
                # (255), which SOQL can filter, unlike a Long Text Area.
                Field("Domains__c", "textarea", length=255, label="Known Domains"),
                _master("Account"),
                _OWNER,
            ],
        ),
        "Contact": _obj(
            "Contact",
            "Contact",
            "Contacts",
            "003",
            [
                _ref("AccountId", ("Account",), "Account"),
                _s("FirstName", 40),
                _s("LastName", 80, nillable=False),
                _name_calc(),
                Field("Email", "email", length=80),
                Field("Phone", "phone", length=40),
                Field("MobilePhone", "phone", length=40),
                Field("Fax", "phone", length=40),
                _s("Title", 128),
                Field("MailingStreet", "textarea", length=255),
                _s("MailingCity", 40),
                _s("MailingState", 80),
                _s("MailingPostalCode", 20),
                _s("MailingCountry", 80),
                _pick("LeadSource", LEAD_SOURCES),
                Field("Description", "textarea", length=32000),
                Field("HasOptedOutOfEmail", "boolean", nillable=False),
                Field("DoNotCall", "boolean", nillable=False),
                _s(
                    "HubSpot_Contact_Id__c",
                    50,
                    external_id=True,
                    unique=True,
                    label="HubSpot Contact ID",
                ),
                _master("Contact"),
                _OWNER,
            ],
        ),
        "Lead": _obj(
            "Lead",
            "Lead",
            "Leads",
            "00Q",
            [
                _s("FirstName", 40),
                _s("LastName", 80, nillable=False),
                _name_calc(),
                _s("Company", 255, nillable=False),
                _s("Title", 128),
                Field("Email", "email", length=80),
                Field("Phone", "phone", length=40),
                Field("MobilePhone", "phone", length=40),
                Field("Website", "url", length=255),
                _s("Street", 255),
                _s("City", 40),
                _s("State", 80),
                _s("PostalCode", 20),
                _s("Country", 80),
                _pick(
                    "Status", lead_statuses, restricted=True, nillable=False, default_on_create=True
                ),
                _pick("LeadSource", LEAD_SOURCES),
                _pick("Industry", INDUSTRIES),
                _pick("Rating", ("Hot", "Warm", "Cold")),
                Field("NumberOfEmployees", "int", digits=8),
                Field("AnnualRevenue", "currency", precision=18, scale=0),
                Field("Description", "textarea", length=32000),
                Field("HasOptedOutOfEmail", "boolean", nillable=False),
                Field("IsConverted", "boolean", nillable=False, createable=False, updateable=False),
                Field("ConvertedDate", "date", createable=False, updateable=False),
                _ref(
                    "ConvertedAccountId",
                    ("Account",),
                    "ConvertedAccount",
                    createable=False,
                    updateable=False,
                ),
                _ref(
                    "ConvertedContactId",
                    ("Contact",),
                    "ConvertedContact",
                    createable=False,
                    updateable=False,
                ),
                _ref(
                    "ConvertedOpportunityId",
                    ("Opportunity",),
                    "ConvertedOpportunity",
                    createable=False,
                    updateable=False,
                ),
                _s(
                    "HubSpot_Contact_Id__c",
                    50,
                    external_id=True,
                    unique=True,
                    label="HubSpot Contact ID",
                ),
                Field("Global_Lead__c", "boolean", nillable=False, label="Global Lead"),
                _ref(
                    "Matched_Account__c",
                    ("Account",),
                    "Matched_Account__r",
                    label="Matched Account",
                ),
                _s("Rejection_Reason__c", 255, label="Rejection Reason"),
                _master("Lead"),
                _OWNER,
            ],
        ),
        "Opportunity": _obj(
            "Opportunity",
            "Opportunity",
            "Opportunities",
            "006",
            [
                _s("Name", 120, nillable=False),
                _ref("AccountId", ("Account",), "Account"),
                _pick("StageName", OPPORTUNITY_STAGES, restricted=True, nillable=False),
                Field("CloseDate", "date", nillable=False),
                Field("Amount", "currency", precision=18, scale=2),
                Field("Probability", "percent", precision=3, scale=0),
                Field("IsClosed", "boolean", nillable=False, createable=False, updateable=False),
                Field("IsWon", "boolean", nillable=False, createable=False, updateable=False),
                _pick("LeadSource", LEAD_SOURCES),
                _pick(
                    "Type",
                    (
                        "Existing Customer - Upgrade",
                        "Existing Customer - Replacement",
                        "Existing Customer - Downgrade",
                        "New Customer",
                    ),
                ),
                _OWNER,
            ],
        ),
        # Activities: a Task (a call, an email, a to-do) or an Event (a meeting) on a Lead or
        # Contact (`WhoId`). What leadbridge reads of them is when the first on a Lead was
        # created: sales' first touch when it comes before the Lead's status changes.
        "Task": _obj(
            "Task",
            "Task",
            "Tasks",
            "00T",
            [
                _ref("WhoId", ("Contact", "Lead"), "Who"),
                _ref("WhatId", ("Account", "Opportunity"), "What"),
                _s("Subject", 255),
                Field("ActivityDate", "date"),
                _pick("Status", TASK_STATUSES, nillable=False, default_on_create=True),
                _pick(
                    "Priority", ("High", "Normal", "Low"), nillable=False, default_on_create=True
                ),
                _pick("TaskSubtype", ("Task", "Email", "Call")),
                Field("Description", "textarea", length=32000),
                _ref("OwnerId", ("User",), "Owner", nillable=False, default_on_create=True),
            ],
        ),
        "Event": _obj(
            "Event",
            "Event",
            "Events",
            "00U",
            [
                _ref("WhoId", ("Contact", "Lead"), "Who"),
                _ref("WhatId", ("Account", "Opportunity"), "What"),
                _s("Subject", 255),
                Field("StartDateTime", "datetime"),
                Field("EndDateTime", "datetime"),
                Field("DurationInMinutes", "int", digits=8),
                Field("Description", "textarea", length=32000),
                _ref("OwnerId", ("User",), "Owner", nillable=False, default_on_create=True),
            ],
        ),
        "LeadStatus": _obj(
            "LeadStatus",
            "Lead Status Value",
            "Lead Status Value",
            "01J",
            [
                _s("MasterLabel", 255, createable=False, updateable=False),
                _s("ApiName", 255, createable=False, updateable=False),
                Field("SortOrder", "int", createable=False, updateable=False),
                Field("IsDefault", "boolean", createable=False, updateable=False, nillable=False),
                Field("IsConverted", "boolean", createable=False, updateable=False, nillable=False),
            ],
        ),
    }


#: Objects the REST API lets a client write (LeadStatus, UserRole, Group are set-up data).
WRITABLE = frozenset({"Account", "Contact", "Event", "Lead", "Opportunity", "Task", "User"})
