"""`GET /metrics` (issue 9) over real sockets with the tone engine: the families, and the
WebSocket's counts read back with prometheus_client's parser after real traffic."""

from __future__ import annotations

import threading

import httpx
import pytest
from prometheus_client import generate_latest
from websockets.exceptions import InvalidStatus

from tests.server.conftest import ServedFactory
from tests.support.checks import tone_bytes, wait_for
from tests.support.live_server import draining_server
from tests.support.metrics import Exposition, scrape
from tests.support.tone_engine import TONE_RATE, ToneEngine
from tests.support.wsclient import Client, audio, of, request
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.errors import ErrorCode
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

#: Every family the issue names, with its type (names as written: dashboards rely on them).
FAMILIES = {
    "ttsd_time_to_first_audio_seconds": "histogram",
    "ttsd_synthesis_step_seconds": "histogram",
    "ttsd_audio_seconds": "counter",
    "ttsd_characters": "counter",
    "ttsd_connections": "gauge",
    "ttsd_contexts": "gauge",
    "ttsd_contexts_finished": "counter",
    "ttsd_errors": "counter",
    "ttsd_scheduler_queued_steps": "gauge",
    "ttsd_scheduler_running_steps": "gauge",
    "ttsd_playback_underruns": "counter",
    "ttsd_load_ratio": "gauge",
    "ttsd_load_seconds": "counter",
}
#: seconds of s16 audio per byte at the tone engine's rate
SECONDS_PER_BYTE = 1 / (TONE_RATE * 2)


