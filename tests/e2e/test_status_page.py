"""The status page of `leadbridge run`, in a real headless browser (Debian's chromium, driven by
Playwright over its own executable): it renders, its numbers are those of `leadbridge dlq list`,
`leadbridge report funnel|sla --since` (the cohort the page names) and `/metrics`, the service's
alert check sends the SLA report's open breach once, hostile contact data shows as text, the
Retry button works only with the admin token, and the page is read-only without one (and says
it has no SLA panel without sla.yaml). The test saves a screenshot and prints its path.

`make test` installs chromium when it is missing (Makefile: `browser`); without it (and no way
to install it) the test is skipped, saying so.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.reports.config import load_sla
from connector.reports.sla import open_breaches
from connector.sandbox.env import sandbox_env
from connector.state.store import StateStore
from tests.e2e.test_routing import seed as routing_seed
from tests.e2e.test_service import LEADBRIDGE, MAPPINGS, Running, _until, service  # noqa: F401

CHROMIUM = Path(os.environ.get("LEADBRIDGE_TEST_CHROMIUM", "/usr/bin/chromium"))
TOKEN = "page-admin-token-0123456789"
SCRIPT = "<script>document.title='owned'</script>"
IMAGE = '<img src=x onerror="document.title=1">'
#: A first-touch target of 0.6 seconds: contact 101's Lead, untouched, is an open breach.
SLA_YAML = """
time_zone: UTC
targets:
  - name: first touch at once
    minutes: 0.01
    working_hours: false
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM}: `make test` installs Debian's"
)


def _seed() -> dict[str, Any]:
    """routing.yaml's Globex world (contact 101 routed to Greta Lindqvist) and two contacts
    Salesforce refuses, carrying markup in their values."""
    data = copy.deepcopy(routing_seed())
    data["hubspot"]["contacts"][0]["properties"]["lastname"] = "Svensson"
    data["hubspot"]["contacts"] += [
        {
            "id": "400",
            "properties": {
                "email": "hostile400@example.test",
                "lastname": "",  # REQUIRED_FIELD_MISSING
                "company": SCRIPT,
                "lifecyclestage": "marketingqualifiedlead",
            },
        },
        {
            "id": "401",
            "properties": {
                "email": "hostile401@example.test",
                "lastname": IMAGE,
                "company": IMAGE * 10,  # STRING_TOO_LONG: Company holds 255
                "lifecyclestage": "marketingqualifiedlead",
            },
        },
    ]
    return data


def _metric_records(running: Running) -> dict[tuple[str, str], int]:
    answer = running.get("/metrics")
    assert answer is not None
    found = {}
    for outcome, stream, value in re.findall(
        r'^leadbridge_records_total\{outcome="([^"]+)",stream="([^"]+)"\} (\S+)$',
        answer.text,
        flags=re.MULTILINE,
    ):
        found[(outcome, stream)] = int(float(value))
    return found


def _dlq_list(tmp_path: Path) -> list[dict[str, Any]]:
    """`leadbridge dlq list --format json` on the service's store (the report command)."""
    return _cli(tmp_path, "dlq", "list", "--format", "json")  # type: ignore[no-any-return]


