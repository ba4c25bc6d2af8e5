"""`ttsd_playback_underruns_total`: a gap ttsd left in a stream's audio, counted once.

`Playback` on explicit times first, then live servers: an engine slower than real time
starves its listener (counted, WebSocket and REST alike); a fast one does not; a client
whose own next text comes late is not ttsd's underrun."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import ServedFactory
from tests.support.metrics import scrape
from tests.support.rest import tts_body
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, request
from ttsd.engines.base import AudioChunk, SynthesisOptions
from ttsd.server.synthesis import Playback


class SlowToneEngine(ToneEngine):
    """A tone engine that takes `delay_s` of wall time for each sentence."""

    def __init__(self) -> None:
        super().__init__()
        self.delay_s = 0.0

    def synthesize(
        self, text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        """Tones, each sentence `delay_s` late."""
        for chunk in super().synthesize(text, voice_id, options):
            time.sleep(self.delay_s)
            yield chunk


@pytest.fixture
def tone_engine() -> SlowToneEngine:
    """The server's engine (overrides the shared fixture): as fast as asked."""
    return SlowToneEngine()


def test_audio_after_the_listener_ran_dry_is_one_underrun_per_gap() -> None:
    playback = Playback()
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=10.0)  # first audio: the listener plays until 11
    assert (playback.first_audio_at, playback.dry_at) == (10.0, 11.0)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=10.5)  # in time: plays until 12
    assert (playback.underruns, playback.dry_at) == (0, 12.0)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=12.5)  # 0.5 s of silence: one gap, and it plays on from now
    assert (playback.underruns, playback.dry_at) == (1, 13.5)
    playback.produced(0.5, 0.1)
    playback.mark_sent(now=13.0)
    assert (playback.underruns, playback.dry_at) == (1, 14.0)
    playback.mark_sent(now=20.0)  # nothing new to send: nothing happens
    assert playback.underruns == 1
    playback.produced(0.5, 0.1)
    playback.mark_sent(now=14.5)
    assert (playback.underruns, playback.sent_s) == (2, 4.0)


def test_a_gap_while_the_client_had_sent_no_text_is_not_an_underrun() -> None:
    playback = Playback()
    playback.text_queued(now=0.0)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=0.5)  # plays until 1.5
    playback.text_spoken()
    # The client's next text comes at 3.0, long after the listener ran dry.
    playback.text_queued(now=3.0)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=3.2)
    assert (playback.underruns, playback.dry_at) == (0, 4.2)
    playback.text_spoken()
    # This text is there in time (3.5 < 4.2), its audio is not: ttsd's gap.
    playback.text_queued(now=3.5)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=5.0)
    assert playback.underruns == 1


def test_text_queued_behind_unfinished_text_does_not_excuse_a_gap() -> None:
    playback = Playback()
    playback.text_queued(now=0.0)
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=0.2)  # plays until 1.2
    playback.text_queued(now=2.0)  # more text, while the first is still being spoken
    playback.produced(1.0, 0.1)
    playback.mark_sent(now=2.5)  # the first segment's next audio, late
    assert playback.underruns == 1


def underruns(base: str) -> float:
    return scrape(base).value("ttsd_playback_underruns_total")


def test_a_slow_engine_starves_its_listeners(
    serve_app: ServedFactory, tone_engine: SlowToneEngine
) -> None:
    # Each one-word sentence is 0.1 s of audio made in 0.3 s: every chunk after the first
    # comes 0.2 s after the listener ran dry.
    tone_engine.delay_s = 0.3
    text = "One. Two. Three. Four."
    with serve_app() as served:
        with Client(served.base) as client:
            client.send(request("c1", text))
            client.until_done("c1")
        assert underruns(served.base) == 3
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body(text))
        assert response.status_code == 200
        assert underruns(served.base) == 6


def test_a_fast_engine_does_not(serve_app: ServedFactory) -> None:
    # Ten words (1 s of audio) a sentence, made in milliseconds.
    text = " ".join(f"Word {'one two three four five six seven eight nine'}." for _ in range(4))
    with serve_app() as served:
        with Client(served.base) as client:
            client.send(request("c1", text))
            client.until_done("c1")
        response = httpx.post(f"http://{served.base}/tts/bytes", json=tts_body(text))
        assert response.status_code == 200
        assert underruns(served.base) == 0


def test_a_client_that_pauses_its_text_is_not_starved_by_ttsd(serve_app: ServedFactory) -> None:
    with serve_app() as served, Client(served.base) as client:
        client.send(request("c1", "One two three.", continue_=True))
        client.until(lambda f: f["type"] == "chunk")
        threading.Event().wait(0.8)  # its 0.3 s of audio ran out long ago: the client thinks
        client.send(request("c1", "Four five six.", continue_=False))
        client.until_done("c1")
        assert underruns(served.base) == 0
