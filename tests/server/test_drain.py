"""The graceful drain (server/drain.py) over real sockets, with the tone engine held in
flight by its gate: what SIGTERM does to `ttsd serve` (issue 9)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.checks import close_code, wait_for_status
from tests.support.live_server import DrainingServe, draining_server
from tests.support.tone_engine import TONE_RATE, WORD_SECONDS, ToneEngine
from tests.support.wsclient import Client, audio, of, request
from ttsd.client import Client as SdkClient
from ttsd.client import Done
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.drain import EXPIRE_GRACE_S, RETRY_AFTER_S
from ttsd.server.serving import SHUTDOWN_TIMEOUT_S
from ttsd.server.settings import Settings

#: bytes of s16 audio the tone engine makes per word (tests/support/tone_engine.py)
BYTES_PER_WORD = int(TONE_RATE * WORD_SECONDS) * 2
PARAGRAPH = "One two three. Four five six seven. Eight nine."
PARAGRAPH_WORDS = 9
#: seconds a drain with nothing left to wait for may take to end the server
PROMPT_S = 5.0


@dataclass
class Held:
    """A server whose synthesis waits for `release()`."""

    served: DrainingServe
    engine: ToneEngine

    @property
    def base(self) -> str:
        return self.served.base

    def wait_synthesizing(self) -> None:
        """Until the engine has started a sentence (and waits at the gate)."""
        deadline = time.monotonic() + 10
        while not self.engine.calls:
            assert time.monotonic() < deadline, "synthesis never started"
            time.sleep(0.01)

    def release(self) -> None:
        assert self.engine.gate is not None
        self.engine.gate.set()


@contextmanager
def held_server(drain_timeout_s: float = 20.0, **settings: object) -> Iterator[Held]:
    engine = ToneEngine()
    engine.gate = threading.Event()
    config = Settings(drain_timeout_s=drain_timeout_s, **settings)  # type: ignore[arg-type]
    app = create_app(config, EngineRegistry([engine]))
    with draining_server(app, config) as served:
        try:
            yield Held(served, engine)
        finally:
            engine.gate.set()


def test_readiness_fails_at_once_and_liveness_stays() -> None:
    with held_server() as held, Client(held.base) as client:
        base = f"http://{held.base}"
        ready = httpx.get(f"{base}/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        client.send(request("c1", PARAGRAPH))
        held.wait_synthesizing()
        held.served.begin_drain()
        draining = wait_for_status(f"{base}/readyz", 503)
        assert (draining.status_code, draining.json()) == (503, {"status": "draining"})
        # Alive while draining: a failing liveness probe would get it killed mid-drain.
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/").status_code == 200
        held.release()
        client.until_done("c1")


def test_a_paragraph_in_flight_finishes_whole_then_1012_and_exit() -> None:
    with held_server() as held, Client(held.base) as client:
        client.send(request("c1", PARAGRAPH))
        held.wait_synthesizing()
        held.served.begin_drain()
        time.sleep(0.2)  # the drain has begun: the context is not cut
        held.release()
        frames = client.until_done("c1")
        assert frames[-1]["type"] == "done"
        assert not of(frames, "c1", "error")
        assert len(audio(frames, "c1")) == PARAGRAPH_WORDS * BYTES_PER_WORD
        # Its last context done, the connection closes: "service restart", reconnect.
        assert close_code(client) == 1012
        assert held.served.wait_exit(PROMPT_S), "the server did not exit after the drain"


def test_a_connection_with_a_live_context_still_takes_new_ones() -> None:
    # Pooled sockets (LiveKit, pipecat) keep opening contexts on the connection they have.
    with held_server() as held, Client(held.base) as client:
        client.send(request("c1", "One two.", continue_=True))
        held.wait_synthesizing()
        held.served.begin_drain()
        time.sleep(0.2)
        client.send(request("c2", "Three four five."))
        client.send(request("c1", " Six.", continue_=False))
        held.release()
        frames = client.until_all_done("c1", "c2")
        assert [f["type"] for f in frames if f["type"] in ("done", "error")] == ["done"] * 2
        assert len(audio(frames, "c1")) == 3 * BYTES_PER_WORD
        assert len(audio(frames, "c2")) == 3 * BYTES_PER_WORD
        assert close_code(client) == 1012


def test_new_work_is_refused_with_503_and_retry_after_while_work_in_flight_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with held_server() as held, Client(held.base) as busy, Client(held.base) as idle:
        base = f"http://{held.base}"
        busy.send(request("c1", PARAGRAPH))
        held.wait_synthesizing()
        rest: dict[str, httpx.Response] = {}
        body = {
            "model_id": "sonic-3",
            "transcript": "Ten eleven twelve.",
            "voice": {"mode": "id", "id": "tone-low"},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
        }
        in_flight = threading.Thread(
            target=lambda: rest.update(r=httpx.post(f"{base}/tts/bytes", json=body, timeout=30))
        )
        in_flight.start()
        time.sleep(0.3)  # the REST request is waiting at the gate too
        held.served.begin_drain()
        # An idle connection is closed at once, so its client reconnects elsewhere.
        assert close_code(idle, timeout=5) == 1012
        refused = httpx.post(f"{base}/tts/bytes", json=body)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == str(RETRY_AFTER_S)
        assert refused.json()["error_code"] == "server_shutting_down"
        # OpenAI's endpoint is refused in OpenAI's shape, which its SDKs read
        speech = {"model": "tts-1", "voice": "tone-low", "input": "Hi."}
        refused = httpx.post(f"{base}/v1/audio/speech", json=speech)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "server_shutting_down"
        with pytest.raises(InvalidStatus) as handshake:
            Client(held.base)
        assert handshake.value.response.status_code == 503
        assert handshake.value.response.headers["retry-after"] == str(RETRY_AFTER_S)
        # A refusal on purpose, not an app that forgot to answer: no ERROR line for it.
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        held.release()
        in_flight.join(10)
        assert rest["r"].status_code == 200
        assert len(rest["r"].content) == 3 * BYTES_PER_WORD
        assert busy.until_done("c1")[-1]["type"] == "done"
        assert close_code(busy) == 1012
        assert held.served.wait_exit(PROMPT_S)


def test_the_deadline_ends_unfinished_contexts_with_503_then_1012() -> None:
    timeout_s = 1.0
    with held_server(drain_timeout_s=timeout_s) as held, Client(held.base) as client:
        # A context that waits for more text that never comes (the client is slow).
        client.send(request("c1", "One two.", continue_=True))
        held.wait_synthesizing()
        held.release()
        client.until(lambda f: f["type"] == "chunk")
        began = time.monotonic()
        held.served.begin_drain()
        frames = client.until_done("c1", timeout=timeout_s + 5)
        error = frames[-1]
        assert error["type"] == "error"
        assert (error["status_code"], error["context_id"]) == (503, "c1")
        assert error["error_code"] == "server_shutting_down"
        assert close_code(client) == 1012
        assert held.served.wait_exit(timeout_s + EXPIRE_GRACE_S + SHUTDOWN_TIMEOUT_S + 2)
        assert time.monotonic() - began >= timeout_s


def test_health_probes_need_no_key() -> None:
    with held_server(api_keys=("sekrit",)) as held:
        base = f"http://{held.base}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert httpx.get(f"{base}/voices").status_code == 401


def test_the_sdk_carries_on_over_the_close_with_a_restarted_server() -> None:
    # A restart in place: the SDK's next context reconnects to the new server by itself.
    engine = ToneEngine()
    settings = Settings(drain_timeout_s=10)
    app = create_app(settings, EngineRegistry([engine]))
    with draining_server(app, settings) as first:
        sdk = SdkClient(base_url=f"http://{first.base}")
        ws = sdk.tts.websocket_connect()
        fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}
        ctx = ws.context(voice="tone-low", output_format=fmt)
        ctx.push("Before the restart.")
        ctx.no_more_inputs()
        assert isinstance(list(ctx.receive())[-1], Done)
        first.begin_drain()
        assert first.wait_exit(PROMPT_S)
        port = int(first.base.rsplit(":", 1)[1])
    again = create_app(settings, EngineRegistry([ToneEngine()]))
    with draining_server(again, settings, port=port) as second:
        assert second.base == first.base
        ctx = ws.context(voice="tone-low", output_format=fmt)
        ctx.push("After the restart.")
        ctx.no_more_inputs()
        replies = list(ctx.receive())
        assert isinstance(replies[-1], Done)
        ws.close()
        sdk.close()


def test_the_sdk_waits_for_a_lone_server_to_drain_and_come_back() -> None:
    # One server, restarted in place: the SDK's next context meets a 503 (the server still
    # drains another client's open context), then a refused connection, then the new server.
    settings = Settings(drain_timeout_s=30)
    fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}
    app = create_app(settings, EngineRegistry([ToneEngine()]))
    with draining_server(app, settings) as first, Client(first.base) as other:
        port = int(first.base.rsplit(":", 1)[1])
        other.send(request("held", "One two.", continue_=True))  # keeps the drain going
        other.until(lambda f: f["type"] == "chunk")
        sdk = SdkClient(base_url=f"http://{first.base}")
        ws = sdk.tts.websocket_connect()
        ctx = ws.context(voice="tone-low", output_format=fmt)
        ctx.push("Before.")
        ctx.no_more_inputs()
        assert isinstance(list(ctx.receive())[-1], Done)
        first.begin_drain()  # the SDK's idle connection gets its 1012 at once
        restarted, done = threading.Event(), threading.Event()

        def restart() -> None:
            time.sleep(1.0)  # the SDK meets the drain's 503 meanwhile
            other.send(request("held", " Three.", continue_=False))
            assert first.wait_exit(PROMPT_S)
            again = create_app(settings, EngineRegistry([ToneEngine()]))
            with draining_server(again, settings, port=port):
                restarted.set()
                done.wait(30)

        restarter = threading.Thread(target=restart)
        restarter.start()
        try:
            time.sleep(0.3)
            began = time.monotonic()
            ctx = ws.context(voice="tone-low", output_format=fmt)
            ctx.push("After the restart.")  # waits for the server to come back
            ctx.no_more_inputs()
            replies = list(ctx.receive())
            assert restarted.is_set()
            assert isinstance(replies[-1], Done)
            assert time.monotonic() - began >= 1.0
        finally:
            done.set()
            restarter.join(30)
            ws.close()
            sdk.close()
