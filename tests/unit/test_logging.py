"""Log output as an operator sees it: JSON lines or console, never a secret, PII masked."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from connector.display import LOG_LIMIT
from connector.logging import Redactor, configure_logging, mask_email, mask_phone
from connector.urls import shown_url

SF_SESSION = "00DKb0000000001EAA!AQEAQH3l5Q.xk_9TzPq8secretpart"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrZXkifQ.c2lnbmF0dXJlLXNlY3JldA"
HUBSPOT_TOKEN = "pat-na1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Each test configures logging afresh; the next test starts from structlog's defaults."""
    root = logging.getLogger()
    level = root.level
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    for handler in [h for h in root.handlers if h.get_name() == "leadbridge"]:
        root.removeHandler(handler)
    root.setLevel(level)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def logged(*, redact_pii: bool = True, **fields: Any) -> tuple[str, dict[str, Any]]:
    """Log one `contact.synced` event with `fields` as JSON; the raw text and the parsed line."""
    stream = io.StringIO()
    configure_logging("json", redact_pii=redact_pii, stream=stream)
    structlog.get_logger("test").info("contact.synced", **fields)
    (line,) = json_lines(stream)
    return stream.getvalue(), line


def test_json_lines_carry_timestamp_level_event_and_fields() -> None:
    """Each event is one JSON object per line, with an ISO UTC timestamp and its level."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log = structlog.get_logger("test")
    log.info("sync.page", stream="hubspot.contacts", count=3)
    log.warning("sync.slow", wait_s=1.5)
    first, second = json_lines(stream)
    assert {k: first[k] for k in ("event", "level", "stream", "count")} == {
        "event": "sync.page",
        "level": "info",
        "stream": "hubspot.contacts",
        "count": 3,
    }
    stamp = datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert (second["event"], second["level"], second["wait_s"]) == ("sync.slow", "warning", 1.5)


def test_context_variables_appear_in_every_line() -> None:
    """run_id, stream and record_id bound once show on each event logged while bound."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.contextvars.bind_contextvars(run_id="run-7f3a", stream="hubspot.contacts")
    log = structlog.get_logger("test")
    with structlog.contextvars.bound_contextvars(record_id="101"):
        log.info("record.written")
    log.info("sync.done")
    first, second = json_lines(stream)
    assert (first["run_id"], first["stream"], first["record_id"]) == (
        "run-7f3a",
        "hubspot.contacts",
        "101",
    )
    assert second["run_id"] == "run-7f3a"
    assert "record_id" not in second


def test_auto_is_json_off_a_terminal_and_console_on_one() -> None:
    """`auto` renders JSON into a pipe or file, and the console view on a terminal."""
    piped = io.StringIO()
    configure_logging("auto", stream=piped)
    structlog.get_logger("test").info("sync.page", count=3)
    assert json_lines(piped)[0]["count"] == 3

    terminal = Terminal()
    configure_logging("auto", stream=terminal)
    structlog.get_logger("test").info("sync.page", count=3)
    text = terminal.getvalue()
    assert "sync.page" in text and "count" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_console_format_shows_event_and_fields_redacted() -> None:
    """The console view is readable key=value text, redacted like JSON."""
    stream = io.StringIO()
    configure_logging("console", stream=stream)
    structlog.get_logger("test").info("sync.page", count=3, email="sven@globex.se", token="t-1")
    text = stream.getvalue()
    assert "sync.page" in text and "count=3" in text
    assert "email=s***@g***.se" in text and "token=[redacted]" in text
    assert "sven@globex.se" not in text and "t-1" not in text


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "access_token",
        "refreshToken",
        "password",
        "client_secret",
        "Authorization",
        "private_key",
        "assertion",
        "session_id",
        "sessionId",
        "api_key",
        "webhook_secret",
    ],
)
def test_secret_keys_are_redacted(key: str) -> None:
    """A value under any key that names a secret never reaches the output."""
    raw, line = logged(**{key: "s3cr3t-value", "count": 2})
    assert "s3cr3t-value" not in raw
    assert line[key] == "[redacted]"
    assert (line["event"], line["count"]) == ("contact.synced", 2)


