"""Tone engines for REST tests: one with many voices (paging, filters), one that can hold
a request's second sentence (streaming, disconnects)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from tests.support.tone_engine import TONE_RATE, ToneEngine
from ttsd.engines.base import (
    AudioChunk,
    EngineError,
    SynthesisOptions,
    VoiceInfo,
    VoiceNotFound,
)

#: languages and genders the many voices cycle through
LANGUAGES = ("en", "de", "fr")
GENDERS = ("feminine", "masculine", None)


def many_voices(count: int) -> list[VoiceInfo]:
    """`tone-00`, `tone-01`, ...: languages and genders cycle; every fifth is a "Bright" one."""
    return [
        VoiceInfo(
            id=f"tone-{i:02d}",
            name=f"{'Bright' if i % 5 == 0 else 'Plain'} tone {i}",
            engine=ToneEngine.name,
            language=LANGUAGES[i % len(LANGUAGES)],
            sample_rate=TONE_RATE,
            description=f"Test voice number {i}",
            gender=GENDERS[i % len(GENDERS)],
            country="US" if i % 2 else None,
        )
        for i in range(count)
    ]


class ManyTonesEngine(ToneEngine):
    """A tone engine with `count` voices (all speak like `tone-low`)."""

    def __init__(self, count: int = 25) -> None:
        super().__init__()
        self._voices = many_voices(count)

    def voices(self) -> list[VoiceInfo]:
        """The generated voices, `tone-00` first."""
        return list(self._voices)

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Tones, whichever of the voices speaks."""
        if voice_id not in {v.id for v in self._voices}:
            raise VoiceNotFound(voice_id)
        return super().synthesize(text, "tone-low", options)


class HoldingToneEngine(ToneEngine):
    """A tone engine that holds each request's second sentence until `release` is set.

    `chunks_out` counts the chunks handed out, `closed` the synthesis iterators that have
    ended (exhausted or closed early): a stream that stopped early has `closed` with
    fewer chunks than sentences.
    """

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.held = threading.Event()
        self.chunks_out = 0
        self.closed = 0

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Tones; the second sentence waits for `release` (30 s at most, then it fails)."""
        try:
            for index, chunk in enumerate(super().synthesize(text, voice_id, options)):
                if index == 1:
                    self.held.set()
                    if not self.release.wait(timeout=30):
                        raise EngineError("never released")
                self.chunks_out += 1
                yield chunk
        finally:
            self.closed += 1
