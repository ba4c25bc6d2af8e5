"""Shared builders for the sans-I/O protocol tests: no event loop, no sockets."""

from __future__ import annotations

from typing import Any

import orjson

from ttsd.protocol.connection import ConnectionCore
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.events import AbortContext, Event, OpenContext, QueueSegment, Segment, SendFrame
from ttsd.protocol.frames import Frame
from ttsd.protocol.limits import Limits
from ttsd.protocol.messages import GenerationRequest
from ttsd.protocol.resolver import Resolved
from ttsd.text.segmenter import find_release_point

OUTPUT_FORMAT: dict[str, Any] = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000}


def payload(
    context_id: str | None = "c1", transcript: str = "Hello.", **fields: Any
) -> dict[str, Any]:
    """A valid generation request as a decoded JSON object; `fields` override or add keys.

    Pass `context_id=None` to leave the field out. A field set to `...` is removed.
    """
    message: dict[str, Any] = {
        "model_id": "sonic-3",
        "transcript": transcript,
        "voice": {"mode": "id", "id": "tone-low"},
        "output_format": dict(OUTPUT_FORMAT),
    }
    if context_id is not None:
        message["context_id"] = context_id
    message.update(fields)
    return {key: value for key, value in message.items() if value is not ...}


class FakeResolver:
    """Maps every model to the tone engine; model_id "bogus" is unknown."""

    def __init__(self) -> None:
        self.calls: list[GenerationRequest] = []

    def resolve(self, request: GenerationRequest) -> Resolved:
        self.calls.append(request)
        if request.model_id == "bogus":
            raise ProtocolError(
                400,
                ErrorCode.MODEL_NOT_FOUND,
                "Model not found",
                f"`model_id`: {request.model_id!r} is not a model of this server",
            )
        return Resolved(engine="tones", voice_id=request.voice.id or "embedding")


def make_core(**limits: Any) -> ConnectionCore:
    """A core with the fake resolver, the real release finder and `Limits(**limits)`."""
    return ConnectionCore(
        resolver=FakeResolver(),
        release_finder=find_release_point,
        limits=Limits(**limits),
        request_id="req",
    )


def send(core: ConnectionCore, now: float = 0.0, **fields: Any) -> list[Event]:
    """Send `payload(**fields)` as a text frame at time `now`."""
    return core.receive_text(orjson.dumps(payload(**fields)).decode(), now)


def segments(events: list[Event]) -> list[Segment]:
    """The segments queued by `events`, in order."""
    return [e.segment for e in events if isinstance(e, QueueSegment)]


def frames(events: list[Event]) -> list[Frame]:
    """The frames `events` send, in order."""
    return [e.frame for e in events if isinstance(e, SendFrame)]


def errors(events: list[Event]) -> list[Frame]:
    """The error frames among `events`."""
    return [f for f in frames(events) if f["type"] == "error"]


def aborts(events: list[Event]) -> list[str]:
    """Context ids that `events` abort."""
    return [e.context_id for e in events if isinstance(e, AbortContext)]


def opened(events: list[Event]) -> list[str]:
    """Context ids that `events` open."""
    return [e.spec.context_id for e in events if isinstance(e, OpenContext)]


def only_error(events: list[Event]) -> Frame:
    """The single error frame of `events` (which must hold exactly one frame)."""
    sent = frames(events)
    assert len(sent) == 1, sent
    assert sent[0]["type"] == "error", sent
    return sent[0]
