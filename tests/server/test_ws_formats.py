"""Every encoding at every sample rate: sizes, frame bounds, and the tone survives."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.live_server import live_server
from tests.support.tone_engine import WORD_SECONDS, ToneEngine
from tests.support.wsclient import Client, audio, of, request
from ttsd.audio.encoders import decode
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.formats import BYTES_PER_SAMPLE, SAMPLE_RATES, Encoding
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

MAX_FRAME_BYTES = 1000
TRANSCRIPT = "One two three four five."
SECONDS = 5 * WORD_SECONDS
#: RMS of a sine of amplitude 0.5
TONE_RMS = 0.5 / np.sqrt(2)
VOICES = {"tone-low": 220.0, "tone-high": 880.0}


@pytest.fixture(scope="module")
def format_server() -> Iterator[str]:
    """One server for every case: frames capped small so that audio must be split."""
    settings = Settings(parallel_steps=2, max_audio_frame_bytes=MAX_FRAME_BYTES)
    app = create_app(settings, EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize("rate", SAMPLE_RATES)
@pytest.mark.parametrize("encoding", list(Encoding))
def test_encoding_and_rate(format_server: str, encoding: Encoding, rate: int) -> None:
    voice = "tone-high" if rate >= 16000 else "tone-low"
    fmt = {"container": "raw", "encoding": encoding.value, "sample_rate": rate}
    with Client(format_server) as client:
        client.send(request("c1", TRANSCRIPT, output_format=fmt, voice={"mode": "id", "id": voice}))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"
    width = BYTES_PER_SAMPLE[encoding]

    chunks = of(frames, "c1", "chunk")
    assert len(chunks) > 1
    for frame in chunks:
        size = len(base64.b64decode(frame["data"]))
        assert 0 < size <= MAX_FRAME_BYTES
        assert size % width == 0
        assert isinstance(frame["step_time"], int | float)
        assert not isinstance(frame["step_time"], bool)
        assert frame["flush_id"] == 1

    data = audio(frames, "c1")
    expected_samples = SECONDS * rate
    assert abs(len(data) / width - expected_samples) <= 4, (len(data) / width, expected_samples)

    samples = decode(data, encoding).astype(np.float64)
    edge = len(samples) // 20  # resampler edges aside
    level = float(np.sqrt(np.mean(samples[edge:-edge] ** 2)))
    assert level == pytest.approx(TONE_RMS, rel=0.1)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])
    assert peak == pytest.approx(VOICES[voice], abs=5)


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_resampled_segments_add_up(format_server: str, rate: int) -> None:
    """Each flushed segment is whole on its own, and segments do not drift apart."""
    fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": rate}
    segments = ["One two", "Three", "Four five six", "Seven"]
    with Client(format_server) as client:
        for text in segments:
            client.send(request("c1", text, continue_=True, flush=True, output_format=fmt))
        client.send(request("c1", "", continue_=False, output_format=fmt))
        frames = client.until_done("c1")
    assert of(frames, "c1")[-1]["type"] == "done"
    for flush_id, text in enumerate(segments, start=1):
        samples = len(audio(frames, "c1", flush_id)) / 2
        expected = len(text.split()) * WORD_SECONDS * rate
        assert abs(samples - expected) <= 4, (flush_id, samples, expected)
