"""Describe payloads of the REST API: versions list, resource directory, describeGlobal, sObject
basic info and sObject describe, built from `schema.SObject` the way a v59 org reports them.

Kept apart from `rest.py` (which serves and writes records) because these are pure functions of
the schema: admins read them to check a mapping against field metadata (lengths, picklists,
external ids), so every field carries the full key set a real describe has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.sandbox.salesforce.common import SUPPORTED_VERSIONS
from connector.sandbox.salesforce.schema import WRITABLE, Field, SObject

if TYPE_CHECKING:
    from connector.sandbox.salesforce.org import Org

_TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
_GROUPABLE = frozenset(
    {"id", "reference", "string", "email", "phone", "url", "picklist", "boolean", "date", "int"}
)
_SYSTEM_DEFAULTED = frozenset(
    {
        "Id",
        "CreatedById",
        "CreatedDate",
        "LastModifiedById",
        "LastModifiedDate",
        "SystemModstamp",
        "IsDeleted",
    }
)
#: Compound fields Salesforce reports component fields of (`compoundFieldName`).
_COMPOUNDS: dict[str, dict[str, str]] = {
    "Lead": {
        **dict.fromkeys(("FirstName", "LastName"), "Name"),
        **dict.fromkeys(("Street", "City", "State", "PostalCode", "Country"), "Address"),
    },
    "Contact": {
        **dict.fromkeys(("FirstName", "LastName"), "Name"),
        **dict.fromkeys(("MailingCity", "MailingState", "MailingCountry"), "MailingAddress"),
    },
    "User": dict.fromkeys(("FirstName", "LastName"), "Name"),
    "Account": dict.fromkeys(
        ("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry"),
        "BillingAddress",
    ),
}
_PERSON_OBJECTS = frozenset({"Lead", "Contact", "User"})
#: Relationship names of the standard child relationships (others are unnamed, as in a real org).
_CHILD_RELATIONSHIPS = {
    ("Account", "ParentId"): "ChildAccounts",
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("User", "ManagerId"): "ManagedUsers",
}
_FEED_ENABLED = frozenset({"Account", "Contact", "Lead", "Opportunity", "User"})
_MERGEABLE = frozenset({"Account", "Contact", "Lead"})
MASTER_RECORD_TYPE_ID = "012000000000000AAA"


def release_label(version: str) -> str:
    """The release an API version shipped in: 20.0 was Winter '11, then Spring, Summer, Winter."""
    steps = int(float(version)) - 20
    season = ("Winter", "Spring", "Summer")[steps % 3]
    return f"{season} '{11 + steps // 3:02d}"


def versions() -> list[dict[str, str]]:
    """`GET /services/data/`: every version the sandbox serves, oldest first."""
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v}
        for v in SUPPORTED_VERSIONS
    ]


def resources(version: str) -> dict[str, str]:
    """`GET /services/data/vXX.X/`: the resources this sandbox serves for the version."""
    base = f"/services/data/v{version}"
    names = ["sobjects", "query", "queryAll", "limits", "composite"]
    if float(version) >= 41.0:  # Bulk API 2.0 (`jobs/ingest`, `jobs/query` from 47.0)
        names.append("jobs")
    return {name: f"{base}/{name}" for name in names}


def global_entry(obj: SObject, version: str) -> dict[str, Any]:
    """One element of describeGlobal's `sobjects` (also basic info's `objectDescribe`)."""
    writable = obj.name in WRITABLE
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": writable,
        "custom": obj.name.endswith("__c"),
        "customSetting": False,
        "deepCloneable": False,
        "deletable": writable,
        "deprecatedAndHidden": False,
        "feedEnabled": obj.name in _FEED_ENABLED,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": writable,
        "mergeable": obj.name in _MERGEABLE,
        "mruEnabled": writable,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": writable,
        "triggerable": writable,
        "undeletable": writable,
        "updateable": writable,
        "urls": {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
            "listviews": f"{base}/listviews",
            "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        },
    }


