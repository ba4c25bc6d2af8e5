"""Bad input: one test per kind. Each checks the error frame, that the connection
survives, and that another context on the same connection still gets its audio."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import ServerFactory
from tests.support.checks import (
    assert_error_frame,
    assert_fails_alone,
    assert_nothing_after,
    assert_still_serves,
    next_error,
    tone_bytes,
    wait_for,
)
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import DEFAULT_FORMAT, Client, audio, of, request
from ttsd.protocol.limits import Limits
from ttsd.server.settings import Settings


def without(message: dict[str, Any], field: str) -> dict[str, Any]:
    """`message` minus one field."""
    return {k: v for k, v in message.items() if k != field}


# --- frames that are not messages -------------------------------------------------------


#: One message that is not a valid request, its error frame's `error_code`, what the frame's
#: message names, and the context it names (None: the message has no usable `context_id`).
#: Beyond the frame, each case checks that the connection serves on and that `c1` got
#: nothing else.
BAD_MESSAGES = [
    pytest.param(
        '{"context_id": "c1", "transcript": ', "invalid_json", ("JSON",), None, id="not-json"
    ),
    pytest.param(
        '{"context_id": "c1", "transcript": "a\\ud800b"}',
        "invalid_json",
        ("JSON",),
        None,
        id="a-lone-surrogate-in-a-transcript",
    ),
    pytest.param(
        json.dumps(["context_id", "c1"]),
        "invalid_message",
        ("JSON object",),
        None,
        id="not-an-object",
    ),
    pytest.param(
        json.dumps(request("c1")).encode(), "invalid_message", ("binary",), None, id="binary-frame"
    ),
    pytest.param(
        without(request("c1"), "transcript"),
        "invalid_request",
        ("`transcript`",),
        "c1",
        id="missing-required-field",
    ),
    pytest.param(
        without(without(request("c1"), "context_id"), "voice"),
        "invalid_request",
        ("`voice`",),
        None,
        id="missing-required-field-without-context-id",
    ),
    pytest.param(
        request("c1", output_format={**DEFAULT_FORMAT, "sample_rate": "16000"}),
        "invalid_request",
        ("`output_format.sample_rate`",),
        "c1",
        id="mistyped-required-field",
    ),
    pytest.param(
        request("c1", model_id="bogus"),
        "model_not_found",
        ("`model_id`", "bogus"),
        "c1",
        id="unknown-model",
    ),
]


@pytest.mark.parametrize(("message", "error_code", "mentions", "context_id"), BAD_MESSAGES)
def test_a_bad_message_gets_an_error_frame_and_the_connection_serves_on(
    shared_server: str,
    message: str | bytes | dict[str, Any],
    error_code: str,
    mentions: tuple[str, ...],
    context_id: str | None,
) -> None:
    with Client(shared_server) as client:
        client.send(message)
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code=error_code,
            mentions=mentions[0],
            context_id=context_id,
        )
        for words in mentions[1:]:
            assert words in error["message"], error["message"]
        assert_still_serves(client)
        assert [f for f in of(client.frames, "c1") if f is not error] == []


# --- fields -----------------------------------------------------------------------------


def test_mistyped_field_fails_a_live_context(shared_server: str) -> None:
    """A bad message for a live context ends that context with the error, no `done`."""
    with Client(shared_server) as client:
        client.send(request("c1", "One two.", continue_=True))
        client.until(lambda f: f["type"] == "chunk")
        client.send(request("c1", 42, continue_=True))  # type: ignore[arg-type]
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="invalid_request",
            mentions="`transcript`",
            context_id="c1",
        )
        assert_fails_alone(client, error, "c1")
        assert of(client.frames, "c1", "done") == []


@pytest.mark.parametrize(
    ("fmt", "field"),
    [
        ({"container": "mp3"}, "`output_format.container`"),
        ({"container": "wav"}, "`output_format.container`"),
        ({"encoding": "pcm_s24le"}, "`output_format.encoding`"),
        ({"sample_rate": 12345}, "`output_format.sample_rate`"),
    ],
    ids=["container-mp3", "container-wav", "encoding", "sample-rate"],
)
def test_unsupported_output_format(shared_server: str, fmt: dict[str, Any], field: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", output_format={**DEFAULT_FORMAT, **fmt}))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="unsupported_output_format",
            mentions=field,
            context_id="c1",
        )
        assert_still_serves(client)


def test_max_buffer_delay_out_of_range(shared_server: str) -> None:
    with Client(shared_server) as client:
        for value in (5001, -1):
            client.send(request("c1", continue_=True, max_buffer_delay_ms=value))
            error = next_error(client)
            assert_error_frame(
                error,
                status_code=400,
                error_code="invalid_request",
                mentions="`max_buffer_delay_ms`",
                context_id="c1",
            )
        assert_still_serves(client)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"speed": 3.0}, "`generation_config.speed`"),
        ({"volume": 0.1}, "`generation_config.volume`"),
    ],
    ids=["speed", "volume"],
)
def test_generation_config_out_of_range(
    shared_server: str, config: dict[str, Any], field: str
) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", generation_config=config))
        error = next_error(client)
        assert_error_frame(
            error, status_code=400, error_code="invalid_request", mentions=field, context_id="c1"
        )
        assert_still_serves(client)


# --- limits -----------------------------------------------------------------------------


def test_transcript_length_limit(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, limits=Limits(max_transcript_chars=50))
    fifty = ("word " * 10).strip() + "."  # 10 words, 50 characters
    assert len(fifty) == 50
    with serve(settings) as base, Client(base) as client:
        client.send(request("ok", fifty))
        frames = client.until_done("ok")
        assert frames[-1]["type"] == "done"
        assert len(audio(frames, "ok")) == tone_bytes(10)
        client.send(request("long", fifty + "x"))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="transcript_too_long",
            mentions="`transcript`",
            context_id="long",
        )
        assert "51" in error["message"] and "50" in error["message"]
        assert_still_serves(client)


def test_too_many_live_contexts(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, limits=Limits(max_contexts=2))
    with serve(settings) as base, Client(base) as client:
        for cid in ("a", "b"):
            client.send(request(cid, "One two.", continue_=True))
        client.send(request("c", "Three four."))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=429,
            error_code="too_many_contexts",
            mentions="limit 2",
            context_id="c",
        )
        # The two live contexts are unharmed, and once one ends there is room again.
        client.send(request("a", "", continue_=False))
        client.until_done("a")
        assert_still_serves(client)
        client.send(request("b", "", continue_=False))
        if not of(client.frames, "b", "done"):
            client.until_done("b")
        frames = client.frames
    for cid in ("a", "b"):
        assert of(frames, cid)[-1]["type"] == "done"
        assert len(audio(frames, cid)) == tone_bytes(2)
    assert [f["type"] for f in of(frames, "c")] == ["error"]


def test_message_over_max_message_bytes(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, limits=Limits(max_message_bytes=1000))
    with serve(settings) as base, Client(base) as client:
        message = request("big", "word " * 200)
        size = len(json.dumps(message).encode())
        assert size > 1000
        client.send(message)
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=413,
            error_code="message_too_large",
            mentions="1000",
            context_id="big",
        )
        assert str(size) in error["message"]
        assert_still_serves(client)
        assert [f["type"] for f in of(client.frames, "big")] == ["error"]


# --- context state ----------------------------------------------------------------------


def test_input_to_a_closing_context(serve: ServerFactory, tone_engine: ToneEngine) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve() as base, Client(base) as client:
        client.send(request("c1", "One two three.", continue_=False))
        wait_for(lambda: len(tone_engine.calls) == 1, what="synthesis in flight")
        client.send(request("c1", "Four five.", continue_=True))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="context_closed",
            mentions="'c1'",
            context_id="c1",
        )
        gate.set()
        assert_fails_alone(client, error, "c1")
        assert "Four five." not in tone_engine.calls


def test_input_after_cancel_starts_a_new_context(shared_server: str) -> None:
    """The cancel's `done` goes out before the next message is read, so the id is free."""
    with Client(shared_server) as client:
        client.send(request("c1", "One two.", continue_=True))
        client.send({"context_id": "c1", "cancel": True})
        client.send(request("c1", "Three four five.", continue_=False))
        frames = client.until(lambda f: f["context_id"] == "c1" and f["type"] == "done")
        done = frames[-1]
        again = client.until_done("c1")
        assert again[-1]["type"] == "done"
        assert len(audio(again, "c1")) == tone_bytes(3)
        assert_still_serves(client)
    assert done["done"] is True
    assert not [f for f in client.frames if f["type"] == "error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"voice": {"mode": "id", "id": "tone-high"}}, "`voice`"),
        ({"model_id": "tones"}, "`model_id`"),
        ({"output_format": {**DEFAULT_FORMAT, "sample_rate": 24000}}, "`output_format`"),
    ],
    ids=["voice", "model", "output-format"],
)
def test_field_change_mid_context(shared_server: str, change: dict[str, Any], field: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two.", continue_=True))
        client.until(lambda f: f["type"] == "chunk")
        client.send({**request("c1", "Three four.", continue_=True), **change})
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="context_field_changed",
            mentions=field,
            context_id="c1",
        )
        assert_fails_alone(client, error, "c1")
        assert len(audio(client.frames, "c1")) == tone_bytes(2)


