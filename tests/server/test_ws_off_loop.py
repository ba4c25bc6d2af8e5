"""A long text frame is parsed and segmented off the event loop (issue 8): the work is
linear, but a 20,000-character message of it would stall every other connection."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.support.checks import assert_still_serves
from tests.support.wsclient import Client, request
from ttsd.protocol.connection import ConnectionCore
from ttsd.server.websocket import OFF_LOOP_MESSAGE_CHARS


@pytest.fixture
def receiving_threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(message length, thread name) of each `receive_text` call, in order."""
    calls: list[tuple[int, str]] = []
    original = ConnectionCore.receive_text

    def recording(self: ConnectionCore, data: str | bytes, now: float) -> Any:
        calls.append((len(data), threading.current_thread().name))
        return original(self, data, now)

    monkeypatch.setattr(ConnectionCore, "receive_text", recording)
    return calls


def test_a_long_message_is_handled_off_the_loop(
    server: str, receiving_threads: list[tuple[int, str]]
) -> None:
    adversarial = "(" + ", " * 9_999  # no sentence end, one bracket never closed
    with Client(server) as client:
        client.send(request("short", "Hello there.", continue_=False))
        client.until_done("short")
        client.send(request("long", adversarial, continue_=False))
        client.until_done("long", timeout=60)
        assert_still_serves(client)
    threads = {size > OFF_LOOP_MESSAGE_CHARS: name for size, name in receiving_threads}
    loop_thread = threads[False]
    assert threads[True] != loop_thread, receiving_threads
    assert len({name for size, name in receiving_threads if size <= OFF_LOOP_MESSAGE_CHARS}) == 1
