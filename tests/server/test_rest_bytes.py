"""`POST /tts/bytes` with the tone engine: every container, byte counts, streaming, and
what happens when the client leaves or synthesis breaks mid-stream."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.support.checks import tone_bytes, wait_for
from tests.support.live_server import live_server
from tests.support.mp3 import assert_mp3
from tests.support.rest import RAW_16K, tts_body
from tests.support.tone_engine import TONE_RATE, WORD_SECONDS
from tests.support.tone_voices import HoldingToneEngine
from ttsd.audio.encoders import decode
from ttsd.audio.wav import WAV_UNKNOWN_SIZE, wav_header
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.formats import BYTES_PER_SAMPLE, MP3_BIT_RATES, SAMPLE_RATES, Encoding
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

FIVE_WORDS = "One two three. Four five."


@pytest.fixture(scope="module")
def http(shared_server: str) -> Iterator[httpx.Client]:
    """An HTTP client for the shared tone-engine server."""
    with httpx.Client(base_url=f"http://{shared_server}", timeout=30) as client:
        yield client


def post(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    response = http.post("/tts/bytes", json=body)
    assert response.status_code == 200, response.text
    return response


def assert_samples(data: bytes, words: int, rate: int, width: int) -> None:
    """`data` holds `words` tones at `rate` (a resampler may be a few samples off)."""
    expected = words * WORD_SECONDS * rate
    assert len(data) % width == 0
    assert abs(len(data) / width - expected) <= 4, (len(data) / width, expected)


# --- containers ----------------------------------------------------------------------------


def test_raw_is_the_samples(http: httpx.Client) -> None:
    response = post(http, tts_body(FIVE_WORDS))
    assert response.headers["content-type"] == "application/octet-stream"
    assert len(response.content) == tone_bytes(5)
    pcm = decode(response.content, Encoding.PCM_S16LE)
    assert np.max(np.abs(pcm)) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_raw_every_encoding(http: httpx.Client, encoding: Encoding, rate: int) -> None:
    fmt = {"container": "raw", "encoding": encoding.value, "sample_rate": rate}
    response = post(http, tts_body(FIVE_WORDS, fmt))
    assert_samples(response.content, 5, rate, BYTES_PER_SAMPLE[encoding])


@pytest.mark.parametrize("encoding", list(Encoding))
def test_wav_is_a_streaming_header_then_the_samples(http: httpx.Client, encoding: Encoding) -> None:
    fmt = {"container": "wav", "encoding": encoding.value, "sample_rate": TONE_RATE}
    response = post(http, tts_body(FIVE_WORDS, fmt))
    assert response.headers["content-type"] == "audio/wav"
    header = wav_header(TONE_RATE, encoding, None)
    assert response.content[: len(header)] == header
    width = BYTES_PER_SAMPLE[encoding]
    assert len(response.content) == len(header) + tone_bytes(5, width=width)


def test_wav_header_fields(http: httpx.Client) -> None:
    fmt = {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 24000}
    data = post(http, tts_body(FIVE_WORDS, fmt)).content
    riff, riff_size, wave = struct.unpack("<4sI4s", data[:12])
    assert (riff, wave, riff_size) == (b"RIFF", b"WAVE", WAV_UNKNOWN_SIZE)
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert (tag, channels, rate, byte_rate, align, bits) == (1, 1, 24000, 48000, 2, 16)
    assert data[36:40] == b"data"
    assert_samples(data[44:], 5, 24000, 2)


@pytest.mark.parametrize("bit_rate", MP3_BIT_RATES)
def test_mp3_at_44100(http: httpx.Client, bit_rate: int) -> None:
    fmt = {"container": "mp3", "sample_rate": 44100, "bit_rate": bit_rate}
    response = post(http, tts_body(FIVE_WORDS, fmt))
    assert response.headers["content-type"] == "audio/mpeg"
    samples = round(5 * WORD_SECONDS * 44100)
    assert_mp3(response.content, sample_rate=44100, bit_rate=bit_rate, input_samples=samples)


@pytest.mark.parametrize("rate", SAMPLE_RATES)
def test_mp3_every_sample_rate(http: httpx.Client, rate: int) -> None:
    fmt = {"container": "mp3", "sample_rate": rate, "bit_rate": 32000}
    data = post(http, tts_body(FIVE_WORDS, fmt)).content
    samples = round(5 * WORD_SECONDS * rate)
    assert_mp3(data, sample_rate=rate, bit_rate=32000, input_samples=samples)


@pytest.mark.parametrize(
    ("container", "size"),
    [("raw", 0), ("wav", 44), ("mp3", 0)],
)
def test_blank_transcript_is_no_audio(http: httpx.Client, container: str, size: int) -> None:
    fmt: dict[str, Any] = {"container": container, "encoding": "pcm_s16le", "sample_rate": 16000}
    if container == "mp3":
        fmt = {"container": "mp3", "sample_rate": 16000, "bit_rate": 64000}
    assert len(post(http, tts_body("  ", fmt)).content) == size


# --- request fields ------------------------------------------------------------------------


def test_voice_shapes_and_voices(http: httpx.Client) -> None:
    low = post(http, tts_body(FIVE_WORDS, voice="tone-low")).content
    assert post(http, tts_body(FIVE_WORDS, voice={"id": "tone-low"})).content == low
    high = post(http, tts_body(FIVE_WORDS, voice={"mode": "id", "id": "tone-high"})).content
    assert len(high) == len(low) and high != low


def test_generation_config_speed_and_volume(http: httpx.Client) -> None:
    fast = post(http, tts_body(FIVE_WORDS, generation_config={"speed": 2.0})).content
    assert len(fast) == tone_bytes(5) // 2
    quiet = post(http, tts_body(FIVE_WORDS, generation_config={"volume": 0.5})).content
    assert np.max(np.abs(decode(quiet, Encoding.PCM_S16LE))) == pytest.approx(0.25, abs=0.01)


def test_legacy_speed(http: httpx.Client) -> None:
    slow = post(http, tts_body(FIVE_WORDS, speed="slowest")).content
    assert len(slow) == 5 * int(TONE_RATE * WORD_SECONDS / 0.6) * 2  # rate factor 0.6


def test_optional_and_unknown_fields_are_accepted(http: httpx.Client) -> None:
    body = tts_body(
        FIVE_WORDS,
        language="en",
        save=False,
        duration=2.0,
        pronunciation_dict_id="none",
        locale="en-US",
        something_new={"a": 1},
    )
    assert len(post(http, body).content) == tone_bytes(5)


def test_sdk_headers_do_not_matter(http: httpx.Client) -> None:
    # The official SDKs send `Accept: audio/wav` even for raw.
    response = http.post(
        "/tts/bytes",
        json=tts_body(FIVE_WORDS),
        headers={"Accept": "audio/wav", "Cartesia-Version": "2025-11-04"},
    )
    assert response.headers["content-type"] == "application/octet-stream"
    assert len(response.content) == tone_bytes(5)


def test_a_request_id_on_every_response(http: httpx.Client) -> None:
    ids = {post(http, tts_body("One.")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


# --- streaming -----------------------------------------------------------------------------


@pytest.fixture
def holding() -> Iterator[tuple[str, HoldingToneEngine]]:
    """A server whose engine holds each request's second sentence until released.

    Two one-core workers: a held step never takes the other worker's slot."""
    engine = HoldingToneEngine()
    app = create_app(Settings(parallel_steps=2, engine_threads=1), EngineRegistry([engine]))
    with live_server(app) as base:
        try:
            yield base, engine
        finally:
            engine.release.set()  # before the server stops: no step left in flight


