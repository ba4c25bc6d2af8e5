"""Synthesis of one text segment through the shared scheduler, chunk by chunk.

Used by every endpoint: each engine chunk is synthesized and rendered on a worker
thread (with whatever endpoint-specific `finalize` work turns it into frames or bytes),
so the event loop only moves finished payloads.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Iterator
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
    started: Callable[[], bool],
) -> AsyncGenerator[T, None]:
    """Yield `finalize(rendered)` for each chunk of `text`, then for the resampler's tail.

    `started()` says whether the stream has already produced audio: until it has, its
    steps run at first-audio priority (design.md "Architecture").
    """
    if not text.strip():
        return
    chunks = engine.synthesize(text, voice_id, options)
    while True:
        priority = Priority.STREAMING if started() else Priority.FIRST_AUDIO
        result = await scheduler.run(_step(chunks, renderer, finalize), priority)
        if result is None:
            break
        yield result[0]
    yield await scheduler.run(lambda: finalize(renderer.finish()), Priority.STREAMING)


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
