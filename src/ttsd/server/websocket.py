"""`/tts/websocket`: bridges one socket to the sans-I/O `ConnectionCore`.

Three tasks per connection: the read loop feeds frames to the core and acts on its
events; a timer loop releases buffered text when its delay runs out; a writer drains
the outbox to the socket. Each context has a runner task that synthesizes its segments
in order through the shared scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

import orjson
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ttsd.engines.base import SynthesisOptions
from ttsd.protocol.connection import ConnectionCore
from ttsd.protocol.context import Phase
from ttsd.protocol.events import (
    AbortContext,
    ContextSpec,
    Event,
    OpenContext,
    QueueSegment,
    Segment,
    SendFrame,
)
from ttsd.protocol.frames import flush_done_frame
from ttsd.protocol.shown import shown
from ttsd.server.drain import CLOSE_CODE, CLOSE_REASON, draining_error
from ttsd.server.log_context import CONTEXT_ID, REQUEST_ID
from ttsd.server.outbox import Outbox
from ttsd.server.rendering import AudioRenderer, RenderedAudio, chunk_frames
from ttsd.server.runtime import Runtime
from ttsd.server.scheduler import Stream
from ttsd.server.synthesis import Playback, is_engine_error, stream_segment, synthesis_error
from ttsd.server.telemetry import StreamTelemetry
from ttsd.text.segmenter import find_release_point, first_clause_end, first_phrase_end
from ttsd.text.steps import step_end

_LOGGER = logging.getLogger(__name__)

#: A text frame longer than this is parsed and segmented on a worker thread. The work is
#: linear, but a 20,000-character message of it is milliseconds of event-loop time that
#: every other connection would wait through (issue 8; benchmarks/hostile.py measures it).
OFF_LOOP_MESSAGE_CHARS = 4096

#: Seconds the close of an overflowed connection may wait for the client to read (as
#: long as uvicorn waits for a closing handshake).
UNREAD_CLOSE_TIMEOUT_S = 10.0


async def tts_websocket(websocket: WebSocket) -> None:
    """The ASGI WebSocket endpoint."""
    runtime: Runtime = websocket.app.state.runtime
    request_id = str(uuid.uuid4())
    # Every log line of this connection carries its id, uvicorn's `[accepted]` access line
    # too (logged in `accept`), and so do the tasks it starts (server/log_context.py).
    REQUEST_ID.set(request_id)
    version = websocket.query_params.get("cartesia_version") or websocket.headers.get(
        "cartesia-version"
    )
    # LiveKit logs the upgrade's X-Request-Id (docs/protocol.md §1.4).
    await websocket.accept(headers=[(b"x-request-id", request_id.encode())])
    _LOGGER.info(
        "connection %s opened (Cartesia-Version %s)", request_id, shown(version) if version else "-"
    )
    session = WebSocketSession(websocket, runtime, request_id)
    runtime.drain.add_connection(session)
    try:
        await session.run()
    finally:
        runtime.drain.remove_connection(session)
        _LOGGER.info("connection %s closed", request_id)


class WebSocketSession:
    """One connection's tasks and contexts."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, request_id: str) -> None:
        self._ws = websocket
        self._runtime = runtime
        settings = runtime.settings
        self._core = ConnectionCore(
            resolver=runtime.registry,
            release_finder=find_release_point,
            clause_finder=first_clause_end,
            phrase_finder=first_phrase_end,
            step_finder=step_end,
            limits=settings.limits,
            request_id=request_id,
        )
        self._outbox = Outbox(
            settings.send_queue_frames, settings.max_unread_bytes, on_overflow=self._overflowed
        )
        self._runners: dict[str, ContextRunner] = {}
        self._wakeup = asyncio.Event()
        # Held by whoever calls the core and carries out its events: a long message is
        # handled on a worker thread, and nothing else may touch the core meanwhile.
        self._core_lock = asyncio.Lock()
        # The task running `run` (and the read loop), and whether that loop waits for a
        # message now: an overflow interrupts only that wait (see `_overflowed`).
        self._reader: asyncio.Task[None] | None = None
        self._receiving = False
        self._interrupted = False
        # Event-loop time of the last frame written: the connection is not idle while
        # audio flows (`_read_loop`).
        self._last_sent = 0.0
        # Draining (server/drain.py): close with 1012 once no context is live.
        self._draining = False
        self._restarting = False

    @property
    def core(self) -> ConnectionCore:
        """The protocol state of this connection."""
        return self._core

    @property
    def core_lock(self) -> asyncio.Lock:
        """Hold it to call the core and carry out its events (`handle`): the core may be
        busy on a worker thread with a long message."""
        return self._core_lock

    @property
    def outbox(self) -> Outbox:
        """Frames waiting to be written."""
        return self._outbox

    @property
    def runtime(self) -> Runtime:
        """Shared server state."""
        return self._runtime

    async def run(self) -> None:
        """Serve the connection until the client leaves, it idles out, it leaves more
        than `max_unread_bytes` of replies unread (then it is closed with 1008), or the
        server drains and it has no live context (then it is closed with 1012)."""
        self._reader = asyncio.current_task()
        writer = asyncio.create_task(self._write_loop(), name="ttsd-ws-writer")
        timer = asyncio.create_task(self._timer_loop(), name="ttsd-ws-timer")
        try:
            await self._read_loop()
        finally:
            timer.cancel()
            for runner in list(self._runners.values()):
                runner.task.cancel()
            await asyncio.gather(
                timer, *(r.task for r in self._runners.values()), return_exceptions=True
            )
            self._runners.clear()
            unread = self._outbox.overflow_bytes
            if unread is not None:
                # The writer may wait forever on a client that does not read.
                writer.cancel()
            await self._outbox.close()
            if self._restarting:
                # The last `done` goes out before the 1012, unless the client stopped
                # reading: then the close waits no longer than an unread one would.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(UNREAD_CLOSE_TIMEOUT_S):
                        await asyncio.shield(writer)
                writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            if unread is not None:
                reason = f"too many unread replies ({unread} bytes); read your socket"
                await self._close(1008, reason)
            elif self._restarting:
                await self._close(CLOSE_CODE, CLOSE_REASON)

    def begin_drain(self) -> None:
        """The server drains: close with 1012 once no context is live (now, if none is).

        Contexts opened meanwhile are served: a pooled connection keeps sending on the
        socket it has until it is closed (issue 9)."""
        self._draining = True
        # Under the core lock: a long message may be in the core on a worker thread.
        asyncio.create_task(self._close_if_idle(), name="ttsd-ws-drain")  # noqa: RUF006

    async def expire(self) -> None:
        """The drain deadline passed: every live context gets a 503 error frame (its
        audio not yet written is dropped), then the connection closes with 1012."""
        async with self._core_lock:
            for context_id in self._core.context_ids:
                _LOGGER.warning(
                    "connection %s: drain deadline ends context %s",
                    self._core.request_id,
                    shown(context_id),
                )
                await self.handle(self._core.fail(context_id, draining_error()))
            self._restart()

    async def _close_if_idle(self) -> None:
        async with self._core_lock:
            await self.handle([])

    def _restart(self) -> None:
        # Stop reading (now if the read loop waits for a message, else after the one it
        # handles); `run` then writes what is queued and closes with 1012.
        if not self._restarting:
            self._restarting = True
            self._interrupt_read()

    def wake(self) -> None:
        """Core state changed: recompute the next deadline."""
        self._wakeup.set()

    async def handle(self, events: list[Event]) -> None:
        """Carry out the core's events in order (the caller holds `core_lock`)."""
        for event in events:
            if isinstance(event, SendFrame):
                # An error frame is queued with no owner: the AbortContext that follows
                # it (a failed context) purges the context's frames, and must not drop it.
                frame = event.frame
                owner = None if frame["type"] == "error" else frame.get("context_id")
                if frame["type"] == "error":
                    self._runtime.metrics.count_error(str(frame["error_code"]))
                await self._outbox.put_control(owner, orjson.dumps(frame))
            elif isinstance(event, OpenContext):
                runner = ContextRunner(self, event.spec)
                self._runners[event.spec.context_id] = runner
            elif isinstance(event, QueueSegment):
                self._runners[event.segment.context_id].enqueue(event.segment)
            elif isinstance(event, AbortContext):
                await self._abort(event.context_id)
        if self._draining and not self._core.context_ids:
            self._restart()
        self.wake()

    def _overflowed(self, unread: int) -> None:
        # Called from inside an outbox put, by whichever task queued the frame. The read
        # loop stops reading: now if it waits for a message, else after its current
        # message (it checks the outbox). Never mid-message: `handle` is left whole.
        _LOGGER.warning(
            "connection %s: %d bytes of replies unread (limit %d); closing it",
            self._core.request_id,
            unread,
            self._runtime.settings.max_unread_bytes,
        )
        self._interrupt_read()

    def _interrupt_read(self) -> None:
        if self._receiving and self._reader is not None and not self._interrupted:
            self._interrupted = True
            self._reader.cancel()

    async def _close(self, code: int, reason: str) -> None:
        # The close frame queues behind the replies already in the transport, so a client
        # that never reads never gets it: wait as long as uvicorn waits for a closing
        # handshake, then let the server drop the connection.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(UNREAD_CLOSE_TIMEOUT_S):
                await self._ws.close(code=code, reason=reason)

    def forget(self, runner: ContextRunner) -> None:
        """A runner finished its context."""
        if self._runners.get(runner.spec.context_id) is runner:
            del self._runners[runner.spec.context_id]

    async def _abort(self, context_id: str) -> None:
        runner = self._runners.pop(context_id, None)
        if runner is None:
            return
        if runner.task is not asyncio.current_task():
            runner.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner.task
        await self._outbox.purge(context_id)
        await self.handle(self._core.finish(context_id, runner.spec.serial))

    async def _read_loop(self) -> None:
        idle_timeout = self._runtime.settings.connection_idle_timeout_s
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        while self._outbox.overflow_bytes is None and not self._restarting:
            try:
                self._receiving = True
                # Idle means no traffic either way: a client listening to long audio sends
                # nothing while frames flow to it (docs/protocol.md §1.5).
                async with asyncio.timeout_at(max(last_heard, self._last_sent) + idle_timeout):
                    message = await self._ws.receive()
            except TimeoutError:
                if loop.time() < self._last_sent + idle_timeout:
                    continue  # a frame went out while waiting: not idle yet
                _LOGGER.info("closing connection idle for %.0f s", idle_timeout)
                with contextlib.suppress(Exception):
                    await self._ws.close(code=1000, reason="idle timeout")
                return
            except asyncio.CancelledError:
                # Our own cancel (an overflow) ends the loop; any other cancel goes on.
                task = asyncio.current_task()
                if self._interrupted and task is not None and task.uncancel() == 0:
                    return
                raise
            finally:
                self._receiving = False
            last_heard = loop.time()
            if message["type"] == "websocket.disconnect":
                return
            async with self._core_lock:
                await self.handle(await self._receive(message, time.monotonic()))
            # Messages that arrived together are all ready: without this, a burst of them
            # (100 of 1,000 characters) runs as one step and stalls every other client.
            await asyncio.sleep(0)

    async def _receive(self, message: Message, now: float) -> list[Event]:
        """The core's events for one message (the caller holds `core_lock`)."""
        text = message.get("text")
        if text is None:
            return self._core.receive_bytes(message.get("bytes") or b"")
        if len(text) <= OFF_LOOP_MESSAGE_CHARS:
            return self._core.receive_text(text, now)
        return await asyncio.to_thread(self._core.receive_text, text, now)

    async def _timer_loop(self) -> None:
        while True:
            async with self._core_lock:
                deadline = self._core.next_deadline()
                self._wakeup.clear()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that races with the
            # wake-up, and this task would then never end (seen at server shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            async with self._core_lock:
                await self.handle(self._core.poll(time.monotonic()))

    async def _write_loop(self) -> None:
        while (payload := await self._outbox.get()) is not None:
            if self._ws.client_state is not WebSocketState.CONNECTED:
                continue
            try:
                await self._ws.send_text(payload.decode())
            except (WebSocketDisconnect, RuntimeError, OSError):
                _LOGGER.debug("write failed: client gone")
            else:
                self._last_sent = asyncio.get_running_loop().time()
            # A full outbox is 64 frames ready at once: let other clients in between.
            await asyncio.sleep(0)


