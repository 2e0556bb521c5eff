"""`leadbridge routing explain EMAIL`: why a contact's lead would go to whom.

Finds the HubSpot contact by email, routes it as a sync pass would (same routing.yaml, same
Salesforce data, the round-robin turns as recorded) and prints the decision path: candidates
with tier and score, the chosen account, its hierarchy up to the ultimate parent, whether it is
global and why, the rule and the owner; then any re-route after an SLA breach the state store
recorded for the contact (its reason, the owner before and after). It reads only: nothing is
written to Salesforce, HubSpot or the round-robin turns.
Exit status 0 after printing, 1 when no contact has that email or routing.yaml is invalid,
2 for a settings or connection problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from connector.commands.common import errors_to_exit, settings_or_exit
from connector.errors import LeadbridgeError
from connector.model import SearchFilter

#: The lines of a recorded re-route that `explain` adds after the live decision.
_REROUTE_LINES = ("rule: ", "re-routed from: ", "owner: ")


@click.group("routing")
def routing() -> None:
    """Lead routing: see where a lead would go, and why."""


class _ReadOnlyTurns:
    """The state store's round-robin turns, read but never recorded (explain writes nothing)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def next_turns(self, rule: str) -> dict[str, int]:
        return self._store.next_turns(rule)

    def record_turns(self, rule: str, turns: Mapping[str, int]) -> None:
        """Explaining takes no turn."""


@routing.command("explain")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the decision record as JSON.")
def explain_command(email: str, as_json: bool) -> None:
    """Print how the HubSpot contact with EMAIL would be routed, step by step."""
    from connector.hubspot.gateway import HubSpotGateway
    from connector.routing.explain import explain_lines, render_text
    from connector.routing.router import Router, load_routing, routing_input, routing_properties
    from connector.salesforce.gateway import SalesforceGateway
    from connector.state.store import StateStore

    settings = settings_or_exit()
    with errors_to_exit():
        config = load_routing(settings.mappings_dir)
        hubspot = HubSpotGateway.connect(settings)
        wanted = [[SearchFilter("email", "EQ", value=email.strip())]]
        pages = hubspot.changed_contacts(None, routing_properties(config), any_of=wanted)
        contact = next((c for page in pages for c in page), None)
        if contact is None:
            msg = f"no HubSpot contact has the email {email.strip()!r}"
            raise LeadbridgeError(msg)
        salesforce = SalesforceGateway.connect(settings)
        with StateStore.open(settings.database_url) as store:
            router = Router(config, salesforce, state=_ReadOnlyTurns(store))
            decision = router.route([routing_input(contact, config)])[contact.id]
            rerouted = [
                e for e in store.audit_events(contact.id, "routing") if "rerouted" in e.details
            ]
        if as_json:
            record = {**decision.explain, "lead_fields": decision.lead_fields}
            record["reroutes"] = [{"at": e.at.isoformat(), **e.details} for e in rerouted]
            click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        else:
            click.echo(render_text(decision, router.names))
            for event in rerouted:
                click.echo(f"\nre-routed after an SLA breach, {event.at.isoformat()}:")
                lines = explain_lines(event.details, router.names)
                click.echo("\n".join(line for line in lines if line.startswith(_REROUTE_LINES)))
