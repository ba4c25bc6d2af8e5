"""No engine step is longer than `max_step_chars`, over a real socket (issue 8): the
WebSocket and REST hand the engine bounded pieces, whatever the transcript looks like."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.support.checks import assert_still_serves, tone_bytes
from tests.support.rest import tts_body
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, audio, request
from ttsd.protocol.limits import Limits

LIMITS = Limits()
UNPUNCTUATED = "word " * 3_999  # 19,995 characters, no sentence end


def spoken_calls(engine: ToneEngine) -> list[str]:
    return [text for text in engine.calls if text.strip()]


def check_bounded(calls: list[str], transcript: str) -> None:
    assert calls
    assert len(calls[0]) <= LIMITS.first_step_chars
    assert max(len(text) for text in calls) <= LIMITS.max_step_chars
    assert "".join(calls).split() == transcript.split()


@pytest.mark.parametrize(
    "transcript",
    [UNPUNCTUATED, "(" + ", and" * 3_999],
    ids=["words", "bracket and clauses"],
)
def test_websocket_speaks_a_long_sentence_in_bounded_steps(
    server: str, tone_engine: ToneEngine, transcript: str
) -> None:
    with Client(server) as client:
        client.send(request("long", transcript, continue_=False))
        frames = client.until_done("long", timeout=60)
        assert frames[-1]["type"] == "done"
        assert len(audio(frames, "long")) == tone_bytes(len(transcript.split()))
        check_bounded(spoken_calls(tone_engine), transcript)
        assert_still_serves(client)


def test_rest_speaks_a_long_sentence_in_bounded_steps(server: str, tone_engine: ToneEngine) -> None:
    response = httpx.post(f"http://{server}/tts/bytes", json=tts_body(UNPUNCTUATED), timeout=60)
    assert response.status_code == 200, response.text
    assert len(response.content) == tone_bytes(len(UNPUNCTUATED.split()))
    check_bounded(spoken_calls(tone_engine), UNPUNCTUATED)


def test_one_word_of_20000_letters_is_spoken_in_steps(
    serve: ServerFactory, tone_engine: ToneEngine
) -> None:
    word = "x" * 20_000
    with serve() as base:
        response = httpx.post(f"http://{base}/tts/bytes", json=tts_body(word), timeout=60)
    assert response.status_code == 200, response.text
    calls = spoken_calls(tone_engine)
    check_bounded(calls, word)
    assert "".join(calls) == word


def test_only_a_streams_first_step_asks_for_a_short_first_chunk(
    server: str, tone_engine: ToneEngine
) -> None:
    with Client(server) as client:
        client.send(request("c1", "One two three. ", continue_=True))
        client.until(lambda f: f["type"] == "chunk")
        client.send(request("c1", "Four five six.", continue_=False))
        client.until_done("c1")
    response = httpx.post(f"http://{server}/tts/bytes", json=tts_body(UNPUNCTUATED), timeout=60)
    assert response.status_code == 200
    firsts = [options.first_audio for options in tone_engine.options]
    rest_calls = len(firsts) - 2
    assert firsts == [True, False] + [True] + [False] * (rest_calls - 1)
