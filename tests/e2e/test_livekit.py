"""LiveKit Agents' Cartesia plugin against the shared server (the real voice).

LiveKit's pins conflict with the project's, so it runs in its own venv: scripts/test.sh
builds `.venv-livekit` and sets TTSD_LIVEKIT_PYTHON; by hand,

    python3 -m venv .venv-livekit
    .venv-livekit/bin/pip install livekit-agents==1.8.9 livekit-plugins-cartesia==1.8.9
    TTSD_LIVEKIT_PYTHON=.venv-livekit/bin/python pytest tests/e2e/test_livekit.py

tests/e2e/livekit_scenarios.py (see its docstring) drives `synthesize()` and `stream()` in
that interpreter and prints what came out; the tests here check it: the audio is speech of
the text, the aligned transcript (word timestamps) is the words in order within the audio,
`flush()` gets the text spoken before `end_input()`, and a refused request ends the stream.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.e2e.side_venv import pcm16, run_scenarios, side_python
from tests.support.asr import assert_recognized, assert_speech_like, normalize_words

pytestmark = pytest.mark.e2e

LIVEKIT_ENV = "TTSD_LIVEKIT_PYTHON"
#: The versions scripts/test.sh installs and the README names (agents and plugin).
LIVEKIT_VERSION = "1.8.9"
SCENARIOS = Path(__file__).with_name("livekit_scenarios.py")
MIN_RECALL = 0.6


@dataclass
class Run:
    results: dict[str, Any]
    out_dir: Path

    @property
    def rate(self) -> int:
        return int(self.results["sample_rate"])

    def audio(self, scenario: dict[str, Any]) -> npt.NDArray[np.float32]:
        return pcm16(self.out_dir / scenario["audio"])


@pytest.fixture(scope="module")
def run(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    python = side_python(
        LIVEKIT_ENV,
        f"livekit-agents=={LIVEKIT_VERSION} and livekit-plugins-cartesia=={LIVEKIT_VERSION}",
    )
    out_dir = tmp_path_factory.mktemp("livekit")
    results = run_scenarios(python, SCENARIOS, piper_server, out_dir, timeout=90)
    sys.stderr.write(f"livekit-agents {results['livekit_agents_version']} from {python}\n")
    return Run(results, out_dir)


def check_spoken(run: Run, scenario: dict[str, Any]) -> float:
    """The scenario's audio is speech of its text, in frames of one segment, the last of
    them final; its duration in seconds."""
    pcm = run.audio(scenario)
    assert_speech_like(pcm, run.rate, scenario["text"])
    assert_recognized(pcm, run.rate, scenario["text"], min_recall=MIN_RECALL)
    frames = scenario["frames"]
    assert len({segment for segment, _, _, _ in frames}) == 1, frames
    assert [final for _, _, _, final in frames] == [False] * (len(frames) - 1) + [True]
    return pcm.size / run.rate


def check_words(scenario: dict[str, Any], duration: float) -> None:
    """The aligned transcript is the text's words, in order, timed within the audio."""
    words = scenario["words"]
    assert normalize_words([w for w, _, _ in words]) == normalize_words(scenario["text"]), words
    starts = [start for _, start, _ in words]
    assert starts == sorted(set(starts)), f"starts not increasing: {words}"
    assert all(0 <= start < end <= duration + 0.05 for _, start, end in words), (duration, words)


def test_pinned_versions_and_no_warnings(run: Run) -> None:
    assert run.results["livekit_agents_version"] == LIVEKIT_VERSION
    assert run.results["plugin_version"] == LIVEKIT_VERSION
    # Everything before the `error` scenario: LiveKit logged no warning and no error.
    assert run.results["log_problems"] == []


def test_synthesize_uses_the_bytes_endpoint(run: Run) -> None:
    scenario = run.results["scenarios"]["synthesize"]
    check_spoken(run, scenario)
    assert scenario["words"] == []  # /tts/bytes has no timestamps


def test_stream_of_word_pieces_is_spoken_with_word_timestamps(run: Run) -> None:
    scenario = run.results["scenarios"]["stream"]
    duration = check_spoken(run, scenario)
    check_words(scenario, duration)
    # The segment id is ttsd's context id, which echoes LiveKit's.
    [segment] = {segment for segment, _, _, _ in scenario["frames"]}
    assert len(segment) == 12


def test_flush_speaks_before_end_input_and_the_next_segment_reuses_the_socket(run: Run) -> None:
    first, second = run.results["scenarios"]["flush"]
    for scenario in (first, second):
        # No final punctuation: only the flush had the text sent (max_buffer_delay_ms 0).
        assert scenario["audio_before_end"], scenario
        check_words(scenario, check_spoken(run, scenario))
    assert first["frames"][0][0] != second["frames"][0][0]
    # The pooled socket took the second context after the first one's `done`.
    assert second["connection_reused"] is True


def test_a_refused_request_ends_the_stream_with_an_error(run: Run) -> None:
    scenario = run.results["scenarios"]["error"]
    # ttsd refuses generation_config.speed 3.0 with an error frame. LiveKit 1.8.9 reads any
    # frame with `done: true` as the end of the stream (the hosted API's error frames carry
    # it too), so it never reads ttsd's message: it retries, then raises "no audio frames
    # were pushed". The stream still ends, with an error, and no audio.
    assert scenario["error"] is not None and scenario["error"].startswith("APIError")
    assert scenario["frames"] == []
    assert scenario["seconds"] < 20
