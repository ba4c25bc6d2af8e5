"""pipecat's Cartesia services in real pipelines against the shared server (the real voice).

pipecat's pins conflict with the project's, so it runs in its own venv: scripts/test.sh
builds `.venv-pipecat` and sets TTSD_PIPECAT_PYTHON; by hand,

    python3 -m venv .venv-pipecat && .venv-pipecat/bin/pip install "pipecat-ai[cartesia]==1.14.0"
    TTSD_PIPECAT_PYTHON=.venv-pipecat/bin/python pytest tests/e2e/test_pipecat.py

tests/e2e/pipecat_scenarios.py (see its docstring) runs the pipelines in that interpreter and
prints what reached the end of each; the tests here check it: the audio is speech of the
text, the word timestamps (TTSTextFrame) are the words in order, an interruption stops the
reply it cut (in pipecat and in ttsd) and the next reply is spoken whole.
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
from tests.support.metrics import Exposition, scrape

pytestmark = pytest.mark.e2e

PIPECAT_ENV = "TTSD_PIPECAT_PYTHON"
#: The version scripts/test.sh installs and the README names.
PIPECAT_VERSION = "1.14.0"
SCENARIOS = Path(__file__).with_name("pipecat_scenarios.py")
MIN_RECALL = 0.6


@dataclass
class Run:
    results: dict[str, Any]
    out_dir: Path
    before: Exposition
    after: Exposition

    def scenario(self, name: str) -> dict[str, Any]:
        return dict(self.results["scenarios"][name])

    def text(self, name: str) -> str:
        return str(self.results["texts"][name])

    @property
    def rate(self) -> int:
        return int(self.results["sample_rate"])

    def audio(self, name: str, context_id: str) -> npt.NDArray[np.float32]:
        return pcm16(self.out_dir / self.scenario(name)["audio"][context_id])

    def delta(self, metric: str, **labels: str) -> float:
        return self.after.value(metric, **labels) - self.before.value(metric, **labels)


@pytest.fixture(scope="module")
def run(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    python = side_python(PIPECAT_ENV, f'"pipecat-ai[cartesia]=={PIPECAT_VERSION}"')
    out_dir = tmp_path_factory.mktemp("pipecat")
    before = scrape(piper_server)
    results = run_scenarios(python, SCENARIOS, piper_server, out_dir, timeout=90)
    sys.stderr.write(f"pipecat-ai {results['pipecat_version']} from {python}\n")
    return Run(results, out_dir, before, scrape(piper_server))


def kinds(scenario: dict[str, Any], context_id: str) -> list[str]:
    """The frames the sink saw for one context, in order, consecutive audio as one."""
    seen: list[str] = []
    for kind, context, _ in scenario["events"]:
        if context == context_id and not (kind == "audio" and seen and seen[-1] == "audio"):
            seen.append(kind)
    return seen


def check_words(scenario: dict[str, Any], context_id: str, text: str, duration: float) -> None:
    """The context's TTSTextFrames are the words of `text`, in order, timed within its audio."""
    words = scenario["words"][context_id]
    assert normalize_words([w for w, _ in words]) == normalize_words(text), words
    pts = [p for _, p in words]
    assert all(isinstance(p, int) and p > 0 for p in pts), words
    assert pts == sorted(set(pts)), f"word PTS not increasing: {words}"
    span = (pts[-1] - pts[0]) / 1e9
    assert span < duration, f"words span {span:.2f} s of {duration:.2f} s of audio: {words}"


def test_pinned_version_current_settings_form_and_no_errors(run: Run) -> None:
    results = run.results
    assert results["pipecat_version"] == PIPECAT_VERSION
    # The services are built with `settings=...Settings(...)`: no deprecated form was used
    # (pipecat warns about each as it is used; its own imports warn too, left aside).
    assert results["deprecations"] == []
    assert results["pipeline_errors"] == []
    assert results["log_problems"] == []
    assert run.delta("ttsd_contexts_finished_total", outcome="error") == 0
    # sentences, tokens, the reply after the interruption, and the HTTP request.
    assert run.delta("ttsd_contexts_finished_total", outcome="done") == 4


@pytest.mark.parametrize("name", ["sentences", "tokens"])
def test_an_llm_reply_is_spoken_with_word_timestamps(run: Run, name: str) -> None:
    scenario, text = run.scenario(name), run.text(name)
    [context] = scenario["contexts"]
    assert kinds(scenario, context)[0] == "started"
    assert kinds(scenario, context)[-1] == "stopped"
    assert "audio" in kinds(scenario, context)
    order = [kind for kind, _, _ in scenario["events"] if kind.startswith("llm_")]
    assert order == ["llm_start", "llm_end"]
    assert [e[0] for e in scenario["events"]].index("llm_end") > max(
        n for n, e in enumerate(scenario["events"]) if e[1] == context
    ), "LLMFullResponseEndFrame overtook the reply's audio"

    pcm = run.audio(name, context)
    assert_speech_like(pcm, run.rate, text)
    assert_recognized(pcm, run.rate, text, min_recall=MIN_RECALL)
    check_words(scenario, context, text, pcm.size / run.rate)


def test_an_interruption_stops_the_reply_and_the_next_one_is_spoken_whole(run: Run) -> None:
    scenario = run.scenario("interruption")
    marks = scenario["marks"]
    cut, after = marks["interrupted_context"], marks["after_context"]
    assert scenario["contexts"] == [cut, after]
    events = scenario["events"]
    interruption = [e[0] for e in events].index("interruption")
    assert interruption >= marks["interrupted_at_event"]

    # pipecat dropped the cut reply at once: nothing of it after the interruption...
    assert all(context != cut for _, context, _ in events[interruption:]), events
    cut_seconds = run.audio("interruption", cut).size / run.rate
    assert 0 < cut_seconds < 5.0, cut_seconds
    # ...and ttsd stopped it (pipecat sends `cancel`): it sent little more audio than pipecat
    # played, where the whole reply is ~20 s.
    assert run.delta("ttsd_contexts_finished_total", outcome="cancelled") == 1
    played = sum(
        run.audio(name, context).size / run.rate
        for name in ("sentences", "tokens", "interruption")
        for context in run.scenario(name)["contexts"]
    )
    sent = run.delta("ttsd_audio_seconds_total", endpoint="websocket")
    assert sent - played < 5.0, f"ttsd sent {sent:.2f} s, pipecat played {played:.2f} s"

    # The next reply: a context of its own, spoken whole.
    assert kinds(scenario, after)[0] == "started" and kinds(scenario, after)[-1] == "stopped"
    text = run.text("after")
    pcm = run.audio("interruption", after)
    assert_speech_like(pcm, run.rate, text)
    assert_recognized(pcm, run.rate, text, min_recall=MIN_RECALL)
    check_words(scenario, after, text, pcm.size / run.rate)


def test_the_http_service_speaks_a_reply(run: Run) -> None:
    scenario, text = run.scenario("http"), run.text("http")
    [context] = scenario["contexts"]
    assert kinds(scenario, context) == ["started", "audio", "word", "stopped"]
    pcm = run.audio("http", context)
    assert_speech_like(pcm, run.rate, text)
    assert_recognized(pcm, run.rate, text, min_recall=MIN_RECALL)
    # /tts/bytes has no timestamps: pipecat reports the sentence as one text frame.
    assert [w for w, _ in scenario["words"][context]] == [text]
    assert run.delta("ttsd_time_to_first_audio_seconds_count", endpoint="bytes") == 1
