"""`POST /v1/audio/speech` over a real socket with the tone engine: the official SDK, API
keys, exact audio lengths, metrics, and the server serving on after errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.checks import tone_bytes
from tests.support.live_server import live_server
from tests.support.metrics import scrape
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

KEY = "k1"
RATE = 24000


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    app = create_app(Settings(parallel_steps=2, api_keys=(KEY,)), EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        yield base


def _sdk(base: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://{base}/v1", api_key=key, max_retries=0)


def test_pcm_is_24khz_s16_of_exactly_the_spoken_words(served: str) -> None:
    with _sdk(served) as sdk:
        audio = sdk.audio.speech.create(
            model="tts-1", voice="tone-high", input="Two words.", response_format="pcm"
        ).content
    assert len(audio) == tone_bytes(2, RATE)


def test_an_openai_voice_name_speaks_with_the_default_voice_without_kokoro(served: str) -> None:
    with _sdk(served) as sdk:
        wav = sdk.audio.speech.create(
            model="tts-1", voice="nova", input="One.", response_format="wav"
        ).content
    assert wav[:4] == b"RIFF" and len(wav) == 44 + tone_bytes(1, RATE)


def test_the_api_key_is_required_and_a_wrong_one_refused(served: str) -> None:
    with _sdk(served, "wrong") as sdk, pytest.raises(openai.AuthenticationError) as refused:
        sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    # the SDK found the message in OpenAI's shape, though the key check is middleware
    assert "API key" in refused.value.message and refused.value.code == "unauthorized"
    response = httpx.post(f"http://{served}/v1/audio/speech", json={"input": "Hi."})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and "Bearer" in error["message"]
    assert response.headers["x-request-id"]
    # ttsd's own endpoints keep ttsd's shape
    assert httpx.post(f"http://{served}/tts/bytes", json={}).json()["error_code"] == "unauthorized"


def test_an_unknown_openai_path_is_a_404_in_openai_shape(served: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    response = httpx.post(f"http://{served}/v1/audio/transcriptions", headers=headers)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "/v1/audio/transcriptions" in error["message"]


def test_errors_name_the_field_and_the_server_serves_on(served: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    for body, param in (
        ({"model": "tts-1", "voice": "alloy"}, "input"),
        ({"model": "tts-1", "voice": "alloy", "input": "Hi.", "response_format": "aac"},
         "response_format"),
        ({"model": "tts-1", "voice": "tone-high", "input": "x" * 20001}, "input"),
    ):  # fmt: skip
        response = httpx.post(f"http://{served}/v1/audio/speech", json=body, headers=headers)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"] == param and error["type"] == "invalid_request_error"
        assert response.headers["x-request-id"]
    response = httpx.post(
        f"http://{served}/v1/audio/speech",
        content=b"{not json",
        headers=headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "error" in response.json()
    with _sdk(served) as sdk:
        assert sdk.audio.speech.create(model="tts-1", voice="tone-low", input="Still.").content


def test_openai_shaped_errors_are_counted_by_code(served: str) -> None:
    before = scrape(served).value("ttsd_errors_total", error_code="unauthorized")
    httpx.post(f"http://{served}/v1/audio/speech", json={"input": "Hi."})
    after = scrape(served).value("ttsd_errors_total", error_code="unauthorized")
    assert after - before == 1


def test_requests_are_counted_in_the_metrics(served: str) -> None:
    before = scrape(served).value("ttsd_characters_total", endpoint="openai")
    with _sdk(served) as sdk:
        sdk.audio.speech.create(model="tts-1", voice="tone-low", input="Counted here.")
    after = scrape(served).value("ttsd_characters_total", endpoint="openai")
    assert after - before == len("Counted here.")
