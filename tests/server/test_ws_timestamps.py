"""Word and phoneme timestamps: the transcript's words, in order, on the audio's clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.checks import Frame
from tests.support.wsclient import DEFAULT_FORMAT, Client, audio, of, request


def timings(
    frames: list[Frame], kind: str = "timestamps"
) -> tuple[list[str], list[float], list[float]]:
    """Concatenated (labels, starts, ends) of all timestamp frames of context c1."""
    key, label = (
        ("word_timestamps", "words") if kind == "timestamps" else ("phoneme_timestamps", "phonemes")
    )
    labels: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for frame in of(frames, "c1", kind):
        body = frame[key]
        assert len(body[label]) == len(body["start"]) == len(body["end"])
        labels += body[label]
        starts += body["start"]
        ends += body["end"]
    return labels, starts, ends


def assert_monotonic(starts: list[float], ends: list[float], duration: float) -> None:
    """Each interval is well formed, intervals follow each other, all within the audio."""
    for start, end in zip(starts, ends, strict=True):
        assert 0 <= start <= end <= duration + 1e-3
    for end, next_start in zip(ends, starts[1:], strict=False):
        assert end <= next_start + 1e-3
    assert starts == sorted(starts)


def seconds(frames: list[Frame], rate: int, width: int, flush_id: int | None = None) -> float:
    """Duration of c1's audio (of one flush id)."""
    return len(audio(frames, "c1", flush_id)) / (rate * width)


@pytest.mark.parametrize("rate", [16000, 24000])
def test_word_timestamps_match_the_transcript(shared_server: str, rate: int) -> None:
    transcript = "Hello there, big world. How are you today?"
    fmt: dict[str, Any] = {**DEFAULT_FORMAT, "sample_rate": rate}
    with Client(shared_server) as client:
        client.send(request("c1", transcript, add_timestamps=True, output_format=fmt))
        frames = client.until_done("c1")
    words, starts, ends = timings(frames)
    assert words == transcript.split()
    assert_monotonic(starts, ends, seconds(frames, rate, 2))
    assert ends[-1] == pytest.approx(seconds(frames, rate, 2), abs=0.01)
    assert {f["flush_id"] for f in of(frames, "c1", "timestamps")} == {1}
    assert of(frames, "c1", "phoneme_timestamps") == []


def test_timestamps_continue_across_segments(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three", continue_=True, flush=True, add_timestamps=True))
        client.send(request("c1", "Four five.", continue_=False, add_timestamps=True))
        frames = client.until_done("c1")
    first = [f for f in of(frames, "c1", "timestamps") if f["flush_id"] == 1]
    second = [f for f in of(frames, "c1", "timestamps") if f["flush_id"] == 2]
    assert first and second
    assert [w for f in first for w in f["word_timestamps"]["words"]] == ["One", "two", "three"]
    assert [w for f in second for w in f["word_timestamps"]["words"]] == ["Four", "five."]
    _, starts, ends = timings(frames)
    assert_monotonic(starts, ends, seconds(frames, 16000, 2))
    # The second segment starts where the first segment's audio ended.
    first_audio = seconds(frames, 16000, 2, flush_id=1)
    assert first_audio == pytest.approx(0.3)
    assert second[0]["word_timestamps"]["start"][0] == pytest.approx(first_audio, abs=1e-3)


def test_no_timestamps_unless_asked(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three."))
        frames = client.until_done("c1")
    assert [f["type"] for f in of(frames, "c1")] == ["chunk", "done"]


def test_phoneme_timestamps(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(
            request("c1", "One two. Three four.", continue_=True, add_phoneme_timestamps=True)
        )
        client.send(request("c1", "Five.", continue_=False, add_phoneme_timestamps=True))
        frames = client.until_done("c1")
    phonemes, starts, ends = timings(frames, "phoneme_timestamps")
    assert phonemes
    assert all(isinstance(p, str) and p for p in phonemes)
    assert_monotonic(starts, ends, seconds(frames, 16000, 2))
    assert {f["flush_id"] for f in of(frames, "c1", "phoneme_timestamps")} == {1}
    assert of(frames, "c1", "timestamps") == []


def test_word_and_phoneme_timestamps_together(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(
            request("c1", "One two three.", add_timestamps=True, add_phoneme_timestamps=True)
        )
        frames = client.until_done("c1")
    words, *_ = timings(frames)
    phonemes, *_ = timings(frames, "phoneme_timestamps")
    assert words == ["One", "two", "three."]
    assert phonemes
