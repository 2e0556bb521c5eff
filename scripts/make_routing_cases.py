"""Generate the labelled lead→account cases of `bench/routing_cases/` (issue 5's accuracy set).

    python scripts/make_routing_cases.py [--out DIR]

Deterministic (`random.Random(2605)`): rerunning it rewrites the same bytes, and a test checks
that the committed files are what this script makes. It writes:

- `accounts.json`: an account universe as a CRM holds it: ~300 accounts in ~15 countries, with
  global hierarchies (an ultimate parent, regional and country subsidiaries up to four levels
  deep, some with their own country domains, some sharing the parent's website, some without
  one; acquired brands with unrelated names and domains), standalone companies, companies with
  look-alike names (`Acme Corp` vs `Acme Logistics`, one letter apart, the same name in two
  countries), Nordic, German and non-Latin (CJK, Hangul, Cyrillic, Greek, Arabic) names, and
  hostile names (quotes, backslashes, `%`, `_`). Users and roles own them; the top of some
  hierarchies carries the Global flag.
- `cases.jsonl`: ≥ 500 leads as HubSpot would hand them (email, company, country), each with the
  account it belongs to (or null: it belongs to none of them), the ultimate parent of that
  account and whether its hierarchy is global, the kind of variant and a note.

The variants are what people type into forms, not what a matcher finds easy: legal forms
written or left out in any style, case, `&`/`and`, accents dropped or spelled out (`Mueller`,
`Bjoernstad`, `Aakesson`), word order, one or two typing errors (neighbouring keys, dropped,
doubled and swapped letters), email subdomains, free-mail senders with or without a company,
placeholders (`N/A`), unknown country domains, emoji and invisible characters. Some cases cannot
be matched by any honest matcher (a company written in Latin letters whose account is in kanji,
the same name in two countries without any other clue, a typo that lands as close to a
look-alike): they stay labelled with the truth and count as misses.
"""

# ruff: noqa: E501 (data tables read best one record per line)

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import routing_case_files
from routing_case_files import case_line, files

SEED = 2605
OUT = Path(__file__).resolve().parent.parent / "bench" / "routing_cases"

# -- the world ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    code: str
    country: str
    tld: str
    forms: tuple[str, ...]
    first: tuple[str, ...]
    last: tuple[str, ...]
    places: tuple[str, ...]
    trades: tuple[str, ...]
    local: str  # the country's own word in subsidiary names ("Sverige", "Deutschland")


REGIONS: dict[str, Region] = {
    r.code: r
    for r in [
        Region("SE", "Sweden", "se", ("AB", "AB", "AB", "AB (publ)"),
               ("Erik", "Anna", "Lars", "Karin", "Johan", "Maria", "Björn", "Åsa", "Sven", "Ingrid"),
               ("Johansson", "Lindqvist", "Åkesson", "Karlsson", "Nyström", "Bergström", "Sjögren", "Holmberg", "Lindgren", "Söderberg"),
               ("Göteborg", "Skåne", "Norrland", "Mälardalen", "Öresund", "Kalmar", "Västerås", "Umeå", "Dalarna", "Gotland"),
               ("Bygg", "Maskin", "Elektro", "Konsult", "Fastigheter", "Logistik", "Energi", "Trävaror", "Stål", "Data"),
               "Sverige"),
        Region("NO", "Norway", "no", ("AS", "AS", "ASA"),
               ("Ola", "Kari", "Lars", "Ingrid", "Bjørn", "Solveig", "Håkon", "Sigrid", "Tor", "Marit"),
               ("Hansen", "Bjørnstad", "Olsen", "Berg", "Haugen", "Solberg", "Dahl", "Lie", "Strand", "Økland"),
               ("Bergen", "Fjord", "Nordkapp", "Trøndelag", "Vestland", "Tromsø", "Ålesund", "Lofoten", "Stavanger", "Hardanger"),
               ("Maskin", "Fisk", "Bygg", "Elektro", "Shipping", "Energi", "Eiendom", "Havbruk", "Verft", "Transport"),
               "Norge"),
        Region("DK", "Denmark", "dk", ("A/S", "ApS", "A/S"),
               ("Mette", "Søren", "Jens", "Lone", "Niels", "Hanne", "Mads", "Birgit", "Rasmus", "Pia"),
               ("Jensen", "Nielsen", "Sørensen", "Rasmussen", "Kjær", "Møller", "Højgaard", "Thomsen", "Poulsen", "Bæk"),
               ("Jylland", "Fyn", "Århus", "Aalborg", "Sjælland", "Vejle", "Esbjerg", "Odense", "Bornholm", "Limfjord"),
               ("Mejeri", "Byg", "Transport", "Elektro", "Rådgivning", "Møbler", "Smed", "Vind", "Plast", "Handel"),
               "Danmark"),
        Region("FI", "Finland", "fi", ("Oy", "Oy", "Oyj"),
               ("Mikko", "Anna", "Jukka", "Päivi", "Timo", "Sari", "Jari", "Tiina", "Kari", "Heli"),
               ("Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Koskinen", "Järvinen", "Lehtonen", "Heikkinen", "Saarinen"),
               ("Pohjola", "Saimaa", "Lappi", "Häme", "Kainuu", "Karjala", "Savo", "Pirkanmaa", "Uusimaa", "Kymi"),
               ("Sähkö", "Rakennus", "Metsä", "Konepaja", "Kuljetus", "Teräs", "Puu", "Lämpö", "Kone", "Data"),
               "Suomi"),
        Region("DE", "Germany", "de", ("GmbH", "GmbH", "AG", "GmbH & Co. KG"),
               ("Thomas", "Sabine", "Michael", "Petra", "Stefan", "Monika", "Jürgen", "Ute", "Klaus", "Birgit"),
               ("Müller", "Schröder", "Weiß", "Köhler", "Schäfer", "Krüger", "Hoffmann", "Becker", "Großmann", "Vogel"),
               ("Rhein", "Bayern", "Elbe", "Schwarzwald", "Ruhr", "Main", "Harz", "Allgäu", "Mosel", "Spree"),
               ("Maschinenbau", "Präzisionstechnik", "Logistik", "Chemie", "Anlagenbau", "Stahlbau", "Elektrotechnik", "Brauerei", "Kunststoff", "Antriebstechnik"),
               "Deutschland"),
        Region("AT", "Austria", "at", ("GmbH", "AG"),
               ("Franz", "Maria", "Josef", "Anna", "Wolfgang", "Elisabeth"),
               ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Moser"),
               ("Tirol", "Donau", "Steiermark", "Kärnten", "Salzburg", "Wachau"),
               ("Holzbau", "Seilbahnen", "Metallwerk", "Logistik", "Elektro", "Glas"),
               "Österreich"),
        Region("CH", "Switzerland", "ch", ("AG", "SA", "GmbH"),
               ("Reto", "Ursula", "Beat", "Claudia", "Urs", "Regula"),
               ("Meier", "Keller", "Brunner", "Zürcher", "Frei", "Baumann"),
               ("Zürichsee", "Jura", "Engadin", "Léman", "Gotthard", "Emmental"),
               ("Uhren", "Präzision", "Pharma", "Feinmechanik", "Treuhand", "Solar"),
               "Schweiz"),
        Region("GB", "United Kingdom", "co.uk", ("Ltd", "Ltd", "Limited", "PLC"),
               ("James", "Sarah", "David", "Emma", "Oliver", "Claire", "Simon", "Helen", "Mark", "Fiona"),
               ("Smith", "Thompson", "O'Brien", "Walker", "Hughes", "Clarke", "MacLeod", "Evans", "Wright", "Turner"),
               ("Thames", "Pennine", "Highland", "Cotswold", "Mersey", "Severn", "Solent", "Cheviot", "Tyne", "Fenland"),
               ("Engineering", "Logistics", "Foods", "Consulting", "Marine", "Systems", "Print", "Brewing", "Controls", "Surveys"),
               "UK"),
        Region("US", "United States", "com", ("Inc.", "Inc.", "Corp.", "LLC", "Corporation", "Co."),
               ("Michael", "Jennifer", "Robert", "Linda", "William", "Susan", "Daniel", "Karen", "Kevin", "Nancy"),
               ("Miller", "Anderson", "Johnson", "Martinez", "Taylor", "Moore", "Jackson", "Harris", "Clark", "Lewis"),
               ("Pacific", "Atlantic", "Summit", "Lakeshore", "Redwood", "Prairie", "Liberty", "Cascade", "Bayou", "Mesa"),
               ("Industries", "Technologies", "Logistics", "Holdings", "Foods", "Software", "Analytics", "Robotics", "Health", "Energy"),
               "USA"),
        Region("FR", "France", "fr", ("SA", "SAS", "SARL"),
               ("Jean", "Marie", "Pierre", "Sophie", "Luc", "Isabelle"),
               ("Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Bérenger"),
               ("Loire", "Provence", "Bretagne", "Alpes", "Seine", "Garonne"),
               ("Industries", "Logistique", "Conseil", "Électronique", "Bâtiment", "Emballages"),
               "France"),
        Region("NL", "Netherlands", "nl", ("B.V.", "B.V.", "N.V."),
               ("Jan", "Anouk", "Pieter", "Sanne", "Daan", "Femke"),
               ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit"),
               ("Zuid", "Delta", "Rijn", "Holland", "Noordzee", "Veluwe"),
               ("Techniek", "Logistiek", "Bouw", "Handel", "Installatie", "Kassen"),
               "Nederland"),
        Region("ES", "Spain", "es", ("S.L.", "S.A."),
               ("Carlos", "María", "José", "Lucía", "Javier", "Carmen"),
               ("García", "Fernández", "López", "Martínez", "Sánchez", "Núñez"),
               ("Ibérica", "Cantábrico", "Levante", "Andalucía", "Galicia", "Meseta"),
               ("Construcciones", "Logística", "Energía", "Alimentación", "Ingeniería", "Servicios"),
               "España"),
        Region("IT", "Italy", "it", ("S.p.A.", "S.r.l.", "S.r.l."),
               ("Marco", "Giulia", "Luca", "Francesca", "Paolo", "Chiara"),
               ("Rossi", "Bianchi", "Ferrari", "Esposito", "Romano", "Colombo"),
               ("Adriatica", "Padana", "Tirrenica", "Lombarda", "Dolomiti", "Toscana"),
               ("Costruzioni", "Meccanica", "Trasporti", "Alimentari", "Impianti", "Ceramiche"),
               "Italia"),
        Region("PL", "Poland", "pl", ("Sp. z o.o.", "S.A."),
               ("Piotr", "Anna", "Tomasz", "Katarzyna", "Paweł", "Agnieszka"),
               ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Łukasik"),
               ("Wisła", "Mazowsze", "Pomorze", "Śląsk", "Karpaty", "Warmia"),
               ("Budownictwo", "Logistyka", "Energetyka", "Meble", "Stal", "Transport"),
               "Polska"),
        Region("AU", "Australia", "com.au", ("Pty Ltd",),
               ("Jack", "Chloe", "Liam", "Mia", "Noah", "Ella"),
               ("Wilson", "Campbell", "Kelly", "Murphy", "Ryan", "Stewart"),
               ("Outback", "Coral", "Southern Cross", "Murray", "Gumtree", "Bondi"),
               ("Mining", "Logistics", "Agri", "Engineering", "Solar", "Marine"),
               "Australia"),
    ]
}  # fmt: skip

