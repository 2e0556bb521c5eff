"""The status page `leadbridge run` serves at `/`: server-rendered HTML (Jinja2, autoescaped),
no script, read-only unless an admin token is configured.

- Streams: last run (this process), cursor lag, records per outcome (this process, since it
  started: `leadbridge_records_total`), dead letters open and work queued (the store's).
- API budget: the figures `/metrics` exports.
- Dead letters (the oldest `LETTER_LIMIT`), reasons clipped; with `LEADBRIDGE_ADMIN_TOKEN` set,
  one form around the table with a token field and a Retry button per retryable record: POST
  `/dead-letters/retry` puts it back as `leadbridge dlq retry` does when the token matches
  (compared in constant time). The token travels in the form body, so another site cannot
  forge the request (no cookie, no ambient authority). Without a token set, no form is shown
  and the POST is refused.
- Recent routing decisions with their explanation (the audit log's `routing` events).
- Funnel and SLA of the cohort that entered the funnel in the last 30 days (`report_panels`):
  the same store reads and report functions as `leadbridge report funnel|sla --since`; won is
  left out (Salesforce's, not read per request: the page says so); no SLA panel without
  `mappings/sla.yaml` (the page says so).

Every value is escaped by the template; values from HubSpot and Salesforce are also clipped and
their control characters shown (`connector.display`), as on a terminal.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import structlog
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from connector.display import clip
from connector.errors import MappingError
from connector.failures import RETRYABLE, when
from connector.reports.config import FILE as SLA_FILE
from connector.reports.config import load_sla
from connector.reports.funnel import TOTAL, funnel_rows
from connector.reports.render import Cohort
from connector.reports.sla import NONE, open_breaches, period_rows
from connector.routing.explain import explain_lines
from connector.service.app import Service
from connector.service.panels import (
    FunnelRow,
    OpenBreach,
    ReportPanels,
    SlaRow,
    duration,
    funnel_chart,
    sla_chart,
)
from connector.state.store import Commit, StateStore
from connector.state.work import retry
from connector.streams.windows import is_settled_mark

log = structlog.get_logger(__name__)

RETRY_PATH = "/dead-letters/retry"
#: Dead letters and routing decisions shown (the oldest failures, the newest decisions).
LETTER_LIMIT = 200
DECISION_LIMIT = 25
#: Characters of a value in a table cell, and of a reason.
CELL_LIMIT = 80
REASON_LIMIT = 400
#: The largest retry form body read.
FORM_LIMIT = 8192
#: The page's days of funnel and SLA.
REPORT_DAYS = 30

HEADERS = {
    # No script, no frames, forms only to this origin, nothing fetched from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=PackageLoader("connector.service", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: What fills the funnel and SLA panels: the store, now -> the panels.
Panels = Callable[[StateStore, datetime], ReportPanels]
#: The funnel stages the page shows (won needs Salesforce: `leadbridge report funnel`).
PAGE_STAGES = ("mql", "sal", "sql", "opportunity")
STAGE_NAMES = {
    "mql": "MQL",
    "sal": "accepted (SAL)",
    "sql": "SQL (converted)",
    "opportunity": "opportunity",
}
WON_NOTE = (
    "Won is left out: it is the opportunity's outcome in Salesforce, and the page does not call "
    "Salesforce; `leadbridge report funnel` reads it."
)


def report_panels(
    store: StateStore, now: datetime, *, mappings_dir: str | Path | None = None
) -> ReportPanels:
    """The funnel and SLA of the cohort that entered the funnel in the last 30 days, as the
    page shows them: the same store reads and report functions as `leadbridge report funnel
    --since` and `leadbridge report sla --since` (and `--open` for the breaches open now).
    The funnel's stages up to opportunity; won needs Salesforce and is left out. No SLA panel
    without `mappings_dir/sla.yaml` (or when it is not valid), saying why."""
    since = now - timedelta(days=REPORT_DAYS)
    cohort = Cohort(since, None)
    found = store.funnel_input(since=since, by="month")
    total = next(r for r in funnel_rows(found, {}, by="month") if r.group == TOTAL)
    funnel = None
    if total.mql:
        funnel = [
            FunnelRow(
                STAGE_NAMES[stage],
                total.counts()[stage],
                *(
                    (total.times[stage].median_hours, total.times[stage].p90_hours)
                    if stage in total.times and stage != "opportunity"
                    else (None, None)
                ),
            )
            for stage in PAGE_STAGES
        ]
    path = Path(mappings_dir or "mappings") / SLA_FILE
    if not path.exists():
        note = f"No SLA panel: there is no {SLA_FILE} in the mappings directory."
        return ReportPanels(cohort.describe(), since, funnel, None, sla_note=note)
    try:
        config = load_sla(path.parent)
    except MappingError as exc:
        note = f"No SLA panel: {SLA_FILE} is not valid ({clip(str(exc), REASON_LIMIT)})."
        return ReportPanels(cohort.describe(), since, funnel, None, sla_note=note)
    sla = [
        SlaRow(
            r.owner_id,
            r.queue,
            r.handed_over,
            within=r.handed_over - r.breaches,
            breached=r.breaches,
            open_breaches=r.open_breaches,
        )
        for r in period_rows(store, config, now=now, since=since)
    ]
    breaches = [
        OpenBreach(
            b.lead_id, b.hubspot_id, b.owner_id or NONE, b.queue or NONE, b.target, b.deadline
        )
        for b in open_breaches(store, config, now=now)
    ]
    return ReportPanels(cohort.describe(), since, funnel, sla, breaches)


class Refused(Exception):
    """A retry the page refuses: the status to answer and why."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status, self.why = status, why


