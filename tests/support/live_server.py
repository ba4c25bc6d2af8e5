"""A real uvicorn server on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import uvicorn
from starlette.applications import Starlette

from ttsd.server.http_protocol import uvicorn_http_options
from ttsd.server.serving import DrainingServer, server_config
from ttsd.server.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    app: Starlette,
    *,
    ws_max_size: int = 16 * 1024 * 1024,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    ws_per_message_deflate: bool = False,
    settings: Settings | None = None,
) -> Iterator[str]:
    """Serve `app` (over TLS when given a certificate); yield `127.0.0.1:PORT`.

    WebSocket compression is off unless asked for, as `ttsd serve` runs by default. HTTP is
    ttsd's own protocol class, as `ttsd serve` runs it, with the head limits of `settings`
    (default: `Settings()`; the app's own settings are not known before it starts)."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_max_size=ws_max_size,
        ws_per_message_deflate=ws_per_message_deflate,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        **uvicorn_http_options(settings or Settings()),
    )
    server = uvicorn.Server(config)
    thread = _started(server)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class DrainingServe:
    """A `ttsd serve`-like server (`DrainingServer`) running in a background thread."""

    base: str
    server: DrainingServer
    thread: threading.Thread

    def begin_drain(self) -> None:
        """What SIGTERM does to `ttsd serve` (signals only reach the main thread)."""
        loop = self.server._loop
        assert loop is not None
        loop.call_soon_threadsafe(self.server.begin_drain, "test")

    def wait_exit(self, timeout: float) -> bool:
        """Whether the server stopped within `timeout` seconds."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


@contextmanager
def draining_server(
    app: Starlette, settings: Settings, *, port: int | None = None
) -> Iterator[DrainingServe]:
    """Serve `app` as `ttsd serve` does (its uvicorn config, drain on demand) on loopback,
    on `port` or a free one; `settings` are the app's (host and port are replaced)."""
    settings = replace(settings, host="127.0.0.1", port=port or free_port())
    server = DrainingServer(server_config(app, settings), app.state.drain)
    thread = _started(server)
    served = DrainingServe(f"127.0.0.1:{settings.port}", server, thread)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _started(server: uvicorn.Server) -> threading.Thread:
    """`server` running in a daemon thread, returned once it listens (60 s at most)."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return thread
