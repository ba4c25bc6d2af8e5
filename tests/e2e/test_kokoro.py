"""Kokoro end to end: the shared server (built as `ttsd serve` builds it, so with Kokoro
when `ttsd[kokoro]` is installed, as the test command installs it) over a real socket."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.speech import speak
from tests.support.asr import recognize, word_recall
from tests.support.wsclient import Client, request

pytestmark = pytest.mark.e2e

TEXT = "Please call me back tomorrow morning about the meeting schedule."


def test_a_kokoro_voice_id_chooses_kokoro_under_a_sonic_model(client: Client) -> None:
    speech = speak(
        client,
        TEXT,
        voice={"mode": "id", "id": "af_heart"},
        sample_rate=16000,
        add_timestamps=True,
        language="en",
    )
    assert word_recall(TEXT, recognize(speech.pcm, 16000)) >= 0.85
    words = [
        w for f in speech.frames if f["type"] == "timestamps" for w in f["word_timestamps"]["words"]
    ]
    assert words == TEXT.split()


def test_model_id_kokoro_speaks_spanish_with_its_voice(client: Client) -> None:
    text = "Hola, mañana vamos a la playa con mis amigos."
    speech = speak(
        client, text, model_id="kokoro", voice={"mode": "id", "id": "ef_dora"}, language="es"
    )
    assert 1.0 < speech.duration < 8.0


def test_a_language_the_voice_does_not_speak_is_an_error_frame_and_the_connection_goes_on(
    client: Client,
) -> None:
    client.send(
        request(
            "fr1",
            "Bonjour.",
            voice={"mode": "id", "id": "af_heart"},
            language="fr",
            continue_=False,
        )
    )
    error = client.until(lambda f: f.get("context_id") == "fr1")[-1]
    assert error["type"] == "error" and error["status_code"] == 400
    assert error["error_code"] == "unsupported_language"
    assert "`language`" in error["error"] and "ff_siwis" in error["error"]
    speech = speak(
        client, "Still here.", context_id="after", voice={"mode": "id", "id": "ff_siwis"}
    )
    assert speech.duration > 0.3


def test_voices_list_languages_licences_and_filters(piper_server: str) -> None:
    voices = httpx.get(f"http://{piper_server}/voices", params={"limit": 100}).json()["data"]
    by_id = {v["id"]: v for v in voices}
    assert by_id["af_heart"]["engine"] == "kokoro" and by_id["af_heart"]["license"] == "Apache-2.0"
    assert "lessac" in by_id["en_US-joe-medium"]["license"]
    spanish = httpx.get(f"http://{piper_server}/voices", params={"language": "es"}).json()["data"]
    assert [v["id"] for v in spanish] == ["ef_dora"]
