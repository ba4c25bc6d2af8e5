"""`GET /metrics` of a server built as `ttsd serve` builds it (the real default voice):
after a WebSocket context and a REST request of real speech, the families say what the
client received. The server is shared by the e2e tests, so the test reads differences."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.speech import COFFEE, JOE, JOE_VOICE, NATIVE_RATE
from tests.support.asr import assert_speech_like
from tests.support.metrics import Exposition, scrape
from tests.support.wsclient import Client, audio, request
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

FORMAT = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": NATIVE_RATE}
SECONDS_PER_BYTE = 1 / (NATIVE_RATE * 2)


def delta(after: Exposition, before: Exposition, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def test_real_speech_is_counted_as_the_client_received_it(piper_server: str) -> None:
    before = scrape(piper_server)
    with Client(piper_server) as client:
        client.send(request("m1", JOE, voice=JOE_VOICE, output_format=FORMAT))
        spoken = audio(client.until_done("m1"), "m1")
    assert_speech_like(decode(spoken, Encoding.PCM_S16LE), NATIVE_RATE, JOE)
    response = httpx.post(
        f"http://{piper_server}/tts/bytes",
        json={
            "model_id": "sonic-3",
            "transcript": COFFEE,
            "voice": JOE_VOICE,
            "output_format": FORMAT,
        },
        timeout=60,
    )
    assert response.status_code == 200
    after = scrape(piper_server)

    assert delta(after, before, "ttsd_characters_total", endpoint="websocket") == len(JOE)
    assert delta(after, before, "ttsd_characters_total", endpoint="bytes") == len(COFFEE)
    assert delta(after, before, "ttsd_audio_seconds_total", endpoint="websocket") == (
        pytest.approx(len(spoken) * SECONDS_PER_BYTE)
    )
    assert delta(after, before, "ttsd_audio_seconds_total", endpoint="bytes") == (
        pytest.approx(len(response.content) * SECONDS_PER_BYTE)
    )
    for endpoint in ("websocket", "bytes"):
        name = "ttsd_time_to_first_audio_seconds"
        assert delta(after, before, f"{name}_count", endpoint=endpoint) == 1
        # Real first audio of a short sentence: well under the 10 s bucket, above 20 ms.
        assert 0.02 < delta(after, before, f"{name}_sum", endpoint=endpoint) < 10
    steps = delta(after, before, "ttsd_synthesis_step_seconds_count")
    assert steps >= 2
    assert 0 < delta(after, before, "ttsd_synthesis_step_seconds_sum") / steps < 10
    assert delta(after, before, "ttsd_contexts_finished_total", outcome="done") == 2
    assert after.value("ttsd_contexts") == 0
    assert after.value("ttsd_load_seconds_total") > before.value("ttsd_load_seconds_total")
    assert after.value("ttsd_load_ratio") > 0
