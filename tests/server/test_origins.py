"""Web origins: CORS on the REST endpoints and the optional WebSocket Origin check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.live_server import live_server
from tests.support.rest import tts_body
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

KEY = "k1"
ALLOWED = "https://app.example"
OTHER = "https://evil.example"


def _serve(**settings: Any) -> AbstractContextManager[str]:
    config = Settings(parallel_steps=1, api_keys=(KEY,), **settings)
    return live_server(create_app(config, EngineRegistry([ToneEngine()])))


@pytest.fixture(scope="module")
def checked() -> Iterator[str]:
    with _serve(cors_origins=(ALLOWED,), ws_check_origin=True) as base:
        yield base


def _preflight(base: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"http://{base}/tts/bytes",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(checked: str) -> None:
    response = _preflight(checked, ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]


def test_another_origin_gets_no_cors_grant(checked: str) -> None:
    response = _preflight(checked, OTHER)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_responses_to_an_allowed_origin_carry_the_grant_even_a_refusal(checked: str) -> None:
    headers = {"Origin": ALLOWED, "Authorization": f"Bearer {KEY}"}
    ok = httpx.post(f"http://{checked}/tts/bytes", json=tts_body("Hi."), headers=headers)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()
    refused = httpx.post(f"http://{checked}/tts/bytes", json=tts_body("Hi."),
                         headers={"Origin": ALLOWED})  # fmt: skip
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ALLOWED


def test_without_origins_configured_there_are_no_cors_headers() -> None:
    with _serve() as base:
        response = _preflight(base, ALLOWED)
        assert "access-control-allow-origin" not in response.headers


def _ws(base: str, origin: str | None) -> None:
    url = f"ws://{base}/tts/websocket?api_key={KEY}"
    with connect(url, origin=origin, open_timeout=10) as connection:
        connection.send('{"context_id": "c", "cancel": true}')


def test_the_websocket_refuses_a_page_of_another_origin(checked: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _ws(checked, OTHER)
    assert refused.value.response.status_code == 403
    _ws(checked, ALLOWED)
    _ws(checked, None)  # SDKs and servers send no Origin


def test_without_the_check_any_origin_may_open_a_websocket() -> None:
    with _serve(cors_origins=(ALLOWED,)) as base:
        _ws(base, OTHER)
