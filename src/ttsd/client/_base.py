"""What the twins share besides requests and responses: configuration, defaults, and the
translation of library errors (httpx, websockets, OSError) into the client's tree."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ttsd.client import _urls
from ttsd.client._responses import http_error
from ttsd.client.errors import (
    ConnectError,
    ConnectionClosedError,
    ReceiveTimeoutError,
    TransportError,
    TtsdError,
)

#: Seconds to wait for the server: to connect, and between two pieces of a reply.
DEFAULT_TIMEOUT = 60.0
#: Largest WebSocket frame accepted (ttsd sends at most 32 KiB of audio per frame).
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Seconds `close()` waits for the closing handshake.
CLOSE_TIMEOUT = 5.0


class _Unset(enum.Enum):
    UNSET = enum.auto()


#: "Not given": use the client's (or context's) default.
UNSET: Final = _Unset.UNSET
Unset = _Unset


@dataclass(frozen=True)
class ClientConfig:
    """Resolved constructor arguments, shared by `Client` and `AsyncClient`."""

    base_url: str
    websocket_url: str
    api_key: str | None
    headers: Mapping[str, str]
    timeout: float | None

    @classmethod
    def create(
        cls,
        base_url: str | None,
        api_key: str | None,
        *,
        websocket_base_url: str | None,
        timeout: float | None,
        headers: Mapping[str, str] | None,
    ) -> ClientConfig:
        """Apply the environment fallbacks and derive the WebSocket URL."""
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout: must be positive (or None to wait forever)")
        base = _urls.resolve_base_url(base_url)
        key = _urls.resolve_api_key(api_key)
        return cls(
            base_url=base,
            websocket_url=_urls.websocket_url(base, websocket_base_url),
            api_key=key,
            headers=_urls.default_headers(key, headers),
            timeout=timeout,
        )

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client` / `httpx.AsyncClient`."""
        headers = {"User-Agent": _urls.USER_AGENT, **self.headers}
        return {"base_url": self.base_url, "headers": headers, "timeout": self.timeout}

    def websocket_options(self, extra_headers: Mapping[str, str] | None) -> dict[str, Any]:
        """Keyword arguments for `websockets` `connect()` (sync and asyncio alike)."""
        return {
            "additional_headers": {**self.headers, **(extra_headers or {})},
            "user_agent_header": _urls.USER_AGENT,
            "open_timeout": self.timeout,
            "close_timeout": CLOSE_TIMEOUT,
            "max_size": MAX_FRAME_BYTES,
        }


def resolve_timeout(timeout: float | Unset | None, default: float | None) -> float | None:
    """`timeout` unless it is UNSET; validated."""
    value = default if isinstance(timeout, _Unset) else timeout
    if value is not None and value <= 0:
        raise ValueError("timeout: must be positive (or None to wait forever)")
    return value


def handshake_error(exc: BaseException, url: str) -> TtsdError:
    """A failed WebSocket connect, as the client's error (an HTTP refusal → `APIError`)."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        return http_error(response.status_code, bytes(response.body or b""), response.reason_phrase)
    if isinstance(exc, TimeoutError):
        return ConnectError(f"could not connect to {url}: timed out")
    if isinstance(exc, InvalidHandshake):
        return ConnectError(f"could not connect to {url}: the WebSocket handshake failed: {exc}")
    return ConnectError(f"could not connect to {url}: {exc}")


#: Seconds the reconnect after a server's restart (close 1012) keeps trying while the
#: server drains (503) or is down (refused): a restarted ttsd loads its voice in seconds.
RESTART_RECONNECT_S = 30.0
#: Bounds of the wait between two tries: a 503's `Retry-After` (ttsd says 5 s), or this
#: much after a refused connection.
RETRY_MIN_S, RETRY_MAX_S = 0.5, 5.0


def retry_delay(exc: BaseException) -> float | None:
    """Seconds to wait before connecting again after `exc`, or None when trying again
    cannot help (a 401, a 404, a TLS failure...). Retried: a draining server's 503 (after its
    `Retry-After`), a refused or timed-out connection (a server between two lives)."""
    if isinstance(exc, InvalidStatus):
        if exc.response.status_code != 503:
            return None
        try:
            wait = float(exc.response.headers.get("Retry-After", RETRY_MIN_S))
        except ValueError:  # an HTTP date: not worth parsing for a 30 s budget
            wait = RETRY_MAX_S
        return min(max(wait, RETRY_MIN_S), RETRY_MAX_S)
    if isinstance(exc, InvalidHandshake):
        return None
    if isinstance(exc, OSError | TimeoutError):
        return RETRY_MIN_S
    return None


def close_of(exc: ConnectionClosed) -> tuple[int, str]:
    """The close code and reason the server sent (1006 with no close frame)."""
    if exc.rcvd is not None:
        return exc.rcvd.code, exc.rcvd.reason
    return 1006, ""


def http_transport_error(exc: httpx.HTTPError, what: str) -> TtsdError:
    """An httpx failure (no HTTP status), as the client's error."""
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectError(f"{what}: could not connect: timed out")
    if isinstance(exc, httpx.TimeoutException):
        return ReceiveTimeoutError(f"{what}: no reply from the server in time ({exc})")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"{what}: could not connect: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ConnectionClosedError(f"{what}: the server broke off the reply: {exc}")
    return TransportError(f"{what}: {exc}")


def json_of(response: httpx.Response, what: str) -> Any:
    """The JSON body of a successful response (TransportError if it is not JSON)."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TtsdError(f"{what}: the reply is not JSON: {exc}") from None
