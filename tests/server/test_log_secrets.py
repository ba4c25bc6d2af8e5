"""No API key in the log of a real `ttsd serve`, at debug level, right keys or wrong (issue 8).

One server for the module (the real Piper voice, a few seconds to start); every endpoint is
called with every way of presenting a key, then the whole of its stdout and stderr is
searched for the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.rest import tts_body
from tests.support.serve_process import ServeProcess, serve_process
from tests.support.wsclient import Client, request

KEY = "sk-SECRET-1234abcd"
WRONG = "sk-WRONG-9876wxyz"

#: Ways of presenting a key: extra headers and a query string.
Form = Callable[[str], tuple[dict[str, str], str]]
FORMS: dict[str, Form] = {
    "bearer": lambda key: ({"Authorization": f"Bearer {key}"}, ""),
    "x-api-key": lambda key: ({"X-API-Key": key}, ""),
    "api_key": lambda key: ({}, f"?api_key={key}"),
    "access_token": lambda key: ({}, f"?access_token={key}"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`ttsd serve --api-key KEY --log-level debug`, up and answering."""
    args = ["--api-key", KEY, "--log-level", "debug"]
    with serve_process(args, log_dir=tmp_path_factory.mktemp("serve")) as served:
        yield served


def call_every_endpoint(base: str, key: str, form: Form, voice: str) -> None:
    """Every REST endpoint and a WebSocket generation, the key presented as `form` says."""
    headers, query = form(key)
    valid = key == KEY
    body: dict[str, Any] = tts_body("Hi.", voice={"mode": "id", "id": voice})
    with httpx.Client(base_url=f"http://{base}", headers=headers, timeout=30) as http:
        answers = [
            http.get(f"/{query}"),
            http.get(f"/voices{query}"),
            http.get(f"/voices/{voice}{query}"),
            http.post(f"/tts/bytes{query}", json=body),
            http.post(f"/tts/sse{query}", json=body),
            http.get(f"/no/such/path{query}"),
        ]
    statuses = [answer.status_code for answer in answers]
    if valid:
        assert statuses == [200, 200, 200, 200, 200, 404], statuses
        with Client(base, headers=headers, path=query) as ws:
            ws.send(request("c1", "Hi.", voice={"mode": "id", "id": voice}))
            assert ws.until_done("c1")[-1]["type"] == "done"
    else:
        assert statuses == [200, 401, 401, 401, 401, 401], statuses
        with pytest.raises(InvalidStatus) as refused:
            Client(base, headers=headers, path=query)
        assert refused.value.response.status_code == 401


def test_no_key_in_the_log_at_debug_level(server: ServeProcess) -> None:
    voice = httpx.get(
        f"http://{server.base}/voices", headers={"X-API-Key": KEY}, timeout=10
    ).json()["data"][0]["id"]
    for form in FORMS.values():
        for key in (KEY, WRONG):
            call_every_endpoint(server.base, key, form, voice)
    server.stop()
    log = server.log()
    assert server.process.returncode == 0, log[-3000:]
    # Not vacuous: the requests are in the log, the keys' places in it redacted.
    for line in (
        '"GET /voices?api_key=*** HTTP/1.1" 200',
        '"GET /voices?access_token=*** HTTP/1.1" 401',
        '"POST /tts/bytes HTTP/1.1" 200',
        '"POST /tts/sse?api_key=*** HTTP/1.1" 200',
        f'"GET /voices/{voice} HTTP/1.1" 401',
        '"GET /no/such/path HTTP/1.1" 404',
        '"WebSocket /tts/websocket?access_token=***" [accepted]',
        '"WebSocket /tts/websocket?api_key=***" 401',
        '"WebSocket /tts/websocket" [accepted]',
        "< GET /tts/websocket?api_key=*** HTTP/1.1",  # the websockets library, at debug
        "< authorization: ***",
        "< x-api-key: ***",
    ):
        assert line.lower() in log.lower(), f"{line!r} is not in the log:\n{log[-5000:]}"
    assert "DEBUG" in log and "ttsd.server.websocket: connection" in log
    # The point: neither key, in any line, at any level.
    assert KEY not in log and WRONG not in log
    assert "1234abcd" not in log and "9876wxyz" not in log
