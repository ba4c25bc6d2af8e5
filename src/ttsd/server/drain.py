"""Graceful drain: what the server does between SIGTERM and its exit (issue 9).

A restart must not cut a caller mid-sentence. When the drain begins (`Drain.run`, started
by `serving.DrainingServer` on the first SIGTERM or SIGINT):

- `/readyz` answers 503 at once, so a load balancer or Kubernetes sends no new work;
- new REST requests and new WebSocket handshakes get 503 with `Retry-After`
  (`DrainMiddleware`): nginx's `proxy_next_upstream http_503` passes them to another
  server (deploy/nginx/ttsd.conf);
- every context already started finishes with all its audio and its `done`, and a
  connection that still has live contexts goes on taking new ones (pooled sockets of
  LiveKit and pipecat keep sending on the connection they have);
- a connection with no live context is closed with 1012 ("service restart"), so its
  client reconnects, to another server;
- REST responses already started complete;
- at `drain_timeout_s` every unfinished context gets an error frame (503, its
  `context_id`) and its connection is closed with 1012; then the process exits 0.

Liveness (`/healthz`) stays 200 throughout: the server is alive, only leaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.server.refusal import refuse

_LOGGER = logging.getLogger(__name__)

#: Seconds a client is told to wait before it retries a request refused while draining.
#: The refusal says "not this server": a client behind a load balancer can retry at once
#: elsewhere; one talking to a lone server finds it back after a restart, which takes
#: seconds (the voice loads in ~1 s).
RETRY_AFTER_S = 5

#: Seconds the connections ended at the deadline get to write their error frames and
#: close before the server stops waiting for them (uvicorn then closes what is left).
EXPIRE_GRACE_S = 3.0

#: The WebSocket close code of a draining server: "service restart", reconnect (RFC 6455
#: §7.4.1 leaves 1012 to the IANA registry, which defines it so).
CLOSE_CODE = 1012
CLOSE_REASON = "server restarting; reconnect"

#: Paths served whatever the drain: health, metrics and the status line.
ALWAYS_SERVED = frozenset({"/", "/healthz", "/readyz", "/metrics"})


def draining_error() -> ProtocolError:
    """The error a context gets when the drain deadline ends it."""
    return ProtocolError(
        503,
        ErrorCode.SERVER_SHUTTING_DOWN,
        "Server shutting down",
        "the server is restarting and its drain deadline passed before this context "
        "finished; open a new context (on a new connection) and send the rest again",
    )


class DrainableConnection(Protocol):
    """A WebSocket connection as the drain sees it."""

    def begin_drain(self) -> None:
        """Close with 1012 once no context is live (now, if none is)."""

    async def expire(self) -> None:
        """The deadline passed: fail every live context (503), then close with 1012."""


class Drain:
    """The server's readiness and drain state, shared by every connection and request."""

    def __init__(self, timeout_s: float) -> None:
        #: seconds between the start of the drain and the end of what is left
        self.timeout_s = timeout_s
        #: voices loaded and serving (set by the app's start-up)
        self.loaded = False
        #: monotonic time the drain began, None before
        self.began_at: float | None = None
        self._connections: set[DrainableConnection] = set()
        self._requests = 0
        self._idle = asyncio.Event()

    @property
    def draining(self) -> bool:
        """Whether the drain has begun."""
        return self.began_at is not None

    @property
    def ready(self) -> bool:
        """Whether new work is welcome: loaded and not draining (`GET /readyz`)."""
        return self.loaded and not self.draining

    @property
    def busy(self) -> tuple[int, int]:
        """Open WebSocket connections and REST requests in flight."""
        return len(self._connections), self._requests

    def add_connection(self, connection: DrainableConnection) -> None:
        """A WebSocket connection opened (told to drain at once if the drain has begun)."""
        self._connections.add(connection)
        if self.draining:
            connection.begin_drain()

    def remove_connection(self, connection: DrainableConnection) -> None:
        """A WebSocket connection closed."""
        self._connections.discard(connection)
        self._check_idle()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Count an HTTP request as in flight while inside."""
        self._requests += 1
        try:
            yield
        finally:
            self._requests -= 1
            self._check_idle()

    def begin(self) -> None:
        """Start draining (idempotent): readiness fails, idle connections close."""
        if self.began_at is not None:
            return
        self.began_at = time.monotonic()
        connections, requests = self.busy
        _LOGGER.info(
            "draining: %d connection(s) and %d request(s) open; unfinished work ends in %.0f s",
            connections,
            requests,
            self.timeout_s,
        )
        for connection in list(self._connections):
            connection.begin_drain()
        self._check_idle()

    async def run(self) -> None:
        """Drain: wait for everything started to finish, ending what is left at the
        deadline. Returns when nothing is left, or `EXPIRE_GRACE_S` after the deadline."""
        self.begin()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout_s):
                await self._idle.wait()
        if not self._idle.is_set():
            connections, requests = self.busy
            _LOGGER.warning(
                "drain deadline (%.0f s): ending %d connection(s) with unfinished contexts; "
                "%d request(s) still in flight",
                self.timeout_s,
                connections,
                requests,
            )
            for connection in list(self._connections):
                asyncio.create_task(connection.expire(), name="ttsd-drain-expire")  # noqa: RUF006
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(EXPIRE_GRACE_S):
                    await self._idle.wait()
        began = self.began_at or time.monotonic()
        _LOGGER.info("drained in %.1f s", time.monotonic() - began)

    def _check_idle(self) -> None:
        if self.draining and not self._connections and not self._requests:
            self._idle.set()


class DrainMiddleware:
    """Refuses new work while draining (503 + `Retry-After`) and counts HTTP requests
    in flight, so the drain waits for their responses to complete."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in ALWAYS_SERVED:
            await self.app(scope, receive, send)
            return
        if self._drain.draining:
            await self._refuse(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # The endpoint registers its connection with the drain itself.
            await self.app(scope, receive, send)
            return
        with self._drain.request():
            await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = ProtocolError(
            503,
            ErrorCode.SERVER_SHUTTING_DOWN,
            "Server shutting down",
            "the server is restarting and takes no new work; retry (another server behind "
            f"the same address, or this one in {RETRY_AFTER_S} s)",
        )
        headers = [(b"retry-after", str(RETRY_AFTER_S).encode()), (b"connection", b"close")]
        await refuse(scope, receive, send, error, headers, websocket_close_code=CLOSE_CODE)
