"""One exception root, split by what the caller must do about it.

Every message names what it is about: the file and line, the record and the field, the setting.
"""

from __future__ import annotations

from typing import Any


class LeadbridgeError(Exception):
    """Root of every error leadbridge raises on purpose."""


class ConfigError(LeadbridgeError):
    """A setting is missing or wrong, or a host cannot be reached: fix the configuration."""


class MappingError(LeadbridgeError):
    """A mapping file is invalid: nothing may be written until it is fixed."""


class ApiError(LeadbridgeError):
    """A remote API answered with an error; `status` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RetriableApiError(ApiError):
    """Transient (429, 5xx, lock contention, connection): try again after `retry_after` s."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class Unreachable(RetriableApiError):
    """No answer at all (timed out, connection reset): retried like any transient failure;
    once attempts run out, reported as a `ConfigError` naming `setting`, the setting that names
    the host (`connector.unreachable.gave_up`). `url` is already fit to show (no password)."""

    def __init__(
        self,
        message: str,
        *,
        remote: str,
        url: str,
        cause: str,
        setting: str,
        code: str | None = None,
    ) -> None:
        super().__init__(message, status=0, code=code)
        self.remote = remote
        self.url = url
        self.cause = cause
        self.setting = setting


class ReauthRequired(ApiError):
    """The session expired or was revoked: log in again, then retry once."""


class FatalApiError(ApiError):
    """The call cannot succeed as made (bad request, no permission, limit spent): stop the pass."""


class BudgetReserved(LeadbridgeError):
    """A call would spend the part of an API budget kept for people: it was not sent. Nothing
    is wrong; the work goes on once the budget has room (`sync --once` exits 75, EX_TEMPFAIL).

    `summary` is what the stream that stopped had done by then, when one was running."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.summary: Any = None


class RecordRejected(LeadbridgeError):
    """One record cannot be written: dead-letter it with the reason; the rest goes on."""

    def __init__(
        self, record_id: str, message: str, *, code: str | None = None, fields: tuple[str, ...] = ()
    ) -> None:
        super().__init__(f"{record_id}: {message}")
        self.record_id = record_id
        self.reason = message
        self.code = code
        self.fields = fields


class StreamBusy(LeadbridgeError):
    """Another run holds the stream (a second process, or another thread of this one), and a
    stream runs once at a time: wait, or try again later. `holder` names it when known
    ("pid 1234 on host"); `waited` is how long this run was willing to wait (0: not at all)."""

    def __init__(
        self, stream: str, *, holder: str | None, waited: float, stopping: bool = False
    ) -> None:
        who = f"another leadbridge ({holder})" if holder else "another leadbridge"
        if stopping:
            how = "stopped waiting for it: this process is stopping"
        elif waited <= 0:
            how = "not waiting for it to finish"
        else:
            how = f"gave up after waiting {waited:g} s for it to finish"
        super().__init__(f"stream {stream} is held by {who}: {how}")
        self.stream = stream
        self.holder = holder
        self.waited = waited
