"""A test engine that "speaks" one tone per word: deterministic, instant, and with
timings, so protocol tests over real sockets need no neural model."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from ttsd.engines.base import (
    AudioChunk,
    Engine,
    EngineError,
    SynthesisOptions,
    Timing,
    VoiceInfo,
    VoiceNotFound,
    step_threads,
)
from ttsd.text.segmenter import split_sentences
from ttsd.text.words import split_words

TONE_RATE = 16000
#: seconds of tone per word at speed 1.0
WORD_SECONDS = 0.1


class ToneEngine(Engine):
    """Voices `tone-low` (220 Hz, default) and `tone-high` (880 Hz).

    The word "explode" raises EngineError; `gate`, when set, makes every sentence wait
    for it (so tests can hold synthesis in flight).
    """

    name = "tones"

    def __init__(self) -> None:
        self.gate: threading.Event | None = None
        self.calls: list[str] = []
        #: the options of each call, in order
        self.options: list[SynthesisOptions] = []
        self.sentences_done = 0
        #: `step_threads()` at the start of each sentence, in the order sentences started
        self.step_threads: list[int | None] = []

    def load(self) -> None:
        """Nothing to load."""

    def voices(self) -> list[VoiceInfo]:
        """Two tone voices."""
        return [
            VoiceInfo("tone-low", "Low tone", self.name, "en", TONE_RATE),
            VoiceInfo("tone-high", "High tone", self.name, "en", TONE_RATE),
        ]

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """One chunk per sentence, one tone per word."""
        frequency = {"tone-low": 220.0, "tone-high": 880.0}.get(voice_id)
        if frequency is None:
            raise VoiceNotFound(voice_id)
        self.calls.append(text)
        self.options.append(options)
        for sentence in split_sentences(text):
            words = split_words(sentence)
            if not words:
                continue
            self.step_threads.append(step_threads())
            if "explode" in words:
                raise EngineError("the tone generator exploded")
            if self.gate is not None and not self.gate.wait(timeout=30):
                raise EngineError("gate never opened")
            yield _tones(words, frequency, options)
            self.sentences_done += 1


class FaultyToneEngine(ToneEngine):
    """A tone engine with a bug: the word "crash" raises a plain RuntimeError (not an
    `EngineError`), as an engine that breaks in an unexpected way would."""

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """As `ToneEngine.synthesize`, unless the text has the word "crash"."""
        if "crash" in text.split():
            raise RuntimeError("engine bug")
        yield from super().synthesize(text, voice_id, options)


def _tones(words: list[str], frequency: float, options: SynthesisOptions) -> AudioChunk:
    per_word = int(TONE_RATE * WORD_SECONDS / options.speed)
    t = np.arange(per_word * len(words)) / TONE_RATE
    samples = (0.5 * options.volume * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    timings = [
        Timing(word, i * per_word / TONE_RATE, (i + 1) * per_word / TONE_RATE)
        for i, word in enumerate(words)
    ]
    return AudioChunk(samples=samples, sample_rate=TONE_RATE, words=timings, phonemes=timings)
