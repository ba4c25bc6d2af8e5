"""`ttsd serve`: run the server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ttsd.server.settings import (
    API_KEYS_ENV,
    DEFAULT_HOST,
    DEFAULT_PORT,
    Settings,
    api_keys_from_env,
    load_config,
)


@click.command()
@click.option("--host", default=None, help=f"Interface to bind [default: {DEFAULT_HOST}].")
@click.option("--port", type=int, default=None, help=f"Port [default: {DEFAULT_PORT}].")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML config file (voice aliases, limits, server options); flags override it.",
)
@click.option(
    "--voices-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of extra Piper voices (NAME.onnx + NAME.onnx.json).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help=f"Require this API key (repeatable; also ${API_KEYS_ENV}, comma-separated).",
)
@click.option("--strict-voices", is_flag=True, default=None, help="Unknown voice ids are errors.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Synthesis steps run side by side while several streams are busy, on "
    "engine-threads/workers cores each [default: CPUs].",
)
@click.option(
    "--engine-threads",
    type=click.IntRange(min=1),
    default=None,
    help="ONNX Runtime threads of a synthesis step that runs alone [default: CPUs].",
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
    type=click.IntRange(min=1),
    default=None,
    help="Longest context_id (400 beyond) [default: 256].",
)
@click.option(
    "--max-unread-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Bytes of replies a client may leave unread before its connection is closed "
    "(1008) [default: 8 MiB].",
)
@click.option(
    "--context-idle-timeout",
    type=float,
    default=None,
    help="Seconds an idle context waits for input before its `done`.",
)
@click.option(
    "--connection-idle-timeout",
    type=float,
    default=None,
    help="Seconds without a message before a connection is closed.",
)
@click.option(
    "--max-header-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Most bytes of an HTTP request line + headers; 431 and close beyond [default: 65536].",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a request line + headers may take (slowloris); 408 and close beyond "
    "[default: 10].",
)
@click.option(
    "--flush-id-base",
    type=click.IntRange(0, 1),
    default=None,
    help="First flush_id of a context: 1 (docs) or 0 (0-based clients).",
)
@click.option(
    "--first-segment-delay",
    type=click.IntRange(min=0),
    default=None,
    help="Milliseconds a context's first text waits for a sentence or clause end before it "
    "is cut at a phrase boundary (0: off) [default: 150].",
)
@click.option(
    "--max-step-chars",
    type=click.IntRange(min=1),
    default=None,
    help="Characters one synthesis step speaks at most; longer text is cut at a clause, "
    "phrase or word boundary [default: 200].",
)
@click.option(
    "--first-step-chars",
    type=click.IntRange(min=1),
    default=None,
    help="The same for a context's first step, so its first audio comes soon [default: 100].",
)
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS/WSS with this certificate (PEM); the JS SDK always dials wss://.",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key (PEM) for --ssl-certfile.",
)
@click.option(
    "--ws-compression/--no-ws-compression",
    default=None,
    help="Offer permessage-deflate on WebSockets (base64 audio shrinks ~28 %% for CPU time "
    "before every frame) [default: off].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Log level [default: info].",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="text lines, or one JSON object per line [default: text].",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="One line per HTTP request and WebSocket handshake [default: on].",
)
@click.option(
    "--drain-timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds SIGTERM waits for started contexts and responses before it ends them "
    "(503, close 1012) [default: 25].",
)
@click.option(
    "--metrics-require-key/--no-metrics-require-key",
    default=None,
    help="GET /metrics needs an API key too [default: public].",
)
def serve(
    host: str | None,
    port: int | None,
    config_file: Path | None,
    voices_dir: Path | None,
    api_keys: tuple[str, ...],
    strict_voices: bool | None,
    workers: int | None,
    engine_threads: int | None,
    max_contexts: int | None,
    max_transcript_chars: int | None,
    max_message_bytes: int | None,
    max_pending_chars: int | None,
    max_context_id_chars: int | None,
    max_unread_bytes: int | None,
    context_idle_timeout: float | None,
    connection_idle_timeout: float | None,
    max_header_bytes: int | None,
    header_timeout: float | None,
    flush_id_base: int | None,
    first_segment_delay: int | None,
    max_step_chars: int | None,
    first_step_chars: int | None,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    ws_compression: bool | None,
    log_level: str | None,
    log_format: str | None,
    access_log: bool | None,
    drain_timeout: float | None,
    metrics_require_key: bool | None,
) -> None:
    """Run the server: WebSocket at /tts/websocket, REST at /tts/bytes, /tts/sse, /voices.

    With no API key it binds to 127.0.0.1 and anyone on this machine may use it.
    """
    from ttsd.server.app import create_app
    from ttsd.server.logs import configure_logging
    from ttsd.server.serving import run_server

    settings = Settings()
    if config_file is not None:
        try:
            settings = load_config(config_file, settings)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    keys = api_keys or api_keys_from_env() or settings.api_keys
    try:
        settings = settings.with_overrides(
            host=host,
            port=port,
            voices_dir=voices_dir,
            api_keys=tuple(keys),
            strict_voices=strict_voices,
            workers=workers,
            engine_threads=engine_threads,
            connection_idle_timeout_s=connection_idle_timeout,
            max_unread_bytes=max_unread_bytes,
            max_header_bytes=max_header_bytes,
            header_timeout_s=header_timeout,
            ws_compression=ws_compression,
            log_level=log_level,
            log_format=log_format,
            access_log=access_log,
            drain_timeout_s=drain_timeout,
            metrics_require_key=metrics_require_key,
        )
        limits: dict[str, Any] = {
            "max_contexts": max_contexts,
            "max_transcript_chars": max_transcript_chars,
            "max_message_bytes": max_message_bytes,
            "max_pending_chars": max_pending_chars,
            "max_context_id_chars": max_context_id_chars,
            "context_idle_timeout_s": context_idle_timeout,
            "flush_id_base": flush_id_base,
            "first_segment_delay_ms": first_segment_delay,
            "max_step_chars": max_step_chars,
            "first_step_chars": first_step_chars,
        }
        settings = replace(
            settings,
            limits=replace(settings.limits, **{k: v for k, v in limits.items() if v is not None}),
        )
    except ValueError as exc:
        # Values each flag accepts alone may still clash (e.g. a reply budget smaller than
        # four audio frames): a usage error naming them, not a traceback.
        raise click.UsageError(str(exc)) from exc
    if not settings.api_keys and settings.host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: serving on {settings.host} with no API key; anyone who can reach it "
            "can use it (set --api-key or TTSD_API_KEYS)",
            err=True,
        )
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise click.UsageError("--ssl-certfile and --ssl-keyfile go together: give both")
    # One format for ttsd's, uvicorn's and websockets' lines, API keys redacted (issue 8).
    configure_logging(settings.log_level, settings.api_keys)
    # uvicorn under a first SIGTERM/SIGINT that drains before it stops (issue 9).
    run_server(create_app(settings), settings, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
