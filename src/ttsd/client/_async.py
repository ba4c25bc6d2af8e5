"""The asyncio twin: `AsyncClient`, its WebSocket and REST resources.

The same behaviour as the synchronous twin (`_sync.py`) over the same shared code; one
reader task per connection routes every frame into its context's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from ttsd.client import _requests
from ttsd.client._base import (
    CLOSE_TIMEOUT,
    DEFAULT_TIMEOUT,
    UNSET,
    ClientConfig,
    Unset,
    close_of,
    handshake_error,
    http_transport_error,
    json_of,
    resolve_timeout,
    retry_delay,
)
from ttsd.client._mux import WAKE, ContextCore, Item, Multiplexer, outcome
from ttsd.client._requests import DEFAULT_MODEL, ContextOptions, Message, VoiceSpec
from ttsd.client._responses import (
    SSEDecoder,
    VoicePager,
    http_error,
    parse_frame,
    voice_from_dict,
    voice_page,
)
from ttsd.client.errors import ConnectionClosedError, ReceiveTimeoutError, TtsdError
from ttsd.client.types import Response, Voice
from ttsd.protocol.shown import shown

__all__ = [
    "AsyncAudioStream",
    "AsyncClient",
    "AsyncContext",
    "AsyncEventStream",
    "AsyncTTS",
    "AsyncVoices",
    "AsyncWebSocket",
]

_LOGGER = logging.getLogger("ttsd.client")

_Queue = asyncio.Queue[Item]


class AsyncClient:
    """A ttsd (or Cartesia-compatible) server, with asyncio: the twin of `Client`.

    `base_url` defaults to `$TTSD_BASE_URL`, else ``http://127.0.0.1:8420``; `api_key` to
    `$TTSD_API_KEY` (sent as ``Authorization: Bearer <key>``; none: no header). The
    WebSocket URL is `websocket_base_url` if given, else `base_url` with ``http`` →
    ``ws`` / ``https`` → ``wss`` (the path kept), plus ``/tts/websocket``. `timeout` is
    how long to wait for the server, in seconds (to connect, and between two pieces of a
    reply; None: forever); it is also the default receive timeout of WebSocket contexts.
    `headers` are added to every request.

    Close it with ``await client.aclose()`` (or ``async with``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        websocket_base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._config = ClientConfig.create(
            base_url,
            api_key,
            websocket_base_url=websocket_base_url,
            timeout=timeout,
            headers=headers,
        )
        self._http = httpx.AsyncClient(**self._config.http_options())
        self.tts = AsyncTTS(self._config, self._http)
        self.voices = AsyncVoices(self._http)

    @property
    def base_url(self) -> str:
        """The REST base URL."""
        return self._config.base_url

    @property
    def websocket_url(self) -> str:
        """The full TTS WebSocket URL."""
        return self._config.websocket_url

    async def aclose(self) -> None:
        """Close the HTTP connection pool (open WebSockets are closed by their own
        ``async with``)."""
        await self._http.aclose()

    #: The official SDK's name for `aclose()`.
    close = aclose

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"


async def _request(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
) -> httpx.Response:
    """Send a request; an HTTP error status raises the matching `APIError`."""
    what = f"{method} {path}"
    try:
        request = http.build_request(method, path, json=json_body, params=params, headers=headers)
        response = await http.send(request, stream=stream)
    except httpx.HTTPError as exc:
        raise http_transport_error(exc, what) from exc
    if response.status_code >= 400:
        try:
            body = await response.aread()
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
        raise http_error(response.status_code, body, response.reason_phrase)
    return response


class AsyncTTS:
    """Speech: `websocket_connect()`, `bytes()`, `sse()`."""

    def __init__(self, config: ClientConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    def websocket_connect(
        self, *, extra_headers: Mapping[str, str] | None = None
    ) -> AsyncWebSocket:
        """A WebSocket to ``/tts/websocket``: ``async with client.tts.websocket_connect() as
        ws:``. It connects on entering (or at `connect()`, or at the first message) and
        closes on leaving. `extra_headers` are added to the handshake."""
        return AsyncWebSocket(self._config, extra_headers)

    async def bytes(
        self,
        *,
        transcript: str,
        voice: VoiceSpec,
        model_id: str = DEFAULT_MODEL,
        output_format: Mapping[str, Any] | None = None,
        language: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
    ) -> AsyncAudioStream:
        """`POST /tts/bytes`: the audio of `transcript`, streamed as it is synthesized.

        The request is sent when awaited (errors raise there); ``async for`` the returned
        stream for chunks as they arrive, or ``await stream.read()`` for all of it.
        `output_format` defaults to a 16-bit 44.1 kHz WAV file.
        """
        body = _requests.bytes_body(
            model_id=model_id,
            transcript=transcript,
            voice=voice,
            output_format=output_format,
            language=language,
            generation_config=generation_config,
        )
        response = await _request(self._http, "POST", "/tts/bytes", json_body=body, stream=True)
        return AsyncAudioStream(response)

    async def sse(
        self,
        *,
        transcript: str,
        voice: VoiceSpec,
        model_id: str = DEFAULT_MODEL,
        output_format: Mapping[str, Any] | None = None,
        language: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
        add_timestamps: bool | None = None,
        add_phoneme_timestamps: bool | None = None,
        use_normalized_timestamps: bool | None = None,
        context_id: str | None = None,
    ) -> AsyncEventStream:
        """`POST /tts/sse`: typed responses as they come (``async for``), up to `Done`; an
        `error` event is yielded, then raised as an `APIError`."""
        body = _requests.sse_body(
            model_id=model_id,
            transcript=transcript,
            voice=voice,
            output_format=output_format,
            language=language,
            generation_config=generation_config,
            add_timestamps=add_timestamps,
            add_phoneme_timestamps=add_phoneme_timestamps,
            use_normalized_timestamps=use_normalized_timestamps,
            context_id=context_id,
        )
        headers = {"Accept": "text/event-stream"}
        response = await _request(
            self._http, "POST", "/tts/sse", json_body=body, headers=headers, stream=True
        )
        return AsyncEventStream(response)


class AsyncVoices:
    """Voices: `list()` and `get()`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def list(
        self,
        *,
        limit: int | None = None,
        q: str | None = None,
        language: str | None = None,
        gender: str | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> AsyncIterator[Voice]:
        """Every voice matching the filters (``async for``), fetched page by page.

        `limit` is the page size; paging follows the cursor until an empty page.
        `starting_after` / `ending_before` start from a cursor (with `ending_before`,
        pages go backwards). Requests are sent while iterating, so errors raise there.
        """
        pager = VoicePager(
            _requests.voices_params(
                limit=limit,
                starting_after=starting_after,
                ending_before=ending_before,
                q=q,
                language=language,
                gender=gender,
            )
        )
        return self._pages(pager)

    async def _pages(self, pager: VoicePager) -> AsyncIterator[Voice]:
        params: dict[str, str] | None = dict(pager.params)
        while params is not None:
            response = await _request(self._http, "GET", "/voices", params=params)
            try:
                page = voice_page(json_of(response, "GET /voices"))
            except ValueError as exc:
                raise TtsdError(str(exc)) from None
            for voice in page.voices:
                yield voice
            params = pager.next_params(page)

    async def get(self, voice_id: str) -> Voice:
        """`GET /voices/{voice_id}` (NotFoundError if there is no such voice)."""
        path = f"/voices/{quote(voice_id, safe='')}"
        response = await _request(self._http, "GET", path)
        data = json_of(response, f"GET {path}")
        try:
            if not isinstance(data, dict):
                raise ValueError(f"GET {path}: expected a voice object")
            return voice_from_dict(data)
        except ValueError as exc:
            raise TtsdError(str(exc)) from None


class _AsyncResponseBody:
    """A streamed HTTP response body that frees its connection when closed."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def content_type(self) -> str:
        """The response's Content-Type (``audio/wav``, ``text/event-stream``, ...)."""
        return str(self._response.headers.get("content-type", ""))

    @property
    def headers(self) -> httpx.Headers:
        """All response headers."""
        return self._response.headers

    async def aclose(self) -> None:
        """Stop receiving and free the connection."""
        await self._response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncAudioStream(_AsyncResponseBody):
    """The body of `POST /tts/bytes`: ``async for`` chunks as they arrive, or
    ``await read()``. Closes itself at the end; `aclose()` (or ``async with``) stops early."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        self._chunks = response.aiter_bytes()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx.HTTPError as exc:
            await self.aclose()
            raise http_transport_error(exc, "POST /tts/bytes") from exc

    async def read(self) -> bytes:
        """The rest of the audio, all at once."""
        return b"".join([chunk async for chunk in self])


class AsyncEventStream(_AsyncResponseBody):
    """The events of `POST /tts/sse` as typed responses (``async for``); ends after `Done`."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        self._events = self._generate()

    def __aiter__(self) -> AsyncIterator[Response]:
        return self

    async def __anext__(self) -> Response:
        return await anext(self._events)

    async def _generate(self) -> AsyncIterator[Response]:
        decoder = SSEDecoder()
        try:
            lines = self._response.aiter_lines()
            while True:
                try:
                    line = await anext(lines, None)
                except httpx.HTTPError as exc:
                    raise http_transport_error(exc, "POST /tts/sse") from exc
                data = decoder.line(line) if line is not None else decoder.end()
                if data is not None:
                    try:
                        event = parse_frame(data)
                    except ValueError as exc:
                        _LOGGER.warning("POST /tts/sse: an event is %s; skipped", exc)
                    else:
                        result = outcome(event)
                        if result.response is not None:
                            yield result.response
                        if result.error is not None:
                            raise result.error
                        if result.end:
                            return
                if line is None:
                    raise ConnectionClosedError("POST /tts/sse: the stream ended before `done`")
        finally:
            await self.aclose()


class AsyncWebSocket:
    """One TTS WebSocket carrying any number of contexts (`context()`): the twin of
    `WebSocket`, with the same reconnect rule (new contexts reconnect; contexts open on
    a closed connection raise `ContextLostError`)."""

    def __init__(self, config: ClientConfig, extra_headers: Mapping[str, str] | None) -> None:
        self._config = config
        self._options = config.websocket_options(extra_headers)
        self._mux: Multiplexer[_Queue] = Multiplexer()
        self._send_lock = asyncio.Lock()  # one connect-or-send at a time, in order
        self._conn: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._resender: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The WebSocket URL."""
        return self._config.websocket_url

    async def connect(self) -> AsyncWebSocket:
        """Connect now (``async with`` does this); an HTTP refusal raises its `APIError`."""
        async with self._send_lock:
            await self._ensure_connection()
        return self

    def context(
        self,
        context_id: str | None = None,
        *,
        voice: VoiceSpec,
        model_id: str = DEFAULT_MODEL,
        output_format: Mapping[str, Any] | None = None,
        language: str | None = None,
        add_timestamps: bool | None = None,
        add_phoneme_timestamps: bool | None = None,
        max_buffer_delay_ms: int | None = None,
        generation_config: Mapping[str, Any] | None = None,
        use_normalized_timestamps: bool | None = None,
        pronunciation_dict_id: str | None = None,
        timeout: float | Unset | None = UNSET,
    ) -> AsyncContext:
        """A new context, as `WebSocket.context()` (not a coroutine: nothing is sent until
        the first `push()`)."""
        options = ContextOptions.create(
            model_id=model_id,
            voice=voice,
            output_format=output_format,
            language=language,
            add_timestamps=add_timestamps,
            add_phoneme_timestamps=add_phoneme_timestamps,
            max_buffer_delay_ms=max_buffer_delay_ms,
            generation_config=generation_config,
            use_normalized_timestamps=use_normalized_timestamps,
            pronunciation_dict_id=pronunciation_dict_id,
        )
        wait = resolve_timeout(timeout, self._config.timeout)
        core = self._mux.open(context_id, options, wait, asyncio.Queue())
        return AsyncContext(self, core)

    async def close(self) -> None:
        """Close the connection; contexts still waiting raise `ConnectionClosedError`."""
        self._mux.closing()
        if self._conn is not None:
            await self._conn.close()
        await self._join_reader()
        for ctx, error in self._mux.shutdown():
            ctx.queue.put_nowait(error)

    async def __aenter__(self) -> AsyncWebSocket:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------------

    async def _send(self, ctx: ContextCore[_Queue], message: Message) -> None:
        async with self._send_lock:
            while True:
                await self._ensure_connection()
                await self._resend()
                if await self._send_now(ctx, message):
                    return
                if not self._mux.will_resend(ctx):
                    raise self._mux.lost_error(ctx)

    async def _send_now(self, ctx: ContextCore[_Queue], message: Message) -> bool:
        """Send on the current connection (`_send_lock` held); False if it closed."""
        self._mux.bind(ctx)
        conn = self._conn
        assert conn is not None
        try:
            await conn.send(json.dumps(message))
        except ConnectionClosed:
            await self._join_reader()  # the reader decides: lost, or to be sent again
            return False
        self._mux.sent(ctx, message)
        return True

    async def _resend(self) -> None:
        """Send again what a restarting server never answered (`_send_lock` held)."""
        while self._mux.has_resends():
            for ctx, messages in self._mux.take_resends():
                for message in messages:
                    if not await self._send_now(ctx, message):
                        break
            await self._ensure_connection()

    async def _resend_soon(self) -> None:
        """After a restart's close: reconnect and resend, though nobody sends anything."""
        async with self._send_lock:
            if not self._mux.has_resends():
                return
            try:
                await self._ensure_connection()
                await self._resend()
            except TtsdError as exc:
                for ctx, error in self._mux.drop_resends(str(exc)):
                    ctx.queue.put_nowait(error)

    async def _ensure_connection(self) -> None:
        """Connect if there is no open connection (call with `_send_lock` held)."""
        if self._conn is not None and self._conn.state in (State.CLOSING, State.CLOSED):
            await self._join_reader()  # let the reader report the close first
        if not self._mux.needs_connection():
            return
        while True:
            try:
                conn = await connect(self.url, **self._options)
                break
            except (InvalidHandshake, OSError, TimeoutError) as exc:
                # After a restart's 1012 the server may drain or be down a while: wait.
                wait = self._mux.reconnect_wait(retry_delay(exc), time.monotonic())
                if wait is None:
                    raise handshake_error(exc, self.url) from exc
                await asyncio.sleep(wait)
        epoch = self._mux.connection_opened()
        self._conn = conn
        self._reader = asyncio.create_task(self._read(conn, epoch), name=f"ttsd-ws-reader-{epoch}")

    async def _join_reader(self) -> None:
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT + 1):
                    await asyncio.shield(reader)

    async def _read(self, conn: ClientConnection, epoch: int) -> None:
        code: int | None = None
        reason = ""
        cause: str | None = None
        try:
            while True:
                try:
                    raw = await conn.recv()
                except ConnectionClosed as exc:
                    code, reason = close_of(exc)
                    return
                if not isinstance(raw, str):
                    _LOGGER.warning("ignored a binary WebSocket frame (%d bytes)", len(raw))
                    continue
                try:
                    response = parse_frame(raw)
                except ValueError as exc:
                    _LOGGER.warning("ignored a WebSocket frame that is %s", exc)
                    continue
                ctx = self._mux.route(response, epoch)
                if ctx is not None:
                    ctx.queue.put_nowait(response)
        except Exception as exc:  # a bug here must not leave receivers waiting
            _LOGGER.exception("the WebSocket reader failed")
            cause = f"the client's reader failed ({exc!r})"
            await conn.close()
        finally:
            for ctx, error in self._mux.connection_closed(epoch, code, reason, cause=cause):
                ctx.queue.put_nowait(error)
            if self._mux.has_resends():
                self._resender = asyncio.create_task(self._resend_soon(), name="ttsd-ws-resend")

    def __repr__(self) -> str:
        return f"AsyncWebSocket(url={self.url!r})"


class AsyncContext:
    """One context on an `AsyncWebSocket`: the twin of `Context` (`push()`, `flush()`,
    `no_more_inputs()` and `cancel()` are coroutines; ``async for`` over `receive()`)."""

    def __init__(self, ws: AsyncWebSocket, core: ContextCore[_Queue]) -> None:
        self._ws = ws
        self._core = core
        self._ended = False

    @property
    def context_id(self) -> str:
        """The context's id."""
        return self._core.context_id

    async def push(self, text: str, flush: bool = False) -> None:
        """Send `text` (``continue: true``); `flush=True` also flushes, in the same message.

        Raises `InputClosedError` after `no_more_inputs()`/`cancel()`/the end, and
        `ContextLostError` if the connection this context was on closed.
        """
        message = self._ws._mux.push(self._core, text, flush=flush)
        await self._ws._send(self._core, message)

    async def flush(self) -> None:
        """Close the current segment: its audio comes, then `FlushDone` with its flush id."""
        message = self._ws._mux.flush(self._core)
        await self._ws._send(self._core, message)

    async def no_more_inputs(self) -> None:
        """End the input (``continue: false``): the rest of the audio, then `Done`.
        Calling it again does nothing."""
        message = self._ws._mux.end(self._core)
        if message is not None:
            await self._ws._send(self._core, message)

    async def cancel(self) -> None:
        """Stop the context: the server drops its pending work; `receive()` ends at once and
        later frames of this context are dropped. Does nothing if it already ended."""
        message = self._ws._mux.cancel(self._core)
        self._core.queue.put_nowait(WAKE)
        if message is None:
            return
        try:
            await self._ws._send(self._core, message)
        except TtsdError:
            _LOGGER.debug("cancel of %s not sent: the connection is gone", shown(self.context_id))

    def receive(self, *, timeout: float | Unset | None = UNSET) -> AsyncIterator[Response]:
        """The context's responses (``async for``), in order, up to and including `Done`.

        Only this context's frames, whatever else shares the socket. An `Error` frame is
        yielded and then raised as an `APIError`; a closed connection raises
        `ContextLostError`; `ReceiveTimeoutError` if no frame comes within `timeout`
        seconds (default: the context's). After `cancel()` it ends at once.
        """
        wait = resolve_timeout(timeout, self._core.timeout)
        return self._receive(wait)

    async def _receive(self, wait: float | None) -> AsyncIterator[Response]:
        while not self._ended:
            if self._core.cancelled:
                self._ended = True
                return
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
                # of the caller's task that races with a frame arriving.
                async with asyncio.timeout(wait):
                    item = await self._core.queue.get()
            except TimeoutError:
                raise ReceiveTimeoutError(
                    f"context {self.context_id!r}: nothing received in {wait:g} s"
                ) from None
            result = outcome(item, cancelled=self._core.cancelled)
            self._ended = result.end
            if result.response is not None:
                yield result.response
            if result.error is not None:
                raise result.error

    def __repr__(self) -> str:
        return f"AsyncContext(context_id={self.context_id!r})"
