"""Builders for server → client frames (protocol.md §3).

Every frame carries `type` and `context_id` (clients.md §0.7: without them SDKs hang or
crash), and `done` is always its own frame (protocol.md §3 notes: LiveKit checks `data`
before `done`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ttsd.protocol.errors import ProtocolError

#: Cartesia sends 206 on every successful streaming frame (protocol.md §9.12).
STREAMING_STATUS = 206

Frame = dict[str, Any]


def chunk_frame(context_id: str, data_b64: str, step_time_ms: float, flush_id: int) -> Frame:
    """An audio chunk: `data` is base64 of raw samples in the context's output format."""
    return {
        "type": "chunk",
        "context_id": context_id,
        "status_code": STREAMING_STATUS,
        "done": False,
        "data": data_b64,
        "step_time": step_time_ms,
        "flush_id": flush_id,
    }


def timestamps_frame(
    context_id: str,
    words: Sequence[str],
    starts: Sequence[float],
    ends: Sequence[float],
    flush_id: int,
) -> Frame:
    """Word timestamps in seconds from the start of the context's audio."""
    return {
        "type": "timestamps",
        "context_id": context_id,
        "status_code": STREAMING_STATUS,
        "done": False,
        "word_timestamps": {"words": list(words), "start": list(starts), "end": list(ends)},
        "flush_id": flush_id,
    }


def phoneme_timestamps_frame(
    context_id: str,
    phonemes: Sequence[str],
    starts: Sequence[float],
    ends: Sequence[float],
    flush_id: int,
) -> Frame:
    """Phoneme timestamps in seconds from the start of the context's audio."""
    return {
        "type": "phoneme_timestamps",
        "context_id": context_id,
        "status_code": STREAMING_STATUS,
        "done": False,
        "phoneme_timestamps": {
            "phonemes": list(phonemes),
            "start": list(starts),
            "end": list(ends),
        },
        "flush_id": flush_id,
    }


def flush_done_frame(context_id: str, flush_id: int) -> Frame:
    """Sent after the last audio of the segment a manual flush closed (protocol.md §4.4)."""
    return {
        "type": "flush_done",
        "context_id": context_id,
        "status_code": STREAMING_STATUS,
        "done": False,
        "flush_done": True,
        "flush_id": flush_id,
    }


def done_frame(context_id: str) -> Frame:
    """The last frame of every context that did not fail."""
    return {"type": "done", "context_id": context_id, "status_code": STREAMING_STATUS, "done": True}


def error_frame(error: ProtocolError, request_id: str) -> Frame:
    """An error in both the structured (≥ 2025-11-04) and legacy (`error` string) shapes.

    `context_id` is always present, `null` when the failing message had none, because
    pipecat indexes `msg["context_id"]` unconditionally (clients.md §4).
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
