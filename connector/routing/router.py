"""The router: fetches what a batch of leads needs from Salesforce, then lets the policy decide.

For a whole batch, in a handful of API calls whatever its size: the candidate accounts (which
also bring the first five levels of their hierarchies), the rest of the hierarchies, the open
opportunities on them, and the users and queues involved. It asks for each through a typed
read of the gateway (`AccountSource`), which writes the SOQL and sends queries that do not
depend on each other together (one Composite call for up to five): the candidate queries in one
call, the users and queues in another. Build one `Router` per pass: it keeps what it read
(accounts, users, queues, opportunities) for the pass's later batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import structlog

from connector.model import AccountSearch, HubSpotContact, Opportunity, QueueInfo, UserInfo
from connector.routing.config import (
    QUEUE_PREFIX,
    USER_PREFIX,
    RoutingConfig,
    is_id,
)
from connector.routing.config import load_routing as _load_routing
from connector.routing.decision import RoutingDecision, RoutingInput
from connector.routing.directory import (
    Directory,
    check_config_refs,
    config_refs,
    id_key,
)
from connector.routing.domains import listed_domains
from connector.routing.hierarchy import HierarchyWalker
from connector.routing.match import (
    AccountCandidate,
    LeadFacts,
    Match,
    account_search,
    candidate_keys,
    contenders,
    match_lead,
)
from connector.routing.policy import Policy, RoundRobin, TurnStore

__all__ = [
    "Router",
    "RoutingDecision",
    "RoutingInput",
    "load_routing",
    "parse_employees",
    "routing_input",
]

log = structlog.get_logger(__name__)

#: Account fields the matcher reads besides the hierarchy's and `matching.domain_fields`.
MATCH_FIELDS = ("BillingCountry",)
#: The domain field read as the account's website; the others list more domains.
WEBSITE = "Website"


class AccountSource(Protocol):
    """The reads routing makes of Salesforce (`SalesforceGateway`'s, from
    `connector.salesforce.reads`): rows of accounts (parent paths as nested records), the open
    opportunities on accounts, the users and queues by id or name."""

    def candidate_accounts(
        self, search: AccountSearch, fields: Sequence[str]
    ) -> list[dict[str, Any]]: ...
    def accounts_by_id(
        self, account_ids: Sequence[str], fields: Sequence[str]
    ) -> list[dict[str, Any]]: ...
    def open_opportunities(self, account_ids: Sequence[str]) -> list[Opportunity]: ...
    def owners(
        self,
        *,
        user_ids: Sequence[str] = (),
        usernames: Sequence[str] = (),
        queue_ids: Sequence[str] = (),
        developer_names: Sequence[str] = (),
    ) -> tuple[list[UserInfo], list[QueueInfo]]: ...


def load_routing(mappings_dir: str | Path) -> RoutingConfig:
    """`DIR/routing.yaml`, validated."""
    return _load_routing(mappings_dir)


class Router:
    """Routes batches of leads; one instance per pass (it caches what it read)."""

    def __init__(
        self,
        config: RoutingConfig,
        salesforce: AccountSource,
        *,
        state: TurnStore | None = None,
    ) -> None:
        self._config = config
        self._salesforce = salesforce
        self._walker = HierarchyWalker(
            salesforce.accounts_by_id,
            fields=config.account_fields(),
            max_depth=config.hierarchy.max_depth,
        )
        self._round_robin = RoundRobin(state)
        self._users: dict[str, UserInfo] = {}  # by id key
        self._usernames_read: set[str] = set()
        self._queues: dict[str, QueueInfo] = {}  # by id key
        self._queue_refs_read: set[str] = set()
        self._opportunities: dict[str, list[Opportunity]] = {}  # by account id key
        self._accounts: dict[str, str] = {}  # id → name, every account seen

    @property
    def names(self) -> dict[str, str]:
        """Names of every account, user and queue this router has read, by id."""
        out = dict(self._accounts)
        out.update({u.id: u.name for u in self._users.values()})
        out.update({q.id: q.name for q in self._queues.values()})
        return out

    def route(self, leads: Sequence[RoutingInput]) -> dict[str, RoutingDecision]:
        """A decision for every lead, keyed by HubSpot id."""
        if not leads:
            return {}
        config = self._config
        facts = {
            lead.hubspot_id: LeadFacts(email=lead.email, company=lead.company, country=lead.country)
            for lead in leads
        }
        accounts = self._candidates(list(facts.values()))
        matches = {
            lead.hubspot_id: match_lead(facts[lead.hubspot_id], accounts, config.matching)
            for lead in leads
        }
        hierarchies = self._walker.walk(
            m.account_id for found in matches.values() for m in self._contenders(found)
        )
        for hierarchy in hierarchies.values():
            self._accounts.update({node.id: node.name for node in hierarchy.chain})
        chains = {id_key(i): i for h in hierarchies.values() for i in h.ids}
        self._read_opportunities(chains)
        owners = {
            h.ultimate.owner_id for h in hierarchies.values() if h.ultimate and h.ultimate.owner_id
        }
        opportunity_owners = {
            o.owner_id for key in chains for o in self._opportunities.get(key, ())
        }
        directory = self._directory(owners | opportunity_owners)
        policy = Policy(config, directory, self._round_robin, account_name=self._account_name)
        self._round_robin.begin()
        decisions: dict[str, RoutingDecision] = {}
        try:
            for lead in leads:
                found = matches[lead.hubspot_id]
                involved = [hierarchies[m.account_id] for m in self._contenders(found)]
                opportunities = [
                    o
                    for h in involved
                    for i in h.ids
                    for o in self._opportunities.get(id_key(i), ())
                ]
                decisions[lead.hubspot_id] = policy.decide(
                    lead, found, hierarchies, list(dict.fromkeys(opportunities))
                )
        except BaseException:
            self._round_robin.discard()
            raise
        self._round_robin.commit()
        log.info(
            "routing.batch",
            leads=len(leads),
            matched=sum(1 for d in decisions.values() if d.matched_account_id),
            global_leads=sum(1 for d in decisions.values() if d.global_lead),
        )
        return decisions

    # -- reads -----------------------------------------------------------------------------------
    def _candidates(self, facts: Sequence[LeadFacts]) -> list[AccountCandidate]:
        """The accounts any lead could match, searched and read by `matching.domain_fields`
        too; their rows also seed the hierarchy walk."""
        keys = candidate_keys(facts, self._config.matching)
        domain_fields = self._config.matching.domain_fields
        fields = _unique_names([*self._walker.select_fields(), *domain_fields, *MATCH_FIELDS])
        rows = self._salesforce.candidate_accounts(account_search(keys, domain_fields), fields)
        self._walker.absorb(rows)
        found: dict[str, AccountCandidate] = {}
        for row in rows:
            account_id = str(row["Id"])
            self._accounts[account_id] = str(row.get("Name") or "")
            found.setdefault(id_key(account_id), self._candidate(account_id, row))
        return list(found.values())

    def _candidate(self, account_id: str, row: Mapping[str, Any]) -> AccountCandidate:
        """A candidate account from its row: `Website` (when a domain field) as its website,
        the domains every other domain field lists as its known domains."""
        website = None
        domains: list[str] = []
        for name in self._config.matching.domain_fields:
            value = _value(row, name)
            if name.lower() == WEBSITE.lower():
                website = value if isinstance(value, str) else None
            else:
                domains.extend(listed_domains(value))
        return AccountCandidate(
            id=account_id,
            name=str(row.get("Name") or ""),
            website=website,
            country=_value(row, "BillingCountry"),
            parent_id=row.get("ParentId"),
            owner_id=row.get("OwnerId"),
            domains=tuple(dict.fromkeys(domains)),
        )

    def _contenders(self, matches: Sequence[Match]) -> list[Match]:
        """The best match and those close enough to make it ambiguous."""
        return contenders(matches, self._config.matching)

    def _read_opportunities(self, accounts: Mapping[str, str]) -> None:
        """Open opportunities on `accounts` (id key → id) not read yet in this pass."""
        ids = sorted(i for key, i in accounts.items() if key not in self._opportunities)
        for account_id in ids:
            self._opportunities[id_key(account_id)] = []
        for opportunity in self._salesforce.open_opportunities(ids):
            self._opportunities.setdefault(id_key(opportunity.account_id), []).append(opportunity)

    def _directory(self, owner_ids: Iterable[str]) -> Directory:
        """Users and queues for this batch: those routing.yaml names and `owner_ids`."""
        user_refs, queue_refs = config_refs(self._config)
        user_ids = {r for _, r in user_refs if is_id(r, USER_PREFIX)}
        user_ids |= {o for o in owner_ids if o.startswith(USER_PREFIX)}
        usernames = {r.casefold() for _, r in user_refs if not is_id(r, USER_PREFIX)}
        queue_ids = {r for _, r in queue_refs if is_id(r, QUEUE_PREFIX)}
        queue_ids |= {o for o in owner_ids if o.startswith(QUEUE_PREFIX)}
        developer_names = {r for _, r in queue_refs if not is_id(r, QUEUE_PREFIX)}
        new_usernames = sorted(usernames - self._usernames_read)
        new_developer_names = sorted(
            d for d in developer_names if d.casefold() not in self._queue_refs_read
        )
        # Users and queues do not depend on each other: the gateway reads them together.
        users, queues = self._salesforce.owners(
            user_ids=sorted(i for i in user_ids if id_key(i) not in self._users),
            usernames=new_usernames,
            queue_ids=sorted(i for i in queue_ids if id_key(i) not in self._queues),
            developer_names=new_developer_names,
        )
        self._users.update((id_key(u.id), u) for u in users)
        self._queues.update((id_key(q.id), q) for q in queues)
        self._usernames_read.update(new_usernames)
        self._queue_refs_read.update(d.casefold() for d in new_developer_names)
        directory = Directory(list(self._users.values()), list(self._queues.values()))
        check_config_refs(self._config, directory)
        return directory

    def _account_name(self, account_id: str) -> str | None:
        node = self._walker.node(account_id)
        return node.name if node else self._accounts.get(account_id)


def _unique_names(names: Iterable[str]) -> list[str]:
    """Field names, each once (Salesforce compares them without case), the first spelling
    kept."""
    seen: set[str] = set()
    out = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _value(row: Mapping[str, Any], name: str) -> Any:
    """The field `name` of a query row, its name compared without case."""
    if name in row:
        return row[name]
    lower = name.lower()
    return next((v for k, v in row.items() if k.lower() == lower), None)


def parse_employees(value: str | None) -> int | None:
    """An employee count from HubSpot: `250`, or a range's lower bound (`25-50` → 25,
    `10000+` → 10000); None when it holds no number."""
    if value is None:
        return None
    text = value.strip().replace(",", "").replace(" ", "")
    digits = ""
    for char in text:
        if char.isdigit():
            digits += char
        elif digits:
            break
    return int(digits) if digits else None


def routing_input(contact: HubSpotContact, config: RoutingConfig) -> RoutingInput:
    """What routing reads from a HubSpot contact, by the properties routing.yaml names."""
    names = config.hubspot
    props = contact.properties

    def prop(name: str | None) -> str | None:
        value = props.get(name) if name else None
        return (value.strip() or None) if isinstance(value, str) else None

    return RoutingInput(
        hubspot_id=contact.id,
        email=prop(names.email),
        company=prop(names.company),
        country=prop(names.country),
        state=prop(names.state),
        employees=parse_employees(prop(names.employees)),
        industry=prop(names.industry),
    )


def routing_properties(config: RoutingConfig) -> list[str]:
    """The HubSpot contact properties `routing_input` reads."""
    names = config.hubspot
    values = (
        names.email,
        names.company,
        names.country,
        names.state,
        names.employees,
        names.industry,
    )
    return [n for n in values if n]