def test_secrets_anywhere_are_redacted_even_without_pii_redaction() -> None:
    """SecretStr values, nested secret keys and tokens inside text go, whatever the PII setting."""
    for redact_pii in (True, False):
        raw, line = logged(
            redact_pii=redact_pii,
            settings={"user": "integration", "password": "hunter2"},
            values=[SecretStr("hunter3"), "ok"],
            request=f"Authorization: Bearer {JWT}",
            sf=f"session {SF_SESSION} expired",
            hubspot=f"token {HUBSPOT_TOKEN} refused",
            dsn="postgresql+psycopg://lb:db-pass-9@db:5432/lb",
        )
        for secret in ("hunter2", "hunter3", JWT, SF_SESSION, "AQEAQH3l5Q", HUBSPOT_TOKEN):
            assert secret not in raw
        assert "db-pass-9" not in raw
        assert line["settings"] == {"user": "integration", "password": "[redacted]"}
        assert line["values"] == ["[redacted]", "ok"]
        assert line["request"] == "Authorization: Bearer [redacted]"
        assert line["sf"] == "session [redacted] expired"
        assert line["hubspot"] == "token [redacted] refused"
        assert line["dsn"] == "postgresql+psycopg://lb:[redacted]@db:5432/lb"


def test_urls_are_masked_as_messages_mask_them() -> None:
    """A URL's userinfo secret goes from every field and from exception text, the way
    `shown_url` masks it in messages (with the log's marker): an `@` inside the password and a
    userinfo that is a token alone included."""
    try:
        msg = "cannot reach https://user:p@ss-9@login.test/services (refused)"
        raise ConnectionError(msg)
    except ConnectionError:
        raw, line = logged(
            login="https://user:p@ss-9@login.test",
            hubspot="https://tok3n-only@api.hubapi.test/crm",
            urls=["https://u:pw-2@a.test"],
            exc_info=True,
        )
    for secret in ("p@ss-9", "ss-9", "tok3n-only", "pw-2"):
        assert secret not in raw
    assert line["login"] == shown_url("https://user:p@ss-9@login.test", mask="[redacted]")
    assert line["login"] == "https://user:[redacted]@login.test"
    assert line["hubspot"] == "https://[redacted]@api.hubapi.test/crm"
    assert line["urls"] == ["https://u:[redacted]@a.test"]
    assert line["exception"].endswith(
        "ConnectionError: cannot reach https://user:[redacted]@login.test/services (refused)"
    )


