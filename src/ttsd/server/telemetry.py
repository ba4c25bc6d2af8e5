"""One stream of speech as the metrics and the log see it, and its summary line.

A stream is a WebSocket context or a REST synthesis request (`/tts/bytes`, `/tts/sse`).
Its `StreamTelemetry` is made when it starts (a context opens; a REST request is parsed
and its voice found), counts its characters, steps, audio and underruns into the
Prometheus families (server/metrics.py) as they happen, and when it ends (`finish`)
counts its outcome and logs one line on the `ttsd.requests` logger (INFO):

    context 'c1' on connection 5f0c… done: 52 characters, first audio 0.212 s,
    3.41 s of audio, real-time factor 0.093, 0 underruns, 0.61 s in all

The same numbers go in the record's `extra` fields (`request_id`, `context_id`,
`endpoint`, `outcome`, `characters`, `first_audio_s`, `audio_s`, `synthesis_s`,
`real_time_factor`, `underruns`, `duration_s`), which `--log-format json` writes as keys.

The **real-time factor** is synthesis time over audio time: the seconds the stream's
steps ran on worker threads, divided by the seconds of audio sent. 0.1 is ten times faster
than real time; at 1 or above a listener who plays as audio arrives runs dry.
"""

from __future__ import annotations

import logging
import time

from ttsd.protocol.shown import shown
from ttsd.server.metrics import ENDPOINTS, OUTCOMES, Metrics

#: The logger of the summary lines (one per finished context or REST request).
REQUESTS_LOGGER = logging.getLogger("ttsd.requests")

#: REST endpoint label → the request line the summary names.
_REST_REQUESTS = {
    "bytes": "POST /tts/bytes",
    "sse": "POST /tts/sse",
    "openai": "POST /v1/audio/speech",
}


def request_line(endpoint: str) -> str:
    """The request line of a REST synthesis endpoint's `endpoint` label, for log lines."""
    return _REST_REQUESTS[endpoint]


class StreamTelemetry:
    """The counts of one stream, fed to the metrics as they happen.

    `began_at` (monotonic seconds) is where its time to first audio starts: a REST
    request's arrival; for a WebSocket context its first text, set when that text is
    queued. Everything is called on the event loop.
    """

    def __init__(
        self,
        metrics: Metrics,
        endpoint: str,
        request_id: str,
        context_id: str | None = None,
        *,
        began_at: float | None = None,
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}, not {endpoint!r}")
        self._metrics = metrics
        self.endpoint = endpoint
        self.request_id = request_id
        self.context_id = context_id
        self.began_at = began_at
        self.opened_at = time.monotonic()
        self.characters = 0
        #: seconds from `began_at` to the first audio sent, None before it
        self.first_audio_s: float | None = None
        self.audio_s = 0.0
        self.synthesis_s = 0.0
        self.underruns = 0
        #: how it ended (one of `OUTCOMES`), None while it runs
        self.outcome: str | None = None
        self._characters = metrics.characters.labels(endpoint=endpoint)
        self._audio = metrics.audio_seconds.labels(endpoint=endpoint)
        self._first_audio = metrics.first_audio.labels(endpoint=endpoint)
        metrics.live.add(self)

    def accepted(self, characters: int) -> None:
        """`characters` more characters were accepted for synthesis."""
        self.characters += characters
        self._characters.inc(characters)

    def stepped(self, seconds: float, *, engine_step: bool = True) -> None:
        """A step of this stream ran for `seconds` on a worker; `engine_step` when it made
        an engine chunk (`ttsd_synthesis_step_seconds`), not a resampler's tail."""
        self.synthesis_s += seconds
        if engine_step:
            self._metrics.step_seconds.observe(seconds)

    def sent(self, seconds: float, now: float, *, first: bool, underrun: bool) -> None:
        """`seconds` of audio were sent at `now`: the stream's first audio, or after a gap
        that ttsd caused (`underrun`)."""
        self.audio_s += seconds
        self._audio.inc(seconds)
        if first and self.began_at is not None:
            self.first_audio_s = max(0.0, now - self.began_at)
            self._first_audio.observe(self.first_audio_s)
        if underrun:
            self.underruns += 1
            self._metrics.underruns.inc()

    @property
    def real_time_factor(self) -> float | None:
        """Synthesis seconds per second of audio sent (None before any audio)."""
        return self.synthesis_s / self.audio_s if self.audio_s > 0 else None

    def finish(self, outcome: str) -> None:
        """The stream ended (`done`, `cancelled` or `error`): count it and log its summary.
        Only the first call counts."""
        if self.outcome is not None:
            return
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        self.outcome = outcome
        self._metrics.live.discard(self)
        self._metrics.contexts_finished.labels(outcome=outcome).inc()
        if REQUESTS_LOGGER.isEnabledFor(logging.INFO):
            self._log()

    def _log(self) -> None:
        duration = time.monotonic() - self.opened_at
        rtf = self.real_time_factor
        if self.endpoint == "websocket":
            what = f"context {shown(self.context_id)} on connection {self.request_id}"
        else:
            what = f"{request_line(self.endpoint)} {self.request_id}"
            if self.context_id is not None:
                what += f" (context {shown(self.context_id)})"
        first = "-" if self.first_audio_s is None else f"{self.first_audio_s:.3f} s"
        REQUESTS_LOGGER.info(
            "%s %s: %d characters, first audio %s, %.2f s of audio, real-time factor %s, "
            "%d underrun%s, %.2f s in all",
            what,
            self.outcome,
            self.characters,
            first,
            self.audio_s,
            "-" if rtf is None else f"{rtf:.3f}",
            self.underruns,
            "" if self.underruns == 1 else "s",
            duration,
            extra={
                "request_id": self.request_id,
                "context_id": self.context_id,
                "endpoint": self.endpoint,
                "outcome": self.outcome,
                "characters": self.characters,
                "first_audio_s": _rounded(self.first_audio_s),
                "audio_s": _rounded(self.audio_s),
                "synthesis_s": _rounded(self.synthesis_s),
                "real_time_factor": None if rtf is None else float(f"{rtf:.4g}"),
                "underruns": self.underruns,
                "duration_s": _rounded(duration),
            },
        )


def _rounded(value: float | None) -> float | None:
    # Milliseconds are plenty in a log, and short numbers keep JSON lines readable.
    return None if value is None else round(value, 4)
