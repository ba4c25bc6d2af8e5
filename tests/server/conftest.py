"""Fixtures for socket-level server tests: a server whose app and event loop tests can see."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.runtime import Runtime
from ttsd.server.settings import Settings

T = TypeVar("T")


class LoopProbe:
    """ASGI middleware that remembers the event loop the server runs on."""

    def __init__(self, app: ASGIApp, loops: list[asyncio.AbstractEventLoop]) -> None:
        self.app = app
        self.loops = loops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.loops:
            self.loops.append(asyncio.get_running_loop())
        await self.app(scope, receive, send)


@dataclass
class Served:
    """A running tone-engine server, with handles on its insides."""

    base: str
    app: Starlette
    engine: ToneEngine
    loops: list[asyncio.AbstractEventLoop] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        """The server's shared state (scheduler, settings, registry)."""
        runtime: Runtime = self.app.state.runtime
        return runtime

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        """Run a coroutine on the server's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(make(), self.loops[0]).result(timeout)

    def ttsd_tasks(self) -> list[str]:
        """Names of the server's live tasks that belong to ttsd sessions."""

        async def names() -> list[str]:
            return sorted(
                t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("ttsd-")
            )

        return self.call(names)


ServedFactory = Callable[..., AbstractContextManager[Served]]


@pytest.fixture
def serve_app(tone_engine: ToneEngine) -> ServedFactory:
    """`with serve_app(settings) as served:` like `serve`, but yields a `Served`."""

    @contextmanager
    def factory(settings: Settings | None = None, **registry_options: Any) -> Iterator[Served]:
        registry = EngineRegistry([tone_engine], **registry_options)
        # Two one-core workers: every step takes one slot, so a test can hold two at once
        # (the widening of a lone step is tested in test_scheduler.py).
        app = create_app(settings or Settings(parallel_steps=2, engine_threads=1), registry)
        loops: list[asyncio.AbstractEventLoop] = []
        app.add_middleware(LoopProbe, loops=loops)
        with live_server(app) as base:
            yield Served(base, app, tone_engine, loops)

    return factory


@pytest.fixture(scope="session")
def shared_server() -> Iterator[str]:
    """One default tone-engine server for every test that needs nothing special of it
    (no settings, no gate): saves a server start and stop per test."""
    app = create_app(Settings(parallel_steps=2), EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        yield base


@pytest.fixture(autouse=True)
def _open_gate_after_test(tone_engine: ToneEngine) -> Iterator[None]:
    """Never leave a synthesis thread waiting on a closed gate after a test."""
    yield
    if tone_engine.gate is not None:
        tone_engine.gate.set()
