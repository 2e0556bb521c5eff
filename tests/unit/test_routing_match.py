"""Lead-to-account matching: tiers, free mail, look-alikes, tie-breakers, the SOQL that fetches
candidates, and the labelled set's precision and recall."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from connector.routing.match import (
    AccountCandidate,
    CandidateKeys,
    LeadFacts,
    Match,
    MatchConfig,
    account_search,
    candidate_keys,
    contenders,
    match_lead,
)
from connector.salesforce.queries import candidate_accounts
from connector.sandbox.app import SandboxConfig
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.soql import run
from connector.sandbox.seed import load_seed
from tests import benches

ROOT = Path(__file__).resolve().parents[2]
CONFIG = MatchConfig()


def candidate_soql(
    keys: CandidateKeys,
    fields: list[str],
    *,
    domain_fields: tuple[str, ...] | list[str] = ("Website",),
    max_chars: int = 20_000,
) -> list[str]:
    """The SOQL the gateway reads the candidates of `keys` with (what the router asks for)."""
    return candidate_accounts(account_search(keys, domain_fields), fields, max_chars=max_chars)


GLOBEX = AccountCandidate("A1", "Globex Corporation", "https://www.globex.com", "United States")
GLOBEX_SE = AccountCandidate("A2", "Globex Nordics AB", "www.globex.se", "Sweden", parent_id="A1")
STEEL = AccountCandidate("A3", "Nordic Steel AB", "nordicsteel.se", "Sweden")
STEAL = AccountCandidate("A4", "Nordic Steal Oy", "nordicsteal.fi", "Finland")
ACME = AccountCandidate("A5", "Acme Corp", "acme.com", "United States")


def ids(matches: list[Match]) -> list[tuple[str, str]]:
    return [(m.account_id, m.tier) for m in matches]


# -- tiers -------------------------------------------------------------------------------------


def test_domain_beats_name_beats_fuzzy() -> None:
    """A domain match ranks above an exact name match, which ranks above a fuzzy one."""
    by_domain = AccountCandidate("D", "Something Else Ltd", "initech.co.uk")
    by_name = AccountCandidate("N", "Initech Group AB", None)
    by_fuzzy = AccountCandidate("F", "Initeck Group", None)
    lead = LeadFacts("peter@mail.initech.co.uk", "Initech Group")
    matches = match_lead(lead, [by_fuzzy, by_name, by_domain], CONFIG)
    assert ids(matches) == [("D", "domain"), ("N", "name"), ("F", "fuzzy")]
    assert matches[0].fields == ("Email domain initech.co.uk", "Account.Website initech.co.uk")
    assert matches[0].detail.startswith(
        "The email domain initech.co.uk is the domain of the account's website"
    )
    assert matches[1].score == 100.0
    assert 90 <= matches[2].score < 100


def test_domain_match_reads_the_registrable_domain() -> None:
    """`www.`, schemes, paths and email subdomains do not hide a domain match; co.uk stays
    whole, so another company under co.uk is no match."""
    account = AccountCandidate("A", "Globex UK Ltd", "HTTPS://WWW.GLOBEX.CO.UK/en/contact")
    assert ids(match_lead(LeadFacts("a@uk.globex.co.uk", None), [account], CONFIG)) == [
        ("A", "domain")
    ]
    assert match_lead(LeadFacts("a@initech.co.uk", None), [account], CONFIG) == []


def test_free_mail_never_matches_by_domain() -> None:
    """A gmail or hotmail sender never matches by domain, even an account whose website says
    gmail.com; with the company named, the name may match."""
    odd = AccountCandidate("G", "Gmail Fans Club", "gmail.com")
    hot = AccountCandidate("H", "Hotmail Heroes", "https://hotmail.co.uk")
    for email in ["someone@gmail.com", "someone@hotmail.co.uk", "x@live.se", "x@gmx.de"]:
        assert match_lead(LeadFacts(email, None), [odd, hot, GLOBEX], CONFIG) == []
    assert ids(match_lead(LeadFacts("x@gmail.com", "Globex Corp."), [GLOBEX], CONFIG)) == [
        ("A1", "name")
    ]


def test_free_mail_list_comes_from_the_config() -> None:
    """The routing file's list decides what is free mail: extended, or replaced."""
    company = AccountCandidate("C", "Bredband Kunden AB", "kund.example")
    lead = LeadFacts("x@kund.example", None)
    assert ids(match_lead(lead, [company], CONFIG)) == [("C", "domain")]
    extended = MatchConfig(extra_free_mail_domains=["kund.example"])
    assert extended.is_free_mail("kund.example")
    assert match_lead(lead, [company], extended) == []
    replaced = MatchConfig(free_mail_domains=[])
    gmail_account = AccountCandidate("G", "Google", "gmail.com")
    assert ids(match_lead(LeadFacts("x@gmail.com", None), [gmail_account], replaced)) == [
        ("G", "domain")
    ]