def describe_global(org: Org, version: str) -> dict[str, Any]:
    """`GET /sobjects`: every sObject, as describeGlobal lists them."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [global_entry(obj, version) for obj in org.schema.values()],
    }


def describe(org: Org, obj: SObject, version: str, instance_url: str) -> dict[str, Any]:
    """`GET /sobjects/{Type}/describe`: object metadata with every field fully described."""
    entry = global_entry(obj, version)
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    defaults = _picklist_defaults(org, obj)
    plural = obj.label_plural.lower()
    return {
        "actionOverrides": [],
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "childRelationships": _child_relationships(org, obj),
        "compactLayoutable": entry["layoutable"],
        "createable": entry["createable"],
        "custom": entry["custom"],
        "customSetting": False,
        "dataTranslationEnabled": False,
        "deepCloneable": False,
        "defaultImplementation": None,
        "deletable": entry["deletable"],
        "deprecatedAndHidden": False,
        "extendedBy": None,
        "extendsInterfaces": None,
        "feedEnabled": entry["feedEnabled"],
        "fields": [field_describe(obj, f, defaults.get(f.name)) for f in obj.fields.values()],
        "hasSubtypes": False,
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": entry["layoutable"],
        "listviewable": None,
        "lookupLayoutable": None,
        "mergeable": entry["mergeable"],
        "mruEnabled": entry["mruEnabled"],
        "name": obj.name,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "queryable": True,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE_ID,
                "urls": {"layout": f"{base}/describe/layouts/{MASTER_RECORD_TYPE_ID}"},
            }
        ],
        "replicateable": True,
        "retrieveable": True,
        "searchLayoutable": entry["searchable"],
        "searchable": entry["searchable"],
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [
            {"label": f"All {plural}", "name": "everything"},
            {"label": f"My {plural}", "name": "mine"},
        ],
        "triggerable": entry["triggerable"],
        "undeletable": entry["undeletable"],
        "updateable": entry["updateable"],
        "urls": {
            **entry["urls"],
            "uiDetailTemplate": f"{instance_url}/{{ID}}",
            "uiEditTemplate": f"{instance_url}/{{ID}}/e",
            "uiNewRecord": f"{instance_url}/{obj.key_prefix}/e",
        },
    }


def field_describe(obj: SObject, f: Field, default_value: str | None = None) -> dict[str, Any]:
    """One element of describe's `fields`, derived from the schema field.

    `default_value` is the picklist value marked default (Lead.Status: the LeadStatus with
    IsDefault).
    """
    text = f.type in _TEXT_TYPES
    long_text = f.type == "textarea" and f.length > 255
    is_ref = f.type in ("id", "reference")
    polymorphic = len(f.reference_to) > 1
    person_name = f.name == "Name" and f.calculated and obj.name in _PERSON_OBJECTS
    return {
        "aggregatable": not long_text and f.type != "boolean",
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": f.length * 3 if text else (18 if is_ref else 0),
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": _COMPOUNDS.get(obj.name, {}).get(f.name),
        "controllerName": None,
        "createable": f.createable,
        "custom": f.name.endswith("__c"),
        "defaultValue": (f.name == "IsActive") if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": (
            f.default_on_create or f.type == "boolean" or f.name in _SYSTEM_DEFAULTED
        ),
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits if f.type == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": (
            "plaintextarea" if f.type == "textarea" else "personname" if person_name else None
        ),
        "filterable": not long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.type in _GROUPABLE and not long_text,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": id_lookup(obj, f),
        "inlineHelpText": None,
        "label": _label(obj, f),
        "length": f.length if text or is_ref else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name == "Name" or (obj.name == "LeadStatus" and f.name == "MasterLabel"),
        "namePointing": polymorphic,
        "nillable": f.nillable,
        "permissionable": (
            (f.createable or f.updateable)
            and not f.calculated
            and (f.nillable or f.type == "boolean")
        ),
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == default_value,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in f.picklist
        ],
        "polymorphicForeignKey": polymorphic,
        "precision": f.precision,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted,
        "scale": f.scale,
        "searchPrefilterable": False,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": not long_text,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _label(obj: SObject, f: Field) -> str:
    """Describe labels: `Lead ID` for Id, `Owner ID` for standard lookups, as a real org shows."""
    if f.name == "Id":
        return f"{obj.label} ID"
    if f.type == "reference" and not f.name.endswith("__c") and not f.label.endswith(" ID"):
        return f"{f.label} ID"
    return f.label


def id_lookup(obj: SObject, f: Field) -> bool:
    """Whether `f` is an indexed field that identifies a record (describe's `idLookup`): what
    an upsert or a Bulk relationship column (`Owner.Username`) may match on."""
    if f.name == "Id" or f.external_id or (f.unique and f.type in _TEXT_TYPES):
        return True
    return f.name == "Name" or (f.name == "Email" and obj.name in _PERSON_OBJECTS)


def _picklist_defaults(org: Org, obj: SObject) -> dict[str, str]:
    if obj.name != "Lead":
        return {}
    flagged = [s["MasterLabel"] for s in org.lead_statuses() if s["IsDefault"]]
    return {"Status": flagged[0]} if flagged else {}


def _child_relationships(org: Org, obj: SObject) -> list[dict[str, Any]]:
    out = []
    for child in org.schema.values():
        for f in child.fields.values():
            if obj.name in f.reference_to:
                out.append(
                    {
                        "cascadeDelete": False,
                        "childSObject": child.name,
                        "deprecatedAndHidden": False,
                        "field": f.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": _CHILD_RELATIONSHIPS.get((child.name, f.name)),
                        "restrictedDelete": False,
                    }
                )
    return out
