"""Builders for server → client frames (docs/protocol.md §3).

Every frame carries `type` and `context_id` (docs/protocol.md §10.9: without them SDKs hang or
crash), and `done` is always its own frame (docs/protocol.md §3.7: LiveKit checks `data`
before `done`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ttsd.protocol.errors import ProtocolError

#: Cartesia sends 206 on every successful streaming frame (docs/protocol.md §9.12).
STREAMING_STATUS = 206

Frame = dict[str, Any]


def chunk_frame(
    context_id: str | None, data_b64: str, step_time_ms: float, flush_id: int | None
) -> Frame:
    """An audio chunk: `data` is base64 of raw samples in the context's output format.

    `context_id` and `flush_id` are left out when None (SSE events carry neither
    unless the request named a context; docs/protocol.md §8.3).
    """
    frame: Frame = {
        "type": "chunk",
        "status_code": STREAMING_STATUS,
        "done": False,
        "data": data_b64,
        "step_time": step_time_ms,
    }
    return _stamped(frame, context_id, flush_id)


def timestamps_frame(
    context_id: str | None,
    words: Sequence[str],
    starts: Sequence[float],
    ends: Sequence[float],
    flush_id: int | None,
) -> Frame:
    """Word timestamps in seconds from the start of the context's audio."""
    frame: Frame = {
        "type": "timestamps",
        "status_code": STREAMING_STATUS,
        "done": False,
        "word_timestamps": {"words": list(words), "start": list(starts), "end": list(ends)},
    }
    return _stamped(frame, context_id, flush_id)


def phoneme_timestamps_frame(
    context_id: str | None,
    phonemes: Sequence[str],
    starts: Sequence[float],
    ends: Sequence[float],
    flush_id: int | None,
) -> Frame:
    """Phoneme timestamps in seconds from the start of the context's audio."""
    frame: Frame = {
        "type": "phoneme_timestamps",
        "status_code": STREAMING_STATUS,
        "done": False,
        "phoneme_timestamps": {
            "phonemes": list(phonemes),
            "start": list(starts),
            "end": list(ends),
        },
    }
    return _stamped(frame, context_id, flush_id)


def flush_done_frame(context_id: str, flush_id: int) -> Frame:
    """Sent after the last audio of the segment a manual flush closed (docs/protocol.md §4.4)."""
    return {
        "type": "flush_done",
        "context_id": context_id,
        "status_code": STREAMING_STATUS,
        "done": False,
        "flush_done": True,
        "flush_id": flush_id,
    }


def done_frame(context_id: str | None) -> Frame:
    """The last frame of every context that did not fail."""
    return _stamped(
        {"type": "done", "status_code": STREAMING_STATUS, "done": True}, context_id, None
    )


def error_frame(error: ProtocolError, request_id: str) -> Frame:
    """An error in both the structured (≥ 2025-11-04) and legacy (`error` string) shapes.

    `context_id` is always present, `null` when the failing message had none, because
    pipecat indexes `msg["context_id"]` unconditionally (docs/protocol.md §10.9).
    """
    return {
        "type": "error",
        "context_id": error.context_id,
        "status_code": error.status_code,
        "done": True,
        "title": error.title,
        "message": error.message,
        "error_code": str(error.error_code),
        "request_id": request_id,
        "error": f"{error.title}: {error.message}",
    }


def _stamped(frame: Frame, context_id: str | None, flush_id: int | None) -> Frame:
    # `type` first and `context_id` next, as the hosted API orders them (easier to read).
    stamped: Frame = {"type": frame.pop("type")}
    if context_id is not None:
        stamped["context_id"] = context_id
    stamped.update(frame)
    if flush_id is not None:
        stamped["flush_id"] = flush_id
    return stamped