def test_country_variants_match_only_known_domains() -> None:
    """`globex.de` matches the account only when it lists that domain; otherwise nothing is
    guessed from the label, though the company name still matches by name."""
    lead = LeadFacts("hans@globex.de", None)
    assert match_lead(lead, [GLOBEX], CONFIG) == []
    known = AccountCandidate("A1", GLOBEX.name, GLOBEX.website, domains=("www.globex.de",))
    matches = match_lead(lead, [known], CONFIG)
    assert ids(matches) == [("A1", "domain")]
    assert matches[0].fields == ("Email domain globex.de", "Account domain globex.de")
    named = LeadFacts("hans@globex.de", "Globex GmbH", "Germany")
    assert ids(match_lead(named, [GLOBEX], CONFIG)) == [("A1", "name")]


def test_subsidiary_with_its_own_domain_matches_itself() -> None:
    """A lead at the subsidiary's domain matches the subsidiary, not its parent."""
    matches = match_lead(LeadFacts("sven@globex.se", "Globex"), [GLOBEX, GLOBEX_SE], CONFIG)
    assert ids(matches)[0] == ("A2", "domain")


def test_shared_website_is_told_apart_by_the_company_name() -> None:
    """When a subsidiary carries its parent's website, the company name picks which of the
    two the lead is at."""
    copy = AccountCandidate("A2", "Globex Nordics AB", "globex.com", "Sweden", parent_id="A1")
    nordics = match_lead(LeadFacts("s@globex.com", "Globex Nordics"), [GLOBEX, copy], CONFIG)
    assert ids(nordics) == [("A2", "domain"), ("A1", "domain")]
    assert nordics[0].score == 100.0
    assert nordics[1].score < 100.0 - CONFIG.ambiguity_margin
    parent = match_lead(LeadFacts("s@globex.com", "Globex Corp"), [GLOBEX, copy], CONFIG)
    assert ids(parent)[0] == ("A1", "domain")


def test_similar_unrelated_names_stay_below_the_threshold() -> None:
    """Companies that share a word or differ by a word do not match each other."""
    accounts = [
        ACME,
        AccountCandidate("B", "Nordic Steel Trading AB"),
        AccountCandidate("C", "Baltic Shipyard"),
        AccountCandidate("D", "Globe Industries"),
    ]
    for company in ["Acme Logistics", "Nordic Steel", "Baltic Shipping", "Globex", "Acme Dental"]:
        matches = match_lead(
            LeadFacts(f"x@{company[:4].lower()}x.example", company), accounts, CONFIG
        )
        assert matches == [], company


def test_look_alike_in_the_crm_gets_its_own_account() -> None:
    """`Nordic Steal Oy` matches itself exactly, never the one-letter look-alike first."""
    matches = match_lead(LeadFacts("x@gmail.com", "Nordic Steal Oy"), [STEEL, STEAL], CONFIG)
    assert ids(matches)[0] == ("A4", "name")
    assert [m.tier for m in matches[1:]] == ["fuzzy"]


def test_fuzzy_match_needs_no_contradicting_domain() -> None:
    """A typo matches fuzzily from free mail, but not when the lead's own company domain is
    not the account's."""
    typo = "Nordik Steel"
    assert ids(match_lead(LeadFacts("x@gmail.com", typo), [STEEL], CONFIG)) == [("A3", "fuzzy")]
    assert match_lead(LeadFacts("x@nordiksteel.fi", typo), [STEEL], CONFIG) == []
    # a country variant of the account's own domain does not contradict it
    assert ids(match_lead(LeadFacts("x@nordicsteel.no", typo), [STEEL], CONFIG)) == [
        ("A3", "fuzzy")
    ]


def test_fuzzy_threshold_is_configurable() -> None:
    """Below `fuzzy_threshold` no fuzzy match is made; lowering it admits more."""
    lead = LeadFacts(None, "Nrodic Steal")
    assert match_lead(lead, [STEEL], CONFIG) == []
    lowered = MatchConfig(fuzzy_threshold=80)
    assert ids(match_lead(lead, [STEEL], lowered)) == [("A3", "fuzzy")]


