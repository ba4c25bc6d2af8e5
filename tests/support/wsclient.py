"""A small synchronous WebSocket client for protocol tests (the `websockets` library)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

DEFAULT_FORMAT = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}


def request(
    context_id: str = "c1",
    transcript: str = "Hello there.",
    *,
    model_id: str = "sonic-3",
    voice: Any = None,
    output_format: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A generation request with sensible defaults; `continue_=` sets `continue`."""
    message: dict[str, Any] = {
        "context_id": context_id,
        "model_id": model_id,
        "transcript": transcript,
        "voice": voice if voice is not None else {"mode": "id", "id": "tone-low"},
        "output_format": output_format or dict(DEFAULT_FORMAT),
    }
    if "continue_" in fields:
        message["continue"] = fields.pop("continue_")
    message.update(fields)
    return message


class Client:
    """Send JSON, collect frames per context."""

    def __init__(self, base: str, *, headers: dict[str, str] | None = None, path: str = "") -> None:
        # Entered as a context manager (closed by close()): websockets 17.1 deprecates a
        # connection used without one, and its other way out, `legacy=True`, is unknown
        # to the 13-17.0 that ttsd also supports.
        self.ws: ClientConnection = connect(
            f"ws://{base}/tts/websocket{path}", additional_headers=headers, max_size=None
        ).__enter__()
        self.frames: list[dict[str, Any]] = []

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        """Send a dict as JSON, or a raw str/bytes frame as is."""
        self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame."""
        frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        self.frames.append(frame)
        return frame

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> list[dict[str, Any]]:
        """Frames received up to and including the first that matches."""
        got = []
        while True:
            frame = self.recv(timeout)
            got.append(frame)
            if predicate(frame):
                return got

    def until_done(self, context_id: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Frames until `context_id` ends with `done` or `error` (frames of others too)."""
        return self.until(
            lambda f: f.get("context_id") == context_id and f["type"] in ("done", "error"),
            timeout,
        )

    def until_all_done(self, *context_ids: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Frames until every one of `context_ids` has ended, in whatever order."""
        still_open = set(context_ids)

        def ends_the_last(frame: dict[str, Any]) -> bool:
            if frame["type"] in ("done", "error"):
                still_open.discard(frame.get("context_id"))
            return not still_open

        return self.until(ends_the_last, timeout)


def of(
    frames: list[dict[str, Any]], context_id: str, kind: str | None = None
) -> list[dict[str, Any]]:
    """The frames of one context (and type)."""
    return [
        f
        for f in frames
        if f.get("context_id") == context_id and (kind is None or f["type"] == kind)
    ]


def audio(frames: list[dict[str, Any]], context_id: str, flush_id: int | None = None) -> bytes:
    """The audio bytes of a context (optionally of one flush id), in order."""
    return b"".join(
        base64.b64decode(f["data"])
        for f in of(frames, context_id, "chunk")
        if flush_id is None or f["flush_id"] == flush_id
    )
