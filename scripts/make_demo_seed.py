"""Generate the demo seed, `connector/sandbox/seeds/demo.json` (what `leadbridge demo` serves).

    python scripts/make_demo_seed.py [--out PATH]

Deterministic (`random.Random(2026)`): rerunning it rewrites the same bytes, and a test checks
that the committed seed is exactly what this script makes. The seed tells a story a first sync
can show: ~300 HubSpot contacts across the lifecycle stages, named in many languages; a Salesforce
org with a global account hierarchy, regional reps, a queue, contacts who are already customers
and leads that only need linking; and hostile values a connector must survive (quotes and SOQL
in company names, backslashes, LIKE wildcards, emoji, right-to-left and zero-width characters,
a company name longer than Salesforce allows, a contact without a last name, an email HubSpot
accepts and Salesforce refuses).
"""

# ruff: noqa: E501 (the data tables read best one record per line)

from __future__ import annotations

import argparse
import json
import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 2026
OUT = Path(__file__).resolve().parent.parent / "connector" / "sandbox" / "seeds" / "demo.json"

#: How many contacts each lifecycle stage gets (300 in all).
STAGE_COUNTS = {
    "subscriber": 60,
    "lead": 75,
    "marketingqualifiedlead": 105,
    "salesqualifiedlead": 30,
    "opportunity": 15,
    "customer": 15,
}
SCORES = {
    "subscriber": (0, 25),
    "lead": (10, 70),
    "marketingqualifiedlead": (50, 95),
    "salesqualifiedlead": (60, 100),
    "opportunity": (65, 100),
    "customer": (40, 100),
}
FIRST_CONTACT_ID = 1001
FIRST_COMPANY_ID = 5001
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
END = datetime(2026, 10, 30, 18, 0, tzinfo=UTC)
LAST_MODIFIED = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)

# -- Salesforce ------------------------------------------------------------------------------

SALES = "acme-sales.test"


def _user(ref: str, first: str, last: str, role: str, country: str, **extra: Any) -> dict:
    login = f"{first.lower()}.{_ascii(last).lower()}@{SALES}"
    alias = (first[0] + _ascii(last))[:8].lower()
    return {
        "Id": ref,
        "Username": login,
        "FirstName": first,
        "LastName": last,
        "Email": login,
        "Alias": alias,
        "UserRoleId": role,
        "Country": country,
        **extra,
    }