def test_word_order_and_website_name() -> None:
    """The same words in another order match by name (98); so does a company written as the
    account's website name (97), e.g. a romanized name of an account kept in kanji."""
    swapped = match_lead(
        LeadFacts(None, "Berg & Hansen"), [AccountCandidate("H", "Hansen & Berg AS")], CONFIG
    )
    assert [(m.tier, m.score) for m in swapped] == [("name", 98.0)]
    kanji = AccountCandidate("J", "青山電機株式会社", "www.aoyama-denki.co.jp", "Japan")
    romanized = match_lead(
        LeadFacts("a@yahoo.co.jp", "Aoyama Denki Co., Ltd.", "Japan"), [kanji], CONFIG
    )
    assert [(m.tier, m.score) for m in romanized] == [("name", 97.0)]
    assert romanized[0].fields[1] == "Account.Website www.aoyama-denki.co.jp"
    written = match_lead(LeadFacts(None, "株式会社青山電機"), [kanji], CONFIG)
    assert [(m.tier, m.score) for m in written] == [("name", 100.0)]


def test_tie_breakers() -> None:
    """Equal names: the lead's country scores higher; then more contacts, then more open
    opportunities, then the id, decide the order."""
    se = AccountCandidate("S", "Nordic Consulting AB", country="Sweden", number_of_contacts=1)
    no = AccountCandidate("N", "Nordic Consulting AS", country="Norway", number_of_contacts=9)
    norway = match_lead(LeadFacts(None, "Nordic Consulting", "NO"), [se, no], CONFIG)
    assert [(m.account_id, m.score) for m in norway] == [("N", 100.0), ("S", 95.0)]
    sweden = match_lead(LeadFacts(None, "Nordic Consulting", "Sverige"), [se, no], CONFIG)
    assert [(m.account_id, m.score) for m in sweden] == [("S", 100.0), ("N", 95.0)]
    nowhere = match_lead(LeadFacts(None, "Nordic Consulting"), [se, no], CONFIG)
    assert [m.account_id for m in nowhere] == ["N", "S"]  # more contacts
    a = AccountCandidate("A", "Twin Co", open_opportunities=1)
    b = AccountCandidate("B", "Twin Co", open_opportunities=2)
    c = AccountCandidate("C", "Twin Co", open_opportunities=2)
    assert [m.account_id for m in match_lead(LeadFacts(None, "Twin"), [c, a, b], CONFIG)] == [
        "B",
        "C",
        "A",
    ]


def test_contenders_are_the_best_tier_within_the_margin() -> None:
    """Contenders: the best match and those of its tier within `ambiguity_margin`."""
    se = AccountCandidate("S", "Nordic Consulting AB", country="Sweden")
    no = AccountCandidate("N", "Nordic Consulting AS", country="Norway")
    both = match_lead(LeadFacts("x@gmail.com", "Nordic Consulting"), [se, no], CONFIG)
    assert [m.account_id for m in contenders(both, CONFIG)] == ["N", "S"]
    told = match_lead(LeadFacts("x@gmail.com", "Nordic Consulting", "Norway"), [se, no], CONFIG)
    assert [m.account_id for m in contenders(told, CONFIG)] == ["N"]
    wide = MatchConfig(ambiguity_margin=5)
    assert [m.account_id for m in contenders(told, wide)] == ["N", "S"]
    mixed = match_lead(LeadFacts("x@nordicsteel.se", "Nordic Steal Oy"), [STEEL, STEAL], CONFIG)
    assert [(m.account_id, m.tier) for m in contenders(mixed, CONFIG)] == [("A3", "domain")]
    assert contenders([], CONFIG) == []


def test_nothing_to_match_on() -> None:
    """No email and no company, or only placeholders, match nothing."""
    accounts = [GLOBEX, AccountCandidate("U", "Unknown"), AccountCandidate("P", "Private AB")]
    for lead in [LeadFacts(None, None), LeadFacts("x@gmail.com", "N/A"), LeadFacts("", "-")]:
        assert match_lead(lead, accounts, CONFIG) == []


