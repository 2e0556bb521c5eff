"""What a lead's email domain says about each candidate account, and the penalties a match
takes: the evidence that `match` combines with the company name.

For one lead and the candidates fetched for its batch, each account's domain evidence is one of:

- `known`: the domain is one of the account's known domains (its Website, its domain fields);
- `sibling`: the domain is on no candidate account, its label (the domain less its public
  suffix: `brand` of `brand.es`) is the label of one of the account's domains (`brand.com`),
  and the candidates hold that label under two public suffixes or more (`brand.com`,
  `brand.de`): a brand run on country domains, one of which the CRM does not list. When those
  accounts lie in several hierarchies each gets a sibling match, and the lead is a tie. One
  domain alone (`globex.com` for a lead at `globex.de`) is no sibling: it backs a name match
  (`group`) but matches nothing by itself (issue 5: an unknown country domain is not guessed).
  Only a label of three characters or more that is not a common word (`global.es` says
  nothing);
- `group`: the domain (or its label) belongs to another candidate of the account's group (its
  hierarchy among the candidates): it supports a name match on the account;
- `contradicts`: the lead writes from a company domain that is none of these, while the
  account's group has domains of its own, or the domain is held by an account outside the group
  whose name agrees with the lead's company (a domain held by an account named otherwise says
  little about which company the lead means: the CRM's record is then in doubt, not the name);
- `none`: free mail, no email, or nothing to compare with.

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from connector.routing.accounts import AccountCandidate, AccountView, Place, domain_label
from connector.routing.normalize import NameKey, is_generic, name_key
from connector.routing.similarity import similarity

DomainKind = Literal["known", "sibling", "group", "contradicts", "none"]

#: Score taken off a name or fuzzy match when the lead's and the account's countries differ
#: (both known): weak evidence, since global companies have leads everywhere, but enough to
#: tell `Nordic Consulting AB` (Sweden) from `Nordic Consulting AS` (Norway).
COUNTRY_PENALTY = 5.0
#: Score taken off a name or fuzzy match that the lead's own domain contradicts: enough that an
#: uncontradicted namesake wins the tie (beyond `ambiguity_margin`) and that a contradicted
#: fuzzy match falls below the threshold; an exact name match alone still stands.
CONTRADICTION_PENALTY = 10.0
#: The shortest domain label that makes a sibling domain (`abb.es` ~ `abb.com`, not `ab.se`).
MIN_SIBLING_LABEL = 3


@dataclass(frozen=True)
class Penalty:
    """Points taken off a match's score, and why."""

    reason: str
    points: float


@dataclass(frozen=True)
class DomainEvidence:
    """What the lead's email domain says about one account."""

    kind: DomainKind
    text: str = ""  # a short phrase for the explanation ("" for `none`)
    domain: str | None = None  # the lead's email domain
    domains: tuple[str, ...] = ()  # the account's domains it is a sibling of

    @property
    def supports(self) -> bool:
        """Whether the domain speaks for the account's hierarchy."""
        return self.kind in ("known", "sibling", "group")


def sibling_label(domain: str | None) -> str | None:
    """The label by which `domain` may be a sibling of an account's domains, or None when it
    is too short or too common to say which company it is."""
    if domain is None:
        return None
    label = domain_label(domain)
    letters = "".join(ch for ch in label if ch.isalnum())
    if len(letters) < MIN_SIBLING_LABEL or "." in label:
        return None
    key = name_key(label.replace("-", " "))
    if key is None or (len(key.words) == 1 and is_generic(key.words[0])):
        return None
    return label


def domain_evidence(
    domain: str | None,
    company: NameKey | None,
    accounts: Sequence[AccountCandidate],
    views: Mapping[str, AccountView],
    places: Mapping[str, Place],
    threshold: float,
    *,
    siblings: bool = True,
) -> dict[str, DomainEvidence]:
    """The domain evidence of every candidate, by account id (see the module docstring).
    `domain` is the lead's registrable company domain (None for free mail or no email),
    `company` its company's name key, `threshold` the least name similarity for a domain's
    holder to be the company the lead names; without `siblings`, no account gets `sibling`
    evidence (an unknown domain of the brand's name still backs a name match: `group`)."""
    none = DomainEvidence("none")
    if domain is None:
        return {a.id: none for a in accounts}
    label = sibling_label(domain)
    holders = [a.id for a in accounts if domain in views[a.id].domains]
    group_domains: dict[str, set[str]] = {}
    group_labels: dict[str, set[str]] = {}
    # the label as a brand: on two domains or more (brand.com and brand.de), whoever holds them
    established = (
        siblings
        and label is not None
        and not holders
        and (len({d for v in views.values() for d in v.domains if domain_label(d) == label}) >= 2)
    )
    for account in accounts:
        group = places[account.id].group
        group_domains.setdefault(group, set()).update(views[account.id].domains)
        group_labels.setdefault(group, set()).update(views[account.id].labels)
    named_holders = {
        places[h].group: h
        for h in holders
        if company is not None
        and (key := views[h].key) is not None
        and similarity(company, key) >= threshold
    }
    out: dict[str, DomainEvidence] = {}
    for account in accounts:
        view = views[account.id]
        group = places[account.id].group
        if domain in view.domains:
            out[account.id] = DomainEvidence(
                "known", f"email domain {domain} is the account's", domain
            )
        elif established and label in view.labels:
            mine = sorted(d for d in view.domains if domain_label(d) == label)
            out[account.id] = DomainEvidence(
                "sibling",
                f"email domain {domain} is on no account; its name is the account's "
                f"({', '.join(mine)})",
                domain,
                tuple(mine),
            )
        elif domain in group_domains[group] or (
            not holders and label is not None and label in group_labels[group]
        ):
            out[account.id] = DomainEvidence(
                "group", f"email domain {domain} is its hierarchy's (or a sibling of it)"
            )
        elif other := next((h for g, h in named_holders.items() if g != group), None):
            out[account.id] = DomainEvidence(
                "contradicts",
                f"email domain {domain} is another company's account's ({other})",
            )
        elif group_domains[group]:
            shown = ", ".join(sorted(group_domains[group])[:3])
            out[account.id] = DomainEvidence(
                "contradicts",
                f"email domain {domain} is none of the hierarchy's domains ({shown})",
            )
        else:
            out[account.id] = none
    return out
