"""The second labelled set (`bench/routing_cases_global/`, issue 14): reproducible, and matched
as routing runs with the shipped matching settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests import benches

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "bench" / "routing_cases_global"


def _bench() -> ModuleType:
    return benches.load("routing_accuracy")


def test_committed_global_cases_are_what_the_script_generates(tmp_path: Path) -> None:
    """Rerunning scripts/make_routing_cases_global.py reproduces the set byte for byte."""
    script = ROOT / "scripts" / "make_routing_cases_global.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    for name in ("accounts.json", "cases.jsonl"):
        assert (tmp_path / name).read_bytes() == (CASES / name).read_bytes()


def test_global_set_has_every_shape_of_issue_14() -> None:
    """Country domains, rebrands, twins, platform pages, ISP mail and name variants, each with
    cases enough to count."""
    kinds = {c.kind for c in _bench().load_cases(CASES)}
    for prefix in ("country_domain", "rebrand", "twin", "platform", "isp_mail", "name_"):
        assert sum(k.startswith(prefix) for k in kinds) >= 2, prefix


def test_global_set_matches_accounts_precisely() -> None:
    """Fetched and matched as a sync does (the shipped matching settings), no lead gets a wrong
    account, the misses are the cases no honest matcher can tell (a coin toss between
    namesakes, a brand's unknown country domain with no company), and one SOQL query fetches
    the candidates of 200 leads."""
    bench = _bench()
    stats = bench.FetchStats()
    outcomes = bench.route(
        bench.load_universe(CASES),
        bench.load_cases(CASES),
        bench.shipped_matching().model_copy(update={"domain_fields": ["Website", "Domains__c"]}),
        batch=200,
        stats=stats,
    )
    metrics = bench.match_metrics(outcomes)

    assert metrics.wrong == [], [bench._describe(o) for o in metrics.wrong]
    assert {o.case.kind for o in metrics.missed} <= {"twin_no_clue", "country_domain_single"}
    assert metrics.recall >= 0.95
    assert stats.per_batch_queries == [1] * len(stats.per_batch_queries)