#: Countries whose companies write their names in their own script: (name, romanized) parts.
NON_LATIN: dict[str, dict[str, Any]] = {
    "JP": {"country": "Japan", "tld": "co.jp",
           "heads": [("青山", "aoyama"), ("東和", "towa"), ("北斗", "hokuto"), ("大和", "yamato"), ("桜井", "sakurai"), ("朝日", "asahi"), ("富士見", "fujimi"), ("白鷺", "shirasagi")],
           "tails": [("電機", "denki"), ("精工", "seiko"), ("物産", "bussan"), ("商事", "shoji"), ("製作所", "seisakusho"), ("化学", "kagaku"), ("運輸", "unyu")],
           "forms": ["{}株式会社", "株式会社{}"], "first": ["Hiroshi", "Yuki", "Takashi", "Aiko"], "last": ["Sato", "Tanaka", "Suzuki", "Watanabe"]},
    "CN": {"country": "China", "tld": "com.cn",
           "heads": [("华信", "huaxin"), ("长江", "changjiang"), ("东方", "dongfang"), ("金桥", "jinqiao"), ("鸿达", "hongda"), ("瑞丰", "ruifeng")],
           "tails": [("科技", "keji"), ("电子", "dianzi"), ("贸易", "maoyi"), ("物流", "wuliu"), ("制造", "zhizao")],
           "forms": ["{}有限公司", "{}股份有限公司"], "first": ["Wei", "Li", "Jun", "Mei"], "last": ["Wang", "Zhang", "Liu", "Chen"]},
    "KR": {"country": "South Korea", "tld": "co.kr",
           "heads": [("한빛", "hanbit"), ("대성", "daesung"), ("미래", "mirae"), ("세진", "sejin"), ("동양", "dongyang")],
           "tails": [("전자", "jeonja"), ("산업", "saneop"), ("건설", "geonseol"), ("물산", "mulsan")],
           "forms": ["{} 주식회사", "주식회사 {}", "(주){}"], "first": ["Minho", "Jiwoo", "Seojun", "Hana"], "last": ["Kim", "Lee", "Park", "Choi"]},
    "RU": {"country": "Russia", "tld": "ru",
           "heads": [("Норд", "nord"), ("Вектор", "vektor"), ("Сибирь", "sibir"), ("Волга", "volga"), ("Ладога", "ladoga")],
           "tails": [("Логистик", "logistik"), ("Строй", "stroy"), ("Энерго", "energo"), ("Маш", "mash"), ("Технологии", "tehnologii")],
           "forms": ["ООО «{}»", "АО «{}»", "{}"], "first": ["Ivan", "Olga", "Dmitry", "Elena"], "last": ["Ivanov", "Petrova", "Smirnov", "Volkova"]},
    "GR": {"country": "Greece", "tld": "gr",
           "heads": [("Αιγαίο", "aigaio"), ("Όλυμπος", "olympos"), ("Ερμής", "ermis"), ("Ποσειδών", "poseidon")],
           "tails": [("Ναυτιλιακή", "naftiliaki"), ("Τεχνική", "techniki"), ("Εμπορική", "emporiki")],
           "forms": ["{} Α.Ε.", "{}"], "first": ["Giorgos", "Maria", "Nikos", "Eleni"], "last": ["Papadopoulos", "Nikolaou", "Georgiou", "Dimitriou"]},
    "AE": {"country": "United Arab Emirates", "tld": "ae",
           "heads": [("الخليج", "alkhaleej"), ("النور", "alnoor"), ("الصقر", "alsaqr"), ("الواحة", "alwaha")],
           "tails": [("للتجارة", "trading"), ("للمقاولات", "contracting"), ("للتقنية", "tech")],
           "forms": ["{} ش.م.م", "شركة {}", "{}"], "first": ["Ahmed", "Fatima", "Omar", "Layla"], "last": ["Al Mansouri", "Haddad", "Khalil", "Nasser"]},
}  # fmt: skip