def salesforce() -> dict[str, Any]:
    """The org: roles, queues, users, a global hierarchy, customers and leads to link."""
    users = [
        _user("@gad", "Greta", "Lindqvist", "@role-global", "Sweden", Title="Global Account Director"),
        _user("@manager", "Marcus", "Webb", "@role-manager", "United Kingdom", Title="Head of Sales EMEA"),
        _user("@rep-nordics", "Nils", "Nordström", "@role-rep", "Sweden", Title="Account Executive Nordics"),
        _user("@rep-dach", "Dorothea", "Brandt", "@role-rep", "Germany", Title="Account Executive DACH"),
        _user("@rep-uk", "Oliver", "Hughes", "@role-rep", "United Kingdom", Title="Account Executive UK & Ireland"),
        _user("@rep-us-east", "Samantha", "Reyes", "@role-rep", "United States", Title="Account Executive US East"),
        _user("@rep-us-west", "Tyler", "Brooks", "@role-rep", "United States", Title="Account Executive US West"),
        _user("@former", "Fredrik", "Holm", "@role-rep", "Sweden", Title="Account Executive Nordics", IsActive=False),
    ]  # fmt: skip
    accounts = [
        # The global hierarchy: Globex Corporation → Globex EMEA GmbH → Globex Nordics AB / UK Ltd.
        {"Id": "@globex", "Name": "Globex Corporation", "Website": "https://www.globex.com",
         "Type": "Customer - Direct", "Industry": "Technology", "Global_Account__c": True,
         "OwnerId": "@gad", "BillingCity": "Cypress Creek", "BillingState": "OR",
         "BillingCountry": "United States", "NumberOfEmployees": 52000, "AnnualRevenue": 9400000000},
        {"Id": "@globex-emea", "Name": "Globex EMEA GmbH", "ParentId": "@globex",
         "Website": "globex.de", "Type": "Customer - Direct", "Industry": "Technology",
         "OwnerId": "@rep-dach", "BillingCity": "Frankfurt am Main", "BillingCountry": "Germany",
         "NumberOfEmployees": 8700},
        {"Id": "@globex-nordics", "Name": "Globex Nordics AB", "ParentId": "@globex-emea",
         "Website": "https://globex.se", "Type": "Customer - Direct", "Industry": "Technology",
         "OwnerId": "@rep-nordics", "BillingCity": "Stockholm", "BillingCountry": "Sweden",
         "NumberOfEmployees": 640},
        {"Id": "@globex-uk", "Name": "Globex UK Ltd", "ParentId": "@globex-emea",
         "Website": "www.globex.co.uk", "Type": "Customer - Direct", "Industry": "Technology",
         "OwnerId": "@rep-uk", "BillingCity": "London", "BillingCountry": "United Kingdom",
         "NumberOfEmployees": 1200},
        # A regional (not global) hierarchy.
        {"Id": "@stark", "Name": "Stark Maschinenbau AG", "Website": "https://www.stark-maschinenbau.de",
         "Type": "Prospect", "Industry": "Machinery", "OwnerId": "@rep-dach",
         "BillingCity": "Stuttgart", "BillingCountry": "Germany", "NumberOfEmployees": 3100},
        {"Id": "@stark-nordic", "Name": "Stark Maschinenbau Nordic AB", "ParentId": "@stark",
         "Website": "stark-maschinenbau.se", "Type": "Prospect", "Industry": "Machinery",
         "OwnerId": "@rep-nordics", "BillingCity": "Göteborg", "BillingCountry": "Sweden",
         "NumberOfEmployees": 210},
        # Standalone accounts; their websites match contacts' email domains.
        {"Id": "@initech", "Name": "Initech Ltd", "Website": "initech.co.uk",
         "Type": "Customer - Direct", "Industry": "Technology", "OwnerId": "@rep-uk",
         "BillingCity": "Manchester", "BillingCountry": "United Kingdom", "NumberOfEmployees": 450},
        {"Id": "@nordvik", "Name": "Nordvik Data AS", "Website": "https://nordvik.no",
         "Type": "Customer - Channel", "Industry": "Technology", "OwnerId": "@rep-nordics",
         "BillingCity": "Oslo", "BillingCountry": "Norway", "NumberOfEmployees": 85},
        {"Id": "@kalevala", "Name": "Kalevala Cloud Oy", "Website": "kalevala.fi",
         "Type": "Prospect", "Industry": "Technology", "OwnerId": "@rep-nordics",
         "BillingCity": "Helsinki", "BillingCountry": "Finland", "NumberOfEmployees": 140},
        {"Id": "@umbrella", "Name": "Umbrella Logistik GmbH", "Website": "www.umbrella-logistik.de",
         "Type": "Prospect", "Industry": "Transportation", "OwnerId": "@rep-dach",
         "BillingCity": "Hamburg", "BillingCountry": "Germany", "NumberOfEmployees": 2300},
        {"Id": "@soylent", "Name": "Soylent Foods Inc.", "Website": "https://soylentfoods.com",
         "Type": "Customer - Direct", "Industry": "Food & Beverage", "OwnerId": "@rep-us-east",
         "BillingCity": "New York", "BillingState": "NY", "BillingCountry": "United States",
         "NumberOfEmployees": 12000},
        {"Id": "@brioche", "Name": "Boulangerie Brioche SA", "Website": "brioche.fr",
         "Type": "Prospect", "Industry": "Food & Beverage", "OwnerId": "@rep-uk",
         "BillingCity": "Lyon", "BillingCountry": "France", "NumberOfEmployees": 380},
        {"Id": "@oreilly", "Name": "O'Reilly & Sons Ltd", "Website": "oreilly-sons.ie",
         "Type": "Prospect", "Industry": "Retail", "OwnerId": "@rep-uk",
         "BillingCity": "Cork", "BillingCountry": "Ireland", "NumberOfEmployees": 60},
    ]  # fmt: skip
    contacts = [
        {"Id": "@c-hank", "AccountId": "@globex", "FirstName": "Hank", "LastName": "Scorpio",
         "Email": "hank.scorpio@globex.com", "Title": "CEO", "OwnerId": "@gad"},
        # Already customers: the same people as MQL contacts in HubSpot, email case differing.
        {"Id": "@c-karin", "AccountId": "@globex-nordics", "FirstName": "Karin", "LastName": "Lund",
         "Email": "Karin.Lund@GLOBEX.se", "Title": "IT-chef", "MailingCountry": "Sweden",
         "OwnerId": "@rep-nordics"},
        {"Id": "@c-peter", "AccountId": "@initech", "FirstName": "Peter", "LastName": "Gibbons",
         "Email": "Peter.Gibbons@Initech.co.uk", "Title": "Software Engineer",
         "MailingCountry": "United Kingdom", "OwnerId": "@rep-uk"},
        {"Id": "@c-ola", "AccountId": "@nordvik", "FirstName": "Ola", "LastName": "Nordmann",
         "Email": "OLA.NORDMANN@nordvik.no", "Title": "Daglig leder", "MailingCountry": "Norway",
         "OwnerId": "@rep-nordics"},
        {"Id": "@c-ruth", "AccountId": "@soylent", "FirstName": "Ruth", "LastName": "Abernathy",
         "Email": "ruth.abernathy@soylentfoods.com", "Title": "VP Procurement",
         "MailingCountry": "United States", "OwnerId": "@rep-us-east"},
    ]  # fmt: skip
    leads = [
        # Existing leads with the email of an MQL contact and no HubSpot id: link, never duplicate.
        {"FirstName": "Mia", "LastName": "Schulz", "Company": "Umbrella Logistik GmbH",
         "Email": "Mia.Schulz@umbrella-logistik.de", "Status": "Open - Not Contacted",
         "LeadSource": "Purchased List", "Country": "Germany", "OwnerId": "@queue-inbound"},
        {"FirstName": "Lucas", "LastName": "Martin", "Company": "Boulangerie Brioche",
         "Email": "lucas.martin@brioche.fr", "Status": "Working - Contacted",
         "LeadSource": "Partner Referral", "Country": "France", "OwnerId": "@rep-uk"},
        {"FirstName": "Haruto", "LastName": "Sato", "Company": "Sato Trading",
         "Email": "Haruto.Sato@gmail.com", "Status": "Open - Not Contacted", "LeadSource": "Web",
         "Country": "Japan", "OwnerId": "@queue-inbound"},
        {"FirstName": "Emma", "LastName": "Johnson", "Company": "Soylent Foods",
         "Email": "emma.johnson@soylentfoods.com", "Status": "Working - Contacted",
         "LeadSource": "Other", "Country": "United States", "OwnerId": "@rep-us-east"},
        # A lead from a trade-show list that HubSpot never saw.
        {"FirstName": "Jan", "LastName": "Kowalski", "Company": "Wisła Automatyka Sp. z o.o.",
         "Email": "jan.kowalski@wisla-automatyka.pl", "Status": "Open - Not Contacted",
         "LeadSource": "Purchased List", "Country": "Poland", "OwnerId": "@queue-inbound"},
    ]  # fmt: skip
    opportunities = [
        {"Id": "@o-globex", "Name": "Globex - Global Framework 2027", "AccountId": "@globex",
         "StageName": "Negotiation/Review", "CloseDate": "2026-12-31", "Amount": 1200000,
         "Type": "Existing Customer - Upgrade", "OwnerId": "@gad"},
        {"Id": "@o-initech", "Name": "Initech - Renewal 2026", "AccountId": "@initech",
         "StageName": "Closed Won", "CloseDate": "2026-03-31", "Amount": 85000,
         "Type": "Existing Customer - Replacement", "OwnerId": "@rep-uk"},
        {"Id": "@o-stark", "Name": "Stark Maschinenbau - Pilot", "AccountId": "@stark",
         "StageName": "Proposal/Price Quote", "CloseDate": "2027-01-29", "Amount": 64000,
         "Type": "New Customer", "OwnerId": "@rep-dach"},
    ]  # fmt: skip
    roles = [
        {"Id": "@role-global", "Name": "Global Account Director", "DeveloperName": "Global_Account_Director"},
        {"Id": "@role-manager", "Name": "Regional Sales Manager", "DeveloperName": "Regional_Sales_Manager"},
        {"Id": "@role-rep", "Name": "Regional Sales Rep", "DeveloperName": "Regional_Sales_Rep",
         "ParentRoleId": "@role-manager"},
    ]  # fmt: skip
    queues = [
        {"Id": "@queue-inbound", "Name": "Inbound Leads", "DeveloperName": "Inbound_Leads", "Type": "Queue"},
        {"Id": "@queue-nordics", "Name": "Nordics Inbound", "DeveloperName": "Nordics_Inbound", "Type": "Queue"},
    ]  # fmt: skip
    return {
        "settings": {"leadAssignmentOwner": "@queue-inbound"},
        "UserRole": roles,
        "Group": queues,
        "User": users,
        "Account": accounts,
        "Contact": contacts,
        "Opportunity": opportunities,
        "Lead": leads,
    }


