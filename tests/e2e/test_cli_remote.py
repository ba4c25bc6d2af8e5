"""`ttsd say --url` and `ttsd voices --url` through a running server (the real voice)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.speech import served_voice_ids
from tests.support.asr import recognize, word_recall
from tests.support.live_server import free_port
from ttsd.audio.encoders import decode
from ttsd.cli import main
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

TEXT = "I would like a cup of coffee."


def test_say_through_the_server_writes_speech(piper_server: str, tmp_path: Path) -> None:
    out = tmp_path / "remote.wav"
    result = CliRunner().invoke(
        main,
        ["say", TEXT, "-o", str(out), "--url", f"http://{piper_server}", "--sample-rate", "16000"],
    )
    assert result.exit_code == 0, result.output
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 16000
        samples = decode(wav.readframes(wav.getnframes()), Encoding.PCM_S16LE)
    assert word_recall(TEXT, recognize(samples, 16000)) >= 0.6


def test_a_long_text_through_the_server_is_spoken_whole(piper_server: str, tmp_path: Path) -> None:
    # more than one batch (5000 characters) goes through several contexts
    text = " ".join(f"This is sentence number {n} of the test." for n in range(1, 161))
    assert len(text) > 5000
    out = tmp_path / "long.raw"
    result = CliRunner().invoke(
        main, ["say", text, "-o", str(out), "--url", f"http://{piper_server}", "-q"]
    )
    assert result.exit_code == 0, result.output
    seconds = len(out.read_bytes()) / 2 / 22050
    assert 160 * 1.0 < seconds < 160 * 4.0


def test_voices_through_the_server(piper_server: str) -> None:
    result = CliRunner().invoke(main, ["voices", "--ids", "--url", f"http://{piper_server}"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == served_voice_ids()


def test_an_unreachable_server_says_what_to_do(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["say", "Hi", "-o", str(tmp_path / "x.wav"), "--url", url])
    assert result.exit_code == 1
    assert "ttsd serve" in result.output