SYLLABLES = ["ve", "lo", "tra", "nor", "vik", "ka", "mo", "ra", "tes", "sa", "bri", "xa",
             "zen", "trix", "ori", "on", "glo", "bex", "ini", "tech", "sol", "ar", "den",
             "fal", "kor", "lin", "mar", "qua", "rel", "sta", "tor", "vel", "lum", "pax",
             "dor", "ter", "nex", "syn", "alt", "cor", "vin", "lyx"]  # fmt: skip
BRAND_ENDS = ["", "", "", "a", "o", "ex", "ia", "is", "us", "ix", "on", "ia"]
TRADES_EN = ["Logistics", "Foods", "Consulting", "Robotics", "Marine", "Software", "Dental",
             "Packaging", "Analytics", "Energy", "Textiles", "Pharma", "Security", "Aviation"]  # fmt: skip
FREE_MAIL = {"SE": ["gmail.com", "hotmail.se", "outlook.com", "live.se", "telia.com", "icloud.com"],
             "NO": ["gmail.com", "hotmail.no", "online.no", "outlook.com"],
             "DK": ["gmail.com", "hotmail.dk", "live.dk", "outlook.dk"],
             "FI": ["gmail.com", "hotmail.fi", "luukku.com", "outlook.com"],
             "DE": ["gmail.com", "gmx.de", "web.de", "t-online.de", "freenet.de", "outlook.de"],
             "AT": ["gmail.com", "gmx.at", "aon.at"], "CH": ["gmail.com", "bluewin.ch", "gmx.ch"],
             "GB": ["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "btinternet.com", "outlook.com"],
             "US": ["gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com", "comcast.net"],
             "FR": ["gmail.com", "orange.fr", "free.fr", "hotmail.fr"], "NL": ["gmail.com", "ziggo.nl", "hotmail.nl"],
             "ES": ["gmail.com", "hotmail.es", "yahoo.es"], "IT": ["gmail.com", "libero.it", "virgilio.it"],
             "PL": ["gmail.com", "wp.pl", "o2.pl", "onet.pl"], "AU": ["gmail.com", "bigpond.com", "optusnet.com.au"],
             "JP": ["gmail.com", "yahoo.co.jp", "docomo.ne.jp"], "CN": ["qq.com", "163.com", "126.com"],
             "KR": ["naver.com", "daum.net", "gmail.com"], "RU": ["mail.ru", "yandex.ru", "gmail.com"],
             "GR": ["gmail.com", "yahoo.gr"], "AE": ["gmail.com", "hotmail.com"]}  # fmt: skip
#: Alternative spellings of legal forms people use for the same form.
FORM_VARIANTS = {
    "AB": ["AB", "Aktiebolag", "AB (publ)", "ab", "A.B."], "AB (publ)": ["AB", "AB (publ)", "(publ)"],
    "AS": ["AS", "A/S", "A.S."], "ASA": ["ASA", "AS"], "A/S": ["A/S", "AS", "A.S."], "ApS": ["ApS", "Aps"],
    "Oy": ["Oy", "OY", "Osakeyhtiö", "Ab Oy"], "Oyj": ["Oyj", "Oy"],
    "GmbH": ["GmbH", "Gmbh", "GMBH", "G.m.b.H."], "AG": ["AG", "Aktiengesellschaft"],
    "GmbH & Co. KG": ["GmbH & Co. KG", "GmbH & Co KG", "GmbH"], "SA": ["SA", "S.A."],
    "Ltd": ["Ltd", "Ltd.", "Limited", "LTD"], "Limited": ["Ltd", "Limited"], "PLC": ["PLC", "plc", "Plc"],
    "Inc.": ["Inc.", "Inc", "Incorporated", ", Inc."], "Corp.": ["Corp.", "Corporation", "Corp"],
    "LLC": ["LLC", "L.L.C.", "llc"], "Corporation": ["Corporation", "Corp."], "Co.": ["Co.", "Company", "& Co."],
    "SAS": ["SAS", "S.A.S."], "SARL": ["SARL", "S.A.R.L.", "Sàrl"], "B.V.": ["B.V.", "BV", "bv"],
    "N.V.": ["N.V.", "NV"], "S.L.": ["S.L.", "SL", "S.L.U."], "S.A.": ["S.A.", "SA"],
    "S.p.A.": ["S.p.A.", "SpA", "SPA"], "S.r.l.": ["S.r.l.", "Srl", "SRL"],
    "Sp. z o.o.": ["Sp. z o.o.", "sp. z o. o.", "Spółka z o.o."], "Pty Ltd": ["Pty Ltd", "Pty. Ltd.", "Pty Limited"],
}  # fmt: skip
QWERTY = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
PLACEHOLDER_COMPANIES = ["N/A", "-", "none", "Private", "self-employed", "Unknown", "n.a."]

# -- records -----------------------------------------------------------------------------------


@dataclass
class Account:
    id: str
    name: str
    core: str  # the name without its legal form
    form: str  # the legal form as written in `name` ("" for none)
    region: str  # country code
    website: str | None
    domain: str | None  # the registrable domain behind `website`
    domains: list[str] = field(default_factory=list)  # extra known domains
    parent_id: str | None = None
    owner_id: str = ""
    global_flag: bool = False
    type: str = "Customer"
    contacts: int = 0
    open_opportunities: int = 0
    kind: str = "standalone"
    romanized: str | None = None  # non-Latin names: how the company spells itself in Latin
    people_region: str | None = None  # non-Latin: the key in NON_LATIN

    @property
    def country(self) -> str:
        if self.region in REGIONS:
            return REGIONS[self.region].country
        return str(NON_LATIN[self.region]["country"])


class World:
    """The universe being built, with the random source and the names already taken."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.accounts: list[Account] = []
        self.by_id: dict[str, Account] = {}
        self.taken_names: set[str] = set()
        self.taken_domains: set[str] = set()
        self.users: list[dict[str, Any]] = []
        self.roles: list[dict[str, str]] = []
        self.reps: dict[str, list[str]] = {}
        self.directors: list[str] = []

    def add(self, account: Account) -> Account:
        self.accounts.append(account)
        self.by_id[account.id] = account
        self.taken_names.add(squash(account.core))
        if account.domain:
            self.taken_domains.add(account.domain)
        self.taken_domains.update(account.domains)
        return account

    def next_id(self) -> str:
        return f"A{len(self.accounts) + 1:04d}"


def squash(text: str) -> str:
    """A crude identity of a name for the generator's own bookkeeping (not the matcher's)."""
    return "".join(ch for ch in ascii_fold(text).lower() if ch.isalnum())


def ascii_fold(text: str) -> str:
    special = {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d"}
    text = "".join(special.get(ch, ch) for ch in text)
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def domain_word(text: str) -> str:
    """How a company turns its name into a domain label (`Bjørnstad Maskin` → `bjornstadmaskin`)."""
    return "".join(ch for ch in ascii_fold(text).lower() if ch.isalnum())


def website_of(rng: random.Random, domain: str) -> str:
    """A Website field as CRMs hold them: with or without scheme, `www.`, a path, capitals."""
    style = rng.random()
    if style < 0.35:
        return f"www.{domain}"
    if style < 0.6:
        return f"https://www.{domain}"
    if style < 0.75:
        return domain
    if style < 0.85:
        return f"http://{domain}/"
    if style < 0.93:
        return f"https://www.{domain}/{rng.choice(['en', 'contact', 'about-us', 'home'])}"
    return f"WWW.{domain.upper()}"


def brand(rng: random.Random) -> str:
    parts = [rng.choice(SYLLABLES) for _ in range(rng.choice([2, 2, 2, 3]))]
    word = "".join(parts) + rng.choice(BRAND_ENDS)
    return word[:1].upper() + word[1:]


# -- building the universe ---------------------------------------------------------------------


def make_users(world: World) -> None:
    world.roles = [
        {"Id": "R-GAD", "Name": "Global Account Director"},
        {"Id": "R-AE", "Name": "Account Executive"},
        {"Id": "R-SDR", "Name": "Sales Development"},
    ]
    directors = [("Grace", "Lindholm"), ("Henrik", "Vogel"), ("Amelia", "Hart")]
    for i, (first, last) in enumerate(directors, 1):
        uid = f"U-GAD{i}"
        world.users.append(_user(uid, first, last, "R-GAD", "Global"))
        world.directors.append(uid)
    reps = {
        "Nordics": ("SE", "NO", "DK", "FI"),
        "DACH": ("DE", "AT", "CH"),
        "UKI": ("GB",),
        "NA": ("US",),
        "SouthWest": ("FR", "NL", "ES", "IT", "PL"),
        "APAC": ("AU", "JP", "CN", "KR"),
        "EMEA-East": ("RU", "GR", "AE"),
    }
    names = iter(
        [("Nils", "Ek"), ("Sofie", "Dahl"), ("Lukas", "Brandt"), ("Mia", "Roth"),
         ("Tom", "Fletcher"), ("Ava", "Reed"), ("Ethan", "Cole"), ("Léa", "Martin"),
         ("Sven", "de Boer"), ("Kenji", "Mori"), ("Olivia", "Chen"), ("Yusuf", "Demir"),
         ("Ana", "Petrova"), ("Max", "Weber"), ("Ida", "Berg")]
    )  # fmt: skip
    for team, codes in reps.items():
        count = 2 if team in ("Nordics", "DACH", "NA") else 1
        ids = []
        for n in range(count):
            first, last = next(names)
            uid = f"U-{team}{n + 1}"
            world.users.append(_user(uid, first, last, "R-AE", team))
            ids.append(uid)
        for code in codes:
            world.reps[code] = ids


def _user(uid: str, first: str, last: str, role: str, team: str) -> dict[str, Any]:
    login = f"{ascii_fold(first).lower()}.{domain_word(last)}@acme-sales.test"
    return {"Id": uid, "FirstName": first, "LastName": last, "Username": login, "Email": login,
            "UserRoleId": role, "Team": team}  # fmt: skip


def rep_for(world: World, region: str) -> str:
    return world.rng.choice(world.reps[region])


def latin_company(world: World, code: str, pattern: str | None = None) -> tuple[str, str]:
    """A new company core name in a Latin-script country, and the domain label it would pick."""
    rng, region = world.rng, REGIONS[code]
    for _ in range(200):
        kind = (
            pattern
            or rng.choices(
                [
                    "brand",
                    "brand_trade",
                    "surname_trade",
                    "partners",
                    "sons",
                    "place_trade",
                    "person",
                ],
                weights=[3, 3, 3, 1, 1, 3, 1],
            )[0]
        )
        if kind == "brand":
            core = brand(rng)
        elif kind == "brand_trade":
            core = f"{brand(rng)} {rng.choice(region.trades + tuple(TRADES_EN[:4]))}"
        elif kind == "surname_trade":
            core = f"{rng.choice(region.last)} {rng.choice(region.trades)}"
        elif kind == "partners":
            a, b = rng.sample(region.last, 2)
            core = f"{a} & {b}"
        elif kind == "sons":
            word = {"SE": "Söner", "NO": "Sønner", "DK": "Sønner", "DE": "Söhne", "GB": "Sons",
                    "US": "Sons", "NL": "Zonen", "FR": "Fils", "IT": "Figli"}.get(code, "Sons")  # fmt: skip
            core = f"{rng.choice(region.last)} & {word}"
        elif kind == "place_trade":
            core = f"{rng.choice(region.places)} {rng.choice(region.trades)}"
        else:
            core = (
                f"{rng.choice(region.first)} {rng.choice(region.last)} {rng.choice(region.trades)}"
            )
        if squash(core) not in world.taken_names:
            label = domain_word(core)
            if kind in ("partners", "sons") or (len(label) > 14 and rng.random() < 0.5):
                label = "-".join(domain_word(w) for w in core.replace("&", " ").split())
            return core, label
    msg = f"no free company name for {code}"
    raise RuntimeError(msg)


def new_domain(world: World, label: str, tld: str) -> str:
    domain = f"{label}.{tld}"
    n = 2
    while domain in world.taken_domains:
        domain = f"{label}{n}.{tld}"
        n += 1
    return domain


def with_form(core: str, form: str) -> str:
    if not form:
        return core
    if "{}" in form:
        return form.format(core)
    return f"{core}, {form.lstrip(', ')}" if form.startswith(",") else f"{core} {form}"


def add_standalone(world: World, code: str, *, core: str | None = None, label: str | None = None,
                   kind: str = "standalone", website: bool | None = None) -> Account:  # fmt: skip
    rng = world.rng
    region = REGIONS[code]
    if core is None:
        core, label = latin_company(world, code)
    form = rng.choice(region.forms) if rng.random() < 0.92 else ""
    has_site = rng.random() < 0.88 if website is None else website
    domain = new_domain(world, label or domain_word(core), region.tld) if has_site else None
    return world.add(
        Account(
            world.next_id(), with_form(core, form), core, form, code,
            website_of(rng, domain) if domain else None, domain,
            owner_id=rep_for(world, code), type=rng.choice(["Customer", "Prospect", "Prospect", "Partner"]),
            contacts=rng.randint(0, 40), open_opportunities=rng.choice([0, 0, 0, 1, 1, 2, 3]), kind=kind,
        )
    )  # fmt: skip


def add_non_latin(world: World, code: str) -> Account:
    rng, spec = world.rng, NON_LATIN[code]
    for _ in range(100):
        (head, head_r), (tail, tail_r) = rng.choice(spec["heads"]), rng.choice(spec["tails"])
        core = head + ("" if code in ("JP", "CN") else " ") + tail
        if code in ("KR",):
            core = head + tail
        if squash(core) not in world.taken_names:
            break
    form_template = rng.choice(spec["forms"])
    name = form_template.format(core)
    label = rng.choice(
        [
            f"{head_r}-{tail_r}",
            head_r + tail_r,
            head_r + tail_r[:2],
            head_r[0] + tail_r[0] + "group",
        ]
    )
    domain = new_domain(world, label, spec["tld"])
    return world.add(
        Account(
            world.next_id(), name, core, form_template, code, website_of(rng, domain), domain,
            owner_id=rep_for(world, code), contacts=rng.randint(0, 25),
            open_opportunities=rng.choice([0, 0, 1, 2]), kind="non_latin",
            romanized=f"{head_r.capitalize()} {tail_r.capitalize()}", people_region=code,
        )
    )  # fmt: skip


HQ_REGIONS = ["US", "US", "GB", "DE", "SE", "SE", "NO", "DK", "FI", "CH", "NL", "FR", "JP"]
SUB_PATHS = {  # region name → countries under it
    "Nordics": ["SE", "NO", "DK", "FI"],
    "Europe": ["DE", "FR", "NL", "GB", "AT", "CH", "ES", "IT", "PL"],
    "DACH": ["DE", "AT", "CH"],
    "Americas": ["US"],
    "APAC": ["AU", "JP"],
}


def add_family(world: World, index: int) -> None:
    """One global hierarchy: an ultimate parent, regional holdings, country subsidiaries, maybe
    an acquired brand; 3 to 11 accounts, up to four levels."""
    rng = world.rng
    hq = HQ_REGIONS[index % len(HQ_REGIONS)]
    if hq == "JP":
        top = add_non_latin(world, "JP")
        top.kind = "family_top"
        top.owner_id = rng.choice(world.directors)
        name_core, label = top.romanized or top.core, domain_word(top.romanized or top.core)
    else:
        core, label = latin_company(
            world, hq, rng.choice(["brand", "brand", "brand_trade", "surname_trade"])
        )
        region = REGIONS[hq]
        form = rng.choice(region.forms)
        tld = "com" if rng.random() < 0.7 else region.tld
        domain = new_domain(world, label, tld)
        top = world.add(
            Account(
                world.next_id(), with_form(core, form), core, form, hq, website_of(rng, domain), domain,
                owner_id=rng.choice(world.directors), type="Customer", contacts=rng.randint(40, 200),
                open_opportunities=rng.randint(0, 5), kind="family_top",
            )
        )  # fmt: skip
        name_core = core
    size = rng.choice([3, 4, 5, 6, 8, 11])
    top.global_flag = size >= 4 and rng.random() < 0.7
    brand_core = (
        name_core.split()[0] if len(name_core.split()) > 1 and rng.random() < 0.5 else name_core
    )
    brand_label = domain_word(brand_core)
    top_domain = top.domain or ""
    countries = [c for c in REGIONS if c != hq]
    rng.shuffle(countries)
    parents = [top]
    if size >= 6:
        area = rng.choice(["Nordics", "Europe", "DACH"])
        code = "SE" if area == "Nordics" else ("DE" if area == "DACH" else "NL")
        mid = _subsidiary(
            world, top, code, f"{brand_core} {area}", brand_label, top_domain, kind="family_region"
        )
        if mid is not None:
            parents.append(mid)
        if size >= 8 and mid is not None:
            inner = [c for c in SUB_PATHS[area] if c != code][:2]
            for c in inner:
                child = _subsidiary(
                    world, mid, c, f"{brand_core} {REGIONS[c].local}", brand_label, top_domain
                )
                if child is None:
                    continue
                parents.append(child)
                if size >= 11:  # a fourth level: a local unit under the country company
                    unit = rng.choice(REGIONS[c].places)
                    _subsidiary(
                        world,
                        child,
                        c,
                        f"{brand_core} {unit}",
                        brand_label,
                        top_domain,
                        own_site=False,
                    )
    made = len([a for a in world.accounts if _top(world, a) is top])
    for code in countries:
        if made >= size:
            break
        under = rng.choice(parents)
        if _subsidiary(
            world, under, code, f"{brand_core} {REGIONS[code].local}", brand_label, top_domain
        ):
            made += 1
    if rng.random() < 0.4:  # an acquired company keeps its own name and domain
        code = rng.choice(list(REGIONS))
        acquired = add_standalone(world, code, kind="family_acquired", website=True)
        acquired.parent_id = rng.choice(parents).id
    # countries without their own account: the parent lists their domains
    if rng.random() < 0.45 and top.domain and not top.domain.endswith((".co.jp",)):
        extra = [
            c
            for c in countries
            if c not in {a.region for a in world.accounts if _top(world, a) is top}
        ][:2]
        for c in extra:
            domain = f"{top.domain.split('.')[0]}.{REGIONS[c].tld}"
            if domain not in world.taken_domains:
                top.domains.append(domain)
                world.taken_domains.add(domain)


def _subsidiary(world: World, parent: Account, code: str, core: str, label: str, top_domain: str,
                *, kind: str = "family_sub", own_site: bool | None = None) -> Account | None:  # fmt: skip
    rng, region = world.rng, REGIONS[code]
    if squash(core) in world.taken_names:
        return None  # another group's brand: a second `Lindqvist Norge` would be a coin toss
    form = rng.choice(region.forms)
    style = rng.random() if own_site is None else (0.0 if own_site else 0.99)
    if style < 0.55:
        domain = new_domain(world, label, region.tld)  # a country domain of its own
        website = website_of(rng, domain)
    elif style < 0.8 and top_domain:
        domain = top_domain  # the parent's website copied onto the subsidiary
        website = website_of(rng, top_domain)
    else:
        domain, website = None, None
    account = Account(
        world.next_id(), with_form(core, form), core, form, code, website, domain,
        parent_id=parent.id, owner_id=rep_for(world, code), type="Customer",
        contacts=rng.randint(3, 60), open_opportunities=rng.choice([0, 0, 1, 1, 2]), kind=kind,
    )  # fmt: skip
    world.accounts.append(account)
    world.by_id[account.id] = account
    world.taken_names.add(squash(core))
    if domain and domain != top_domain:
        world.taken_domains.add(domain)
    return account


def _top(world: World, account: Account) -> Account:
    seen = set()
    while account.parent_id and account.parent_id not in seen:
        seen.add(account.id)
        account = world.by_id[account.parent_id]
    return account


def add_lookalikes(world: World) -> None:
    """Unrelated companies whose names resemble an account's: another trade after the same
    brand, one letter apart, and the same name in another country."""
    rng = world.rng
    standalone = [a for a in world.accounts if a.kind == "standalone" and a.region in REGIONS]
    # the same first word, another business (`Acme` vs `Acme Logistics`)
    for base in rng.sample(standalone, 10):
        code = rng.choice(list(REGIONS))
        first = base.core.split()[0].rstrip("&")
        core = f"{first} {rng.choice(TRADES_EN + list(REGIONS[code].trades))}"
        if squash(core) in world.taken_names:
            continue
        account = add_standalone(
            world, code, core=core, label=domain_word(core), kind="lookalike_trade", website=True
        )
        account.type = "Prospect"
    # one letter apart (`Nordic Steel` vs `Nordic Steal`): real, if rare, pairs of companies
    for base in rng.sample([a for a in standalone if len(a.core) >= 8], 8):
        code = rng.choice([c for c in REGIONS if c != base.region])
        core = letter_swap(rng, base.core)
        if squash(core) in world.taken_names:
            continue
        add_standalone(
            world, code, core=core, label=domain_word(core), kind="lookalike_letter", website=True
        )
    # the same name in two countries (`Nordic Consulting AB` and `Nordic Consulting AS`)
    pairs = [("SE", "NO"), ("NO", "DK"), ("DE", "AT"), ("GB", "AU"), ("US", "GB"), ("SE", "FI")]
    for a_code, b_code in pairs:
        core, label = latin_company(
            world, a_code, "place_trade" if rng.random() < 0.5 else "brand_trade"
        )
        first = add_standalone(
            world, a_code, core=core, label=label, kind="same_name", website=True
        )
        twin = add_standalone(
            world, b_code, core=core, label=label, kind="same_name", website=rng.random() < 0.7
        )
        first.type = twin.type = "Customer"


def letter_swap(rng: random.Random, text: str) -> str:
    """A different, real-looking name one letter away: a vowel changed (`Steel` → `Steal`)."""
    positions = [i for i, ch in enumerate(text) if ch.lower() in "aeiou" and i > 0]
    i = rng.choice(positions)
    vowels = [v for v in "aeiou" if v != text[i].lower()]
    return text[:i] + rng.choice(vowels) + text[i + 1 :]


HOSTILE_ACCOUNTS = [
    ("O'Brien & Sons", "Ltd", "GB", "obrien-sons"),
    ("100% Organic", "AB", "SE", "100organic"),
    ("Under_score Solutions", "Inc.", "US", "underscore-solutions"),
    ("Back\\slash Design", "GmbH", "DE", "backslash-design"),
    ('Say "Hi" Media', "Ltd", "GB", "sayhimedia"),
    ("L'Oréal Nordic Beauty", "AB", "SE", "lorealnordic"),
    ("Ærø Café & Bageri", "ApS", "DK", "aerocafe"),
    ("Straßenbau Weiß", "GmbH", "DE", "strassenbau-weiss"),
    ("Hällströms Åkeri", "AB", "SE", "hallstromsakeri"),
    ("Sähkö-Säätö", "Oy", "FI", "sahkosaato"),
    ("Økland & Bjørnstad", "AS", "NO", "okland-bjornstad"),
]


def add_hostile(world: World) -> None:
    for core, form, code, label in HOSTILE_ACCOUNTS:
        rng = world.rng
        domain = new_domain(world, label, REGIONS[code].tld)
        world.add(
            Account(
                world.next_id(), with_form(core, form), core, form, code, website_of(rng, domain), domain,
                owner_id=rep_for(world, code), contacts=rng.randint(1, 20), kind="hostile",
            )
        )  # fmt: skip


def build_world(rng: random.Random) -> World:
    world = World(rng)
    make_users(world)
    add_hostile(world)
    for i in range(28):
        add_family(world, i)
    weights = {"SE": 16, "NO": 9, "DK": 8, "FI": 8, "DE": 14, "AT": 3, "CH": 3, "GB": 12,
               "US": 12, "FR": 4, "NL": 4, "ES": 3, "IT": 3, "PL": 3, "AU": 3}  # fmt: skip
    for code, count in weights.items():
        for _ in range(count):
            add_standalone(world, code)
    for code in NON_LATIN:
        for _ in range(3 if code in ("JP", "CN", "KR") else 2):
            add_non_latin(world, code)
    add_lookalikes(world)
    return world


# -- leads -------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    email: str | None
    company: str | None
    country: str | None
    expected: str | None
    note: str


class Leads:
    """Makes lead cases: people at companies, typing their company the way people do."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng
        self.cases: list[Case] = []
        self.outsiders: set[str] = set()

    # people and addresses
    def person(self, code: str) -> tuple[str, str]:
        spec: Any = REGIONS.get(code) or NON_LATIN[code]
        firsts = spec.first if isinstance(spec, Region) else spec["first"]
        lasts = spec.last if isinstance(spec, Region) else spec["last"]
        return self.rng.choice(firsts), self.rng.choice(lasts)

    def local_part(self, code: str) -> str:
        first, last = self.person(code)
        f, l_ = domain_word(first), domain_word(last)
        style = self.rng.random()
        if style < 0.55:
            return f"{f}.{l_}"
        if style < 0.7:
            return f"{f[0]}{l_}"
        if style < 0.85:
            return f
        return f"{f}.{l_}{self.rng.randint(1, 99)}"

    def work_email(self, code: str, domain: str, subdomain: str | None = None) -> str:
        host = f"{subdomain}.{domain}" if subdomain else domain
        return f"{self.local_part(code)}@{host}"

    def free_email(self, code: str) -> str:
        local = self.local_part(code)
        if self.rng.random() < 0.5:
            local += str(self.rng.randint(1, 999))
        return f"{local}@{self.rng.choice(FREE_MAIL[code])}"

    def lead_country(self, account: Account) -> str | None:
        r = self.rng.random()
        if r < 0.62:
            return account.country
        if r < 0.72:
            return account.region  # the ISO code instead of the name
        if r < 0.95:
            return None
        return self.rng.choice([REGIONS[c].country for c in REGIONS if c != account.region])

    def add(self, kind: str, email: str | None, company: str | None, country: str | None,
            expected: Account | None, note: str) -> None:  # fmt: skip
        self.cases.append(
            Case(kind, email, company, country, expected.id if expected else None, note)
        )

    # how people write a company's name
    def written(self, account: Account, *, form_rate: float = 0.5) -> str:
        """The company as someone at it types it: the core, maybe a legal form in some style,
        maybe in capitals or lower case."""
        rng = self.rng
        if account.region not in REGIONS:
            return account.name if rng.random() < 0.6 else account.core
        text = account.core
        if rng.random() < form_rate and account.form:
            text = with_form(text, rng.choice(FORM_VARIANTS.get(account.form, [account.form])))
        r = rng.random()
        if r < 0.08:
            text = text.upper()
        elif r < 0.14:
            text = text.lower()
        return text

    def accounts(self, *kinds: str, where: Any = None) -> list[Account]:
        return [
            a
            for a in self.world.accounts
            if (not kinds or a.kind in kinds) and (where is None or where(a))
        ]

    def pick(self, *kinds: str, where: Any = None) -> Account:
        return self.rng.choice(self.accounts(*kinds, where=where))

    def outsider(self, code: str, core: str | None = None) -> tuple[str, str]:
        """A company that is not in the CRM: a core name and its own domain."""
        for _ in range(100):
            if core is None:
                name, label = latin_company(self.world, code)
            else:
                name, label = core, domain_word(core)
            key = squash(name)
            if key not in self.world.taken_names and key not in self.outsiders:
                self.outsiders.add(key)
                domain = f"{label}.{REGIONS[code].tld}"
                if domain in self.world.taken_domains:
                    domain = f"{label}-{REGIONS[code].tld.split('.')[-1]}.com"
                return name, domain
            core = None
        msg = "no outsider name"
        raise RuntimeError(msg)