# -- HubSpot ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str  # the contact `industry` text; companies use HubSpot's option values


@dataclass(frozen=True)
class Locale:
    country: str
    cities: tuple[str, ...]
    first: tuple[str, ...]  # "Åsa" or "伟|wei" (display|romanized, for emails)
    last: tuple[str, ...]
    phones: tuple[str, ...]  # formats: each `#` is a random digit
    companies: tuple[Company, ...]
    free_mail: tuple[str, ...]
    titles: tuple[str, ...] = ()
    weight: int = 1


C = Company
GLOBAL_TITLES = (
    "Head of Marketing", "Chief Technology Officer", "IT Manager", "Procurement Lead",
    "Data Engineer", "VP Sales", "Operations Director", "Marketing Automation Specialist",
    "CFO", "Product Manager", "Solutions Architect", "Office Manager", "CEO",
)  # fmt: skip
LOCALES = (
    Locale("Sweden", ("Stockholm", "Göteborg", "Malmö", "Uppsala", "Linköping"),
           ("Åsa", "Björn", "Karin", "Lars", "Ingrid", "Oskar", "Sofia", "Erik", "Linnéa", "Måns", "Elsa", "Gustav"),
           ("Öberg", "Lindqvist", "Svensson", "Ek", "Håkansson", "Sjöberg", "Nyström", "Bergström", "Åberg"),
           ("+46 70 ### ## ##", "+46 8 ### ### ##", "070-### ## ##"),
           (C("Globex Nordics AB", "globex.se", "Software"), C("Fjällbacka Fintech AB", "fjallbacka-fintech.se", "Financial Services"),
            C("Norrsken Analys AB", "norrskenanalys.se", "Analytics"), C("Stark Maschinenbau Nordic AB", "stark-maschinenbau.se", "Machinery")),
           ("gmail.com", "outlook.com", "telia.com"), ("IT-chef", "Inköpschef", "Marknadschef"), 3),
    Locale("Norway", ("Oslo", "Bergen", "Trondheim", "Stavanger"),
           ("Ola", "Kari", "Sindre", "Ingvild", "Ørjan", "Solveig", "Eirik", "Tuva"),
           ("Nordmann", "Hansen", "Bjørnstad", "Løvås", "Aasen", "Haugen", "Dahl"),
           ("+47 ### ## ###", "+47 9## ## ###"),
           (C("Nordvik Data AS", "nordvik.no", "Software"), C("Fjordkraft Analyse AS", "fjordanalyse.no", "Energy")),
           ("gmail.com", "online.no"), ("Daglig leder", "Innkjøpssjef"), 2),
    Locale("Denmark", ("København", "Aarhus", "Odense"),
           ("Mette", "Søren", "Freja", "Rasmus", "Ida", "Mads"),
           ("Jørgensen", "Nielsen", "Sørensen", "Kjær", "Thygesen"),
           ("+45 ## ## ## ##",),
           (C("Øresund Robotics ApS", "oresund-robotics.dk", "Industrial Automation"),),
           ("gmail.com", "hotmail.dk")),
    Locale("Finland", ("Helsinki", "Espoo", "Tampere", "Oulu"),
           ("Aino", "Juha", "Päivi", "Mikko", "Eetu", "Kaisa"),
           ("Virtanen", "Mäkinen", "Korhonen", "Heikkilä", "Nieminen"),
           ("+358 40 ### ####", "+358 9 ### ####"),
           (C("Kalevala Cloud Oy", "kalevala.fi", "Cloud Services"),),
           ("gmail.com", "luukku.com")),
    Locale("Iceland", ("Reykjavík", "Akureyri"),
           ("Guðrún", "Sigurður", "Þóra", "Ragnar"),
           ("Jónsdóttir", "Sigurðsson", "Þórsson", "Ólafsdóttir"),
           ("+354 ### ####",),
           (C("Geysir Orka ehf.", "geysirorka.is", "Energy"),),
           ("gmail.com", "simnet.is")),
    Locale("Germany", ("Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Stuttgart"),
           ("Jürgen", "Anja", "Lukas", "Mia", "Günther", "Sabine", "Felix", "Hanna", "Lena", "Maximilian"),
           ("Müller", "Schmidt", "Weiß", "Schäfer", "Groß", "Köhler", "Brandt", "Schulz", "Hoffmann", "Krüger"),
           ("+49 30 ########", "+49 89 #### ####", "030 ########", "+49 151 ### #####"),
           (C("Globex EMEA GmbH", "globex.de", "Software"), C("Umbrella Logistik GmbH", "umbrella-logistik.de", "Logistics"),
            C("Stark Maschinenbau AG", "stark-maschinenbau.de", "Machinery"), C("Donauwelle Systeme GmbH", "donauwelle-systeme.de", "IT Services"),
            C("Bergmann & Söhne KG", "bergmann-soehne.de", "Manufacturing")),
           ("gmx.de", "web.de", "t-online.de", "gmail.com"), ("Geschäftsführer", "Leiterin Einkauf", "IT-Leiter"), 4),
    Locale("Austria", ("Wien", "Graz", "Linz"),
           ("Florian", "Katharina", "Lukas", "Theresa"),
           ("Huber", "Gruber", "Pichler", "Wimmer"),
           ("+43 1 ### ####", "+43 664 ### ####"),
           (C("Alpenblick Software GmbH", "alpenblick-software.at", "Software"),),
           ("gmx.at", "gmail.com")),
    Locale("Switzerland", ("Zürich", "Genève", "Basel", "Bern"),
           ("Reto", "Nicole", "Beat", "Céline"),
           ("Meier", "Frei", "Keller", "Favre"),
           ("+41 44 ### ## ##", "+41 79 ### ## ##"),
           (C("Matterhorn Präzision AG", "matterhorn-praezision.ch", "Medical Devices"),),
           ("bluewin.ch", "gmail.com")),
    Locale("France", ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes"),
           ("Élodie", "François", "Chloé", "Théo", "Amélie", "Loïc", "Lucas", "Inès"),
           ("Lefèvre", "Dubois", "Moreau", "Girard", "Laurent", "Fournier", "Martin", "Bézier"),
           ("+33 6 ## ## ## ##", "06 ## ## ## ##", "+33 1 ## ## ## ##"),
           (C("Boulangerie Brioche SA", "brioche.fr", "Food & Beverage"), C("Éclat Énergie SAS", "eclat-energie.fr", "Energy")),
           ("orange.fr", "free.fr", "gmail.com"), ("Directrice marketing", "Responsable des achats", "DSI"), 3),
    Locale("Spain", ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"),
           ("José", "María", "Lucía", "Álvaro", "Íñigo", "Begoña", "Sergio", "Nuria"),
           ("García", "Fernández", "Núñez", "Muñoz", "Ibáñez", "Peña", "Ortega"),
           ("+34 6## ### ###", "+34 91 ### ## ##"),
           (C("Sol y Sombra Tecnología SL", "solysombra.es", "Software"),),
           ("gmail.com", "hotmail.es", "telefonica.net"), ("Jefe de Compras", "Directora de TI"), 2),
    Locale("Mexico", ("Ciudad de México", "Guadalajara", "Monterrey"),
           ("Alejandro", "Guadalupe", "Xóchitl", "Mateo"),
           ("Hernández", "López", "Ramírez", "Cuauhtémoc"),
           ("+52 55 #### ####", "+52 33 #### ####"),
           (C("Maya Datos SA de CV", "mayadatos.mx", "Analytics"),),
           ("gmail.com", "yahoo.com.mx")),
    Locale("China", ("Beijing", "上海", "Shenzhen", "杭州"),
           ("伟|wei", "芳|fang", "娜|na", "强|qiang", "静|jing", "磊|lei", "敏|min"),
           ("王|wang", "李|li", "张|zhang", "刘|liu", "陈|chen", "杨|yang"),
           ("+86 138 #### ####", "+86 10 #### ####"),
           (C("龙腾科技有限公司", "longteng-tech.cn", "Electronics"), C("Pearl River Components Ltd", "pearlriver-components.cn", "Electronics")),
           ("qq.com", "163.com"), ("采购经理", "技术总监"), 2),
    Locale("Japan", ("東京", "Osaka", "Yokohama", "京都"),
           ("陽翔|haruto", "結衣|yui", "蓮|ren", "さくら|sakura", "大輔|daisuke", "美咲|misaki"),
           ("佐藤|sato", "鈴木|suzuki", "高橋|takahashi", "田中|tanaka", "伊藤|ito", "渡辺|watanabe"),
           ("+81 90 #### ####", "+81 3 #### ####"),
           (C("桜精密工業株式会社", "sakura-seimitsu.jp", "Manufacturing"), C("Fuji Cloud KK", "fujicloud.jp", "Cloud Services")),
           ("yahoo.co.jp", "gmail.com"), ("マーケティング部長", "情報システム部 課長"), 2),
    Locale("United Arab Emirates", ("دبي", "Dubai", "Abu Dhabi"),
           ("محمد|mohammed", "فاطمة|fatima", "أحمد|ahmed", "ليلى|layla", "يوسف|youssef", "نور|nour"),
           ("العلي|alali", "حداد|haddad", "منصور|mansour", "الشامي|alshami", "الكعبي|alkaabi"),
           ("+971 50 ### ####", "+971 4 ### ####"),
           (C("شركة الأفق للتقنية", "alofuq-tech.ae", "IT Services"), C("Gulf Horizon Trading LLC", "gulfhorizon.ae", "Wholesale")),
           ("gmail.com", "outlook.com"), ("مدير تقنية المعلومات", "مديرة المشتريات"), 2),
    Locale("Saudi Arabia", ("الرياض", "Jeddah"),
           ("عبدالله|abdullah", "سارة|sara", "خالد|khalid"),
           ("القحطاني|alqahtani", "الغامدي|alghamdi"),
           ("+966 5# ### ####",),
           (C("Najd Industrial Co.", "najd-industrial.sa", "Manufacturing"),),
           ("gmail.com",)),
    Locale("Egypt", ("القاهرة", "Alexandria"),
           ("عمر|omar", "منى|mona", "كريم|karim"),
           ("عبد الرحمن|abdelrahman", "مصطفى|mostafa"),
           ("+20 10 #### ####",),
           (C("Nile Bridge Software", "nilebridge.eg", "Software"),),
           ("gmail.com", "yahoo.com")),
    Locale("United Kingdom", ("London", "Manchester", "Edinburgh", "Bristol", "Leeds"),
           ("Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Arthur", "Freya"),
           ("Smith", "Jones", "Taylor", "Brown", "Davies", "Evans", "Wright", "Patel"),
           ("+44 20 7946 0###", "020 7946 0###", "+44 7700 900###"),
           (C("Initech Ltd", "initech.co.uk", "Software"), C("Globex UK Ltd", "globex.co.uk", "Software"),
            C("Thameside Insurance plc", "thameside-insurance.co.uk", "Insurance")),
           ("gmail.com", "btinternet.com", "outlook.com"), (), 4),
    Locale("Ireland", ("Dublin", "Cork", "Galway"),
           ("Siobhán", "Niamh", "Ciarán", "Seán", "Aoife"),
           ("O'Brien", "Murphy", "Ní Bhriain", "O'Sullivan", "Kennedy"),
           ("+353 1 ### ####", "+353 87 ### ####"),
           (C("O'Reilly & Sons Ltd", "oreilly-sons.ie", "Retail"), C("Liffey Analytics DAC", "liffeyanalytics.ie", "Analytics")),
           ("gmail.com", "eircom.net")),
    Locale("United States", ("New York", "San Francisco", "Austin", "Chicago", "Boston", "Seattle"),
           ("Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "DeShawn", "Maria"),
           ("Johnson", "Williams", "Miller", "Garcia", "Davis", "Rodriguez", "Martinez", "Nguyen", "Kim"),
           ("+1 (415) 555-01##", "(212) 555-01##", "+1 512-555-01##", "+141555501##"),
           (C("Soylent Foods Inc.", "soylentfoods.com", "Food & Beverage"), C("Globex Corporation", "globex.com", "Software"),
            C("Northwind Traders", "northwindtraders.com", "Wholesale"), C("Vandelay Industries", "vandelay.com", "Import/Export"),
            C("Hooli Inc.", "hooli.com", "Internet")),
           ("gmail.com", "yahoo.com", "icloud.com", "proton.me"), ("Director of Demand Generation", "Senior Buyer"), 5),
    Locale("Italy", ("Milano", "Roma", "Torino"),
           ("Giulia", "Matteo", "Chiara", "Lorenzo"),
           ("Rossi", "Bianchi", "Esposito", "D'Angelo"),
           ("+39 02 #### ####", "+39 347 ### ####"),
           (C("Dolomiti Dati Srl", "dolomitidati.it", "Analytics"),),
           ("libero.it", "gmail.com")),
    Locale("Netherlands", ("Amsterdam", "Rotterdam", "Utrecht"),
           ("Sanne", "Daan", "Femke", "Joris"),
           ("de Vries", "van den Berg", "Jansen", "Bakker"),
           ("+31 20 ### ####", "+31 6 #### ####"),
           (C("Polder Logistics BV", "polderlogistics.nl", "Logistics"),),
           ("gmail.com", "ziggo.nl")),
    Locale("Poland", ("Warszawa", "Kraków", "Gdańsk"),
           ("Zofia", "Jakub", "Małgorzata", "Łukasz"),
           ("Kowalski", "Wiśniewska", "Wójcik", "Zając"),
           ("+48 ### ### ###",),
           (C("Wisła Automatyka Sp. z o.o.", "wisla-automatyka.pl", "Industrial Automation"),),
           ("wp.pl", "gmail.com")),
    Locale("India", ("Bengaluru", "Mumbai", "Pune"),
           ("Priya", "Arjun", "Ananya", "Vikram"),
           ("Sharma", "Iyer", "Reddy", "Banerjee"),
           ("+91 98### #####", "+91 80 #### ####"),
           (C("Lotus Infotech Pvt Ltd", "lotusinfotech.in", "IT Services"),),
           ("gmail.com", "rediffmail.com"), (), 2),
)  # fmt: skip

#: HubSpot `industry` option values for the companies' contact industries.
COMPANY_INDUSTRY = {
    "Software": "COMPUTER_SOFTWARE",
    "Logistics": "LOGISTICS_AND_SUPPLY_CHAIN",
    "Machinery": "MACHINERY",
    "Food & Beverage": "FOOD_BEVERAGES",
    "Cloud Services": "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "Retail": "RETAIL",
    "Wholesale": "WHOLESALE",
}
#: The HubSpot companies: (name, domain, country, city, employees, revenue).
HUBSPOT_COMPANIES = (
    ("Globex Corporation", "globex.com", "United States", "Cypress Creek", 52000, 9400000000),
    ("Globex EMEA GmbH", "globex.de", "Germany", "Frankfurt am Main", 8700, 1900000000),
    ("Globex Nordics AB", "globex.se", "Sweden", "Stockholm", 640, 210000000),
    ("Initech Ltd", "initech.co.uk", "United Kingdom", "Manchester", 450, 62000000),
    ("Nordvik Data AS", "nordvik.no", "Norway", "Oslo", 85, 11000000),
    ("Kalevala Cloud Oy", "kalevala.fi", "Finland", "Helsinki", 140, 18000000),
    ("Umbrella Logistik GmbH", "umbrella-logistik.de", "Germany", "Hamburg", 2300, 480000000),
    ("Stark Maschinenbau AG", "stark-maschinenbau.de", "Germany", "Stuttgart", 3100, 720000000),
    ("Soylent Foods Inc.", "soylentfoods.com", "United States", "New York", 12000, 3100000000),
    ("Boulangerie Brioche SA", "brioche.fr", "France", "Lyon", 380, 41000000),
    ("Northwind Traders", "northwindtraders.com", "United States", "Seattle", 260, 35000000),
)
OWNERS = (
    ("50000001", "marketing.ops@acme.test", "Mona", "Ops"),
    ("50000002", f"greta.lindqvist@{SALES}", "Greta", "Lindqvist"),
    ("50000003", f"nils.nordstrom@{SALES}", "Nils", "Nordström"),
    ("50000004", f"dorothea.brandt@{SALES}", "Dorothea", "Brandt"),
    ("50000005", f"oliver.hughes@{SALES}", "Oliver", "Hughes"),
    ("50000006", f"samantha.reyes@{SALES}", "Samantha", "Reyes"),
)
ANALYTICS_SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA",
                     "REFERRALS", "DIRECT_TRAFFIC", "OFFLINE", "PAID_SOCIAL")  # fmt: skip
