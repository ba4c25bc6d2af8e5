"""The engine interface: load, list voices, synthesize one segment into audio chunks.

An engine is synchronous and CPU-bound; the server runs it off the event loop. Chunks
carry their own format and the model's per-phoneme durations, so the server can build
word and phoneme timestamps without guessing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


class EngineError(Exception):
    """Synthesis failed for a reason the client cannot fix (reported as a 500)."""


class VoiceNotFound(KeyError):
    """The engine has no voice with that id."""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice an engine can speak with."""

    id: str
    name: str
    engine: str
    language: str
    sample_rate: int
    description: str = ""
    gender: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class SynthesisOptions:
    """How to speak a segment."""

    #: rate factor: 2.0 speaks twice as fast
    speed: float = 1.0
    #: gain applied to the samples
    volume: float = 1.0
    #: compute word and phoneme timings (costs a little extra work)
    timings: bool = False


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


class Engine(ABC):
    """A text-to-speech engine holding one or more voices."""

    #: the engine's name, as used in `model_id` and voice listings
    name: str

    @abstractmethod
    def load(self) -> None:
        """Load models so the first request does not pay for it."""

    @abstractmethod
    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers, default voice first."""

    @abstractmethod
    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Speak `text` with `voice_id`, yielding chunks as they are ready (one per sentence
        or finer). Closing the iterator early stops the work. Raises `VoiceNotFound` or
        `EngineError`."""