def test_every_family_is_exposed_in_the_text_format(server: str) -> None:
    response = httpx.get(f"http://{server}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    exposition = Exposition(response.text)
    for family, kind in FAMILIES.items():
        assert exposition.types.get(family) == kind, (family, exposition.types.get(family))
    # Label values exist from the start, at 0, so rate() sees the first increase.
    for endpoint in ("websocket", "bytes", "sse"):
        assert exposition.value("ttsd_characters_total", endpoint=endpoint) == 0
        assert exposition.value("ttsd_time_to_first_audio_seconds_count", endpoint=endpoint) == 0
    for outcome in ("done", "cancelled", "error"):
        assert exposition.value("ttsd_contexts_finished_total", outcome=outcome) == 0
    for code in ErrorCode:
        assert exposition.value("ttsd_errors_total", error_code=str(code)) == 0
    # The process collector: memory and CPU of the server, read at scrape time.
    assert exposition.value("process_resident_memory_bytes") > 10_000_000
    assert "python_info" in exposition.types


def test_openmetrics_when_prometheus_asks_for_it(server: str) -> None:
    response = httpx.get(
        f"http://{server}/metrics", headers={"Accept": "application/openmetrics-text"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_two_servers_in_one_process_count_apart(serve_app: ServedFactory) -> None:
    with serve_app() as first, serve_app() as second:
        with Client(first.base) as client:
            client.send(request("c1", "One two."))
            client.until_done("c1")
        assert scrape(first.base).value("ttsd_characters_total", endpoint="websocket") == 8
        assert scrape(second.base).value("ttsd_characters_total", endpoint="websocket") == 0


def test_a_context_counts_its_characters_audio_and_first_audio(serve_app: ServedFactory) -> None:
    pieces = ["Hello there, ", "how are you today? ", "Fine thanks."]
    with serve_app() as served:
        with Client(served.base) as client:
            for piece in pieces:
                client.send(request("c1", piece, continue_=True))
            client.send(request("c1", "", continue_=False))
            frames = client.until_done("c1")
            assert frames[-1]["type"] == "done"
            sent = audio(frames, "c1")
            assert len(sent) == tone_bytes(8)
            metrics = scrape(served.base)
            characters = metrics.value("ttsd_characters_total", endpoint="websocket")
            assert characters == len("".join(pieces))
            seconds = metrics.value("ttsd_audio_seconds_total", endpoint="websocket")
            assert seconds == pytest.approx(len(sent) * SECONDS_PER_BYTE)
            count = metrics.value("ttsd_time_to_first_audio_seconds_count", endpoint="websocket")
            assert count == 1
            first = metrics.value("ttsd_time_to_first_audio_seconds_sum", endpoint="websocket")
            assert 0 < first < 5
            # One step per sentence the tone engine spoke.
            steps = metrics.value("ttsd_synthesis_step_seconds_count")
            assert steps == served.engine.sentences_done >= 2
            assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 1
            assert metrics.value("ttsd_contexts") == 0
            # The connection is still open.
            assert metrics.value("ttsd_connections") == 1
            # Nothing else was counted under another endpoint.
            assert metrics.value("ttsd_characters_total", endpoint="bytes") == 0
        wait_for(lambda: scrape(served.base).value("ttsd_connections") == 0, what="0 connections")


def test_first_audio_runs_from_the_first_text_not_the_context_opening(
    serve_app: ServedFactory,
) -> None:
    """A context opened without text and given text later: the wait before that text is
    the client's, not ttsd's first-audio time; a buffered text's wait is ttsd's."""
    with serve_app() as served, Client(served.base) as client:
        client.send(request("c1", "", continue_=True))
        threading.Event().wait(0.6)  # the client thinks
        # One word, no sentence end: held in the buffer for max_buffer_delay_ms first.
        client.send(request("c1", "Hello", continue_=True, max_buffer_delay_ms=400))
        client.until(lambda f: f["type"] == "chunk")
        client.send(request("c1", "", continue_=False))
        client.until_done("c1")
        metrics = scrape(served.base)
    first_audio = metrics.value("ttsd_time_to_first_audio_seconds_sum", endpoint="websocket")
    assert 0.38 < first_audio < 0.6 + 0.38, first_audio
    assert metrics.bucket("ttsd_time_to_first_audio_seconds", "0.3", endpoint="websocket") == 0
    assert metrics.bucket("ttsd_time_to_first_audio_seconds", "+Inf", endpoint="websocket") == 1


def test_contexts_gauge_while_live_and_the_outcome_of_each_ending(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    tone_engine.gate = threading.Event()
    with serve_app() as served:
        with Client(served.base) as client:
            client.send(request("done", "One two."))
            client.send(request("cancelled", "Three four."))
            client.send(request("failed", "Five six.", continue_=True))
            wait_for(lambda: scrape(served.base).value("ttsd_contexts") == 3, what="3 live")
            client.send({"context_id": "cancelled", "cancel": True})
            # A bad message fails its context: an error frame, outcome `error`.
            client.send(request("failed", "Seven.", voice={"mode": "id", "id": "tone-high"}))
            tone_engine.gate.set()
            client.until_all_done("done", "cancelled", "failed")
            assert of(client.frames, "failed", "error")
            wait_for(lambda: scrape(served.base).value("ttsd_contexts") == 0, what="0 live")
            metrics = scrape(served.base)
            assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 1
            assert metrics.value("ttsd_contexts_finished_total", outcome="cancelled") == 1
            assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1
            assert metrics.value("ttsd_errors_total", error_code="context_field_changed") == 1
        # A connection that closes with a context in flight: that context is cancelled.
        tone_engine.gate = threading.Event()
        with Client(served.base) as client:
            client.send(request("left", "Eight nine."))
            wait_for(lambda: scrape(served.base).value("ttsd_contexts") == 1, what="1 live")
        tone_engine.gate.set()
        wait_for(lambda: scrape(served.base).value("ttsd_contexts") == 0, what="0 live")
        metrics = scrape(served.base)
        assert metrics.value("ttsd_contexts_finished_total", outcome="cancelled") == 2
        assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 1


def test_a_synthesis_failure_is_an_error_outcome_and_an_error(serve_app: ServedFactory) -> None:
    with serve_app() as served, Client(served.base) as client:
        client.send(request("c1", "Please explode now."))
        frames = client.until_done("c1")
        assert of(frames, "c1", "error")[0]["error_code"] == "synthesis_failed"
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="synthesis_failed") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 0


def test_every_error_frame_is_counted_by_its_code(serve_app: ServedFactory) -> None:
    with serve_app() as served, Client(served.base) as client:
        client.send("{not json")
        client.send(b"\x00binary")
        client.send(request("c1", "Hi.", model_id="no-such-model"))
        client.send(request("c2", "x" * 20_001))
        codes = [client.recv()["error_code"] for _ in range(4)]
        metrics = scrape(served.base)
    assert sorted(codes) == sorted(
        ["invalid_json", "invalid_message", "model_not_found", "transcript_too_long"]
    )
    for code in codes:
        assert metrics.value("ttsd_errors_total", error_code=code) == 1, code
    # Refused before they opened: no context was counted.
    assert (
        sum(
            metrics.value("ttsd_contexts_finished_total", outcome=o)
            for o in ("done", "cancelled", "error")
        )
        == 0
    )


def test_http_errors_are_counted_by_their_code(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        base = f"http://{served.base}"
        assert httpx.get(f"{base}/no-such-page").status_code == 404
        assert httpx.delete(f"{base}/voices").status_code == 405
        assert httpx.post(f"{base}/tts/bytes", content=b"{oops").status_code == 400
        assert httpx.get(f"{base}/readyz").status_code == 200
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="not_found") == 1
    assert metrics.value("ttsd_errors_total", error_code="method_not_allowed") == 1
    assert metrics.value("ttsd_errors_total", error_code="invalid_json") == 1


def test_metrics_need_no_key_unless_configured(serve_app: ServedFactory) -> None:
    keyed = Settings(parallel_steps=2, engine_threads=1, api_keys=["sekrit"])
    with serve_app(keyed) as served:
        metrics = scrape(served.base)  # no key
        # Refusals are errors ttsd sends: HTTP, and a WebSocket handshake.
        assert httpx.get(f"http://{served.base}/voices").status_code == 401
        with pytest.raises(InvalidStatus):
            Client(served.base)
        metrics = scrape(served.base)
        assert metrics.value("ttsd_errors_total", error_code="unauthorized") == 2
    locked = Settings(
        parallel_steps=2, engine_threads=1, api_keys=["sekrit"], metrics_require_key=True
    )
    with serve_app(locked) as served:
        refused = httpx.get(f"http://{served.base}/metrics")
        assert refused.status_code == 401
        assert refused.json()["error_code"] == "unauthorized"
        metrics = scrape(served.base, headers={"Authorization": "Bearer sekrit"})
        assert metrics.value("ttsd_errors_total", error_code="unauthorized") == 1
        # The probes stay keyless whatever metrics_require_key says.
        assert httpx.get(f"http://{served.base}/healthz").status_code == 200


def test_the_drain_deadline_ends_a_context_as_an_error() -> None:
    """The lead's drain: at the deadline an unfinished context gets a 503 error frame
    (`core.fail`), and that is outcome `error`; a handshake refused meanwhile is an error
    too."""
    engine = ToneEngine()
    engine.gate = threading.Event()
    config = Settings(parallel_steps=2, engine_threads=1, drain_timeout_s=1.0)
    app = create_app(config, EngineRegistry([engine]))
    try:
        with draining_server(app, config) as served, Client(served.base) as client:
            client.send(request("c1", "One two three."))
            wait_for(lambda: bool(engine.calls), what="synthesis to start")
            served.begin_drain()
            wait_for(
                lambda: httpx.get(f"http://{served.base}/readyz").status_code == 503,
                what="the drain",
            )
            with pytest.raises(InvalidStatus):
                Client(served.base)
            frames = client.until_done("c1")
            assert of(frames, "c1", "error")[0]["status_code"] == 503
            assert served.wait_exit(10)
    finally:
        engine.gate.set()
    metrics = Exposition(generate_latest(app.state.runtime.metrics.registry).decode())
    assert metrics.value("ttsd_errors_total", error_code="server_shutting_down") == 2
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="cancelled") == 0
    assert metrics.value("ttsd_contexts") == 0