@pytest.mark.parametrize("container", ["raw", "wav"])
def test_body_streams_before_synthesis_ends(
    holding: tuple[str, HoldingToneEngine], container: str
) -> None:
    base, engine = holding
    fmt = {**RAW_16K, "container": container}
    header = 44 if container == "wav" else 0
    first = header + tone_bytes(3)
    with (
        httpx.Client(base_url=f"http://{base}", timeout=30) as http,
        http.stream("POST", "/tts/bytes", json=tts_body(FIVE_WORDS, fmt)) as response,
    ):
        assert response.status_code == 200
        chunks = response.iter_raw()
        received = b""
        while len(received) < first:
            received += next(chunks)
        # The first sentence arrived while the second cannot have been handed out.
        assert not engine.release.is_set() and engine.chunks_out == 1
        assert len(received) == first
        wait_for(engine.held.is_set, what="the second sentence to be in the engine")
        engine.release.set()
        received += b"".join(chunks)
    assert len(received) == header + tone_bytes(5)


def test_mp3_streams_before_synthesis_ends(holding: tuple[str, HoldingToneEngine]) -> None:
    base, engine = holding
    fmt = {"container": "mp3", "sample_rate": 16000, "bit_rate": 64000}
    # A long first sentence: LAME holds back about a frame, so it must make several.
    text = " ".join(["word"] * 20) + ". Last one."
    with (
        httpx.Client(base_url=f"http://{base}", timeout=30) as http,
        http.stream("POST", "/tts/bytes", json=tts_body(text, fmt)) as response,
    ):
        chunks = response.iter_raw()
        received = next(chunks)
        assert not engine.release.is_set() and engine.chunks_out == 1
        assert received[:2] == b"\xff\xf3"
        wait_for(engine.held.is_set, what="the second sentence to be in the engine")
        engine.release.set()
        received += b"".join(chunks)
    assert_mp3(received, sample_rate=16000, bit_rate=64000, input_samples=22 * 1600)


def test_failure_mid_stream_cuts_the_body(shared_server: str) -> None:
    # The first sentence is sent with the 200; the second fails: the body must not look
    # complete, so the connection is closed before the end of the chunked body.
    with (
        httpx.Client(base_url=f"http://{shared_server}", timeout=30) as http,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        http.post("/tts/bytes", json=tts_body("One two. Then explode here."))
    with httpx.Client(base_url=f"http://{shared_server}", timeout=30) as http:
        assert len(post(http, tts_body("Still works.")).content) == tone_bytes(2)


def test_synthesis_in_flight_does_not_block_the_server(
    holding: tuple[str, HoldingToneEngine],
) -> None:
    # The engine runs on a worker thread: with one request held inside it, the event loop
    # still answers other requests (and another synthesis on the second worker).
    base, engine = holding
    with (
        httpx.Client(base_url=f"http://{base}", timeout=30) as http,
        http.stream("POST", "/tts/bytes", json=tts_body(FIVE_WORDS)) as held,
    ):
        chunks = held.iter_raw()
        next(chunks)
        wait_for(engine.held.is_set, what="the second sentence to be held")
        assert http.get("/voices").status_code == 200
        other = http.post("/tts/bytes", json=tts_body("Just one sentence."))
        assert len(other.content) == tone_bytes(3)
        engine.release.set()
        b"".join(chunks)
