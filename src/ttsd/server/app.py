"""The ASGI application: routes, start-up, and the middleware around them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from ttsd import __version__
from ttsd.engines.base import Engine, EngineUnavailable
from ttsd.engines.piper import PiperEngine, default_voice_file, discover_voices
from ttsd.engines.registry import EngineRegistry
from ttsd.server.auth import PUBLIC_PATHS, ApiKeyMiddleware
from ttsd.server.drain import Drain, DrainMiddleware
from ttsd.server.health import healthz, readyz
from ttsd.server.logs import quiet_client_errors
from ttsd.server.metrics import ErrorMetricsMiddleware, metrics_endpoint
from ttsd.server.origins import WebSocketOriginMiddleware, cors_middleware
from ttsd.server.playground import PLAYGROUND_PATHS, playground_routes
from ttsd.server.request_id import RequestIdMiddleware
from ttsd.server.rest import EXCEPTION_HANDLERS, rest_routes
from ttsd.server.runtime import Runtime
from ttsd.server.scheduler import Scheduler, shared_step_threads
from ttsd.server.settings import Settings
from ttsd.server.websocket import tts_websocket

_LOGGER = logging.getLogger(__name__)

#: The API version ttsd answers to by default (the one the 3.x SDKs send).
API_VERSION = "2025-11-04"


def build_registry(settings: Settings) -> EngineRegistry:
    """The default Piper engine (the embedded voice first, then any in `voices_dir`), and
    Kokoro when installed and not turned off (`Settings.kokoro`)."""
    voices = [default_voice_file()]
    if settings.voices_dir is not None:
        extra = discover_voices(Path(settings.voices_dir))
        voices += [v for v in extra if v.id != voices[0].id]
    engine = PiperEngine(
        voices,
        intra_op_threads=settings.engine_threads,
        # Sessions for the narrower steps the scheduler runs side by side.
        shared_threads=shared_step_threads(settings.parallel_steps, settings.engine_threads),
        # The engine bounds its own steps too, for callers that bypass the segmenter (issue 8).
        max_step_chars=settings.limits.max_step_chars,
        chunked=settings.chunked_decoder,
    )
    engines: list[Engine] = [engine]
    kokoro = _kokoro_engine(settings)
    if kokoro is not None:
        engines.append(kokoro)
    return EngineRegistry(
        engines,
        aliases=settings.aliases,
        strict_voices=settings.strict_voices,
        language_fallback=settings.language_fallback,
    )


def _kokoro_engine(settings: Settings) -> Engine | None:
    """The Kokoro engine, or None when it is off, or `auto` and not installed."""
    if settings.kokoro == "off":
        return None
    try:
        from ttsd.engines.kokoro import KokoroEngine

        missing = KokoroEngine.missing_packages(settings.kokoro_model)
    except ImportError as exc:  # num2words, imported by the engine's modules
        missing = [str(exc.name)]
    if missing:
        if settings.kokoro == "on":
            raise EngineUnavailable(
                f"kokoro is on but {', '.join(missing)} is not installed: "
                "pip install 'ttsd[kokoro]'"
            )
        _LOGGER.info("Kokoro engine not installed (pip install 'ttsd[kokoro]' to add it)")
        return None
    return KokoroEngine(
        model_path=settings.kokoro_model,
        intra_op_threads=settings.engine_threads,
        shared_threads=shared_step_threads(settings.parallel_steps, settings.engine_threads),
        max_step_chars=settings.limits.max_step_chars,
    )


def create_app(
    settings: Settings | None = None, registry: EngineRegistry | None = None
) -> Starlette:
    """Build the app. Pass `registry` to serve other engines (tests use a tone engine)."""
    settings = settings or Settings()
    registry = registry or build_registry(settings)
    # A client's non-UTF-8 text frame: one log line, not a traceback (issue 8).
    quiet_client_errors()
    drain = Drain(settings.drain_timeout_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        registry.load(preload=settings.preload)
        scheduler = Scheduler(settings.parallel_steps, settings.engine_threads)
        app.state.runtime = Runtime(
            settings=settings, registry=registry, scheduler=scheduler, drain=drain
        )
        drain.loaded = True
        try:
            yield
        finally:
            scheduler.shutdown()

    routes = [
        Route("/", status, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *rest_routes(),
        WebSocketRoute("/tts/websocket", tts_websocket),
        *playground_routes(),
    ]
    # Prometheus scrapes without a key unless the operator asks for one (issue 9). The
    # playground page holds nothing secret: it loads without a key and asks for one.
    public_paths = PUBLIC_PATHS | PLAYGROUND_PATHS
    if not settings.metrics_require_key:
        public_paths |= {"/metrics"}
    middleware = [
        # Outermost: counts every JSON error sent, refusals included (server/metrics.py).
        Middleware(ErrorMetricsMiddleware),
        # Before drain and keys: a preflight carries no key, and a refusal a page is to read
        # needs its CORS headers too (server/origins.py).
        *([cors_middleware(settings.cors_origins)] if settings.cors_origins else []),
        *(
            [Middleware(WebSocketOriginMiddleware, origins=settings.cors_origins)]
            if settings.ws_check_origin
            else []
        ),
        Middleware(RequestIdMiddleware),
        # Before the key check: a draining server refuses everyone alike.
        Middleware(DrainMiddleware, drain=drain),
        Middleware(ApiKeyMiddleware, keys=settings.api_keys, public_paths=public_paths),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
    )
    # Here, not in the lifespan: the server's signal handler needs it (server/serving.py).
    app.state.drain = drain
    return app


async def status(request: Request) -> JSONResponse:
    """`GET /`: liveness, as the hosted API answers it (docs/protocol.md §8.1)."""
    return JSONResponse({"ok": True, "version": API_VERSION, "ttsd_version": __version__})