def status_routes(service: Service, panels: Panels | None = None) -> list[Route]:
    """`GET /` and `POST /dead-letters/retry` over `service`; `panels` fills the funnel and SLA
    panels (`report_panels` over the service's mappings directory unless given)."""
    if panels is None:
        panels = partial(report_panels, mappings_dir=service.settings.mappings_dir)
    setting = service.settings.admin_token
    admin_token = setting.get_secret_value().strip() if setting else None

    async def page(request: Request) -> Response:
        message = request.query_params.get("retried")
        context = await run_in_threadpool(gather, service, panels)
        context |= {
            "admin": admin_token is not None,
            "admin_configured": admin_token is not None,
            "retry_path": RETRY_PATH,
            "message": f"Put back for the next pass: {clip(message, CELL_LIMIT)}"
            if message
            else None,
        }
        html = _templates.get_template("status.html").render(context)
        return HTMLResponse(html, headers=HEADERS)

    async def retry_letter(request: Request) -> Response:
        try:
            if admin_token is None:
                raise Refused(403, "read-only: LEADBRIDGE_ADMIN_TOKEN is not set")
            body = await request.body()
            if len(body) > FORM_LIMIT:
                raise Refused(413, "form too large")
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
            given = (form.get("token") or [""])[0].strip()
            if not hmac.compare_digest(given.encode(), admin_token.encode()):
                log.warning("status.retry_refused", peer=request.client and request.client.host)
                raise Refused(403, "wrong admin token: nothing was put back")
            stream, _, record_id = (form.get("retry") or [""])[0].partition("|")
            await run_in_threadpool(put_back, service, stream, record_id)
        except Refused as refused:
            return HTMLResponse(_refusal(refused.why), status_code=refused.status, headers=HEADERS)
        log.info("status.retried", stream=stream, record_id=record_id)
        return RedirectResponse(f"/?retried={quote(record_id)}", status_code=303)

    return [
        Route("/", page, methods=["GET"]),
        Route(RETRY_PATH, retry_letter, methods=["POST"]),
    ]


def put_back(service: Service, stream: str, record_id: str) -> None:
    """Put an open failure back as work of its stream (as `leadbridge dlq retry`), and wake
    the worker for it; `Refused` when it is not an open, retryable failure."""
    store = service.connector.store
    if stream not in RETRYABLE:
        raise Refused(400, "not a failure a pass tries again: fix it at the source, then drop it")
    if not any(d.record_id == record_id for d in store.dead_letters(stream)):
        raise Refused(404, "no open failure of that record")
    work = [retry(stream, record_id, "put back from the status page")]
    store.record(Commit(stream=stream, work=work), run_id="status-page")
    service.worker.wake([stream])


def _refusal(why: str) -> str:
    return _templates.from_string(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>refused</title>'
        '</head><body><p role="alert">{{ why }}</p><p><a href="/">Back to the status page</a>'
        "</p></body></html>"
    ).render(why=why)


