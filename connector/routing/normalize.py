"""Company names and countries folded into comparable keys: pure functions, no I/O.

A name key is what two spellings of one company have in common: `Müller & Söhne GmbH`,
`MUELLER und Soehne` and `Muller Sohne` all give `muller sohne`. The steps: Unicode NFKC; case
fold (`ß` → `ss`); Latin, Greek and Cyrillic accents and the Nordic letters folded (`ø` → `o`,
`æ` → `ae`, `å`, `ä` → `a`); the German and Danish spellings `ae`, `oe`, `ue`, `aa` folded to one
vowel, so `Müller` ~ `Mueller` and `Århus` ~ `Aarhus`; `&` and the word "and" in several
languages dropped; punctuation removed (apostrophes join: `O'Brien` → `obrien`; single letters
join: `G.m.b.H.` → `gmbh`); legal forms removed at the end (`AB`, `A/S`, `S.A.`, `Co., Ltd.`,
`GmbH & Co. KG`, ...) and a few at the start (`AB Volvo`, `株式会社東京商事`); a leading "The"
removed. Other scripts (CJK, Hangul, Arabic, ...) keep their letters and marks and are compared
as NFKC text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from anyascii import anyascii
from rapidfuzz.distance import OSA

from connector.countries import ALIASES as COUNTRY_ALIASES
from connector.countries import country_code as _country_code

#: Legal forms removed from company names; the routing file's `matching.legal_suffixes`
#: replaces the list. Written as companies write them: dots and spaces do not matter.
DEFAULT_LEGAL_SUFFIXES: tuple[str, ...] = (
    # Nordics
    "AB", "AB (publ)", "publ", "Aktiebolag", "Aktiebolaget", "HB", "KB", "Handelsbolag",
    "AS", "ASA", "A/S", "ApS", "I/S", "K/S", "P/S", "IVS", "Aktieselskab", "Aktieselskap",
    "Anpartsselskab", "Allmennaksjeselskap", "Oy", "Oyj", "Ab Oy", "Osakeyhtiö", "Ky", "Tmi",
    "hf", "hf.", "ehf", "ehf.",
    # German-speaking
    "GmbH", "gGmbH", "mbH", "AG", "KG", "KGaA", "OHG", "GbR", "UG", "UG (haftungsbeschränkt)",
    "e.V.", "eG", "GmbH & Co. KG", "GmbH & Co KG", "AG & Co. KG", "Aktiengesellschaft",
    "Gesellschaft mit beschränkter Haftung", "Ges.m.b.H.",
    # English-speaking
    "Ltd", "Ltd.", "Limited", "PLC", "Public Limited Company", "LLP", "LLC", "L.L.C.", "LP",
    "Inc", "Inc.", "Incorporated", "Corp", "Corp.", "Corporation", "Co", "Co.", "Company",
    "Co., Ltd.", "Co Ltd", "Pty", "Pty Ltd", "Pty. Ltd.", "(Pty) Ltd", "Pte", "Pte Ltd",
    "Pvt", "Pvt Ltd", "Private Limited", "PLLC", "CIC", "Sdn Bhd", "Bhd",
    # Romance languages, Benelux
    "SA", "S.A.", "SAS", "S.A.S.", "SASU", "SARL", "S.à r.l.", "S.à.r.l.", "EURL", "SNC",
    "SCA", "Société Anonyme", "SpA", "S.p.A.", "Srl", "S.r.l.", "Srls", "Sas", "Snc",
    "SL", "S.L.", "SLU", "S.L.U.", "SAU", "S.A.U.", "Sociedad Anónima", "Sociedad Limitada",
    "Ltda", "Ltda.", "Limitada", "S/A", "EIRELI", "Lda", "Lda.",
    "SA de CV", "S.A. de C.V.", "S. de R.L.", "S. de R.L. de C.V.",
    "BV", "B.V.", "NV", "N.V.", "VOF", "BVBA", "SPRL", "SRL", "CVBA", "SCRL",
    # Central and Eastern Europe
    "SE", "Sp. z o.o.", "sp. z o. o.", "Spółka z o.o.", "S.K.A.", "a.s.", "s.r.o.",
    "spol. s r.o.", "d.o.o.", "d.d.", "Kft", "Kft.", "Zrt", "Zrt.", "Nyrt", "Nyrt.", "OÜ", "AS",
    "UAB", "AB", "SIA", "ООО", "ОАО", "ЗАО", "ПАО", "АО", "ТОВ", "Α.Ε.", "Ε.Π.Ε.", "Ο.Ε.",
    "ش.م.م", "ذ.م.م", "ش.م.ع", "شركة",
    # Asia
    "KK", "K.K.", "Kabushiki Kaisha", "Kabushiki Gaisha", "GK", "Godo Kaisha", "YK",
    "Yugen Kaisha", "株式会社", "(株)", "㈱", "有限会社", "(有)", "合同会社", "有限公司",
    "股份有限公司", "有限责任公司", "股份公司", "주식회사", "(주)", "유한회사",
    "PT", "Tbk", "PT Tbk", "JSC", "OJSC", "CJSC", "PJSC",
)  # fmt: skip

#: Legal forms that also stand before the name (`AB Volvo`, `Oy Hartwall Ab`, `PT Astra`).
LEADING_FORMS = frozenset(
    {"ab", "oy", "oyj", "pt", "ооо", "оао", "зао", "пао", "ао", "тов", "株式会社", "株",
     "有限会社", "有", "주식회사", "주", "uab", "sia", "شركة"}
)  # fmt: skip

#: "and" in the languages of the seeds, dropped like `&` (`Hansen og Berg` ~ `Hansen & Berg`);
#: "of" too, so `Bank of Åland` ~ `Åland Bank` compare by their words.
CONNECTIVES = frozenset({"and", "und", "et", "och", "og", "en", "ja", "of"})

#: Company fields that name no company: they never match by name.
PLACEHOLDERS = frozenset(
    {"", "na", "n/a", "none", "null", "nil", "unknown", "notapplicable", "nocompany", "private",
     "privat", "privateperson", "privatperson", "self", "selfemployed", "freelance", "freelancer",
     "student", "retired", "home", "individual", "personal", "test", "xxx", "x", "company"}
)  # fmt: skip

#: Scripts whose accents are folded like Latin ones (Greek capitals drop the tonos, Russian
#: writes ё as е); other scripts keep their marks, which are letters there.
_FOLDED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")

#: Letters NFKD does not decompose, folded as the brief's Nordic and German readers expect.
_SPECIAL = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i",
     "ħ": "h", "ŧ": "t", "ŀ": "l", "ĳ": "ij", "ſ": "s", "ƒ": "f"}
)  # fmt: skip
_APOSTROPHES = str.maketrans(dict.fromkeys("'’‘`´ʼ′", ""))
_DIGRAPH = re.compile(r"ae|oe|ue|aa")
_CJK_AFFIX = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class NameKey:
    """A company name folded for comparison: its words, and the forms they are compared in."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        """The words joined by spaces (what tests and `routing explain` show)."""
        return " ".join(self.words)

    @property
    def compact(self) -> str:
        """The words without spaces: `Face Book` and `Facebook` are one name."""
        return "".join(self.words)

    @property
    def sorted_compact(self) -> str:
        """The words in sorted order, without spaces: word order does not matter here."""
        return "".join(sorted(self.words))


@dataclass(frozen=True)
class LegalForms:
    """Compiled legal forms: word sequences removed at the end (or start) of a name, and CJK
    forms removed from a name written without spaces."""

    sequences: frozenset[tuple[str, ...]]
    longest: int
    glued: tuple[str, ...]  # CJK/Hangul forms, longest first
    typo_targets: frozenset[str] = frozenset()  # one-word forms long enough to spot misspelled

    @classmethod
    def of(cls, suffixes: Iterable[str]) -> LegalForms:
        sequences: set[tuple[str, ...]] = set()
        glued: set[str] = set()
        for suffix in suffixes:
            words = tuple(_collapse(w) for w in _words(fold(suffix)))
            if words:
                sequences.add(words)
            if len(words) == 1 and _CJK_AFFIX.search(words[0]):
                glued.add(words[0])
        longest = max((len(s) for s in sequences), default=0)
        targets = frozenset(
            s[0] for s in sequences if len(s) == 1 and len(s[0]) >= _TYPO_MIN and s[0].isascii()
        )
        return cls(
            frozenset(sequences), longest, tuple(sorted(glued, key=len, reverse=True)), targets
        )


@lru_cache(maxsize=262144)
def fold(text: str) -> str:
    """`text` in NFKC, case folded, with Latin (and Greek, Cyrillic) accents and the Nordic and
    German letters folded (`Ærø Ålborg Straße` → `aero alborg strasse`); other scripts keep
    their marks."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_SPECIAL)
    out: list[str] = []
    strip = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if strip:
                continue
        else:
            strip = _folds_accents(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def name_key(name: str | None, forms: LegalForms | None = None) -> NameKey | None:
    """The comparison key of a company name, or None when it names no company (blank,
    punctuation only, or a placeholder such as `N/A` or `Private`)."""
    if name is None:
        return None
    return _name_key(name, DEFAULT_FORMS if forms is None else forms)


@lru_cache(maxsize=262144)
def _name_key(name: str, forms: LegalForms) -> NameKey | None:
    folded = fold(name)
    if folded.replace(" ", "").replace(".", "") in PLACEHOLDERS:
        return None
    words = [_collapse(w) for w in _words(folded) if w not in CONNECTIVES]
    words = _strip_forms(words, forms)
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    key = NameKey(tuple(words))
    if not words or key.compact in PLACEHOLDERS:
        return None
    return key


def normalize_name(name: str | None, legal_suffixes: Sequence[str] | None = None) -> str:
    """The normalized form of a company name as one string ("" when it names no company)."""
    forms = DEFAULT_FORMS if legal_suffixes is None else LegalForms.of(legal_suffixes)
    key = name_key(name, forms)
    return key.text if key else ""


def _words(folded: str) -> list[str]:
    """The words of folded text: letters, digits and marks; `&`/`+` are separators, apostrophes
    join, format characters (zero-width, bidi marks) vanish, anything else separates. A run of
    single letters is one word: `G.m.b.H.`, `A/S` and `A. P.` are `gmbh`, `as` and `ap`."""
    text = folded.translate(_APOSTROPHES)
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        out.append(ch if category[0] in "LNM" else " ")
    words: list[str] = []
    run: list[str] = []
    for word in [*"".join(out).split(), ""]:
        if len(word) == 1 and word.isascii() and word.isalpha():
            run.append(word)
            continue
        if run:
            words.extend(["".join(run)] if len(run) > 1 else run)
            run = []
        if word:
            words.append(word)
    return words


def _collapse(word: str) -> str:
    """`mueller` → `muller`, `aarhus` → `arhus`: the German/Danish vowel spellings as one."""
    return _DIGRAPH.sub(lambda m: m.group(0)[0], word) if word.isascii() else word


def _strip_forms(words: list[str], forms: LegalForms) -> list[str]:
    """`words` without legal forms at the end (repeatedly: `GmbH & Co. KG`) and at the start;
    never strips the last word of a name."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in range(min(forms.longest, len(words) - 1), 0, -1):
            if tuple(words[-size:]) in forms.sequences:
                words = words[:-size]
                changed = True
                break
    if len(words) > 1 and _misspelled_form(words[-1], forms):
        words = _strip_forms(words[:-1], forms)
    while len(words) > 1 and words[0] in LEADING_FORMS and (words[0],) in forms.sequences:
        words = words[1:]
    if words and forms.glued:
        words = [*words]
        words[-1] = _unglue(words[-1], forms.glued, end=True)
        words[0] = _unglue(words[0], forms.glued, end=False)
    return words


#: The shortest legal form whose misspellings are spotted (`gmbh`: `gbmh`, `gmhb`).
_TYPO_MIN = 4


@lru_cache(maxsize=65536)
def _misspelled_form(word: str, forms: LegalForms) -> bool:
    """Whether `word` is a legal form typed wrong: two neighbouring letters swapped in a form
    of four letters (`Gbmh`), one letter wrong, missing, extra or swapped in a longer one
    (`Limted`, `Aktiebolga`, `Corporaton`), up to two in one of nine or more
    (`Aktiengeselschaft`). Not words in common use (`Group`, `Core`), which are never this
    close to a long form."""
    if not word.isascii() or len(word) < _TYPO_MIN or (word,) in forms.sequences:
        return False
    for form in forms.typo_targets:
        if abs(len(form) - len(word)) > 2:
            continue
        allowed = 0 if len(form) < 5 else (1 if len(form) < 9 else 2)
        distance = OSA.distance(word, form, score_cutoff=max(allowed, 1))
        if len(form) < 5:
            if distance == 1 and len(word) == len(form) and sorted(word) == sorted(form):
                return True
        elif distance <= allowed:
            return True
    return False


def _unglue(word: str, glued: tuple[str, ...], *, end: bool) -> str:
    for form in glued:
        if len(word) > len(form) and (word.endswith(form) if end else word.startswith(form)):
            return word[: -len(form)] if end else word[len(form) :]
    return word


@lru_cache(maxsize=4096)
def _folds_accents(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith(_FOLDED_SCRIPTS)


#: Scripts whose words are transliterated to Latin (anyascii) to compare with a romanized
#: spelling: `ООО «Вектор Логистик»` ~ `Vektor Logistik`, `Αιγαίο Ναυτιλιακή` ~ `Aigaio
#: Naytiliaki`. Scripts of signs (CJK) are not: their readings differ by language.
_TRANSLITERATED_SCRIPTS = ("GREEK", "CYRILLIC")


@lru_cache(maxsize=65536)
def latin_key(key: NameKey) -> NameKey | None:
    """`key` with its Cyrillic and Greek words written in Latin letters and folded like Latin
    names; None when it has no such word."""
    if not any(_transliterated(word) for word in key.words):
        return None
    words: list[str] = []
    for word in key.words:
        if _transliterated(word):
            words.extend(_collapse(w) for w in _words(fold(anyascii(word))))
        else:
            words.append(word)
    return NameKey(tuple(words)) if words else None


def _transliterated(word: str) -> bool:
    return any(
        not ch.isascii() and unicodedata.name(ch, "").startswith(_TRANSLITERATED_SCRIPTS)
        for ch in word
    )


#: The default legal forms, compiled once.
DEFAULT_FORMS = LegalForms.of(DEFAULT_LEGAL_SUFFIXES)


# -- countries ----------------------------------------------------------------------------------


def country_code(text: str | None) -> str | None:
    """The ISO 3166 alpha-2 code of a country name or code in a common language (`Sweden`,
    `SE`, `SWE`, `Sverige`, `UK`), or None when it is not recognised; the table the mapping's
    `country_code` transform reads too (`connector.countries`): routing and mapping agree."""
    if not text or not text.strip():
        return None
    return _country_code(unicodedata.normalize("NFKC", text).strip())


# -- search words: what to look an account up by with `Name LIKE` -------------------------------

#: Words common in company names (trades, group words, places): an account is looked up by
#: them only when its name has no other word, and then by all of them together. Country names
#: (English, from ISO 3166, and the everyday ones of `COUNTRY_ALIASES`) are added below.
GENERIC_WORDS = frozenset(
    {"group", "gruppen", "gruppe", "groupe", "grupo", "gruppo", "holding", "holdings",
     "international", "intl", "global", "worldwide", "service", "services", "servicios",
     "solution", "solutions", "system", "systems", "technology", "technologies", "tech",
     "teknik", "technik", "techniek", "consulting", "consultants", "consult", "konsult",
     "conseil", "partner", "partners", "management", "trading", "trade", "handel", "industries",
     "industri", "industrie", "industria", "industrial", "invest", "investment", "investments",
     "capital", "finance", "financial", "bank", "insurance", "nordic", "nordics", "nordisk",
     "norden", "scandinavia", "scandinavian", "europe", "european", "euro", "emea", "apac",
     "americas", "benelux", "dach", "svenska", "svensk", "norsk", "dansk", "energy", "energi",
     "energia", "engineering", "ingenieria", "logistics", "logistik", "logistique",
     "logistica", "logistiek", "software", "digital", "data", "media", "marketing", "design",
     "health", "medical", "pharma", "food", "foods", "steel", "stahl", "stal", "construction",
     "construcciones", "costruzioni", "batiment", "bouw", "bygg", "byg", "rakennus",
     "maskin", "maschinenbau", "anlagenbau", "meccanica", "transport", "transporte",
     "trasporti", "kuljetus", "shipping", "marine", "electric", "electronics", "elektro",
     "elektrotechnik", "network", "networks", "security", "property", "properties",
     "fastigheter", "eiendom", "real", "estate", "products", "manufacturing", "chemicals",
     "chemie", "mining", "solar", "robotics", "analytics", "packaging", "textiles", "north",
     "south", "east", "west", "atlantic", "baltic", "pacific", "alpine", "united", "general",
     "national", "first", "new", "city", "care", "labs", "studio", "works", "center",
     "centre", "agency", "world", "plus", "one", "star", "sons", "söhne", "söner", "sønner",
     "brothers", "bros", "uk", "usa"}
)  # fmt: skip

_GENERIC_KEYS = frozenset(
    _collapse(fold(word))
    for text in (
        *GENERIC_WORDS,
        *COUNTRY_ALIASES,
        *(c.name for c in pycountry.countries),
        *(getattr(c, "common_name", "") for c in pycountry.countries),
    )
    for word in _words(fold(text))
    if len(word) > 2
)
_RAW_WORD = re.compile(r"[^\W_]+")


def is_generic(word: str) -> bool:
    """Whether a word of a name key (`name_key(...).words`) is common in company names: a
    trade, a group word, a place or country (`GENERIC_WORDS` and the country names)."""
    return word in _GENERIC_KEYS


_VOWELS = frozenset("aeiouyøæœåß")


def search_words(
    company: str | None, forms: LegalForms | None = None
) -> tuple[tuple[str, ...], bool]:
    """The words to look a company's account up by, as written (lower case), and whether all
    of them are needed together.

    Up to two distinctive words, longest first, each enough on its own (a typo in one leaves the
    other); when the name has only common words (`Nordic Steel`), up to three of them, all
    needed; when it has no word of three letters (`AT&T`, `3M`), the name without its legal
    form. Nothing for blanks and placeholders.
    """
    forms = DEFAULT_FORMS if forms is None else forms
    if not company or name_key(company, forms) is None:
        return (), False
    raw = "".join(ch for ch in unicodedata.normalize("NFKC", company).lower() if ch.isprintable())
    raw = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf")
    distinctive: list[str] = []
    generic: list[str] = []
    for word in _RAW_WORD.findall(raw):
        key = _collapse(fold(word))
        if (key,) in forms.sequences or key in CONNECTIVES or key == "the":
            continue
        if _CJK_AFFIX.search(word):
            word = _unglue(_unglue(word, forms.glued, end=True), forms.glued, end=False)
            if len(word) < 2:
                continue
        elif len(word) < 3:
            continue
        bucket = generic if key in _GENERIC_KEYS else distinctive
        if word not in bucket:
            bucket.append(word)
    if distinctive:
        return tuple(sorted(distinctive, key=len, reverse=True)[:2]), False
    if generic:
        return tuple(generic[:3]), True
    phrase = _without_trailing_forms(raw, forms)
    return ((phrase,), False) if len(phrase) >= 2 else ((), False)


def _without_trailing_forms(raw: str, forms: LegalForms) -> str:
    """`at&t inc.` → `at&t`: the written name up to its trailing legal form."""
    text = raw.strip()
    while True:
        found = list(_RAW_WORD.finditer(text))
        if len(found) < 2 or (_collapse(fold(found[-1].group())),) not in forms.sequences:
            break
        text = text[: found[-1].start()].rstrip(" ,.&/-")
    return text.strip(" ,.-")


def spellings(word: str) -> set[str]:
    """The ways one word of a company name may be written in Salesforce: as given, with the
    German/Nordic letters spelled out (`müller` → `mueller`, `ø` → `oe`, `å` → `aa`) and spelled
    in (`mueller` → `müller`, `aa` → `å`)."""
    word = word.lower()
    out = {word}
    expanded = word
    for letter, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ø", "oe"), ("æ", "ae"),
                            ("å", "aa"), ("ß", "ss")):  # fmt: skip
        expanded = expanded.replace(letter, spelled)
    out.add(expanded)
    for spelled, letters in (("ae", "äæ"), ("oe", "öø"), ("ue", "ü"), ("aa", "å")):
        if spelled in word:
            out.update(word.replace(spelled, letter) for letter in letters)
    return out


def like_parts(word: str) -> tuple[str, ...]:
    """`word` as literal parts of a LIKE pattern joined by `_` (one character): vowels and
    accented letters become `_`, so `akesson` also finds `Åkesson` and `soner` finds `Söner`.
    The word whole when too few letters would stay fixed."""
    parts: list[str] = []
    current: list[str] = []
    fixed = 0
    for ch in word:
        base = unicodedata.normalize("NFD", ch)[0]
        if ch in _VOWELS or base in _VOWELS or len(unicodedata.normalize("NFD", ch)) > 1:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
            fixed += 1
    parts.append("".join(current))
    if fixed < 3 or fixed * 2 < len(word):
        return (word,)
    return tuple(parts)
