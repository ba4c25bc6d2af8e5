"""Prometheus metrics of one ttsd server (issue 9): the families, `GET /metrics`, errors.

Each app has its own `CollectorRegistry` (never prometheus_client's global one), so
several servers in one process (the tests) keep their numbers apart. What each family
means, and how it is counted:

- `ttsd_time_to_first_audio_seconds{endpoint}` (histogram): WebSocket, from a context's
  first text arriving (`ConnectionCore.first_text_at`: buffering delays count) to its first
  audio frame queued for the client; REST (`bytes`, `sse`), from the request reaching the
  endpoint to its first audio being handed to the response body.
- `ttsd_synthesis_step_seconds` (histogram): wall time of each engine step on its worker
  thread (one chunk: inference, resampling, encoding, framing).
- `ttsd_audio_seconds_total{endpoint}`: seconds of audio sent (queued for a WebSocket
  client, handed to a REST body), from the samples, so it matches the bytes received.
- `ttsd_characters_total{endpoint}`: characters accepted for synthesis: the text of each
  segment a WebSocket context queues, the whole transcript of a REST request.
- `ttsd_connections` (gauge): open WebSocket connections.
- `ttsd_contexts` (gauge): WebSocket contexts live now plus REST synthesis requests in
  progress (each is one stream of speech).
- `ttsd_contexts_finished_total{outcome}`: each of those when it ends: `done` (all its
  audio sent), `cancelled` (the client cancelled it, closed its connection or left a REST
  response), `error` (an error frame ended it, a drain deadline's 503 too, or its REST
  synthesis failed).
- `ttsd_errors_total{error_code}`: each error ttsd sends, by `error_code`
  (protocol/errors.py): WebSocket error frames, JSON error responses (REST errors, refused
  keys, refused handshakes, a draining server's 503), SSE `error` events, and a
  `/tts/bytes` body cut because synthesis failed mid-stream (`synthesis_failed`). Requests
  refused by the HTTP parser itself (408, 431: server/http_protocol.py) never reach the app
  and are not counted.
- `ttsd_scheduler_queued_steps`, `ttsd_scheduler_running_steps` (gauges): synthesis steps
  waiting for a worker, and on one, read from the scheduler at scrape time.
- `ttsd_playback_underruns_total`: gaps in a stream's audio that ttsd caused: audio that
  came after a listener who started playing at the first audio would have run out, though
  its text was there in time (`Playback` in server/synthesis.py). Each gap counts once.
- `ttsd_load_ratio` (gauge) and `ttsd_load_seconds_total`: synthesis demanded against the
  machine's capacity over the last `LOAD_WINDOW_S` seconds, and its integral
  (server/load.py); 1.0 is exactly busy.

Plus prometheus_client's process (`process_*`), Python (`python_info`) and garbage
collector (`python_gc_*`) collectors: they read /proc and the interpreter at scrape time
only.

Nothing here costs a lock per audio frame: counters change once per step, segment,
context or error (prometheus_client's own lock), and the gauges are read at scrape time.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Final, Protocol

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsd.protocol.errors import ErrorCode
from ttsd.server.load import LOAD_WINDOW_S
from ttsd.server.scheduler import Scheduler

__all__ = [
    "ENDPOINTS",
    "FIRST_AUDIO_BUCKETS",
    "LOAD_WINDOW_S",
    "OUTCOMES",
    "STEP_BUCKETS",
    "ErrorMetricsMiddleware",
    "Metrics",
    "metrics_endpoint",
]

#: `endpoint` label values: the WebSocket, the two REST synthesis endpoints, and OpenAI's
#: `POST /v1/audio/speech`.
ENDPOINTS: Final = ("websocket", "bytes", "sse", "openai")
#: `outcome` label values of `ttsd_contexts_finished_total`.
OUTCOMES: Final = ("done", "cancelled", "error")
#: `error_code` label of an error whose code ttsd does not know (keeps the label bounded).
OTHER_ERROR = "other"

#: First-audio buckets: 20 ms to 10 s, finest where a voice agent's budget lies (< 1 s).
FIRST_AUDIO_BUCKETS: Final = (
    0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5,
    0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
)  # fmt: skip
#: Step buckets: a few ms (a word) to seconds (a long sentence on one core).
STEP_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0,
)  # fmt: skip

#: Bytes of an error response body read for its `error_code` (ttsd's are under 1 KiB).
_MAX_ERROR_BODY = 64 * 1024
_KNOWN_CODES: Final = frozenset(str(code) for code in ErrorCode)


class _Drain(Protocol):
    @property
    def busy(self) -> tuple[int, int]:
        """Open WebSocket connections and REST requests in flight."""
        ...


class MetricsSource(Protocol):
    """What the gauges read at scrape time (a `Runtime`)."""

    @property
    def scheduler(self) -> Scheduler:
        """The synthesis scheduler."""
        ...

    @property
    def drain(self) -> _Drain:
        """The drain state, which tracks the open connections."""
        ...


class Metrics:
    """The server's metric families, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.first_audio = Histogram(
            "ttsd_time_to_first_audio_seconds",
            "Seconds from a context's first text (REST: the request) to its first audio sent",
            ["endpoint"],
            buckets=FIRST_AUDIO_BUCKETS,
            registry=registry,
        )
        self.step_seconds = Histogram(
            "ttsd_synthesis_step_seconds",
            "Seconds one synthesis step (one chunk of audio) took on its worker thread",
            buckets=STEP_BUCKETS,
            registry=registry,
        )
        self.audio_seconds = Counter(
            "ttsd_audio_seconds",
            "Seconds of audio sent to clients",
            ["endpoint"],
            registry=registry,
        )
        self.characters = Counter(
            "ttsd_characters",
            "Characters of text accepted for synthesis",
            ["endpoint"],
            registry=registry,
        )
        self.contexts_finished = Counter(
            "ttsd_contexts_finished",
            "Contexts and REST synthesis requests ended, by outcome (done, cancelled, error)",
            ["outcome"],
            registry=registry,
        )
        self.errors = Counter(
            "ttsd_errors",
            "Errors sent to clients (error frames, JSON error responses, SSE error events)",
            ["error_code"],
            registry=registry,
        )
        self.underruns = Counter(
            "ttsd_playback_underruns",
            "Gaps where a stream's next audio came after its listener would have run dry",
            registry=registry,
        )
        # Every label value from the start, so that rate() sees the first increase.
        for endpoint in ENDPOINTS:
            self.first_audio.labels(endpoint=endpoint)
            self.audio_seconds.labels(endpoint=endpoint)
            self.characters.labels(endpoint=endpoint)
        for outcome in OUTCOMES:
            self.contexts_finished.labels(outcome=outcome)
        for code in sorted(_KNOWN_CODES):
            self.errors.labels(error_code=code)
        #: the streams (contexts, REST requests) live now: `ttsd_contexts`
        self.live: weakref.WeakSet[object] = weakref.WeakSet()
        self._source: MetricsSource | None = None
        registry.register(_StateCollector(self))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def watch(self, source: MetricsSource) -> None:
        """Read the scheduler and connection gauges from `source` at scrape time."""
        self._source = source

    @property
    def source(self) -> MetricsSource | None:
        """What the gauges read, once `watch` was called."""
        return self._source

    def count_error(self, error_code: str) -> None:
        """One error sent to a client (`ttsd_errors_total`)."""
        code = error_code if error_code in _KNOWN_CODES else OTHER_ERROR
        self.errors.labels(error_code=code).inc()

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the format `accept` asks for (Prometheus text by default, or
        OpenMetrics), and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _StateCollector:
    """The gauges read from the server's state when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        """The families, without values (registered before the server has started)."""
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        """The families with their values now."""
        return self._families(self._metrics.source)

    def _families(self, source: MetricsSource | None) -> Iterator[Metric]:
        connections = GaugeMetricFamily("ttsd_connections", "Open WebSocket connections")
        contexts = GaugeMetricFamily(
            "ttsd_contexts", "Live WebSocket contexts plus REST synthesis requests in progress"
        )
        queued = GaugeMetricFamily(
            "ttsd_scheduler_queued_steps", "Synthesis steps waiting for a worker"
        )
        running = GaugeMetricFamily(
            "ttsd_scheduler_running_steps", "Synthesis steps running on a worker"
        )
        ratio = GaugeMetricFamily(
            "ttsd_load_ratio",
            f"Synthesis demanded (steps running or waiting) over capacity, averaged over "
            f"the last {LOAD_WINDOW_S:g} s; 1 = exactly busy",
        )
        total = CounterMetricFamily(
            "ttsd_load_seconds",
            "Integral of the load ratio over time: rate() of it is the load ratio",
        )
        if source is not None:
            scheduler = source.scheduler
            connections.add_metric([], source.drain.busy[0])
            contexts.add_metric([], len(self._metrics.live))
            queued.add_metric([], scheduler.queued)
            running.add_metric([], scheduler.running)
            ratio.add_metric([], scheduler.load.ratio())
            total.add_metric([], scheduler.load.total())
        yield from (connections, contexts, queued, running, ratio, total)


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`: the Prometheus exposition (no key needed unless
    `metrics_require_key`; server/auth.py)."""
    metrics: Metrics = request.app.state.runtime.metrics
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})


