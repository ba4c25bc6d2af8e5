"""`ttsd say --url` and `ttsd voices --url` through a running server (the real voice)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.speech import served_voice_ids
from tests.support.asr import recognize, word_recall
from tests.support.live_server import free_port, live_server
from tests.support.tone_engine import ToneEngine
from ttsd.audio.encoders import decode
from ttsd.cli import main
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.formats import Encoding
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

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


def test_an_unknown_voice_is_the_same_error_in_process_and_through_the_server(
    piper_server: str, tmp_path: Path
) -> None:
    # Before: in-process refused it, while --url spoke with the default voice in silence.
    url = f"http://{piper_server}"
    results = {
        "in-process": CliRunner().invoke(
            main, ["say", "Hi", "--voice", "nope", "-o", str(tmp_path / "a.wav")]
        ),
        "remote": CliRunner().invoke(
            main, ["say", "Hi", "--voice", "nope", "-o", str(tmp_path / "b.wav"), "--url", url]
        ),
    }
    for where, result in results.items():
        assert result.exit_code == 2, (where, result.output)
        assert "no voice 'nope'" in result.output, where
        assert "available: en_US-joe-medium" in result.output, where
    assert f"on the server at {url}" in results["remote"].output
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


def test_an_alias_is_a_known_voice_through_the_server(tmp_path: Path) -> None:
    alias = "a0e99841-438c-4a64-b679-ae501e7d6091"
    registry = EngineRegistry([ToneEngine()], aliases={alias: "tone-high"})
    out = tmp_path / "alias.raw"
    with live_server(create_app(Settings(), registry)) as base:
        result = CliRunner().invoke(
            main,
            [
                "say",
                "Hello there.",
                "-o",
                str(out),
                "-q",
                "--url",
                f"http://{base}",
                "--voice",
                alias,
            ],
        )
    assert result.exit_code == 0, result.output
    samples = decode(out.read_bytes(), Encoding.PCM_S16LE)
    assert len(samples) > 22050 * 0.1 and abs(samples).max() > 0.1  # the tone came back


@pytest.mark.parametrize("given", [None, "wrong-key"])
def test_a_401_tells_how_to_pass_the_key(tmp_path: Path, given: str | None) -> None:
    settings = Settings(api_keys=("right-key",))
    with live_server(create_app(settings, EngineRegistry([ToneEngine()]))) as base:
        args = ["say", "Hi", "-o", str(tmp_path / "x.wav"), "--url", f"http://{base}"]
        env = {"TTSD_API_KEY": given}
        result = CliRunner().invoke(main, args, env=env)
        voices = CliRunner().invoke(main, ["voices", "--url", f"http://{base}"], env=env)
        right = CliRunner().invoke(main, [*args, "--api-key", "right-key", "-q"])
    for outcome in (result, voices):
        assert outcome.exit_code == 1, outcome.output
        assert "--api-key" in outcome.output and "TTSD_API_KEY" in outcome.output
        assert "Authorization" not in outcome.output  # no lecture on HTTP headers
        if given:
            assert "refused the API key" in outcome.output
            assert given not in outcome.output  # the key itself is never echoed
        else:
            assert "requires an API key" in outcome.output
    assert right.exit_code == 0, right.output
