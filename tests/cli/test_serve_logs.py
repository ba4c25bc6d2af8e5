"""The log of a real `ttsd serve`: one format for ttsd's and uvicorn's lines, JSON with the
ids of each request, the access log toggle, and the ready line (issue 9).

Two servers with the real voice, a few seconds each to start: one with `--log-format json`
pinned to one CPU (`taskset -c 0`, where there is taskset), one in text with
`--no-access-log`. Each gets HTTP requests and a WebSocket generation, is stopped with
SIGINT, and then its whole output is read.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.rest import tts_body
from tests.support.serve_process import ServeProcess, start_serve
from tests.support.wsclient import Client, request

KEY = "sk-LOGS-5678efgh"
TASKSET = shutil.which("taskset")
#: A line of the text format (server/logs.py LOG_FORMAT).
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S"
)


def start(args: list[str], log_dir: Path, prefix: list[str]) -> ServeProcess:
    """`PREFIX ttsd serve --port FREE ARGS`, once `/readyz` answers."""
    return start_serve(args, log_dir=log_dir, prefix=prefix)


def traffic(base: str, headers: dict[str, str]) -> dict[str, str]:
    """Requests of every kind; the request ids the server gave them."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=f"http://{base}", headers=headers, timeout=30) as http:
        voices = http.get("/voices")
        assert voices.status_code == 200
        ids["voices"] = voices.headers["x-request-id"]
        voice = voices.json()["data"][0]["id"]
        spoken = http.post("/tts/bytes", json=tts_body("Hi.", voice={"mode": "id", "id": voice}))
        assert spoken.status_code == 200
        ids["bytes"] = spoken.headers["x-request-id"]
        assert http.get("/no/such/path").status_code == 404
    with Client(base, headers=headers) as ws:
        ids["websocket"] = ws.ws.response.headers["x-request-id"]
        ws.send(request("ctx-1", "Hello there.", voice={"mode": "id", "id": voice}))
        assert ws.until_done("ctx-1")[-1]["type"] == "done"
    return ids


def stopped(served: ServeProcess) -> str:
    served.stop()
    assert served.process.returncode == 0, served.log()[-3000:]
    return served.log()


@pytest.fixture(scope="module")
def json_log(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[Any], dict[str, str]]]:
    """The parsed JSON lines of a server pinned to one CPU, and the ids of its requests."""
    prefix = [TASKSET, "-c", "0"] if TASKSET else []
    served = start(
        ["--log-format", "json", "--api-key", KEY], tmp_path_factory.mktemp("json"), prefix
    )
    try:
        ids = traffic(served.base, {"X-API-Key": KEY})
    finally:
        text = stopped(served)
    lines = text.splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not JSON: {line!r}\n{text[-3000:]}")
    yield parsed, ids


def test_every_line_is_one_json_object(json_log: tuple[list[Any], dict[str, str]]) -> None:
    lines, _ = json_log
    assert len(lines) > 10
    for line in lines:
        assert isinstance(line, dict)
        assert {"time", "level", "logger", "message"} <= set(line), line
    loggers = {line["logger"] for line in lines}
    # uvicorn's own lines (start-up, access) come out in the same format as ttsd's.
    assert {
        "uvicorn.error",
        "uvicorn.access",
        "ttsd.server.app",
        "ttsd.server.websocket",
    } <= loggers
    assert any(line["message"].startswith("Uvicorn running on") for line in lines)
    assert KEY not in json.dumps(lines)


def test_access_lines_carry_the_request_id(json_log: tuple[list[Any], dict[str, str]]) -> None:
    lines, ids = json_log
    access = {
        line["message"].split('"')[1]: line for line in lines if line["logger"] == "uvicorn.access"
    }
    assert access["GET /voices HTTP/1.1"]["request_id"] == ids["voices"]
    assert access["POST /tts/bytes HTTP/1.1"]["request_id"] == ids["bytes"]
    assert "request_id" in access["GET /no/such/path HTTP/1.1"]


def test_connection_lines_carry_the_request_id(json_log: tuple[list[Any], dict[str, str]]) -> None:
    lines, ids = json_log
    mine = [line for line in lines if line.get("request_id") == ids["websocket"]]
    messages = [line["message"] for line in mine]
    assert any("WebSocket /tts/websocket" in m and "[accepted]" in m for m in messages), messages
    assert f"connection {ids['websocket']} opened (Cartesia-Version -)" in messages
    assert f"connection {ids['websocket']} closed" in messages


def test_the_ready_line_names_the_url_voices_and_cores(
    json_log: tuple[list[Any], dict[str, str]],
) -> None:
    lines, _ = json_log
    (ready,) = [line for line in lines if " ready at " in line["message"]]
    # logged once the socket listens, not when the app has started (a taken port would
    # otherwise log "ready" and then fail)
    messages = [line["message"] for line in lines]
    listening = next(i for i, m in enumerate(messages) if m.startswith("Uvicorn running on"))
    assert messages.index(ready["message"]) > listening
    assert re.search(
        r" ready at ws://127\.0\.0\.1:\d+/tts/websocket; "
        r"voices: en_US-joe-medium(, \w+)*( and \d+ more)?; ",
        ready["message"],
    )
    assert ready["url"].startswith("ws://127.0.0.1:") and ready["voices"][0] == "en_US-joe-medium"
    if TASKSET:  # pinned to one CPU: one core, one thread, whatever the host has
        assert "; 1 core (CPU affinity): a lone step on 1 thread(s)" in ready["message"]
        assert (ready["cores"], ready["cores_source"], ready["engine_threads"]) == (
            1,
            "CPU affinity",
            1,
        )


def test_text_lines_without_the_access_log(tmp_path: Path) -> None:
    served = start(["--no-access-log"], tmp_path, [])
    try:
        ids = traffic(served.base, {})
    finally:
        text = stopped(served)
    lines = text.splitlines()
    # One format for every line, uvicorn's too.
    assert all(TEXT_LINE.match(line) for line in lines), text[-3000:]
    assert any(" INFO uvicorn.error: Uvicorn running on http://" in line for line in lines)
    assert f"ttsd.server.websocket: connection {ids['websocket']} opened" in text
    # No access line: neither uvicorn's HTTP lines nor its WebSocket `[accepted]` line.
    assert "uvicorn.access" not in text and 'HTTP/1.1"' not in text
    assert "[accepted]" not in text
