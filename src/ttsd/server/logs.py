"""The log of `ttsd serve`: one format for ttsd, uvicorn and websockets, and no secrets.

Every record goes through one root handler whose `RedactingFilter` removes API keys
before anything is written (issue 8): uvicorn's access and `[accepted]` lines carry
`?api_key=` / `?access_token=`, and at debug level the websockets library logs the
upgrade's headers, `Authorization: Bearer ...` included, wrong keys as much as right
ones. The filter also escapes control characters, so a client string cannot forge a
log line, and caps a message's length, so one request cannot flood the log.

`QuietInvalidUtf8` turns uvicorn's traceback for a text frame that is not UTF-8 (a
client error, answered with close code 1007) into one line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote, unquote_plus

__all__ = [
    "LOG_FORMAT",
    "MAX_MESSAGE_CHARS",
    "REDACTED",
    "QuietInvalidUtf8",
    "RedactingFilter",
    "configure_logging",
    "quiet_client_errors",
    "redact",
]

#: The one format of every line `ttsd serve` logs.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Longest message of one record; the rest is cut (tracebacks are not).
MAX_MESSAGE_CHARS = 4000

#: What a secret is replaced with.
REDACTED = "***"

#: Query parameters that carry a key (protocol.md §1.2), compared after percent-decoding.
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
        return True


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


#: The logger uvicorn's WebSocket protocols (and the websockets library under them) use.
_UVICORN_ERROR = "uvicorn.error"


def quiet_client_errors() -> None:
    """Install `QuietInvalidUtf8` on uvicorn's error logger (once; safe to call again)."""
    logger = logging.getLogger(_UVICORN_ERROR)
    if not any(isinstance(f, QuietInvalidUtf8) for f in logger.filters):
        logger.addFilter(QuietInvalidUtf8())


class _ServeHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (a type of its own, to find it again)."""


def configure_logging(level: str, keys: Iterable[str] = ()) -> None:
    """Log every logger's records at `level` and above to stderr, in one format, redacted.

    For `ttsd serve`, which then runs uvicorn with `log_config=None`: uvicorn's and the
    websockets library's loggers have no handlers of their own and reach this one.
    Calling it again replaces the handler it installed before; others are left alone.
    """
    handler = _ServeHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(keys))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServeHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_client_errors()
