"""HTTP plumbing for the REST endpoints: JSON errors, the endpoint wrapper, JSON bodies.

Every HTTP failure is a JSON body `{title, message, error_code, request_id, status_code}`
with the matching status (docs/protocol.md §8), and the request's id in `X-Request-Id`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.openai import is_openai_path, openai_error_body
from ttsd.protocol.shown import shown
from ttsd.server.request_id import request_id_of

_LOGGER = logging.getLogger(__name__)

#: An endpoint body: the request and its id in, a response out (or a `ProtocolError`).
Handler = Callable[[Request, str], Awaitable[Response]]


def error_body(error: ProtocolError, request_id: str, path: str = "") -> dict[str, Any]:
    """The JSON error body every REST failure gets (docs/protocol.md §5); on OpenAI's
    paths (`/v1/...`) OpenAI's shape, so that its SDKs show the message whichever layer
    refused the request (an endpoint, the API key check, a drain, an unknown path)."""
    if is_openai_path(path):
        return openai_error_body(error)
    return {
        "title": error.title,
        "message": error.message,
        "error_code": str(error.error_code),
        "request_id": request_id,
        "status_code": error.status_code,
    }


def error_response(error: ProtocolError, request_id: str, path: str = "") -> JSONResponse:
    """`error_body` as a response with the error's status."""
    return JSONResponse(error_body(error, request_id, path), status_code=error.status_code)


def endpoint(
    handler: Handler,
    *,
    render: Callable[[ProtocolError, str], Response] = error_response,
) -> Callable[[Request], Awaitable[Response]]:
    """Run `handler` with the request's id; turn whatever it raises into a JSON error
    (`render`: the error body's shape, ttsd's own by default)."""

    async def endpoint(request: Request) -> Response:
        request_id = request_id_of(request.scope)
        try:
            return await handler(request, request_id)
        except ProtocolError as error:
            _LOGGER.info(
                "%s %s %s: %d %s",
                request.method,
                shown(request.url.path),
                request_id,
                error.status_code,
                error,
            )
            return render(error, request_id)
        except Exception:
            _LOGGER.exception(
                "%s %s %s failed", request.method, shown(request.url.path), request_id
            )
            return render(internal_error(), request_id)

    return endpoint


def internal_error() -> ProtocolError:
    """A 500 that tells the client nothing about the server's insides."""
    return ProtocolError(
        500, ErrorCode.INTERNAL_ERROR, "Internal error", "the server failed (see its log)"
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (unknown path, wrong method) as JSON errors."""
    assert isinstance(exc, HTTPException)
    codes = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}
    code = codes.get(exc.status_code, ErrorCode.INVALID_REQUEST)
    if exc.status_code == 404:
        message = f"no endpoint {shown(request.url.path)}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {shown(request.url.path)}"
    else:
        message = str(exc.detail)
    error = ProtocolError(exc.status_code, code, str(exc.detail), message)
    response = error_response(error, request_id_of(request.scope), request.url.path)
    response.headers.update(exc.headers or {})
    return response


#: For `Starlette(exception_handlers=...)`.
EXCEPTION_HANDLERS: Final = {HTTPException: http_exception}


async def read_json(request: Request, max_bytes: int) -> Any:
    """The decoded JSON body: 413 beyond `max_bytes`, 400 (415 if declared as another
    media type) when it is not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(f"the body is {int(declared)} bytes", max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(f"the body is over {max_bytes} bytes", max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ProtocolError(
            400, ErrorCode.INVALID_JSON, "Invalid JSON", "the body is empty; send a JSON object"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and "json" not in content_type:
            raise ProtocolError(
                415,
                ErrorCode.INVALID_JSON,
                "Unsupported media type",
                f"the body is {shown(content_type)}, not JSON; send a JSON object with "
                "`Content-Type: application/json`",
            ) from None
        raise ProtocolError(
            400, ErrorCode.INVALID_JSON, "Invalid JSON", f"the body is not JSON: {exc}"
        ) from None


def _too_large(what: str, max_bytes: int) -> ProtocolError:
    return ProtocolError(
        413,
        ErrorCode.MESSAGE_TOO_LARGE,
        "Request too large",
        f"{what}; the limit is {max_bytes} (split the text over several requests)",
    )
