"""End-to-end fixtures: one real ttsd server with the default Piper voice for the session.

Loading the voice takes a couple of seconds, so every e2e test shares this server; each
test opens its own WebSocket connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_server import live_server
from tests.support.wsclient import Client
from ttsd.server.app import create_app
from ttsd.server.settings import Settings


@pytest.fixture(scope="session")
def piper_server() -> Iterator[str]:
    """Base address (`127.0.0.1:PORT`) of a server built exactly as `ttsd serve` builds it."""
    with live_server(create_app(Settings())) as base:
        yield base


@pytest.fixture
def client(piper_server: str) -> Iterator[Client]:
    """A fresh WebSocket connection to the shared Piper server."""
    with Client(piper_server) as connection:
        yield connection
