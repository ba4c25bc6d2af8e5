"""ttsd over its WebSocket, and the raw engine in this process: the systems every
scenario of `load.py` measures (the peers' clients are in `peers`).

* **ttsd**: `ttsd serve` (defaults) in a subprocess, over its WebSocket; raw `pcm_s16le`
  at 22050 Hz (no resampling), `model_id` sonic-3, no timestamps.
* **raw**: `PiperVoice.synthesize(text)` in this process, ONNX Runtime's default threads
  (`PiperVoice.load` as is). The floor: what the engine alone costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.protocol import State

from benchlib import LOOPBACK, VOICE_RATE, model_path
from load_scenarios.common import (
    CONNECT_BATCH,
    REQUEST_TIMEOUT_S,
    Gate,
    Stream,
    connected,
    sleep_until,
)

#: The voice every ttsd request asks for; `load.py --voice` sets it once, before any run.
TTSD_VOICE = "en_US-joe-medium"


class TtsdConnection:
    """One WebSocket to ttsd; frames are routed to their context's `Stream`."""

    def __init__(self, url: str, sample_rate: int = VOICE_RATE) -> None:
        self.url = url
        self.sample_rate = sample_rate
        self.streams: dict[str, Stream] = {}
        self.stray: list[dict[str, Any]] = []
        self._finished: dict[str, asyncio.Event] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self, timeout: float = 30.0) -> None:
        self._ws = await connect(self.url, max_size=None, open_timeout=timeout)
        self._reader = asyncio.create_task(self._read())

    @property
    def is_open(self) -> bool:
        return self._ws is not None and self._ws.state is State.OPEN

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await asyncio.wait_for(self._ws.close(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    def begin(self) -> tuple[str, Stream]:
        context_id = f"bench-{uuid.uuid4().hex[:12]}"
        stream = Stream("ttsd")
        self.streams[context_id] = stream
        self._finished[context_id] = asyncio.Event()
        return context_id, stream

    async def send(self, context_id: str, transcript: str, *, more: bool) -> float:
        assert self._ws is not None
        request = {
            "model_id": "sonic-3",
            "transcript": transcript,
            "voice": {"mode": "id", "id": TTSD_VOICE},
            "context_id": context_id,
            "output_format": {
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": self.sample_rate,
            },
            "continue": more,
        }
        payload = orjson.dumps(request).decode()
        moment = time.perf_counter()
        await self._ws.send(payload)
        return moment

    async def wait(self, context_id: str, timeout: float = REQUEST_TIMEOUT_S) -> Stream:
        stream = self.streams[context_id]
        try:
            async with asyncio.timeout(timeout):
                await self._finished[context_id].wait()
        except TimeoutError:
            stream.error = stream.error or f"no done within {timeout:.0f} s"
        if stream.end is None and stream.error is None:
            stream.error = "connection closed before done"
        return stream

    async def speak(self, text: str) -> Stream:
        context_id, stream = self.begin()
        stream.sent = await self.send(context_id, text, more=False)
        return await self.wait(context_id)

    async def stream_words(self, tokens: Sequence[str], interval: float, mark: int) -> Stream:
        context_id, stream = self.begin()
        start = time.perf_counter()
        for index, token in enumerate(tokens):
            await sleep_until(start + index * interval)
            moment = await self.send(context_id, token, more=True)
            if index == 0:
                stream.sent = moment
            if index == mark:
                stream.mark = moment
        await sleep_until(start + len(tokens) * interval)
        await self.send(context_id, "", more=False)
        return await self.wait(context_id)

    async def _read(self) -> None:
        assert self._ws is not None
        bytes_per_second = 2 * self.sample_rate
        try:
            async for message in self._ws:
                now = time.perf_counter()
                frame = orjson.loads(message)
                stream = self.streams.get(frame.get("context_id"))
                if stream is None:
                    self.stray.append(frame)
                    continue
                kind = frame.get("type")
                if kind == "chunk":
                    data: str = frame["data"]
                    size = len(data) * 3 // 4 - data[-2:].count("=")
                    stream.add(now, size / bytes_per_second)
                    stream.step_ms.append(float(frame.get("step_time") or 0.0))
                elif kind in ("done", "error"):
                    if kind == "error":
                        stream.error = f"{frame.get('error_code')}: {frame.get('message')}"
                        stream.error_frame = True
                    stream.end = now
                    self._finished[frame["context_id"]].set()
        except ConnectionClosed:
            pass
        finally:
            for event in self._finished.values():
                event.set()


class TtsdClient:
    """ttsd over its WebSocket, one connection per request."""

    name = "ttsd"

    def __init__(self, port: int) -> None:
        self.url = f"ws://{LOOPBACK}:{port}/tts/websocket"

    async def connection(self) -> TtsdConnection:
        conn = TtsdConnection(self.url)
        await conn.open()
        return conn

    async def speak(self, text: str, *, ready: Gate = None, opened: Gate = None) -> Stream:
        conn = await self.connection()
        try:
            await connected(ready, opened)
            return await conn.speak(text)
        finally:
            await conn.close()

    async def stream_words(self, tokens: Sequence[str], interval: float, mark: int) -> Stream:
        conn = await self.connection()
        try:
            return await conn.stream_words(tokens, interval, mark)
        finally:
            await conn.close()


async def open_many(url: str, count: int) -> list[TtsdConnection]:
    """`count` open WebSockets to ttsd, opened `CONNECT_BATCH` at a time (all closed again
    if one fails)."""
    conns: list[TtsdConnection] = []
    try:
        for offset in range(0, count, CONNECT_BATCH):
            batch = [TtsdConnection(url) for _ in range(min(CONNECT_BATCH, count - offset))]
            await asyncio.gather(*(c.open() for c in batch))
            conns += batch
    except BaseException:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        raise
    return conns


class RawEngine:
    """The floor: `PiperVoice.synthesize` in this process (blocks the event loop)."""

    name = "raw"

    def __init__(self) -> None:
        from piper import PiperVoice

        self._voice = PiperVoice.load(model_path())

    def speak(self, text: str) -> Stream:
        stream = Stream(self.name)
        stream.sent = time.perf_counter()
        for chunk in self._voice.synthesize(text):
            stream.add(time.perf_counter(), len(chunk.audio_float_array) / chunk.sample_rate)
        stream.end = time.perf_counter()
        return stream
