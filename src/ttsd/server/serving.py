"""Running the app under uvicorn, with a graceful drain on SIGTERM and SIGINT (issue 9).

uvicorn's own shutdown closes every WebSocket with 1012 at once, mid-sentence. Here the
first SIGTERM or SIGINT starts the app's drain instead (server/drain.py): the server keeps
serving what it has started, and only once that has finished (or the drain deadline has
ended it) does uvicorn shut down, and the process exits 0. A second signal stops at once,
as uvicorn would have on the first.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from ttsd.server.drain import Drain
from ttsd.server.http_protocol import uvicorn_http_options
from ttsd.server.ready import log_ready
from ttsd.server.runtime import Runtime
from ttsd.server.settings import Settings

_LOGGER = logging.getLogger(__name__)
#: The ready line's logger: the app's, where it was first logged (operators filter on it).
_READY_LOGGER = logging.getLogger("ttsd.server.app")

#: Seconds uvicorn waits, after the drain, for connections and tasks it still holds (a
#: client that never completed a close handshake, a REST body that never ended) before it
#: cancels them. The drain has already waited for everything that was making progress.
SHUTDOWN_TIMEOUT_S = 2


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM/SIGINT drains `drain` before it shuts down."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Drain,
        on_listening: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._drain = drain
        self._on_listening = on_listening
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_signal: int | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving, knowing the loop a signal must reach; `on_listening` once the
        sockets listen (uvicorn binds them after the app's start-up, and exits if it cannot)."""
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.started and self._on_listening is not None:
            self._on_listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """The first signal drains; a second one, or one before start-up, exits now."""
        if self._drain_signal is not None or self._loop is None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._drain_signal = sig
        # A signal handler runs between two bytecodes of whatever the loop is doing:
        # hand the work to the loop rather than touch its state from here.
        self._loop.call_soon_threadsafe(self.begin_drain, signal.Signals(sig).name)

    def begin_drain(self, reason: str = "requested") -> None:
        """Start the drain now (on the loop's thread); the server exits when it ends."""
        if self._drain_task is not None:
            return
        _LOGGER.info("%s: draining (a second signal stops at once)", reason)
        self._drain_task = asyncio.get_running_loop().create_task(
            self._drain_then_exit(), name="ttsd-drain"
        )

    async def _drain_then_exit(self) -> None:
        try:
            await self._drain.run()
        finally:
            self.should_exit = True


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration of `ttsd serve` (TLS when `settings` name a certificate)."""
    ssl_certfile, ssl_keyfile = settings.ssl_certfile, settings.ssl_keyfile
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers reach configure_logging's handler
        access_log=settings.access_log,
        ws_max_size=settings.transport_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
        # httptools with bounded, timed request heads (uvicorn bounds neither)
        **uvicorn_http_options(settings),
    )


class CannotListen(Exception):
    """`settings`' host and port cannot be bound; the message says why and what to do."""


def check_can_listen(settings: Settings) -> None:
    """Bind `settings`' address for a moment, as uvicorn will, so that a taken port or a
    foreign host is one clear error before the engines spend seconds loading.

    uvicorn would bind only after the app's start-up and then exit with a bare errno
    line; this check says what to do. A port taken between this check and uvicorn's
    bind still fails there, only less politely.
    """
    host, port = settings.host, settings.port
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(
            f"--host {host!r} is not an address or a name found ({exc.strerror})"
        ) from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As asyncio's create_server: a port in TIME_WAIT after a restart is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise CannotListen(_bind_problem(exc, where)) from None


def _bind_problem(exc: OSError, where: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{where} is already in use (another ttsd?): stop it or choose another --port"
    if exc.errno == errno.EACCES:
        return (
            f"no permission to listen on {where}: ports below 1024 need root or "
            "CAP_NET_BIND_SERVICE; choose another --port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: --host is not an address of this machine"
    return f"cannot listen on {where}: {exc.strerror}"


def run_server(app: Starlette, settings: Settings) -> None:
    """Serve `app` (built by `create_app`) until a signal and its drain end it; the ready
    line is logged once the socket listens, not when the app has started."""

    def announce() -> None:
        runtime: Runtime = app.state.runtime
        log_ready(_READY_LOGGER, settings, [voice.id for voice in runtime.registry.voices()])

    DrainingServer(server_config(app, settings), app.state.drain, announce).run()
