"""OpenAI's speech API end to end: the official `openai` SDK against the shared server
(the real voices), every format decoded and heard as speech by the offline recognizer."""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import openai
import pytest
import soundfile

from tests.e2e.speech import served_voice_ids
from tests.support.asr import assert_recognized, assert_speech_like

pytestmark = pytest.mark.e2e

#: A sentence the default voice speaks clearly enough for the recognizer run after run.
TEXT = "I would like a cup of coffee, please."
RATE = 24000
MIN_RECALL = 0.6


@pytest.fixture(scope="module")
def client(piper_server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"http://{piper_server}/v1", api_key="not-needed") as sdk:
        yield sdk


def _decoded(data: bytes, response_format: str) -> npt.NDArray[np.float32]:
    """Mono float samples at 24 kHz from OpenAI's `response_format`."""
    if response_format == "pcm":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768
    if response_format == "wav":
        with wave.open(io.BytesIO(data)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        # A streamed WAV says "unknown length" in its header: the samples follow it.
        return np.frombuffer(data[44:], dtype="<i2").astype(np.float32) / 32768
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")  # mp3, flac, opus
    assert rate == RATE
    # A lossy codec's decoder may overshoot full scale by a little.
    return np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)


@pytest.mark.parametrize("response_format", ["mp3", "wav", "pcm", "flac", "opus"])
def test_every_format_is_speech_of_the_input(client: openai.OpenAI, response_format: str) -> None:
    response = client.audio.speech.create(
        model="tts-1",
        voice="en_US-joe-medium",
        input=TEXT,
        response_format=response_format,  # type: ignore[arg-type]
    )
    pcm = _decoded(response.content, response_format)
    assert_speech_like(pcm, RATE, TEXT)
    assert_recognized(pcm, RATE, TEXT, min_recall=MIN_RECALL)


def test_streaming_to_a_file(client: openai.OpenAI, tmp_path: Path) -> None:
    path = tmp_path / "speech.mp3"
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, speed=1.25, instructions="Calmly."
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        response.stream_to_file(path)
    pcm = _decoded(path.read_bytes(), "mp3")
    assert_recognized(pcm, RATE, TEXT, min_recall=MIN_RECALL)


def test_an_openai_voice_name_maps_to_a_local_voice(piper_server: str) -> None:
    voices = httpx.get(f"http://{piper_server}/v1/audio/voices").json()["voices"]
    alloy = next(v for v in voices if v["id"] == "alloy")
    # Kokoro's af_heart where ttsd[kokoro] is installed, else the default voice.
    expected = "af_heart" if "af_heart" in served_voice_ids() else "en_US-joe-medium"
    assert alloy["name"] == f"alloy ({expected})"
    assert {"id": "en_US-joe-medium"}.items() <= voices[0].items()


def test_sse_sends_deltas_then_done(piper_server: str) -> None:
    body = {"model": "piper", "voice": "en_US-joe-medium", "input": TEXT}
    body |= {"response_format": "pcm", "stream_format": "sse"}
    response = httpx.post(f"http://{piper_server}/v1/audio/speech", json=body, timeout=60)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line[len("data: ") :])
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert events[-1]["type"] == "speech.audio.done" and events[-1]["usage"]["input_tokens"] > 0
    pcm = _decoded(b"".join(base64.b64decode(e["audio"]) for e in events[:-1]), "pcm")
    assert_recognized(pcm, RATE, TEXT, min_recall=MIN_RECALL)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "aac"}, "response_format"),
        ({"model": "gpt-voice"}, "model"),
        ({"speed": 9.0}, "speed"),
    ],
)
def test_errors_come_as_openai_errors_naming_the_field(
    client: openai.OpenAI, fields: dict[str, object], param: str
) -> None:
    request = {"model": "tts-1", "voice": "alloy", "input": TEXT} | fields
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.speech.create(**request)  # type: ignore[arg-type]
    assert error.value.status_code == 400
    assert error.value.param == param, error.value.body
    assert f"`{param}`" in error.value.message


def test_models_list_names_openais_models_and_the_engines(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper"} <= ids
