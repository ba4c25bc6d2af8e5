"""Server settings: every one typed, bounded and defaulted here.

`Settings(...)` in code is checked (types and bounds) but reads nothing else: flags, `TTSD_*`
environment variables and the TOML file are read by `ttsd serve` through
`server/settings_loader.py`, which gives them one precedence (flag > environment > file >
default) and names the key, the value and its source in any error (issue 9).
"""

from __future__ import annotations

from dataclasses import field, replace
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Interval, Le, MinLen
from pydantic import ConfigDict, DirectoryPath, FilePath
from pydantic.dataclasses import dataclass

from ttsd.protocol.limits import Limits
from ttsd.server.cpus import available_cores

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
#: Environment variable holding API keys, comma-separated.
API_KEYS_ENV = "TTSD_API_KEYS"

LogLevel = Literal["debug", "info", "warning", "error"]
KokoroMode = Literal["auto", "on", "off"]
LogFormat = Literal["text", "json"]

#: Largest `max_audio_frame_bytes`: its base64 (4/3 as long) plus the frame's JSON must stay
#: under the 1 MiB frame cap of the SDKs (docs/protocol.md §1.1).
MAX_AUDIO_FRAME_BYTES = 512 * 1024


def default_cores() -> int:
    """Cores this process may use (CPU affinity and cgroup quotas: server/cpus.py)."""
    return available_cores().cores


