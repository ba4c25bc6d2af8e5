"""The SDK against a scripted stub server, for both twins: the exact JSON and headers it
sends, and what it does with replies ttsd itself never sends (junk frames, frames for
other contexts, unknown types, an SSE stream cut before `done`, plain-text errors, a
voice list that ignores its cursor)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.client.conftest import ClientFactory
from tests.support.live_server import live_server
from ttsd.client import Chunk, ConnectionClosedError, Done, Error, ServerError, TtsdError
from ttsd.client import Response as SdkResponse

AUDIO = b"\x01\x02" * 50


class Stub:
    """What the stub saw, and the app serving it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                WebSocketRoute("/tts/websocket", self.websocket),
                Route("/tts/bytes", self.tts_bytes, methods=["POST"]),
                Route("/tts/sse", self.tts_sse, methods=["POST"]),
                Route("/voices", self.voices, methods=["GET"]),
            ]
        )

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        self.headers.append(dict(ws.headers))
        try:
            while True:
                message = json.loads(await ws.receive_text())
                self.messages.append(message)
                if message.get("continue") is False:
                    await self._reply(ws, message["context_id"])
        except WebSocketDisconnect:
            pass

    async def _reply(self, ws: WebSocket, cid: str) -> None:
        data = base64.b64encode(AUDIO).decode()
        await ws.send_text("this is not JSON")
        await ws.send_bytes(b"\x00binary")
        await ws.send_text(json.dumps([1, 2]))
        await ws.send_text(json.dumps({"type": "chunk", "context_id": "zzz", "data": data}))
        await ws.send_text(json.dumps({"type": "error", "context_id": None, "title": "Odd"}))
        await ws.send_text(json.dumps({"type": "done", "context_id": None, "done": True}))
        await ws.send_text(
            json.dumps({"type": "chunk", "context_id": cid, "data": data, "flush_id": 1})
        )
        await ws.send_text(json.dumps({"type": "mystery", "context_id": cid, "x": 1}))
        await ws.send_text(json.dumps({"context_id": cid, "data": data}))  # no `type`
        await ws.send_text(json.dumps({"type": "done", "context_id": cid, "done": True}))

    async def tts_bytes(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        body = await request.json()
        self.messages.append(body)
        if body["transcript"] == "fail":
            return PlainTextResponse("Synthesis failed: the engine broke", status_code=503)
        return Response(AUDIO, media_type="application/octet-stream")

    async def tts_sse(self, request: Request) -> Response:
        body = await request.json()
        chunk = {"type": "chunk", "data": base64.b64encode(AUDIO).decode(), "done": False}
        error = {
            "type": "error",
            "done": True,
            "status_code": 500,
            "title": "Synthesis failed",
            "message": "the engine broke",
            "error_code": "synthesis_failed",
            "request_id": "r-1",
        }
        events = [chunk] if body["transcript"] == "cut" else [chunk, error]

        async def stream() -> Any:
            yield b": a comment\n\n"
            for event in events:
                yield b"event: message\ndata: " + json.dumps(event).encode() + b"\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def voices(self, request: Request) -> Response:
        # Ignores its cursor, never says has_more: false. The client must still stop.
        self.messages.append(dict(request.query_params))
        voice = {"id": "v1", "name": "V", "description": "", "language": "en"}
        return JSONResponse({"data": [voice, {**voice, "id": "v2"}]})


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    """A stub server and its address."""
    server = Stub()
    with live_server(server.app) as base:
        yield server, base


def test_websocket_messages_are_exact_and_junk_is_survived(
    stub: tuple[Stub, str], make_client: ClientFactory
) -> None:
    server, base = stub
    client = make_client(base, api_key="secret", headers={"X-Extra": "1"})
    voice = {"mode": "id", "id": "v1"}
    fmt = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 8000}
    with client.tts.websocket_connect() as ws:
        ctx = ws.context(
            "c1",
            model_id="m",
            voice=voice,
            output_format=fmt,
            language="en",
            add_timestamps=True,
            max_buffer_delay_ms=0,
        )
        ctx.push("Hello. ")
        ctx.push("Flushed.", flush=True)
        ctx.flush()
        ctx.no_more_inputs()
        ctx.no_more_inputs()
        responses = list(ctx.receive())
        plain = ws.context("c2", voice="v2")
        plain.push("Hi.")
        plain.cancel()

    optional = {"language": "en", "add_timestamps": True, "max_buffer_delay_ms": 0}

    def c1(transcript: str, more: bool, **flush: bool) -> dict[str, Any]:
        return {
            "context_id": "c1",
            "model_id": "m",
            "transcript": transcript,
            "voice": voice,
            "output_format": fmt,
            "continue": more,
            **optional,
            **flush,
        }

    expected = [
        c1("Hello. ", True),
        c1("Flushed.", True, flush=True),
        c1("", True, flush=True),
        c1("", False),
        {
            "context_id": "c2",
            "model_id": "sonic-3",
            "transcript": "Hi.",
            "voice": {"mode": "id", "id": "v2"},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 44100},
            "continue": True,
        },
        {"context_id": "c2", "cancel": True},
    ]
    assert server.messages == expected
    assert [list(m) for m in server.messages] == [list(m) for m in expected]  # key order too

    headers = server.headers[0]
    assert headers["authorization"] == "Bearer secret"
    assert headers["cartesia-version"] == "2025-11-04"
    assert headers["user-agent"].startswith("ttsd-python/")
    assert headers["x-extra"] == "1"

    # Junk, frames of other contexts and context-less frames are dropped; an unknown type
    # is a plain Response; a chunk without `type` is still a chunk.
    assert [r.type for r in responses] == ["chunk", "mystery", "chunk", "done"]
    assert {r.context_id for r in responses} == {"c1"}
    assert type(responses[1]) is SdkResponse and responses[1].raw["x"] == 1
    assert all(isinstance(r, Chunk) and r.audio == AUDIO for r in responses[::2][:2])
    assert responses[0].flush_id == 1 and isinstance(responses[-1], Done)


