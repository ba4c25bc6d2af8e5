"""Synthesis of one text segment through the shared scheduler, chunk by chunk.

Used by every endpoint: each engine chunk is synthesized and rendered on a worker
thread (with whatever endpoint-specific `finalize` work turns it into frames or bytes),
so the event loop only moves finished payloads.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ttsd.engines.base import AudioChunk, Engine, EngineError, SynthesisOptions, VoiceNotFound
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.server.rendering import AudioRenderer, RenderedAudio
from ttsd.server.scheduler import Priority, Scheduler

T = TypeVar("T")


async def stream_segment(
    scheduler: Scheduler,
    engine: Engine,
    text: str,
    voice_id: str,
    options: SynthesisOptions,
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], T],
    *,
    playback: Playback,
) -> AsyncGenerator[T, None]:
    """Yield `finalize(rendered)` for each chunk of `text`, then for the resampler's tail.

    Until the stream has produced audio (`playback.mark_started()`, called by the caller
    when it sends some), its steps run at first-audio priority (design.md
    "Architecture"); after that, by when its listener would run out of audio. The
    segment counts as one busy stream for the scheduler until the generator ends, so
    callers close it (`contextlib.aclosing`) when they stop early.
    """
    if not text.strip():
        return
    chunks = engine.synthesize(text, voice_id, options)
    with scheduler.stream():
        while True:
            result = await scheduler.run(
                _step(chunks, renderer, finalize), *playback.urgency(renderer.clock)
            )
            if result is None:
                break
            yield result[0]
        yield await scheduler.run(
            lambda: finalize(renderer.finish()), *playback.urgency(renderer.clock)
        )


@dataclass
class Playback:
    """When a stream's listener started hearing it, so the scheduler knows its deadline."""

    #: monotonic time of the stream's first audio, None before it
    first_audio_at: float | None = None

    @property
    def started(self) -> bool:
        """Whether the stream has sent audio."""
        return self.first_audio_at is not None

    def mark_started(self) -> None:
        """The stream sent audio now (the first call counts)."""
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()

    def urgency(self, audio_seconds: float) -> tuple[Priority, float]:
        """Scheduler priority and deadline with `audio_seconds` of audio produced so far.

        A listener who started at `first_audio_at` runs dry at `first_audio_at +
        audio_seconds` (real-time playback); the earliest such deadline is served first.
        """
        if self.first_audio_at is None:
            return Priority.FIRST_AUDIO, math.inf
        return Priority.STREAMING, self.first_audio_at + audio_seconds


def _step(
    chunks: Iterator[AudioChunk],
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], T],
) -> Callable[[], tuple[T] | None]:
    def step() -> tuple[T] | None:
        begun = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            return None
        step_ms = (time.perf_counter() - begun) * 1000
        return (finalize(renderer.render(chunk, step_ms)),)

    return step


def synthesis_error(exc: Exception) -> ProtocolError:
    """The client-facing 500 for a synthesis failure.

    Engine errors are the engine's words; anything else is a bug, and the client only
    learns that (the server logs its traceback).
    """
    detail = str(exc) if is_engine_error(exc) else "internal error (see the server log)"
    return ProtocolError(500, ErrorCode.SYNTHESIS_FAILED, "Synthesis failed", detail)


def is_engine_error(exc: Exception) -> bool:
    """True for the failures an engine reports on purpose (no traceback needed)."""
    return isinstance(exc, EngineError | VoiceNotFound)