class SettingError(ValueError):
    """Values that are each in range but do not fit together; `key` names the one to fix."""

    def __init__(self, key: str, problem: str, value: object) -> None:
        super().__init__(f"{key} {problem}, not {value!r}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Settings:
    """Everything a running server needs to know; immutable once built."""

    host: Annotated[str, MinLen(1)] = DEFAULT_HOST
    port: Annotated[int, Interval(ge=1, le=65535)] = DEFAULT_PORT
    #: clients must present one of these; empty means no auth (and loopback by default)
    api_keys: tuple[Annotated[str, MinLen(1)], ...] = ()
    #: extra Piper voices (`*.onnx` + `*.onnx.json`)
    voices_dir: DirectoryPath | None = None
    #: foreign voice id → local voice id
    aliases: dict[str, str] = field(default_factory=dict)
    #: unknown voice ids are an error instead of falling back to the default voice
    strict_voices: bool = False
    #: a `language` the voice does not speak is spoken in the voice's own language, with
    #: one warning, instead of being refused with a 400 (engines/registry.py)
    language_fallback: bool = False
    #: the Kokoro-82M engine (issue 11): `auto` serves it when `ttsd[kokoro]` is installed,
    #: `on` refuses to start without it, `off` never loads it
    kokoro: KokoroMode = "auto"
    #: a Kokoro v1.0 ONNX file to use instead of the packaged int8 model (the fp32 export)
    kokoro_model: FilePath | None = None
    #: load every voice at start, so no request waits ~1.5 s for a voice's first use
    preload: bool = True
    #: web origins (`https://app.example.com`, or `*`) whose pages may call the REST
    #: endpoints: CORS headers for them, preflights answered without a key (server/origins.py)
    cors_origins: tuple[Annotated[str, MinLen(1)], ...] = ()
    #: refuse a WebSocket handshake whose `Origin` is not in `cors_origins` (a browser page
    #: of another site); clients that send no `Origin` (SDKs, servers) are not affected
    ws_check_origin: bool = False
    limits: Limits = field(default_factory=Limits)
    #: synthesis steps (one sentence each) that may run side by side. A step alone uses
    #: `engine_threads` cores (lowest latency for one stream); while several streams are
    #: busy, up to `parallel_steps` steps run side by side on `engine_threads //
    #: parallel_steps` cores each (more audio per second: benchmarks/README.md). 1: always
    #: one step at a time. Threads of this process, not processes (`--workers` of uvicorn
    #: and gunicorn are processes; ttsd's old `--workers` is a deprecated alias of this).
    parallel_steps: Annotated[int, Ge(1)] = field(default_factory=default_cores)
    #: ONNX Runtime intra-op threads of a step that runs alone
    engine_threads: Annotated[int, Ge(1)] = field(default_factory=default_cores)
    #: audio bytes in one `chunk` frame, before base64 (SDKs cap frames at 1 MiB)
    max_audio_frame_bytes: Annotated[int, Interval(ge=1, le=MAX_AUDIO_FRAME_BYTES)] = 32 * 1024
    #: frames that may wait to be written on one connection before senders wait
    send_queue_frames: Annotated[int, Ge(1)] = 64
    #: bytes of replies a connection may leave unread before it is closed (1008). Audio
    #: waits for room and takes at most half, so only control frames (errors, `done`,
    #: `flush_done`) that a client provokes and never reads can pass it. 8 MiB: a slow
    #: reader's full audio queue (64 frames of 32 KiB as base64 JSON, ~2.7 MiB) fits in
    #: the half, and the other half is thousands of control frames (~0.5 KiB each) more
    #: than a live client leaves unread; a flood is cut off at 8 MiB (server/outbox.py)
    max_unread_bytes: Annotated[int, Ge(1)] = 8 * 1024 * 1024
    #: a connection with no message for this long is closed (the hosted API: 5 minutes)
    connection_idle_timeout_s: Annotated[float, Gt(0)] = 300.0
    #: offer permessage-deflate on WebSockets. Off by default: audio frames are base64,
    #: which deflate shrinks by only ~28 % for ~2.6 ms of event-loop time per 32 KiB frame
    #: (the first audio waits for it, and 8 busy streams spend ~4 % of a core on it)
    ws_compression: bool = False
    #: hard cap on a WebSocket message at the transport (close 1009 beyond it)
    transport_max_message_bytes: Annotated[int, Ge(1)] = 16 * 1024 * 1024
    #: most bytes of one HTTP request's line + headers (WebSocket handshakes too): 431 and
    #: close beyond. Clients send under 8 KiB, browsers with many cookies ~16 KiB, and nginx
    #: by default passes at most 32 KiB (4 buffers of 8 KiB), so 64 KiB refuses no real
    #: request while a connection's head stays small in memory (uvicorn sets no bound)
    max_header_bytes: Annotated[int, Ge(1)] = 64 * 1024
    #: seconds a request's line + headers may take, from the connection's start or a later
    #: request's first byte: 408 and close beyond (slowloris). A real client sends its head
    #: in one round trip; 10 s is ample on a slow link and frees a stalled connection soon
    header_timeout_s: Annotated[float, Gt(0)] = 10.0
    #: serve HTTPS/WSS with this certificate (PEM) and key; both or neither
    ssl_certfile: FilePath | None = None
    ssl_keyfile: FilePath | None = None
    log_level: LogLevel = "info"
    #: `text` (one human-readable line per record) or `json` (one object per line, with
    #: `request_id` and `context_id` where known: server/logs.py)
    log_format: LogFormat = "text"
    #: one line per HTTP request and WebSocket handshake (uvicorn's access log)
    access_log: bool = True
    #: seconds a drain (SIGTERM/SIGINT) waits for started contexts and REST responses to
    #: finish before it ends what is left with a 503 error frame and close 1012. 20 s fits
    #: Kubernetes' default 30 s grace period after a 5 s preStop sleep, with the ≤ 5 s the
    #: process then takes to exit (server/drain.py EXPIRE_GRACE_S, server/serving.py)
    drain_timeout_s: Annotated[float, Ge(0), Le(24 * 3600)] = 20.0
    #: `GET /metrics` needs an API key too (by default it is public, like `/healthz`)
    metrics_require_key: bool = False
    #: cut each Piper voice into an encoder and a decoder run in windows, so a stream's first
    #: audio comes after a fraction of its first sentence (src/ttsd/engines/piper/chunked.py);
    #: off: whole sentences, each normalized to full scale by its own peak as Piper does
    chunked_decoder: bool = True

    def __post_init__(self) -> None:
        if self.max_unread_bytes < 4 * self.max_audio_frame_bytes:
            # One audio frame (base64 JSON, ~1.37 times its bytes) must fit in the audio
            # half of the budget, or a lone frame plus a `done` could overflow it.
            raise SettingError(
                "max_unread_bytes",
                f"must be at least 4 × max_audio_frame_bytes ({4 * self.max_audio_frame_bytes})",
                self.max_unread_bytes,
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            given, missing = ("ssl_certfile", "ssl_keyfile")[
                :: 1 if self.ssl_keyfile is None else -1
            ]
            raise SettingError(
                given,
                f"needs {missing} too (--{missing.replace('_', '-')}): TLS takes a "
                "certificate and its key",
                None,
            )

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-None fields replaced (and checked again)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
