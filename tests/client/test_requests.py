"""Building requests, without a server: every WebSocket message and REST body, the
per-context state that decides which may be sent, URLs and headers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ttsd.client import _requests, _urls
from ttsd.client._base import ClientConfig
from ttsd.client._mux import Multiplexer
from ttsd.client._requests import ContextOptions
from ttsd.client.errors import ConnectionClosedError, ContextLostError, InputClosedError

FMT = {"container": "raw", "encoding": "pcm_f32le", "sample_rate": 24000}


def options(**fields: Any) -> ContextOptions:
    return ContextOptions.create(model_id="sonic-3", voice="v", output_format=FMT, **fields)


def test_push_message_has_the_official_sdks_shape_and_order() -> None:
    message = _requests.push_message(
        "c", options(language="en", max_buffer_delay_ms=0), "Hi. ", flush=False
    )
    assert list(message.items()) == [
        ("context_id", "c"),
        ("model_id", "sonic-3"),
        ("transcript", "Hi. "),
        ("voice", {"mode": "id", "id": "v"}),
        ("output_format", FMT),
        ("continue", True),
        ("language", "en"),
        ("max_buffer_delay_ms", 0),
    ]


def test_every_optional_field_in_wire_order_then_flush() -> None:
    every = options(
        language="de",
        add_timestamps=True,
        add_phoneme_timestamps=False,
        generation_config={"speed": 1.1},
        max_buffer_delay_ms=300,
        pronunciation_dict_id="p",
        use_normalized_timestamps=True,
    )
    message = _requests.push_message("c", every, "Text", flush=True)
    assert list(message)[6:] == [
        "language",
        "add_timestamps",
        "add_phoneme_timestamps",
        "generation_config",
        "max_buffer_delay_ms",
        "pronunciation_dict_id",
        "use_normalized_timestamps",
        "flush",
    ]
    assert message["add_phoneme_timestamps"] is False  # False is sent, only None is not
    assert message["flush"] is True and message["continue"] is True


def test_flush_end_and_cancel_messages() -> None:
    opts = options()
    assert _requests.flush_message("c", opts) == {
        "context_id": "c",
        "model_id": "sonic-3",
        "transcript": "",
        "voice": {"mode": "id", "id": "v"},
        "output_format": FMT,
        "continue": True,
        "flush": True,
    }
    end = _requests.end_message("c", opts)
    assert (end["transcript"], end["continue"]) == ("", False) and "flush" not in end
    assert _requests.cancel_message("c") == {"context_id": "c", "cancel": True}


def test_voices_and_formats() -> None:
    assert _requests.voice_object("v") == {"mode": "id", "id": "v"}
    embedding = {"mode": "embedding", "embedding": [0.1]}
    assert _requests.voice_object(embedding) == embedding
    with pytest.raises(ValueError, match="voice"):
        _requests.voice_object("")
    with pytest.raises(TypeError, match="voice"):
        _requests.voice_object(3)  # type: ignore[arg-type]
    default = ContextOptions.create(model_id="m", voice="v", output_format=None)
    assert default.output_format == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 44100,
    }


def test_messages_do_not_share_mutable_fields() -> None:
    opts = options(generation_config={"speed": 1.0})
    first = _requests.push_message("c", opts, "a", flush=False)
    first["voice"]["id"] = "changed"
    first["generation_config"]["speed"] = 2.0
    second = _requests.push_message("c", opts, "b", flush=False)
    assert second["voice"]["id"] == "v" and second["generation_config"] == {"speed": 1.0}


def test_rest_bodies() -> None:
    body = _requests.bytes_body(
        model_id="m",
        transcript="Hi.",
        voice="v",
        output_format=None,
        language=None,
        generation_config={"volume": 1.5},
    )
    assert body == {
        "model_id": "m",
        "transcript": "Hi.",
        "voice": {"mode": "id", "id": "v"},
        "output_format": {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100},
        "generation_config": {"volume": 1.5},
    }
    sse = _requests.sse_body(
        model_id="m",
        transcript="Hi.",
        voice="v",
        output_format=None,
        language="en",
        generation_config=None,
        add_timestamps=True,
        add_phoneme_timestamps=None,
        use_normalized_timestamps=None,
        context_id="s",
    )
    assert sse["output_format"]["container"] == "raw"
    assert {k: sse[k] for k in ("language", "add_timestamps", "context_id")} == {
        "language": "en",
        "add_timestamps": True,
        "context_id": "s",
    }
    assert "add_phoneme_timestamps" not in sse
    params = _requests.voices_params(
        limit=5, starting_after=None, ending_before="x", q="joe", language=None, gender=None
    )
    assert params == {"limit": "5", "ending_before": "x", "q": "joe"}


# --- the multiplexer's per-context rules ---------------------------------------------


def test_context_ids_generated_and_unique() -> None:
    mux: Multiplexer[None] = Multiplexer()
    ctx = mux.open(None, options(), None, None)
    assert uuid.UUID(ctx.context_id).version == 4
    mux.open("a", options(), None, None)
    with pytest.raises(ValueError, match="already open"):
        mux.open("a", options(), None, None)
    with pytest.raises(ValueError):
        mux.open("", options(), None, None)
    assert set(mux.live_ids()) == {ctx.context_id, "a"}


def test_input_rules() -> None:
    mux: Multiplexer[None] = Multiplexer()
    ctx = mux.open("a", options(), None, None)
    with pytest.raises(TypeError):
        mux.push(ctx, b"bytes", flush=False)  # type: ignore[arg-type]
    assert mux.end(ctx) is not None
    assert mux.end(ctx) is None  # no_more_inputs() is idempotent
    with pytest.raises(InputClosedError):
        mux.push(ctx, "more", flush=False)
    with pytest.raises(InputClosedError):
        mux.flush(ctx)


def test_cancel_before_anything_was_sent_frees_the_id_and_sends_nothing() -> None:
    mux: Multiplexer[None] = Multiplexer()
    ctx = mux.open("a", options(), None, None)
    assert mux.cancel(ctx) is None
    assert mux.live_ids() == []
    with pytest.raises(InputClosedError, match="cancelled"):
        mux.push(ctx, "x", flush=False)


def test_cancel_after_sending_keeps_the_id_until_done() -> None:
    mux: Multiplexer[None] = Multiplexer()
    mux.connection_opened()
    ctx = mux.open("a", options(), None, None)
    mux.bind(ctx)
    assert mux.cancel(ctx) == {"context_id": "a", "cancel": True}
    assert mux.cancel(ctx) is None
    assert mux.live_ids() == ["a"]  # its frames may still be in flight
    from ttsd.client.types import Chunk, Done

    assert mux.route(Chunk(context_id="a", audio=b"x"), 1) is None  # dropped
    assert mux.route(Done(context_id="a"), 1) is None  # dropped, but frees the id
    assert mux.live_ids() == []


def test_a_closed_connection_loses_bound_contexts_only() -> None:
    mux: Multiplexer[None] = Multiplexer()
    epoch = mux.connection_opened()
    sent = mux.open("sent", options(), None, None)
    fresh = mux.open("fresh", options(), None, None)
    mux.bind(sent)
    woken = mux.connection_closed(epoch, 1011, "bye")
    assert [(ctx.context_id, type(err)) for ctx, err in woken] == [("sent", ContextLostError)]
    error = woken[0][1]
    assert isinstance(error, ContextLostError)
    assert (error.code, error.reason, error.context_id) == (1011, "bye", "sent")
    assert mux.needs_connection()
    with pytest.raises(ContextLostError):
        mux.push(sent, "x", flush=False)
    with pytest.raises(ContextLostError):
        mux.bind(sent)
    assert mux.cancel(sent) is None
    mux.connection_opened()
    assert mux.bind(fresh) == 2  # unsent contexts move to the next connection
    assert [(c.context_id, type(e)) for c, e in mux.shutdown()] == [("fresh", ContextLostError)]
    with pytest.raises(ConnectionClosedError):
        mux.needs_connection()
    with pytest.raises(ConnectionClosedError):
        mux.open(None, options(), None, None)


def test_frames_of_another_connection_are_dropped() -> None:
    from ttsd.client.types import Chunk

    mux: Multiplexer[None] = Multiplexer()
    mux.connection_opened()
    ctx = mux.open("a", options(), None, None)
    mux.bind(ctx)
    assert mux.route(Chunk(context_id="a"), 1) is ctx
    assert mux.route(Chunk(context_id="a"), 2) is None
    assert mux.route(Chunk(context_id="b"), 1) is None
    assert mux.route(Chunk(context_id=None), 1) is None


# --- URLs, environment, headers ----------------------------------------------------


@pytest.mark.parametrize(
    ("base", "ws_base", "expected"),
    [
        ("http://h:1", None, "ws://h:1/tts/websocket"),
        ("https://h", None, "wss://h/tts/websocket"),
        ("http://h:1/prefix/", None, "ws://h:1/prefix/tts/websocket"),
        ("h:1", None, "ws://h:1/tts/websocket"),
        ("http://h:1", "ws://other:2", "ws://other:2/tts/websocket"),
        ("http://h:1", "wss://other/p?x=1", "wss://other/p/tts/websocket?x=1"),
        ("http://h:1", "https://other", "wss://other/tts/websocket"),
    ],
)
def test_websocket_url(base: str, ws_base: str | None, expected: str) -> None:
    assert _urls.websocket_url(_urls.resolve_base_url(base), ws_base) == expected


def test_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        _urls.resolve_base_url("ftp://h")
    with pytest.raises(ValueError, match="scheme"):
        _urls.websocket_url("http://h", "ftp://h")


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ClientConfig.create(None, None, websocket_base_url=None, timeout=5, headers=None)
    assert config.base_url == "http://127.0.0.1:8420"
    assert "Authorization" not in config.headers
    monkeypatch.setenv("TTSD_BASE_URL", "https://tts.example/api/")
    monkeypatch.setenv("TTSD_API_KEY", "envkey")
    config = ClientConfig.create(None, None, websocket_base_url=None, timeout=5, headers=None)
    assert config.base_url == "https://tts.example/api"
    assert config.websocket_url == "wss://tts.example/api/tts/websocket"
    assert config.headers["Authorization"] == "Bearer envkey"
    explicit = ClientConfig.create(
        "http://h", "argkey", websocket_base_url=None, timeout=None, headers={"X-A": "1"}
    )
    assert explicit.headers == {
        "Cartesia-Version": "2025-11-04",
        "Authorization": "Bearer argkey",
        "X-A": "1",
    }
    with pytest.raises(ValueError, match="timeout"):
        ClientConfig.create(None, None, websocket_base_url=None, timeout=0, headers=None)


def test_a_refused_push_names_the_callers_own_no_more_inputs_even_after_done() -> None:
    """A short text can be done before the next push: the refusal still names its cause."""
    from ttsd.client.types import Done

    mux: Multiplexer[None] = Multiplexer()
    ended_by_caller = mux.open("a", options(), None, None)
    ended_by_server = mux.open("b", options(), None, None)
    epoch = mux.connection_opened()
    for ctx in (ended_by_caller, ended_by_server):
        mux.bind(ctx)
        mux.push(ctx, "Hi.", flush=False)
    mux.end(ended_by_caller)
    for context_id in ("a", "b"):
        mux.route(Done(context_id=context_id), epoch)
    with pytest.raises(InputClosedError, match="after no_more_inputs"):
        mux.push(ended_by_caller, "more", flush=False)
    with pytest.raises(InputClosedError, match="has ended"):
        mux.push(ended_by_server, "more", flush=False)
