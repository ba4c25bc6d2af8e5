"""The client's one exception tree.

Every failure the client reports is a `TtsdError`; library errors (httpx, websockets,
sockets) are translated into it where they happen, so callers need no other imports::

    TtsdError
    ├── APIError                 the server answered with an error (HTTP status or error frame)
    │   ├── BadRequestError          400, 413, 422: fix the request (the message names the field)
    │   ├── AuthenticationError      401: missing or wrong API key
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404: unknown voice, model or path
    │   ├── RateLimitError           429: too many contexts, queue full
    │   └── ServerError              5xx: synthesis failed
    ├── TransportError           (also a builtin ConnectionError) the connection failed
    │   ├── ConnectError             could not connect (refused, DNS, TLS, handshake)
    │   └── ConnectionClosedError    the connection closed while a reply was still due
    │       └── ContextLostError     a context was open on that connection: it cannot go on
    ├── InputClosedError         input to a context after no_more_inputs(), cancel() or its end
    └── ReceiveTimeoutError      (also a builtin TimeoutError) nothing arrived in time
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "ConnectionClosedError",
    "ContextLostError",
    "InputClosedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReceiveTimeoutError",
    "ServerError",
    "TransportError",
    "TtsdError",
    "api_error",
]


class TtsdError(Exception):
    """Base class of every error the ttsd client raises."""


class APIError(TtsdError):
    """The server refused or failed a request.

    Carries the server's own fields: `status_code` (HTTP status, or the error frame's
    `status_code`), `error_code` (machine-readable, e.g. ``"model_not_found"``), `title`,
    `message` (names the field and the problem), `request_id` (quote it in bug reports) and,
    for WebSocket errors, the `context_id` that failed.
    """

    def __init__(
        self,
        *,
        status_code: int | None,
        title: str | None,
        message: str | None,
        error_code: str | None = None,
        request_id: str | None = None,
        context_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.title = title
        self.message = message
        self.error_code = error_code
        self.request_id = request_id
        self.context_id = context_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        head = f"{self.status_code} " if self.status_code is not None else ""
        text = ": ".join(part for part in (self.title, self.message) if part) or "error"
        details = [
            f"{name}={value}"
            for name, value in (
                ("error_code", self.error_code),
                ("context_id", self.context_id),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        return f"{head}{text}" + (f" ({', '.join(details)})" if details else "")


class BadRequestError(APIError):
    """400 (also 413 and 422): the request is invalid; `message` names the field."""


class AuthenticationError(APIError):
    """401: no API key, or not a valid one (`Client(api_key=...)` or `TTSD_API_KEY`)."""


class PermissionDeniedError(APIError):
    """403: the server refused the request (or the WebSocket upgrade)."""


class NotFoundError(APIError):
    """404: no such voice, model or path."""


class RateLimitError(APIError):
    """429: a server limit was reached (live contexts per connection, pending text)."""


class ServerError(APIError):
    """5xx: the server failed (e.g. synthesis failed)."""


class TransportError(TtsdError, ConnectionError):
    """The connection to the server failed; no answer from the server is available."""


class ConnectError(TransportError):
    """Could not connect: refused, unresolvable host, TLS or WebSocket handshake failure."""


class ConnectionClosedError(TransportError):
    """The connection closed while a reply was still due.

    `code` and `reason` are the WebSocket close code and reason when there was a close
    frame (1006 and ``""`` when the connection just dropped), None for HTTP.
    """

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class ContextLostError(ConnectionClosedError):
    """A context was open on a WebSocket connection that closed.

    The server forgets a context with its connection, so it cannot continue on a new
    one: start a new context and send its text again. The client reconnects for new
    contexts on its own, but never moves an open context silently.
    """

    def __init__(
        self, message: str, *, context_id: str, code: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, code=code, reason=reason)
        self.context_id = context_id


class InputClosedError(TtsdError):
    """Input to a context that takes no more: after `no_more_inputs()`, `cancel()`, or
    after it ended (`done` or an error)."""


class ReceiveTimeoutError(TtsdError, TimeoutError):
    """Nothing arrived within the timeout (the context's, or the client's for HTTP)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def api_error(
    status_code: int | None,
    *,
    title: str | None,
    message: str | None,
    error_code: str | None = None,
    request_id: str | None = None,
    context_id: str | None = None,
) -> APIError:
    """The `APIError` subclass for `status_code` (5xx → `ServerError`)."""
    cls = _BY_STATUS.get(status_code or 0, APIError)
    if status_code is not None and status_code >= 500:
        cls = ServerError
    return cls(
        status_code=status_code,
        title=title,
        message=message,
        error_code=error_code,
        request_id=request_id,
        context_id=context_id,
    )
