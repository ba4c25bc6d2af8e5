"""uvicorn's httptools HTTP protocol with a bounded request head and a head timeout.

uvicorn parses a request's line and headers completely before any ASGI code (the API-key
check included) sees it, and with httptools it sets no bound on their size: 200 MiB of
headers were read into memory and answered 200. Nor does anything time out a client that
sends its head a byte every few seconds (slowloris): uvicorn's keep-alive timeout only
covers the idle gap between requests. `LimitedHttpToolsProtocol` adds both:

- **Size.** The bytes of each request head (request line, headers, the blank line; and
  any blank lines before it) may be at most `max_header_bytes`. The parser is fed no
  further than that, so memory stays bounded while an oversized head streams in; past it
  the client gets **431** with a JSON error body and the connection is closed.
- **Time.** A head must be complete within `header_timeout_s` of the connection being made,
  or, on a keep-alive connection, of the first byte of a later request. Past it the client
  gets **408** (or, having sent nothing, a plain close). A head that stalls behind a
  response still being sent (a pipelined request) waits for that response first.

WebSocket handshakes are HTTP requests that go through the same parser before uvicorn
hands the connection to the WebSocket protocol, so they get the same bounds. (websockets
adds its own: 8 KiB per header line and 128 headers.)

The one inexactness: when a pipelined request begins in the same chunk as the end of the
previous one, the bytes of that chunk are not counted towards it, so it may reach about
twice the limit before it is refused. Memory stays bounded either way.

uvicorn internals relied on (all of `uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`,
unchanged from 0.30 to 0.54): its constructor's arguments (passed through); the hooks
`connection_made`, `connection_lost`, `data_received` (feeds `self.parser`, handles its
errors and the upgrade), the parser callbacks `on_message_begin`, `on_headers_complete`,
`on_message_complete`, and `handle_websocket_upgrade` (which moves the transport to the
WebSocket protocol); the attributes `loop`, `transport`, `cycle` (its `response_complete`)
and `server_state.default_headers` (uvicorn's `server` and `date` headers). uvicorn takes
the class as `uvicorn.Config(http=...)` / `uvicorn.run(http=...)` and builds one per
connection with keyword arguments; `uvicorn_http_options` binds the settings' values into a
subclass for that.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, ClassVar, cast

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ttsd.protocol.errors import ErrorCode
from ttsd.server.settings import Settings

_LOGGER = logging.getLogger(__name__)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that refuses request heads over `max_header_bytes` (431) or
    slower than `header_timeout_s` (408). Use `limited_protocol_class` to set the two."""

    #: most bytes of a request head (request line + headers)
    max_header_bytes: ClassVar[int] = Settings.max_header_bytes
    #: seconds a request head may take, from its first byte (or the connection's start)
    header_timeout_s: ClassVar[float] = Settings.header_timeout_s

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes of the current request head so far; None while a body is read (the app
        # bounds bodies) and after a WebSocket upgrade.
        self._head_bytes: int | None = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._upgraded = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock: nothing is left to time out."""
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, but never more than `max_header_bytes` of one request head."""
        while data:
            if self._head_bytes is None:
                super().data_received(data)
                return
            # Some bytes of a head: from here it must be done in time (this covers blank
            # lines trickled between requests too, which uvicorn lets cancel its keep-alive
            # timeout).
            self._arm_head_timer()
            room = self.max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse_head_too_large()
                return
            piece, data = (data, b"") if len(data) <= room else (data[:room], data[room:])
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self._upgraded or self.transport.is_closing():
                # Upgraded: the rest of this chunk is dropped, as uvicorn drops it.
                return

    # httptools parser callbacks

    def on_message_begin(self) -> None:
        """A request starts: its head is on the clock if it was not already."""
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        """The head is in: stop counting and stop the clock, then let uvicorn run it."""
        self._head_bytes = None
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The body is in: whatever comes next is the next request's head."""
        super().on_message_complete()
        if not self._upgraded:
            self._head_bytes = 0

    def handle_websocket_upgrade(self) -> None:
        """Hand the connection to the WebSocket protocol; this one no longer reads it."""
        self._upgraded = True
        self._head_bytes = None
        self._disarm_head_timer()
        super().handle_websocket_upgrade()

    # the limits

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head_bytes is None or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a response still being written: a 408 now would
            # corrupt that response, and the response is bounded by the app. Wait again.
            self._arm_head_timer()
            return
        if self._head_bytes == 0:
            # Nothing of a request arrived (an idle fresh connection): just close, as
            # uvicorn's keep-alive timeout does.
            self.transport.close()
            return
        _LOGGER.info(
            "%s: request head incomplete after %g s; closing", self._peer(), self.header_timeout_s
        )
        self._refuse(
            408,
            "Request timeout",
            f"the request line and headers took longer than {self.header_timeout_s:g} s",
        )

    def _refuse_head_too_large(self) -> None:
        _LOGGER.info("%s: request head over %d bytes; closing", self._peer(), self.max_header_bytes)
        self._disarm_head_timer()
        self._refuse(
            431,
            "Request headers too large",
            f"the request line and headers exceed {self.max_header_bytes} bytes",
        )

    def _refuse(self, status: int, title: str, message: str) -> None:
        """Answer `status` with ttsd's JSON error body (http.py) and close.

        Written straight to the transport like uvicorn's own 400: no ASGI request exists.
        """
        self._head_bytes = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head went wrong while a response is being written: an answer now
            # would land inside that response's body, so the connection just ends.
            self.transport.close()
            return
        request_id = str(uuid.uuid4())
        body = orjson.dumps(
            {
                "title": title,
                "message": message,
                "error_code": str(ErrorCode.INVALID_REQUEST),
                "request_id": request_id,
                "status_code": status,
            }
        )
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"


def limited_protocol_class(
    max_header_bytes: int, header_timeout_s: float
) -> type[LimitedHttpToolsProtocol]:
    """A `LimitedHttpToolsProtocol` subclass with these limits (uvicorn wants a class)."""
    if max_header_bytes <= 0 or header_timeout_s <= 0:
        raise ValueError("max_header_bytes and header_timeout_s must be positive")
    bound = type(
        LimitedHttpToolsProtocol.__name__,
        (LimitedHttpToolsProtocol,),
        {
            "__doc__": LimitedHttpToolsProtocol.__doc__,
            "__module__": __name__,
            "max_header_bytes": max_header_bytes,
            "header_timeout_s": header_timeout_s,
        },
    )
    return cast(type[LimitedHttpToolsProtocol], bound)


def uvicorn_http_options(settings: Settings) -> dict[str, Any]:
    """The `uvicorn.run` / `uvicorn.Config` arguments for ttsd's HTTP protocol and limits
    (`ttsd serve` and the test servers use the same)."""
    return {"http": limited_protocol_class(settings.max_header_bytes, settings.header_timeout_s)}
