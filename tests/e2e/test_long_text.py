"""A long sentence without punctuation, with the real voice: spoken whole, in bounded
steps, over the WebSocket and POST /tts/bytes (issue 8)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.speech import CARTESIA_VOICE, NATIVE_RATE, output_format, speech_of
from tests.support.asr import assert_recognized, assert_speech_like
from tests.support.wsclient import Client, request
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

#: An LLM reply without a single period: 24 sentences' worth of words, ~450 characters.
RAMBLE = (
    "i would like a cup of coffee and thank you very much good morning my name is joe "
    "please call me tomorrow morning the quick brown fox jumps over the lazy dog "
) * 3


def test_websocket_speaks_a_long_unpunctuated_stream(piper_server: str) -> None:
    fmt = output_format()
    with Client(piper_server) as client:
        for word in RAMBLE.split(" "):
            client.send(
                request(
                    "ramble", word + " ", voice=CARTESIA_VOICE, output_format=fmt, continue_=True
                )
            )
        client.send(request("ramble", "", voice=CARTESIA_VOICE, output_format=fmt, continue_=False))
        frames = client.until_done("ramble", timeout=120)
    speech = speech_of(frames, "ramble", fmt)
    assert_speech_like(speech.pcm, NATIVE_RATE, RAMBLE)
    assert_recognized(speech.pcm, NATIVE_RATE, RAMBLE, min_recall=0.6)


def test_rest_speaks_a_long_unpunctuated_transcript(piper_server: str) -> None:
    body = {
        "model_id": "sonic-3",
        "transcript": RAMBLE,
        "voice": CARTESIA_VOICE,
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": NATIVE_RATE},
    }
    response = httpx.post(f"http://{piper_server}/tts/bytes", json=body, timeout=120)
    assert response.status_code == 200, response.text
    pcm = decode(response.content, Encoding.PCM_S16LE)
    assert_speech_like(pcm, NATIVE_RATE, RAMBLE)
    assert_recognized(pcm, NATIVE_RATE, RAMBLE, min_recall=0.6)
