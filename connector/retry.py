"""The one retry policy factory: tenacity, retrying only what is transient.

Retries `RetriableApiError` (429, 5xx, `UNABLE_TO_LOCK_ROW`, connection failures that the
gateways turn into it), waiting what the server asked (`Retry-After`, clamped) or exponential
back-off with jitter; never a 4xx data error. `sleep` is injectable so tests are instant and can
count attempts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import structlog
import tenacity

from connector.errors import RetriableApiError

log = structlog.get_logger(__name__)

#: Longest wait a `Retry-After` may ask for; longer asks are clamped to it.
MAX_RETRY_AFTER = 60.0


def retry_after(headers: Mapping[str, str] | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP-date), clamped to 0..MAX_RETRY_AFTER;
    None when the answer has no usable one."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _wait(max_wait: float) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_exponential_jitter(initial=1, max=max_wait)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableApiError) and exc.retry_after is not None:
            return max(0.0, min(float(exc.retry_after), max_wait))
        return backoff(state)

    return wait


def retry_policy(
    remote: str,
    *,
    attempts: int = 5,
    max_wait: float = 60.0,
    sleep: Callable[[float], Any] | None = None,
) -> tenacity.Retrying:
    """A `tenacity.Retrying` for calls to `remote` ("salesforce", "hubspot")."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "api.retry",
            remote=remote,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
            status=getattr(exc, "status", None),
            code=getattr(exc, "code", None),
        )

    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetriableApiError),
        wait=_wait(max_wait),
        stop=tenacity.stop_after_attempt(attempts),
        before_sleep=before_sleep,
        reraise=True,
        **kwargs,
    )
