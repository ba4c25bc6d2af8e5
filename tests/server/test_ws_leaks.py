"""Nothing outlives a connection: no ttsd tasks, no busy or queued workers."""

from __future__ import annotations

import asyncio
import json
import threading

from websockets.asyncio.client import connect

from tests.server.conftest import Served, ServedFactory
from tests.support.checks import wait_for
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, of, request
from ttsd.server.settings import Settings


def settled(served: Served) -> bool:
    """No session tasks left and the scheduler idle."""
    scheduler = served.runtime.scheduler
    return not served.ttsd_tasks() and scheduler.running == 0 and scheduler.queued == 0


def test_nothing_left_after_a_busy_connection_closes(
    serve_app: ServedFactory, tone_engine: ToneEngine
) -> None:
    gate = tone_engine.gate = threading.Event()
    with serve_app(Settings(parallel_steps=1)) as served:
        assert served.ttsd_tasks() == []
        with Client(served.base) as client:
            client.send(request("held", "One two.", continue_=True))  # in flight
            wait_for(lambda: len(tone_engine.calls) == 1, what="synthesis in flight")
            client.send(request("queued", "Three four.", continue_=True))  # waits for a worker
            client.send(request("cancelled", "Five six.", continue_=True))
            client.send(request("failed", "Please explode.", continue_=True))
            client.send(request("open", "Seven eight", continue_=True))  # buffered text
            wait_for(lambda: served.runtime.scheduler.queued == 3, what="three queued steps")
            client.send({"context_id": "cancelled", "cancel": True})
            client.until(lambda f: f["context_id"] == "cancelled")
            tasks = served.ttsd_tasks()
            assert "ttsd-ws-writer" in tasks and "ttsd-ws-timer" in tasks
            assert "ttsd-context-held" in tasks
            assert "ttsd-context-cancelled" not in tasks
        # The client is gone with work held, queued and buffered; then the gate opens.
        gate.set()
        wait_for(lambda: settled(served), what="the server to settle")
        assert served.ttsd_tasks() == []
        # The server still serves new connections.
        with Client(served.base) as client:
            client.send(request("c1", "One two three."))
            frames = client.until_done("c1")
            assert of(frames, "c1")[-1]["type"] == "done"
        wait_for(lambda: settled(served), what="the server to settle")


def test_nothing_left_after_contexts_end_normally(serve_app: ServedFactory) -> None:
    with serve_app() as served, Client(served.base) as client:
        for cid in ("a", "b", "c"):
            client.send(request(cid, "One two."))
        client.send(request("bad", "Please explode."))
        for cid in ("a", "b", "c", "bad"):
            if not [f for f in of(client.frames, cid) if f["type"] in ("done", "error")]:
                client.until_done(cid)
        # Finished contexts leave no runner behind while the connection stays open.
        wait_for(
            lambda: served.ttsd_tasks() == ["ttsd-ws-timer", "ttsd-ws-writer"],
            what="context runners to end",
        )


def test_a_cancel_racing_the_close_leaves_nothing(serve_app: ServedFactory) -> None:
    """The timer task must end even when its wake-up races the cancel at close.

    (With asyncio.wait_for on Python 3.11 the cancel was swallowed: the task, and the
    server's shutdown, waited forever.)"""

    async def cancel_and_close(base: str) -> None:
        async with connect(f"ws://{base}/tts/websocket") as ws:
            await ws.send(
                json.dumps(request("a", "Waiting", continue_=True, max_buffer_delay_ms=5000))
            )
            await ws.send(json.dumps({"context_id": "a", "cancel": True}))

    with serve_app() as served:
        for round_ in range(5):
            asyncio.run(cancel_and_close(served.base))
            wait_for(lambda: settled(served), what=f"the server to settle (round {round_})")
