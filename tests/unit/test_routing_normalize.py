"""Company names, domains and countries fold into comparable keys the way people write them."""

from __future__ import annotations

import pytest

from connector.routing.domains import (
    DEFAULT_FREE_MAIL_DOMAINS,
    FreeMail,
    ascii_domain,
    check_free_mail_pattern,
    email_domain,
    listed_domains,
    registrable_domain,
)
from connector.routing.normalize import (
    country_code,
    fold,
    like_parts,
    name_key,
    normalize_name,
    search_words,
    spellings,
)

NAMES = [
    # case, accents, the Nordic and German letters and their spelled-out forms
    ("GLOBEX", "globex"),
    ("Globex Nordics AB", "globex nordics"),
    ("Müller & Söhne GmbH", "muller sohne"),
    ("MUELLER und Soehne", "muller sohne"),
    ("Muller Sohne", "muller sohne"),
    ("Bjørnstad Maskin AS", "bjornstad maskin"),
    ("Bjoernstad Maskin", "bjornstad maskin"),
    ("Århus Vand A/S", "arhus vand"),
    ("Aarhus Vand", "arhus vand"),
    ("Ærø Ålborg Straße", "aro alborg strasse"),
    ("Hällströms Åkeri AB", "hallstroms akeri"),
    ("Nestlé S.A.", "nestle"),
    ("Crème Brûlée SARL", "creme brulee"),
    # legal forms, however written; "and" in several languages; a leading "The"
    ("Maersk A/S", "marsk"),
    ("Acme Sp. z o.o.", "acme"),
    ("Sony Co., Ltd.", "sony"),
    ("Bosch GmbH & Co. KG", "bosch"),
    ("Vinoriix Stahlbau G.m.b.H.", "vinoriix stahlbau"),
    ("Fiat S.p.A.", "fiat"),
    ("Banco Santander, S.A.", "banco santander"),
    ("Acme S. de R.L. de C.V.", "acme"),
    ("Qantas Airways Pty Ltd", "qantas airways"),
    ("Telefonaktiebolaget LM Ericsson (publ)", "telefonaktiebolaget lm ericsson"),
    ("AB Volvo", "volvo"),
    ("Oy Karl Fazer Ab", "karl fazer"),
    ("The Coca-Cola Company", "coca cola"),
    ("Hansen og Berg AS", "hansen berg"),
    ("Hansen & Berg", "hansen berg"),
    ("Dupont et Fils", "dupont fils"),
    ("Bank of Åland", "bank aland"),
    ("A.P. Møller - Mærsk A/S", "ap moller marsk"),
    ("AP Moller Maersk", "ap moller marsk"),
    ("H&M", "hm"),
    ("AT&T Inc.", "at t"),
    ("3M Company", "3m"),
    ("Company AB", ""),
    # hostile strings: quotes, backslashes, wildcards, emoji, invisible and bidi characters
    ("O'Brien & Sons Ltd", "obrien sons"),
    ("O’Brien and Sons", "obrien sons"),
    ('Say "Hi" Media Ltd', "say hi media"),
    ("Back\\slash Design GmbH", "back slash design"),
    ("100% Organic AB", "100 organic"),
    ("Under_score Solutions Inc.", "under score solutions"),
    ("' OR Name != '", "or name"),
    ("Globex 🚀", "globex"),
    ("Glo\u200bbex", "globex"),
    ("\u200fGlobex\u200e", "globex"),
    ("  Globex   Nordics  ", "globex nordics"),
    ("ＡＣＭＥ Corp", "acme"),
    # other scripts: kept, compared as NFKC text, legal forms removed
    ("東京商事株式会社", "東京商事"),
    ("株式会社東京商事", "東京商事"),
    ("㈱東京商事", "東京商事"),
    ("长江电子有限公司", "长江电子"),
    ("한빛전자 주식회사", "한빛전자"),
    ("ООО «Вектор Строй»", "вектор строи"),  # Cyrillic marks fold too (ё → е, й → и)
    ("Αιγαίο Ναυτιλιακή Α.Ε.", "αιγαιο ναυτιλιακη"),
    ("ΑΙΓΑΙΟ ΝΑΥΤΙΛΙΑΚΗ", "αιγαιο ναυτιλιακη"),
    ("\u200fالخليج للتجارة ش.م.م\u200f", "الخليج للتجارة"),
    # placeholders name no company
    ("N/A", ""),
    ("-", ""),
    ("Self-employed", ""),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_company_names_normalize(name: str, expected: str) -> None:
    """Spellings of one company fold to one key: case, accents, legal forms, punctuation,
    "and", hostile and invisible characters; other scripts stay as they are."""
    assert normalize_name(name) == expected


def test_normalize_none_and_custom_suffixes() -> None:
    """No company is "", and the routing file's legal suffix list replaces the default one."""
    assert normalize_name(None) == ""
    assert normalize_name("Globex Widgets AB", ["Widgets"]) == "globex widgets ab"
    assert normalize_name("Globex Widgets AB", ["Widgets", "AB"]) == "globex"


def test_name_key_forms() -> None:
    """A key is compared whole, without spaces, and with its words sorted."""
    key = name_key("Steel Nordic AB")
    assert key is not None
    assert (key.words, key.text, key.compact, key.sorted_compact) == (
        ("steel", "nordic"),
        "steel nordic",
        "steelnordic",
        "nordicsteel",
    )
    assert name_key("Face Book").compact == name_key("Facebook").compact  # type: ignore[union-attr]


def test_fold_keeps_marks_that_are_letters() -> None:
    """Latin, Greek and Cyrillic accents fold; Japanese voicing marks and Devanagari vowel signs
    are letters and stay."""
    assert fold("Ünïcödé Ёлка Ἀθῆναι") == "unicode елка αθηναι"
    assert fold("がっこう") == "がっこう"
    assert fold("हिन्दी") == "हिन्दी"


DOMAINS = [
    ("globex.se", "globex.se"),
    ("www.globex.se", "globex.se"),
    ("WWW.GLOBEX.SE", "globex.se"),
    ("https://www.globex.co.uk:443/en?x=1#top", "globex.co.uk"),
    ("http://shop.eu.globex.co.uk/", "globex.co.uk"),
    ("globex.com.au/contact", "globex.com.au"),
    ("www.globex.co.jp", "globex.co.jp"),
    ("globex.se.", "globex.se"),
    ("user:secret@globex.de", "globex.de"),
    ("sven@mail.globex.se", "globex.se"),
    ("xn--mller-kva.de", "müller.de"),
    ("https://www.Müller.de/", "müller.de"),
    ("xn--e1afmkfd.xn--p1ai", "пример.рф"),
    ("acme.myshopify.com", "acme.myshopify.com"),
    ("co.uk", None),
    ("com", None),
    ("localhost", None),
    ("192.168.1.1", None),
    ("http://[::1]:8443/", None),
    ("a..b", None),
    ("globex se", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), DOMAINS)
def test_registrable_domains(value: str | None, expected: str | None) -> None:
    """Websites reduce to their registrable domain by the bundled public suffix list:
    scheme, www., subdomains, port and path go; co.uk and com.au stay whole; IDNs in Unicode."""
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lumbexia.fi", ("lumbexia.fi",)),
        ("lumbexia.fi, lumbexia.no;lumbexia.se", ("lumbexia.fi", "lumbexia.no", "lumbexia.se")),
        ("lumbexia.fi\nlumbexia.no\r\n\tlumbexia.dk  lumbexia.de", (
            "lumbexia.fi", "lumbexia.no", "lumbexia.dk", "lumbexia.de")),
        ("https://www.Lumbexia.co.uk/en?a=1; http://shop.lumbexia.com.au/", (
            "lumbexia.co.uk", "lumbexia.com.au")),
        ("www.lumbexia.fi, LUMBEXIA.FI; https://lumbexia.fi", ("lumbexia.fi",)),
        (" ,; lumbexia.fi ;, not a domain, co.uk, 10.0.0.1 ", ("lumbexia.fi",)),
        ("xn--mller-kva.de\u00a0müller.at", ("müller.de", "müller.at")),
        ("", ()),
        (None, ()),
        (42, ()),
    ],
)  # fmt: skip
def test_listed_domains(value: object, expected: tuple[str, ...]) -> None:
    """A field of known domains lists several, separated by commas, semicolons, spaces or line
    breaks, as domains, hosts or URLs: each registrable domain once, in order; what is no
    domain is left out."""
    assert listed_domains(value) == expected


