"""Parsing what the server sends, for both twins: WebSocket frames, SSE events, error
bodies, voices and voice pages.

Parsing is lenient, like the official SDK's (a missing or mistyped field becomes None),
but never guesses silently where it matters: a frame without `type` is typed from its
fields (`data` → chunk, ...) rather than treated as audio.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ttsd.client.errors import APIError, api_error
from ttsd.client.types import (
    Chunk,
    Done,
    Error,
    FlushDone,
    PhonemeTimestamps,
    PhonemeTimings,
    Response,
    Timestamps,
    Voice,
    WordTimings,
)

_LOGGER = logging.getLogger("ttsd.client")
_T = TypeVar("_T", WordTimings, PhonemeTimings)


def parse_frame(data: str | bytes) -> Response:
    """One WebSocket frame or SSE `data:` payload. Raises ValueError if it is not a JSON
    object."""
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"not a JSON object: {type(obj).__name__}")
    return response_from_dict(obj)


def response_from_dict(obj: Mapping[str, Any]) -> Response:
    """The typed response for a decoded frame (an unknown `type` gives a plain `Response`)."""
    kind = _str(obj.get("type")) or _infer_type(obj)
    common: dict[str, Any] = {
        "context_id": _str(obj.get("context_id")),
        "status_code": _int(obj.get("status_code")),
        "flush_id": _int(obj.get("flush_id")),
        "raw": obj,
    }
    done = obj.get("done") is True
    if kind == "chunk":
        return Chunk(
            done=done,
            audio=_audio(obj.get("data")),
            step_time=_float(obj.get("step_time")),
            **common,
        )
    if kind == "timestamps":
        return Timestamps(
            done=done,
            word_timestamps=_timings(obj.get("word_timestamps"), WordTimings, "words"),
            **common,
        )
    if kind == "phoneme_timestamps":
        return PhonemeTimestamps(
            done=done,
            phoneme_timestamps=_timings(obj.get("phoneme_timestamps"), PhonemeTimings, "phonemes"),
            **common,
        )
    if kind == "flush_done":
        return FlushDone(done=done, **common)
    if kind == "done":
        return Done(**common)
    if kind == "error":
        title, message = _str(obj.get("title")), _str(obj.get("message"))
        legacy = _str(obj.get("error"))
        if title is None and message is None and legacy:
            title, _, message_part = legacy.partition(": ")
            message = message_part or None
        return Error(
            error_code=_str(obj.get("error_code")),
            title=title,
            message=message,
            request_id=_str(obj.get("request_id")),
            **common,
        )
    return Response(type=kind or "", done=done, **common)


def error_of(response: Error) -> APIError:
    """The exception for an `error` frame or event."""
    return api_error(
        response.status_code,
        title=response.title,
        message=response.message,
        error_code=response.error_code,
        request_id=response.request_id,
        context_id=response.context_id,
    )


def http_error(status_code: int, body: bytes, reason: str = "") -> APIError:
    """The exception for an HTTP error response: a JSON body ``{title, message, error_code,
    request_id}``, or a plain-text ``Title: Message`` body."""
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        obj = None
    if isinstance(obj, dict):
        title = _str(obj.get("title"))
        message = _str(obj.get("message")) or _str(obj.get("detail")) or _str(obj.get("error"))
        return api_error(
            status_code,
            title=title or reason or None,
            message=message,
            error_code=_str(obj.get("error_code")),
            request_id=_str(obj.get("request_id")),
        )
    text = body.decode("utf-8", "replace").strip()
    title, sep, message = text.partition(": ")
    if not sep or "\n" in title:
        title, message = reason or "Error", text
    return api_error(status_code, title=title or None, message=message or None)


def voice_from_dict(obj: Mapping[str, Any]) -> Voice:
    """A `Voice` from its JSON object (raises ValueError without an `id`)."""
    voice_id = _str(obj.get("id"))
    if not voice_id:
        raise ValueError(f"a voice without an id: {dict(obj)!r}")
    return Voice(
        id=voice_id,
        name=_str(obj.get("name")) or "",
        description=_str(obj.get("description")) or "",
        language=_str(obj.get("language")) or "",
        created_at=_str(obj.get("created_at")) or "",
        is_owner=obj.get("is_owner") is True,
        is_public=obj.get("is_public") is not False,
        gender=_str(obj.get("gender")),
        country=_str(obj.get("country")),
        engine=_str(obj.get("engine")) or "",
        license=_str(obj.get("license")) or "",
        source=_str(obj.get("source")) or "",
        raw=obj,
    )


@dataclass(frozen=True)
class VoicePage:
    """One page of `GET /voices`."""

    voices: list[Voice]
    has_more: bool | None
    next_page: str | None


def voice_page(data: Any) -> VoicePage:
    """A page: ``{"data": [...], "has_more", "next_page"}`` (or an older bare list)."""
    if isinstance(data, list):
        return VoicePage([voice_from_dict(v) for v in data if isinstance(v, dict)], False, None)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("GET /voices: expected an object with a `data` list")
    has_more = data.get("has_more")
    return VoicePage(
        [voice_from_dict(v) for v in data["data"] if isinstance(v, dict)],
        has_more if isinstance(has_more, bool) else None,
        _str(data.get("next_page")),
    )


class VoicePager:
    """Cursor paging over `GET /voices` until an empty page (sans-I/O).

    Forward with `starting_after` (the server's `next_page`, else the last id), or
    backward with `ending_before` when that was given. Stops at an empty page, at
    ``has_more: false``, or if the cursor stops moving (a server ignoring the cursor
    must not make the loop endless).
    """

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = dict(params)
        self._backward = "ending_before" in self.params
        self._seen: set[str] = set()

    def next_params(self, page: VoicePage) -> dict[str, str] | None:
        """The query for the page after `page`, or None when paging is over."""
        if not page.voices or page.has_more is False:
            return None
        if self._backward:
            key, cursor = "ending_before", page.voices[0].id
        else:
            key, cursor = "starting_after", page.next_page or page.voices[-1].id
        if cursor in self._seen or cursor == self.params.get(key):
            return None
        self._seen.add(cursor)
        self.params[key] = cursor
        return dict(self.params)


class SSEDecoder:
    """Server-sent events, line by line: returns each event's `data` (lines joined by
    ``\\n``) at the blank line that ends it. `event:`, `id:` and comments are ignored, as
    the official SDKs ignore them."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def line(self, line: str) -> str | None:
        """Feed one line (without its line ending)."""
        line = line.rstrip("\r\n")
        if not line:
            return self.end()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def end(self) -> str | None:
        """End the current event (also at the end of the stream)."""
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data


