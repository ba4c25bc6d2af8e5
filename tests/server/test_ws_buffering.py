"""`max_buffer_delay_ms`: text waits for a sentence end or the delay, whichever first."""

from __future__ import annotations

from tests.support.checks import tone_bytes
from tests.support.wsclient import Client, audio, of, request


def no_frame_within(client: Client, seconds: float) -> bool:
    """True when nothing arrives for `seconds` (the frame, if one does, is kept)."""
    try:
        client.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


def test_text_without_sentence_end_is_released_after_the_delay(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three", continue_=True, max_buffer_delay_ms=300))
        assert no_frame_within(client, 0.1), "audio came before the buffer delay"
        chunk = client.until(lambda f: f["type"] == "chunk", timeout=10)[-1]
        # Released by the timer while the context is still open: all three words.
        assert chunk["context_id"] == "c1"
        assert len(audio([chunk], "c1")) == tone_bytes(3)
        client.send(request("c1", "", continue_=False))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"
    assert len(audio(client.frames, "c1")) == tone_bytes(3)


def test_inputs_within_the_delay_are_released_together(shared_server: str) -> None:
    with Client(shared_server) as client:
        # A generous delay, so the three inputs surely arrive within it.
        client.send(request("c1", "One", continue_=True, max_buffer_delay_ms=1000))
        client.send(request("c1", " two", continue_=True))
        client.send(request("c1", " three", continue_=True))
        first = client.until(lambda f: f["type"] == "chunk")[-1]
        client.send(request("c1", "", continue_=False))
        client.until_done("c1")
    assert len(audio([first], "c1")) == tone_bytes(3)
    assert of(client.frames, "c1", "chunk") == [first]


def test_sentence_end_releases_before_the_delay(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two", continue_=True, max_buffer_delay_ms=5000))
        client.send(request("c1", " three four.", continue_=True))
        # Well before the 5 s delay: the sentence end released it.
        client.until(lambda f: f["type"] == "chunk", timeout=4)
        client.send(request("c1", "", continue_=False))
        client.until_done("c1")
    assert len(audio(client.frames, "c1")) == tone_bytes(4)


def test_clause_end_releases_a_first_segment_early(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two three, four", continue_=True, max_buffer_delay_ms=5000))
        client.until(lambda f: f["type"] == "chunk", timeout=4)
        # Only the clause went: "four" waits for more text or the end.
        assert len(audio(client.frames, "c1")) == tone_bytes(3)
        client.send(request("c1", "", continue_=False))
        client.until_done("c1")
    assert len(audio(client.frames, "c1")) == tone_bytes(4)


def test_zero_delay_synthesizes_each_input(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two", continue_=True, max_buffer_delay_ms=0))
        client.until(lambda f: f["type"] == "chunk", timeout=4)
        assert len(audio(client.frames, "c1")) == tone_bytes(2)
        client.send(request("c1", " three", continue_=True))
        client.until(lambda f: f["type"] == "chunk", timeout=4)
        assert len(audio(client.frames, "c1")) == tone_bytes(3)
        client.send(request("c1", "", continue_=False))
        client.until_done("c1")
    assert [len(audio([f], "c1")) for f in of(client.frames, "c1", "chunk")] == [
        tone_bytes(2),
        tone_bytes(1),
    ]


def test_continue_false_releases_everything_at_once(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two", continue_=True, max_buffer_delay_ms=5000))
        client.send(request("c1", " three", continue_=False))
        frames = client.until_done("c1", timeout=4)
    assert frames[-1]["type"] == "done"
    assert len(audio(frames, "c1")) == tone_bytes(3)