def test_synthesis_failure_fails_only_its_context(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("bad", "Please explode now.", continue_=False))
        client.send(request("good", "One two three four.", continue_=False))
        error = client.until(lambda f: f["context_id"] == "bad")[-1]
        assert_error_frame(
            error,
            status_code=500,
            error_code="synthesis_failed",
            mentions="exploded",
            context_id="bad",
        )
        if not of(client.frames, "good", "done"):
            client.until_done("good")
        assert len(audio(client.frames, "good")) == tone_bytes(4)
        assert_fails_alone(client, error, "bad")
        assert [f["type"] for f in of(client.frames, "bad")] == ["error"]


def test_synthesis_failure_after_audio(shared_server: str) -> None:
    """The failing sentence comes after good ones: their audio, then the error, no done."""
    with Client(shared_server) as client:
        client.send(request("bad", "One two. Please explode now.", continue_=False))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=500,
            error_code="synthesis_failed",
            mentions="exploded",
            context_id="bad",
        )
        assert_fails_alone(client, error, "bad")
        assert of(client.frames, "bad", "done") == []
        assert_nothing_after(client.frames, error, "bad")


# --- voices -----------------------------------------------------------------------------


def test_strict_voices_rejects_unknown_voice(serve: ServerFactory) -> None:
    with serve(strict_voices=True) as base, Client(base) as client:
        client.send(request("c1", voice={"mode": "id", "id": "no-such-voice"}))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=404,
            error_code="voice_not_found",
            mentions="`voice`",
            context_id="c1",
        )
        assert "no-such-voice" in error["message"]
        assert_still_serves(client)


