"""Server settings: defaults, the TOML config file, and what the CLI overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ttsd.protocol.limits import Limits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
#: Environment variable holding API keys, comma-separated.
API_KEYS_ENV = "TTSD_API_KEYS"


@dataclass(frozen=True)
class Settings:
    """Everything a running server needs to know; immutable once built."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: clients must present one of these; empty means no auth (and loopback by default)
    api_keys: tuple[str, ...] = ()
    #: extra Piper voices (`*.onnx` + `*.onnx.json`)
    voices_dir: Path | None = None
    #: foreign voice id → local voice id
    aliases: dict[str, str] = field(default_factory=dict)
    #: unknown voice ids are an error instead of falling back to the default voice
    strict_voices: bool = False
    limits: Limits = field(default_factory=Limits)
    #: synthesis steps (one sentence each) that may run at once. A step alone uses
    #: `engine_threads` cores (lowest latency for one stream); while several streams are
    #: busy, up to `workers` steps run side by side on `engine_threads // workers` cores
    #: each (more audio per second: benchmarks/README.md). 1: always one step at a time.
    workers: int = max(1, os.cpu_count() or 1)
    #: ONNX Runtime intra-op threads of a step that runs alone
    engine_threads: int = max(1, os.cpu_count() or 1)
    #: audio bytes in one `chunk` frame, before base64 (SDKs cap frames at 1 MiB)
    max_audio_frame_bytes: int = 32 * 1024
    #: frames that may wait to be written on one connection before senders wait
    send_queue_frames: int = 64
    #: bytes of replies a connection may leave unread before it is closed (1008). Audio
    #: waits for room and takes at most half, so only control frames (errors, `done`,
    #: `flush_done`) that a client provokes and never reads can pass it. 8 MiB: a slow
    #: reader's full audio queue (64 frames of 32 KiB as base64 JSON, ~2.7 MiB) fits in
    #: the half, and the other half is thousands of control frames (~0.5 KiB each) more
    #: than a live client leaves unread; a flood is cut off at 8 MiB (server/outbox.py)
    max_unread_bytes: int = 8 * 1024 * 1024
    #: a connection with no message for this long is closed (the hosted API: 5 minutes)
    connection_idle_timeout_s: float = 300.0
    #: offer permessage-deflate on WebSockets. Off by default: audio frames are base64,
    #: which deflate shrinks by only ~28 % for ~2.6 ms of event-loop time per 32 KiB frame
    #: (the first audio waits for it, and 8 busy streams spend ~4 % of a core on it)
    ws_compression: bool = False
    #: hard cap on a WebSocket message at the transport (close 1009 beyond it)
    transport_max_message_bytes: int = 16 * 1024 * 1024
    #: most bytes of one HTTP request's line + headers (WebSocket handshakes too): 431 and
    #: close beyond. Clients send under 8 KiB, browsers with many cookies ~16 KiB, and nginx
    #: by default passes at most 32 KiB (4 buffers of 8 KiB), so 64 KiB refuses no real
    #: request while a connection's head stays small in memory (uvicorn sets no bound)
    max_header_bytes: int = 64 * 1024
    #: seconds a request's line + headers may take, from the connection's start or a later
    #: request's first byte: 408 and close beyond (slowloris). A real client sends its head
    #: in one round trip; 10 s is ample on a slow link and frees a stalled connection soon
    header_timeout_s: float = 10.0
    log_level: str = "info"
    #: `text` (one human-readable line per record) or `json` (one object per line, with
    #: `request_id` and `context_id` where known)
    log_format: str = "text"
    #: one line per HTTP request and WebSocket handshake (uvicorn's access log)
    access_log: bool = True
    #: seconds a drain (SIGTERM/SIGINT) waits for started contexts and REST responses to
    #: finish before it ends what is left with a 503 error frame and close 1012. 25 s fits
    #: Kubernetes' default 30 s grace period with room to exit (deploy/kubernetes/)
    drain_timeout_s: float = 25.0
    #: `GET /metrics` needs an API key too (by default it is public, like `/healthz`)
    metrics_require_key: bool = False

    def __post_init__(self) -> None:
        for name in ("workers", "engine_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.max_unread_bytes < 4 * self.max_audio_frame_bytes:
            # One audio frame (base64 JSON, ~1.37 times its bytes) must fit in the audio
            # half of the budget, or a lone frame plus a `done` could overflow it.
            raise ValueError(
                f"max_unread_bytes must be at least 4 × max_audio_frame_bytes "
                f"({4 * self.max_audio_frame_bytes}), not {self.max_unread_bytes}"
            )
        if self.log_format not in ("text", "json"):
            raise ValueError(f"log_format must be 'text' or 'json', not {self.log_format!r}")
        if self.drain_timeout_s < 0:
            raise ValueError(f"drain_timeout_s must be at least 0, not {self.drain_timeout_s}")
        for name in ("max_header_bytes", "header_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-None fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def api_keys_from_env(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Keys from `TTSD_API_KEYS` (comma-separated)."""
    raw = (environ if environ is not None else os.environ).get(API_KEYS_ENV, "")
    return tuple(key.strip() for key in raw.split(",") if key.strip())


def load_config(path: Path, base: Settings | None = None) -> Settings:
    """Settings from a TOML file (see `examples/ttsd.toml`), on top of `base`.

    Unknown keys are an error, so a typo does not silently do nothing.
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    settings = base or Settings()
    server = dict(data.pop("server", {}))
    limits = dict(data.pop("limits", {}))
    voices = dict(data.pop("voices", {}))
    aliases = dict(data.pop("aliases", {}))
    if data:
        raise ValueError(f"{path}: unknown sections {sorted(data)}")
    _check_keys(path, "server", server, {f.name for f in fields(Settings)} - {"limits"})
    _check_keys(path, "limits", limits, {f.name for f in fields(Limits)})
    _check_keys(path, "voices", voices, {"dir", "strict"})
    if "voices_dir" in server or "dir" in voices:
        server["voices_dir"] = Path(server.pop("voices_dir", voices.get("dir")))
    if "api_keys" in server:
        server["api_keys"] = tuple(server["api_keys"])
    return replace(
        settings,
        **server,
        limits=replace(settings.limits, **limits),
        aliases={**settings.aliases, **{str(k): str(v) for k, v in aliases.items()}},
        strict_voices=bool(voices.get("strict", settings.strict_voices)),
    )


def _check_keys(path: Path, section: str, values: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"{path}: unknown keys in [{section}]: {sorted(unknown)}")