def gather(service: Service, panels: Panels) -> dict[str, Any]:
    """Everything the page shows, read now."""
    now = datetime.now(UTC)
    store = service.connector.store
    snapshot = service.snapshot()
    cursors = {k: v for k, v in store.cursors().items() if not is_settled_mark(k)}
    with service.health.lock:
        runs = dict(service.health.runs)
    outcomes = records_per_outcome(service)
    names = sorted(
        set(service.connector.steps())
        | set(cursors)
        | set(snapshot.dead_letters)
        | set(snapshot.work)
        | set(runs)
        | set(outcomes)
    )
    streams = []
    for name in names:
        run = runs.get(name)
        lag = snapshot.cursor_lag.get(name)
        streams.append(
            {
                "name": name,
                "last_run": when(datetime.fromtimestamp(run.at, UTC)) if run else None,
                "ok": run.ok if run else None,
                "error": clip(run.error, REASON_LIMIT) if run and run.error else None,
                "lag_seconds": None if lag is None else round(lag),
                "lag": duration(lag),
                "outcomes": sorted(outcomes.get(name, {}).items()),
                "dead_letters": snapshot.dead_letters.get(name, 0),
                "work": snapshot.work.get(name, 0),
            }
        )
    letters = store.dead_letters()
    queued = {(w.stream, w.record_id) for w in store.work() if w.kind == "retry"}
    context: dict[str, Any] = {
        "now": when(now),
        "started": when(datetime.fromtimestamp(service.started_at, UTC)),
        "streams": streams,
        "budget": budget_rows(snapshot.budget),
        "letters_total": len(letters),
        "letters": [
            {
                "record_id": clip(d.record_id, CELL_LIMIT),
                "stream": d.stream,
                "code": clip(d.code or "-", CELL_LIMIT),
                "fields": clip(", ".join(d.fields) or "-", CELL_LIMIT),
                "attempts": d.attempts,
                "last_failed": when(d.last_failed_at),
                "reason": clip(d.reason, REASON_LIMIT),
                "queued": (d.stream, d.record_id) in queued,
                "retryable": d.stream in RETRYABLE and (d.stream, d.record_id) not in queued,
            }
            for d in letters[:LETTER_LIMIT]
        ],
        "decisions": [
            _decision(e.record_id, e.at, e.details)
            for e in store.recent_audit("routing", limit=DECISION_LIMIT)
        ],
    }
    reports = panels(store, now)
    context |= {
        "days": reports.days,
        "cohort": reports.cohort,
        "since": reports.since.isoformat(),
        "won_note": WON_NOTE,
        "sla_note": reports.sla_note,
    }
    if reports.funnel:
        context["funnel"] = [
            {
                "stage": clip(r.stage, CELL_LIMIT),
                "count": r.count,
                "median": duration(_seconds(r.median_hours)),
                "p90": duration(_seconds(r.p90_hours)),
                "median_hours": "" if r.median_hours is None else repr(r.median_hours),
                "p90_hours": "" if r.p90_hours is None else repr(r.p90_hours),
            }
            for r in reports.funnel
        ]
        context["funnel_chart"] = funnel_chart(reports.funnel)
    if reports.sla is not None:
        context["sla"] = [
            {
                "owner": clip(r.owner, CELL_LIMIT),
                "queue": clip(r.queue, CELL_LIMIT),
                "handed_over": r.handed_over,
                "within": r.within,
                "breached": r.breached,
                "open_breaches": r.open_breaches,
            }
            for r in reports.sla
        ]
        context["sla_chart"] = sla_chart(reports.sla)
        context["breaches"] = [
            {
                "lead_id": clip(b.lead_id, CELL_LIMIT),
                "hubspot_id": clip(b.hubspot_id, CELL_LIMIT),
                "owner": clip(b.owner, CELL_LIMIT),
                "queue": clip(b.queue, CELL_LIMIT),
                "target": clip(b.target, CELL_LIMIT),
                "deadline": when(b.deadline),
            }
            for b in reports.breaches[:LETTER_LIMIT]
        ]
        context["breaches_total"] = len(reports.breaches)
    return context


def _seconds(hours: float | None) -> float | None:
    return None if hours is None else hours * 3600


def records_per_outcome(service: Service) -> dict[str, dict[str, int]]:
    """`leadbridge_records_total` by stream and outcome (this process, since it started)."""
    counts: dict[str, dict[str, int]] = {}
    for metric in service.metrics.records.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                stream, outcome = sample.labels["stream"], sample.labels["outcome"]
                counts.setdefault(stream, {})[outcome] = int(sample.value)
    return counts


def budget_rows(budget: dict[str, float] | Any) -> list[tuple[str, str, str]]:
    """(remote, figure, value) rows of the budget figures `/metrics` exports."""
    rows = []
    for key, value in sorted(budget.items()):
        remote, _, what = key.partition("_")
        if remote in ("salesforce", "hubspot"):
            rows.append((remote, what, f"{value:,.0f}"))
    return rows


def _decision(record_id: str | None, at: datetime, details: dict[str, Any]) -> dict[str, Any]:
    owner = details.get("owner") or {}
    lead = details.get("lead") or {}
    try:
        explain = "\n".join(clip(line, REASON_LIMIT) for line in explain_lines(details))
    except (KeyError, TypeError, AttributeError):
        explain = "(not readable: recorded by another leadbridge version)"
    return {
        "record_id": clip(record_id or "-", CELL_LIMIT),
        "at": when(at),
        "company": clip(str(lead.get("company") or "-"), CELL_LIMIT),
        "rule": clip(str(details.get("rule") or "-"), REASON_LIMIT),
        "owner": clip(str(owner.get("name") or owner.get("id") or "-"), CELL_LIMIT),
        "explain": explain,
    }
