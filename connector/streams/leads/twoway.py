"""Fields that come back from Salesforce (`direction: to_hubspot` or `both` in lead.yaml): which
of a Lead's values HubSpot should get, decided without I/O.

Per contact the state store keeps a fingerprint per Lead field of the value both sides last
agreed on (`hubspot:ID:fields`, written by whichever stream wrote the field last). A Lead field
whose value still has that fingerprint has not changed in Salesforce since: it is not a change
to send, however often the Lead is read (our own echo, the overlap window, a replay). One that
changed is weighed against the contact's value by the field's conflict rule (`resolve`): only
when Salesforce wins is HubSpot written, and the new agreement is fingerprinted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.mapping.plan import NEVER_WRITTEN, CompiledField, MappingFailure, resolve, same
from connector.streams.contacts.decide import fingerprint, last_agreed


def returning(fields: Sequence[CompiledField]) -> tuple[CompiledField, ...]:
    """The mapped fields whose Salesforce value goes to a HubSpot property."""
    return tuple(f for f in fields if f.spec.to_hubspot and f.hubspot)


def changed(
    fields: Sequence[CompiledField], lead: Mapping[str, Any], agreed: Mapping[str, str]
) -> list[CompiledField]:
    """The returning fields whose Lead value is not the one both sides last agreed on."""
    return [f for f in fields if agreed.get(f.salesforce) != fingerprint(lead.get(f.salesforce))]


@dataclass
class BackDecision:
    """What one contact gets from its Lead's changed fields.

    `updates`: contact property -> value to write. `agreed`: Lead field -> fingerprint of the
    value both sides hold once `updates` land (to record). `kept`: fields whose change the rule
    gave to HubSpot (or kept on both sides), with why. `failure`: (field, message naming the
    field and the value) of a value the mapping cannot carry back; nothing of that contact is
    written then.
    """

    updates: dict[str, str | None] = field(default_factory=dict)
    agreed: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    failure: tuple[str, str] | None = None
    sent: tuple[str, ...] = ()  # Lead fields whose value `updates` carries to HubSpot


def back_to_hubspot(
    fields: Sequence[CompiledField],
    lead: Mapping[str, Any],
    properties: Mapping[str, str | None],
    agreed: Mapping[str, str],
    *,
    sending: Mapping[str, str] | None = None,
    hubspot_changed_at: datetime | None,
    salesforce_changed_at: datetime | None,
) -> BackDecision:
    """Resolve each changed returning field of `lead` against the contact's `properties`.

    A `both` field is compared in Salesforce's terms (the contact's value through the field's
    transforms), with the fingerprint of the last agreement telling which side changed since;
    a `to_hubspot` field in HubSpot's terms, by its rule alone (`salesforce_wins` unless given).
    `sending`: the fingerprints of what a stream was last sending per field (`last_agreed`).
    """
    decision = BackDecision()
    for spec in changed(fields, lead, agreed):
        name, prop = spec.salesforce, spec.hubspot or ""
        salesforce_value = lead.get(name)
        try:
            wanted = spec.hubspot_value(salesforce_value)
            if spec.spec.to_salesforce:
                ours = spec.salesforce_value(properties)
                last = last_agreed(
                    agreed.get(name), ours, salesforce_value, (sending or {}).get(name)
                )
            else:
                ours, last = properties.get(prop), NEVER_WRITTEN
        except MappingFailure as failure:
            return BackDecision(failure=(failure.field, str(failure)))
        theirs = salesforce_value if spec.spec.to_salesforce else wanted
        outcome = resolve(
            spec.conflict, ours, hubspot_changed_at, theirs, salesforce_changed_at, last
        )
        if outcome.winner == "salesforce":
            if not same(properties.get(prop), wanted):
                decision.updates[prop] = wanted
                decision.sent += (name,)
            decision.agreed[name] = fingerprint(salesforce_value)
        elif outcome.winner == "none" and same(ours, theirs):
            decision.agreed[name] = fingerprint(salesforce_value)
        else:
            decision.kept[name] = f"{spec.conflict}: {outcome.reason}"
    return decision
