"""Routing HubSpot contacts in the sync engine: the Router plus routing.yaml's property names."""

from __future__ import annotations

from collections.abc import Sequence

from connector.model import HubSpotContact
from connector.routing.config import RoutingConfig
from connector.routing.decision import RoutingDecision
from connector.routing.policy import TurnStore
from connector.routing.router import AccountSource, Router, routing_input, routing_properties


class ContactRouter:
    """Routes a pass's new leads; make one per pass, since the Router caches what it reads."""

    def __init__(
        self, config: RoutingConfig, salesforce: AccountSource, state: TurnStore | None = None
    ) -> None:
        self.config = config
        self.router = Router(config, salesforce, state=state)

    def properties(self) -> list[str]:
        """The contact properties routing reads."""
        return routing_properties(self.config)

    def route_contacts(self, contacts: Sequence[HubSpotContact]) -> dict[str, RoutingDecision]:
        """One decision per contact id, for a whole batch in a handful of Salesforce calls."""
        if not contacts:
            return {}
        return self.router.route([routing_input(c, self.config) for c in contacts])

    def hubspot_values(self, decision: RoutingDecision) -> dict[str, str | None]:
        """What routing.yaml's `writeback` says HubSpot should learn of this decision."""
        props = self.config.writeback
        out: dict[str, str | None] = {}
        if props.global_lead:
            out[props.global_lead] = "true" if decision.global_lead else "false"
        if props.watchers:
            names = self.router.names
            out[props.watchers] = ", ".join(names.get(w, w) for w in decision.watchers) or None
        return out
