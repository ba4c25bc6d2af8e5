# Generated from src/ttsd/client/_async.py by scripts/gen_sync_client.py: do not edit.
# Edit _async.py and run `.venv/bin/python scripts/gen_sync_client.py`.
"""The synchronous twin: `Client`, its WebSocket and REST resources.

One background thread per connection reads every frame and routes it into the queue of the
context it belongs to, so any number of contexts share one socket, each `receive()` sees
only its own frames, and contexts can be driven from different threads.
"""

# `_sync.py`, the synchronous twin, is generated from `_async.py` by
# scripts/gen_sync_client.py: edit `_async.py`, then run the script. What differs beyond
# `async` and `await` (locks, queues, reader tasks or threads) lives in `_async_io.py` and
# `_sync_io.py`; tests/client/test_sync_generated.py fails while `_sync.py` is stale.

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State
from websockets.sync.client import ClientConnection

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
from ttsd.client._sync_io import (
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
from ttsd.client.errors import ConnectionClosedError, ReceiveTimeoutError, TtsdError
from ttsd.client.types import Response, Voice
from ttsd.protocol.shown import shown

__all__ = [
    "TTS",
    "AudioStream",
    "Client",
    "Context",
    "EventStream",
    "Voices",
    "WebSocket",
]

_LOGGER = logging.getLogger("ttsd.client")

_Queue = Queue[Item]


class Client:
    """A ttsd (or Cartesia-compatible) server, synchronously.

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
        self._http = httpx.Client(**self._config.http_options())
        self.tts = TTS(self._config, self._http)
        self.voices = Voices(self._http)

    @property
    def base_url(self) -> str:
        """The REST base URL."""
        return self._config.base_url

    @property
    def websocket_url(self) -> str:
        """The full TTS WebSocket URL."""
        return self._config.websocket_url

    def close(self) -> None:
        """Close the HTTP connection pool (open WebSockets are closed by their own `with`)."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"


def _request(
    http: httpx.Client,
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
        response = http.send(request, stream=stream)
    except httpx.HTTPError as exc:
        raise http_transport_error(exc, what) from exc
    if response.status_code >= 400:
        try:
            body = response.read()
        except httpx.HTTPError:
            body = b""
        finally:
            response.close()
        raise http_error(response.status_code, body, response.reason_phrase)
    return response


class TTS:
    """Speech: `websocket_connect()`, `bytes()`, `sse()`."""

    def __init__(self, config: ClientConfig, http: httpx.Client) -> None:
        self._config = config
        self._http = http

    def websocket_connect(self, *, extra_headers: Mapping[str, str] | None = None) -> WebSocket:
        """A WebSocket to ``/tts/websocket``: ``with client.tts.websocket_connect() as ws:``.

        It connects on entering the ``with`` (or at `connect()`, or at the first message)
        and closes on leaving it. `extra_headers` are added to the handshake.
        """
        return WebSocket(self._config, extra_headers)

    def bytes(
        self,
        *,
        transcript: str,
        voice: VoiceSpec,
        model_id: str = DEFAULT_MODEL,
        output_format: Mapping[str, Any] | None = None,
        language: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
    ) -> AudioStream:
        """`POST /tts/bytes`: the audio of `transcript`, streamed as it is synthesized.

        The request is sent at once (errors such as an unknown voice raise here); iterate
        the returned `AudioStream` for chunks of the file as they arrive, or call its
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
        response = _request(self._http, "POST", "/tts/bytes", json_body=body, stream=True)
        return AudioStream(response)

    def sse(
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
    ) -> EventStream:
        """`POST /tts/sse`: typed responses (`Chunk`, `Timestamps`, ..., `Done`) as they come.

        Iteration ends after `Done`. An `error` event is yielded and then raised as an
        `APIError`, like `Context.receive()`. `output_format` must be raw (default:
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
        response = _request(
            self._http, "POST", "/tts/sse", json_body=body, headers=headers, stream=True
        )
        return EventStream(response)


class Voices:
    """Voices: `list()` and `get()`."""

    def __init__(self, http: httpx.Client) -> None:
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
    ) -> Iterator[Voice]:
        """Every voice matching the filters, fetched page by page as you iterate.

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

    def _pages(self, pager: VoicePager) -> Iterator[Voice]:
        params: dict[str, str] | None = dict(pager.params)
        while params is not None:
            response = _request(self._http, "GET", "/voices", params=params)
            try:
                page = voice_page(json_of(response, "GET /voices"))
            except ValueError as exc:
                raise TtsdError(str(exc)) from None
            yield from page.voices
            params = pager.next_params(page)

    def get(self, voice_id: str) -> Voice:
        """`GET /voices/{voice_id}` (NotFoundError if there is no such voice)."""
        path = f"/voices/{quote(voice_id, safe='')}"
        response = _request(self._http, "GET", path)
        data = json_of(response, f"GET {path}")
        try:
            if not isinstance(data, dict):
                raise ValueError(f"GET {path}: expected a voice object")
            return voice_from_dict(data)
        except ValueError as exc:
            raise TtsdError(str(exc)) from None


class _ResponseBody:
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

    def close(self) -> None:
        """Stop receiving and free the connection."""
        self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AudioStream(_ResponseBody):
    """The body of `POST /tts/bytes`: iterate for chunks as they arrive, or `read()` all.

    Closes itself at the end of the body; `close()` (or ``with``) stops early.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        self._chunks = response.iter_bytes()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except httpx.HTTPError as exc:
            self.close()
            raise http_transport_error(exc, "POST /tts/bytes") from exc

    def read(self) -> bytes:
        """The rest of the audio, all at once."""
        return b"".join(self)


class EventStream(_ResponseBody):
    """The events of `POST /tts/sse` as typed responses; ends after `Done`."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        self._events = self._generate()

    def __iter__(self) -> Iterator[Response]:
        return self

    def __next__(self) -> Response:
        return next(self._events)

    def _generate(self) -> Iterator[Response]:
        decoder = SSEDecoder()
        try:
            lines = self._response.iter_lines()
            while True:
                try:
                    line = next(lines, None)
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
            self.close()


class WebSocket:
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

    def connect(self) -> WebSocket:
        """Connect now (``with`` does this); an HTTP refusal raises its `APIError`."""
        with self._send_lock:
            self._ensure_connection()
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
    ) -> Context:
        """A new context (a uuid4 id unless `context_id` is given; ValueError if that id is
        still open here). Nothing is sent until the first `push()`.

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
        return Context(self, core)

    def close(self) -> None:
        """Close the connection; contexts still waiting raise `ConnectionClosedError`."""
        with self._lock:
            self._mux.closing()
            conn = self._conn
        if conn is not None:
            conn.close()
        self._join_reader()
        with self._lock:
            woken = self._mux.shutdown()
        for ctx, error in woken:
            ctx.queue.put_nowait(error)

    def __enter__(self) -> WebSocket:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------

    def _send(self, ctx: ContextCore[_Queue], message: Message) -> None:
        with self._send_lock:
            while True:
                self._ensure_connection()
                self._resend()
                if self._send_now(ctx, message):
                    return
                with self._lock:
                    if not self._mux.will_resend(ctx):
                        raise self._mux.lost_error(ctx)

    def _send_now(self, ctx: ContextCore[_Queue], message: Message) -> bool:
        """Send on the current connection (`_send_lock` held); False if it closed."""
        with self._lock:
            self._mux.bind(ctx)
            conn = self._conn
        assert conn is not None
        try:
            conn.send(json.dumps(message))
        except ConnectionClosed:
            self._join_reader()  # the reader decides: lost, or to be sent again
            return False
        with self._lock:
            self._mux.sent(ctx, message)
        return True

    def _resend(self) -> None:
        """Send again what a restarting server never answered (`_send_lock` held)."""
        while True:
            with self._lock:
                if not self._mux.has_resends():
                    return
                resends = self._mux.take_resends()
            for ctx, messages in resends:
                for message in messages:
                    if not self._send_now(ctx, message):
                        break
            self._ensure_connection()

    def _resend_soon(self) -> None:
        """After a restart's close: reconnect and resend, though nobody sends anything."""
        with self._send_lock:
            with self._lock:
                if not self._mux.has_resends():
                    return
            try:
                self._ensure_connection()
                self._resend()
            except TtsdError as exc:
                with self._lock:
                    dropped = self._mux.drop_resends(str(exc))
                for ctx, error in dropped:
                    ctx.queue.put_nowait(error)

    def _ensure_connection(self) -> None:
        """Connect if there is no open connection (call with `_send_lock` held)."""
        conn = self._conn
        if conn is not None and conn.state in (State.CLOSING, State.CLOSED):
            self._join_reader()  # let the reader report the close first
        with self._lock:
            if not self._mux.needs_connection():
                return
        while True:
            try:
                conn = open_websocket(self.url, **self._options)
                break
            except (InvalidHandshake, OSError, TimeoutError) as exc:
                # After a restart's 1012 the server may drain or be down a while: wait.
                with self._lock:
                    wait = self._mux.reconnect_wait(retry_delay(exc), time.monotonic())
                if wait is None:
                    raise handshake_error(exc, self.url) from exc
                sleep(wait)
        with self._lock:
            epoch = self._mux.connection_opened()
            self._conn = conn
        self._reader = spawn(self._read, conn, epoch, name=f"ttsd-ws-reader-{epoch}")

    def _join_reader(self) -> None:
        join(self._reader, CLOSE_TIMEOUT + 1)

    def _read(self, conn: ClientConnection, epoch: int) -> None:
        code: int | None = None
        reason = ""
        cause: str | None = None
        try:
            while True:
                try:
                    raw = conn.recv()
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
            conn.close()
        finally:
            with self._lock:
                woken = self._mux.connection_closed(epoch, code, reason, cause=cause)
                resend = self._mux.has_resends()
            for ctx, error in woken:
                ctx.queue.put_nowait(error)
            if resend:
                self._resender = spawn(self._resend_soon, name="ttsd-ws-resend")

    def __repr__(self) -> str:
        return f"WebSocket(url={self.url!r})"


class Context:
    """One context on a `WebSocket`: send text with `push()`/`flush()`, end the input with
    `no_more_inputs()`, read the replies with `receive()`; `cancel()` stops it."""

    def __init__(self, ws: WebSocket, core: ContextCore[_Queue]) -> None:
        self._ws = ws
        self._core = core
        self._ended = False

    @property
    def context_id(self) -> str:
        """The context's id."""
        return self._core.context_id

    def push(self, text: str, flush: bool = False) -> None:
        """Send `text` (``continue: true``); `flush=True` also flushes, in the same message.

        Raises `InputClosedError` after `no_more_inputs()`/`cancel()`/the end, and
        `ContextLostError` if the connection this context was on closed.
        """
        with self._ws._lock:
            message = self._ws._mux.push(self._core, text, flush=flush)
        self._ws._send(self._core, message)

    def flush(self) -> None:
        """Close the current segment: its audio comes, then `FlushDone` with its flush id."""
        with self._ws._lock:
            message = self._ws._mux.flush(self._core)
        self._ws._send(self._core, message)

    def no_more_inputs(self) -> None:
        """End the input (``continue: false``): the rest of the audio, then `Done`.
        Calling it again does nothing."""
        with self._ws._lock:
            message = self._ws._mux.end(self._core)
        if message is not None:
            self._ws._send(self._core, message)

    def cancel(self) -> None:
        """Stop the context: the server drops its pending work; `receive()` ends at once and
        later frames of this context are dropped. Does nothing if it already ended."""
        with self._ws._lock:
            message = self._ws._mux.cancel(self._core)
        self._core.queue.put_nowait(WAKE)
        if message is None:
            return
        try:
            self._ws._send(self._core, message)
        except TtsdError:
            _LOGGER.debug("cancel of %s not sent: the connection is gone", shown(self.context_id))

    def receive(self, *, timeout: float | Unset | None = UNSET) -> Iterator[Response]:
        """The context's responses, in order, up to and including `Done`.

        Only this context's frames, whatever else shares the socket. An `Error` frame is
        yielded (so code that checks ``response.type == "error"`` sees it) and then
        raised as an `APIError`; a closed connection raises `ContextLostError`;
        `ReceiveTimeoutError` if no frame comes within `timeout` seconds (default: the
        context's). After `cancel()` it ends at once.
        """
        wait = resolve_timeout(timeout, self._core.timeout)
        return self._receive(wait)

    def _receive(self, wait: float | None) -> Iterator[Response]:
        while not self._ended:
            if self._core.cancelled:
                self._ended = True
                return
            try:
                item = get(self._core.queue, wait)
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
        return f"Context(context_id={self.context_id!r})"
