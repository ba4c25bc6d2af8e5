"""The SDK's REST methods against a real tone-engine server, for both twins:
`tts.bytes()`, `tts.sse()`, `voices.list()` (auto-pagination) and `voices.get()`."""

from __future__ import annotations

import pytest

from tests.client.conftest import BYTES_PER_WORD, FMT, ClientFactory
from tests.conftest import ServerFactory
from tests.support.live_server import free_port
from ttsd.client import (
    AuthenticationError,
    BadRequestError,
    Chunk,
    ConnectError,
    Done,
    NotFoundError,
    Timestamps,
    Voice,
)
from ttsd.server.settings import Settings

VOICE = "tone-low"


def test_bytes_raw_streams_the_audio(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    stream = client.tts.bytes(
        transcript="One two three. Four five.", voice=VOICE, output_format=FMT
    )
    chunks = list(stream)
    assert stream.content_type == stream.headers["content-type"] != ""
    assert all(chunks)
    assert len(b"".join(chunks)) == 5 * BYTES_PER_WORD


def test_bytes_defaults_to_a_wav_file(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    stream = client.tts.bytes(transcript="Hello there.", voice=VOICE)
    assert stream.content_type.startswith("audio/wav")
    wav = stream.read()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert int.from_bytes(wav[24:28], "little") == 44100  # the SDK's default rate
    pcm_bytes = len(wav) - (wav.index(b"data") + 8)
    assert pcm_bytes == 2 * BYTES_PER_WORD * 44100 // 16000  # 0.2 s resampled to 44.1 kHz


def test_bytes_error_raises_at_the_call(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with pytest.raises(BadRequestError) as caught:
        client.tts.bytes(transcript="Hi.", voice=VOICE, model_id="bogus", output_format=FMT)
    error = caught.value
    assert (error.status_code, error.error_code) == (400, "model_not_found")
    assert error.title and error.message and "bogus" in error.message
    assert error.request_id


def test_sse_yields_typed_events_up_to_done(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    events = list(
        client.tts.sse(
            transcript="Hello there. Bye now.",
            voice=VOICE,
            output_format=FMT,
            add_timestamps=True,
            context_id="sse-1",
        )
    )
    assert isinstance(events[-1], Done)
    assert [e.type for e in events].count("done") == 1
    assert {e.context_id for e in events} == {"sse-1"}
    audio = b"".join(e.audio for e in events if isinstance(e, Chunk))
    assert len(audio) == 4 * BYTES_PER_WORD
    words = [w for e in events if isinstance(e, Timestamps) for w in e.word_timestamps.words]
    assert words == ["Hello", "there.", "Bye", "now."]


def test_sse_error_raises(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    with pytest.raises(BadRequestError) as caught:
        list(client.tts.sse(transcript="Hi.", voice=VOICE, model_id="bogus", output_format=FMT))
    assert caught.value.error_code == "model_not_found"


def test_voices_list_pages_through_every_voice_and_ends(
    server: str, make_client: ClientFactory
) -> None:
    client = make_client(server)
    one_per_page = list(client.voices.list(limit=1))
    all_at_once = list(client.voices.list())
    assert [v.id for v in one_per_page] == ["tone-low", "tone-high"]
    assert one_per_page == all_at_once
    low = one_per_page[0]
    assert isinstance(low, Voice)
    assert (low.name, low.language, low.is_public, low.is_owner) == ("Low tone", "en", True, False)
    assert low.created_at
    assert [v.id for v in client.voices.list(q="high")] == ["tone-high"]
    assert [v.id for v in client.voices.list(limit=1, starting_after="tone-low")] == ["tone-high"]
    assert [v.id for v in client.voices.list(limit=1, ending_before="tone-high")] == ["tone-low"]


def test_voices_get(server: str, make_client: ClientFactory) -> None:
    client = make_client(server)
    voice = client.voices.get("tone-high")
    assert (voice.id, voice.name) == ("tone-high", "High tone")
    with pytest.raises(NotFoundError) as caught:
        client.voices.get("no such voice")
    assert caught.value.status_code == 404
    assert caught.value.error_code == "voice_not_found"


def test_rest_needs_the_api_key(serve: ServerFactory, make_client: ClientFactory) -> None:
    with serve(Settings(parallel_steps=2, api_keys=("k",))) as base:
        with pytest.raises(AuthenticationError) as caught:
            list(make_client(base, api_key="wrong").voices.list())
        assert caught.value.error_code == "unauthorized"
        keyed = make_client(base, api_key="k")
        assert [v.id for v in keyed.voices.list()] == ["tone-low", "tone-high"]
        assert len(keyed.tts.bytes(transcript="Hi.", voice=VOICE, output_format=FMT).read()) == (
            BYTES_PER_WORD
        )


def test_nothing_listening_raises_connect_error(make_client: ClientFactory) -> None:
    client = make_client(f"127.0.0.1:{free_port()}")
    with pytest.raises(ConnectError):
        client.voices.get("tone-low")
