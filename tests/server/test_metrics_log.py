"""One summary line per finished WebSocket context and per REST TTS request, on the
`ttsd.requests` logger, its numbers also as `extra` fields (JSON logs write them as keys)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.server.conftest import ServedFactory
from tests.support.checks import wait_for
from tests.support.rest import parse_sse, sse_audio, tts_body
from tests.support.tone_engine import TONE_RATE
from tests.support.wsclient import Client, audio, request

SECONDS_PER_BYTE = 1 / (TONE_RATE * 2)
TEXT = "One two three. Four five."
FIELDS = {
    "request_id",
    "context_id",
    "endpoint",
    "outcome",
    "characters",
    "first_audio_s",
    "audio_s",
    "synthesis_s",
    "real_time_factor",
    "underruns",
    "duration_s",
}


def summaries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ttsd.requests"]


def test_a_websocket_context_logs_one_summary(
    serve_app: ServedFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ttsd.requests")
    with serve_app() as served, Client(served.base) as client:
        client.send(request("ctx-1", TEXT))
        frames = client.until_done("ctx-1")
        wait_for(lambda: len(summaries(caplog)) == 1, what="the summary line")
    [record] = summaries(caplog)
    assert record.levelno == logging.INFO
    fields = {name: getattr(record, name) for name in FIELDS}
    assert fields["endpoint"] == "websocket"
    assert fields["context_id"] == "ctx-1"
    assert fields["outcome"] == "done"
    assert fields["characters"] == len(TEXT)
    assert fields["audio_s"] == pytest.approx(len(audio(frames, "ctx-1")) * SECONDS_PER_BYTE)
    assert 0 < fields["first_audio_s"] < 5
    assert fields["real_time_factor"] == pytest.approx(
        fields["synthesis_s"] / fields["audio_s"], rel=0.05, abs=1e-4
    )
    assert 0 < fields["real_time_factor"] < 1  # tones are made far faster than real time
    assert fields["underruns"] == 0
    assert fields["duration_s"] >= fields["first_audio_s"]
    message = record.getMessage()
    assert message.startswith(f"context 'ctx-1' on connection {fields['request_id']} done: ")
    assert f"{len(TEXT)} characters" in message and "real-time factor" in message


def test_a_cancelled_context_says_so(
    serve_app: ServedFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ttsd.requests")
    with serve_app() as served, Client(served.base) as client:
        client.send(request("c1", "Hello", continue_=True))
        client.send({"context_id": "c1", "cancel": True})
        client.until_done("c1")
        wait_for(lambda: len(summaries(caplog)) == 1, what="the summary line")
    [record] = summaries(caplog)
    assert (record.outcome, record.first_audio_s) == ("cancelled", None)  # type: ignore[attr-defined]
    assert " cancelled: 0 characters, first audio -," in record.getMessage()


@pytest.mark.parametrize("path", ["/tts/bytes", "/tts/sse"])
def test_a_rest_request_logs_one_summary(
    serve_app: ServedFactory, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="ttsd.requests")
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}{path}", json=tts_body(TEXT))
        assert response.status_code == 200
        wait_for(lambda: len(summaries(caplog)) == 1, what="the summary line")
    received = (
        len(response.content) if path == "/tts/bytes" else len(sse_audio(parse_sse(response.text)))
    )
    [record] = summaries(caplog)
    fields = {name: getattr(record, name) for name in FIELDS}
    assert fields["endpoint"] == path.rsplit("/", 1)[1]
    assert fields["request_id"] == response.headers["x-request-id"]
    assert (fields["outcome"], fields["characters"]) == ("done", len(TEXT))
    assert fields["audio_s"] == pytest.approx(received * SECONDS_PER_BYTE)
    assert fields["first_audio_s"] > 0
    assert record.getMessage().startswith(f"POST {path} {response.headers['x-request-id']} done")


def test_a_failed_rest_request_logs_its_error(
    serve_app: ServedFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ttsd.requests")
    with serve_app() as served:
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body("Now explode here."))
        assert response.status_code == 500
        wait_for(lambda: len(summaries(caplog)) == 1, what="the summary line")
    [record] = summaries(caplog)
    assert (record.outcome, record.audio_s) == ("error", 0.0)  # type: ignore[attr-defined]
