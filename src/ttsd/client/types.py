"""What the server sends back, as small frozen dataclasses.

Every response has `type` and `context_id`, and also the attributes the other types
carry, set to None: code written for the official SDK reads `response.flush_id`,
`response.audio` or `response.message` after checking `response.type`, and ttsd's
responses answer those reads on every type. For static typing, narrow with
`isinstance(response, Chunk)`.

A frame of a type this client does not know is a plain `Response` with that `type`
(never an exception); `raw` always holds the frame as received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Chunk",
    "Done",
    "Error",
    "FlushDone",
    "PhonemeTimestamps",
    "PhonemeTimings",
    "Response",
    "Timestamps",
    "Voice",
    "WordTimings",
]


@dataclass(frozen=True)
class WordTimings:
    """Word timestamps: `words[i]` is spoken from `start[i]` to `end[i]` seconds."""

    words: tuple[str, ...] = ()
    start: tuple[float, ...] = ()
    end: tuple[float, ...] = ()


@dataclass(frozen=True)
class PhonemeTimings:
    """Phoneme timestamps: `phonemes[i]` is spoken from `start[i]` to `end[i]` seconds."""

    phonemes: tuple[str, ...] = ()
    start: tuple[float, ...] = ()
    end: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Response:
    """One frame (WebSocket) or event (SSE) from the server; base of the typed ones."""

    type: str
    context_id: str | None = None
    done: bool = False
    status_code: int | None = None
    flush_id: int | None = None
    # Present on every response (None unless the type has it), for duck-typed code.
    audio: bytes | None = field(default=None, repr=False)
    step_time: float | None = field(default=None, repr=False)
    word_timestamps: WordTimings | None = field(default=None, repr=False)
    phoneme_timestamps: PhonemeTimings | None = field(default=None, repr=False)
    error_code: str | None = field(default=None, repr=False)
    title: str | None = field(default=None, repr=False)
    message: str | None = field(default=None, repr=False)
    request_id: str | None = field(default=None, repr=False)
    #: The frame exactly as received (also the fields this client does not model).
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Chunk(Response):
    """Audio: `audio` is the decoded `data`, in the requested output format."""

    type: Literal["chunk"] = "chunk"
    audio: bytes = field(default=b"", repr=False)
    step_time: float | None = None

    def __repr__(self) -> str:
        return (
            f"Chunk(context_id={self.context_id!r}, flush_id={self.flush_id!r}, "
            f"audio=<{len(self.audio)} bytes>, step_time={self.step_time!r})"
        )


@dataclass(frozen=True, kw_only=True)
class Timestamps(Response):
    """Word timestamps of the audio sent so far (with `add_timestamps`)."""

    type: Literal["timestamps"] = "timestamps"
    word_timestamps: WordTimings = field(default_factory=WordTimings)


@dataclass(frozen=True, kw_only=True)
class PhonemeTimestamps(Response):
    """Phoneme timestamps (with `add_phoneme_timestamps`)."""

    type: Literal["phoneme_timestamps"] = "phoneme_timestamps"
    phoneme_timestamps: PhonemeTimings = field(default_factory=PhonemeTimings)


@dataclass(frozen=True, kw_only=True)
class FlushDone(Response):
    """All audio of flush `flush_id` was sent (after a manual flush)."""

    type: Literal["flush_done"] = "flush_done"
    flush_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Done(Response):
    """The context ended: the last frame of a context that did not fail."""

    type: Literal["done"] = "done"
    done: bool = True


@dataclass(frozen=True, kw_only=True)
class Error(Response):
    """The server failed the context (or the request); the same fields as `APIError`."""

    type: Literal["error"] = "error"
    done: bool = True
    error_code: str | None = None
    title: str | None = None
    message: str | None = None
    request_id: str | None = None

    @property
    def error(self) -> str:
        """The legacy one-line form, ``"<title>: <message>"``."""
        return ": ".join(part for part in (self.title, self.message) if part)


@dataclass(frozen=True, kw_only=True)
class Voice:
    """A voice as `GET /voices` describes it."""

    id: str
    name: str = ""
    description: str = ""
    language: str = ""
    created_at: str = ""
    is_owner: bool = False
    is_public: bool = True
    gender: str | None = None
    country: str | None = None
    #: ttsd's own: the engine that speaks it ("piper", "kokoro"; "" from other servers)
    engine: str = ""
    #: ttsd's own: the licence of its model and data, and where it comes from
    license: str = ""
    source: str = ""
    #: The voice object exactly as received.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def locale(self) -> str:
        """The language with its region where known ("en-US", "es")."""
        return f"{self.language}-{self.country}" if self.country else self.language
