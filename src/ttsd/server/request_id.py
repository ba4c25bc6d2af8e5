"""A request id for every HTTP request: in the `X-Request-Id` response header, and in
error bodies (docs/protocol.md §8: errors carry `request_id`)."""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsd.server.log_context import REQUEST_ID

#: Where the id lives in the ASGI scope.
SCOPE_KEY = "ttsd.request_id"
HEADER = b"x-request-id"


def request_id_of(scope: Scope) -> str:
    """The id `RequestIdMiddleware` gave this request (a fresh one outside it)."""
    request_id = scope.get(SCOPE_KEY)
    return request_id if isinstance(request_id, str) else str(uuid.uuid4())


class RequestIdMiddleware:
    """Gives each HTTP request a uuid and adds it to the response headers.

    WebSocket scopes pass through: the WebSocket endpoint sends its own connection id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope[SCOPE_KEY] = request_id
        # The request's log lines carry its id: ttsd's, and uvicorn's access line, which
        # is logged when the response starts, inside this call (server/log_context.py).
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(bytes(name).lower() == HEADER for name, _ in headers):
                    headers.append((HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
