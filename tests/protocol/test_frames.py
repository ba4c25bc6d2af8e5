"""Server → client frame builders (docs/protocol.md §3)."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.frames import (
    Frame,
    chunk_frame,
    done_frame,
    error_frame,
    flush_done_frame,
    phoneme_timestamps_frame,
    timestamps_frame,
)

BUILDERS: dict[str, Callable[[], Frame]] = {
    "chunk": lambda: chunk_frame("c1", "AAAA", 12.5, 3),
    "timestamps": lambda: timestamps_frame("c1", ["Hello", "world"], [0.0, 0.5], [0.4, 0.9], 3),
    "phoneme_timestamps": lambda: phoneme_timestamps_frame(
        "c1", ["h", "ə"], [0.0, 0.1], [0.1, 0.2], 3
    ),
    "flush_done": lambda: flush_done_frame("c1", 3),
    "done": lambda: done_frame("c1"),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_every_frame_has_type_context_status_and_done(kind: str) -> None:
    frame = BUILDERS[kind]()
    assert frame["type"] == kind
    assert frame["context_id"] == "c1"
    assert frame["status_code"] == 206
    assert frame["done"] is (kind == "done")


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_every_frame_survives_json(kind: str) -> None:
    frame = BUILDERS[kind]()
    assert orjson.loads(orjson.dumps(frame)) == frame


@pytest.mark.parametrize("kind", ["chunk", "timestamps", "phoneme_timestamps", "flush_done"])
def test_streaming_frames_carry_their_flush_id(kind: str) -> None:
    assert BUILDERS[kind]()["flush_id"] == 3


def test_chunk_frame() -> None:
    assert chunk_frame("c1", "AAAA", 12.5, 1) == {
        "type": "chunk",
        "context_id": "c1",
        "status_code": 206,
        "done": False,
        "data": "AAAA",
        "step_time": 12.5,
        "flush_id": 1,
    }


def test_timestamps_frame() -> None:
    frame = timestamps_frame("c1", ("Hello", "world"), (0.0, 0.5), (0.4, 0.9), 2)
    # Lists, not tuples: the SDKs index and concatenate them.
    assert frame["word_timestamps"] == {
        "words": ["Hello", "world"],
        "start": [0.0, 0.5],
        "end": [0.4, 0.9],
    }
    assert frame["flush_id"] == 2


def test_phoneme_timestamps_frame() -> None:
    frame = phoneme_timestamps_frame("c1", ("h", "ə"), (0.0, 0.1), (0.1, 0.2), 1)
    assert frame["phoneme_timestamps"] == {
        "phonemes": ["h", "ə"],
        "start": [0.0, 0.1],
        "end": [0.1, 0.2],
    }


def test_flush_done_frame() -> None:
    assert flush_done_frame("c1", 4) == {
        "type": "flush_done",
        "context_id": "c1",
        "status_code": 206,
        "done": False,
        "flush_done": True,
        "flush_id": 4,
    }


def test_done_frame_is_its_own_frame() -> None:
    frame = done_frame("c1")
    assert frame == {"type": "done", "context_id": "c1", "status_code": 206, "done": True}
    assert "data" not in frame


def test_error_frame_has_every_field() -> None:
    error = ProtocolError(429, ErrorCode.TOO_MANY_CONTEXTS, "Too many", "limit 2", context_id="c7")
    frame = error_frame(error, "req-1:c7:x")
    assert frame == {
        "type": "error",
        "context_id": "c7",
        "status_code": 429,
        "done": True,
        "title": "Too many",
        "message": "limit 2",
        "error_code": "too_many_contexts",
        "request_id": "req-1:c7:x",
        "error": "Too many: limit 2",
    }
    assert type(frame["error_code"]) is str


def test_error_frame_without_context_has_null_context_id() -> None:
    frame = error_frame(ProtocolError(400, ErrorCode.INVALID_JSON, "Invalid JSON", "bad"), "r")
    assert "context_id" in frame
    assert frame["context_id"] is None
    assert b'"context_id":null' in orjson.dumps(frame)


def test_error_frame_survives_json() -> None:
    frame = error_frame(
        ProtocolError(
            400, ErrorCode.INVALID_REQUEST, "Invalid request", "`x`: bad", context_id="c"
        ),
        "r",
    )
    assert orjson.loads(orjson.dumps(frame)) == frame
