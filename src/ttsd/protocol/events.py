"""What the connection core asks its I/O layer to do.

The core never sends or synthesizes anything itself: it returns these events in the
order they must take effect.
"""

from __future__ import annotations

from dataclasses import dataclass

from ttsd.protocol.frames import Frame
from ttsd.protocol.messages import OutputFormat


@dataclass(frozen=True, slots=True)
class ContextSpec:
    """What is fixed for a context's whole life (docs/protocol.md §2.1.3)."""

    context_id: str
    #: distinguishes this context from earlier ones that used the same id
    serial: int
    model_id: str
    engine: str
    voice_id: str
    output_format: OutputFormat
    #: the request's `language`, else the voice's own (None when neither is known)
    language: str | None
    add_timestamps: bool
    add_phoneme_timestamps: bool
    use_normalized_timestamps: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a context's transcript released for synthesis, in context order.

    `text` may be empty or blank (a flush or the end with nothing buffered): then there
    is no audio, only the frames the flags ask for.
    """

    context_id: str
    #: `ContextSpec.serial` of the context it belongs to
    serial: int
    index: int
    text: str
    flush_id: int
    #: send `flush_done{flush_id}` after this segment's last audio
    closes_flush: bool
    #: the context's last segment: after its audio, the context ends with `done`
    is_last: bool
    speed: float | None = None
    volume: float | None = None


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send this frame now."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class OpenContext:
    """A new context started; segments for it follow."""

    spec: ContextSpec


@dataclass(frozen=True, slots=True)
class QueueSegment:
    """Synthesize this segment after the context's earlier ones."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class AbortContext:
    """Stop the context's queued and in-flight work and drop its pending audio.

    Then call `ConnectionCore.finish`, which ends it: with `done` after a cancel, with
    nothing after a failure (its `error` frame, `done: true`, has been sent already).
    """

    context_id: str


Event = SendFrame | OpenContext | QueueSegment | AbortContext
