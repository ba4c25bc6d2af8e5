"""Parsing responses, without a server: frames as ttsd's own builders make them, lenient
parsing of others, error bodies, SSE lines, voice pages and the pager."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ttsd.client import _responses
from ttsd.client._mux import WAKE, outcome
from ttsd.client._responses import SSEDecoder, VoicePage, VoicePager, parse_frame
from ttsd.client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ttsd.client.types import (
    Chunk,
    Done,
    Error,
    FlushDone,
    PhonemeTimestamps,
    PhonemeTimings,
    Response,
    Timestamps,
    Voice,
    WordTimings,
)
from ttsd.protocol import frames
from ttsd.protocol.errors import ErrorCode, ProtocolError


def parse(frame: dict[str, Any]) -> Response:
    return parse_frame(json.dumps(frame))


def test_chunk() -> None:
    audio = bytes(range(256))
    chunk = parse(frames.chunk_frame("c", base64.b64encode(audio).decode(), 12.5, 3))
    assert isinstance(chunk, Chunk)
    assert (chunk.type, chunk.context_id, chunk.flush_id, chunk.step_time) == (
        "chunk",
        "c",
        3,
        12.5,
    )
    assert chunk.audio == audio and chunk.status_code == 206 and chunk.done is False
    assert "256 bytes" in repr(chunk)


def test_timestamps() -> None:
    words = parse(frames.timestamps_frame("c", ["a", "b"], [0.0, 0.5], [0.5, 1.0], 1))
    assert isinstance(words, Timestamps)
    assert words.word_timestamps.words == ("a", "b")
    assert words.word_timestamps.start == (0.0, 0.5) and words.word_timestamps.end == (0.5, 1.0)
    assert words.flush_id == 1
    phonemes = parse(frames.phoneme_timestamps_frame("c", ["h"], [0], [0.1], None))
    assert isinstance(phonemes, PhonemeTimestamps)
    assert phonemes.phoneme_timestamps.phonemes == ("h",)
    assert phonemes.flush_id is None


def test_flush_done_and_done() -> None:
    flush_done = parse(frames.flush_done_frame("c", 2))
    assert isinstance(flush_done, FlushDone) and flush_done.flush_id == 2
    done = parse(frames.done_frame("c"))
    assert isinstance(done, Done) and done.done is True and done.context_id == "c"


def test_error() -> None:
    error = ProtocolError(429, ErrorCode.TOO_MANY_CONTEXTS, "Too many", "limit 64", context_id="c")
    parsed = parse(frames.error_frame(error, "req"))
    assert isinstance(parsed, Error)
    assert (parsed.status_code, parsed.error_code, parsed.title, parsed.message) == (
        429,
        "too_many_contexts",
        "Too many",
        "limit 64",
    )
    assert (parsed.request_id, parsed.context_id, parsed.done) == ("req", "c", True)
    assert parsed.error == "Too many: limit 64"
    exc = outcome(parsed).error
    assert isinstance(exc, RateLimitError)
    assert (exc.error_code, exc.context_id, exc.request_id) == ("too_many_contexts", "c", "req")


def test_legacy_error_string_only() -> None:
    parsed = parse({"type": "error", "context_id": "c", "error": "Bad: thing"})
    assert isinstance(parsed, Error) and (parsed.title, parsed.message) == ("Bad", "thing")


def test_every_response_answers_the_fields_duck_typed_code_reads() -> None:
    for frame in (
        frames.done_frame("c"),
        frames.flush_done_frame("c", 1),
        {"type": "whatever", "context_id": "c"},
    ):
        response = parse(frame)
        assert response.audio is None or isinstance(response, Chunk)
        assert response.message is None and response.title is None
        assert response.word_timestamps is None and response.step_time is None


def test_unknown_and_missing_types_never_crash() -> None:
    unknown = parse({"type": "novel", "context_id": "c", "done": True, "extra": [1]})
    assert type(unknown) is Response
    assert (unknown.type, unknown.context_id, unknown.done) == ("novel", "c", True)
    assert unknown.raw["extra"] == [1]
    inferred: dict[str, dict[str, Any]] = {
        "chunk": {"data": ""},
        "flush_done": {"flush_done": True, "flush_id": 1},
        "timestamps": {"word_timestamps": {}},
        "done": {"done": True},
        "error": {"title": "T", "done": True},
    }
    for kind, frame in inferred.items():
        assert parse({"context_id": "c", **frame}).type == kind
    assert parse({"context_id": "c"}).type == ""


def test_mistyped_fields_become_none() -> None:
    chunk = parse(
        {"type": "chunk", "context_id": 5, "flush_id": "1", "data": "!!notbase64", "step_time": "x"}
    )
    assert isinstance(chunk, Chunk)
    assert (chunk.context_id, chunk.flush_id, chunk.step_time, chunk.audio) == (
        None,
        None,
        None,
        b"",
    )
    assert parse({"type": "done", "flush_id": True}).flush_id is None


def test_timings_that_are_not_lists_become_empty() -> None:
    for labels in (5, True, 1.5, "ab", {"a": 1}, None):
        words = parse({"type": "timestamps", "word_timestamps": {"words": labels, "start": 1}})
        assert isinstance(words, Timestamps) and words.word_timestamps == WordTimings()
        phonemes = parse({"type": "phoneme_timestamps", "phoneme_timestamps": {"phonemes": labels}})
        assert isinstance(phonemes, PhonemeTimestamps)
        assert phonemes.phoneme_timestamps == PhonemeTimings()
    mixed = parse({"type": "timestamps", "word_timestamps": {"words": ["a", 1, None]}})
    assert mixed.word_timestamps == WordTimings(("a", "1", "None"))


def test_not_json_objects_are_value_errors() -> None:
    for data in ("nope", "[1]", b"\xff", "3"):
        with pytest.raises(ValueError):
            parse_frame(data)


def test_outcomes() -> None:
    chunk, done = Chunk(context_id="c"), Done(context_id="c")
    assert (outcome(chunk).response, outcome(chunk).end) == (chunk, False)
    assert (outcome(done).response, outcome(done).end) == (done, True)
    assert outcome(WAKE, cancelled=True).end and not outcome(WAKE).end
    lost = ServerError(status_code=500, title="x", message="y")
    assert (outcome(lost).error, outcome(lost).end) == (lost, True)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (413, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
    ],
)
def test_http_errors_by_status(status: int, cls: type[APIError]) -> None:
    body = json.dumps({"title": "T", "message": "M", "error_code": "e", "request_id": "r"}).encode()
    error = _responses.http_error(status, body)
    assert type(error) is cls
    assert (error.status_code, error.title, error.message, error.error_code, error.request_id) == (
        status,
        "T",
        "M",
        "e",
        "r",
    )
    assert str(error) == f"{status} T: M (error_code=e, request_id=r)"


def test_http_error_bodies_that_are_not_ours() -> None:
    text = _responses.http_error(400, b"Invalid voice: no such voice", "Bad Request")
    assert (text.title, text.message) == ("Invalid voice", "no such voice")
    bare = _responses.http_error(502, b"upstream down", "Bad Gateway")
    assert (bare.title, bare.message) == ("Bad Gateway", "upstream down")
    detail = _responses.http_error(404, b'{"detail": "Not Found"}', "Not Found")
    assert (detail.title, detail.message) == ("Not Found", "Not Found")
    empty = _responses.http_error(500, b"", "")
    assert isinstance(empty, ServerError) and str(empty).startswith("500 ")


def test_sse_decoder() -> None:
    decoder = SSEDecoder()
    lines = [": comment", "event: message", 'data: {"a":', "data: 1}", "", "data:x", "id: 3"]
    out = [decoder.line(line) for line in lines]
    assert out == [None, None, None, None, '{"a":\n1}', None, None]
    assert decoder.end() == "x"
    assert decoder.end() is None
    assert SSEDecoder().line("data: y\r") is None


def voice(voice_id: str) -> Voice:
    return Voice(id=voice_id)


def test_voice_parsing() -> None:
    parsed = _responses.voice_from_dict(
        {"id": "v", "name": "N", "language": "en", "is_public": False, "gender": "f", "x": 1}
    )
    assert (parsed.id, parsed.name, parsed.language, parsed.is_public, parsed.gender) == (
        "v",
        "N",
        "en",
        False,
        "f",
    )
    assert parsed.raw["x"] == 1 and parsed.country is None
    with pytest.raises(ValueError):
        _responses.voice_from_dict({"name": "no id"})
    page = _responses.voice_page({"data": [{"id": "a"}], "has_more": True, "next_page": "a"})
    assert (page.has_more, page.next_page, [v.id for v in page.voices]) == (True, "a", ["a"])
    assert [v.id for v in _responses.voice_page([{"id": "old"}]).voices] == ["old"]
    with pytest.raises(ValueError):
        _responses.voice_page({"voices": []})


def test_pager_forward_backward_and_stops() -> None:
    pager = VoicePager({"limit": "2"})
    assert pager.next_params(VoicePage([voice("a"), voice("b")], None, None)) == {
        "limit": "2",
        "starting_after": "b",
    }
    assert pager.next_params(VoicePage([voice("c")], True, "c")) == {
        "limit": "2",
        "starting_after": "c",
    }
    assert pager.next_params(VoicePage([], None, None)) is None  # an empty page ends it
    assert VoicePager({}).next_params(VoicePage([voice("a")], False, None)) is None
    stuck = VoicePager({"starting_after": "b"})
    assert stuck.next_params(VoicePage([voice("a"), voice("b")], None, None)) is None
    backward = VoicePager({"ending_before": "z"})
    assert backward.next_params(VoicePage([voice("x"), voice("y")], True, "x")) == {
        "ending_before": "x"
    }
