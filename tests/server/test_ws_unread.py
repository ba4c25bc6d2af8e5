"""A client that provokes replies and never reads them is cut off (issue 8).

Before: control frames (errors, `done`, `flush_done`) went into the outbox whatever its
fill, so 2,000 bad messages with 64 KB ids queued ~265 MiB. Now the outbox holds at most
`max_unread_bytes`; past it the connection is closed with 1008, its contexts torn down,
and other connections never notice. Three ways in: the read loop's own error frames pass
the budget; frames queued by context runners pass it while the read loop waits for a
message (it must be woken); and a client that never reads at all must not hold its
session (the close frame cannot reach it).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any, ClassVar

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server.conftest import Served, ServedFactory
from tests.server.test_ws_leaks import settled
from tests.support.checks import assert_still_serves, wait_for
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, request
from ttsd.engines.base import AudioChunk, EngineError, SynthesisOptions
from ttsd.protocol.limits import Limits
from ttsd.server.outbox import Outbox
from ttsd.server.settings import Settings
from ttsd.server.websocket import WebSocketSession

#: The smallest budget the settings allow with 32 KiB audio frames (4 × 32 KiB).
BUDGET = 128 * 1024
#: A bound on the flood, far above what it takes (the kernel's socket buffers, a few MB,
#: fill before the outbox does), so that a server that never cuts it off fails the test.
MAX_MESSAGES = 200_000


class RecordingOutbox(Outbox):
    """An `Outbox` that remembers every instance, so the test can read its stats."""

    made: ClassVar[list[RecordingOutbox]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: control frames offered so far: the server has handled that many bad messages
        self.controls = 0
        RecordingOutbox.made.append(self)

    async def put_control(self, context_id: str | None, payload: bytes) -> None:
        """Count, then queue."""
        self.controls += 1
        await super().put_control(context_id, payload)


@pytest.fixture
def outboxes(monkeypatch: pytest.MonkeyPatch) -> list[RecordingOutbox]:
    """Every outbox the server makes from now on, in order of connection."""
    made: list[RecordingOutbox] = []
    monkeypatch.setattr(RecordingOutbox, "made", made)
    monkeypatch.setattr("ttsd.server.websocket.Outbox", RecordingOutbox)
    return made


def bad_message(number: int) -> str:
    """An invalid message (a mistyped transcript) with a long `context_id`: every other
    one at the 256-character limit (its error echoes the id), the others over it."""
    context_id = f"{number:08d}".ljust(256 if number % 2 else 1000, "x")
    return json.dumps({"context_id": context_id, "transcript": number})


async def flood(served: Served, good: Client, made: list[RecordingOutbox]) -> ClientConnection:
    """Open a connection, send bad messages without reading until its outbox overflows,
    checking meanwhile that `good` (another connection) is served; return the socket."""
    # max_queue=1: the client library stops reading from the socket after one frame.
    ws = await connect(f"ws://{served.base}/tts/websocket", max_queue=1, max_size=None)
    # A live context with buffered text: its runner must not outlive the connection.
    await ws.send(json.dumps(request("held", "One two", continue_=True, max_buffer_delay_ms=5000)))
    wait_for(lambda: len(made) == 2, what="the flood connection's outbox")
    mine = made[1]
    for number in range(MAX_MESSAGES):
        await ws.send(bad_message(number))
        if number % 200 == 0 and mine.overflow_bytes is not None:
            return ws
        if number % 500 == 0:
            # Blocks this loop: the flood client reads nothing meanwhile anyway.
            assert_still_serves(good, f"meanwhile-{number}")
    raise AssertionError(f"{MAX_MESSAGES} unread error frames did not overflow the outbox")


def handled(outbox: RecordingOutbox, count: int) -> bool:
    """The server has offered `count` control frames to `outbox`."""
    return outbox.controls == count


async def fill_until_stuck(ws: ClientConnection, outbox: RecordingOutbox) -> None:
    """Send bad messages until the server's writer is stuck on a full socket.

    Over-long ids make small error frames, so the outbox creeps up in small steps. The
    flood goes in batches, each handled by the server before the next (the socket would
    otherwise hold thousands in flight), until the outbox holds a quarter of the budget
    and does not drain while nothing else is queued: the socket's buffers are full, and
    the writer waits in a send that only a read by the client would let through.
    """
    number = 0
    while True:
        for _ in range(50):
            await ws.send(json.dumps({"context_id": "x" * 300, "transcript": number}))
            number += 1
        wait_for(partial(handled, outbox, number), what="the server to catch up")
        if outbox.unread_bytes >= BUDGET // 4:
            before = outbox.unread_bytes
            await asyncio.sleep(0.2)
            if outbox.unread_bytes == before:
                assert outbox.overflow_bytes is None
                return
        assert number < MAX_MESSAGES, "the outbox never filled: the socket took it all"


async def read_to_the_close(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read everything the server sent until it closed; return the close code and reason."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(30):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


def test_a_client_that_never_reads_is_closed_and_others_are_served(
    serve_app: ServedFactory, outboxes: list[RecordingOutbox]
) -> None:
    settings = Settings(parallel_steps=2, engine_threads=1, max_unread_bytes=BUDGET)
    with serve_app(settings) as served, Client(served.base) as good:
        assert_still_serves(good, "before")

        async def scenario() -> tuple[int | None, str | None]:
            ws = await flood(served, good, outboxes)
            return await read_to_the_close(ws)

        code, reason = asyncio.run(scenario())
        flooded = outboxes[1]
        unread = flooded.overflow_bytes
        assert unread is not None and unread > BUDGET
        assert code == 1008
        assert reason == f"too many unread replies ({unread} bytes); read your socket"
        # Memory stayed bounded: no outbox ever held more than the budget.
        assert [box.peak_bytes <= BUDGET for box in outboxes] == [True, True]
        assert flooded.peak_bytes > BUDGET // 2  # it did fill up: the check means something
        # The flood connection left nothing behind; the other one still works.
        wait_for(
            lambda: served.ttsd_tasks() == ["ttsd-ws-timer", "ttsd-ws-writer"],
            what="the flood connection's tasks to end",
        )
        assert_still_serves(good, "after")
        assert outboxes[0].overflow_bytes is None
        scheduler = served.runtime.scheduler
        assert scheduler.running == 0 and scheduler.queued == 0


def test_replies_queued_while_the_reader_waits_close_the_connection_too(
    serve_app: ServedFactory,
    outboxes: list[RecordingOutbox],
    tone_engine: ToneEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The overflow comes from context runners (synthesis errors) after the client has
    stopped sending, so the read loop sits waiting for a message: it must be woken.

    Phase 1 fills the socket and half the outbox with the read loop's own error frames;
    phase 2 opens the gate on held contexts, whose error frames pass the budget."""
    gate = tone_engine.gate = threading.Event()

    def held_then_failing(
        text: str, voice_id: str, options: SynthesisOptions
    ) -> Iterator[AudioChunk]:
        if not gate.wait(timeout=30):
            raise EngineError("gate never opened")
        raise EngineError("held, then failed")
        yield  # a generator, as engines are

    monkeypatch.setattr(tone_engine, "synthesize", held_then_failing)
    held = 200
    settings = Settings(
        parallel_steps=2,
        engine_threads=1,
        max_unread_bytes=BUDGET,
        limits=Limits(max_contexts=held),
    )
    with serve_app(settings) as served:

        async def scenario() -> tuple[int | None, str | None]:
            ws = await connect(f"ws://{served.base}/tts/websocket", max_queue=1, max_size=None)
            for number in range(held):
                context_id = f"{number:08d}".ljust(256, "h")
                await ws.send(json.dumps(request(context_id, "Held here.")))
            wait_for(lambda: served.runtime.scheduler.queued == held - 2, what="held steps")
            (mine,) = outboxes
            await fill_until_stuck(ws, mine)
            # Nothing overflowed yet; the held contexts' errors (~0.8 KB each) will, from
            # their runners, while the read loop waits for a message that never comes.
            assert mine.overflow_bytes is None
            gate.set()
            # Still not reading: a read now would make room for them.
            wait_for(lambda: mine.overflow_bytes is not None, what="the outbox to overflow")
            return await read_to_the_close(ws)

        code, reason = asyncio.run(scenario())
        assert code == 1008 and reason is not None and "too many unread replies" in reason
        assert outboxes[0].peak_bytes <= BUDGET
        wait_for(lambda: settled(served), what="the server to settle")


