"""Manual flushes: flush ids on audio, `flush_done` placement, and the flush id base."""

from __future__ import annotations

from tests.conftest import ServerFactory
from tests.support.checks import Frame, tone_bytes
from tests.support.wsclient import Client, audio, of, request
from ttsd.protocol.limits import Limits
from ttsd.server.settings import Settings


def flush_sequence(client: Client) -> list[Frame]:
    """Three segments: closed by a bare flush, by a flush on text, and by `continue: false`."""
    client.send(request("c1", "One two three", continue_=True))
    client.send(request("c1", "", continue_=True, flush=True))  # the bare form
    client.send(request("c1", "Four five", continue_=True, flush=True))  # flush on text
    client.send(request("c1", "Six", continue_=True))
    client.send(request("c1", "", continue_=False))
    return client.until_done("c1")


def assert_flush_order(frames: list[Frame], ids: list[int], words: list[int]) -> None:
    """Chunks carry `ids` in order; `flush_done{k}` sits between segment k and k+1."""
    mine = of(frames, "c1")
    assert mine[-1]["type"] == "done"
    assert [f["type"] for f in mine].count("done") == 1
    chunk_ids = [f["flush_id"] for f in mine if f["type"] == "chunk"]
    assert chunk_ids == sorted(chunk_ids)
    assert sorted(set(chunk_ids)) == ids
    for flush_id, count in zip(ids, words, strict=True):
        assert len(audio(frames, "c1", flush_id)) == tone_bytes(count)
    flush_dones = [f for f in mine if f["type"] == "flush_done"]
    # No flush_done for the final segment: it was closed by `continue: false`.
    assert [f["flush_id"] for f in flush_dones] == ids[:-1]
    for frame in flush_dones:
        assert frame["flush_done"] is True
        assert frame["done"] is False
        k = frame["flush_id"]
        at = mine.index(frame)
        before = [f["flush_id"] for f in mine[:at] if f["type"] == "chunk"]
        after = [f["flush_id"] for f in mine[at:] if f["type"] == "chunk"]
        assert k in before, f"flush_done {k} before any audio of its segment"
        assert all(i > k for i in after), f"audio of segment {k} after its flush_done"
        assert all(i <= k for i in before), f"audio of segment {k + 1} before flush_done {k}"


def test_flush_ids_and_flush_done_order(shared_server: str) -> None:
    with Client(shared_server) as client:
        frames = flush_sequence(client)
    assert_flush_order(frames, [1, 2, 3], [3, 2, 1])


def test_flush_id_base_zero(serve: ServerFactory) -> None:
    with (
        serve(Settings(parallel_steps=2, limits=Limits(flush_id_base=0))) as base,
        Client(base) as client,
    ):
        frames = flush_sequence(client)
    assert_flush_order(frames, [0, 1, 2], [3, 2, 1])


def test_flush_on_the_last_message_sends_its_flush_done(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(request("c1", "One two", continue_=True))
        client.send(request("c1", " three", continue_=False, flush=True))
        frames = client.until_done("c1")
    kinds = [f["type"] for f in of(frames, "c1")]
    assert kinds[-2:] == ["flush_done", "done"]
    assert of(frames, "c1", "flush_done")[0]["flush_id"] == 1
    assert len(audio(frames, "c1", 1)) == tone_bytes(3)


def test_empty_flush_still_answers_flush_done(shared_server: str) -> None:
    """A flush with nothing buffered closes an empty segment: flush_done, then the next id."""
    with Client(shared_server) as client:
        client.send(request("c1", "One.", continue_=True))
        client.send(request("c1", "", continue_=True, flush=True))
        client.send(request("c1", "", continue_=True, flush=True))
        client.send(request("c1", "Two.", continue_=False))
        frames = client.until_done("c1")
    mine = of(frames, "c1")
    assert [f["flush_id"] for f in mine if f["type"] == "flush_done"] == [1, 2]
    assert len(audio(frames, "c1", 1)) == tone_bytes(1)
    assert len(audio(frames, "c1", 2)) == 0
    assert len(audio(frames, "c1", 3)) == tone_bytes(1)
    assert mine[-1]["type"] == "done"


def test_flushes_of_two_contexts_do_not_mix(shared_server: str) -> None:
    with Client(shared_server) as client:
        for cid in ("a", "b"):
            client.send(request(cid, "One two", continue_=True, flush=True))
        for cid in ("a", "b"):
            client.send(request(cid, "Three", continue_=False))
        client.until_done("a")
        if not of(client.frames, "b", "done"):
            client.until_done("b")
        frames = client.frames
    for cid in ("a", "b"):
        assert [f["flush_id"] for f in of(frames, cid, "flush_done")] == [1]
        assert len(audio(frames, cid, 1)) == tone_bytes(2)
        assert len(audio(frames, cid, 2)) == tone_bytes(1)
        assert of(frames, cid)[-1]["type"] == "done"
