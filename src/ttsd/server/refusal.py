"""A request refused before it reaches an endpoint: middleware's JSON error, for HTTP and
for a WebSocket handshake alike (docs/protocol.md §5: `{title, message, error_code,
request_id, status_code}`, or OpenAI's shape under `/v1/`)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.types import Receive, Scope, Send

from ttsd.protocol.errors import ProtocolError
from ttsd.server.http import error_body
from ttsd.server.log_context import HANDSHAKE_REFUSED
from ttsd.server.request_id import request_id_of


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    error: ProtocolError,
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    websocket_close_code: int,
) -> None:
    """Answer with `error`'s status and JSON body plus `headers`.

    A WebSocket handshake gets the same HTTP response through the ASGI denial-response
    extension (uvicorn has it), so the client sees the status; on a server without it
    the handshake can only be closed with `websocket_close_code` (an HTTP 403).
    """
    body = orjson.dumps(error_body(error, request_id_of(scope), scope.get("path", "")))
    all_headers = [(b"content-type", b"application/json"), *headers]
    if scope["type"] == "http":
        await send(
            {"type": "http.response.start", "status": error.status_code, "headers": all_headers}
        )
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        # uvicorn's sans-I/O WebSocket protocol counts a denial response as no handshake
        # at all and logs an ERROR for it (server/logs.py QuietRefusedHandshake).
        HANDSHAKE_REFUSED.set(True)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": error.status_code,
                "headers": all_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": websocket_close_code})
