"""The schema of `mappings/privacy.yaml`: what an erasure does to a person's Salesforce records.

Per object (the `lead`, and the `contact` a converted Lead became, or an existing customer)
the file names an `action`: `delete` (the record goes; with `hard_delete` the Recycle Bin is
emptied of it too, where the org allows it) or `anonymise` (the record stays for funnel and
revenue reports, its personal fields blanked or replaced). HubSpot is always erased with its
GDPR delete, which also blocks the email from coming back. `salesforce_requests` says how an
erasure started in Salesforce is recognised (a record deleted with the field set: the
`salesforce.leads` stream's read of removals erases the person).
Loaded only through `connector.files.loader.load_file`, so every problem reads
`mappings/privacy.yaml:LINE:COL: ...`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from connector.files.loader import load_file
from connector.files.strict import Strict
from connector.mapping.model import Text

FILE = "privacy.yaml"
Action = Literal["delete", "anonymise"]
SalesforceObject = Literal["Lead", "Contact"]

#: A Salesforce field API name on the object itself (no relationship path: only the record's
#: own fields can be blanked).
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Fields no update can change.
_NOT_WRITABLE = frozenset({"Id", "IsConverted", "IsDeleted", "Name", "CreatedDate"})
#: Fields every org requires on the object: blanking one is refused, so it is replaced.
REQUIRED: dict[SalesforceObject, tuple[str, ...]] = {
    "Lead": ("LastName", "Company"),
    "Contact": ("LastName",),
}
#: Fields that name the person: an anonymised record must blank or replace each.
NAMING = ("FirstName", "LastName", "Email")
#: What a replaced text becomes by default (the state store blanks with the same word).
ERASED = "(erased)"

#: The personal fields of the standard objects, blanked by default (the pipeline's fields,
#: Status, LeadSource, Company, Industry, Country, amounts and dates, stay).
DEFAULT_BLANK: dict[SalesforceObject, tuple[str, ...]] = {
    "Lead": (
        "FirstName",
        "Email",
        "Phone",
        "MobilePhone",
        "Title",
        "Street",
        "City",
        "PostalCode",
        "Description",
    ),
    "Contact": (
        "FirstName",
        "Email",
        "Phone",
        "MobilePhone",
        "Fax",
        "Title",
        "MailingStreet",
        "MailingCity",
        "MailingPostalCode",
        "Description",
    ),
}
DEFAULT_REPLACE: dict[SalesforceObject, dict[str, str]] = {
    "Lead": {"LastName": ERASED},
    "Contact": {"LastName": ERASED},
}


def _field(value: str) -> str:
    if not _FIELD.fullmatch(value):
        msg = f"{value!r} is not a Salesforce field name (such as Email or Phone__c)"
        raise ValueError(msg)
    if value in _NOT_WRITABLE:
        msg = f"{value} cannot be changed by an update; name the fields that hold the person"
        raise ValueError(msg)
    return value


FieldName = Annotated[str, AfterValidator(_field)]
Problems = list[tuple[tuple[str | int, ...], str]]


class Anonymise(Strict):
    """The fields an anonymised record loses: `blank` ones emptied, `replace` ones set to a
    text (a field Salesforce requires cannot be blank)."""

    blank: list[FieldName] = Field(default_factory=list)
    replace: dict[FieldName, Text] = Field(default_factory=dict)

    def values(self) -> dict[str, str | None]:
        """Field -> what an update sets it to (None: blank)."""
        return {**dict.fromkeys(self.blank), **self.replace}


class ObjectPolicy(Strict):
    """What an erasure does to one object's records of the person."""

    action: Action
    #: After a delete, empty the Recycle Bin of the record (SOAP emptyRecycleBin), so it is
    #: gone at once rather than after 15 days; where the org refuses, it stays in the bin and
    #: the erasure says so.
    hard_delete: bool = True
    #: The fields an `anonymise` changes; None: the object's defaults (`DEFAULT_BLANK`,
    #: `DEFAULT_REPLACE`).
    anonymise: Anonymise | None = None


class Recognise(Strict):
    """How a Salesforce-side erasure of one object is recognised: a record deleted while
    `field` holds `equals` (`when: deleted`, the only kind: a flag set on a live record is not
    read, so a file asking for it is refused rather than quietly doing nothing)."""

    field: FieldName
    equals: bool | Text = True
    when: Literal["deleted"] = "deleted"


class SalesforceRequests(Strict):
    """Per object, how an erasure started in Salesforce is recognised (none by default)."""

    lead: Recognise | None = None
    contact: Recognise | None = None


class PrivacyPolicy(Strict):
    """`mappings/privacy.yaml`."""

    lead: ObjectPolicy
    contact: ObjectPolicy
    salesforce_requests: SalesforceRequests = Field(default_factory=SalesforceRequests)
    #: A new HubSpot contact with an erased person's email (matched by the tombstone's keyed
    #: hash): `ignore` (default) never syncs it; `treat_as_new` syncs it as a new person (the
    #: erased contact's own id and Salesforce records stay skipped either way).
    after_erasure: Literal["ignore", "treat_as_new"] = "ignore"

    def policy(self, sobject: SalesforceObject) -> ObjectPolicy:
        return self.lead if sobject == "Lead" else self.contact

    def anonymised(self, sobject: SalesforceObject) -> dict[str, str | None]:
        """Field -> the value an anonymised `sobject` gets (None: blank)."""
        given = self.policy(sobject).anonymise
        if given is None:
            return {**dict.fromkeys(DEFAULT_BLANK[sobject]), **DEFAULT_REPLACE[sobject]}
        return given.values()

    def structure_problems(self) -> Problems:
        """Per object that anonymises: a field both blanked and replaced, a required field
        blanked, a field naming the person left as it is."""
        problems: Problems = []
        for key, sobject in (("lead", "Lead"), ("contact", "Contact")):
            policy = self.policy(sobject)  # type: ignore[arg-type]
            given = policy.anonymise
            if given is None:
                continue
            where = (key, "anonymise")
            for name in given.blank:
                if name in given.replace:
                    problems.append(
                        ((*where, "blank"), f"{name} is both blanked and replaced; say one")
                    )
                if name in REQUIRED[sobject]:  # type: ignore[index]
                    problems.append(
                        (
                            (*where, "blank"),
                            f"{sobject}.{name} is required in Salesforce and cannot be blank: "
                            f"give it under replace (e.g. {name}: {ERASED!r})",
                        )
                    )
            if policy.action != "anonymise":
                continue
            kept = [n for n in NAMING if n not in given.blank and n not in given.replace]
            if kept:
                problems.append(
                    (
                        where,
                        f"an anonymised {sobject} would keep {', '.join(kept)}, which name the "
                        "person: blank or replace each",
                    )
                )
        return problems


def load_privacy_policy(directory: str | Path) -> PrivacyPolicy:
    """`DIR/privacy.yaml`, validated."""
    return load_file(Path(directory) / FILE, PrivacyPolicy)