class ErrorMetricsMiddleware:
    """Counts the JSON errors answered to HTTP requests and WebSocket handshakes.

    Outermost, so it sees every refusal (an API key, a draining server) as well as the
    endpoints' errors: for a response with status ≥ 400 it reads the body (ttsd's error
    bodies are a few hundred bytes) and counts its `error_code`. Other responses, and the
    frames of an accepted WebSocket, pass with one dictionary lookup each.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        reading = False

        async def watching_send(message: Message) -> None:
            nonlocal reading
            kind = message["type"]
            if kind == "http.response.start" or kind == "websocket.http.response.start":
                reading = message["status"] >= 400
            elif reading and (
                kind == "http.response.body" or kind == "websocket.http.response.body"
            ):
                chunk = message.get("body", b"")
                if len(body) + len(chunk) <= _MAX_ERROR_BODY:
                    body.extend(chunk)
                if not message.get("more_body", False):
                    reading = False
                    _count_error_body(scope, bytes(body))
            await send(message)

        await self.app(scope, receive, watching_send)


def _count_error_body(scope: Scope, body: bytes) -> None:
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    metrics = getattr(runtime, "metrics", None)
    if not isinstance(metrics, Metrics):
        return
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return
    code = None
    if isinstance(payload, dict):
        # ttsd's shape, or OpenAI's `{"error": {"code": ...}}` (protocol/openai.py)
        inner = payload.get("error")
        code = inner.get("code") if isinstance(inner, dict) else payload.get("error_code")
    if isinstance(code, str):
        metrics.count_error(code)
