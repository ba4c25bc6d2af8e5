"""ttsd's own SDK with the real voice: the seed's flushing examples run unchanged with
`ttsd.Client` / `ttsd.AsyncClient` in place of the official SDK, and the REST methods
return speech that is heard as its text."""

from __future__ import annotations

from pathlib import Path

import pytest

import ttsd
from tests.e2e import seed_examples
from tests.e2e.seed_checks import check_seed_run, pcm_files
from tests.e2e.speech import CALL, COFFEE, JOE_VOICE, MIN_RECALL, NATIVE_RATE
from tests.support.asr import assert_recognized
from ttsd.audio.encoders import decode
from ttsd.client import Chunk, Done, Timestamps
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e


def test_seed_sync_flushing_example_with_ttsd_client(
    piper_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with ttsd.Client(base_url=f"http://{piper_server}") as client:
        seed_examples.tts_websocket_flushing(client)  # type: ignore[arg-type]
    check_seed_run(tmp_path, pcm_files(tmp_path), capsys.readouterr().out, asynchronous=False)


async def test_seed_async_flushing_example_with_ttsd_async_client(
    piper_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    async with ttsd.AsyncClient(base_url=f"http://{piper_server}") as client:
        await seed_examples.tts_websocket_flushing_async(client)  # type: ignore[arg-type]
    check_seed_run(tmp_path, pcm_files(tmp_path), capsys.readouterr().out, asynchronous=True)


def test_tts_bytes_wav_is_heard_as_its_text(piper_server: str) -> None:
    with ttsd.Client(base_url=f"http://{piper_server}") as client:
        stream = client.tts.bytes(transcript=COFFEE, voice=JOE_VOICE["id"])
        assert stream.content_type.startswith("audio/wav")
        wav = stream.read()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE", wav[:16]
    sample_rate = int.from_bytes(wav[24:28], "little")
    assert sample_rate == 44100  # the SDK's default output format for bytes()
    pcm = decode(wav[wav.index(b"data") + 8 :], Encoding.PCM_S16LE)
    assert_recognized(pcm, sample_rate, COFFEE, min_recall=MIN_RECALL)


async def test_tts_sse_is_heard_as_its_text_with_word_timestamps(piper_server: str) -> None:
    fmt = {"container": "raw", "encoding": "pcm_f32le", "sample_rate": NATIVE_RATE}
    async with ttsd.AsyncClient(base_url=f"http://{piper_server}") as client:
        events = await client.tts.sse(
            transcript=CALL, voice=JOE_VOICE, output_format=fmt, add_timestamps=True
        )
        responses = [response async for response in events]
    assert isinstance(responses[-1], Done)
    audio = b"".join(r.audio for r in responses if isinstance(r, Chunk))
    words = [w for r in responses if isinstance(r, Timestamps) for w in r.word_timestamps.words]
    assert words == CALL.split()
    assert_recognized(decode(audio, Encoding.PCM_F32LE), NATIVE_RATE, CALL, min_recall=MIN_RECALL)
