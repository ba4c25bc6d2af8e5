"""WebSocket compression: off by default (`ttsd serve`), audio intact when it is on."""

from __future__ import annotations

import pytest

from tests.support.checks import tone_bytes
from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, audio, request
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings


@pytest.mark.parametrize("deflate", [False, True])
def test_audio_arrives_whole_with_and_without_compression(deflate: bool) -> None:
    app = create_app(Settings(parallel_steps=2), EngineRegistry([ToneEngine()]))
    with live_server(app, ws_per_message_deflate=deflate) as base, Client(base) as client:
        extensions = client.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert ("permessage-deflate" in extensions) is deflate
        client.send(request("c1", "One two three four.", continue_=False))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"
    assert len(audio(frames, "c1")) == tone_bytes(4)
