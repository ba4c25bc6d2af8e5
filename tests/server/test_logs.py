"""`ttsd.server.logs`: what the redacting filter does to one record (issue 8), and the
JSON format with the ids of the code that logged (issue 9)."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from ttsd.server.log_context import CONTEXT_ID, REQUEST_ID
from ttsd.server.logs import (
    MAX_MESSAGE_CHARS,
    JsonFormatter,
    QuietInvalidUtf8,
    RedactingFilter,
    configure_logging,
    redact,
)
from ttsd.server.request_id import RequestIdMiddleware

KEY = "sk-SECRET-1234abcd"


def record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    """A record as `logger.info(msg, *args)` would make it (with the current exception)."""
    return logging.LogRecord(
        "test", logging.INFO, __file__, 1, msg, args, sys.exc_info() if exc else None
    )


def rendered(rec: logging.LogRecord) -> str:
    """The record as the handler writes it."""
    assert RedactingFilter([KEY]).filter(rec)
    return logging.Formatter("%(message)s").format(rec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"GET /v?limit=2&api_key=abc HTTP/1.1" 200', '"GET /v?limit=2&api_key=*** HTTP/1.1" 200'),
        ("/tts/websocket?ACCESS_TOKEN=abc&x=1", "/tts/websocket?ACCESS_TOKEN=***&x=1"),
        ("/tts/websocket?api%5Fkey=abc", "/tts/websocket?api%5Fkey=***"),
        ("< authorization: Bearer abc", "< authorization: ***"),
        ("< X-API-Key: abc", "< X-API-Key: ***"),
        ("(b'authorization', b'Bearer abc')", "(b'authorization', b'***')"),
        ("token: bearer abc, then", "token: bearer ***, then"),
        (f"GET /voices/{KEY}", "GET /voices/***"),
        ("GET /voices?api_key=sk%2DSECRET", "GET /voices?api_key=***"),
        ("voice 'en_US-joe-medium' at 22050 Hz", "voice 'en_US-joe-medium' at 22050 Hz"),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    assert redact(text, [KEY]) == expected


def test_a_configured_key_goes_wherever_it_is_also_percent_encoded() -> None:
    key = "k/ey+1"
    rec = record("path %s and %s and %s", f"/{key}/", "k%2Fey%2B1", "k/ey%2B1")
    assert RedactingFilter([key]).filter(rec)
    assert rec.getMessage() == "path /***/ and *** and ***"


def test_control_characters_are_escaped_and_a_long_message_cut() -> None:
    assert rendered(record("context %s", "a\nFAKE 200\r\x1b[31m\u2028")) == (
        "context a\\nFAKE 200\\r\\x1b[31m\\u2028"
    )
    line = rendered(record("text %s", "x" * 40_000))
    assert len(line) < MAX_MESSAGE_CHARS + 40 and line.endswith(f"({40_005} chars)")


def failed_request() -> logging.LogRecord:
    """A record of an exception whose text quotes a key (as a logged request might)."""

    def fail() -> None:
        raise ValueError(f"bad header\nAuthorization: Bearer {KEY}")

    try:
        fail()
    except ValueError:
        return record("request failed", exc=True)
    raise AssertionError("fail() did not raise")


def test_a_traceback_stays_whole_and_is_redacted() -> None:
    text = rendered(failed_request())
    assert text.startswith("request failed\nTraceback (most recent call last):\n")
    assert "in fail\n" in text and "Authorization: ***" in text and KEY not in text


def test_filtering_twice_changes_nothing() -> None:
    rec = record("%s?api_key=%s\n", "/voices", KEY)
    once = rendered(rec)
    assert rendered(rec) == once == "/voices?api_key=***"


def test_the_utf8_filter_leaves_other_records_alone() -> None:
    try:
        b"\xff".decode()
    except UnicodeDecodeError:
        other = record("Exception in ASGI application\n", exc=True)
    assert QuietInvalidUtf8().filter(other) and other.exc_info is not None


def test_configure_logging_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging("debug", [KEY])
        configure_logging("warning", [KEY])
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and root.level == logging.WARNING
        assert all(h in root.handlers for h in before)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def json_line(rec: logging.LogRecord, keys: list[str] | None = None) -> dict[str, Any]:
    """The record as `--log-format json` writes it: one line, one object."""
    assert RedactingFilter(keys if keys is not None else [KEY]).filter(rec)
    line = JsonFormatter().format(rec)
    assert "\n" not in line and "\r" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_json_has_the_fixed_keys_then_the_extras() -> None:
    rec = record("context %s done", "c1")
    rec.__dict__.update(characters=12, real_time_factor=0.25, outcome="done")
    line = json_line(rec)
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["level"] == "INFO" and line["logger"] == "test"
    assert line["message"] == "context c1 done"
    assert (line["characters"], line["real_time_factor"], line["outcome"]) == (12, 0.25, "done")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert "request_id" not in line and "context_id" not in line  # not known here


def test_json_ids_come_from_the_running_code() -> None:
    request_token = REQUEST_ID.set("r-1")
    context_token = CONTEXT_ID.set("c-1")
    try:
        line = json_line(record("something"))
        assert (line["request_id"], line["context_id"]) == ("r-1", "c-1")
        # An id passed with `extra=` wins (a summary line names its own context).
        rec = record("summary")
        rec.context_id = "c-2"
        assert json_line(rec)["context_id"] == "c-2"
    finally:
        CONTEXT_ID.reset(context_token)
        REQUEST_ID.reset(request_token)


def test_json_extras_are_redacted_and_safe() -> None:
    rec = record("x")
    rec.__dict__.update(
        context_id=f"a\nFAKE\u2028{KEY}", nested={"k": [1, 2]}, thing=object(), big=2**70
    )
    line = json_line(rec)
    assert line["context_id"] == "a\\nFAKE\\u2028***"
    assert line["nested"] == {"k": [1, 2]} and line["big"] == 2**70
    assert line["thing"].startswith("<object object at")


def test_json_fixed_keys_win_and_noise_is_dropped() -> None:
    rec = record("hello")
    rec.__dict__.update(level="forged", color_message="\x1b[1mhello", websocket=object())
    line = json_line(rec)
    assert line["level"] == "INFO"
    assert "color_message" not in line and "websocket" not in line


def test_json_exception_is_one_redacted_string() -> None:
    line = json_line(failed_request())
    assert line["message"] == "request failed"
    assert line["exception"].startswith("Traceback (most recent call last):\n")
    assert "Authorization: ***" in line["exception"] and KEY not in json.dumps(line)


def test_configure_logging_writes_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging("info", [KEY], "json")
        # (uvicorn.access itself may be left at WARNING by a test server of another test)
        logging.getLogger("ttsd.test.access").info(
            '%s - "GET /?api_key=%s HTTP/1.1" 200', "ip", KEY
        )
        logging.getLogger("ttsd.test").debug("below the level")
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == [
        'ip - "GET /?api_key=*** HTTP/1.1" 200'
    ]
    with pytest.raises(ValueError, match="log format must be 'text' or 'json', not 'yaml'"):
        configure_logging("info", [], "yaml")


async def test_the_request_id_middleware_sets_the_id_for_the_request_only() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(REQUEST_ID.get())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        seen.append(REQUEST_ID.get())  # where uvicorn logs its access line
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    await RequestIdMiddleware(app)({"type": "http", "headers": []}, receive, send)
    header = dict(sent[0]["headers"])[b"x-request-id"].decode()
    assert seen == [header, header, header]
    assert REQUEST_ID.get() is None  # not left behind for the next request
