"""No API key in the log of a real `ttsd serve`, at debug level, right keys or wrong (issue 8).

One server for the module (the real Piper voice, a few seconds to start); every endpoint is
called with every way of presenting a key, then the whole of its stdout and stderr is
searched for the keys.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.live_server import free_port
from tests.support.rest import tts_body
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


@dataclass
class Server:
    """A `ttsd serve` process and the file its output goes to."""

    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """All it wrote so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> str:
        """Stop it (as Ctrl-C would) and return its whole output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ttsd serve --api-key KEY --log-level debug`, up and answering."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    ttsd = Path(sys.executable).with_name("ttsd")
    command = [str(ttsd), "serve", "--port", str(port), "--api-key", KEY, "--log-level", "debug"]
    env = {k: v for k, v in os.environ.items() if k != "TTSD_API_KEYS"}
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    served = Server(f"127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:  # poll until it answers: start-up loads the voice
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ttsd serve did not start:\n{served.log()[-3000:]}")
            try:
                if httpx.get(f"http://{served.base}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield served
    finally:
        served.stop()


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


def test_no_key_in_the_log_at_debug_level(server: Server) -> None:
    voice = httpx.get(
        f"http://{server.base}/voices", headers={"X-API-Key": KEY}, timeout=10
    ).json()["data"][0]["id"]
    for form in FORMS.values():
        for key in (KEY, WRONG):
            call_every_endpoint(server.base, key, form, voice)
    log = server.stop()
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
