"""The engine interface: load, list voices, synthesize one segment into audio chunks.

An engine is synchronous and CPU-bound; the server runs it off the event loop. Chunks
carry their own format and the model's per-phoneme durations, so the server can build
word and phoneme timestamps without guessing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


class EngineError(Exception):
    """Synthesis failed for a reason the client cannot fix (reported as a 500)."""


class EngineUnavailable(RuntimeError):
    """An engine the server was asked to run cannot: its packages are missing, or its model
    is unreadable, corrupt or not the model the engine expects (`ttsd serve` exits with
    this message before it listens)."""


class VoiceNotFound(KeyError):
    """The engine has no voice with that id."""


def primary_language(code: str) -> str:
    """The primary subtag of a language code, lower case: "en", "en-US" and "en_us" all
    give "en" (a voice's `language` is one)."""
    return code.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice an engine can speak with."""

    id: str
    name: str
    engine: str
    #: the language it speaks (a primary subtag, see `primary_language`): the language its
    #: text is phonemized in; a request for another is refused (engines/registry.py)
    language: str
    sample_rate: int
    description: str = ""
    gender: str | None = None
    country: str | None = None
    #: the licence of the voice's model and data, as an SPDX id or a short phrase
    license: str = ""
    #: where the voice comes from (its model, training data and packaging)
    source: str = ""

    @property
    def locale(self) -> str:
        """The language with its region where known ("en-US", "es")."""
        return f"{self.language}-{self.country}" if self.country else self.language


@dataclass(frozen=True, slots=True)
class SynthesisOptions:
    """How to speak a segment."""

    #: rate factor: 2.0 speaks twice as fast
    speed: float = 1.0
    #: gain applied to the samples
    volume: float = 1.0
    #: compute word and phoneme timings (costs a little extra work)
    timings: bool = False
    #: nothing of this stream has been heard yet: make the first chunk short, so that
    #: first audio comes soon whatever the text (an engine may ignore it)
    first_audio: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    """A word or phoneme and when it is spoken, in seconds from the chunk's first sample."""

    text: str
    start: float
    end: float


@dataclass(slots=True)
class AudioChunk:
    """Mono float32 audio in [-1, 1] at `sample_rate`, with what is spoken in it."""

    samples: npt.NDArray[np.float32]
    sample_rate: int
    words: list[Timing] = field(default_factory=list)
    phonemes: list[Timing] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.samples) / self.sample_rate


_step_threads: ContextVar[int | None] = ContextVar("ttsd_step_threads", default=None)
_step_lead: ContextVar[float | None] = ContextVar("ttsd_step_lead", default=None)


def step_threads() -> int | None:
    """Cores the synthesis step running on this thread may use, or None for the engine's own
    choice. The server's scheduler sets it: all cores for a step that runs alone, fewer when
    steps of several streams run side by side (more audio per second in all)."""
    return _step_threads.get()


def step_lead() -> float | None:
    """Seconds of audio the stream's listener still had to play when this step started (0
    before its first audio), or None when unknown (the engine used outside the server).

    An engine that can size its chunks should make this step's chunk no longer than it can
    make well within that time: a listener close to running dry gets a short chunk soon,
    one with plenty in hand a long chunk that costs less per second of audio (the Piper
    engine's decoder windows, src/ttsd/engines/piper/chunked.py)."""
    return _step_lead.get()


@contextmanager
def running_with_threads(threads: int | None, lead: float | None = None) -> Iterator[None]:
    """Run the code inside as a step that may use `threads` cores (see `step_threads`), for a
    listener with `lead` seconds of audio in hand (see `step_lead`)."""
    threads_token = _step_threads.set(threads)
    lead_token = _step_lead.set(lead)
    try:
        yield
    finally:
        _step_lead.reset(lead_token)
        _step_threads.reset(threads_token)


class Engine(ABC):
    """A text-to-speech engine holding one or more voices."""

    #: the engine's name, as used in `model_id` and voice listings
    name: str

    @abstractmethod
    def load(self) -> None:
        """Load models so the first request does not pay for it."""

    def preload(self) -> None:
        """Load every voice now (`ttsd serve --preload`), not just what `load` loads."""
        self.load()

    @abstractmethod
    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers, default voice first."""

    @abstractmethod
    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Speak `text` with `voice_id`, yielding chunks as they are ready (one per sentence
        or finer). Closing the iterator early stops the work. Raises `VoiceNotFound` or
        `EngineError`. Each `next()` may run on a different thread; an engine that can
        should use as many cores as `step_threads()` says while it computes a chunk."""