def test_emails_are_masked_everywhere() -> None:
    """Emails in the event text, in fields and in nested dicts and lists show only masks."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.get_logger("test").info(
        "linked sven.svensson@globex.se to a lead",
        record_id="101",
        stream="hubspot.contacts",
        detail={"matches": ["Anna.Berg@Initech.co.uk", {"by": "li.wei@gmail.com"}]},
        reason="duplicate of o'brien@example.ie",
    )
    raw = stream.getvalue()
    for email in ("sven.svensson", "globex.se", "Anna.Berg", "Initech", "li.wei", "brien"):
        assert email not in raw
    (line,) = json_lines(stream)
    assert line["event"] == "linked s***@g***.se to a lead"
    assert line["detail"] == {"matches": ["A***@I***.c***.uk", {"by": "l***@g***.com"}]}
    assert line["reason"] == "duplicate of o***@e***.ie"
    assert (line["record_id"], line["stream"]) == ("101", "hubspot.contacts")


@pytest.mark.parametrize(
    "phone",
    [
        "+46701234567",
        "+46 70 123 45 67",
        "+1 (415) 555-0134",
        "(415) 555-0134",
        "020 7946 0123",
        "030-12345678",
        "+49 30 1234 5678",
        "555.123.4567",
    ],
)
def test_phone_numbers_are_masked(phone: str) -> None:
    """International and national phone formats are masked inside any text."""
    raw, line = logged(note=f"call {phone} today", mobile=[phone])
    assert phone not in raw
    assert line["note"] == f"call {mask_phone(phone)} today"
    assert line["mobile"] == [mask_phone(phone)]


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T10:00:00Z",
        "2026-11-23 10:00:00",
        "23.11.2026",
        "00Q000000000001AAA",
        "51234567890",
        "1700000000000",
        "took 0.12345678 s",
        "10.120.130.140",
        "v59.0",
        "batch 200 of 1000",
    ],
)
def test_ids_dates_and_numbers_are_not_taken_for_phones(text: str) -> None:
    """Record ids, timestamps and figures stay readable: only phone-shaped text is masked."""
    _, line = logged(value=text)
    assert line["value"] == text


def test_personal_data_keys_are_masked() -> None:
    """Name, email and phone fields show only a first character or the last two digits."""
    raw, line = logged(
        firstname="Sven",
        LastName="Svensson",
        name="Sven Svensson",
        email="sven@globex.se",
        phone=46701234567,
        MobilePhone="+46 70 765 43 21",
        company="Globex Nordics AB",
    )
    assert "Sven" not in raw and "Svensson" not in raw
    assert {k: line[k] for k in ("firstname", "LastName", "name", "email")} == {
        "firstname": "S***",
        "LastName": "S***",
        "name": "S***",
        "email": "s***@g***.se",
    }
    assert (line["phone"], line["MobilePhone"]) == ("*********67", "+** ** *** ** 21")
    assert line["company"] == "Globex Nordics AB"


def test_pii_redaction_can_be_turned_off() -> None:
    """With redact_pii=False emails, phones and names show as they are; secrets still do not."""
    raw, line = logged(
        redact_pii=False,
        email="sven@globex.se",
        firstname="Sven",
        note="call +46 70 123 45 67",
        password="hunter2",
    )
    assert (line["email"], line["firstname"], line["note"]) == (
        "sven@globex.se",
        "Sven",
        "call +46 70 123 45 67",
    )
    assert line["password"] == "[redacted]"
    assert "hunter2" not in raw


def test_exceptions_are_rendered_and_redacted() -> None:
    """A logged exception keeps its traceback, with emails and tokens in it masked."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        msg = f"sven@globex.se refused with Bearer {JWT}"
        raise RuntimeError(msg)
    except RuntimeError:
        structlog.get_logger("test").exception("push.failed")
    (line,) = json_lines(stream)
    assert line["event"] == "push.failed"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("RuntimeError: s***@g***.se refused with Bearer [redacted]")
    assert JWT not in stream.getvalue()


def test_standard_library_records_go_through_the_same_redaction() -> None:
    """Library logs (urllib3, werkzeug) come out as the same JSON lines, PII masked."""
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.contextvars.bind_contextvars(run_id="run-1")
    logging.getLogger("tests.library.connectionpool").warning(
        "GET /crm/v3/objects/contacts/%s?idProperty=email", "sven@globex.se"
    )
    (line,) = json_lines(stream)
    assert line["event"] == "GET /crm/v3/objects/contacts/s***@g***.se?idProperty=email"
    assert (line["logger"], line["level"], line["run_id"]) == (
        "tests.library.connectionpool",
        "warning",
        "run-1",
    )


def test_level_filters_events() -> None:
    """Events below the level are dropped; libraries speak from warning up unless debugging."""
    stream = io.StringIO()
    configure_logging("json", level="WARNING", stream=stream)
    log = structlog.get_logger("test")
    log.info("dropped")
    logging.getLogger("tests.library").info("dropped too")
    log.warning("kept")
    assert [line["event"] for line in json_lines(stream)] == ["kept"]

    stream = io.StringIO()
    configure_logging("json", level="info", stream=stream)
    structlog.get_logger("test").info("ours")
    logging.getLogger("tests.library").info("library chatter")
    logging.getLogger("tests.library").warning("library warning")
    assert [line["event"] for line in json_lines(stream)] == ["ours", "library warning"]

    stream = io.StringIO()
    configure_logging("json", level="debug", stream=stream)
    structlog.get_logger("test").debug("shown")
    logging.getLogger("tests.library").debug("library detail")
    assert [line["event"] for line in json_lines(stream)] == ["shown", "library detail"]