def test_rest_headers_body_and_plain_text_errors(
    stub: tuple[Stub, str], make_client: ClientFactory
) -> None:
    server, base = stub
    client = make_client(base, api_key="secret")
    audio = client.tts.bytes(transcript="Hi.", voice="v1", language="en").read()
    assert audio == AUDIO
    assert server.messages[-1] == {
        "model_id": "sonic-3",
        "transcript": "Hi.",
        "voice": {"mode": "id", "id": "v1"},
        "output_format": {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 44100},
        "language": "en",
    }
    headers = server.headers[-1]
    assert headers["authorization"] == "Bearer secret"
    assert headers["cartesia-version"] == "2025-11-04"
    assert headers["content-type"] == "application/json"
    with pytest.raises(ServerError) as caught:
        client.tts.bytes(transcript="fail", voice="v1")
    assert caught.value.status_code == 503
    assert (caught.value.title, caught.value.message) == ("Synthesis failed", "the engine broke")


def test_sse_error_event_is_yielded_then_raised(
    stub: tuple[Stub, str], make_client: ClientFactory
) -> None:
    _, base = stub
    client = make_client(base)
    seen: list[SdkResponse] = []
    with pytest.raises(ServerError) as caught:
        for event in client.tts.sse(transcript="Hi.", voice="v1"):
            seen.append(event)
    assert [e.type for e in seen] == ["chunk", "error"]
    assert isinstance(seen[1], Error) and seen[1].error == "Synthesis failed: the engine broke"
    assert (caught.value.error_code, caught.value.request_id) == ("synthesis_failed", "r-1")


def test_sse_stream_cut_before_done_raises(
    stub: tuple[Stub, str], make_client: ClientFactory
) -> None:
    _, base = stub
    client = make_client(base)
    seen: list[SdkResponse] = []
    with pytest.raises(ConnectionClosedError, match="before `done`"):
        for event in client.tts.sse(transcript="cut", voice="v1"):
            seen.append(event)
    assert [e.type for e in seen] == ["chunk"]


def test_voice_paging_stops_when_the_cursor_stops_moving(
    stub: tuple[Stub, str], make_client: ClientFactory
) -> None:
    server, base = stub
    client = make_client(base)
    voices = list(client.voices.list(limit=2, language="en"))
    assert [v.id for v in voices] == ["v1", "v2", "v1", "v2"]
    assert server.messages == [
        {"limit": "2", "language": "en"},
        {"limit": "2", "language": "en", "starting_after": "v2"},
    ]


def test_every_error_is_a_ttsd_error(stub: tuple[Stub, str], make_client: ClientFactory) -> None:
    _, base = stub
    client = make_client(base)
    with pytest.raises(TtsdError):
        client.voices.get("v1")  # no such route on the stub: 404
