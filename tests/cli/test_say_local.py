"""`ttsd say` and `ttsd voices` in-process, with the real default voice."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.support.asr import recognize, word_recall
from ttsd.audio.encoders import decode
from ttsd.cli import main
from ttsd.engines.kokoro.voices import vendored_voices
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

TEXT = "I would like a cup of coffee."


def run(*args: str, input: str | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def test_say_to_a_wav_file_speaks_the_text(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    code, _, err = run("say", TEXT, "-o", str(out))
    assert code == 0, err
    with wave.open(str(out)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (22050, 2, 1)
        frames = wav.readframes(wav.getnframes())
    samples = decode(frames, Encoding.PCM_S16LE)
    assert 1.0 < len(samples) / 22050 < 5.0
    assert word_recall(TEXT, recognize(samples, 22050)) >= 0.6
    assert "wrote" in err and str(out) in err


def test_say_reads_a_file_and_writes_mulaw_at_8khz(tmp_path: Path) -> None:
    source = tmp_path / "text.txt"
    source.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "hello.raw"
    code, _, err = run(
        "say", "-f", str(source), "-o", str(out), "--encoding", "pcm_mulaw", "--sample-rate", "8000"
    )
    assert code == 0, err
    samples = decode(out.read_bytes(), Encoding.PCM_MULAW)
    assert 1.0 < len(samples) / 8000 < 5.0
    assert word_recall(TEXT, recognize(samples, 8000)) >= 0.6


def test_say_to_mp3_writes_mpeg_frames(tmp_path: Path) -> None:
    out = tmp_path / "hello.mp3"
    code, _, err = run("say", TEXT, "-o", str(out), "--sample-rate", "44100", "--bit-rate", "64000")
    assert code == 0, err
    data = out.read_bytes()
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0  # MPEG frame sync
    # 64 kbit/s for the ~2 s of speech: about 16 kB
    assert 8_000 < len(data) < 40_000


def test_say_to_standard_output_writes_raw_samples() -> None:
    code, out, _ = run("say", TEXT, "--quiet")
    assert code == 0
    samples = decode(out, Encoding.PCM_S16LE)
    assert float(np.sqrt(np.mean(samples**2))) > 0.02


def test_say_reads_standard_input(tmp_path: Path) -> None:
    out = tmp_path / "stdin.wav"
    code, _, err = run("say", "-f", "-", "-o", str(out), input=TEXT)
    assert code == 0, err
    assert out.stat().st_size > 44 + 22050  # header + at least half a second


def test_a_long_text_is_spoken_whole(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {n} is here." for n in range(1, 41))
    out = tmp_path / "long.wav"
    code, _, err = run("say", text, "-o", str(out))
    assert code == 0, err
    with wave.open(str(out)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 40 * 1.0 < seconds < 40 * 4.0
    # the streaming header was replaced by the real sizes
    riff_size = struct.unpack("<I", out.read_bytes()[4:8])[0]
    assert riff_size == out.stat().st_size - 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["say"], "no text to say: give it as an argument, or with -f FILE"),
        (["say", "   ", "-o", "x.wav"], "empty"),
        (["say", "Hi", "-o", "x.ogg"], ".wav, .mp3 or .raw"),
        (["say", "Hi", "-o", "x.mp3", "--encoding", "pcm_alaw"], "not to MP3"),
        (["say", "Hi", "-o", "x.wav", "--voice", "nobody"], "no voice 'nobody'; available:"),
        (["say", "Hi", "-o", "x.wav", "--sample-rate", "11025"], "11025"),
    ],
)
def test_say_errors_say_what_to_do(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    code, _, err = run(*args)
    assert code == 2
    assert message in err


def test_voices_lists_the_default_voice() -> None:
    code, out, _ = run("voices")
    assert code == 0
    assert b"en_US-joe-medium" in out
    assert b"piper" in out and b"lessac" in out  # its engine and licence
    code, out, _ = run("voices", "--ids")
    ids = out.decode().split()
    # The default voice first; then Kokoro's, where `ttsd[kokoro]` is installed.
    assert ids[0] == "en_US-joe-medium"
    assert set(ids[1:]) <= {voice.id for voice in vendored_voices()}


def test_every_command_has_help() -> None:
    for command in ([], ["serve"], ["say"], ["voices"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and b"Usage:" in out


def test_serve_wants_both_tls_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    code, _, err = run("serve", "--ssl-certfile", str(cert))
    assert code == 2
    assert "--ssl-keyfile" in err
