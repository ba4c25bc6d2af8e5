"""`POST /tts/sse` with the tone engine: `data:` events of chunks, timestamps, done, and
errors before and after the first audio."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.checks import tone_bytes
from tests.support.live_server import live_server
from tests.support.rest import Event, assert_error, parse_sse, sse_audio, tts_body
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

FIVE_WORDS = "One two three. Four five."
MAX_FRAME_BYTES = 1000


@pytest.fixture(scope="module")
def sse_server() -> Iterator[str]:
    """Frames capped small, so that a sentence's audio needs several chunk events."""
    settings = Settings(parallel_steps=2, max_audio_frame_bytes=MAX_FRAME_BYTES)
    with live_server(create_app(settings, EngineRegistry([ToneEngine()]))) as base:
        yield base


@pytest.fixture(scope="module")
def http(sse_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{sse_server}", timeout=30) as client:
        yield client


def events_of(http: httpx.Client, body: dict[str, Any]) -> list[Event]:
    response = http.post("/tts/sse", json=body, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    return parse_sse(response.text)


def test_chunks_then_done(http: httpx.Client) -> None:
    events = events_of(http, tts_body(FIVE_WORDS))
    types = [e["type"] for e in events]
    assert types[-1] == "done" and types.count("done") == 1
    assert set(types[:-1]) == {"chunk"}
    assert events[-1] == {"type": "done", "status_code": 206, "done": True}
    for event in events[:-1]:
        assert event["done"] is False and event["status_code"] == 206
        assert 0 < len(base64.b64decode(event["data"])) <= MAX_FRAME_BYTES
        assert isinstance(event["step_time"], float)
        # No context was named: no context_id; SSE has no flushes: no flush_id.
        assert "context_id" not in event and "flush_id" not in event
    assert len(sse_audio(events)) == tone_bytes(5)


def test_context_id_is_echoed_on_every_event(http: httpx.Client) -> None:
    events = events_of(http, tts_body(FIVE_WORDS, context_id="ctx-7", add_timestamps=True))
    assert {e["context_id"] for e in events} == {"ctx-7"}


def test_word_timestamps_before_their_audio(http: httpx.Client) -> None:
    events = events_of(http, tts_body(FIVE_WORDS, add_timestamps=True))
    stamps = [e for e in events if e["type"] == "timestamps"]
    assert [e["word_timestamps"]["words"] for e in stamps] == [
        ["One", "two", "three."],
        ["Four", "five."],
    ]
    starts = [t for e in stamps for t in e["word_timestamps"]["start"]]
    ends = [t for e in stamps for t in e["word_timestamps"]["end"]]
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert ends == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    # Each sentence: its timestamps, then its chunks.
    types = [e["type"] for e in events]
    assert types.index("timestamps") == 0
    second = [i for i, t in enumerate(types) if t == "timestamps"][1]
    audio_before = sse_audio(events[:second])
    assert len(audio_before) == tone_bytes(3)
    assert "phoneme_timestamps" not in types


def test_phoneme_timestamps_when_asked(http: httpx.Client) -> None:
    events = events_of(http, tts_body(FIVE_WORDS, add_phoneme_timestamps=True))
    types = {e["type"] for e in events}
    assert "phoneme_timestamps" in types and "timestamps" not in types
    phonemes = [e["phoneme_timestamps"] for e in events if e["type"] == "phoneme_timestamps"]
    assert all(set(p) == {"phonemes", "start", "end"} for p in phonemes)
    assert sum(len(p["phonemes"]) for p in phonemes) == 5  # the tone engine: one per word


@pytest.mark.parametrize(("encoding", "width"), [("pcm_f32le", 4), ("pcm_mulaw", 1)])
def test_raw_encodings(http: httpx.Client, encoding: str, width: int) -> None:
    fmt = {"container": "raw", "encoding": encoding, "sample_rate": 16000}
    events = events_of(http, tts_body(FIVE_WORDS, fmt))
    assert len(sse_audio(events)) == tone_bytes(5, width=width)


def test_speed_applies(http: httpx.Client) -> None:
    events = events_of(http, tts_body(FIVE_WORDS, generation_config={"speed": 2.0}))
    assert len(sse_audio(events)) == tone_bytes(5) // 2


def test_blank_transcript_is_just_done(http: httpx.Client) -> None:
    assert [e["type"] for e in events_of(http, tts_body(" ", context_id="c"))] == ["done"]


def test_failure_after_audio_is_an_error_event(http: httpx.Client) -> None:
    events = events_of(http, tts_body("One two. Then explode here.", context_id="boom"))
    assert [e["type"] for e in events][-1] == "error"
    error = events[-1]
    assert error["context_id"] == "boom"
    assert error["done"] is True and error["status_code"] == 500
    assert error["error_code"] == "synthesis_failed"
    assert "exploded" in error["message"] and error["title"]
    assert error["request_id"]
    assert "done" not in [e["type"] for e in events]
    assert len(sse_audio(events)) == tone_bytes(2)


def test_failure_before_audio_is_an_http_error(http: httpx.Client) -> None:
    response = http.post("/tts/sse", json=tts_body("explode now. Fine."))
    assert_error(response, status=500, error_code="synthesis_failed", mentions="exploded")


@pytest.mark.parametrize("container", ["wav", "mp3"])
def test_only_raw(http: httpx.Client, container: str) -> None:
    fmt = {"container": container, "encoding": "pcm_s16le", "sample_rate": 16000, "bit_rate": 64000}
    response = http.post("/tts/sse", json=tts_body(FIVE_WORDS, fmt))
    assert_error(
        response, status=400, error_code="unsupported_output_format", mentions="output_format"
    )


def test_events_stream_as_synthesized(sse_server: str) -> None:
    # Read event by event: the first sentence's events come as one network piece or more,
    # and parse on their own.
    with (
        httpx.Client(base_url=f"http://{sse_server}", timeout=30) as http,
        http.stream("POST", "/tts/sse", json=tts_body(FIVE_WORDS)) as response,
    ):
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == 'data: {"type":"done","status_code":206,"done":true}'