EMPLOYEE_RANGES = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
STUDENT_TITLES = ("Student", "Consultant", "Freelancer", "")

#: A company name of exactly 300 characters: Salesforce's Lead.Company holds 255.
LONG_COMPANY = (
    "Vereinigte Gesellschaft für angewandte Datenverarbeitung, Logistikoptimierung, "
    "nachhaltige Industrieautomation und grenzüberschreitende Beratungsdienstleistungen in "
    "Mittel-, Ost- und Nordeuropa sowie im gesamten deutschsprachigen Wirtschaftsraum "
    "mbH & Co. KG – Niederlassung Frankfurt am Main, Hessen"
)


def _special_contacts() -> list[dict[str, Any]]:
    """Hand-written contacts that tell the demo's story; each has its stage and properties."""
    mql = "marketingqualifiedlead"
    return [
        # The global hierarchy: whoever the region, these go to the global account director.
        _c(mql, "Sven", "Svensson", "sven.svensson@globex.se", "Globex Nordics AB", "Sweden", "Stockholm", "IT-chef", 82),
        _c(mql, "Lena", "Hoffmann", "lena.hoffmann@globex.de", "Globex EMEA GmbH", "Germany", "Frankfurt am Main", "Leiterin Einkauf", 77),
        _c(mql, "Amelia", "Wright", "amelia.wright@globex.co.uk", "Globex UK", "United Kingdom", "London", "Head of Marketing", 71),
        _c("salesqualifiedlead", "James", "Carter", "james.carter@globex.com", "Globex Corporation", "United States", "Cypress Creek", "VP Operations", 93),
        # Already customers: Salesforce has them as Contacts, with the email in another case.
        _c(mql, "Karin", "Lund", "karin.lund@globex.se", "Globex Nordics", "Sweden", "Stockholm", "IT-chef", 68),
        _c(mql, "Peter", "Gibbons", "peter.gibbons@initech.co.uk", "Initech", "United Kingdom", "Manchester", "Software Engineer", 64),
        _c(mql, "Ola", "Nordmann", "ola.nordmann@nordvik.no", "Nordvik Data AS", "Norway", "Oslo", "Daglig leder", 73),
        # Salesforce already has them as Leads without a HubSpot id: to be linked, not duplicated.
        _c(mql, "Mia", "Schulz", "mia.schulz@umbrella-logistik.de", "Umbrella Logistik GmbH", "Germany", "Hamburg", "Teamleiterin Disposition", 66),
        _c(mql, "Lucas", "Martin", "lucas.martin@brioche.fr", "Boulangerie Brioche SA", "France", "Lyon", "Responsable des achats", 59),
        _c(mql, "陽翔", "佐藤", "haruto.sato@gmail.com", "佐藤商事", "Japan", "東京", "代表取締役", 80),
        _c(mql, "Emma", "Johnson", "emma.johnson@soylentfoods.com", "Soylent Foods Inc.", "United States", "New York", "Senior Buyer", 62),
        # Qualified by score alone (the mapping's min_score), not by stage.
        _c("lead", "Kaisa", "Nieminen", "kaisa.nieminen@kalevala.fi", "Kalevala Cloud Oy", "Finland", "Helsinki", "CTO", 94),
        # Hostile values.
        _c(mql, "Siobhán", "O'Reilly", "siobhan.o'reilly@oreilly-sons.ie", "O'Reilly & Sons", "Ireland", "Cork", "Managing Director", 70),
        _c(mql, "Robert", "Tables", "bobby@tables.dev", "Bobby'); DELETE FROM Lead;--", "United States", "Austin", "Security Researcher", 58),
        _c(mql, "Seán", "Ó Briain", "sean.obriain@example.ie", 'Brien & Sons "Ltd"', "Ireland", "Dublin", "Owner", 55),
        _c(mql, "Dana", "Slash", "dana@slashdot-systems.com", "Slash\\Dot Systems\\", "United States", "Boston", "C:\\Users\\dana", 61),
        _c(mql, "Percy", "Under_score", "percy@organicfoods.example", "100%_Organic Foods", "United Kingdom", "Bristol", "50% Owner_Founder", 57),
        _c(mql, "Zoë 🚀", "Starling", "zoe@rocketlabs.io", "Rocket 🚀 Labs", "United States", "Seattle", "Chief 🍕 Officer", 75),
        _c(mql, "ليلى", "حداد", "layla.haddad@alofuq-tech.ae", "شركة الأفق للتقنية", "United Arab Emirates", "دبي", "\u202eرئيسة قسم التسويق", 69),
        _c(mql, "Eetu", "Korhonen", "eetu.korhonen@gmail.com", "Kalevala\u200b Cloud Oy", "Finland", "Espoo", "Data\u200dEngineer", 63),
        _c(mql, "Anke", "Vogel", "anke.vogel@verbund-daten.de", LONG_COMPANY, "Germany", "Frankfurt am Main", "Einkäuferin", 60),
        _c(mql, "Teodor", None, "teodor@fjallbacka-fintech.se", "Fjällbacka Fintech AB", "Sweden", "Göteborg", "Founder", 72),
        _c(mql, "Jürgen", "Groß", "jürgen.groß@donauwelle-systeme.de", "Donauwelle Systeme GmbH", "Germany", "München", "IT-Leiter", 67),
        _c(mql, " Ingrid ", "Nyström ", "ingrid.nystrom@norrskenanalys.se", "  Norrsken Analys AB ", "Sweden", "Uppsala", "Head of\nAnalytics", 65),
        _c(mql, "Unknown", "Walk-in", None, "Trade Show Visitor", "Germany", "Köln", None, 52),
    ]  # fmt: skip


