"""Helpers for REST tests: request bodies, error checks, and a strict SSE parser."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

Event = dict[str, Any]

RAW_16K: dict[str, Any] = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000}


def tts_body(
    transcript: str = "One two three.",
    output_format: dict[str, Any] | None = None,
    *,
    voice: Any = None,
    **fields: Any,
) -> dict[str, Any]:
    """A `/tts/bytes` or `/tts/sse` body; `fields` add or override keys (`...` removes one)."""
    body: dict[str, Any] = {
        "model_id": "sonic-3",
        "transcript": transcript,
        "voice": voice if voice is not None else {"mode": "id", "id": "tone-low"},
        "output_format": dict(output_format or RAW_16K),
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


def assert_error(
    response: httpx.Response, *, status: int, error_code: str, mentions: str = ""
) -> dict[str, Any]:
    """`response` is a JSON error of docs/protocol.md §8 with a request id; return its body."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["error_code"] == error_code, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["message"], str) and mentions in body["message"], body
    uuid.UUID(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"], response.headers
    if "status_code" in body:
        assert body["status_code"] == status, body
    return body


def parse_sse(text: str) -> list[Event]:
    """The events of an SSE body, each exactly one `data: <json>` line and a blank line."""
    assert text.endswith("\n\n"), f"the stream does not end with a complete event: {text[-80:]!r}"
    events = []
    for block in text[:-2].split("\n\n"):
        lines = block.split("\n")
        assert len(lines) == 1 and lines[0].startswith("data: "), f"not a data event: {block!r}"
        events.append(json.loads(lines[0][len("data: ") :]))
    return events


def sse_audio(events: list[Event]) -> bytes:
    """The audio of the `chunk` events, in order."""
    return b"".join(base64.b64decode(e["data"]) for e in events if e["type"] == "chunk")