def test_reconfiguring_replaces_the_destination() -> None:
    """A second configure_logging sends everything to the new stream only (no duplicates)."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", stream=first)
    configure_logging("json", stream=second)
    structlog.get_logger("test").info("once")
    logging.getLogger("tests.library").warning("twice?")
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once", "twice?"]


def test_default_stream_follows_sys_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a stream, lines go to the current sys.stderr, even one swapped in after set-up."""
    before, after = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", before)
    configure_logging("auto")
    monkeypatch.setattr(sys, "stderr", after)
    before.close()  # as click's runner does with its captured stream
    structlog.get_logger("test").info("still.logged")
    logging.getLogger("tests.library").warning("this too")
    assert [line["event"] for line in json_lines(after)] == ["still.logged", "this too"]


def test_bad_format_or_level_is_refused() -> None:
    """A typo in the format or level fails loudly instead of logging nothing."""
    with pytest.raises(ValueError, match="log format 'xml'"):
        configure_logging("xml", stream=io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log level 'loud'"):
        configure_logging("json", level="loud", stream=io.StringIO())


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("sven.svensson@globex.se", "s***@g***.se"),
        ("Anna.Berg@mail.initech.co.uk", "A***@m***.i***.c***.uk"),
        ("jürgen.weiß@kaffeerösterei.de", "j***@k***.de"),
        ("x@y.io", "x***@y***.io"),
    ],
)
def test_email_mask_keeps_one_character_per_part(email: str, masked: str) -> None:
    """An email mask shows at most the first character of each part and the top-level domain."""
    assert mask_email(email) == masked
    _, line = logged(note=f"<{email}>")
    assert line["note"] == f"<{masked}>"


def test_redactor_returns_a_new_dict_and_leaves_the_input_alone() -> None:
    """The processor is pure: the caller's event dict is not modified."""
    event = {"event": "x", "email": "sven@globex.se", "nested": {"token": "t"}}
    out = Redactor()(None, "info", event)
    assert event == {"event": "x", "email": "sven@globex.se", "nested": {"token": "t"}}
    assert out == {"event": "x", "email": "s***@g***.se", "nested": {"token": "[redacted]"}}


COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # the console view's own colour codes


def test_console_view_never_prints_a_control_character_from_a_value() -> None:
    """A logged value, event or traceback with an escape sequence shows escaped on a terminal."""
    terminal = Terminal()
    configure_logging("console", stream=terminal)
    log = structlog.get_logger("test")
    log.warning("sync.record_failed", reason="\x1b]0;pwned\x07Smith", names=["\x1b[2J"])
    logging.getLogger("urllib3").warning("refused \x1b]0;pwned\x07 %s", "\x9b31m")
    try:
        msg = "bad \x1b[2J value"
        raise RuntimeError(msg)
    except RuntimeError:
        log.exception("push.failed")
    text = COLOURS.sub("", terminal.getvalue())
    assert all(line.isprintable() for line in text.splitlines()), text
    assert "\\x1b]0;pwned\\x07Smith" in text
    assert "RuntimeError: bad \\x1b[2J value" in text


def test_huge_values_are_clipped_with_their_length_in_json_and_console() -> None:
    """A 50 kB value logs as its start and its length; JSON escapes the rest itself."""
    _, line = logged(reason="Lorem ipsum\n" * 5000)
    assert len(line["reason"]) <= LOG_LIMIT
    assert line["reason"].startswith("Lorem ipsum\nLorem ipsum\n")
    assert line["reason"].endswith("… (60,000 chars)")
    terminal = Terminal()
    configure_logging("console", stream=terminal)
    structlog.get_logger("test").info("sync.page", reason="Lorem ipsum\n" * 5000)
    assert "(60,000 chars)" in terminal.getvalue()
    assert len(terminal.getvalue()) < 2 * LOG_LIMIT
