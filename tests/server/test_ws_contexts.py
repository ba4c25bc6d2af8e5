"""Contexts on one connection: interleaving, `continue`, and context ids after `done`."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from tests.support.checks import Frame, tone_bytes
from tests.support.wsclient import Client, audio, of, request
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

CONTEXTS = [f"ctx-{n}" for n in range(5)]
#: volume of each input, rising, so the amplitude of each chunk tells which input it is
VOLUMES = [0.5, 1.0, 1.5]


def words_of(context_id: str, part: int) -> list[str]:
    """Three words unique to one input of one context."""
    return [f"{context_id}-p{part}-w{n}" for n in range(3)]


def rms(frame: Frame) -> float:
    """RMS of one chunk's s16 audio."""
    samples = decode(base64.b64decode(frame["data"]), Encoding.PCM_S16LE)
    return float(np.sqrt(np.mean(samples**2)))


def test_interleaved_contexts_each_get_all_their_audio_in_order(shared_server: str) -> None:
    with Client(shared_server) as client:
        for part, volume in enumerate(VOLUMES):
            for cid in CONTEXTS:
                text = " ".join(words_of(cid, part)) + ". "
                client.send(
                    request(
                        cid,
                        text,
                        continue_=True,
                        add_timestamps=True,
                        generation_config={"volume": volume},
                    )
                )
        for cid in CONTEXTS:
            client.send(request(cid, "", continue_=False))
        for cid in CONTEXTS:
            if not of(client.frames, cid, "done"):
                client.until_done(cid)
        frames = client.frames

    for cid in CONTEXTS:
        mine = of(frames, cid)
        assert [f["type"] for f in mine].count("done") == 1
        assert mine[-1]["type"] == "done", f"{cid}: done is not last"
        assert not of(frames, cid, "error")
        # 3 inputs x 3 words x 0.1 s at 16 kHz, 2 bytes a sample
        assert len(audio(frames, cid)) == tone_bytes(9)
        # Order: the words come back in the order sent, and the chunk volumes rise.
        said = [w for f in of(frames, cid, "timestamps") for w in f["word_timestamps"]["words"]]
        expected = [
            w + ("." if n == 2 else "") for p in range(3) for n, w in enumerate(words_of(cid, p))
        ]
        assert said == expected
        levels = [rms(f) for f in of(frames, cid, "chunk")]
        assert levels == sorted(levels)
        assert levels[-1] > 2.5 * levels[0]
        assert {f["flush_id"] for f in of(frames, cid, "chunk")} == {1}


def test_missing_continue_means_false(shared_server: str) -> None:
    with Client(shared_server) as client:
        message = request("c1", "One two three.")
        assert "continue" not in message
        client.send(message)
        frames = client.until_done("c1")
        assert frames[-1]["type"] == "done"
        assert len(audio(frames, "c1")) == tone_bytes(3)
        # The context is over: the same id now starts a fresh context.
        client.send(request("c1", "Four five.", continue_=False))
        again = client.until_done("c1")
    assert again[-1]["type"] == "done"
    assert len(audio(again, "c1")) == tone_bytes(2)
    assert {f["flush_id"] for f in of(again, "c1", "chunk")} == {1}


def test_continue_false_with_text_ends_after_that_text(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two. ", continue_=True))
        client.send(request("c1", "Three four five", continue_=False))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"
    assert len(audio(frames, "c1")) == tone_bytes(5)


def test_context_id_reused_after_done_starts_fresh(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One. ", continue_=True, flush=True))
        client.send(request("c1", "Two.", continue_=False))
        first = client.until_done("c1")
        client.send(request("c1", "Three.", continue_=False))
        second = client.until_done("c1")
    assert {f["flush_id"] for f in of(first, "c1", "chunk")} == {1, 2}
    assert {f["flush_id"] for f in of(second, "c1", "chunk")} == {1}
    assert second[-1]["type"] == "done"


def test_many_connections_do_not_share_contexts(shared_server: str) -> None:
    with Client(shared_server) as one, Client(shared_server) as two:
        one.send(request("same", "One two.", continue_=True))
        two.send(request("same", "Three.", continue_=False))
        frames_two = two.until_done("same")
        one.send(request("same", "", continue_=False))
        frames_one = one.until_done("same")
    assert len(audio(frames_one, "same")) == tone_bytes(2)
    assert len(audio(frames_two, "same")) == tone_bytes(1)


def test_end_marker_alone_ends_a_fresh_context_with_done(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "", continue_=False))
        frames = client.until_done("c1")
    assert [f["type"] for f in of(frames, "c1")] == ["done"]


@pytest.mark.parametrize(
    "voice",
    ["tone-high", {"id": "tone-high"}, {"mode": "id", "id": "tone-high"}],
    ids=["bare-string", "id-object", "mode-id"],
)
def test_every_voice_shape_picks_the_voice(shared_server: str, voice: Any) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three four five.", voice=voice))
        frames = client.until_done("c1")
    samples = decode(audio(frames, "c1"), Encoding.PCM_S16LE)
    spectrum = np.abs(np.fft.rfft(samples))
    peak = float(np.fft.rfftfreq(len(samples), 1 / 16000)[int(np.argmax(spectrum))])
    assert peak == pytest.approx(880, abs=5)  # tone-high, not the default tone-low