def test_config_is_strict() -> None:
    """The `matching:` section refuses unknown keys, bad free-mail entries and thresholds out of
    0..100, and cannot be changed once loaded."""
    with pytest.raises(ValidationError, match="fuzy_threshold"):
        MatchConfig.model_validate({"fuzy_threshold": 80})
    with pytest.raises(ValidationError, match="neither a domain"):
        MatchConfig(free_mail_domains=["gmail.com", "*.example"])
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        MatchConfig(fuzzy_threshold=101)
    with pytest.raises(ValidationError, match="blank"):
        MatchConfig(extra_legal_suffixes=[" "])
    with pytest.raises(ValidationError, match="frozen"):
        CONFIG.fuzzy_threshold = 50  # type: ignore[misc]
    copy = CONFIG.model_copy(update={"fuzzy_threshold": 80.0})
    assert ids(match_lead(LeadFacts(None, "Nrodic Steal"), [STEEL], copy)) == [("A3", "fuzzy")]


def test_domain_fields_are_field_names_listed_once() -> None:
    """`matching.domain_fields` defaults to Website and takes only Salesforce field names, each
    once (names compare without case), and at least one."""
    assert CONFIG.domain_fields == ["Website"]
    assert MatchConfig(domain_fields=["Website", "Domains__c"]).domain_fields == [
        "Website",
        "Domains__c",
    ]
    with pytest.raises(ValidationError, match="not a Salesforce field name: 'Domains__c OR Id'"):
        MatchConfig(domain_fields=["Website", "Domains__c OR Id"])
    with pytest.raises(
        ValidationError, match=re.escape("field names: 'Parent.Website', 'Domains c'")
    ):
        MatchConfig(domain_fields=["Parent.Website", "Domains c"])
    with pytest.raises(ValidationError, match="Website, website listed more than once"):
        MatchConfig(domain_fields=["Website", "website"])
    with pytest.raises(ValidationError, match="at least 1 item"):
        MatchConfig(domain_fields=[])


# -- what to fetch -----------------------------------------------------------------------------


def test_candidate_keys() -> None:
    """Keys hold registrable work domains (free mail removed), name searches in every likely
    spelling, and company words to find in websites."""
    leads = [
        LeadFacts("sven@mail.globex.se", "Globex Nordics AB"),
        LeadFacts("anna@gmail.com", "Müller & Söhne GmbH"),
        LeadFacts("ola@GLOBEX.SE", None),
        LeadFacts(None, "Nordic Steel AB"),
        LeadFacts("x@hotmail.co.uk", "N/A"),
    ]
    keys = candidate_keys(leads, CONFIG)
    assert keys == CandidateKeys(
        domains=("globex.se",),
        names=(
            (("gl", "b", "x"),),
            (("m", "", "ll", "r"),),
            (("m", "ll", "r"),),
            (("n", "rd", "c"), ("st", "", "l")),
        ),
        website_words=("globex", "mueller", "muller", "nordicsteel"),
    )
    assert candidate_keys([LeadFacts("x@gmail.com", None)], CONFIG) == CandidateKeys()
    assert candidate_soql(CandidateKeys(), ["Id"]) == []


def test_candidate_soql_text() -> None:
    """One query of LIKE clauses: domains in both spellings, websites, names; wildcards only
    where the pattern puts them."""
    keys = CandidateKeys(
        domains=("müller.de",),
        names=((("n", "rd", "c"), ("st", "", "l")), (("gl", "b", "x"),)),
        website_words=("globex",),
    )
    assert candidate_soql(keys, ["Id", "Name"], domain_fields=["Website", "Domains__c"]) == [
        "SELECT Id, Name FROM Account WHERE Website LIKE '%müller.de%' "
        "OR Domains__c LIKE '%müller.de%' OR Website LIKE '%xn--mller-kva.de%' "
        "OR Domains__c LIKE '%xn--mller-kva.de%' OR Website LIKE '%globex%' "
        "OR Domains__c LIKE '%globex%' OR (Name LIKE '%n_rd_c%' AND Name LIKE '%st__l%') "
        "OR Name LIKE '%gl_b_x%'"
    ]
    with pytest.raises(ValueError, match="non-empty list of field names"):
        candidate_soql(keys, ["Id FROM Lead --"])


