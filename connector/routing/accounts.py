"""What matching knows of a candidate account: the account as the caller fetched it, and the
view matching compares a lead with (its known domains, their labels, its name key, country).

Pure: built from `AccountCandidate`s the router (or a test) hands in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from connector.routing.domains import FreeMail, public_suffix, registrable_domain
from connector.routing.normalize import LegalForms, NameKey, country_code, name_key
from connector.routing.platforms import is_platform


@dataclass(frozen=True)
class AccountCandidate:
    """An existing account a lead may belong to, as fetched by the caller."""

    id: str
    name: str
    website: str | None = None
    country: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None
    number_of_contacts: int = 0
    open_opportunities: int = 0
    domains: tuple[str, ...] = ()  # extra known domains of the account, if any


@dataclass(frozen=True)
class AccountView:
    """An account as matching compares it."""

    domains: dict[str, str]  # registrable domain → where it is known from
    labels: frozenset[str]  # the domains less their public suffixes
    label_keys: tuple[tuple[str, NameKey], ...]  # (domain, its label as a name key)
    key: NameKey | None
    country: str | None
    ignored: tuple[str, ...] = ()  # domain values left out, and why


@lru_cache(maxsize=65536)
def account_view(account: AccountCandidate, free_mail: FreeMail, forms: LegalForms) -> AccountView:
    """The view of `account`: its website's registrable domain and its extra domains (free-mail
    domains left out), their labels, its name key and country code."""
    known: dict[str, str] = {}
    ignored: list[str] = []
    website = registrable_domain(account.website)
    if website and account.website:
        if is_platform(account.website):
            ignored.append(f"Account.Website {account.website.strip()} (a platform's page)")
        elif website not in free_mail:
            known[website] = f"Account.Website {account.website.strip()}"
    for value in account.domains:
        domain = registrable_domain(value)
        if domain and is_platform(value):
            ignored.append(f"Account domain {value.strip()} (a platform's page)")
        elif domain and domain not in free_mail and domain not in known:
            known[domain] = f"Account domain {domain}"
    label_keys = []
    for domain in known:
        label_key = name_key(domain_label(domain).replace(".", " "), forms)
        if label_key is not None:
            label_keys.append((domain, label_key))
    return AccountView(
        known,
        frozenset(domain_label(d) for d in known),
        tuple(label_keys),
        name_key(account.name, forms),
        country_code(account.country),
        tuple(ignored),
    )


@dataclass(frozen=True)
class Place:
    """Where an account sits among the candidates: the highest candidate above it (its group,
    the candidates' view of its hierarchy) and how many candidates lie between."""

    group: str
    depth: int


def places(accounts: Sequence[AccountCandidate]) -> dict[str, Place]:
    """Each candidate's place, by account id: up `parent_id` while the parent is a candidate
    too (cycle-safe). Candidates of one hierarchy whose common parent was not fetched form
    separate groups: matching knows only what it was handed."""
    parents = {a.id: a.parent_id for a in accounts}
    out: dict[str, Place] = {}
    for account in accounts:
        current, depth, seen = account.id, 0, {account.id}
        while (parent := parents.get(current)) is not None and parent in parents:
            if parent in seen:
                break
            seen.add(parent)
            current, depth = parent, depth + 1
        out[account.id] = Place(current, depth)
    return out


def domain_label(domain: str) -> str:
    """A registrable domain less its public suffix (`globex.co.uk` → `globex`)."""
    suffix = public_suffix(domain)
    return domain.removesuffix("." + suffix) if suffix else domain
