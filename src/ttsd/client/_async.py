"""The asyncio twin: `AsyncClient`, its WebSocket and REST resources.

One reader task per connection reads every frame and routes it into the queue of the
context it belongs to, so any number of contexts share one socket, each `receive()` sees
only its own frames, and contexts can be driven from different tasks.
"""

# `_sync.py`, the synchronous twin, is generated from `_async.py` by
# scripts/gen_sync_client.py: edit `_async.py`, then run the script. What differs beyond
# `async` and `await` (locks, queues, reader tasks or threads) lives in `_async_io.py` and
# `_sync_io.py`; tests/client/test_sync_generated.py fails while `_sync.py` is stale.

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from ttsd.client import _requests
from ttsd.client._async_io import (
    Lock,
    Queue,
    Worker,
    get,
    join,
    mux_lock,
    open_websocket,
    sleep,
    spawn,
)
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

_Queue = Queue[Item]


class AsyncClient:
    """A ttsd (or Cartesia-compatible) server, with asyncio.

    `base_url` defaults to `$TTSD_BASE_URL`, else ``http://127.0.0.1:8420``; `api_key` to
    `$TTSD_API_KEY` (sent as ``Authorization: Bearer <key>``; none: no header). The
    WebSocket URL is `websocket_base_url` if given, else `base_url` with ``http`` →
    ``ws`` / ``https`` → ``wss`` (the path kept), plus ``/tts/websocket``. `timeout` is
    how long to wait for the server, in seconds (to connect, and between two pieces of a
    reply; None: forever); it is also the default receive timeout of WebSocket contexts.
    `headers` are added to every request.

    ``client.tts`` speaks (WebSocket, `/tts/bytes`, `/tts/sse`), ``client.voices`` lists
    voices. Close the client (or use it as a context manager) to free its connections.
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
        """Close the HTTP connection pool (open WebSockets are closed by their own `async with`)."""
        await self._http.aclose()

    #: The official SDK's name for `aclose()`.
    close = aclose  # async only

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
        """A WebSocket to ``/tts/websocket``: ``async with client.tts.websocket_connect() as ws:``.

        It connects on entering the ``async with`` (or at `connect()`, or at the first message)
        and closes on leaving it. `extra_headers` are added to the handshake.
        """
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

        The request is sent at once (errors such as an unknown voice raise here); iterate
        the returned `AsyncAudioStream` for chunks of the file as they arrive, or call its
        `read()` for all of it. `output_format` defaults to a 16-bit 44.1 kHz WAV file;
        ``{"container": "raw" | "wav" | "mp3", ...}`` as in the Cartesia API.
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
        """`POST /tts/sse`: typed responses (`Chunk`, `Timestamps`, ..., `Done`) as they come.

        Iteration ends after `Done`. An `error` event is yielded and then raised as an
        `APIError`, like `AsyncContext.receive()`. `output_format` must be raw (default:
        16-bit PCM at 44.1 kHz).
        """
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
        """Every voice matching the filters, fetched page by page as you iterate (``async for``).

        `limit` is the page size (the server's default when None); paging follows the
        cursor until an empty page. `starting_after` / `ending_before` start from a cursor
        (with `ending_before`, pages go backwards). Requests are sent while iterating, so
        errors raise there.
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
    """The body of `POST /tts/bytes`: iterate for chunks as they arrive, or `read()` all.

    Closes itself at the end of the body; `aclose()` (or ``async with``) stops early.
    """

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
    """One TTS WebSocket carrying any number of contexts (`context()`).

    Reconnects by itself when the server closed the connection and a context has a
    message to send; contexts that were open on the closed connection raise
    `ContextLostError` instead of continuing silently (the server forgot them), except
    those a restarting server (close 1012) never answered: they are sent again on a new
    connection, as if nothing happened.
    """

    def __init__(self, config: ClientConfig, extra_headers: Mapping[str, str] | None) -> None:
        self._config = config
        self._options = config.websocket_options(extra_headers)
        self._mux: Multiplexer[_Queue] = Multiplexer()
        self._lock = mux_lock()  # guards the multiplexer
        self._send_lock = Lock()  # one connect-or-send at a time, in order
        self._conn: ClientConnection | None = None
        self._reader: Worker | None = None
        self._resender: Worker | None = None

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
        """A new context (a uuid4 id unless `context_id` is given; ValueError if that id is
        still open here). Nothing is sent until the first `push()` (this is not a coroutine).

        Every message repeats these fields. `voice` is an id or a voice object;
        `output_format` defaults to raw 16-bit PCM at 44.1 kHz; options left None are not
        sent (the server's defaults apply). `timeout`: seconds `receive()` waits for each
        frame (default: the client's timeout; None: forever).
        """
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
        with self._lock:
            core = self._mux.open(context_id, options, wait, Queue())
        return AsyncContext(self, core)

    async def close(self) -> None:
        """Close the connection; contexts still waiting raise `ConnectionClosedError`."""
        with self._lock:
            self._mux.closing()
            conn = self._conn
        if conn is not None:
            await conn.close()
        await self._join_reader()
        with self._lock:
            woken = self._mux.shutdown()
        for ctx, error in woken:
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
                with self._lock:
                    if not self._mux.will_resend(ctx):
                        raise self._mux.lost_error(ctx)

    async def _send_now(self, ctx: ContextCore[_Queue], message: Message) -> bool:
        """Send on the current connection (`_send_lock` held); False if it closed."""
        with self._lock:
            self._mux.bind(ctx)
            conn = self._conn
        assert conn is not None
        try:
            await conn.send(json.dumps(message))
        except ConnectionClosed:
            await self._join_reader()  # the reader decides: lost, or to be sent again
            return False
        with self._lock:
            self._mux.sent(ctx, message)
        return True

    async def _resend(self) -> None:
        """Send again what a restarting server never answered (`_send_lock` held)."""
        while True:
            with self._lock:
                if not self._mux.has_resends():
                    return
                resends = self._mux.take_resends()
            for ctx, messages in resends:
                for message in messages:
                    if not await self._send_now(ctx, message):
                        break
            await self._ensure_connection()

    async def _resend_soon(self) -> None:
        """After a restart's close: reconnect and resend, though nobody sends anything."""
        async with self._send_lock:
            with self._lock:
                if not self._mux.has_resends():
                    return
            try:
                await self._ensure_connection()
                await self._resend()
            except TtsdError as exc:
                with self._lock:
                    dropped = self._mux.drop_resends(str(exc))
                for ctx, error in dropped:
                    ctx.queue.put_nowait(error)

    async def _ensure_connection(self) -> None:
        """Connect if there is no open connection (call with `_send_lock` held)."""
        conn = self._conn
        if conn is not None and conn.state in (State.CLOSING, State.CLOSED):
            await self._join_reader()  # let the reader report the close first
        with self._lock:
            if not self._mux.needs_connection():
                return
        while True:
            try:
                conn = await open_websocket(self.url, **self._options)
                break
            except (InvalidHandshake, OSError, TimeoutError) as exc:
                # After a restart's 1012 the server may drain or be down a while: wait.
                with self._lock:
                    wait = self._mux.reconnect_wait(retry_delay(exc), time.monotonic())
                if wait is None:
                    raise handshake_error(exc, self.url) from exc
                await sleep(wait)
        with self._lock:
            epoch = self._mux.connection_opened()
            self._conn = conn
        self._reader = spawn(self._read, conn, epoch, name=f"ttsd-ws-reader-{epoch}")

    async def _join_reader(self) -> None:
        await join(self._reader, CLOSE_TIMEOUT + 1)

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
                with self._lock:
                    ctx = self._mux.route(response, epoch)
                if ctx is not None:
                    ctx.queue.put_nowait(response)
        except Exception as exc:  # a bug here must not leave receivers waiting
            _LOGGER.exception("the WebSocket reader failed")
            cause = f"the client's reader failed ({exc!r})"
            await conn.close()
        finally:
            with self._lock:
                woken = self._mux.connection_closed(epoch, code, reason, cause=cause)
                resend = self._mux.has_resends()
            for ctx, error in woken:
                ctx.queue.put_nowait(error)
            if resend:
                self._resender = spawn(self._resend_soon, name="ttsd-ws-resend")

    def __repr__(self) -> str:
        return f"AsyncWebSocket(url={self.url!r})"


class AsyncContext:
    """One context on an `AsyncWebSocket`: send text with `push()`/`flush()`, end the input with
    `no_more_inputs()`, read the replies with `receive()`; `cancel()` stops it."""

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
        with self._ws._lock:
            message = self._ws._mux.push(self._core, text, flush=flush)
        await self._ws._send(self._core, message)

    async def flush(self) -> None:
        """Close the current segment: its audio comes, then `FlushDone` with its flush id."""
        with self._ws._lock:
            message = self._ws._mux.flush(self._core)
        await self._ws._send(self._core, message)

    async def no_more_inputs(self) -> None:
        """End the input (``continue: false``): the rest of the audio, then `Done`.
        Calling it again does nothing."""
        with self._ws._lock:
            message = self._ws._mux.end(self._core)
        if message is not None:
            await self._ws._send(self._core, message)

    async def cancel(self) -> None:
        """Stop the context: the server drops its pending work; `receive()` ends at once and
        later frames of this context are dropped. Does nothing if it already ended."""
        with self._ws._lock:
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
        yielded (so code that checks ``response.type == "error"`` sees it) and then
        raised as an `APIError`; a closed connection raises `ContextLostError`;
        `ReceiveTimeoutError` if no frame comes within `timeout` seconds (default: the
        context's). After `cancel()` it ends at once.
        """
        wait = resolve_timeout(timeout, self._core.timeout)
        return self._receive(wait)

    async def _receive(self, wait: float | None) -> AsyncIterator[Response]:
        while not self._ended:
            if self._core.cancelled:
                self._ended = True
                return
            try:
                item = await get(self._core.queue, wait)
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