def test_candidate_soql_chunks_within_the_limit() -> None:
    """200 leads cost one query under 20,000 characters; a lower limit splits the clauses
    over several queries, each within it, fetching the same accounts."""
    leads = [
        LeadFacts(f"p{i}@company{i}-example.se", f"Company{i} Vindkraft Holding AB")
        for i in range(200)
    ]
    keys = candidate_keys(leads, CONFIG)
    single = candidate_soql(keys, ["Id"])
    assert len(single) == 1
    assert len(single[0]) <= 20_000
    split = candidate_soql(keys, ["Id"], max_chars=3_000)
    assert len(split) > 3
    assert all(len(q) <= 3_000 for q in split)
    clauses = single[0].split(" WHERE ", 1)[1].split(" OR ")
    assert [c for q in split for c in q.split(" WHERE ", 1)[1].split(" OR ")] == clauses


HOSTILE = "A'B %_\\"
DECOYS = ["A'B x\\ Ltd", "A'B %x\\ Ltd", "A'B %_ Ltd", "AB %_\\ Ltd", "Plain Ltd"]


@pytest.fixture(scope="module")
def org() -> Org:
    """A sandbox org with one hostile-named account and decoys that only wildcards or
    injection would reach."""
    accounts = [
        {"Name": f"{HOSTILE} Ltd", "Website": "https://my_co.se"},
        *({"Name": n, "Website": "https://myxco.se"} for n in DECOYS),
        {"Name": "Globex Nordics AB", "Website": "globex.se"},
        {"Name": "Müller & Söhne GmbH"},
        {"Name": "Mueller Soehne KG"},
    ]
    return load_seed({"salesforce": {"Account": accounts}}, SandboxConfig())[0]


def fetched(org: Org, leads: list[LeadFacts]) -> list[str]:
    names: set[str] = set()
    for text in candidate_soql(candidate_keys(leads, CONFIG), ["Id", "Name"]):
        names.update(r["Name"] for r in run(org, text).records)
    return sorted(names)


def test_hostile_company_matches_only_literally(org: Org) -> None:
    """A company with a quote, backslash, `%` and `_` yields SOQL the sandbox's SOQL engine
    parses, fetching only the account holding those characters literally."""
    assert fetched(org, [LeadFacts("x@gmail.com", HOSTILE)]) == [f"{HOSTILE} Ltd"]
    assert fetched(org, [LeadFacts("x@my_co.se", None)]) == [f"{HOSTILE} Ltd"]
    payloads = ["' OR Name != '", "x' OR Name LIKE '%", "\\' OR Id != null OR Name = '"]
    for payload in payloads:
        assert fetched(org, [LeadFacts(None, payload)]) == []


def test_name_search_finds_other_spellings(org: Org) -> None:
    """`Mueller` finds both spellings, `Muller` the accented one (a vowel stands for one
    letter, not two); `GLOBEX` finds `Globex Nordics AB`."""
    expected = ["Mueller Soehne KG", "Müller & Söhne GmbH"]
    assert fetched(org, [LeadFacts(None, "Mueller und Soehne")]) == expected
    assert fetched(org, [LeadFacts(None, "Muller Sohne")]) == ["Müller & Söhne GmbH"]
    assert fetched(org, [LeadFacts("a@gmail.com", "GLOBEX")]) == ["Globex Nordics AB"]


# -- the labelled set --------------------------------------------------------------------------


def _bench() -> ModuleType:
    return benches.load("routing_accuracy")


def test_committed_cases_are_what_the_script_generates(tmp_path: Path) -> None:
    """Rerunning the generator reproduces bench/routing_cases/ byte for byte."""
    script = ROOT / "scripts" / "make_routing_cases.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    for name in ("accounts.json", "cases.jsonl"):
        assert (tmp_path / name).read_bytes() == (
            ROOT / "bench" / "routing_cases" / name
        ).read_bytes()


def test_labelled_set_meets_the_target() -> None:
    """On the ≥ 500 labelled cases, fetched and matched as routing runs, the account match has
    precision ≥ 0.99 at recall ≥ 0.95, with one SOQL query per 200 leads."""
    bench = _bench()
    cases = bench.load_cases()
    assert len(cases) >= 500
    assert len({c.kind for c in cases}) >= 20
    stats = bench.FetchStats()
    outcomes = bench.route(bench.load_universe(), cases, CONFIG, batch=200, stats=stats)
    metrics = bench.match_metrics(outcomes)
    assert metrics.precision >= 0.99, [bench._describe(o) for o in metrics.wrong]
    assert metrics.recall >= 0.95, [bench._describe(o) for o in metrics.missed]
    assert stats.per_batch_queries == [1] * len(stats.per_batch_queries)
    assert bench.fetch_metrics(outcomes, stats).recall >= 0.99
