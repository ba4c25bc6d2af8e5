"""The CLI through a running ttsd server, with the Python SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import click

from ttsd.cli.output import AudioSink, OutputSpec
from ttsd.client import Client, ConnectError, Response, TtsdError
from ttsd.text.words import split_words


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
    from ttsd.cli.say import batches

    output_format = {
        "container": "raw",
        "encoding": spec.pcm_encoding.value,
        "sample_rate": spec.sample_rate,
    }
    with _server_errors(url), Client(base_url=url, api_key=api_key) as client:
        voice_id = voice or _default_voice(client)
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
    with _server_errors(url), Client(base_url=url, api_key=api_key) as client:
        return [(v.id, v.name, v.locale, v.engine, v.license) for v in client.voices.list()]


@contextmanager
def _server_errors(url: str) -> Iterator[None]:
    """SDK errors as CLI errors that say what to do."""
    try:
        yield
    except ConnectError as exc:
        raise click.ClickException(
            f"cannot reach a ttsd server at {url} ({exc}): start one with `ttsd serve`, "
            "or leave out --url to work in-process"
        ) from exc
    except TtsdError as exc:
        raise click.ClickException(f"{exc} (server {url})") from exc


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
