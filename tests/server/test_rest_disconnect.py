"""A client that leaves mid-body stops the synthesis of a REST request."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest

from tests.server.conftest import Served, ServedFactory
from tests.support.checks import wait_for
from tests.support.rest import tts_body
from tests.support.tone_voices import HoldingToneEngine

SENTENCES = 20
TEXT = " ".join(f"Sentence {i}." for i in range(SENTENCES))


@pytest.fixture
def tone_engine() -> HoldingToneEngine:
    """The server's engine (overrides the shared fixture): holds second sentences."""
    return HoldingToneEngine()


def requests_in_flight(served: Served) -> int:
    """HTTP requests the server is still handling (uvicorn runs each as a task)."""

    async def count() -> int:
        coros = [task.get_coro() for task in asyncio.all_tasks()]
        return sum("run_asgi" in getattr(coro, "__qualname__", "") for coro in coros)

    return served.call(count)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("/tts/bytes", {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}),
        ("/tts/bytes", {"container": "mp3", "sample_rate": 16000, "bit_rate": 64000}),
        ("/tts/sse", {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}),
    ],
    ids=["bytes", "mp3", "sse"],
)
def test_client_leaving_stops_synthesis(
    serve_app: ServedFactory, tone_engine: HoldingToneEngine, path: str, fmt: dict[str, object]
) -> None:
    engine = tone_engine
    with serve_app() as served:
        try:
            with (
                httpx.Client(base_url=f"http://{served.base}", timeout=30) as http,
                http.stream("POST", path, json=tts_body(TEXT, fmt)) as response,
            ):
                assert response.status_code == 200
                chunks = response.iter_raw()  # held: dropping it would close the response
                next(chunks)
                wait_for(engine.held.is_set, what="the second sentence to be in the engine")
            # The client is gone while the second sentence is still in the engine: the
            # server ends the request without waiting for it...
            wait_for(lambda: requests_in_flight(served) == 0, what="the request to end")
            assert engine.chunks_out == 1
        finally:
            engine.release.set()
        # ...and when the held step comes back, nothing asks for a third sentence: the
        # engine's iterator is dropped (closed once collected) after two chunks.

        def iterator_ended() -> bool:
            gc.collect()
            return engine.closed == 1

        wait_for(iterator_ended, what="the synthesis iterator to end")
        assert engine.chunks_out == 2, f"{engine.chunks_out} of {SENTENCES} sentences"
        scheduler = served.runtime.scheduler
        wait_for(lambda: scheduler.running == 0, what="the worker to be free again")
        assert scheduler.queued == 0 and engine.chunks_out == 2
