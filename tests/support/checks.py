"""Assertions shared by the socket-level protocol tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from tests.support.tone_engine import TONE_RATE, WORD_SECONDS
from tests.support.wsclient import Client, audio, of, request

Frame = dict[str, Any]


def tone_bytes(words: int, rate: int = TONE_RATE, width: int = 2) -> int:
    """Audio bytes the tone engine makes for `words` words at `rate` Hz and `width` bytes."""
    return round(words * WORD_SECONDS * rate) * width


def wait_for(predicate: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    """Poll until `predicate()` holds (a condition wait, not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def wait_for_status(url: str, status: int, timeout: float = 5.0) -> httpx.Response:
    """`GET url` until it answers `status` or `timeout` seconds pass; the last response."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def close_code(client: Client, timeout: float = 10.0) -> int | None:
    """The code the server closes `client`'s connection with, which must come next: a
    frame before it fails the test."""
    try:
        frame = client.recv(timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError(f"a frame where the close was expected: {frame}")


def assert_error_frame(
    frame: Frame,
    *,
    status_code: int,
    error_code: str,
    mentions: str,
    context_id: str | None,
) -> None:
    """`frame` is a complete error frame (structured and legacy shapes)."""
    assert frame["type"] == "error", frame
    assert frame["done"] is True, frame
    assert frame["status_code"] == status_code, frame
    assert frame["error_code"] == error_code, frame
    assert "context_id" in frame, frame
    assert frame["context_id"] == context_id, frame
    assert isinstance(frame["title"], str) and frame["title"], frame
    assert isinstance(frame["message"], str), frame
    assert mentions in frame["message"], frame
    assert frame["error"] == f"{frame['title']}: {frame['message']}", frame
    assert isinstance(frame["request_id"], str) and frame["request_id"], frame


def next_error(client: Client, timeout: float = 10) -> Frame:
    """Receive frames until an error frame arrives and return it."""
    return client.until(lambda f: f["type"] == "error", timeout)[-1]


def assert_still_serves(client: Client, context_id: str = "alive") -> list[Frame]:
    """The connection still works: a fresh context speaks three words and ends with done."""
    client.send(request(context_id, "One two three."))
    frames = client.until_done(context_id)
    mine = of(frames, context_id)
    assert mine[-1]["type"] == "done", mine[-1]
    assert len(audio(frames, context_id)) == tone_bytes(3)
    return frames


def assert_nothing_after(frames: list[Frame], last: Frame, context_id: str) -> None:
    """No frame of `context_id` follows `last` (its final frame) in `frames`."""
    index = next(i for i, f in enumerate(frames) if f is last)
    later = [f["type"] for f in frames[index + 1 :] if f.get("context_id") == context_id]
    assert later == [], f"frames of {context_id!r} after its end: {later}"


def assert_fails_alone(client: Client, error: Frame, context_id: str) -> None:
    """After `error` ended `context_id`: the connection serves another context, and nothing
    more of `context_id` (no `done`, no audio) arrived meanwhile."""
    assert_still_serves(client)
    assert_nothing_after(client.frames, error, context_id)
