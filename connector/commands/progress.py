"""How a long one-off run shows where it stands: a progress bar on a terminal (records done,
rate, ETA, the Salesforce calls its budget share still allows), plain log events every
`interval` seconds otherwise (a runbook's log, CI, a pipe).

The bar is rich's (`rich.progress`): maintained, MIT, pure Python, it draws on stderr while the
report goes to stdout, and custom columns carry the budget left. tqdm would do the bar as well;
rich was already in every development install (import-linter uses it) and its columns need no
format-string tricks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog

from connector.streams.backfill.stream import Progress

log = structlog.get_logger(__name__)

#: Seconds between two plain progress lines.
LOG_INTERVAL = 10.0


class Display:
    """Shows `Progress` as it comes: call it with each; use it as a context manager."""

    def __init__(
        self,
        what: str,
        *,
        terminal: bool | None = None,
        interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.interval = interval
        self.clock = clock
        self._bar: Any = None
        self._task: Any = None
        self._started = clock()
        self._first: int | None = None
        self._logged = self._started

    def __enter__(self) -> Display:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} records/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[budget]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.what, total=None, rate="-", budget="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        if self._first is None:
            self._first = progress.done
        elapsed = max(now - self._started, 1e-9)
        rate = progress.done / elapsed
        budget = (
            "" if progress.calls_left is None else f"Salesforce calls left {progress.calls_left:,}"
        )
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=progress.done,
                total=progress.total,
                rate=f"{rate:,.0f}",
                budget=budget,
            )
            return
        if now - self._logged < self.interval:
            return
        self._logged = now
        left = (progress.total or 0) - progress.done
        log.info(
            "backfill.progress",
            what=self.what,
            done=progress.done,
            total=progress.total,
            per_second=round(rate, 1),
            eta_seconds=round(left / rate) if rate > 0 and progress.total else None,
            salesforce_calls_left=progress.calls_left,
            **progress.outcomes,
        )