def _infer_type(obj: Mapping[str, Any]) -> str | None:
    if obj.get("title") is not None or obj.get("error") is not None:
        return "error"
    if obj.get("flush_done") is True:
        return "flush_done"
    if "data" in obj:
        return "chunk"
    if "word_timestamps" in obj:
        return "timestamps"
    if "phoneme_timestamps" in obj:
        return "phoneme_timestamps"
    if obj.get("done") is True:
        return "done"
    return None


def _audio(data: Any) -> bytes:
    if not isinstance(data, str):
        return b""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        _LOGGER.warning("a chunk's `data` is not base64; its audio is dropped")
        return b""


def _timings(obj: Any, cls: type[_T], labels: str) -> _T:
    """Word or phoneme timings: `labels` ("words", "phonemes") with `start` and `end`."""
    if not isinstance(obj, dict):
        return cls()
    return cls(_strs(obj.get(labels)), _floats(obj.get("start")), _floats(obj.get("end")))


def _strs(values: Any) -> tuple[str, ...]:
    # Anything but a list is no labels: `"words": 5` raised TypeError here, which failed
    # every context of the WebSocket connection (and ended an SSE stream).
    return tuple([str(v) for v in values]) if isinstance(values, list) else ()


def _floats(values: Any) -> tuple[float, ...]:
    if not isinstance(values, list):
        return ()
    # A list comprehension and a tuple for isinstance: half the time of a generator with
    # `int | float` (20 timestamps: 2 µs instead of 4; benchmarks/sdk_frames.py).
    return tuple(
        [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
