"""The hook through which the core asks which engine and voice a request means.

The protocol layer cannot know engines (they sit below it: docs/architecture.md "Layers"), so
the server hands the core an object with this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ttsd.protocol.messages import Voice


@dataclass(frozen=True, slots=True)
class Resolved:
    """A request's model and voice mapped onto a local engine and voice."""

    engine: str
    voice_id: str
    #: the language the voice speaks (what a request without `language` is spoken in)
    language: str | None = None


class VoiceRequest(Protocol):
    """What resolution needs of a request (WebSocket, `/tts/bytes` and `/tts/sse` alike)."""

    @property
    def model_id(self) -> str:
        """The requested model."""
        ...

    @property
    def voice(self) -> Voice:
        """The requested voice."""
        ...

    @property
    def language(self) -> str | None:
        """The requested language (None: the voice's own)."""
        ...


class Resolver(Protocol):
    """Maps `model_id`, `voice` and `language` to a local engine and voice."""

    def resolve(self, request: VoiceRequest) -> Resolved:
        """Return the engine and voice, or raise `ProtocolError` (e.g. unknown model)."""
        ...


class ReleaseFinder(Protocol):
    """Finds how much of a context's buffered text can be synthesized now."""

    def __call__(self, text: str, *, first_segment: bool, min_clause_words: int) -> int:
        """End index of the longest releasable prefix of `text`, 0 if none."""
        ...


class ClauseFinder(Protocol):
    """Finds where a context's first text may be cut after its first clause."""

    def __call__(self, text: str, *, min_words: int) -> int:
        """End index of the first clause with `min_words` words, 0 if none."""
        ...


class PhraseFinder(Protocol):
    """Finds where a context's first text may be cut before a phrase-opening word."""

    def __call__(self, text: str, *, min_words: int) -> int:
        """End index of the longest prefix that ends before a phrase, 0 if none."""
        ...


class StepFinder(Protocol):
    """Finds where a piece of text that is too long for one engine step should end."""

    def __call__(self, text: str, start: int, max_chars: int) -> int:
        """End of the piece of `text` from `start` with at most `max_chars` characters
        (`len(text)` when the rest fits); a cut at the best boundary inside it."""
        ...
