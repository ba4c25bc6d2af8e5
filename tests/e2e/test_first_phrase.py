"""A slowly streamed first sentence starts speaking at a phrase boundary, with the real voice.

An LLM streams one word every 40 ms, each token with its leading space. Without a cut
before the sentence ends, the first audio cannot start before the first sentence is
complete; with `first_segment_delay_ms` (150 ms by default) the first text is cut before
a phrase-opening word ("Thanks for calling | our support line today."),
docs/protocol.md §4.2. Timing on a loaded machine is noisy, so the check is structural:
the first segment's word timestamps are exactly the first phrase. The arrival times are
in the failure messages. The server decodes whole sentences here (`chunked_decoder` off):
with the chunked decoder a segment's timestamps come a chunk at a time, and one frame no
longer names a whole segment (tests/engines/test_piper_chunked.py covers that mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.speech import CARTESIA_VOICE, MIN_RECALL, output_format, speech_of
from tests.support.asr import assert_recognized, assert_speech_like, normalize_words
from tests.support.live_server import live_server
from tests.support.wsclient import Client, of, request
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

pytestmark = pytest.mark.e2e

TEXT = "Thanks for calling our support line today. I have pulled up your account."
#: Seconds between two words, as an LLM streaming slowly sends them.
WORD_GAP = 0.04
RATE = 16000


def _tokens(text: str) -> list[str]:
    """LLM-style tokens: the words, each after the first with its leading space."""
    words = text.split()
    return [words[0], *(" " + word for word in words[1:])]


@pytest.fixture(scope="module")
def whole_sentence_server() -> Iterator[str]:
    """The real voice, each inference's audio as one chunk."""
    with live_server(create_app(Settings(chunked_decoder=False))) as base:
        yield base


@pytest.fixture
def client(whole_sentence_server: str) -> Iterator[Client]:
    with Client(whole_sentence_server) as connection:
        yield connection


def test_a_slowly_streamed_first_sentence_starts_with_its_first_phrase(client: Client) -> None:
    fmt = output_format("pcm_s16le", RATE)
    received: list[tuple[float, dict[str, Any]]] = []
    failure: list[BaseException] = []

    def receive() -> None:
        # Frames are read while the words are still being sent, to time the first audio.
        try:
            while True:
                frame = client.recv(timeout=60)
                received.append((time.monotonic(), frame))
                if frame.get("context_id") == "slow" and frame["type"] in ("done", "error"):
                    return
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    sent_at: dict[str, float] = {}
    for token in _tokens(TEXT):
        client.send(
            request(
                "slow",
                token,
                voice=CARTESIA_VOICE,
                output_format=fmt,
                continue_=True,
                add_timestamps=True,
            )
        )
        sent_at[token] = time.monotonic()
        time.sleep(WORD_GAP)
    client.send(request("slow", "", voice=CARTESIA_VOICE, output_format=fmt, continue_=False))
    reader.join(timeout=60)
    assert not reader.is_alive(), "no `done` within 60 s"
    assert not failure, failure
    frames = [frame for _, frame in received]
    assert frames[-1]["type"] == "done", frames[-1]

    first_chunk = next(at for at, f in received if f["type"] == "chunk")
    timing = (
        f"first audio {1000 * (first_chunk - sent_at['Thanks']):.0f} ms after the first word, "
        f"{1000 * (first_chunk - sent_at[' today.']):+.0f} ms from the sentence's last word"
    )
    # The first segment is the first phrase: its word timestamps (one `timestamps` frame
    # per sentence of a segment) name exactly its words. Without the cut they would be the
    # whole first sentence.
    stamps = of(frames, "slow", "timestamps")
    assert stamps, "no timestamps"
    assert stamps[0]["word_timestamps"]["words"] == ["Thanks", "for", "calling"], timing
    # Every word is still spoken once, in order, all with the same flush id.
    words = [w for frame in stamps for w in frame["word_timestamps"]["words"]]
    assert [normalize_words(w) for w in words] == [normalize_words(w) for w in TEXT.split()]
    assert {f["flush_id"] for f in of(frames, "slow", "chunk")} == {1}
    # And all of the audio is speech of the whole text.
    speech = speech_of(frames, "slow", fmt)
    assert_speech_like(speech.pcm, RATE, TEXT)
    assert_recognized(speech.pcm, RATE, TEXT, min_recall=MIN_RECALL)
