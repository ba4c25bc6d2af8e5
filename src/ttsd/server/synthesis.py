"""Synthesis of one text segment through the shared scheduler, chunk by chunk.

Used by every endpoint: each engine chunk is synthesized and rendered on a worker
thread (with whatever endpoint-specific `finalize` work turns it into frames or bytes),
so the event loop only moves finished payloads.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ttsd.engines.base import AudioChunk, Engine, EngineError, SynthesisOptions, VoiceNotFound
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.server.rendering import AudioRenderer, RenderedAudio
from ttsd.server.scheduler import Stream
from ttsd.server.telemetry import StreamTelemetry
from ttsd.server.urgency import FIRST_AUDIO, Urgency

T = TypeVar("T")


async def stream_segment(
    steps: Stream,
    engine: Engine,
    text: str,
    voice_id: str,
    options: SynthesisOptions,
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], T],
    *,
    playback: Playback,
) -> AsyncGenerator[T, None]:
    """Yield `finalize(rendered)` for each chunk of `text`, then for the resampler's tail,
    each computed as a step of `steps`, the scheduler's stream for this context or request
    (`Scheduler.open_stream(playback.urgency)`: the caller keeps it open while it has text
    to speak, across segments).

    Until the stream has sent audio (`playback.mark_sent()`, called by the caller when
    it sends some), its steps run at first-audio priority (docs/architecture.md "Scheduling");
    after that, by when its listener would run out of audio (`Playback.urgency`). Each
    step's audio and worker time go to `playback` (`produced`) before its result is
    yielded.
    """
    if not text.strip():
        return
    chunks = engine.synthesize(text, voice_id, options)
    while True:
        result = await steps.run(_step(chunks, renderer, finalize))
        if result is None:
            break
        value, audio_s, busy_s = result
        playback.produced(audio_s, busy_s)
        yield value
    value, audio_s, busy_s = await steps.run(_tail(renderer, finalize))
    playback.produced(audio_s, busy_s, engine_step=False)
    yield value


@dataclass
class Playback:
    """A stream's audio as its listener hears it: when it started (so the scheduler knows
    its deadline), how much was sent, and the gaps ttsd left in it.

    The listener is taken to play audio as it arrives, from the first audio on, in real
    time: after audio sent at `now` it has until `dry_at` (the end of all the audio sent,
    or `now` plus this audio after a gap). Audio sent later than `dry_at` is an
    **underrun**, one per gap, unless the gap was the client's: a WebSocket context
    whose next text was queued (`text_queued`) only after the listener had run dry, with
    nothing of its own left to speak, starts its clock again at its next audio. REST
    streams have all their text from the start.

    `telemetry`, when given, gets the stream's steps, audio and underruns as they happen
    (server/telemetry.py).
    """

    #: monotonic time of the stream's first audio, None before it
    first_audio_at: float | None = None
    telemetry: StreamTelemetry | None = field(default=None, repr=False)
    #: seconds of audio the stream's steps made so far
    produced_s: float = 0.0
    #: seconds of audio sent so far (`mark_sent`)
    sent_s: float = 0.0
    #: when the listener runs out of the audio sent so far (None before the first audio)
    dry_at: float | None = None
    #: gaps in the audio ttsd caused (see the class docstring)
    underruns: int = 0
    #: seconds on its worker of the stream's last engine step (what the next may cost)
    last_step_s: float = 0.0
    # Seconds on a worker and of audio, over the stream's engine steps so far.
    _engine_busy_s: float = field(default=0.0, init=False, repr=False)
    _engine_audio_s: float = field(default=0.0, init=False, repr=False)
    # Segments with text queued and not yet all sent (WebSocket), and whether the next
    # audio follows a gap that was the client's (its text came after the listener ran dry).
    _texts_pending: int = field(default=0, init=False, repr=False)
    _resuming: bool = field(default=False, init=False, repr=False)

    @property
    def started(self) -> bool:
        """Whether the stream has sent audio."""
        return self.first_audio_at is not None

    def produced(self, audio_s: float, busy_s: float, *, engine_step: bool = True) -> None:
        """A step made `audio_s` seconds of audio in `busy_s` seconds on its worker."""
        self.produced_s += audio_s
        if engine_step:
            self.last_step_s = busy_s
            self._engine_busy_s += busy_s
            self._engine_audio_s += audio_s
        if self.telemetry is not None:
            self.telemetry.stepped(busy_s, engine_step=engine_step)

    def mark_sent(self, now: float | None = None) -> None:
        """Everything produced so far has been sent (queued for the client) by `now`."""
        seconds = self.produced_s - self.sent_s
        if seconds <= 0:
            return
        now = time.monotonic() if now is None else now
        self.sent_s = self.produced_s
        first = self.first_audio_at is None
        underrun = False
        if first or self.dry_at is None:
            self.first_audio_at = self.first_audio_at or now
            self.dry_at = now + seconds
        else:
            underrun = now > self.dry_at and not self._resuming
            self.dry_at = max(self.dry_at, now) + seconds
        self._resuming = False
        if underrun:
            self.underruns += 1
        if self.telemetry is not None:
            self.telemetry.sent(seconds, now, first=first, underrun=underrun)

    @property
    def cost_per_audio_s(self) -> float:
        """Seconds on a worker per second of audio, over the stream's engine steps so far
        (0 before any audio)."""
        audio = self._engine_audio_s
        return self._engine_busy_s / audio if audio > 0 else 0.0

    def text_queued(self, now: float | None = None) -> None:
        """A segment with text to speak was queued for the stream (WebSocket)."""
        now = time.monotonic() if now is None else now
        if self._texts_pending == 0 and self.dry_at is not None and now > self.dry_at:
            # The listener ran dry waiting for the client's text: not an underrun.
            self._resuming = True
        self._texts_pending += 1

    def text_spoken(self) -> None:
        """All audio of a segment that `text_queued` announced has been sent."""
        self._texts_pending = max(0, self._texts_pending - 1)

    def urgency(self) -> Urgency:
        """How soon the stream's next step must run: before its first audio, at first-audio
        priority; after it, before `dry_at` (the listener's real end of audio, gaps
        included), allowing for a step as costly as the last one."""
        if self.first_audio_at is None or self.dry_at is None:
            return FIRST_AUDIO
        return Urgency(dry_at=self.dry_at, cost=self.last_step_s, rate=self.cost_per_audio_s)


#: What a step returns: its result, the seconds of audio in it, and its seconds on the worker.
StepResult = tuple[T, float, float]


def _step(
    chunks: Iterator[AudioChunk],
    renderer: AudioRenderer,
    finalize: Callable[[RenderedAudio], T],
) -> Callable[[], StepResult[T] | None]:
    def step() -> StepResult[T] | None:
        begun = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            return None
        step_ms = (time.perf_counter() - begun) * 1000
        rendered = renderer.render(chunk, step_ms)
        value = finalize(rendered)
        return value, _seconds_of(rendered, renderer), time.perf_counter() - begun

    return step


def _tail(
    renderer: AudioRenderer, finalize: Callable[[RenderedAudio], T]
) -> Callable[[], StepResult[T]]:
    def tail() -> StepResult[T]:
        begun = time.perf_counter()
        rendered = renderer.finish()
        value = finalize(rendered)
        return value, _seconds_of(rendered, renderer), time.perf_counter() - begun

    return tail


def _seconds_of(rendered: RenderedAudio, renderer: AudioRenderer) -> float:
    # Mono samples in the client's format: exactly the duration the client receives.
    return len(rendered.audio) / (rendered.sample_width * renderer.sample_rate)


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