def typo(rng: random.Random, text: str, edits: int) -> str:
    """`edits` typing errors in the letters of `text`: a neighbouring key, a dropped, doubled or
    swapped letter; rarely the first letter."""
    chars = list(text)
    for _ in range(edits):
        letters = [i for i, ch in enumerate(chars) if ch.isalpha() and ch.isascii()]
        weights = [0.3 if i == letters[0] else 1.0 for i in letters]
        i = rng.choices(letters, weights=weights)[0]
        op = rng.choice(["neighbour", "drop", "double", "swap"])
        ch = chars[i]
        if op == "neighbour":
            row = next((r for r in QWERTY if ch.lower() in r), None)
            if row:
                j = row.index(ch.lower())
                near = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
                new = rng.choice(near)
                chars[i] = new.upper() if ch.isupper() else new
        elif op == "drop" and len(letters) > 4:
            del chars[i]
        elif op == "double":
            chars.insert(i, ch.lower() if i else ch)
        elif i + 1 < len(chars) and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def strip_accents(text: str) -> str:
    return ascii_fold(text)


def spell_out(text: str) -> str:
    """German/Nordic letters spelled as on a keyboard without them (`Müller` → `Mueller`)."""
    table = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
             "ø": "oe", "Ø": "Oe", "æ": "ae", "Æ": "Ae", "å": "aa", "Å": "Aa"}  # fmt: skip
    return ascii_fold("".join(table.get(ch, ch) for ch in text))


