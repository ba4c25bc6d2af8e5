"""Fixtures for SDK tests: `make_client` gives `ttsd.Client` or (through `Blocking`) an
`AsyncClient`, so each scenario runs against both twins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ttsd
from tests.client.twins import Blocking, LoopThread

#: Raw 16-bit PCM at the tone engine's own rate: 0.1 s of tone per word = 3200 bytes.
FMT = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}
BYTES_PER_WORD = 3200

ClientFactory = Callable[..., Any]


@pytest.fixture(autouse=True)
def _no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment must not leak a base URL or key into the tests."""
    monkeypatch.delenv("TTSD_BASE_URL", raising=False)
    monkeypatch.delenv("TTSD_API_KEY", raising=False)


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> str:
    """Which twin a test runs against."""
    return str(request.param)


@pytest.fixture
def make_client(twin: str) -> Iterator[ClientFactory]:
    """`make_client(base, **kwargs)`: a client of `twin` for `http://{base}`, closed after."""
    made: list[Any] = []
    runner = LoopThread() if twin == "async" else None

    def factory(base: str, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{base}")
        client: Any
        if runner is None:
            client = ttsd.Client(**kwargs)
        else:
            client = Blocking(ttsd.AsyncClient(**kwargs), runner)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
    if runner is not None:
        runner.stop()
