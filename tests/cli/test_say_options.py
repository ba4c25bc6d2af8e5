"""`ttsd say`'s options as a new user tries them: every mistake is one clear usage error
that names what to fix, with no traceback and no file left behind (issue 12, part 7).

These fail before any engine loads, so they need no voice and no server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ttsd.cli import main


def say(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["say", *args], input=input, env={"TTSD_BASE_URL": None})


def assert_usage_error(result: Result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def test_no_text_says_how_to_give_it() -> None:
    result = say()
    assert_usage_error(result, "no text to say", "-f FILE")
    assert "not both" not in result.output


def test_text_and_file_together_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "t.txt"
    source.write_text("Hello.", encoding="utf-8")
    assert_usage_error(say("Hello.", "-f", str(source)), "not both")


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (("--format", "mp3", "-o", "x.wav"), ("--format mp3", "x.wav", "WAV")),
        (("--format", "wav", "-o", "x.mp3"), ("--format wav", "x.mp3", "MP3")),
        (("--format", "raw", "-o", "x.wav"), ("--format raw", "x.wav")),
        (("-o", "x.wav", "--bit-rate", "64000"), ("--bit-rate", "MP3 only", "WAV")),
        (("-o", "x.raw", "--bit-rate", "64000"), ("--bit-rate", "raw")),
        (("-o", "x.mp3", "--encoding", "pcm_f32le"), ("--encoding pcm_f32le", "MP3")),
        (("-o", "x.mp3", "--encoding", "pcm_s16le"), ("--encoding pcm_s16le", "MP3")),
        (
            (
                "-o",
                "x.flac",
            ),
            ("x.flac", "--format"),
        ),
    ],
)
def test_options_the_output_would_ignore_are_refused_naming_both(
    tmp_path: Path, args: tuple[str, ...], phrases: tuple[str, ...]
) -> None:
    out_args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    result = say("Hello.", *out_args)
    assert_usage_error(result, *phrases)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_format_agreeing_with_the_extension_or_for_an_unknown_one_is_taken(
    tmp_path: Path,
) -> None:
    # Refused for another reason (the missing folder), so no voice is loaded: what matters
    # is that the format was accepted.
    for args in (("--format", "wav", "-o", "x.WAV"), ("--format", "raw", "-o", "x.bin")):
        path = tmp_path / "missing" / args[-1]
        result = say("Hello.", *args[:-1], str(path))
        assert result.exit_code == 1, result.output
        assert "Could not open file" in result.output


@pytest.mark.parametrize("where", ["missing-folder", "a-file-as-folder"])
def test_an_unwritable_output_is_one_line_not_a_traceback(tmp_path: Path, where: str) -> None:
    # Both fail for root too, unlike a read-only folder.
    if where == "missing-folder":
        out = tmp_path / "no" / "such" / "x.wav"
    else:
        (tmp_path / "plain").write_text("a file, not a folder")
        out = tmp_path / "plain" / "x.wav"
    result = say("Hello.", "-o", str(out))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Could not open file" in result.output and str(out) in result.output


def test_voices_dir_with_url_is_refused(tmp_path: Path) -> None:
    result = say("Hi", "--url", "http://127.0.0.1:9", "--voices-dir", str(tmp_path))
    assert_usage_error(result, "--voices-dir", "in-process only")
