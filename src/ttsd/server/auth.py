"""API-key authentication as ASGI middleware, checked before any WebSocket upgrade.

Accepts every form clients use (docs/protocol.md §1.2): `Authorization: Bearer`,
`X-API-Key`, and the `api_key` / `access_token` query parameters. Keys are compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.server.refusal import refuse

#: Paths anyone may call: the status endpoint (like the hosted API's `GET /`) and the
#: health probes, which a load balancer or kubelet calls without a key (issue 9).
PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz"})


def presented_key(scope: Scope) -> str | None:
    """The API key or token a request carries, if any."""
    headers: dict[str, str] = {
        bytes(name).decode("latin-1").lower(): bytes(value).decode("latin-1")
        for name, value in scope["headers"]
    }
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    if "x-api-key" in headers:
        return headers["x-api-key"].strip()
    query: dict[str, list[str]] = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    for name in ("api_key", "access_token"):
        if query.get(name):
            return query[name][0]
    return None


class ApiKeyMiddleware:
    """Rejects requests without a valid key: HTTP 401 for both HTTP and WebSocket."""

    def __init__(
        self, app: ASGIApp, keys: Iterable[str], public_paths: Iterable[str] = PUBLIC_PATHS
    ) -> None:
        self.app = app
        self._keys = [key.encode() for key in keys]
        #: paths served without a key (`PUBLIC_PATHS`, and `/metrics` unless
        #: `metrics_require_key`)
        self.public_paths = frozenset(public_paths)

    def is_valid(self, key: str | None) -> bool:
        """Constant-time membership test (every key is compared, match or not)."""
        if key is None:
            return False
        candidate = key.encode()
        matches = [hmac.compare_digest(candidate, known) for known in self._keys]
        return any(matches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self._keys
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in self.public_paths
            or self.is_valid(presented_key(scope))
        ):
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        message = (
            "no API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
            if key is None
            else "the API key is not valid"
        )
        error = ProtocolError(401, ErrorCode.UNAUTHORIZED, "Unauthorized", message)
        await refuse(
            scope,
            receive,
            send,
            error,
            [(b"www-authenticate", b"Bearer")],
            websocket_close_code=1008,
        )
