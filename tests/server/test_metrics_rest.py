"""`GET /metrics` after REST traffic (`POST /tts/bytes`, `POST /tts/sse`), tone engine,
real sockets: characters, audio seconds from the bytes received, first audio, outcomes,
and every error sent."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import ServedFactory
from tests.support.checks import wait_for
from tests.support.metrics import scrape
from tests.support.rest import RAW_16K, parse_sse, sse_audio, tts_body
from tests.support.tone_engine import TONE_RATE, WORD_SECONDS
from tests.support.tone_voices import HoldingToneEngine

#: seconds of s16 audio per byte at the tone engine's rate
SECONDS_PER_BYTE = 1 / (TONE_RATE * 2)
TEXT = "One two three. Four five six seven. Eight nine."
WORDS = 9
WAV_HEADER_BYTES = 44


@pytest.fixture
def tone_engine() -> HoldingToneEngine:
    """The server's engine (overrides the shared fixture): holds a request's second
    sentence only while a test clears `release`."""
    engine = HoldingToneEngine()
    engine.release.set()
    return engine


def total_contexts(served_base: str) -> float:
    metrics = scrape(served_base)
    return sum(
        metrics.value("ttsd_contexts_finished_total", outcome=o)
        for o in ("done", "cancelled", "error")
    )


@pytest.mark.parametrize(
    ("fmt", "audio_bytes"),
    [
        (RAW_16K, lambda body: len(body)),
        ({**RAW_16K, "container": "wav"}, lambda body: len(body) - WAV_HEADER_BYTES),
    ],
    ids=["raw", "wav"],
)
def test_bytes_counts_characters_audio_and_first_audio(
    serve_app: ServedFactory, fmt: dict[str, object], audio_bytes: object
) -> None:
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body(TEXT, fmt))
        assert response.status_code == 200
        received = audio_bytes(response.content)  # type: ignore[operator]
        assert received == WORDS * int(TONE_RATE * WORD_SECONDS) * 2
        metrics = scrape(served.base)
    assert metrics.value("ttsd_characters_total", endpoint="bytes") == len(TEXT)
    assert metrics.value("ttsd_audio_seconds_total", endpoint="bytes") == pytest.approx(
        received * SECONDS_PER_BYTE
    )
    assert metrics.value("ttsd_time_to_first_audio_seconds_count", endpoint="bytes") == 1
    assert 0 < metrics.value("ttsd_time_to_first_audio_seconds_sum", endpoint="bytes") < 5
    assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 1
    assert metrics.value("ttsd_contexts") == 0
    assert metrics.value("ttsd_characters_total", endpoint="websocket") == 0


def test_mp3_counts_the_seconds_of_audio_it_encodes(serve_app: ServedFactory) -> None:
    fmt = {"container": "mp3", "sample_rate": 16000, "bit_rate": 64000}
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body(TEXT, fmt))
        assert response.status_code == 200
        assert response.content[0] == 0xFF and response.content[1] & 0xE0 == 0xE0  # MP3 sync
        metrics = scrape(served.base)
    assert metrics.value("ttsd_audio_seconds_total", endpoint="bytes") == pytest.approx(
        WORDS * WORD_SECONDS
    )


def test_sse_counts_characters_audio_and_first_audio(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}/tts/sse", json=tts_body(TEXT, context_id="s1"))
        events = parse_sse(response.text)
        assert events[-1]["type"] == "done"
        received = len(sse_audio(events))
        metrics = scrape(served.base)
    assert metrics.value("ttsd_characters_total", endpoint="sse") == len(TEXT)
    assert metrics.value("ttsd_audio_seconds_total", endpoint="sse") == pytest.approx(
        received * SECONDS_PER_BYTE
    )
    assert metrics.value("ttsd_time_to_first_audio_seconds_count", endpoint="sse") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 1


def test_a_failure_before_the_first_audio_is_one_error(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body("Now explode here."))
        assert (response.status_code, response.json()["error_code"]) == (500, "synthesis_failed")
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="synthesis_failed") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1
    assert metrics.value("ttsd_time_to_first_audio_seconds_count", endpoint="bytes") == 0


def test_an_sse_failure_mid_stream_is_an_error_event_counted(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        response = httpx.post(
            f"http://{served.base}/tts/sse", json=tts_body("Fine so far. Then explode here.")
        )
        events = parse_sse(response.text)
        assert events[-1]["type"] == "error"
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="synthesis_failed") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 0
    # The audio that did go out is counted.
    assert metrics.value("ttsd_audio_seconds_total", endpoint="sse") == pytest.approx(
        len(sse_audio(events)) * SECONDS_PER_BYTE
    )


def test_a_bytes_body_cut_mid_stream_is_counted_as_an_error(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(
                f"http://{served.base}/tts/bytes", json=tts_body("Fine so far. Then explode here.")
            )
        wait_for(lambda: total_contexts(served.base) == 1, what="the request to end")
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="synthesis_failed") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 1


def test_a_client_leaving_mid_body_is_cancelled(
    serve_app: ServedFactory, tone_engine: HoldingToneEngine
) -> None:
    tone_engine.release.clear()
    with serve_app() as served:
        try:
            with (
                httpx.Client(base_url=f"http://{served.base}", timeout=30) as http,
                http.stream("POST", "/tts/bytes", json=tts_body(TEXT)) as response,
            ):
                assert response.status_code == 200
                chunks = response.iter_raw()
                next(chunks)
                wait_for(tone_engine.held.is_set, what="the second sentence in the engine")
                assert scrape(served.base).value("ttsd_contexts") == 1
        finally:
            tone_engine.release.set()
        wait_for(lambda: scrape(served.base).value("ttsd_contexts") == 0, what="0 live")
        metrics = scrape(served.base)
    assert metrics.value("ttsd_contexts_finished_total", outcome="cancelled") == 1
    assert metrics.value("ttsd_contexts_finished_total", outcome="done") == 0


def test_a_refused_request_is_an_error_but_no_context(serve_app: ServedFactory) -> None:
    with serve_app() as served:
        base = f"http://{served.base}"
        bad = httpx.post(f"{base}/tts/bytes", json=tts_body("Hi.", model_id="no-such-model"))
        assert bad.json()["error_code"] == "model_not_found"
        too_long = httpx.post(f"{base}/tts/sse", json=tts_body("x" * 1_000_000))
        assert too_long.json()["error_code"] == "message_too_large"
        metrics = scrape(served.base)
    assert metrics.value("ttsd_errors_total", error_code="model_not_found") == 1
    assert metrics.value("ttsd_errors_total", error_code="message_too_large") == 1
    assert metrics.value("ttsd_characters_total", endpoint="bytes") == 0
    assert metrics.value("ttsd_characters_total", endpoint="sse") == 0
    assert metrics.value("ttsd_contexts_finished_total", outcome="error") == 0
