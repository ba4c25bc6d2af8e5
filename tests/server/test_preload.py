"""`--preload` (default on): every voice of every engine loads before the server is ready."""

from __future__ import annotations

import httpx
import pytest

from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings


class _CountingTones(ToneEngine):
    """Counts what the server asked it to load."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.preloads = 0

    def load(self) -> None:
        self.loads += 1

    def preload(self) -> None:
        self.preloads += 1


@pytest.mark.parametrize(("preload", "expected"), [(True, (0, 1)), (False, (1, 0))])
def test_preload_loads_every_voice_before_the_first_request(
    preload: bool, expected: tuple[int, int]
) -> None:
    engine = _CountingTones()
    app = create_app(Settings(parallel_steps=1, preload=preload), EngineRegistry([engine]))
    with live_server(app) as base:
        assert (engine.loads, engine.preloads) == expected  # before any request
        assert httpx.get(f"http://{base}/healthz").status_code == 200
    assert Settings().preload is True
