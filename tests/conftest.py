"""Shared fixtures: a tone-engine server for protocol tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

ServerFactory = Callable[..., AbstractContextManager[str]]

#: Minutes of real programs (podman, nginx, Prometheus): `scripts/deployment-tests.sh`
#: runs them after the main suite, which leaves them out unless asked for by path.
collect_ignore = [] if os.environ.get("TTSD_DEPLOYMENT_TESTS") else ["deployment"]


@pytest.fixture
def tone_engine() -> ToneEngine:
    """A fresh tone engine."""
    return ToneEngine()


@pytest.fixture
def serve(tone_engine: ToneEngine) -> ServerFactory:
    """`with serve(settings) as base:` runs a tone-engine server with those settings."""

    @contextmanager
    def factory(settings: Settings | None = None, **registry_options: object) -> Iterator[str]:
        registry = EngineRegistry([tone_engine], **registry_options)  # type: ignore[arg-type]
        app = create_app(settings or Settings(parallel_steps=2), registry)
        with live_server(app) as base:
            yield base

    return factory


@pytest.fixture
def server(serve: ServerFactory) -> Iterator[str]:
    """A tone-engine server with default settings."""
    with serve() as base:
        yield base
