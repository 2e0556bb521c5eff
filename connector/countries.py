"""Country names in the common languages → ISO 3166-1 alpha-2 codes, for `country_code`.

The names and their translations come from pycountry (the iso-codes project's data); a small
table adds the everyday names no standard lists (UK, USA, Holland, ...). Names compare with
case, accents, punctuation and spacing ignored, so `ÖSTERREICH`, `Osterreich` and `österreich`
all give AT. A name that two countries share in different languages is left out rather than
guessed.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache

import pycountry

#: The languages whose country names are recognised besides English (pycountry locales).
LANGUAGES = (
    "sv", "de", "fi", "nb", "nn", "da", "is", "nl", "fr", "es", "ca", "it", "pt", "pt_BR",
    "pl", "cs", "sk", "hu", "ro", "hr", "sl", "et", "lv", "lt", "el", "tr", "ru", "uk", "bg",
    "ja", "zh_CN", "zh_TW", "ko", "ar", "he", "hi", "id", "vi", "th",
)  # fmt: skip

#: Everyday names and abbreviations that no standard lists.
ALIASES = {
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "taiwan": "TW",
    "ivory coast": "CI",
    "turkey": "TR",
    "turkiye": "TR",
    "uae": "AE",
    "emirates": "AE",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "vatican": "VA",
    "palestine": "PS",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "brunei": "BN",
    "micronesia": "FM",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "drc": "CD",
    "россия": "RU",
}

_NOT_WORD = re.compile(r"[\W_]+")


def normalize(name: str) -> str:
    """A name as compared: case-folded, accents removed, punctuation and spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", bare).strip()


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """Every known name (normalized) → alpha-2 code; built once, on first use."""
    english: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                english[normalize(value)] = code
    translated: dict[str, set[str]] = {}
    for language in LANGUAGES:
        try:
            catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for country in pycountry.countries:
            for attr in ("name", "official_name", "common_name"):
                value = getattr(country, attr, None)
                if value:
                    local = normalize(catalog.gettext(value))
                    if local:
                        translated.setdefault(local, set()).add(country.alpha_2)
    table = {name: next(iter(codes)) for name, codes in translated.items() if len(codes) == 1}
    table.update(english)  # English names and the codes themselves win over translations
    table.update(ALIASES)
    return table


@lru_cache(maxsize=4096)
def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code in a common language, or None."""
    key = normalize(name)
    return _table().get(key) if key else None
