"""API keys: checked before the upgrade, in every form clients send them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.checks import assert_still_serves
from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

KEY = "k1"


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    """A server that wants the key `k1`."""
    app = create_app(Settings(parallel_steps=2, api_keys=(KEY,)), EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        yield base


def refused(base: str, *, headers: dict[str, str] | None = None, path: str = "") -> InvalidStatus:
    """The upgrade fails; return the HTTP refusal."""
    with pytest.raises(InvalidStatus) as caught:
        Client(base, headers=headers, path=path)
    return caught.value


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        (None, ""),
        ({"Authorization": "Bearer wrong"}, ""),
        ({"X-API-Key": "wrong"}, ""),
        (None, "?api_key=wrong"),
        (None, "?access_token=wrong"),
        ({"Authorization": f"Basic {KEY}"}, ""),
    ],
    ids=[
        "no-key",
        "wrong-bearer",
        "wrong-x-api-key",
        "wrong-api_key",
        "wrong-access_token",
        "basic",
    ],
)
def test_bad_or_missing_key_is_401_before_upgrade(
    keyed: str, headers: dict[str, str] | None, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    refusal = refused(keyed, headers=headers, path=path)
    # Refused on purpose: no ERROR line for a wrong key (server/logs.py QuietRefusedHandshake).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert refusal.response.status_code == 401
    body = json.loads(refusal.response.body or b"{}")
    assert body["error_code"] == "unauthorized"
    assert body["message"]
    assert KEY not in refusal.response.body.decode(errors="replace")


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({"Authorization": f"Bearer {KEY}"}, ""),
        ({"authorization": f"bearer {KEY}"}, ""),
        ({"X-API-Key": KEY}, ""),
        (None, f"?api_key={KEY}"),
        (None, f"?access_token={KEY}"),
    ],
    ids=["bearer", "bearer-lowercase", "x-api-key", "api_key", "access_token"],
)
def test_each_key_form_is_accepted(keyed: str, headers: dict[str, str] | None, path: str) -> None:
    with Client(keyed, headers=headers, path=path) as client:
        assert_still_serves(client)


def test_status_needs_no_key(keyed: str) -> None:
    response = httpx.get(f"http://{keyed}/")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_other_http_paths_need_a_key(keyed: str) -> None:
    response = httpx.get(f"http://{keyed}/voices")
    assert response.status_code == 401
    assert response.json()["error_code"] == "unauthorized"


def test_no_keys_configured_means_no_auth(shared_server: str) -> None:
    with Client(shared_server) as client:
        assert_still_serves(client)


@pytest.mark.parametrize(
    ("headers", "path"),
    [({"Cartesia-Version": "2025-04-16"}, ""), (None, "?cartesia_version=2026-03-01")],
    ids=["header", "query"],
)
def test_cartesia_version_is_accepted(
    keyed: str, headers: dict[str, str] | None, path: str
) -> None:
    query = f"{path}&api_key={KEY}" if path else f"?api_key={KEY}"
    with Client(keyed, headers=headers, path=query) as client:
        assert_still_serves(client)


def test_upgrade_response_carries_a_request_id(shared_server: str) -> None:
    with Client(shared_server) as client:
        response = client.ws.response
        assert response is not None
        request_id = response.headers["X-Request-Id"]
        assert str(uuid.UUID(request_id)) == request_id
        assert_still_serves(client)
    with Client(shared_server) as other:
        assert other.ws.response is not None
        assert other.ws.response.headers["X-Request-Id"] != request_id
