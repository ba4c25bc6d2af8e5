"""The SDK's WebSocket against a real tone-engine server, for both twins: contexts,
flush ids, multiplexing, cancel, errors, closed connections, reconnects, timeouts, auth."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from tests.client.conftest import BYTES_PER_WORD, FMT, ClientFactory
from tests.conftest import ServerFactory
from tests.support.live_server import free_port
from tests.support.tone_engine import ToneEngine
from ttsd.client import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Chunk,
    ConnectError,
    ConnectionClosedError,
    ContextLostError,
    Done,
    Error,
    FlushDone,
    InputClosedError,
    ReceiveTimeoutError,
    Response,
    Timestamps,
    TtsdError,
)
from ttsd.server.settings import Settings

VOICE = "tone-low"


def audio_by_flush(responses: list[Response]) -> dict[int | None, int]:
    """Bytes of audio per flush id."""
    sizes: Counter[int | None] = Counter()
    for response in responses:
        if isinstance(response, Chunk):
            sizes[response.flush_id] += len(response.audio)
    return dict(sizes)


def speak(ws: Any, text: str, **options: Any) -> list[Response]:
    """One complete context on `ws`: push, end, receive everything."""
    ctx = ws.context(voice=VOICE, output_format=FMT, **options)
    ctx.push(text)
    ctx.no_more_inputs()
    return list(ctx.receive())


def test_one_context_flush_ids_and_audio(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        ctx = ws.context(voice=VOICE, output_format=FMT)
        ctx.push("One two three. ")
        ctx.flush()
        ctx.push("Four five.")
        ctx.no_more_inputs()
        responses = list(ctx.receive())
    types = [r.type for r in responses]
    assert types[-1] == "done" and types.count("done") == 1
    assert isinstance(responses[-1], Done)
    assert all(r.context_id == ctx.context_id for r in responses)
    assert [r.flush_id for r in responses if isinstance(r, FlushDone)] == [1]
    flush_done_at = types.index("flush_done")
    assert {r.flush_id for r in responses[:flush_done_at] if isinstance(r, Chunk)} == {1}
    assert {r.flush_id for r in responses[flush_done_at:] if isinstance(r, Chunk)} == {2}
    assert audio_by_flush(responses) == {1: 3 * BYTES_PER_WORD, 2: 2 * BYTES_PER_WORD}


def test_push_with_flush_flushes_in_the_same_message(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        ctx = ws.context(voice=VOICE, output_format=FMT)
        ctx.push("One two", flush=True)  # no sentence end: only the flush releases it
        ctx.push("three.")
        ctx.no_more_inputs()
        responses = list(ctx.receive())
    assert [r.flush_id for r in responses if r.type == "flush_done"] == [1]
    assert audio_by_flush(responses) == {1: 2 * BYTES_PER_WORD, 2: 1 * BYTES_PER_WORD}


def test_timestamps_are_typed(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        responses = speak(ws, "Hello there friend.", add_timestamps=True)
    words = [w for r in responses if isinstance(r, Timestamps) for w in r.word_timestamps.words]
    assert words == ["Hello", "there", "friend."]
    stamps = next(r for r in responses if isinstance(r, Timestamps)).word_timestamps
    assert len(stamps.start) == len(stamps.end) == len(stamps.words)
    assert list(stamps.start) == sorted(stamps.start)


def test_five_contexts_interleaved_each_receive_sees_only_its_own(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        contexts = [
            ws.context(voice=VOICE if i % 2 else "tone-high", output_format=FMT) for i in range(5)
        ]
        for _ in range(2):
            for i, ctx in enumerate(contexts):
                ctx.push(" ".join(["word"] * (i + 1)) + ". ")
        for ctx in contexts:
            ctx.no_more_inputs()
        # Read the last context first: the others' frames arrive meanwhile and must wait
        # in their own queues.
        replies = {ctx.context_id: list(ctx.receive()) for ctx in reversed(contexts)}
    assert len(set(replies)) == 5
    for i, ctx in enumerate(contexts):
        responses = replies[ctx.context_id]
        assert all(r.context_id == ctx.context_id for r in responses)
        assert [r.type for r in responses].count("done") == 1
        assert responses[-1].type == "done"
        assert sum(audio_by_flush(responses).values()) == 2 * (i + 1) * BYTES_PER_WORD


def test_cancel_one_context_while_others_continue(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        before = ws.context(voice=VOICE, output_format=FMT)
        victim = ws.context(voice=VOICE, output_format=FMT, max_buffer_delay_ms=0)
        after = ws.context(voice=VOICE, output_format=FMT)
        before.push("One two. ")
        victim.push("Hello there. " * 40)
        victim.no_more_inputs()
        first = next(iter(victim.receive()))
        assert isinstance(first, Chunk)
        victim.cancel()
        assert list(victim.receive()) == []  # ends at once, whatever was queued
        with pytest.raises(InputClosedError):
            victim.push("more")
        victim.cancel()  # again: nothing happens
        before.no_more_inputs()
        after.push("Three four five.")
        after.no_more_inputs()
        got_before, got_after = list(before.receive()), list(after.receive())
        # The socket still works for new contexts, and no frame of the victim shows up.
        again = speak(ws, "Six.")
    for responses, words in ((got_before, 2), (got_after, 3), (again, 1)):
        assert responses[-1].type == "done"
        assert {r.context_id for r in responses} == {responses[-1].context_id}
        assert victim.context_id not in {r.context_id for r in responses}
        assert sum(audio_by_flush(responses).values()) == words * BYTES_PER_WORD


def test_server_error_is_yielded_then_raised_and_the_socket_goes_on(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        bad = ws.context(model_id="bogus", voice=VOICE, output_format=FMT)
        bad.push("Hello there.")
        seen: list[Response] = []
        with pytest.raises(BadRequestError) as caught:
            for response in bad.receive():
                seen.append(response)
        with pytest.raises(InputClosedError):
            bad.push("again")
        good = speak(ws, "Still here.")
    error = caught.value
    assert isinstance(error, APIError) and isinstance(error, TtsdError)
    assert error.status_code == 400
    assert error.error_code == "model_not_found"
    assert error.title and error.message and "bogus" in error.message
    assert error.context_id == bad.context_id
    assert error.request_id
    assert "model_not_found" in str(error) and "bogus" in str(error)
    # The frame itself was yielded first, for code that checks `response.type == "error"`.
    assert [r.type for r in seen] == ["error"]
    assert isinstance(seen[0], Error)
    assert (seen[0].message, seen[0].title) == (error.message, error.title)
    assert good[-1].type == "done" and sum(audio_by_flush(good).values()) == 2 * BYTES_PER_WORD


def test_engine_failure_raises_server_error(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws, pytest.raises(APIError) as caught:
        speak(ws, "Please explode now.")
    assert caught.value.status_code == 500
    assert caught.value.error_code == "synthesis_failed"


def test_server_close_mid_receive_loses_the_context_and_new_contexts_reconnect(
    serve: ServerFactory, make_client: ClientFactory
) -> None:
    with serve(Settings(parallel_steps=2, connection_idle_timeout_s=0.5)) as base:
        client = make_client(base)
        with client.tts.websocket_connect() as ws:
            old = ws.context(voice=VOICE, output_format=FMT, max_buffer_delay_ms=5000, timeout=30)
            old.push("Hello")  # held for up to 5 s; the server closes the idle socket first
            with pytest.raises(ContextLostError) as caught:
                list(old.receive())
            with pytest.raises(ContextLostError):
                old.push(" there.")
            with pytest.raises(ContextLostError):
                old.no_more_inputs()
            assert list(old.receive()) == []  # already reported
            replies = speak(ws, "New socket now.")  # reconnects by itself
    lost = caught.value
    assert isinstance(lost, ConnectionClosedError)
    assert lost.context_id == old.context_id
    assert (lost.code, lost.reason) == (1000, "idle timeout")
    assert "idle timeout" in str(lost)
    assert replies[-1].type == "done"
    assert sum(audio_by_flush(replies).values()) == 3 * BYTES_PER_WORD


def test_closing_the_websocket_wakes_a_waiting_receive(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    ws = client.tts.websocket_connect()
    ws.connect()
    ctx = ws.context(voice=VOICE, output_format=FMT, max_buffer_delay_ms=5000, timeout=30)
    idle = ws.context(voice=VOICE, output_format=FMT, timeout=30)  # never sent anything
    ctx.push("Hello")
    outcomes: dict[str, BaseException | None] = {}

    def consume(name: str, context: Any) -> None:
        try:
            list(context.receive())
            outcomes[name] = None
        except BaseException as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=consume, args=(name, context))
        for name, context in (("open", ctx), ("idle", idle))
    ]
    for thread in threads:
        thread.start()
    ws.close()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)
    assert isinstance(outcomes["open"], ContextLostError)
    assert isinstance(outcomes["idle"], ConnectionClosedError)
    with pytest.raises(ConnectionClosedError):
        ws.context(voice=VOICE)


def test_receive_timeout_then_the_context_goes_on(
    server: str, make_client: ClientFactory, tone_engine: ToneEngine
) -> None:
    tone_engine.gate = threading.Event()  # synthesis waits for it
    try:
        client = make_client(server)
        with client.tts.websocket_connect() as ws:
            ctx = ws.context(voice=VOICE, output_format=FMT, timeout=0.3)
            ctx.push("Hello there.")
            ctx.no_more_inputs()
            with pytest.raises(ReceiveTimeoutError) as caught:
                list(ctx.receive())
            assert isinstance(caught.value, TimeoutError)
            assert ctx.context_id in str(caught.value)
            tone_engine.gate.set()
            responses = list(ctx.receive(timeout=30))
    finally:
        tone_engine.gate.set()
    assert responses[-1].type == "done"
    assert sum(audio_by_flush(responses).values()) == 2 * BYTES_PER_WORD


def test_context_ids_are_unique_while_live_and_free_after_done(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        auto = [ws.context(voice=VOICE).context_id for _ in range(3)]
        assert len(set(auto)) == 3
        named = ws.context("mine", voice=VOICE, output_format=FMT)
        with pytest.raises(ValueError, match="mine"):
            ws.context("mine", voice=VOICE)
        named.push("One.")
        named.no_more_inputs()
        named.no_more_inputs()  # idempotent: a second continue:false would be an error frame
        first = list(named.receive())
        reused = ws.context("mine", voice=VOICE, output_format=FMT)
        reused.push("Two words.")
        reused.no_more_inputs()
        second = list(reused.receive())
    assert [r.type for r in first][-1] == "done"
    assert audio_by_flush(first) == {1: BYTES_PER_WORD}
    assert audio_by_flush(second) == {1: 2 * BYTES_PER_WORD}  # a fresh context: flush 1 again


def test_input_after_no_more_inputs_is_refused(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with client.tts.websocket_connect() as ws:
        ctx = ws.context(voice=VOICE, output_format=FMT)
        ctx.push("Hi.")
        ctx.no_more_inputs()
        with pytest.raises(InputClosedError, match="no_more_inputs"):
            ctx.push("more")
        with pytest.raises(InputClosedError):
            ctx.flush()
        assert list(ctx.receive())[-1].type == "done"


def test_api_key_is_sent_and_a_wrong_one_refused_at_connect(
    serve: ServerFactory, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(Settings(parallel_steps=2, api_keys=("k",))) as base:
        for key in ("wrong", None):
            with pytest.raises(AuthenticationError) as caught:
                make_client(base, api_key=key).tts.websocket_connect().connect()
            assert caught.value.status_code == 401
            assert caught.value.error_code == "unauthorized"
            assert caught.value.message
        with make_client(base, api_key="k").tts.websocket_connect() as ws:
            assert speak(ws, "Let me in.")[-1].type == "done"
        monkeypatch.setenv("TTSD_API_KEY", "k")
        with make_client(base).tts.websocket_connect() as ws:
            assert speak(ws, "Me too.")[-1].type == "done"


def test_nothing_listening_raises_connect_error(make_client: ClientFactory) -> None:
    client = make_client(f"127.0.0.1:{free_port()}")
    with pytest.raises(ConnectError) as caught:
        client.tts.websocket_connect().connect()
    assert isinstance(caught.value, ConnectionError)


def test_websocket_base_url_overrides_the_derived_url(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(f"127.0.0.1:{free_port()}", websocket_base_url=f"ws://{server}")
    assert client.websocket_url == f"ws://{server}/tts/websocket"
    with client.tts.websocket_connect() as ws:
        assert speak(ws, "Over here.")[-1].type == "done"


def test_the_first_message_connects_without_with(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    ws = client.tts.websocket_connect()
    try:
        assert speak(ws, "Lazy hello.")[-1].type == "done"
    finally:
        ws.close()