class ContextRunner:
    """Synthesizes one context's segments in order and queues their frames."""

    def __init__(self, session: WebSocketSession, spec: ContextSpec) -> None:
        self.session = session
        self.spec = spec
        self.queue: asyncio.Queue[Segment] = asyncio.Queue()
        fmt = spec.output_format
        self._renderer = AudioRenderer(fmt.encoding, fmt.sample_rate)
        self._max_frame_bytes = session.runtime.settings.max_audio_frame_bytes
        self._engine = session.runtime.registry.engine(spec.engine)
        #: the context's metrics and summary line (server/telemetry.py)
        self.telemetry = StreamTelemetry(
            session.runtime.metrics, "websocket", session.core.request_id, spec.context_id
        )
        self._playback = Playback(telemetry=self.telemetry)
        self.task = asyncio.create_task(self._run(), name=f"ttsd-context-{spec.context_id}")
        # A task cancelled before it ever ran (its connection ended at once) runs no
        # `except`: the context still ends, as cancelled (a no-op if it ended already).
        self.task.add_done_callback(lambda _: self.telemetry.finish("cancelled"))

    def enqueue(self, segment: Segment) -> None:
        """Queue `segment` for synthesis, counting its characters (the caller holds the
        core lock)."""
        if segment.text:
            self.telemetry.accepted(len(segment.text))
        if segment.text.strip():
            if self.telemetry.began_at is None:
                # Time to first audio runs from the first text's arrival: a buffering
                # delay before its release is part of what the caller waits.
                first = self.session.core.first_text_at(self.spec.context_id)
                self.telemetry.began_at = first if first is not None else time.monotonic()
            self._playback.text_queued()
        self.queue.put_nowait(segment)

    async def _run(self) -> None:
        # This task's log lines name its context (the task has its own copy of the ids).
        CONTEXT_ID.set(self.spec.context_id)
        try:
            await self._run_segments()
        except asyncio.CancelledError:
            # Stopped from outside: a cancel, an error frame (a bad message, the drain
            # deadline's 503) or the end of the connection.
            failed = self.session.core.phase(self.spec.context_id) is Phase.FAILED
            self.telemetry.finish("error" if failed else "cancelled")
            raise

    async def _run_segments(self) -> None:
        core, lock = self.session.core, self.session.core_lock
        # One scheduler stream while the context has segments queued, across them: a
        # playing context between two sentences still counts when the scheduler weighs
        # a new stream's first audio (server/urgency.py).
        steps: Stream | None = None
        try:
            while True:
                if steps is not None and self.queue.empty():
                    # Nothing left to speak until the client sends more text.
                    steps.close()
                    steps = None
                segment = await self.queue.get()
                if steps is None:
                    steps = self.session.runtime.scheduler.open_stream(self._playback.urgency)
                try:
                    await self._synthesize(segment, steps)
                except Exception as exc:
                    # Any failure (an engine bug too) fails this context; a runner that died
                    # silently would leave the context without `done` forever.
                    _LOGGER.error(
                        "context %s: synthesis failed: %s",
                        shown(self.spec.context_id),
                        exc,
                        exc_info=not is_engine_error(exc),
                    )
                    self.telemetry.finish("error")
                    async with lock:
                        await self.session.handle(
                            core.fail(self.spec.context_id, synthesis_error(exc))
                        )
                    return
                async with lock:
                    core.segment_done(segment, time.monotonic())
                self.session.wake()
                if segment.is_last:
                    self.session.forget(self)
                    async with lock:
                        await self.session.handle(
                            core.finish(self.spec.context_id, self.spec.serial)
                        )
                    self.telemetry.finish("done")
                    return
        finally:
            if steps is not None:
                steps.close()

    async def _synthesize(self, segment: Segment, steps: Stream) -> None:
        outbox = self.session.outbox
        context_id = self.spec.context_id
        options = SynthesisOptions(
            speed=segment.speed or 1.0,
            volume=segment.volume or 1.0,
            timings=self.spec.add_timestamps or self.spec.add_phoneme_timestamps,
            first_audio=not self._playback.started,
        )
        payloads = stream_segment(
            steps,
            self._engine,
            segment.text,
            self.spec.voice_id,
            options,
            self._renderer,
            lambda rendered: self._frames(rendered, segment.flush_id),
            playback=self._playback,
        )
        async with contextlib.aclosing(payloads):
            async for batch in payloads:
                for payload in batch:
                    await outbox.put_audio(context_id, payload)
                if batch:
                    self._playback.mark_sent()
        if segment.text.strip():
            self._playback.text_spoken()
        if segment.closes_flush:
            await outbox.put_control(
                context_id, orjson.dumps(flush_done_frame(context_id, segment.flush_id))
            )

    def _frames(self, rendered: RenderedAudio, flush_id: int) -> list[bytes]:
        # Runs on a worker thread: base64 and JSON stay off the event loop too.
        spec = self.spec
        frames = chunk_frames(
            spec.context_id,
            rendered,
            flush_id,
            self._max_frame_bytes,
            words=spec.add_timestamps,
            phonemes=spec.add_phoneme_timestamps,
        )
        return [orjson.dumps(frame) for frame in frames]
