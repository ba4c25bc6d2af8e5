"""How many cores each synthesis step gets, seen by the engine through a real socket.

A lone stream's steps run on every core the server gives a step (`engine_threads`);
while two streams are busy, their steps run side by side on a share each
(server/scheduler.py).
"""

from __future__ import annotations

import threading

from tests.server.conftest import ServedFactory
from tests.support.checks import tone_bytes, wait_for
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, audio, request
from ttsd.server.settings import Settings

ADAPTIVE = Settings(parallel_steps=2, engine_threads=4)


def test_a_lone_context_runs_every_step_on_all_cores(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    with serve_app(ADAPTIVE) as served, Client(served.base) as client:
        client.send(request("alone", "One two. Three four. Five six.", continue_=False))
        frames = client.until_done("alone")
    assert len(audio(frames, "alone")) == tone_bytes(6)
    assert tone_engine.step_threads == [4, 4, 4]


def test_two_busy_contexts_run_side_by_side_on_half_the_cores(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve_app(ADAPTIVE) as served, Client(served.base) as client:
        client.send(request("a", "One two. Three four. Five six.", continue_=False))
        wait_for(lambda: len(tone_engine.step_threads) == 1, what="the first step in flight")
        client.send(request("b", "Seven eight. Nine ten.", continue_=False))
        # The lone first step holds every worker slot: b waits instead of oversubscribing.
        wait_for(lambda: served.runtime.scheduler.queued == 1, what="b's step to queue")
        assert served.runtime.scheduler.running == 1
        gate.set()
        frames = client.until_all_done("a", "b")
    assert len(audio(frames, "a")) == tone_bytes(6)
    assert len(audio(frames, "b")) == tone_bytes(4)
    # a's first step ran alone on 4 cores; b's first step started while a was still busy,
    # so it ran on 2 (one of two slots).
    assert tone_engine.step_threads[0] == 4
    assert tone_engine.step_threads[1] == 2
    assert set(tone_engine.step_threads) <= {2, 4}
    assert served.runtime.scheduler.busy_streams == 0


def test_one_worker_runs_every_step_alone(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    with (
        serve_app(Settings(parallel_steps=1, engine_threads=3)) as served,
        Client(served.base) as client,
    ):
        client.send(request("a", "One. Two.", continue_=False))
        client.send(request("b", "Three. Four.", continue_=False))
        client.until_all_done("a", "b")
    assert tone_engine.step_threads == [3, 3, 3, 3]