def test_unknown_voice_falls_back_when_not_strict(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three.", voice={"mode": "id", "id": "no-such-voice"}))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"
    assert len(audio(frames, "c1")) == tone_bytes(3)


# --- error frame details ----------------------------------------------------------------


def test_error_request_id_names_the_connection(shared_server: str) -> None:
    with Client(shared_server) as client:
        assert client.ws.response is not None
        connection_id = client.ws.response.headers["X-Request-Id"]
        client.send(request("c1", model_id="bogus"))
        client.send(request("c2", model_id="bogus"))
        first, second = next_error(client), next_error(client)
    assert first["request_id"].startswith(f"{connection_id}:c1:")
    assert second["request_id"].startswith(f"{connection_id}:c2:")
    assert first["request_id"] != second["request_id"]


# --- issue 8: control characters and long ids --------------------------------------------


def test_a_nul_in_a_transcript_fails_its_context_only(
    serve: ServerFactory, tone_engine: ToneEngine
) -> None:
    with serve() as base, Client(base) as client:
        client.send(request("other", "One two", continue_=True, max_buffer_delay_ms=5000))
        client.send(request("c1", "Hello.", continue_=True))
        client.until(lambda f: f["type"] == "chunk" and f["context_id"] == "c1")
        client.send(request("c1", " there\u0000 you.", continue_=True))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="invalid_request",
            mentions="`transcript`: U+0000 at offset 6",
            context_id="c1",
        )
        assert_fails_alone(client, error, "c1")
        # The other context, open all along, still speaks and ends.
        client.send(request("other", " three.", continue_=False))
        frames = client.until_done("other")
        assert of(frames, "other")[-1]["type"] == "done"
        assert len(audio(client.frames, "other")) == tone_bytes(3)
    # Before, the NUL reached the engine (Piper failed the context with a 500).
    assert not [call for call in tone_engine.calls if "\x00" in call]


def test_a_context_id_over_the_limit_gets_an_unattributed_error(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("x" * 256, "One two", continue_=True, max_buffer_delay_ms=5000))
        for long_id in ("x" * 257, "x" * 65536):
            client.send(request(long_id))
            client.send({"context_id": long_id, "cancel": True})
            for _ in range(2):
                error = next_error(client)
                assert_error_frame(
                    error,
                    status_code=400,
                    error_code="invalid_request",
                    mentions=f"`context_id`: has {len(long_id)} characters",
                    context_id=None,
                )
                assert len(json.dumps(error)) < 600
        # The live context that shares the first 256 characters was not touched.
        client.send(request("x" * 256, " three.", continue_=False))
        frames = client.until_done("x" * 256)
        assert frames[-1]["type"] == "done" and len(audio(frames, "x" * 256)) == tone_bytes(3)


def test_nul_in_ids_is_harmless(shared_server: str) -> None:
    """NUL in `context_id`, `voice.id` and `model_id` (JSON escapes it both ways): the
    context speaks with its id echoed exactly, and an unknown model quotes it escaped."""
    with Client(shared_server) as client:
        context_id = "a\u0000b"
        client.send(
            request(context_id, "One two three.", model_id="sonic-3\u0000", voice="tone-low\u0000")
        )
        frames = client.until_done(context_id)
        assert frames[-1]["type"] == "done" and len(audio(frames, context_id)) == tone_bytes(3)
        client.send(request("c2", model_id="bogus\u0000"))
        error = next_error(client)
        assert_error_frame(
            error,
            status_code=400,
            error_code="model_not_found",
            mentions="'bogus\\x00'",
            context_id="c2",
        )
