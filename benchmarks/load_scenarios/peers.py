"""The peers `load.py` measures ttsd against: their clients and their servers.

* **wyoming-piper**: `python -m wyoming_piper` in a subprocess over TCP (Wyoming
  protocol), the same model file; one `synthesize` event per request (it splits the text
  into sentences and streams audio per sentence), or its text-streaming mode
  (`synthesize-start`, `synthesize-chunk`..., `synthesize-stop`) where text comes word by
  word.
* **piper-http**: `python -m piper.http_server` (flask) in a subprocess: `POST
  /synthesize` answers the whole WAV when done; its time to first audio is the time to
  the first body byte.

Both speak the joe voice from a temporary folder of symlinks (`voice_dir`), under a name
that is not in wyoming-piper's catalog, so neither ever downloads anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import tempfile
import time
import wave
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchlib import LOOPBACK, ServerProcess, free_port, http_ok, model_path, running_process
from load_scenarios.common import REQUEST_TIMEOUT_S, Gate, Stream, connected, sleep_until

WYOMING_VOICE = "ttsd-bench-joe"


@contextlib.asynccontextmanager
async def _tcp(
    port: int, ready: Gate = None, opened: Gate = None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A TCP connection to a peer on this machine, closed after; `ready` and `opened` as
    in `round_at_once` (the request is sent only after `ready`)."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        await connected(ready, opened)
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


# --- the clients -------------------------------------------------------------------------


class WyomingClient:
    """wyoming-piper over TCP, one connection per request."""

    name = "wyoming-piper"

    def __init__(self, port: int) -> None:
        self.port = port

    async def speak(self, text: str, *, ready: Gate = None, opened: Gate = None) -> Stream:
        from wyoming.event import async_write_event
        from wyoming.tts import Synthesize

        stream = Stream(self.name)
        async with _tcp(self.port, ready, opened) as (reader, writer):
            stream.sent = time.perf_counter()
            await async_write_event(Synthesize(text=text).event(), writer)
            await self._collect(reader, stream, streaming=False)
        return stream

    async def stream_words(self, tokens: Sequence[str], interval: float, mark: int) -> Stream:
        """Its text-streaming mode: synthesize-start, a chunk per word, synthesize-stop."""
        from wyoming.event import async_write_event
        from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

        stream = Stream(self.name)
        async with _tcp(self.port) as (reader, writer):
            collector = asyncio.create_task(self._collect(reader, stream, streaming=True))
            try:
                start = time.perf_counter()
                stream.sent = start
                await async_write_event(SynthesizeStart().event(), writer)
                for index, token in enumerate(tokens):
                    await sleep_until(start + index * interval)
                    moment = time.perf_counter()
                    await async_write_event(SynthesizeChunk(text=token).event(), writer)
                    if index == mark:
                        stream.mark = moment
                await sleep_until(start + len(tokens) * interval)
                await async_write_event(SynthesizeStop().event(), writer)
                await collector
            finally:
                collector.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await collector
        return stream

    async def _collect(
        self, reader: asyncio.StreamReader, stream: Stream, *, streaming: bool
    ) -> None:
        from wyoming.audio import AudioChunk, AudioStop
        from wyoming.error import Error
        from wyoming.event import async_read_event
        from wyoming.tts import SynthesizeStopped

        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                while True:
                    event = await async_read_event(reader)
                    now = time.perf_counter()
                    if event is None:
                        stream.error = "connection closed"
                        return
                    if AudioChunk.is_type(event.type):
                        stream.add(now, AudioChunk.from_event(event).seconds)
                    elif Error.is_type(event.type):
                        stream.error = f"error event: {Error.from_event(event).text}"
                        stream.error_frame = True
                        stream.end = now
                        return
                    elif (streaming and SynthesizeStopped.is_type(event.type)) or (
                        not streaming and AudioStop.is_type(event.type)
                    ):
                        stream.end = now
                        return
        except TimeoutError:
            stream.error = f"no end within {REQUEST_TIMEOUT_S:.0f} s"


class PiperHttpClient:
    """piper's flask server: `POST /synthesize` returns the whole WAV."""

    name = "piper-http"

    def __init__(self, port: int) -> None:
        self.port = port

    async def speak(self, text: str, *, ready: Gate = None, opened: Gate = None) -> Stream:
        body = json.dumps({"text": text}).encode()
        head = (
            f"POST /synthesize HTTP/1.1\r\nHost: {LOOPBACK}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        stream = Stream(self.name)
        async with _tcp(self.port, ready, opened) as (reader, writer):
            try:
                stream.sent = time.perf_counter()
                writer.write(head + body)
                await writer.drain()
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    header = await reader.readuntil(b"\r\n\r\n")
                    status = header.split(b" ", 2)[1]
                    first = await reader.read(65536)
                    arrived = time.perf_counter()
                    rest = await reader.read()
                    stream.end = time.perf_counter()
                if status != b"200":
                    stream.error = f"HTTP {status.decode()}: {(first + rest)[:200]!r}"
                    return stream
                with wave.open(io.BytesIO(first + rest), "rb") as wav:
                    seconds = wav.getnframes() / wav.getframerate()
                stream.add(arrived, seconds)
            except TimeoutError:
                stream.error = f"no answer within {REQUEST_TIMEOUT_S:.0f} s"
        return stream


# --- the servers -------------------------------------------------------------------------


@contextmanager
def voice_dir() -> Iterator[Path]:
    """A directory with the joe voice as `ttsd-bench-joe.onnx(.json)` (symlinks)."""
    model = model_path()
    with tempfile.TemporaryDirectory(prefix="ttsd-bench-") as folder:
        path = Path(folder)
        (path / f"{WYOMING_VOICE}.onnx").symlink_to(model)
        (path / f"{WYOMING_VOICE}.onnx.json").symlink_to(model.with_name(model.name + ".json"))
        yield path


def _wyoming_ready(server: ServerProcess) -> bool:
    import socket

    from wyoming.event import read_event, write_event
    from wyoming.info import Describe, Info

    with socket.create_connection((server.host, server.port), timeout=2) as sock:
        sock.settimeout(5)
        with sock.makefile("rwb") as stream:
            write_event(Describe().event(), stream)  # type: ignore[arg-type]
            stream.flush()
            event = read_event(stream)  # type: ignore[arg-type]
            return event is not None and Info.is_type(event.type)


@contextmanager
def running_wyoming(folder: Path) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "wyoming_piper", "--uri", f"tcp://{LOOPBACK}:{port}"]
    argv += ["--voice", WYOMING_VOICE, "--data-dir", str(folder)]
    with running_process("wyoming-piper", argv, port, _wyoming_ready) as server:
        yield server


@contextmanager
def running_piper_http(folder: Path) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "piper.http_server", "-m", str(model_path())]
    argv += ["--host", LOOPBACK, "--port", str(port), "--data-dir", str(folder)]
    with running_process("piper http_server", argv, port, http_ok("/info")) as server:
        yield server


@contextmanager
def running_peers() -> Iterator[list[WyomingClient | PiperHttpClient]]:
    """wyoming-piper and piper's HTTP server on free loopback ports; yields their clients
    and stops both servers after."""
    with voice_dir() as folder:
        print("starting wyoming-piper and piper.http_server...", file=sys.stderr)
        with running_wyoming(folder) as wyoming, running_piper_http(folder) as http:
            yield [WyomingClient(wyoming.port), PiperHttpClient(http.port)]
