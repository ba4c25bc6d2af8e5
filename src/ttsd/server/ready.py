"""The line `ttsd serve` logs once it can serve: where to connect, with what, on how much.

It names the WebSocket URL to give a client, the voices loaded, and the cores found with
the bound that gave their number (server/cpus.py), so that an operator sees at once when a
container's CPU limit, not the host, sized the engine (issue 9). In the JSON log format the
same facts are fields of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ttsd import __version__
from ttsd.protocol.shown import first_of
from ttsd.server.cpus import CoreCount, available_cores
from ttsd.server.settings import Settings

__all__ = ["MAX_VOICES_NAMED", "log_ready", "websocket_url"]

#: Voices named in the line; a directory of hundreds is summed up after these.
MAX_VOICES_NAMED = 5

#: The WebSocket endpoint's path (app.py's route).
WEBSOCKET_PATH = "/tts/websocket"


def websocket_url(settings: Settings) -> str:
    """`ws://HOST:PORT/tts/websocket`, `wss://` with TLS, an IPv6 address in brackets."""
    scheme = "wss" if settings.ssl_certfile is not None else "ws"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{scheme}://{host}:{settings.port}{WEBSOCKET_PATH}"


def log_ready(
    logger: logging.Logger,
    settings: Settings,
    voice_ids: Sequence[str],
    cores: CoreCount | None = None,
) -> None:
    """Log the ready line on `logger` (the app's)."""
    cores = cores or available_cores()
    named = first_of(voice_ids, MAX_VOICES_NAMED)
    logger.info(
        "ttsd %s ready at %s; voices: %s; %s: a lone step on %d thread(s), up to %d steps "
        "side by side",
        __version__,
        websocket_url(settings),
        named,
        cores.describe(),
        settings.engine_threads,
        settings.parallel_steps,
        extra={
            "url": websocket_url(settings),
            "voices": list(voice_ids),
            "cores": cores.cores,
            "cores_source": cores.source,
            "engine_threads": settings.engine_threads,
            "parallel_steps": settings.parallel_steps,
        },
    )