def _c(
    stage: str,
    first: str,
    last: str | None,
    email: str | None,
    company: str,
    country: str,
    city: str,
    title: str | None,
    score: int,
) -> dict[str, Any]:
    props = {
        "email": email,
        "firstname": first,
        "lastname": last,
        "company": company,
        "jobtitle": title,
        "country": country,
        "city": city,
        "lifecyclestage": stage,
        "hubspotscore": str(score),
    }
    return {k: v for k, v in props.items() if v is not None}


class Generator:
    """Everything random in the seed, drawn from one `random.Random(SEED)` in a fixed order."""

    def __init__(self, reserved: set[str]) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 (demo data, not security)
        #: Emails taken (lower case): random contacts never collide with the story's people.
        self.emails = set(reserved)

    def contacts(self) -> list[dict[str, Any]]:
        special = _special_contacts()
        for props in special:
            if props.get("email"):
                self.emails.add(props["email"].lower())
        remaining = dict(STAGE_COUNTS)
        for props in special:
            remaining[props["lifecyclestage"]] -= 1
        stages = [stage for stage, count in remaining.items() for _ in range(count)]
        self.rng.shuffle(stages)
        rows = [self._extend(props) for props in special]
        rows += [self._random_contact(stage) for stage in stages]
        return [
            {"id": str(FIRST_CONTACT_ID + index), "properties": props}
            for index, props in enumerate(rows)
        ]

    def _extend(self, props: dict[str, Any]) -> dict[str, Any]:
        """A hand-written contact with the dates, source and phone a real one would have."""
        locale = next((x for x in LOCALES if x.country == props["country"]), LOCALES[0])
        extra = self._common(props["lifecyclestage"], locale)
        return {**props, **{k: v for k, v in extra.items() if k not in props}}

    def _random_contact(self, stage: str) -> dict[str, Any]:
        rng = self.rng
        locale = rng.choices(LOCALES, weights=[x.weight for x in LOCALES])[0]
        first, first_latin = _name(rng.choice(locale.first))
        last, last_latin = _name(rng.choice(locale.last))
        company = rng.choice(locale.companies)
        business = rng.random() < 0.65
        domain = company.domain if business else rng.choice(locale.free_mail)
        props: dict[str, Any] = {
            "email": self._email(first_latin, last_latin, domain),
            "firstname": first,
            "lastname": last,
        }
        if stage != "subscriber" or rng.random() < 0.4:
            props["company"] = company.name
            props["industry"] = company.industry
            if rng.random() < 0.6:
                props["website"] = f"https://www.{company.domain}"
        titles = STUDENT_TITLES if stage == "subscriber" else GLOBAL_TITLES + locale.titles * 2
        title = rng.choice(titles)
        if title:
            props["jobtitle"] = title
        props["country"] = locale.country
        props["city"] = rng.choice(locale.cities)
        props["lifecyclestage"] = stage
        low, high = SCORES[stage]
        props["hubspotscore"] = str(rng.randint(low, high))
        return {**props, **self._common(stage, locale)}

    def _common(self, stage: str, locale: Locale) -> dict[str, Any]:
        rng = self.rng
        extra: dict[str, Any] = {}
        if stage != "subscriber" and rng.random() < 0.75:
            extra["phone"] = _digits(rng, rng.choice(locale.phones))
        if stage != "subscriber" and rng.random() < 0.5:
            extra["numemployees"] = rng.choice(EMPLOYEE_RANGES)
        if stage in ("salesqualifiedlead", "opportunity"):
            extra["hs_lead_status"] = rng.choice(("OPEN", "IN_PROGRESS", "CONNECTED"))
        elif stage == "marketingqualifiedlead" and rng.random() < 0.5:
            extra["hs_lead_status"] = "NEW"
        extra["hs_analytics_source"] = rng.choice(ANALYTICS_SOURCES)
        created = START + timedelta(seconds=rng.randint(0, int((END - START).total_seconds())))
        modified = min(
            created + timedelta(days=rng.randint(0, 40), minutes=rng.randint(1, 600)), LAST_MODIFIED
        )
        extra["createdate"] = _stamp(created)
        extra["lastmodifieddate"] = _stamp(modified)
        return extra

    def _email(self, first: str, last: str, domain: str) -> str:
        rng = self.rng
        pattern = rng.choice(("{f}.{l}", "{f}.{l}", "{i}.{l}", "{f}{l}", "{f}_{l}", "{f}"))
        local = pattern.format(f=first, l=last, i=first[:1])
        email = f"{local}@{domain}"
        number = 2
        while email.lower() in self.emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(email.lower())
        return email