def test_email_domains_and_ascii_spelling() -> None:
    """An email's domain is its registrable domain; IDNs have an ASCII spelling for websites
    stored in punycode."""
    assert email_domain("Sven.Svensson@Mail.Globex.SE") == "globex.se"
    assert email_domain("odd@name@globex.se") == "globex.se"
    assert email_domain("no-at-sign.se") is None
    assert email_domain(None) is None
    assert email_domain("x@co.uk") is None
    assert ascii_domain("müller.de") == "xn--mller-kva.de"
    assert ascii_domain("globex.se") == "globex.se"


def test_free_mail_list_and_wildcards() -> None:
    """The default list holds the providers and their country variants; `label.*` stands for
    that label under any public suffix, and nothing else."""
    free = FreeMail.of(DEFAULT_FREE_MAIL_DOMAINS)
    for domain in ["gmail.com", "googlemail.com", "hotmail.co.uk", "hotmail.se", "live.se",
                   "outlook.de", "yahoo.co.jp", "gmx.net", "web.de", "t-online.de",
                   "icloud.com", "mail.ru", "yandex.ru", "qq.com", "naver.com", "telia.com",
                   "bredband.net", "proton.me"]:  # fmt: skip
        assert domain in free, domain
    for domain in ["globex.se", "hotmailer.com", "nothotmail.com", "google.com", "gmail.se.com"]:
        assert domain not in free, domain
    assert check_free_mail_pattern("hotmail.*") is None
    assert check_free_mail_pattern("gmail.com") is None
    assert check_free_mail_pattern("*.gmail.com") is not None
    assert check_free_mail_pattern("not a domain") is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [("Sweden", "SE"), ("SE", "SE"), ("swe", "SE"), ("Sverige", "SE"), ("UK", "GB"),
     ("United Kingdom", "GB"), ("Deutschland", "DE"), ("  Norway ", "NO"), ("日本", "JP"),
     ("Atlantis", None), ("", None), (None, None)],
)  # fmt: skip
def test_country_codes(text: str | None, code: str | None) -> None:
    """Countries compare by ISO code whether written as a name, a code or in their language."""
    assert country_code(text) == code


