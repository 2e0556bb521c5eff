"""What matching knows of a candidate account: the account as the caller fetched it, and the
view matching compares a lead with (its known domains, their labels, its name key, country).

Pure: built from `AccountCandidate`s the router (or a test) hands in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from connector.routing.domains import FreeMail, public_suffix, registrable_domain
from connector.routing.normalize import LegalForms, NameKey, country_code, name_key


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


@lru_cache(maxsize=65536)
def account_view(account: AccountCandidate, free_mail: FreeMail, forms: LegalForms) -> AccountView:
    """The view of `account`: its website's registrable domain and its extra domains (free-mail
    domains left out), their labels, its name key and country code."""
    known: dict[str, str] = {}
    website = registrable_domain(account.website)
    if website and account.website and website not in free_mail:
        known[website] = f"Account.Website {account.website.strip()}"
    for value in account.domains:
        domain = registrable_domain(value)
        if domain and domain not in free_mail and domain not in known:
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
    )


def domain_label(domain: str) -> str:
    """A registrable domain less its public suffix (`globex.co.uk` → `globex`)."""
    suffix = public_suffix(domain)
    return domain.removesuffix("." + suffix) if suffix else domain