def _cli(tmp_path: Path, *args: str, server: Any = None) -> Any:
    """`leadbridge ARGS` on the service's store and mappings (and the sandbox, when given),
    its JSON output."""
    env = {**os.environ, "LEADBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    env["LEADBRIDGE_MAPPINGS_DIR"] = str(tmp_path / "mappings")
    if server is not None:
        env |= sandbox_env(server.port, server.tls.directory)
    done = subprocess.run(
        [LEADBRIDGE, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_status_page_in_a_browser(service, sandbox_server, tmp_path: Path) -> None:  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    shutil.copy(MAPPINGS / "routing.yaml", tmp_path / "mappings" / "routing.yaml")
    (tmp_path / "mappings" / "sla.yaml").write_text(SLA_YAML, encoding="utf-8")
    # one pass at the start, then runs only for what is put back: the numbers hold still; the
    # alert check every second
    running = service(
        _seed(),
        LEADBRIDGE_ADMIN_TOKEN=TOKEN,
        LEADBRIDGE_POLL_SECONDS="3600",
        LEADBRIDGE_ALERT_CHECK_SECONDS="1",
    )
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    _until(lambda: running.ready(), "the service to be ready")
    _until(lambda: len(store.dead_letters()) == 2, "the two refused contacts' dead letters")
    _until(lambda: store.recent_audit("routing"), "contact 101's routing decision")
    config = load_sla(tmp_path / "mappings")
    (breach,) = _until(
        lambda: open_breaches(store, config, now=datetime.now(UTC)), "contact 101's SLA breach"
    )
    assert breach.hubspot_id == "101"

    shot = tmp_path / "status-page.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(running.url + "/")
            for panel in ("funnel", "sla", "open-breaches"):
                assert page.locator(f'[data-panel="{panel}"]').count() == 1, panel
            letters = _dlq_list(tmp_path)
            metrics = _metric_records(running)

            # it renders: every panel, the hostile values as text, none of them run
            assert page.title() == "leadbridge status"
            for panel in ("streams", "budget", "dead-letters", "routing", "funnel"):
                assert page.locator(f'[data-panel="{panel}"]').count() == 1, panel
            assert dialogs == [] and page.locator("img").count() == 0
            row = page.locator('[data-panel="dead-letters"] tr[data-record="400"]')
            assert "REQUIRED_FIELD_MISSING" in row.inner_text()
            assert page.locator("script").count() == 0

            # the numbers are the report command's (dlq list) and /metrics'
            rows = page.locator('[data-panel="dead-letters"] tbody tr')
            assert rows.count() == len(letters) == 2
            assert sorted(r.get_attribute("data-record") for r in rows.all()) == sorted(
                d["record_id"] for d in letters
            )
            contacts = page.locator('tr[data-stream="hubspot.contacts"]')
            assert contacts.locator("[data-dead-letters]").inner_text() == "2"
            shown = {
                (o.get_attribute("data-outcome"), "hubspot.contacts"): int(
                    o.inner_text().rsplit(" ", 1)[1]
                )
                for o in contacts.locator("[data-outcome]").all()
            }
            assert shown == {k: v for k, v in metrics.items() if k[1] == "hubspot.contacts"}
            assert shown[("failed", "hubspot.contacts")] == 2

            # the routing decision and its explanation
            routed = page.locator('tr[data-routed="101"]')
            assert "Greta Lindqvist" in routed.inner_text()
            routed.locator("summary").click()
            assert "chosen account: Globex Sverige AB" in routed.locator("pre").inner_text()
            _same_as_the_reports(page, tmp_path, sandbox_server)
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nstatus page screenshot: {shot}")

            # Retry with a wrong token: refused, nothing put back
            page.fill('input[name="token"]', "not-the-token-at-all")
            with page.expect_navigation():
                page.click('button[name="retry"][value="hubspot.contacts|400"]')
            assert "wrong admin token" in page.inner_text("body")
            assert [w for w in store.work() if w.kind == "retry"] == []
            assert {d.record_id: d.attempts for d in store.dead_letters()} == {"400": 1, "401": 1}

            # with the token: put back, and the next run tries it again
            page.goto(running.url + "/")
            page.fill('input[name="token"]', TOKEN)
            with page.expect_navigation():
                page.click('button[name="retry"][value="hubspot.contacts|400"]')
            assert "Put back for the next pass: 400" in page.inner_text("body")
            _until(
                lambda: {d.record_id: d.attempts for d in store.dead_letters()}["400"] == 2,
                "contact 400 tried again",
            )
            assert {d.record_id: d.attempts for d in store.dead_letters()}["401"] == 1
        finally:
            browser.close()
    # the alert check ran every second; the breach was alerted once in the period
    _until(lambda: running.log.exists(), "the service log")
    fired = [
        e
        for e in _events(running.log)
        if e.get("event") == "alert.fired" and e.get("kind") == "sla_breach"
    ]
    assert [e["condition"] for e in fired] == [f"sla:{breach.lead_id}"]
    assert running.stop() == 0

    # without a token the page is read-only: no form, and the POST is refused
    readonly = service()
    _until(lambda: readonly.ready(), "the read-only service to be ready")
    page_html = readonly.get("/")
    assert page_html is not None and page_html.status_code == 200
    assert "<form" not in page_html.text and "read-only" in page_html.text.lower()
    assert 'data-panel="sla"' in page_html.text
    (tmp_path / "mappings" / "sla.yaml").unlink()
    without_sla = readonly.get("/")
    assert without_sla is not None and 'data-panel="sla"' not in without_sla.text
    assert "No SLA panel: there is no sla.yaml in the mappings directory." in without_sla.text
    refused = requests.post(
        readonly.url + "/dead-letters/retry",
        data={"token": TOKEN, "retry": "hubspot.contacts|401"},
        timeout=10,
    )
    assert refused.status_code == 403
    assert [w for w in store.work() if w.kind == "retry"] == []
    assert readonly.stop() == 0
    store.close()


def _events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _hours(value: str | None) -> float | None:
    return float(value) if value else None


def _same_as_the_reports(page: Any, tmp_path: Path, server: Any) -> None:
    """The funnel and SLA panels' numbers are `leadbridge report funnel|sla --since` and
    `report sla --open` over the same store, for the cohort the page names."""
    since = page.locator("[data-cohort]").get_attribute("data-since")
    assert since and "cohort" in page.locator("[data-cohort]").inner_text()
    funnel = _cli(tmp_path, "report", "funnel", "--since", since, "--format", "json", server=server)
    assert funnel["cohort"]["since"] == since
    (total,) = [r for r in funnel["rows"] if r["month"] == "(all)"]
    shown = {
        row.get_attribute("data-stage"): (
            int(row.locator("[data-count]").inner_text()),
            _hours(row.locator("[data-median-hours]").get_attribute("data-median-hours")),
            _hours(row.locator("[data-p90-hours]").get_attribute("data-p90-hours")),
        )
        for row in page.locator('[data-panel="funnel"] tbody tr').all()
    }
    names = {"mql": "MQL", "sal": "accepted (SAL)", "sql": "SQL (converted)"}
    expected = {
        name: (total[stage], total[f"{stage}_median_hours"], total[f"{stage}_p90_hours"])
        for stage, name in names.items()
    }
    expected["opportunity"] = (total["opportunity"], None, None)
    assert shown == expected
    assert shown["MQL"][0] == total["mql"] == 1  # contact 101
    assert "Won is left out" in page.inner_text("body")

    sla = _cli(tmp_path, "report", "sla", "--since", since, "--format", "json")
    rows = {
        (row.get_attribute("data-owner"), row.get_attribute("data-queue")): tuple(
            int(row.locator(f"[data-{n}]").inner_text())
            for n in ("handed-over", "within", "breached", "open")
        )
        for row in page.locator('[data-panel="sla"] tbody tr').all()
    }
    assert rows == {
        (r["owner"], r["queue"]): (
            r["handed_over"],
            r["handed_over"] - r["breaches"],
            r["breaches"],
            r["open_breaches"],
        )
        for r in sla["rows"]
    }
    assert sum(v[2] for v in rows.values()) == 1
    still = _cli(tmp_path, "report", "sla", "--open", "--format", "json")
    shown_breaches = page.locator('[data-panel="open-breaches"] tbody tr').all()
    assert [r.get_attribute("data-breach") for r in shown_breaches] == [
        b["lead_id"] for b in still["rows"]
    ]
    assert len(shown_breaches) == 1