def test_a_client_that_never_reads_at_all_does_not_hold_its_session(
    serve_app: ServedFactory, outboxes: list[RecordingOutbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close frame cannot reach a client that never reads; the session still ends
    (after the close timeout, shortened here) instead of waiting on its writer forever."""
    monkeypatch.setattr("ttsd.server.websocket.UNREAD_CLOSE_TIMEOUT_S", 0.2)
    ended = threading.Event()
    run = WebSocketSession.run

    async def run_and_report(session: WebSocketSession) -> None:
        try:
            await run(session)
        finally:
            ended.set()

    monkeypatch.setattr(WebSocketSession, "run", run_and_report)
    settings = Settings(parallel_steps=2, engine_threads=1, max_unread_bytes=BUDGET)
    with serve_app(settings) as served:

        async def scenario() -> None:
            ws = await connect(f"ws://{served.base}/tts/websocket", max_queue=1, max_size=None)
            wait_for(lambda: len(outboxes) == 1, what="the connection's outbox")
            (mine,) = outboxes
            await fill_until_stuck(ws, mine)
            # The writer is stuck in a send; now pass the budget.
            for number in range(MAX_MESSAGES):
                await ws.send(bad_message(number))
                if number % 50 == 0 and mine.overflow_bytes is not None:
                    break
            wait_for(ended.is_set, what="the session to end")
            assert served.ttsd_tasks() == []
            ws.transport.abort()

        asyncio.run(scenario())
        assert outboxes[0].overflow_bytes is not None and outboxes[0].peak_bytes <= BUDGET
