"""Web origins: CORS for the REST endpoints, and an optional Origin check on the WebSocket.

Browsers send `Origin` with every cross-site request and WebSocket handshake; other clients
(the SDKs, pipecat, servers) send none. With `Settings.cors_origins` set, Starlette's CORS
middleware answers preflights (before the API key check: a preflight carries no key) and
adds `Access-Control-Allow-Origin` for those origins. CORS does not cover WebSockets, so
`ws_check_origin` refuses (HTTP 403) a handshake whose `Origin` is not listed: a page on
another site cannot use a visitor's network position to reach a ttsd with no key.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def cors_middleware(origins: Sequence[str]) -> Middleware:
    """The CORS middleware for `origins` (`*` allows any)."""
    return Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "X-API-Key", "Content-Type", "Cartesia-Version"],
        expose_headers=["X-Request-Id"],
        max_age=600,
    )


class WebSocketOriginMiddleware:
    """Refuses WebSocket handshakes from browser origins not in `origins` (see the module)."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self._any = "*" in origins
        self._origins = {origin.rstrip("/").lower() for origin in origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._any:
            origin = _header(scope, b"origin")
            if origin is not None and origin.rstrip("/").lower() not in self._origins:
                # Closing before accepting: the server answers the handshake with 403.
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
