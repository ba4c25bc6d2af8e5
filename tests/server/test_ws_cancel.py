"""Cancel: in-flight and queued work stops, exactly one `done`, nothing after it."""

from __future__ import annotations

import threading

from tests.server.conftest import ServedFactory
from tests.support.checks import assert_nothing_after, assert_still_serves, tone_bytes, wait_for
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, audio, of, request
from ttsd.server.settings import Settings


def cancel(context_id: str) -> dict[str, object]:
    """A cancel request."""
    return {"context_id": context_id, "cancel": True}


def in_flight(engine: ToneEngine, count: int) -> None:
    """Wait until `count` synthesis calls have reached the engine (and its gate)."""
    wait_for(lambda: len(engine.calls) >= count, what=f"{count} synthesis call(s) in flight")


def test_cancel_in_flight_sends_one_done_and_nothing_after(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve_app() as served, Client(served.base) as client:
        client.send(request("victim", "One two three.", continue_=True))
        client.send(request("other", "Four five six.", continue_=False))
        in_flight(tone_engine, 2)  # both held at the gate, one per worker
        client.send(cancel("victim"))
        done = client.until(lambda f: f["context_id"] == "victim")[-1]
        assert done["type"] == "done" and done["done"] is True
        gate.set()
        # The victim's synthesis finishes now on its thread: its audio must go nowhere.
        frames = client.until_done("other")
        wait_for(lambda: served.runtime.scheduler.running == 0, what="workers to go idle")
        assert_still_serves(client)
        frames = client.frames
    assert [f["type"] for f in of(frames, "victim")] == ["done"]
    assert_nothing_after(frames, done, "victim")
    assert of(frames, "other")[-1]["type"] == "done"
    assert len(audio(frames, "other")) == tone_bytes(3)


def test_cancel_drops_queued_segments(serve_app: ServedFactory, tone_engine: ToneEngine) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve_app() as served, Client(served.base) as client:
        for word in ("first", "second", "third", "fourth"):
            client.send(request("victim", f"The {word} sentence. ", continue_=True))
        in_flight(tone_engine, 1)
        client.send(cancel("victim"))
        done = client.until(lambda f: f["context_id"] == "victim")[-1]
        gate.set()
        wait_for(lambda: served.runtime.scheduler.running == 0, what="workers to go idle")
        assert_still_serves(client)
        frames = client.frames
    assert done["type"] == "done"
    assert [f["type"] for f in of(frames, "victim")] == ["done"]
    # Only the first sentence ever reached the engine; the queued ones were dropped.
    assert tone_engine.calls[0] == "The first sentence. "
    assert not [call for call in tone_engine.calls if "second" in call or "fourth" in call]
    assert_nothing_after(frames, done, "victim")


def test_cancel_while_waiting_for_a_worker(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    """With one worker busy, a queued context is cancelled before it ever runs."""
    gate = tone_engine.gate = threading.Event()
    with serve_app(Settings(parallel_steps=1)) as served, Client(served.base) as client:
        client.send(request("busy", "One two.", continue_=False))
        in_flight(tone_engine, 1)
        client.send(request("waiting", "Three four.", continue_=False))
        wait_for(lambda: served.runtime.scheduler.queued == 1, what="a queued step")
        client.send(cancel("waiting"))
        done = client.until(lambda f: f["context_id"] == "waiting")[-1]
        assert done["type"] == "done"
        assert served.runtime.scheduler.queued == 0
        gate.set()
        frames = client.until_done("busy")
        assert_still_serves(client)
        frames = client.frames
    assert len(audio(frames, "busy")) == tone_bytes(2)
    assert [f["type"] for f in of(frames, "waiting")] == ["done"]
    assert "Three four." not in tone_engine.calls


def test_cancel_after_audio_then_reuse_the_id(shared_server: str) -> None:
    """After the cancel's `done` the id is free: the next message starts a fresh context."""
    with Client(shared_server) as client:
        client.send(request("c1", "One two.", continue_=True, flush=True))
        client.until(lambda f: f["type"] == "flush_done")
        client.send(cancel("c1"))
        done = client.until(lambda f: f["context_id"] == "c1" and f["type"] == "done")[-1]
        client.send(request("c1", "Three.", continue_=False))
        again = client.until_done("c1")
    assert again[-1]["type"] == "done"
    assert {f["flush_id"] for f in of(again, "c1", "chunk")} == {1}
    assert len(audio(again, "c1")) == tone_bytes(1)
    assert done["done"] is True


def test_cancel_of_unknown_context_gets_no_reply(shared_server: str) -> None:
    with Client(shared_server) as client:
        client.send(cancel("nobody"))
        client.send(request("c1", "One two three."))
        frames = client.until_done("c1")
        # A second cancel of a finished context is no more an error than the first.
        client.send(cancel("c1"))
        assert_still_serves(client)
        frames = client.frames
    assert of(frames, "nobody") == []
    assert [f["type"] for f in of(frames, "c1")].count("done") == 1
    assert not [f for f in frames if f["type"] == "error"]


def test_cancel_twice_sends_one_done(serve_app: ServedFactory, tone_engine: ToneEngine) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve_app() as served, Client(served.base) as client:
        client.send(request("c1", "One two three.", continue_=True))
        in_flight(tone_engine, 1)
        client.send(cancel("c1"))
        client.send(cancel("c1"))
        gate.set()
        assert_still_serves(client)
        frames = client.frames
    assert [f["type"] for f in of(frames, "c1")] == ["done"]
    assert not [f for f in frames if f["type"] == "error"]
