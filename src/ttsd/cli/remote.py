"""The CLI through a running ttsd server, with the Python SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import click

from ttsd.cli.output import AudioSink, OutputSpec
from ttsd.cli.problems import unknown_voice
from ttsd.client import (
    AuthenticationError,
    Client,
    ConnectError,
    NotFoundError,
    Response,
    TtsdError,
)
from ttsd.protocol.limits import Limits
from ttsd.text.steps import speech_pieces
from ttsd.text.words import split_words

#: Text sent per server context, so a long file never exceeds the server's pending limit.
BATCH_CHARS = 5000


def speak_remote(
    url: str,
    api_key: str | None,
    text: str,
    voice: str | None,
    speed: float | None,
    spec: OutputSpec,
    sink: AudioSink,
    advance: Callable[[int], None],
) -> None:
    """Stream `text` through one WebSocket, a context per batch of sentences.

    Progress follows the word timestamps the server sends back, so the bar moves with the
    audio actually received, not with what was sent.
    """
    output_format = {
        "container": "raw",
        "encoding": spec.pcm_encoding.value,
        "sample_rate": spec.sample_rate,
    }
    with _server_errors(url, api_key), Client(base_url=url, api_key=api_key) as client:
        voice_id = _known_voice(client, voice, url) if voice else _default_voice(client)
        with client.tts.websocket_connect() as ws:
            for batch in batches(text):
                ctx = ws.context(
                    voice=voice_id,
                    output_format=output_format,
                    add_timestamps=True,
                    generation_config={"speed": speed} if speed else None,
                )
                ctx.push(batch)
                ctx.no_more_inputs()
                _drain(ctx.receive(), sink, advance, words=split_words(batch))


def list_voices_remote(url: str, api_key: str | None) -> list[tuple[str, ...]]:
    """`(id, name, language, engine, licence)` of every voice the server offers."""
    with _server_errors(url, api_key), Client(base_url=url, api_key=api_key) as client:
        return [(v.id, v.name, v.locale, v.engine, v.license) for v in client.voices.list()]


def batches(text: str, limit: int = BATCH_CHARS) -> Iterator[str]:
    """Whole sentences grouped into pieces of at most `limit` characters; a sentence longer
    than one engine step comes in steps (`speech_pieces`), so no batch passes `limit`."""
    batch = ""
    for piece in speech_pieces(text, min(limit, Limits().max_step_chars)):
        if batch and len(batch) + len(piece) > limit:
            yield batch
            batch = ""
        batch += piece
    if batch:
        yield batch


@contextmanager
def _server_errors(url: str, api_key: str | None) -> Iterator[None]:
    """SDK errors as CLI errors that say what to do."""
    try:
        yield
    except AuthenticationError as exc:
        if api_key:
            raise click.ClickException(
                f"the server at {url} refused the API key given by --api-key or "
                f"$TTSD_API_KEY ({exc.message or exc})"
            ) from exc
        raise click.ClickException(
            f"the server at {url} requires an API key: pass --api-key KEY or set TTSD_API_KEY"
        ) from exc
    except ConnectError as exc:
        raise click.ClickException(
            f"cannot reach a ttsd server at {url} ({exc}): start one with `ttsd serve`, "
            "or leave out --url to work in-process"
        ) from exc
    except TtsdError as exc:
        raise click.ClickException(f"{exc} (server {url})") from exc


def _known_voice(client: Client, voice: str, url: str) -> str:
    """`voice` if the server has it (an alias counts); else the error `ttsd say` gives
    in-process, rather than the server's default voice in its place."""
    try:
        client.voices.get(voice)
    except NotFoundError:
        raise unknown_voice(voice, [v.id for v in client.voices.list()], url=url) from None
    return voice


def _default_voice(client: Client) -> str:
    for voice in client.voices.list(limit=1):
        return voice.id
    raise click.ClickException("the server lists no voices")


def _drain(
    responses: Iterable[Response],
    sink: AudioSink,
    advance: Callable[[int], None],
    *,
    words: list[str],
) -> None:
    remaining = list(words)
    for response in responses:
        if response.type == "chunk" and response.audio:
            sink.write(response.audio)
        elif response.type == "timestamps" and response.word_timestamps:
            spoken = len(response.word_timestamps.words)
            advance(sum(len(w) + 1 for w in remaining[:spoken]))
            del remaining[:spoken]
