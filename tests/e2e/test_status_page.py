"""The status page of `leadbridge run`, in a real headless browser (Debian's chromium, driven by
Playwright over its own executable): it renders, its numbers are those of `leadbridge dlq list`
and `/metrics`, hostile contact data shows as text, the Retry button works only with the admin
token, and the page is read-only without one. The test saves a screenshot and prints its path.

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
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.state.store import StateStore
from tests.e2e.test_routing import seed as routing_seed
from tests.e2e.test_service import LEADBRIDGE, MAPPINGS, Running, _until, service  # noqa: F401

CHROMIUM = Path(os.environ.get("LEADBRIDGE_TEST_CHROMIUM", "/usr/bin/chromium"))
TOKEN = "page-admin-token-0123456789"
SCRIPT = "<script>document.title='owned'</script>"
IMAGE = '<img src=x onerror="document.title=1">'

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
    env = {**os.environ, "LEADBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    env["LEADBRIDGE_MAPPINGS_DIR"] = str(tmp_path / "mappings")
    done = subprocess.run(
        [LEADBRIDGE, "dlq", "list", "--format", "json"],
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
    # one pass at the start, then runs only for what is put back: the numbers hold still
    running = service(_seed(), LEADBRIDGE_ADMIN_TOKEN=TOKEN, LEADBRIDGE_POLL_SECONDS="3600")
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    _until(lambda: running.ready(), "the service to be ready")
    _until(lambda: len(store.dead_letters()) == 2, "the two refused contacts' dead letters")
    _until(lambda: store.recent_audit("routing"), "contact 101's routing decision")

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
            assert page.locator('[data-panel="funnel"] [data-count]').first.inner_text() == "1"
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
    assert running.stop() == 0

    # without a token the page is read-only: no form, and the POST is refused
    readonly = service()
    _until(lambda: readonly.ready(), "the read-only service to be ready")
    page_html = readonly.get("/")
    assert page_html is not None and page_html.status_code == 200
    assert "<form" not in page_html.text and "read-only" in page_html.text.lower()
    refused = requests.post(
        readonly.url + "/dead-letters/retry",
        data={"token": TOKEN, "retry": "hubspot.contacts|401"},
        timeout=10,
    )
    assert refused.status_code == 403
    assert [w for w in store.work() if w.kind == "retry"] == []
    assert readonly.stop() == 0
    store.close()
