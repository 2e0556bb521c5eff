"""What routing decides from and what it decides: one lead's facts in, its owner out, with the
reason and the explanation (`connector.routing.explain`) that the audit keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.model import Opportunity as Opportunity  # an input of every decision
from connector.routing.directory import OwnerKind


@dataclass(frozen=True)
class RoutingInput:
    """What routing needs to know about one lead (from the HubSpot contact)."""

    hubspot_id: str
    email: str | None
    company: str | None
    country: str | None = None
    state: str | None = None
    employees: int | None = None
    industry: str | None = None


#: A decision's rule when no other owner took the lead; its reason follows after a colon.
DEFAULT_QUEUE = "default queue"
#: The start of the default queue's reason when no regional rule fits a lead.
NOTHING_FITS = "no regional rule fits"


@dataclass(frozen=True)
class RoutingDecision:
    """Who owns the lead, why, and what to write on the Lead with it."""

    hubspot_id: str
    owner_id: str
    owner_kind: OwnerKind
    global_lead: bool
    matched_account_id: str | None
    ultimate_parent_id: str | None
    rule: str
    watchers: tuple[str, ...]  # owners of open opportunities in the hierarchy
    lead_fields: dict[str, Any]  # OwnerId, the global flag, the matched-account lookup
    explain: dict[str, Any]  # the JSON-able decision path (also the audit payload)

    @property
    def defaulted_because(self) -> str | None:
        """Why the lead went to the default queue, in words that group leads in a summary
        (no country, a country no rule names, or the reason itself); None when it did not."""
        kind, _, why = self.rule.partition(":")
        if self.global_lead or kind.strip() != DEFAULT_QUEUE:
            return None
        why = why.strip()
        if not why.startswith(NOTHING_FITS):
            return why or NOTHING_FITS
        if "(country " not in why:
            return NOTHING_FITS
        country = (self.explain.get("lead") or {}).get("country")
        return "no country given" if country is None else f"no rule for country {country!r}"
