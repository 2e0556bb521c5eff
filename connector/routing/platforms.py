"""Website values that are not the company's own domain: social networks, link shorteners,
marketplaces, site builders, directories. An account whose Website is
`facebook.com/globex`, `linkedin.com/company/globex`, `bit.ly/3xYz` or `globex.wixsite.com`
says nothing about the domain its people write from, so matching never reads a domain (nor a
domain's label) from such a value.

Our own list, kept here: no maintained package lists these as domains (`social-links` validates
profile URLs of some fifty networks by regular expression; `link-shorteners` lists shorteners
only, as an sdist that needs `pkg_resources` at import). `label.*` stands for that label under
any public suffix (`amazon.*`: amazon.com, amazon.de, amazon.co.uk, ...), as in the free-mail
list. A host under a listed domain is one too (`m.facebook.com`, `sites.google.com`,
`globex.wixsite.com`, whatever the public suffix list makes its registrable domain).

The platforms' own accounts (Facebook, Amazon, ...) then match their leads by name, not by
domain: their Website is indistinguishable from a page on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from connector.routing.domains import host_name, is_public_suffix

PLATFORM_DOMAINS: tuple[str, ...] = (
    # social networks and professional profiles
    "facebook.*", "fb.com", "fb.me", "linkedin.*", "lnkd.in", "instagram.com", "twitter.com",
    "x.com", "t.co", "threads.net", "bsky.app", "mastodon.social", "tiktok.com", "youtube.*",
    "youtu.be", "vimeo.com", "pinterest.*", "xing.com", "vk.com", "ok.ru", "weibo.com",
    "weixin.qq.com", "line.me", "snapchat.com", "reddit.com", "tumblr.com", "medium.com",
    "substack.com", "github.com", "gitlab.com", "behance.net", "dribbble.com", "flickr.com",
    "wa.me", "whatsapp.com", "t.me", "telegram.me", "discord.gg", "discord.com",
    # link shorteners and link-in-bio pages
    "bit.ly", "bitly.com", "tinyurl.com", "goo.gl", "ow.ly", "buff.ly", "is.gd", "rebrand.ly",
    "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id", "shorte.st", "bl.ink",
    "linktr.ee", "lnk.bio", "beacons.ai", "bio.link", "campsite.bio", "about.me",
    # marketplaces and app stores
    "amazon.*", "ebay.*", "etsy.com", "alibaba.com", "aliexpress.com", "1688.com",
    "taobao.com", "tmall.com", "jd.com", "rakuten.*", "mercadolibre.*", "allegro.pl",
    "bol.com", "zalando.*", "otto.de", "cdiscount.com", "walmart.com", "shopee.*", "lazada.*",
    "flipkart.com", "apps.apple.com", "play.google.com",
    # site builders, shops and blogs on a platform's domain
    "wixsite.com", "wix.com", "editorx.io", "squarespace.com", "weebly.com", "wordpress.com",
    "blogspot.*", "blogger.com", "jimdo.com", "jimdofree.com", "jimdosite.com", "webnode.*",
    "strikingly.com", "mystrikingly.com", "godaddysites.com", "site123.me", "carrd.co",
    "webflow.io", "framer.website", "myshopify.com", "business.site", "sites.google.com",
    "github.io", "netlify.app", "vercel.app", "herokuapp.com", "ueniweb.com",
    "hubspotpagebuilder.com", "hs-sites.com", "notion.site",
    # directories, review and job sites that companies' profiles live on
    "yelp.*", "tripadvisor.*", "trustpilot.com", "glassdoor.*", "indeed.com", "crunchbase.com",
    "bloomberg.com", "zoominfo.com", "dnb.com", "kompass.com", "europages.*", "yell.com",
    "gelbeseiten.de", "dasoertliche.de", "pagesjaunes.fr", "paginegialle.it",
    "paginasamarillas.es", "hitta.se", "eniro.*", "allabolag.se", "proff.*", "gulesider.no",
    "krak.dk", "fonecta.fi", "companieshouse.gov.uk", "opencorporates.com",
    "maps.google.com", "business.google.com", "g.page",
)  # fmt: skip


@dataclass(frozen=True)
class _Platforms:
    exact: frozenset[str]  # host names, matched with every host under them
    labels: frozenset[str]  # `label.*`: the label under any public suffix


@lru_cache(maxsize=1)
def _platforms() -> _Platforms:
    exact = {p for p in PLATFORM_DOMAINS if not p.endswith(".*")}
    labels = {p[:-2] for p in PLATFORM_DOMAINS if p.endswith(".*")}
    return _Platforms(frozenset(exact), frozenset(labels))


@lru_cache(maxsize=65536)
def is_platform(value: str | None) -> bool:
    """Whether a website, URL or host is on a platform's domain (`facebook.com/globex`,
    `https://m.facebook.com/globex`, `globex.wixsite.com`, `bit.ly/3xYz`), not a company's."""
    host = host_name(value)
    if host is None:
        return False
    platforms = _platforms()
    labels = host.split(".")
    for i in range(len(labels) - 1):
        if ".".join(labels[i:]) in platforms.exact:
            return True
        if labels[i] in platforms.labels and is_public_suffix(".".join(labels[i + 1 :])):
            return True
    return False
