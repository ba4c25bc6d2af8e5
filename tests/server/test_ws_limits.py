"""Timeouts and per-context limits: idle contexts, idle connections, pending text, slow readers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerFactory
from tests.support.checks import (
    assert_error_frame,
    assert_fails_alone,
    next_error,
    tone_bytes,
    wait_for,
)
from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, audio, of, request
from ttsd.engines.base import AudioChunk, SynthesisOptions
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.limits import Limits
from ttsd.server.app import create_app
from ttsd.server.settings import Settings


def test_idle_context_ends_with_done_by_itself(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, limits=Limits(context_idle_timeout_s=0.5))
    with serve(settings) as base, Client(base) as client:
        client.send(request("c1", "One two.", continue_=True))
        frames = client.until_done("c1", timeout=10)
        mine = of(frames, "c1")
        assert mine[-1]["type"] == "done"
        assert [f["type"] for f in mine].count("done") == 1
        assert len(audio(frames, "c1")) == tone_bytes(2)
        # The id is free again, and the connection is fine.
        client.send(request("c1", "Three.", continue_=False))
        again = client.until_done("c1")
    assert len(audio(again, "c1")) == tone_bytes(1)


def test_context_is_not_idle_while_its_audio_is_in_flight(
    serve: ServerFactory, tone_engine: ToneEngine
) -> None:
    gate = tone_engine.gate = threading.Event()
    settings = Settings(parallel_steps=2, limits=Limits(context_idle_timeout_s=0.3))
    with serve(settings) as base, Client(base) as client:
        client.send(request("c1", "One two.", continue_=True))
        wait_for(lambda: len(tone_engine.calls) == 1, what="synthesis in flight")
        # Longer than the idle timeout, but the context still owes audio: no `done`.
        with pytest.raises(TimeoutError):
            client.recv(timeout=0.6)
        gate.set()
        frames = client.until_done("c1")
    mine = of(frames, "c1")
    assert [f["type"] for f in mine][-1] == "done"
    assert len(audio(frames, "c1")) == tone_bytes(2)


def test_idle_connection_is_closed_by_the_server(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, connection_idle_timeout_s=0.5)
    with serve(settings) as base, Client(base) as client, pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


class SlowToneEngine(ToneEngine):
    """Tones, each sentence taking `delay` seconds to come."""

    delay = 0.15

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        for chunk in super().synthesize(text, voice_id, options):
            time.sleep(self.delay)
            yield chunk


def test_a_connection_still_speaking_is_not_idle() -> None:
    # One message, then the client only listens, to audio that flows for longer than the
    # idle timeout: the connection is not idle until the audio stops.
    settings = Settings(parallel_steps=2, connection_idle_timeout_s=0.5)
    text = " ".join(f"Sentence {n}." for n in range(12))  # 12 x 0.15 s = 1.8 s of sending
    app = create_app(settings, EngineRegistry([SlowToneEngine()]))
    with live_server(app) as base, Client(base) as client:
        client.send(request("c1", text))
        frames = client.until_done("c1", timeout=20)
        assert len(audio(frames, "c1")) == tone_bytes(24)
        with pytest.raises(ConnectionClosed) as closed:  # quiet now: idle, and closed
            client.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.reason == "idle timeout"


def test_idle_connection_timeout_resets_on_each_message(serve: ServerFactory) -> None:
    settings = Settings(parallel_steps=2, connection_idle_timeout_s=0.5)
    with serve(settings) as base, Client(base) as client:
        client.send(request("c1", "One two three."))
        frames = client.until_done("c1")
        assert len(audio(frames, "c1")) == tone_bytes(3)
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=10)


def test_too_much_pending_text_fails_the_context(
    serve: ServerFactory, tone_engine: ToneEngine
) -> None:
    gate = tone_engine.gate = threading.Event()
    settings = Settings(parallel_steps=2, limits=Limits(max_pending_chars=40))
    with serve(settings) as base, Client(base) as client:
        client.send(request("c1", "One two three four five. ", continue_=True))  # 25 chars
        wait_for(lambda: len(tone_engine.calls) == 1, what="synthesis in flight")
        client.send(request("c1", "Six seven eight nine. ", continue_=True))  # 22 more
        error = next_error(client)
        assert_error_frame(
            error, status_code=429, error_code="queue_full", mentions="limit 40", context_id="c1"
        )
        gate.set()
        assert_fails_alone(client, error, "c1")


def test_small_send_queue_loses_nothing(serve: ServerFactory) -> None:
    """With room for only two frames, senders wait: nothing is lost or reordered."""
    settings = Settings(parallel_steps=2, send_queue_frames=2, max_audio_frame_bytes=320)
    sentences = [" ".join(f"s{n}w{k}" for k in range(n + 1)) + "." for n in range(6)]
    with serve(settings) as base, Client(base) as client:
        client.send(request("c1", " ".join(sentences), add_timestamps=True))
        frames = client.until_done("c1", timeout=30)
    assert frames[-1]["type"] == "done"
    words = sum(n + 1 for n in range(6))
    chunks = of(frames, "c1", "chunk")
    assert len(audio(frames, "c1")) == tone_bytes(words)
    assert len(chunks) == tone_bytes(words) // 320
    said = [w for f in of(frames, "c1", "timestamps") for w in f["word_timestamps"]["words"]]
    assert " ".join(said) == " ".join(sentences)