def reorder(text: str) -> str | None:
    """The same company with its words in another order, as people write it: partners swapped
    (`Hansen & Berg` → `Berg & Hansen`), a person's name last name first, `Place Trade` →
    `Trade Place`."""
    if " & " in text:
        a, b = text.split(" & ", 1)
        if b in ("Söner", "Sønner", "Söhne", "Sons", "Zonen", "Fils", "Figli"):
            return None
        return f"{b} & {a}"
    words = text.split()
    if len(words) == 3:
        return f"{words[1]} {words[0]} {words[2]}"
    if len(words) == 2:
        return f"{words[1]} {words[0]}"
    return None


def generate_cases(world: World) -> list[Case]:
    leads = Leads(world)
    rng = world.rng
    has_site = lambda a: a.domain is not None  # noqa: E731
    latin = lambda a: a.region in REGIONS  # noqa: E731

    # 1. work email at the account's own website domain, the company written any way
    for _ in range(60):
        a = leads.pick(
            "standalone",
            "lookalike_trade",
            "lookalike_letter",
            "family_top",
            "family_acquired",
            "non_latin",
            where=has_site,
        )
        company = leads.written(a) if rng.random() < 0.85 else None
        leads.add(
            "domain",
            leads.work_email(a.region, a.domain),
            company,
            leads.lead_country(a),
            a,
            "work email at the account's website domain",
        )
    for _ in range(20):
        a = leads.pick("standalone", "family_top", where=has_site)
        company = rng.choice([None, "", *PLACEHOLDER_COMPANIES])
        leads.add(
            "domain_no_company",
            leads.work_email(a.region, a.domain),
            company,
            leads.lead_country(a),
            a,
            "work email, no usable company",
        )
    for _ in range(15):
        a = leads.pick("standalone", "family_top", where=lambda a: has_site(a) and latin(a))
        sub = rng.choice(["mail", "se", "de", "us", "eu", "corp", "int"])
        leads.add(
            "email_subdomain",
            leads.work_email(a.region, a.domain, sub),
            leads.written(a),
            leads.lead_country(a),
            a,
            f"email at the subdomain {sub}.",
        )

    # 2. hierarchies: subsidiaries with their own domains, shared websites, known country domains
    subs_own = leads.accounts(
        "family_sub",
        "family_region",
        where=lambda a: a.domain is not None and a.domain != _top(world, a).domain,
    )
    for _ in range(45):
        a = rng.choice(subs_own)
        company = (
            leads.written(a) if rng.random() < 0.8 else rng.choice([None, _top(world, a).core])
        )
        leads.add(
            "subsidiary_domain",
            leads.work_email(a.region, a.domain),
            company,
            leads.lead_country(a),
            a,
            "work email at the subsidiary's own country domain",
        )
    shared = leads.accounts(
        "family_sub",
        "family_region",
        where=lambda a: a.domain is not None and a.domain == _top(world, a).domain,
    )
    for _ in range(20):
        a = rng.choice(shared)
        top = _top(world, a)
        target = a if rng.random() < 0.6 else top
        leads.add("shared_domain", leads.work_email(target.region, a.domain), leads.written(target, form_rate=0.8), leads.lead_country(target),
                  target, "the subsidiary's Website is the parent's: the company name tells them apart")  # fmt: skip
    with_extra = leads.accounts(where=lambda a: bool(a.domains))
    for _ in range(20):
        a = rng.choice(with_extra)
        domain = rng.choice(a.domains)
        code = next((c for c in REGIONS if domain.endswith("." + REGIONS[c].tld)), a.region)
        company = rng.choice([None, leads.written(a), f"{a.core} {REGIONS[code].local}"])
        leads.add("country_domain_known", leads.work_email(code, domain), company, REGIONS[code].country if rng.random() < 0.7 else None, a,
                  "email at a country domain the account lists among its domains")  # fmt: skip
    tops = leads.accounts(
        "family_top", "standalone", where=lambda a: has_site(a) and latin(a) and not a.domains
    )
    for _ in range(30):
        a = rng.choice(tops)
        code = rng.choice([c for c in REGIONS if c != a.region])
        domain = f"{a.domain.split('.')[0]}.{REGIONS[code].tld}"  # type: ignore[union-attr]
        if domain in world.taken_domains:
            continue
        if rng.random() < 0.65:
            leads.add("country_domain_unknown", leads.work_email(code, domain), leads.written(a), REGIONS[code].country, a,
                      "email at a country domain the CRM does not know; the company name matches")  # fmt: skip
        else:
            leads.add("country_domain_unknown_no_company", leads.work_email(code, domain), None, REGIONS[code].country, None,
                      "a country domain the CRM does not know and no company: not guessed (issue 5)")  # fmt: skip

    # 3. names only (free mail, or no email): legal forms, accents, word order, typos
    named = leads.accounts(
        "standalone",
        "family_top",
        "family_sub",
        "family_region",
        "family_acquired",
        "lookalike_trade",
        where=latin,
    )
    for _ in range(50):
        a = rng.choice(named)
        company = leads.written(a, form_rate=0.9)
        email = leads.free_email(a.region) if rng.random() < 0.85 else None
        leads.add(
            "legal_form",
            email,
            company,
            leads.lead_country(a),
            a,
            "free mail; the company with its legal form written another way",
        )
    accented = [a for a in named if ascii_fold(a.core) != a.core]
    for _ in range(40):
        a = rng.choice(accented)
        how = rng.choice(["strip", "spell", "spell", "strip"])
        core = strip_accents(a.core) if how == "strip" else spell_out(a.core)
        company = with_form(core, a.form) if rng.random() < 0.5 else core
        leads.add("accents", leads.free_email(a.region), company, leads.lead_country(a), a,
                  "accents dropped" if how == "strip" else "Nordic/German letters spelled out (ue, oe, aa)")  # fmt: skip
    orderable = [a for a in named if reorder(a.core)]
    for _ in range(20):
        a = rng.choice(orderable)
        company = reorder(a.core)
        if rng.random() < 0.4:
            company = company.replace(
                " & ", rng.choice([" and ", " og " if a.region == "NO" else " och ", " + "])
            )  # type: ignore[union-attr]
        leads.add(
            "word_order",
            leads.free_email(a.region),
            company,
            leads.lead_country(a),
            a,
            "the same words in another order",
        )
    long_names = [a for a in named if len(a.core.replace(" ", "")) >= 6]
    for edits, count in ((1, 40), (2, 25)):
        for _ in range(count):
            a = rng.choice(long_names)
            company = typo(rng, a.core, edits)
            if rng.random() < 0.4 and a.form:
                company = with_form(company, a.form)
            r = rng.random()
            email = (
                leads.free_email(a.region)
                if r < 0.7
                else (
                    None if r < 0.8 else leads.work_email(a.region, a.domain) if a.domain else None
                )
            )
            leads.add(
                f"typo{edits}",
                email,
                company,
                leads.lead_country(a),
                a,
                f"{edits} typing error(s) in the company name",
            )
    for _ in range(30):
        a = rng.choice(named)
        leads.add(
            "free_mail_name",
            leads.free_email(a.region),
            leads.written(a),
            leads.lead_country(a),
            a,
            "free mail with the company named",
        )
    for _ in range(25):
        code = rng.choice(list(REGIONS))
        company = rng.choice([None, "", *PLACEHOLDER_COMPANIES])
        leads.add("free_mail_no_company", leads.free_email(code), company, REGIONS[code].country if rng.random() < 0.5 else None, None,
                  "free mail and no company: nothing to match on")  # fmt: skip
    subs = leads.accounts("family_sub", "family_region")
    for _ in range(20):
        a = rng.choice(subs)
        leads.add("subsidiary_name", leads.free_email(a.region), leads.written(a, form_rate=0.7), leads.lead_country(a), a,
                  "free mail naming the subsidiary, not the group")  # fmt: skip

    # 4. look-alikes: in the CRM (the lead is at the look-alike) and outside it
    for _ in range(30):
        a = leads.pick("lookalike_trade", "lookalike_letter")
        if rng.random() < 0.5 and a.domain:
            email = leads.work_email(a.region, a.domain)
        else:
            email = leads.free_email(a.region)
        leads.add(
            "lookalike_in_crm",
            email,
            leads.written(a),
            leads.lead_country(a),
            a,
            "a company whose name resembles another account's",
        )
    for _ in range(50):
        base = rng.choice([a for a in named if len(a.core) >= 5])
        code = rng.choice([base.region, *REGIONS])
        how = rng.choices(["trade", "extra_word", "place", "letter"], weights=[3, 3, 2, 1])[0]
        words = base.core.split()
        if how == "trade":
            core = f"{words[0]} {rng.choice(TRADES_EN + list(REGIONS[code].trades))}"
        elif how == "extra_word":
            core = f"{base.core} {rng.choice(['Trading', 'Invest', 'Media', 'Fastigheter', 'Marine', 'Bygg', 'Holding', 'Service'])}"
        elif how == "place":
            core = (
                f"{rng.choice(REGIONS[code].places)} {words[-1]}"
                if len(words) > 1
                else f"{rng.choice(REGIONS[code].places)} {base.core}"
            )
        else:
            core = letter_swap(rng, base.core)
        name, domain = leads.outsider(code, core)
        if squash(name) != squash(core):
            continue  # the look-alike name was taken: skip rather than label a stranger
        email = leads.work_email(code, domain) if rng.random() < 0.8 else leads.free_email(code)
        form = rng.choice(REGIONS[code].forms)
        leads.add("lookalike_outside", email, with_form(name, form) if rng.random() < 0.5 else name, REGIONS[code].country if rng.random() < 0.7 else None,
                  None, f"an unrelated company named like {base.name!r} ({how})")  # fmt: skip
    for _ in range(30):
        code = rng.choice(list(REGIONS))
        name, domain = leads.outsider(code)
        email = leads.work_email(code, domain) if rng.random() < 0.75 else leads.free_email(code)
        leads.add(
            "unknown_company",
            email,
            with_form(name, rng.choice(REGIONS[code].forms)),
            REGIONS[code].country,
            None,
            "a company the CRM does not hold",
        )
    twins = leads.accounts("same_name")
    for _ in range(15):
        a = rng.choice(twins)
        r = rng.random()
        if r < 0.7:
            email, country, note = (
                leads.free_email(a.region),
                a.country,
                "the same name in two countries; the lead's country tells",
            )
        elif r < 0.85 and a.domain:
            email, country, note = (
                leads.work_email(a.region, a.domain),
                None,
                "the same name in two countries; the domain tells",
            )
        else:
            email, country, note = (
                leads.free_email(a.region),
                None,
                "the same name in two countries and no other clue",
            )
        leads.add("same_name_two_countries", email, leads.written(a), country, a, note)

    # 5. other scripts, hostile strings
    for _ in range(30):
        a = leads.pick("non_latin", where=lambda a: a.people_region is not None)
        spec = NON_LATIN[a.people_region]  # type: ignore[index]
        r = rng.random()
        if r < 0.35:
            form = rng.choice(spec["forms"])
            company, email, note = (
                form.format(a.core),
                leads.work_email(a.region, a.domain),
                "work email; the name in its own script",
            )  # type: ignore[arg-type]
        elif r < 0.8:
            form = rng.choice(spec["forms"])
            company = form.format(a.core)
            if rng.random() < 0.3:
                company = (
                    unicodedata.normalize("NFKD", company)
                    if a.region == "KR"
                    else company.replace("株式会社", "㈱")
                )
            email, note = (
                leads.free_email(a.region),
                "free mail; the name in its own script, legal form in another place or style",
            )
        else:
            company, email, note = (
                f"{a.romanized} {rng.choice(['Co., Ltd.', 'Ltd', ''])}".strip(),
                leads.free_email(a.region),
                "romanized name of an account kept in its own script",
            )
        leads.add("non_latin", email, company, leads.lead_country(a), a, note)
    hostile = leads.accounts("hostile")
    for _ in range(25):
        a = rng.choice(hostile)
        text = a.core
        how = rng.choice(["apostrophe", "and", "spacing", "accents", "quotes", "asis"])
        if how == "apostrophe":
            text = text.replace("'", rng.choice(["’", "", "`"]))
        elif how == "and":
            text = (
                text.replace("&", "and").replace("%", " %")
                if "&" in text or "%" in text
                else text.replace("_", " ")
            )
        elif how == "spacing":
            text = text.replace("_", " ").replace("\\", "").replace("%", " %").replace("-", " ")
        elif how == "accents":
            text = strip_accents(text)
        elif how == "quotes":
            text = text.replace('"', "")
        if rng.random() < 0.5:
            text = with_form(text, a.form)
        leads.add(
            "hostile_name",
            leads.free_email(a.region),
            text,
            leads.lead_country(a),
            a,
            f"a name with quotes, backslashes, % or _ ({how})",
        )
    decorated = [a for a in named if a.domain is None or rng.random() < 0.5]
    for _ in range(20):
        a = rng.choice(decorated)
        how = rng.choice(["emoji", "rtl", "zwsp", "quotes", "fullwidth", "spaces"])
        core = a.core
        text = {
            "emoji": f"{core} 🚀",
            "rtl": f"\u200f{core}\u200e",
            "zwsp": core[:3] + "\u200b" + core[3:],
            "quotes": f'"{core}"',
            "fullwidth": unicodedata.normalize("NFKC", core).translate(
                {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
            ),
            "spaces": f"  {core.replace(' ', '   ')}  ",
        }[how]
        leads.add(
            "decorated",
            leads.free_email(a.region),
            text,
            leads.lead_country(a),
            a,
            f"the company typed with {how}",
        )

    return leads.cases


# -- output ------------------------------------------------------------------------------------


def ultimate(world: World, account_id: str | None) -> Account | None:
    return _top(world, world.by_id[account_id]) if account_id else None


def render(world: World, cases: list[Case]) -> tuple[str, str]:
    accounts = [
        {
            "id": a.id, "name": a.name, "website": a.website, "domains": a.domains,
            "country": a.country, "parent_id": a.parent_id, "owner_id": a.owner_id,
            "global": a.global_flag, "type": a.type, "number_of_contacts": a.contacts,
            "open_opportunities": a.open_opportunities, "kind": a.kind,
        }
        for a in world.accounts
    ]  # fmt: skip
    universe = {"seed": SEED, "roles": world.roles, "users": world.users, "accounts": accounts}
    lines = [
        case_line(f"c{i:04d}", case, ultimate(world, case.expected))
        for i, case in enumerate(cases, 1)
    ]
    return files(universe, lines)


def main(argv: list[str] | None = None) -> None:
    def make() -> tuple[str, str, int, int]:
        world = build_world(random.Random(SEED))  # noqa: S311 (test data, not security)
        cases = generate_cases(world)
        return (*render(world, cases), len(world.accounts), len(cases))

    routing_case_files.main(__doc__, OUT, make, argv)


if __name__ == "__main__":
    main()
