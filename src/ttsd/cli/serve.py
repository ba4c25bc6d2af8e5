"""`ttsd serve`: run the server.

Every setting has a flag here, a `TTSD_*` environment variable and a key in the TOML
config file; `server/settings_loader.py` reads them in one precedence (flag > environment >
file > default) and checks them all before anything starts. Each option's parameter is the
setting's canonical name, so the flags given go to the loader as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any, get_args

import click

from ttsd.protocol.limits import Limits
from ttsd.server.settings import API_KEYS_ENV, KokoroMode, LogFormat, LogLevel, Settings

_LOGGER = logging.getLogger("ttsd.serve")

#: Hosts that only this machine can reach: no warning for serving them without a key.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _aliases(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """`--alias FOREIGN=LOCAL` (repeatable) as a table; None when not given."""
    aliases: dict[str, str] = {}
    for item in value:
        foreign, sep, local = item.partition("=")
        if not sep or not foreign or not local:
            raise click.BadParameter(f"{item!r} is not FOREIGN_ID=LOCAL_VOICE_ID", ctx, param)
        aliases[foreign] = local
    return aliases or None


def _api_keys(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """A repeatable option as a tuple; None when not given (so a lower source applies)."""
    return value or None


@click.command()
@click.option("--host", default=None, help="Interface to bind.")
@click.option("--port", type=int, default=None, help="Port.")
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML config file (see examples/ttsd.toml; also $TTSD_CONFIG); flags and TTSD_* "
    "variables override it.",
)
@click.option(
    "--voices-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory of extra Piper voices (NAME.onnx + NAME.onnx.json).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    callback=_api_keys,
    help=f"Require this API key (repeatable; also ${API_KEYS_ENV}, comma-separated).",
)
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    callback=_aliases,
    metavar="FOREIGN=LOCAL",
    help="Serve voice id FOREIGN (e.g. a Cartesia voice UUID) with local voice LOCAL (repeatable).",
)
@click.option(
    "--strict-voices/--no-strict-voices",
    default=None,
    help="Unknown voice ids are errors, not the default voice.",
)
@click.option(
    "--language-fallback/--no-language-fallback",
    default=None,
    help="A `language` the voice does not speak is spoken in the voice's own language "
    "(logged once) instead of refused with a 400.",
)
@click.option(
    "--kokoro",
    type=click.Choice(get_args(KokoroMode)),
    default=None,
    help="The Kokoro-82M engine: auto serves it when ttsd[kokoro] is installed, on requires it.",
)
@click.option(
    "--kokoro-model",
    type=click.Path(path_type=Path),
    default=None,
    help="A Kokoro v1.0 ONNX file instead of the packaged int8 model.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    callback=_api_keys,
    help="A web origin whose pages may call the REST endpoints (repeatable; `*`: any); "
    "also $TTSD_CORS_ORIGINS, comma-separated [default: none].",
)
@click.option(
    "--ws-check-origin/--no-ws-check-origin",
    default=None,
    help="Refuse WebSocket handshakes from browser pages not in --cors-origin.",
)
@click.option(
    "--preload/--no-preload",
    default=None,
    help="Load every voice at start, so no request waits for one.",
)
@click.option(
    "--parallel-steps",
    type=int,
    default=None,
    help="Synthesis steps run side by side (threads of this process) while several streams "
    "are busy, on engine-threads/parallel-steps cores each [default: cores].",
)
@click.option(
    "--workers",
    "workers",
    type=int,
    default=None,
    help="Deprecated name of --parallel-steps (it is not a number of processes).",
)
@click.option(
    "--engine-threads",
    type=int,
    default=None,
    help="ONNX Runtime threads of a synthesis step that runs alone [default: cores].",
)
@click.option("--max-contexts", type=int, default=None, help="Live contexts per connection.")
@click.option(
    "--max-transcript-chars", type=int, default=None, help="Longest transcript per message."
)
@click.option(
    "--max-message-bytes", type=int, default=None, help="Largest WebSocket message or HTTP body."
)
@click.option(
    "--max-pending-chars",
    type=int,
    default=None,
    help="Text accepted but not yet spoken, per context.",
)
@click.option(
    "--max-context-id-chars",
    type=int,
    default=None,
    help="Longest context_id (400 beyond).",
)
@click.option(
    "--max-unread-bytes",
    type=int,
    default=None,
    help="Bytes of replies a client may leave unread before its connection is closed (1008).",
)
@click.option(
    "--max-audio-frame-bytes",
    type=int,
    default=None,
    help="Audio bytes in one chunk frame, before base64.",
)
@click.option(
    "--send-queue-frames",
    type=int,
    default=None,
    help="Frames waiting to be written on one connection before senders wait.",
)
@click.option(
    "--transport-max-message-bytes",
    type=int,
    default=None,
    help="Largest WebSocket message the transport takes (close 1009 beyond).",
)
@click.option(
    "--context-idle-timeout",
    "context_idle_timeout_s",
    type=float,
    default=None,
    help="Seconds an idle context waits for input before its `done`.",
)
@click.option(
    "--connection-idle-timeout",
    "connection_idle_timeout_s",
    type=float,
    default=None,
    help="Seconds with no message from the client and no frame to it before a connection "
    "is closed.",
)
@click.option(
    "--max-header-bytes",
    type=int,
    default=None,
    help="Most bytes of an HTTP request line + headers; 431 and close beyond.",
)
@click.option(
    "--header-timeout",
    "header_timeout_s",
    type=float,
    default=None,
    help="Seconds a request line + headers may take (slowloris); 408 and close beyond.",
)
@click.option(
    "--default-max-buffer-delay",
    "default_max_buffer_delay_ms",
    type=int,
    default=None,
    help="Milliseconds text waits for a sentence end when a request sets no "
    "max_buffer_delay_ms (0-5000).",
)
@click.option(
    "--flush-id-base",
    type=int,
    default=None,
    help="First flush_id of a context: 1 (docs) or 0 (0-based clients).",
)
@click.option(
    "--min-clause-words",
    type=int,
    default=None,
    help="Words a first segment needs before it may be cut at a clause end.",
)
@click.option(
    "--first-segment-delay",
    "first_segment_delay_ms",
    type=int,
    default=None,
    help="Milliseconds a context's first text waits for a sentence or clause end before it "
    "is cut at a phrase boundary (0: off).",
)
@click.option(
    "--max-step-chars",
    type=int,
    default=None,
    help="Characters one synthesis step speaks at most; longer text is cut at a clause, "
    "phrase or word boundary.",
)
@click.option(
    "--first-step-chars",
    type=int,
    default=None,
    help="The same for a context's first step, so its first audio comes soon.",
)
@click.option(
    "--ssl-certfile",
    type=click.Path(path_type=Path),
    default=None,
    help="Serve HTTPS/WSS with this certificate (PEM); the JS SDK always dials wss://.",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(path_type=Path),
    default=None,
    help="Private key (PEM) for --ssl-certfile.",
)
@click.option(
    "--ws-compression/--no-ws-compression",
    default=None,
    help="Offer permessage-deflate on WebSockets (base64 audio shrinks ~28 % for CPU time "
    "before every frame).",
)
@click.option(
    "--log-level",
    type=click.Choice(get_args(LogLevel)),
    default=None,
    help="Log level.",
)
@click.option(
    "--log-format",
    type=click.Choice(get_args(LogFormat)),
    default=None,
    help="text lines, or one JSON object per line.",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="One line per HTTP request and WebSocket handshake.",
)
@click.option(
    "--drain-timeout",
    "drain_timeout_s",
    type=float,
    default=None,
    help="Seconds SIGTERM waits for started contexts and responses before it ends them "
    "(503, close 1012).",
)
@click.option(
    "--metrics-require-key/--no-metrics-require-key",
    default=None,
    help="GET /metrics needs an API key too; off, it is public.",
)
@click.option(
    "--chunked-decoder/--no-chunked-decoder",
    default=None,
    help="Speak a sentence's first audio before the whole sentence is synthesized (Piper "
    "encoder + windowed decoder); off: whole sentences.",
)
@click.pass_context
def serve(ctx: click.Context, /, workers: int | None, **given: Any) -> None:
    """Run the server: WebSocket at /tts/websocket, REST at /tts/bytes, /tts/sse, /voices.

    Every setting is also a key of the --config file and an environment variable
    TTSD_<KEY> (TTSD_MAX_CONTEXTS, TTSD_DRAIN_TIMEOUT_S): flag > environment > file >
    default. With no API key it binds to 127.0.0.1 and anyone on this machine may use
    it.
    """
    from ttsd.engines.base import EngineUnavailable
    from ttsd.server.app import build_registry, create_app
    from ttsd.server.logs import configure_logging
    from ttsd.server.serving import CannotListen, check_can_listen, run_server
    from ttsd.server.settings_loader import SettingsLoadError, load_settings

    flags = {name: value for name, value in given.items() if value is not None}
    labels = {name: _flag_label(ctx, name, value) for name, value in flags.items()}
    deprecations = []
    if workers is not None:
        if "parallel_steps" in flags:
            raise click.UsageError("--workers is the old name of --parallel-steps: give one")
        flags["parallel_steps"], labels["parallel_steps"] = workers, "--workers"
        deprecations.append(
            "--workers is deprecated: it counts synthesis steps run side by side, not "
            "processes; use --parallel-steps"
        )
    try:
        loaded = load_settings(flags, labels)
    except SettingsLoadError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    settings = loaded.settings
    # One format for ttsd's, uvicorn's and websockets' lines, API keys redacted (issue 8);
    # the warnings below are log lines too, so a JSON log stays all JSON.
    configure_logging(
        settings.log_level,
        settings.api_keys,
        fmt=settings.log_format,
        access_log=settings.access_log,
    )
    for warning in [*deprecations, *loaded.warnings]:
        _LOGGER.warning("%s", warning)
    if not settings.api_keys and settings.host not in LOOPBACK_HOSTS:
        _LOGGER.warning(
            "serving on %s with no API key; anyone who can reach it can use it "
            "(set --api-key or TTSD_API_KEYS)",
            settings.host,
        )
    # A taken port is found before the engines spend seconds loading, and said plainly.
    try:
        check_can_listen(settings)
    except CannotListen as exc:
        _LOGGER.error("cannot start: %s", exc)
        sys.exit(2)
    # The engines load before the server listens, so one that cannot run (`--kokoro on`
    # without its packages, a corrupt `--kokoro-model`) is one error line and exit 2, not
    # a traceback from inside uvicorn's start-up; the app's own load is then a no-op.
    try:
        registry = build_registry(settings)
        registry.load(preload=settings.preload)
    except EngineUnavailable as exc:
        _LOGGER.error("cannot start: %s", exc)
        sys.exit(2)
    # uvicorn under a first SIGTERM/SIGINT that drains before it stops (issue 9).
    run_server(create_app(settings, registry), settings)


def _flag_label(ctx: click.Context, name: str, value: Any) -> str:
    """The flag as typed for a value, for messages: `--no-access-log` for False."""
    for param in ctx.command.params:
        if param.name == name and isinstance(param, click.Option):
            if value is False and param.secondary_opts:
                return param.secondary_opts[0]
            return param.opts[0]
    return f"--{name.replace('_', '-')}"


def setting_default(name: str) -> str | None:
    """Setting `name`'s default as `--help` shows it, read from `Settings` or `Limits` so
    that the help cannot drift from the code; None where the default is computed at start
    (the cores found) or absent."""
    fields = {f.name: f for cls in (Settings, Limits) for f in dataclasses.fields(cls)}
    default = fields[name].default if name in fields else dataclasses.MISSING
    if default is dataclasses.MISSING or default is None or default == ():
        return None
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, int) and name.endswith("_bytes"):
        for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
            if default >= size and default % size == 0:
                return f"{default // size} {unit}"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def _show_defaults(command: click.Command) -> None:
    """Append `[default: ...]` to each setting's help that does not say it itself."""
    for param in command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        shown = setting_default(param.name)
        if shown is not None and "[default:" not in (param.help or ""):
            param.help = f"{param.help} [default: {shown}]"


_show_defaults(serve)
