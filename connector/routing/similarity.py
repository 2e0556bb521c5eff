"""How alike two company names are, 0..100, once normalized (`normalize.name_key`).

Two measures, the better one counts:

- the names' letters compared whole and with their words sorted (rapidfuzz's normalized Indel
  similarity): typing errors, words run together (`Face Book` ~ `Facebook`);
- their words compared one to one, each weighted by how much it says about which company it
  is: a distinctive word (`Globex`, `Karlsson`) weighs 1, a word common in company names (a
  trade, a place, `Nordic`, `Steel`: `normalize.is_generic`) 0.5, a structural word that names
  a part of a group rather than a company (`Holding`, `Group`, `International`, the division
  words of `Corporate & Investment Banking`) 0.25. Words pair up when they are alike enough
  (`TOKEN_MATCH`); a pair adds its weights times their likeness, and the sum is divided by all
  the weights of both names: `Acme Parts Dealer Smith` is not `Acme` (50), the words that are
  not Acme's still count;
- names that differ only by structural words (`Globex Holding AB`, `Globex Group`, `Globex`)
  score `STRUCTURAL_SCORE` (94): alike, but less than the same name.

Pure; rapidfuzz does the string comparison.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz

from connector.routing.normalize import NameKey, is_generic

#: Words that place a company in a group or name a division, in the languages of the seeds, as
#: name keys spell them (folded, `ae`/`oe`/`ue` as one vowel).
STRUCTURAL_WORDS = frozenset(
    {"holding", "holdings", "holdco", "group", "groupe", "gruppe", "gruppen", "grupo",
     "gruppo", "groep", "koncern", "konsern", "konserni", "international", "internacional",
     "internationale", "intl", "global", "worldwide", "corporate", "investment", "investments",
     "banking", "division", "divisions", "unit", "subsidiary", "branch", "filial", "niederlassung",
     "zweigniederlassung", "beteiligungen", "beteiligungsgesellschaft", "participations",
     "enterprises", "enterprise", "companies", "hq", "headquarters"}
)  # fmt: skip
#: Weights of a word by what it says about the company.
DISTINCTIVE_WEIGHT = 1.0
GENERIC_WEIGHT = 0.5
STRUCTURAL_WEIGHT = 0.25
#: Two names that differ only by structural words (`Globex Holding`, `Globex Group AB`,
#: `Globex`) are this alike: a fuzzy match at the default threshold, which a penalty (another
#: country, a contradicting domain) takes below it.
STRUCTURAL_SCORE = 94.0
#: Least likeness (0..1) of two words for them to pair up (a typing error in a word of six
#: letters or more; a short word must be written the same).
TOKEN_MATCH = 0.8


def similarity(a: NameKey, b: NameKey) -> float:
    """How alike two normalized names are, 0..100: the better of their letters compared (whole
    and with sorted words) and their weighted words compared (see the module docstring)."""
    return max(letter_similarity(a, b), token_similarity(a, b), _structural(a, b))


def without_structural(key: NameKey) -> tuple[str, ...]:
    """The words of a name less its structural words (all of them when it has no other)."""
    words = tuple(w for w in key.words if w not in STRUCTURAL_WORDS)
    return words or key.words


def _structural(a: NameKey, b: NameKey) -> float:
    if a.words == b.words:
        return 100.0
    core_a, core_b = without_structural(a), without_structural(b)
    if "".join(core_a) == "".join(core_b) or sorted(core_a) == sorted(core_b):
        return STRUCTURAL_SCORE
    return 0.0


def letter_similarity(a: NameKey, b: NameKey) -> float:
    """How alike the letters of two names are, 0..100, compared whole and with their words
    sorted: every word counts as written, which tells a subsidiary (`Globex Nordics`) from its
    parent (`Globex`) where the weighted words would not."""
    return max(
        fuzz.ratio(a.compact, b.compact),
        fuzz.ratio(a.sorted_compact, b.sorted_compact),
    )


def word_weight(word: str) -> float:
    """What a word of a name key says about which company it is (see the module docstring)."""
    if word in STRUCTURAL_WORDS:
        return STRUCTURAL_WEIGHT
    if is_generic(word):
        return GENERIC_WEIGHT
    return DISTINCTIVE_WEIGHT


@lru_cache(maxsize=262144)
def token_similarity(a: NameKey, b: NameKey) -> float:
    """The weighted word-for-word likeness of two names, 0..100."""
    weights_a = [word_weight(w) for w in a.words]
    weights_b = [word_weight(w) for w in b.words]
    pairs = []
    for i, x in enumerate(a.words):
        for j, y in enumerate(b.words):
            alike = 1.0 if x == y else fuzz.ratio(x, y) / 100
            if alike >= TOKEN_MATCH:
                pairs.append((min(weights_a[i], weights_b[j]) * alike, alike, i, j))
    pairs.sort(reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    matched = total = 0.0
    for _, alike, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            # one word, written two ways: it weighs as the more common of its spellings
            # (`Sistems`, a transliterated `Systems`, is as common a word as `Systems`)
            weight = min(weights_a[i], weights_b[j])
            matched += 2 * weight * alike
            total += 2 * weight
    total += sum(w for i, w in enumerate(weights_a) if i not in used_a)
    total += sum(w for j, w in enumerate(weights_b) if j not in used_b)
    return round(100 * matched / total, 2) if total else 0.0
