"""The request and the context the running code serves, for its log lines (issue 9).

Set where the server learns them: `RequestIdMiddleware` for an HTTP request (so uvicorn's
access line, logged while the response starts, carries it too), `tts_websocket` for a
WebSocket connection (before its handshake is accepted, for the same reason), and a
context's runner task for its `context_id`. asyncio copies these variables into every task
it creates (PEP 567), so the tasks of a connection carry its `request_id` without being
told. `server/logs.py` adds them to every record as `request_id` and `context_id`.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["CONTEXT_ID", "HANDSHAKE_REFUSED", "REQUEST_ID"]

#: The HTTP request's or the WebSocket connection's id (its `X-Request-Id`).
REQUEST_ID: ContextVar[str | None] = ContextVar("ttsd_request_id", default=None)
#: The `context_id` of the WebSocket context whose audio is being made.
CONTEXT_ID: ContextVar[str | None] = ContextVar("ttsd_context_id", default=None)
#: Set once the app refused a WebSocket handshake with an HTTP response (401, 503): uvicorn
#: then logs that the app returned "without completing handshake", which it did on purpose.
HANDSHAKE_REFUSED: ContextVar[bool] = ContextVar("ttsd_handshake_refused", default=False)
