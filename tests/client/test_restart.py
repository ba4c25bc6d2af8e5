"""The SDK across a server restart (close 1012), for both twins, against a scripted
server: a context the server never answered is sent again on a new connection; one it
had answered is lost, as before (src/ttsd/client/_mux.py)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.http11 import Response as WsResponse

from tests.client.conftest import FMT, ClientFactory
from tests.support.live_server import live_server
from ttsd.client import Chunk, ContextLostError, Done
from ttsd.client._base import RESTART_RECONNECT_S, RETRY_MAX_S, RETRY_MIN_S, retry_delay
from ttsd.client._mux import MAX_RESENDS, RESTART_CLOSE_CODE, Multiplexer

AUDIO = b"\x01\x02" * 50


class Restarting:
    """Closes its first `restarts` connections with 1012 once a context's input ended
    (after `answer_first` frames of it, if set); answers on the next one."""

    def __init__(self, restarts: int = 1, *, answer_first: bool = False) -> None:
        self.restarts = restarts
        self.answer_first = answer_first
        #: the messages each connection got, in order
        self.connections: list[list[dict[str, Any]]] = []
        self.app = Starlette(routes=[WebSocketRoute("/tts/websocket", self.websocket)])

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        got: list[dict[str, Any]] = []
        self.connections.append(got)
        restarting = len(self.connections) <= self.restarts
        try:
            while True:
                message = json.loads(await ws.receive_text())
                got.append(message)
                if message.get("continue") is not False:
                    continue
                cid = message["context_id"]
                if restarting:
                    if self.answer_first:
                        await ws.send_text(json.dumps(_chunk(cid)))
                    await ws.close(code=1012, reason="server restarting; reconnect")
                    return
                await ws.send_text(json.dumps(_chunk(cid)))
                await ws.send_text(json.dumps({"type": "done", "context_id": cid, "done": True}))
        except WebSocketDisconnect:
            pass


def _chunk(context_id: str) -> dict[str, Any]:
    data = base64.b64encode(AUDIO).decode()
    return {"type": "chunk", "context_id": context_id, "data": data, "done": False}


def test_an_unanswered_context_is_sent_again_after_a_restart(make_client: ClientFactory) -> None:
    stub = Restarting()
    with live_server(stub.app) as base:
        client = make_client(base)
        with client.tts.websocket_connect() as ws:
            ctx = ws.context(voice="v", output_format=FMT)
            ctx.push("Hello ")
            ctx.push("there.")
            ctx.no_more_inputs()  # then the server closes 1012, before any frame
            replies = list(ctx.receive())
    assert [type(r) for r in replies] == [Chunk, Done]
    assert len(stub.connections) == 2
    # The same messages, in the same order, on the new connection.
    assert stub.connections[1] == stub.connections[0]
    assert [m["transcript"] for m in stub.connections[1]] == ["Hello ", "there.", ""]


def test_a_context_that_got_a_frame_is_lost_not_repeated(make_client: ClientFactory) -> None:
    stub = Restarting(answer_first=True)
    with live_server(stub.app) as base:
        client = make_client(base)
        with client.tts.websocket_connect() as ws:
            ctx = ws.context(voice="v", output_format=FMT)
            ctx.push("Hello.")
            ctx.no_more_inputs()
            received: list[Any] = []
            with pytest.raises(ContextLostError) as lost:
                received.extend(ctx.receive())
            # A new context carries on over the close, on a new connection.
            again = ws.context(voice="v", output_format=FMT)
            again.push("Again.")
            again.no_more_inputs()
            assert isinstance(list(again.receive())[-1], Done)
    assert [type(r) for r in received] == [Chunk]
    assert lost.value.code == 1012
    assert len(stub.connections) == 2  # sent once: half of it was heard already


def test_a_server_that_keeps_restarting_loses_the_context(make_client: ClientFactory) -> None:
    stub = Restarting(restarts=MAX_RESENDS + 1)
    with live_server(stub.app) as base:
        client = make_client(base)
        with client.tts.websocket_connect() as ws:
            ctx = ws.context(voice="v", output_format=FMT)
            ctx.push("Hello.")
            ctx.no_more_inputs()
            with pytest.raises(ContextLostError):
                list(ctx.receive())
    assert len(stub.connections) == MAX_RESENDS + 1


def _refused(status: int, headers: dict[str, str] | None = None) -> InvalidStatus:
    return InvalidStatus(WsResponse(status, "", Headers(headers or {}), b""))


@pytest.mark.parametrize(
    ("exc", "delay"),
    [
        (_refused(503, {"Retry-After": "5"}), 5.0),  # a draining ttsd
        (_refused(503, {"Retry-After": "3600"}), RETRY_MAX_S),  # capped
        (_refused(503, {"Retry-After": "0"}), RETRY_MIN_S),
        (_refused(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), RETRY_MAX_S),
        (_refused(503), RETRY_MIN_S),
        (ConnectionRefusedError(), RETRY_MIN_S),  # between two lives of the server
        (TimeoutError(), RETRY_MIN_S),
        (_refused(401), None),  # trying again cannot help
        (_refused(404), None),
        (InvalidHandshake("bad upgrade"), None),
    ],
)
def test_which_failed_connects_are_worth_another_try(exc: BaseException, delay: float) -> None:
    assert retry_delay(exc) == delay


def test_only_a_reconnect_after_a_restart_tries_again_and_only_for_a_while() -> None:
    mux: Multiplexer[None] = Multiplexer()
    now = time.monotonic()
    assert mux.reconnect_wait(RETRY_MIN_S, now) is None  # the first connect fails at once
    mux.connection_opened()
    mux.connection_closed(1, 1000, "")
    assert mux.reconnect_wait(RETRY_MIN_S, now) is None  # a normal close: no retries either
    mux.connection_opened()
    mux.connection_closed(2, RESTART_CLOSE_CODE, "server restarting; reconnect")
    assert mux.reconnect_wait(RETRY_MIN_S, time.monotonic()) == RETRY_MIN_S
    assert mux.reconnect_wait(None, time.monotonic()) is None  # a 401 is final
    later = time.monotonic() + RESTART_RECONNECT_S - 1
    assert mux.reconnect_wait(RETRY_MAX_S, later) == pytest.approx(1, abs=0.1)  # what is left
    assert mux.reconnect_wait(RETRY_MIN_S, later + 2) is None  # out of time
    mux.connection_opened()
    assert mux.reconnect_wait(RETRY_MIN_S, time.monotonic()) is None  # back to normal