@pytest.mark.parametrize(
    ("company", "words", "together"),
    [
        ("Globex Nordics AB", ("globex",), False),
        ("Lindqvist Bygg Konsult AB", ("lindqvist",), False),
        ("Telefonaktiebolaget LM Ericsson (publ)", ("telefonaktiebolaget", "ericsson"), False),
        ("Müller & Söhne GmbH", ("müller",), False),
        ("Nordic Steel AB", ("nordic", "steel"), True),
        ("AT&T Inc.", ("at&t",), False),
        ("3M Company", ("3m",), False),
        ("東京商事株式会社", ("東京商事",), False),
        ("O'Brien & Sons Ltd", ("brien",), False),
        ("N/A", (), False),
        (None, (), False),
    ],
)
def test_search_words(company: str | None, words: tuple[str, ...], together: bool) -> None:
    """An account is looked up by the most distinctive words of the company (a typo in one
    leaves the other), by all its common words together, or by the short name itself."""
    assert search_words(company) == (words, together)


def test_spellings_and_like_parts() -> None:
    """A word is searched in its likely spellings, with vowels and accented letters as
    one-character wildcards, so that a lead's `Akesson` finds the account `Åkesson`."""
    assert spellings("müller") == {"müller", "mueller"}
    assert spellings("mueller") == {"mueller", "müller"}
    assert spellings("bjoernstad") == {"bjoernstad", "björnstad", "bjørnstad"}
    assert spellings("aarhus") == {"aarhus", "århus"}
    assert like_parts("akesson") == ("", "k", "ss", "n")
    assert like_parts("åkesson") == ("", "k", "ss", "n")
    assert like_parts("steel") == ("st", "", "l")
    assert like_parts("aeon") == ("aeon",)  # too few letters would stay fixed
    assert like_parts("東京商事") == ("東京商事",)
