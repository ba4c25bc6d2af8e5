"""The streaming clients of deploy/nginx/rolling_restart.py: pooled WebSocket
connections that open contexts in rounds, push their text in pieces with manual flushes
and word timestamps, check every frame that comes back, and reopen a connection closed
with 1012 ("service restart"), sending again the contexts that got nothing back on it.

The rules a pooled client follows across a server's drain (README "Running in
production"): a context that got any frame is the server's to finish; one that got no
frame before the 1012, or was about to be opened on a connection already closed, is sent
again on a new connection (ttsd's SDK does the same); anything else is lost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import random
import time
from array import array
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

#: the audio asked for: the voice's own rate, so nothing is resampled
SAMPLE_RATE = 22050
VOICE = "en_US-joe-medium"
#: the response header naming the backend a proxy chose, where it adds one (cluster.py's
#: top-level nginx config does); a connection records it to count what each backend served
UPSTREAM_HEADER = "X-Ttsd-Upstream"
#: WebSocket close code a draining ttsd sends a connection with no live context
SERVICE_RESTART = 1012
#: speech of the default voice runs ~0.06 s a character; audio outside these bounds
#: (seconds per character of transcript) means a segment was dropped or repeated
SECONDS_PER_CHAR = (0.025, 0.14)
#: RMS (of 16-bit samples) under which a context's audio counts as silent
SILENCE_RMS = 150.0

#: sentences the contexts are made of (three each: one per flush segment)
SENTENCES = (
    "Thanks for calling us today.",
    "Your order left this morning.",
    "It should arrive on Friday.",
    "Please keep your receipt.",
    "The weather will stay mild.",
    "A light breeze comes tonight.",
    "The next train leaves at noon.",
    "Platform four is down the hall.",
    "Shall I read that back to you?",
    "I booked a table for two.",
    "The meeting moved upstairs.",
    "Bring the signed copy with you.",
    "Your balance is lower this week.",
    "We will send you a reminder.",
    "That is all for now.",
    "Have a good evening, and goodbye.",
)


class LoadError(RuntimeError):
    """The clients could not go on (no connection, no audio)."""


@dataclass(frozen=True, slots=True)
class LoadShape:
    """How the clients behave."""

    #: contexts a connection opens per round, staggered, all live at once
    contexts_per_connection: int = 4
    #: seconds between the openings of a round's contexts
    stagger_s: float = 0.25
    #: seconds a connection idles between rounds (a pooled socket between utterances)
    think_s: tuple[float, float] = (0.3, 0.8)
    #: seconds between the pieces of text a context sends
    piece_delay_s: float = 0.05
    #: times a context is sent again after a 1012 before it counts as lost
    max_retries: int = 5
    #: seconds a context may take from its first message to `done`
    context_timeout_s: float = 120.0
    seed: int = 9


# --- contexts -------------------------------------------------------------------------------


@dataclass(slots=True)
class Attempt:
    """One sending of a context on one connection (times: time.monotonic())."""

    connection: int
    #: the backend's `host:port` (the proxy's UPSTREAM_HEADER), "?" where not known
    upstream: str
    #: when the connection's handshake completed
    handshake_at: float
    #: when the context's first message was sent
    opened_at: float
    first_audio_s: float | None = None
    frames: int = 0
    close_code: int | None = None


@dataclass(slots=True)
class ContextRun:
    """A context: its text, its attempts and what came back on the last one."""

    context_id: str
    segments: list[list[str]]
    phase: str = "load"
    attempts: list[Attempt] = field(default_factory=list)
    #: times it was sent again (or opened on a new connection) after a 1012
    retries: int = 0
    outcome: str = "pending"
    reason: str = ""
    kinds: list[str] = field(default_factory=list)
    chunk_flush_ids: list[int] = field(default_factory=list)
    flush_dones: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    word_ends: list[float] = field(default_factory=list)
    segment_samples: Counter[int] = field(default_factory=Counter)
    audio: bytearray = field(default_factory=bytearray)
    frames_after_done: int = 0

    @property
    def text(self) -> str:
        return "".join(piece for segment in self.segments for piece in segment)

    def reset(self) -> None:
        """Forget what an abandoned attempt received (it had no frames, but be sure)."""
        self.kinds.clear()
        self.chunk_flush_ids.clear()
        self.flush_dones.clear()
        self.words.clear()
        self.word_ends.clear()
        self.segment_samples.clear()
        self.audio.clear()

    def record(self, frame: dict[str, Any], attempt: Attempt) -> None:
        kind = str(frame.get("type"))
        attempt.frames += 1
        if self.kinds and self.kinds[-1] in ("done", "error"):
            self.frames_after_done += 1
        self.kinds.append(kind)
        if kind == "chunk":
            if attempt.first_audio_s is None:
                attempt.first_audio_s = time.monotonic() - attempt.opened_at
            samples = base64.b64decode(frame["data"])
            self.audio += samples
            flush_id = int(frame.get("flush_id", -1))
            self.chunk_flush_ids.append(flush_id)
            self.segment_samples[flush_id] += len(samples) // 2
        elif kind == "flush_done":
            self.flush_dones.append(int(frame.get("flush_id", -1)))
        elif kind == "timestamps":
            stamps = frame.get("word_timestamps") or {}
            self.words += stamps.get("words", [])
            self.word_ends += stamps.get("end", [])
        elif kind == "error":
            self.reason = f"error frame {frame.get('status_code')}: {frame.get('message')}"

    @property
    def audio_s(self) -> float:
        return len(self.audio) / 2 / SAMPLE_RATE

    def problems(self) -> list[str]:
        """What a user would check in what came back; empty when all is well."""
        out: list[str] = []
        if not self.kinds or self.kinds[-1] != "done" or self.kinds.count("done") != 1:
            out.append(f"done is not the last frame, once: {self.kinds[-3:]}")
        if self.frames_after_done:
            out.append(f"{self.frames_after_done} frames after done")
        if "error" in self.kinds:
            out.append(self.reason)
        text = self.text
        low, high = (len(text) * bound for bound in SECONDS_PER_CHAR)
        if not low <= self.audio_s <= high:
            out.append(f"{self.audio_s:.2f} s of audio for {len(text)} characters")
        samples = array("h", bytes(self.audio[: len(self.audio) // 2 * 2]))
        rms = (sum(s * s for s in samples) / len(samples)) ** 0.5 if samples else 0.0
        if rms < SILENCE_RMS:
            out.append(f"silent (RMS {rms:.0f})")
        want = list(range(1, len(self.segments) + 1))
        if self.chunk_flush_ids != sorted(self.chunk_flush_ids):
            out.append("chunk flush ids out of order")
        if sorted(set(self.chunk_flush_ids)) != want:
            out.append(f"chunk flush ids {sorted(set(self.chunk_flush_ids))}, want {want}")
        if self.flush_dones != want[:-1]:
            out.append(f"flush_done ids {self.flush_dones}, want {want[:-1]}")
        out += self._flush_done_placement()
        for flush_id, segment in zip(want, self.segments, strict=True):
            seconds = self.segment_samples[flush_id] / SAMPLE_RATE
            chars = len("".join(segment))
            if seconds < chars * SECONDS_PER_CHAR[0]:
                out.append(f"segment {flush_id}: {seconds:.2f} s for {chars} characters")
        if self.words != text.split():
            out.append(f"timestamp words {self.words} are not the transcript's")
        elif self.word_ends and max(self.word_ends) > self.audio_s + 0.05:
            out.append(f"a word ends at {max(self.word_ends):.2f} s, after the audio")
        return out

    def _flush_done_placement(self) -> list[str]:
        # flush_done k follows the last chunk of segment k and precedes any of k + 1
        out: list[str] = []
        current = 0
        for kind_index, kind in enumerate(self.kinds):
            if kind == "chunk":
                current += 1
            if kind != "flush_done":
                continue
            done_id = self.flush_dones[self.kinds[:kind_index].count("flush_done")]
            before = self.chunk_flush_ids[:current]
            after = self.chunk_flush_ids[current:]
            if (before and before[-1] != done_id) or any(f <= done_id for f in after):
                out.append(f"flush_done {done_id} is not right after its segment's audio")
        return out


def make_context(context_id: str, rng: random.Random) -> ContextRun:
    """Three short sentences, one per flush segment, each cut into pieces of 2-3 words."""
    segments: list[list[str]] = []
    for sentence in rng.sample(SENTENCES, 3):
        words = sentence.split()
        pieces: list[str] = []
        while words:
            size = rng.choice((2, 3))
            pieces.append(" ".join(words[:size]) + " ")
            words = words[size:]
        segments.append(pieces)
    return ContextRun(context_id=context_id, segments=segments)


def request(context_id: str, transcript: str, *, more: bool, flush: bool = False) -> str:
    """One generation request of a streamed context."""
    message: dict[str, Any] = {
        "model_id": "sonic-3",
        "voice": {"mode": "id", "id": VOICE},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE},
        "language": "en",
        "context_id": context_id,
        "transcript": transcript,
        "continue": more,
        "add_timestamps": True,
    }
    if flush:
        message["flush"] = True
    return json.dumps(message)


# --- connections -----------------------------------------------------------------------

_CLOSED = object()


class Link:
    """One WebSocket connection: a reader routes each frame to its context's queue; at
    the close every queue gets `_CLOSED` and `close_code` says why."""

    def __init__(self, ws: ClientConnection, index: int, upstream: str) -> None:
        self.ws = ws
        self.index = index
        self.upstream = upstream
        self.handshake_at = time.monotonic()
        self.queues: dict[str, asyncio.Queue[object]] = {}
        self.contexts: dict[str, ContextRun] = {}
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self.stray_frames = 0
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                queue = self.queues.get(str(frame.get("context_id")))
                if queue is None:
                    self.stray_frames += 1
                else:
                    queue.put_nowait(frame)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
            self.closed.set()
            for queue in self.queues.values():
                queue.put_nowait(_CLOSED)

    def register(self, context: ContextRun) -> asyncio.Queue[object]:
        """The queue of `context`'s frames on this connection."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        self.queues[context.context_id] = queue
        self.contexts[context.context_id] = context
        return queue

    async def close(self) -> None:
        """Close (if the server has not), then count the frames that came for a context
        after its `done` (its reader stopped at `done`; the queue kept the rest)."""
        with contextlib.suppress(ConnectionClosed, OSError):
            await self.ws.close()
        await self.reader
        for context_id, queue in self.queues.items():
            context = self.contexts[context_id]
            while not queue.empty():
                if queue.get_nowait() is not _CLOSED and context.outcome == "completed":
                    context.frames_after_done += 1