def hubspot(gen: Generator) -> dict[str, Any]:
    """Owners, companies, and contacts associated with the company of their email domain."""
    industries = {c.domain: c.industry for locale in LOCALES for c in locale.companies}
    companies = []
    by_domain: dict[str, str] = {}
    for index, (name, domain, country, city, employees, revenue) in enumerate(HUBSPOT_COMPANIES):
        company_id = str(FIRST_COMPANY_ID + index)
        by_domain[domain] = company_id
        props = {
            "name": name,
            "domain": domain,
            "website": f"https://www.{domain}",
            "industry": COMPANY_INDUSTRY.get(industries.get(domain, ""), "COMPUTER_SOFTWARE"),
            "country": country,
            "city": city,
            "numberofemployees": str(employees),
            "annualrevenue": str(revenue),
        }
        companies.append({"id": company_id, "properties": props})
    contacts = gen.contacts()
    for contact in contacts:
        domain = (contact["properties"].get("email") or "@").rpartition("@")[2].lower()
        if domain in by_domain:
            contact["associations"] = {"companies": [by_domain[domain]]}
    owners = [
        {"id": owner_id, "email": email, "firstName": first, "lastName": last,
         "userId": 9000001 + index}
        for index, (owner_id, email, first, last) in enumerate(OWNERS)
    ]  # fmt: skip
    return {"owners": owners, "companies": companies, "contacts": contacts}


