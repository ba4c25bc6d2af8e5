"""The log of `ttsd serve`: one format for ttsd, uvicorn and websockets, and no secrets.

Every record goes through one root handler whose `RedactingFilter` removes API keys
before anything is written (issue 8): uvicorn's access and `[accepted]` lines carry
`?api_key=` / `?access_token=`, and at debug level the websockets library logs the
upgrade's headers, `Authorization: Bearer ...` included, wrong keys as much as right
ones. The filter also escapes control characters, so a client string cannot forge a
log line, and caps a message's length, so one request cannot flood the log.

`--log-format json` writes one JSON object per line instead (`JsonFormatter`): `time`,
`level`, `logger`, `message`, the `request_id` and `context_id` of the code that logged
(server/log_context.py) where known, any other field a caller passed with `extra=`, and a
traceback as the string `exception`. The redacting filter runs before either format.

`QuietInvalidUtf8` turns uvicorn's traceback for a text frame that is not UTF-8 (a
client error, answered with close code 1007) into one line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, unquote_plus

import orjson

from ttsd.server.log_context import CONTEXT_ID, HANDSHAKE_REFUSED, REQUEST_ID

__all__ = [
    "LOG_FORMAT",
    "MAX_MESSAGE_CHARS",
    "REDACTED",
    "JsonFormatter",
    "QuietInvalidUtf8",
    "QuietRefusedHandshake",
    "QuietWebSocketAccess",
    "RedactingFilter",
    "configure_logging",
    "quiet_client_errors",
    "redact",
]

#: The one format of every line `ttsd serve` logs as text.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Attributes every LogRecord has; any other was passed with `extra=` (or set by a filter).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
#: Extras of other libraries that are not worth a field: uvicorn's startup lines repeat
#: their message with ANSI colours, and the websockets library attaches its protocol object.
_NOISE = frozenset({"color_message", "websocket"})
#: The ids a record gets from server/log_context.py.
_IDS = (("request_id", REQUEST_ID), ("context_id", CONTEXT_ID))

#: Longest message of one record; the rest is cut (tracebacks are not).
MAX_MESSAGE_CHARS = 4000

#: What a secret is replaced with.
REDACTED = "***"

#: Query parameters that carry a key (docs/protocol.md §1.2), compared after percent-decoding.
SECRET_PARAMS = frozenset({"api_key", "access_token"})

# `name=value` pairs of a query string (also inside a repr of the raw query bytes).
_PARAM = re.compile(r"(?<![\w%.+-])([\w%.+-]+)=([^&\s'\"#]*)")
# A header with a key, as `name: value`, `'name': 'value'` or `(b'name', b'value')`; the
# value runs to the end of the line or the closing quote.
_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization|x-api-key)(['\"]?\s*[:=,]\s*(?:b?['\"])?)([^'\"\r\n]*)"
)
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[^\s'\",;]+")
# C0, DEL, C1 and the Unicode line and paragraph separators: each could end a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def _redact_param(match: re.Match[str]) -> str:
    if unquote_plus(match.group(1)).lower() in SECRET_PARAMS:
        return f"{match.group(1)}={REDACTED}"
    return match.group()


def redact(text: str, keys: Iterable[str] = ()) -> str:
    """`text` with every key in `keys`, and whatever is shaped like a key, replaced.

    Configured keys go wherever they appear (also percent-encoded); wrong keys are caught
    by where they stand: a key query parameter, a key header, or after `Bearer`.
    """
    for key in keys:
        text = text.replace(key, REDACTED)
    text = _PARAM.sub(_redact_param, text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message: secrets redacted, control characters escaped, cut.

    On the handler, so it sees every record that will be written, whichever logger it
    came from. Its work is idempotent: a record that passes twice is unchanged.
    """

    def __init__(self, keys: Iterable[str] = (), max_chars: int = MAX_MESSAGE_CHARS) -> None:
        super().__init__()
        # The literal key and its percent-encoded forms (a key in a logged path or query);
        # longest first, so a key that contains another is replaced whole.
        forms = {form for key in keys if key for form in (key, quote(key), quote(key, safe=""))}
        self._keys = sorted(forms, key=len, reverse=True)
        self._max_chars = max_chars
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what there is, still redacted
            message = f"{record.msg!r} % {record.args!r}"
        # A trailing newline (uvicorn's "Exception in ASGI application\n") ends the line anyway.
        message = _CONTROL.sub(_escape, redact(message, self._keys).rstrip("\r\n"))
        if len(message) > self._max_chars:
            message = f"{message[: self._max_chars]}… ({len(message)} chars)"
        record.msg, record.args = message, None
        # A traceback stays whole and readable (it is the server's, not a client's), but
        # an exception's text may quote a request: format it now and redact that.
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._keys)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._keys)
        # Fields passed with `extra=` (a context id is a client's string) and the ids of
        # the code that logged: redacted and escaped like the message.
        for name, var in _IDS:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, self._clean(value))
        return True

    def _clean(self, text: str) -> str:
        text = _CONTROL.sub(_escape, redact(text, self._keys))
        if len(text) > self._max_chars:
            text = f"{text[: self._max_chars]}… ({len(text)} chars)"
        return text


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields of `record` beyond a LogRecord's own (from `extra=`), noise left out."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _RECORD_ATTRIBUTES and name not in _NOISE and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (`--log-format json`).

    Keys: `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `message`, then
    `request_id` and `context_id` where known, any field passed with `extra=`, and
    `exception` / `stack` as strings. The fixed keys win over an extra of the same name.
    Expects `RedactingFilter` to have run: the message and the traceback it writes are the
    redacted ones (`record.msg`, `record.exc_text`), never formatted again from the raw
    exception, which is why this is not a third-party JSON formatter.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (control characters escaped by JSON itself)."""
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extras(record).items():
            if value is not None:
                fields.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exception"] = record.exc_text
        if record.stack_info:
            fields["stack"] = record.stack_info
        try:
            return orjson.dumps(fields, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):  # e.g. an int beyond 64 bits
            return json.dumps(fields, default=str, ensure_ascii=False, separators=(",", ":"))


class QuietInvalidUtf8(logging.Filter):
    """uvicorn's "Invalid UTF-8 sequence" error as one INFO line without its traceback.

    uvicorn's WebSocket protocol logs it with `logger.exception` when a client's text
    frame does not decode, then closes the connection with 1007, which is right: the
    client is at fault, and a traceback per such frame lets any client flood the log.
    """

    MESSAGE = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite uvicorn's record (dropped below INFO's level); pass any other."""
        exc = record.exc_info[1] if record.exc_info else None
        if record.msg != self.MESSAGE or not isinstance(exc, UnicodeDecodeError):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.INFO):
            return False
        record.msg = "WebSocket text frame is not valid UTF-8 (%s): closing with 1007"
        record.args = (exc.reason,)
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info, record.exc_text = None, None
        return True


class QuietWebSocketAccess(logging.Filter):
    """Drops uvicorn's per-WebSocket access lines, for `--no-access-log`.

    uvicorn's `access_log=False` silences its `uvicorn.access` logger, which has the HTTP
    lines only: the WebSocket handshake's `"WebSocket /path" [accepted]` (or its status),
    and the websockets library's `connection open` / `connection closed` / `connection
    rejected`, come on `uvicorn.error` whatever it is set to. They are told apart by their
    format strings (uvicorn/protocols/websockets/*_impl.py, websockets/server.py).
    """

    TEMPLATES = frozenset(
        {
            '%s - "WebSocket %s" [accepted]',
            '%s - "WebSocket %s" 403',
            '%s - "WebSocket %s" %d',
            "connection open",
            "connection closed",
            "connection rejected (%d %s)",
        }
    )

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a WebSocket access line; True for any other."""
        return not (record.levelno <= logging.INFO and record.msg in self.TEMPLATES)


#: The logger uvicorn's WebSocket protocols (and the websockets library under them) use.
_UVICORN_ERROR = "uvicorn.error"


class QuietRefusedHandshake(logging.Filter):
    """Drops uvicorn's "returned without completing handshake" ERROR after a refusal.

    A WebSocket handshake that ttsd refuses with an HTTP response (a wrong key: 401; a
    draining server: 503) is answered through the ASGI denial-response extension, and
    the client gets that response. uvicorn's sans-I/O WebSocket protocol then still
    logs an ERROR, as if the app had forgotten to answer; on a rolling restart that is
    one false ERROR per refused client. Only records of the task that refused
    (`HANDSHAKE_REFUSED`) are dropped: an app that really returns without answering is
    still logged.
    """

    MESSAGE = "ASGI callable returned without completing handshake."

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the record that follows a refusal; True for any other."""
        return not (record.msg == self.MESSAGE and HANDSHAKE_REFUSED.get())


def quiet_client_errors() -> None:
    """Install `QuietInvalidUtf8` and `QuietRefusedHandshake` on uvicorn's error logger
    (once; safe to call again)."""
    logger = logging.getLogger(_UVICORN_ERROR)
    for quiet in (QuietInvalidUtf8, QuietRefusedHandshake):
        if not any(isinstance(f, quiet) for f in logger.filters):
            logger.addFilter(quiet())


class _ServeHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (a type of its own, to find it again)."""


def configure_logging(
    level: str, keys: Iterable[str] = (), fmt: str = "text", access_log: bool = True
) -> None:
    """Log every logger's records at `level` and above to stderr, in one format, redacted.

    `fmt` is `text` (`LOG_FORMAT`) or `json` (`JsonFormatter`). For `ttsd serve`, which
    then runs uvicorn with `log_config=None`: uvicorn's and the websockets library's
    loggers have no handlers of their own and reach this one. Without `access_log`,
    uvicorn's WebSocket access lines are dropped too (its `access_log=False` drops the
    HTTP ones). Calling it again replaces the handler it installed before, and the access
    filter; other handlers are left alone.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    handler = _ServeHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(keys))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServeHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_client_errors()
    uvicorn_error = logging.getLogger(_UVICORN_ERROR)
    for quiet in [f for f in uvicorn_error.filters if isinstance(f, QuietWebSocketAccess)]:
        uvicorn_error.removeFilter(quiet)
    if not access_log:
        uvicorn_error.addFilter(QuietWebSocketAccess())