@dataclass(slots=True)
class ConnectionStats:
    """What happened to the client's connections."""

    opened: int = 0
    closed_codes: Counter[int] = field(default_factory=Counter)
    #: handshakes nginx answered with an error (every backend refused), tried again
    handshake_retries: int = 0
    handshake_statuses: Counter[str] = field(default_factory=Counter)
    stray_frames: int = 0


class Load:
    """The streaming clients: pooled connections to `url`, rounds of contexts.

    `pooled_connection()` runs one pooled client until `stopping` is set and its retries
    are done; `single()` runs one context on a connection of its own.
    """

    def __init__(self, url: str, shape: LoadShape) -> None:
        self.url = url
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.contexts: list[ContextRun] = []
        self.connections = ConnectionStats()
        self.stopping = asyncio.Event()
        self.first_audio = asyncio.Event()
        self.links: dict[int, Link] = {}
        #: (backend address, future) pairs waiting for a round to start there
        self._round_waiters: list[tuple[str, asyncio.Future[None]]] = []
        self._ids = itertools.count(1)
        self._link_ids = itertools.count(1)

    def new_context(self, phase: str) -> ContextRun:
        context = make_context(f"ctx-{next(self._ids):04d}", self.rng)
        context.phase = phase
        self.contexts.append(context)
        return context

    def live_on(self, address: str) -> int:
        """Contexts in flight on connections to the backend at `address`."""
        return sum(
            1
            for context in self.contexts
            if context.outcome == "pending"
            and context.attempts
            and context.attempts[-1].close_code is None
            and context.attempts[-1].upstream == address
        )

    async def open_link(self) -> Link:
        """A new connection through nginx; retried while nginx answers with an error."""
        delay = 0.1
        for _ in range(100):
            try:
                ws = await connect(
                    self.url, compression=None, open_timeout=15, max_size=2**24, close_timeout=5
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.connections.handshake_statuses[str(status)] += 1
                retry_after = exc.response.headers.get("Retry-After", "")
                wait = float(retry_after) if retry_after.isdigit() else delay
            except (InvalidHandshake, OSError, TimeoutError) as exc:
                self.connections.handshake_statuses[type(exc).__name__] += 1
                wait = delay
            else:
                headers = ws.response.headers if ws.response is not None else {}
                upstream = headers.get(UPSTREAM_HEADER, "?").split(",")[-1].strip()
                link = Link(ws, next(self._link_ids), upstream)
                self.links[link.index] = link
                self.connections.opened += 1
                return link
            self.connections.handshake_retries += 1
            await asyncio.sleep(min(wait, 2.0))
            delay = min(delay * 2, 1.0)
        raise LoadError(f"could not open a connection to {self.url}")

    async def pooled_connection(self) -> None:
        """Rounds of staggered contexts on one connection; reopened after a close, with
        the contexts the close left unanswered first."""
        pending: deque[ContextRun] = deque()
        size = self.shape.contexts_per_connection
        while pending or not self.stopping.is_set():
            link = await self.open_link()
            try:
                while not link.closed.is_set():
                    batch = [pending.popleft() for _ in range(min(size, len(pending)))]
                    while len(batch) < size and not self.stopping.is_set():
                        batch.append(self.new_context("load"))
                    if not batch:
                        break
                    self._round_started(link.upstream)
                    outcomes = await asyncio.gather(
                        *(
                            self.drive(link, context, i * self.shape.stagger_s)
                            for i, context in enumerate(batch)
                        )
                    )
                    pending.extend(c for c, retry in zip(batch, outcomes, strict=True) if retry)
                    if not pending:
                        think = self.rng.uniform(*self.shape.think_s)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(link.closed.wait(), think)
            finally:
                await self.close_link(link)

    async def next_round_on(self, address: str, timeout_s: float) -> bool:
        """Wait until a connection to the backend at `address` starts a round (sends its
        first context); False if none did within `timeout_s`."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._round_waiters.append((address, future))
        try:
            await asyncio.wait_for(future, timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._round_waiters = [w for w in self._round_waiters if w[1] is not future]

    def _round_started(self, address: str) -> None:
        for waiting, future in self._round_waiters:
            if waiting == address and not future.done():
                future.set_result(None)

    async def close_link(self, link: Link) -> None:
        await link.close()
        self.connections.closed_codes[link.close_code or 1006] += 1
        self.connections.stray_frames += link.stray_frames

    async def single(self, phase: str) -> ContextRun:
        """One context on a connection of its own (retried like the pooled ones)."""
        context = self.new_context(phase)
        while True:
            link = await self.open_link()
            try:
                if not await self.drive(link, context, 0.0):
                    return context
            finally:
                await self.close_link(link)

    async def drive(self, link: Link, context: ContextRun, delay: float) -> bool:
        """Send `context` on `link` and read its frames; True when it must be sent again
        on a new connection (the 1012 came before any frame of it)."""
        await asyncio.sleep(delay)
        if link.closed.is_set():
            # opened after its connection's 1012: it goes on the next connection
            return self._retry(context, "opened after the connection closed", link.close_code)
        queue = link.register(context)
        attempt = Attempt(link.index, link.upstream, link.handshake_at, time.monotonic())
        context.attempts.append(attempt)
        context.reset()
        sender = asyncio.create_task(self._send(link, context))
        try:
            deadline = time.monotonic() + self.shape.context_timeout_s
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = await asyncio.wait_for(queue.get(), max(0.0, remaining))
                except TimeoutError:
                    context.outcome, context.reason = "lost", "no done in time"
                    return False
                if item is _CLOSED:
                    break
                assert isinstance(item, dict)
                context.record(item, attempt)
                if attempt.first_audio_s is not None and not self.first_audio.is_set():
                    self.first_audio.set()
                if item.get("type") in ("done", "error"):
                    break
        finally:
            if not sender.done():
                sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
        if context.kinds and context.kinds[-1] == "done":
            context.outcome = "completed"
            return False
        if context.kinds and context.kinds[-1] == "error":
            context.outcome = "lost"
            return False
        attempt.close_code = link.close_code
        if attempt.frames == 0 and link.close_code == SERVICE_RESTART:
            return self._retry(context, "1012 before any frame", link.close_code)
        context.outcome = "lost"
        context.reason = f"connection closed {link.close_code} after {attempt.frames} frames"
        return False

    def _retry(self, context: ContextRun, why: str, code: int | None) -> bool:
        context.retries += 1
        if context.retries > self.shape.max_retries:
            context.outcome = "lost"
            context.reason = f"{why} ({code}) {context.retries} times"
            return False
        return True

    async def _send(self, link: Link, context: ContextRun) -> None:
        cid = context.context_id
        for index, segment in enumerate(context.segments):
            for piece in segment:
                await link.ws.send(request(cid, piece, more=True))
                await asyncio.sleep(self.shape.piece_delay_s)
            if index < len(context.segments) - 1:
                await link.ws.send(request(cid, "", more=True, flush=True))
        await link.ws.send(request(cid, "", more=False))

    def close_all(self) -> None:
        """Close the connections still open (after a failure)."""
        for link in self.links.values():
            if not link.closed.is_set():
                link.reader.cancel()


# --- first audio: nginx against direct ----------------------------------------------------


async def first_audio_once(url: str, text: str) -> float:
    """Seconds from a one-message context's request to its first audio; waits for done."""
    async with connect(url, compression=None, open_timeout=15, max_size=2**24) as ws:
        started = time.perf_counter()
        await ws.send(request("probe", text, more=False))
        first: float | None = None
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "chunk" and first is None:
                first = time.perf_counter() - started
            if frame.get("type") in ("done", "error"):
                break
    if first is None:
        raise LoadError(f"probe through {url} got no audio: {frame}")
    return first


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- REST during the restart -------------------------------------------------------------


@dataclass(slots=True)
class RestStats:
    """POST /tts/bytes through nginx during the rolling restart."""

    requests: int = 0
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)


async def rest_trickle(url: str, interval_s: float, stop: asyncio.Event, stats: RestStats) -> None:
    body = {
        "model_id": "sonic-3",
        "transcript": "Your call is important to us.",
        "voice": {"mode": "id", "id": VOICE},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000},
    }
    async with httpx.AsyncClient(timeout=60.0) as client:
        while not stop.is_set():
            stats.requests += 1
            try:
                response = await client.post(url + "/tts/bytes", json=body)
                if response.status_code == 200 and len(response.content) > 16000:
                    stats.ok += 1
                else:
                    stats.failures[f"{response.status_code} ({len(response.content)} bytes)"] += 1
            except httpx.HTTPError as exc:
                stats.failures[type(exc).__name__] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
