"""Protocol errors and their wire form (docs/protocol.md §3.6, §5)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Machine-readable `error_code` values ttsd sends."""

    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    INVALID_REQUEST = "invalid_request"
    MESSAGE_TOO_LARGE = "message_too_large"
    TRANSCRIPT_TOO_LONG = "transcript_too_long"
    MODEL_NOT_FOUND = "model_not_found"
    VOICE_NOT_FOUND = "voice_not_found"
    #: the voice does not speak the requested `language` (issue 11)
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    UNSUPPORTED_OUTPUT_FORMAT = "unsupported_output_format"
    TOO_MANY_CONTEXTS = "too_many_contexts"
    QUEUE_FULL = "queue_full"
    CONTEXT_CLOSED = "context_closed"
    CONTEXT_FIELD_CHANGED = "context_field_changed"
    SYNTHESIS_FAILED = "synthesis_failed"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"
    #: the server is draining (a restart): retry on another connection (issue 9)
    SERVER_SHUTTING_DOWN = "server_shutting_down"


class ProtocolError(Exception):
    """A client-visible failure: becomes an `error` frame (WebSocket) or JSON body (HTTP).

    `title` is short and stable; `message` names the field and the problem, so a user can
    fix the request without reading server logs.
    """

    def __init__(
        self,
        status_code: int,
        error_code: ErrorCode,
        title: str,
        message: str,
        *,
        context_id: str | None = None,
    ) -> None:
        super().__init__(f"{title}: {message}")
        self.status_code = status_code
        self.error_code = error_code
        self.title = title
        self.message = message
        self.context_id = context_id

    def for_context(self, context_id: str | None) -> ProtocolError:
        """Return a copy of this error attributed to `context_id`."""
        return ProtocolError(
            self.status_code, self.error_code, self.title, self.message, context_id=context_id
        )


def invalid_request(message: str) -> ProtocolError:
    """A 400 for a request whose fields are missing, mistyped or out of range."""
    return ProtocolError(400, ErrorCode.INVALID_REQUEST, "Invalid request", message)