def build_seed() -> dict[str, Any]:
    """The whole demo seed, the same on every call."""
    org = salesforce()
    taken = {r["Email"].lower() for name in ("Lead", "Contact") for r in org[name]}
    return {"salesforce": org, "hubspot": hubspot(Generator(taken))}


def render(seed: dict[str, Any]) -> str:
    """JSON with one record per line (readable diffs); invisible characters stay escaped."""
    lines = ["{"]
    for i, (side, objects) in enumerate(seed.items()):
        lines.append(f"  {_dumps(side)}: {{")
        for j, (name, value) in enumerate(objects.items()):
            comma = "," if j < len(objects) - 1 else ""
            if isinstance(value, list) and value:
                lines.append(f"    {_dumps(name)}: [")
                last = len(value) - 1
                lines += [
                    f"      {_dumps(r)}{',' if k < last else ''}" for k, r in enumerate(value)
                ]
                lines.append(f"    ]{comma}")
            else:
                lines.append(f"    {_dumps(name)}: {_dumps(value)}{comma}")
        lines.append("  }" + ("," if i < len(seed) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    # Format characters (zero-width, bidi overrides) would be invisible in the file: escape them.
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" else ch for ch in text)


def _name(entry: str) -> tuple[str, str]:
    """A name and its ASCII form for email addresses (`伟|wei` → 伟, wei; `Åsa` → Åsa, asa)."""
    display, _, latin = entry.partition("|")
    return display, latin or _ascii(display).lower().replace(" ", "").replace("'", "")


def _ascii(text: str) -> str:
    folded = text.translate(str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss",
                                           "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ł": "l",
                                           "Ł": "L"}))  # fmt: skip
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if ord(ch) < 128)


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(0, 9)) if ch == "#" else ch for ch in pattern.strip())


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    args = parser.parse_args(argv)
    args.out.write_text(render(build_seed()), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
