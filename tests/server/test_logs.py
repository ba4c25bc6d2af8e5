"""`ttsd.server.logs`: what the redacting filter does to one record (issue 8)."""

from __future__ import annotations

import logging
import sys

import pytest

from ttsd.server.logs import (
    MAX_MESSAGE_CHARS,
    QuietInvalidUtf8,
    RedactingFilter,
    configure_logging,
    redact,
)

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


def test_a_traceback_stays_whole_and_is_redacted() -> None:
    def fail() -> None:
        raise ValueError(f"bad header\nAuthorization: Bearer {KEY}")

    try:
        fail()
    except ValueError:
        rec = record("request failed", exc=True)
    text = rendered(rec)
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
