"""Several streams at once with the real voice: steps run side by side, speech stays speech.

A lone stream's sentence runs on both cores; while two streams are busy each sentence runs
on one core, on the voice's one-thread ONNX session (server/scheduler.py,
engines/piper/engine.py). The audio of each stream must still be speech of its own text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.speech import CALL, CARTESIA_VOICE, COFFEE, FOX, JOE, MIN_RECALL, output_format
from tests.e2e.speech import speech_of as decode_speech
from tests.support.asr import assert_recognized, assert_speech_like
from tests.support.checks import wait_for
from tests.support.live_server import live_server
from tests.support.wsclient import Client, request
from ttsd.engines.base import step_threads
from ttsd.engines.piper import engine as piper_engine
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

pytestmark = pytest.mark.e2e

RATE = 16000
TEXTS = {"first": f"{COFFEE} {FOX}", "second": f"{JOE} {CALL}"}


@pytest.fixture
def threads_seen(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The cores the Piper engine was given for each of its model runs, in order (with the
    chunked decoder a sentence is an encoder run and one or more decoder windows)."""
    seen: list[int | None] = []

    def recording() -> int | None:
        threads = step_threads()
        seen.append(threads)
        return threads

    monkeypatch.setattr(piper_engine, "step_threads", recording)
    return seen


@pytest.fixture
def two_core_server() -> Iterator[str]:
    """A server that gives a lone step two cores and steps side by side one each."""
    with live_server(create_app(Settings(parallel_steps=2, engine_threads=2))) as base:
        yield base


def test_two_streams_at_once_run_side_by_side_and_both_are_speech(
    two_core_server: str, threads_seen: list[int | None]
) -> None:
    fmt = output_format("pcm_s16le", RATE)
    with Client(two_core_server) as client:
        first, second = TEXTS
        client.send(request(first, TEXTS[first], voice=CARTESIA_VOICE, output_format=fmt))
        # The second request comes while the first sentence (~100 ms) is being spoken.
        wait_for(lambda: len(threads_seen) >= 1, what="the first sentence in the engine")
        client.send(request(second, TEXTS[second], voice=CARTESIA_VOICE, output_format=fmt))
        frames = client.until_all_done(*TEXTS, timeout=60)
    assert not [f for f in frames if f["type"] == "error"], frames
    # Four sentences: the first started alone (two cores); at least one step ran beside
    # another stream's (one core) while both were busy.
    assert len(threads_seen) >= 4 and threads_seen[0] == 2, threads_seen
    assert 1 in threads_seen[1:], threads_seen
    for context_id, text in TEXTS.items():
        speech = decode_speech(frames, context_id, fmt)
        assert_speech_like(speech.pcm, RATE, text)
        assert_recognized(speech.pcm, RATE, text, min_recall=MIN_RECALL)


def test_a_lone_stream_runs_every_sentence_on_both_cores(
    two_core_server: str, threads_seen: list[int | None]
) -> None:
    fmt = output_format("pcm_s16le", RATE)
    with Client(two_core_server) as client:
        client.send(request("alone", TEXTS["first"], voice=CARTESIA_VOICE, output_format=fmt))
        frames = client.until_all_done("alone", timeout=60)
    assert len(threads_seen) >= 2 and set(threads_seen) == {2}, threads_seen
    speech = decode_speech(frames, "alone", fmt)
    assert_recognized(speech.pcm, RATE, TEXTS["first"], min_recall=MIN_RECALL)
