"""The ids of the code that logged reach its log lines (server/log_context.py, issue 9).

A real WebSocket connection to a tone-engine server: the connection's lines carry its
`request_id` (the `X-Request-Id` of its handshake), and a context's lines carry its
`context_id` as well, through the tasks that serve them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.checks import next_error
from tests.support.tone_engine import FaultyToneEngine, ToneEngine
from tests.support.wsclient import Client, request
from ttsd.server.logs import JsonFormatter, RedactingFilter


@pytest.fixture
def tone_engine() -> ToneEngine:
    """Override: the faulty engine serves these tests."""
    return FaultyToneEngine()


class JsonLines(logging.Handler):
    """The JSON lines `--log-format json` would write, kept in a list."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(RedactingFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    logger = logging.getLogger("ttsd")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_connection_and_context_lines_carry_their_ids(server: str, json_lines: JsonLines) -> None:
    with Client(server) as client:
        request_id = client.ws.response.headers["x-request-id"]
        client.send(request("bad", "Please crash now."))
        next_error(client)
    mine = [line for line in json_lines.lines if line.get("request_id") == request_id]
    opened = [line for line in mine if line["message"].startswith("connection ")]
    assert opened and all("context_id" not in line for line in opened), mine
    failed = [line for line in mine if "synthesis failed" in line["message"]]
    assert [(line["level"], line["context_id"]) for line in failed] == [("ERROR", "bad")]
    # Every line of this connection carries its id: none was logged without it.
    assert all(
        line.get("request_id") == request_id
        for line in json_lines.lines
        if request_id in line["message"]
    )
