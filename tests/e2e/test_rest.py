"""REST with the real voice: `/tts/bytes` as wav, raw and mp3, and `/tts/sse` with
timestamps, checked by an offline recognizer and by the MP3 frame headers."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.speech import CARTESIA_VOICE, COFFEE, FOX, JOE, NATIVE_RATE, THANKS
from tests.support.asr import assert_recognized, assert_speech_like, normalize_words
from tests.support.mp3 import parse_frames
from tests.support.rest import parse_sse, sse_audio
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

MIN_RECALL = 0.6
#: Piper samples its durations: the same text twice differs by up to this much.
SAME_TEXT_TOLERANCE = 0.2


@pytest.fixture(scope="module")
def http(piper_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{piper_server}", timeout=60) as client:
        yield client


def body(transcript: str, output_format: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "model_id": "sonic-3",
        "transcript": transcript,
        "voice": CARTESIA_VOICE,
        "output_format": output_format,
        "language": "en",
        **fields,
    }


def post_bytes(http: httpx.Client, transcript: str, fmt: dict[str, Any]) -> httpx.Response:
    response = http.post("/tts/bytes", json=body(transcript, fmt), headers={"Accept": "audio/wav"})
    assert response.status_code == 200, response.text
    return response


def test_wav_is_speech_of_the_text(http: httpx.Client) -> None:
    fmt = {"container": "wav", "encoding": "pcm_s16le", "sample_rate": NATIVE_RATE}
    response = post_bytes(http, COFFEE, fmt)
    assert response.headers["content-type"] == "audio/wav"
    data = response.content
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    tag, channels, rate = struct.unpack("<HHI", data[20:28])
    assert (tag, channels, rate) == (1, 1, NATIVE_RATE)
    assert data[36:40] == b"data"
    pcm = decode(data[44:], Encoding.PCM_S16LE)
    assert_speech_like(pcm, NATIVE_RATE, COFFEE)
    assert_recognized(pcm, NATIVE_RATE, COFFEE, min_recall=MIN_RECALL)


@pytest.mark.parametrize(
    ("encoding", "rate"), [("pcm_s16le", 16000), ("pcm_f32le", 44100), ("pcm_mulaw", 8000)]
)
def test_raw_is_speech_of_the_text(http: httpx.Client, encoding: str, rate: int) -> None:
    fmt = {"container": "raw", "encoding": encoding, "sample_rate": rate}
    response = post_bytes(http, THANKS, fmt)
    assert response.headers["content-type"] == "application/octet-stream"
    pcm = decode(response.content, Encoding(encoding))
    assert_speech_like(pcm, rate, THANKS)
    assert_recognized(pcm, rate, THANKS, min_recall=MIN_RECALL)


def test_mp3_has_the_size_of_the_speech(http: httpx.Client) -> None:
    reference = post_bytes(
        http, FOX, {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 44100}
    )
    seconds = len(reference.content) / 2 / 44100
    response = post_bytes(http, FOX, {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000})
    assert response.headers["content-type"] == "audio/mpeg"
    frames = parse_frames(response.content)
    assert {(f.version, f.sample_rate, f.bit_rate, f.mono) for f in frames} == {
        ("1", 44100, 128000, True)
    }
    mp3_seconds = sum(f.samples for f in frames) / 44100
    # Up to three frames of encoder delay and padding beyond the audio (78 ms).
    assert abs(mp3_seconds / seconds - 1) <= SAME_TEXT_TOLERANCE, (mp3_seconds, seconds)
    # 128 kbit/s is 16000 bytes per second of audio.
    assert abs(len(response.content) / (16000 * mp3_seconds) - 1) < 0.01


@pytest.fixture(scope="module")
def sse_events(http: httpx.Client) -> list[dict[str, Any]]:
    fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000}
    payload = body(JOE, fmt, add_timestamps=True, context_id="sse-1")
    response = http.post("/tts/sse", json=payload, headers={"Accept": "text/event-stream"})
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def test_sse_audio_is_speech_of_the_text(sse_events: list[dict[str, Any]]) -> None:
    types = [e["type"] for e in sse_events]
    assert types[-1] == "done" and "error" not in types
    assert {e.get("context_id") for e in sse_events} == {"sse-1"}
    pcm = decode(sse_audio(sse_events), Encoding.PCM_S16LE)
    assert_speech_like(pcm, 24000, JOE)
    assert_recognized(pcm, 24000, JOE, min_recall=MIN_RECALL)


def test_sse_timestamps_are_the_transcripts_words(sse_events: list[dict[str, Any]]) -> None:
    stamps = [e["word_timestamps"] for e in sse_events if e["type"] == "timestamps"]
    words = [w for s in stamps for w in s["words"]]
    assert [normalize_words(w) for w in words] == [normalize_words(w) for w in JOE.split()]
    starts = [t for s in stamps for t in s["start"]]
    ends = [t for s in stamps for t in s["end"]]
    seconds = len(sse_audio(sse_events)) / 2 / 24000
    assert all(0 <= s < e <= seconds + 1e-3 for s, e in zip(starts, ends, strict=True))
    assert starts == sorted(starts)
