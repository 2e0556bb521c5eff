"""privacy.yaml against the live schemas: the fields an anonymised Lead or Contact loses exist
on the object and can be updated (blanked ones may be empty, replacement texts fit), and the
fields that recognise a Salesforce-side erasure exist. Contact is described for every check.
"""

from __future__ import annotations

from connector.checks.findings import Findings, Loc, ordered
from connector.checks.snapshot import Fields, LiveSchema
from connector.display import show
from connector.files.loader import Loaded, Problem
from connector.files.suggest import did_you_mean
from connector.mapping.privacy import PrivacyPolicy, SalesforceObject

_OBJECTS: tuple[tuple[str, SalesforceObject], ...] = (("lead", "Lead"), ("contact", "Contact"))


def check_privacy(loaded: Loaded[PrivacyPolicy], schema: LiveSchema) -> list[Problem]:
    """Every finding about privacy.yaml against `schema`, in file order."""
    found = Findings(loaded)
    policy = loaded.model
    for key, sobject in _OBJECTS:
        fields = schema.fields_of(sobject)
        if fields is None:
            found.unchecked((key,), f"describe of {sobject}", at_key=True)
            continue
        given = policy.policy(sobject).anonymise
        if given is not None:
            for index, name in enumerate(given.blank):
                _writable(found, fields, sobject, name, None, (key, "anonymise", "blank", index))
            for name, text in given.replace.items():
                loc = (key, "anonymise", "replace", name)
                _writable(found, fields, sobject, name, text, loc, at_key=True)
        elif policy.policy(sobject).action == "anonymise":
            for name, target in policy.anonymised(sobject).items():
                why = _why_not(fields, sobject, name, target)
                if why is not None:
                    found.add(
                        (key, "action"),
                        f"{why}; it is among the default fields an anonymised {sobject} "
                        "loses: give an `anonymise` list without it",
                    )
        request = getattr(policy.salesforce_requests, key)
        if request is not None and request.field not in fields:
            found.add(
                ("salesforce_requests", key, "field"),
                f"{sobject} has no field {request.field!r}"
                + did_you_mean(request.field, list(fields)),
            )
    return ordered(found.problems)


def _writable(
    found: Findings,
    fields: Fields,
    sobject: str,
    name: str,
    value: str | None,
    loc: Loc,
    *,
    at_key: bool = False,
) -> None:
    why = _why_not(fields, sobject, name, value)
    if why is not None:
        found.add(loc, why, at_key=at_key)


def _why_not(fields: Fields, sobject: str, name: str, value: str | None) -> str | None:
    """Why an update cannot set `sobject.name` to `value` (None: blank); None when it can."""
    field = fields.get(name)
    if field is None:
        return f"{sobject} has no field {name!r}{did_you_mean(name, list(fields))}"
    if not field.updateable or field.calculated:
        return f"{sobject}.{name} cannot be updated"
    if value is None and not field.nillable and field.type != "boolean":
        return f"{sobject}.{name} is required in Salesforce: replace it with a text instead"
    if value is not None and field.length and len(value) > field.length:
        return (
            f"{show(value, 40)} is longer than {sobject}.{name} takes ({field.length} characters)"
        )
    return None
