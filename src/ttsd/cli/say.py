"""`ttsd say`: speak text into an audio file, in-process or through a running server."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ttsd.cli.output import AudioSink, OutputSpec, container_for
from ttsd.protocol.formats import MP3_BIT_RATES, SAMPLE_RATES, Container, Encoding
from ttsd.protocol.limits import Limits
from ttsd.text.steps import speech_pieces

if TYPE_CHECKING:
    from ttsd.engines.registry import EngineRegistry

#: Input longer than this gets a progress bar.
PROGRESS_MIN_CHARS = 400
#: Text sent per server context, so a long file never exceeds the server's pending limit.
BATCH_CHARS = 5000

Advance = Callable[[int], None]


@click.command()
@click.argument("text", required=False)
@click.option(
    "-f",
    "--file",
    "text_file",
    type=click.File("r", encoding="utf-8"),
    help="Read the text from FILE ('-' for standard input) instead of the argument.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (.wav, .mp3, .raw); without it, raw audio goes to standard output.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice([c.value for c in Container]),
    help="Container, when the file name does not say it.",
)
@click.option(
    "--encoding",
    type=click.Choice([e.value for e in Encoding]),
    default=Encoding.PCM_S16LE.value,
    show_default=True,
    help="Sample encoding for .wav and .raw.",
)
@click.option(
    "--sample-rate",
    type=click.Choice([str(r) for r in SAMPLE_RATES]),
    default="22050",
    show_default=True,
    help="Output sample rate (Hz).",
)
@click.option(
    "--bit-rate",
    type=click.Choice([str(r) for r in MP3_BIT_RATES]),
    default="128000",
    show_default=True,
    help="MP3 bit rate.",
)
@click.option(
    "--voice", default=None, help="Voice id (see `ttsd voices`) [default: the default voice]."
)
@click.option(
    "--speed", type=click.FloatRange(0.6, 2.0), default=None, help="Speaking rate, 1.0 normal."
)
@click.option(
    "--url",
    envvar="TTSD_BASE_URL",
    help="Speak through the ttsd server at this URL (also $TTSD_BASE_URL); "
    "without it, the voice runs in this process.",
)
@click.option("--api-key", envvar="TTSD_API_KEY", help="API key for --url (also $TTSD_API_KEY).")
@click.option(
    "--voices-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="In-process only: extra Piper voices.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def say(
    text: str | None,
    text_file: TextIO | None,
    output: Path | None,
    format_: str | None,
    encoding: str,
    sample_rate: str,
    bit_rate: str,
    voice: str | None,
    speed: float | None,
    url: str | None,
    api_key: str | None,
    voices_dir: Path | None,
    quiet: bool,
) -> None:
    """Speak TEXT (or the text of --file) into an audio file.

    \b
    Examples:
      ttsd say "Hello there." -o hello.wav
      ttsd say -f chapter.txt -o chapter.mp3
      ttsd say "Hi" --url http://127.0.0.1:8420 | aplay -f S16_LE -r 22050
    """
    if (text is None) == (text_file is None):
        raise click.UsageError("give the text either as an argument or with -f FILE (not both)")
    content = text if text is not None else text_file.read()  # type: ignore[union-attr]
    if not content.strip():
        raise click.UsageError("the text is empty: nothing to say")
    spec = OutputSpec(
        container=container_for(output, format_),
        encoding=Encoding(encoding),
        sample_rate=int(sample_rate),
        bit_rate=int(bit_rate),
    )
    if spec.container is Container.MP3 and spec.encoding is not Encoding.PCM_S16LE:
        raise click.UsageError("--encoding applies to .wav and .raw; MP3 has its own")
    sink = AudioSink(spec, output)
    stderr = Console(stderr=True)
    progress = Progress(
        TextColumn("speaking"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
        disable=quiet or len(content) < PROGRESS_MIN_CHARS,
    )
    try:
        with progress:
            task = progress.add_task("say", total=len(content))

            def advance(chars: int) -> None:
                progress.advance(task, chars)

            if url:
                from ttsd.cli.remote import speak_remote

                speak_remote(url, api_key, content, voice, speed, spec, sink, advance)
            else:
                speak_in_process(content, voice, speed, voices_dir, spec, sink, advance)
    finally:
        sink.close()
    if not quiet:
        where = output if output else "standard output"
        stderr.print(f"wrote {sink.seconds:.1f} s of audio to {where}", highlight=False)


def speak_in_process(
    text: str,
    voice: str | None,
    speed: float | None,
    voices_dir: Path | None,
    spec: OutputSpec,
    sink: AudioSink,
    advance: Advance,
) -> None:
    """Synthesize with the engine in this process, a sentence (or a step of a long one) at a
    time, as the server would (`speech_pieces`)."""
    from ttsd.engines.base import SynthesisOptions
    from ttsd.server.rendering import AudioRenderer

    registry = local_registry(voices_dir)
    info = registry.voice(voice) if voice else registry.voices()[0]
    if info is None:
        ids = ", ".join(v.id for v in registry.voices())
        raise click.UsageError(f"no voice {voice!r}; available: {ids} (see `ttsd voices`)")
    engine = registry.engine(info.engine)
    renderer = AudioRenderer(spec.pcm_encoding, spec.sample_rate)
    limits = Limits()
    pieces = speech_pieces(text, limits.max_step_chars, first_chars=limits.first_step_chars)
    for index, piece in enumerate(pieces):
        options = SynthesisOptions(speed=speed or 1.0, first_audio=index == 0)
        for chunk in engine.synthesize(piece, info.id, options):
            sink.write(renderer.render(chunk).audio)
        advance(len(piece))
    sink.write(renderer.finish().audio)


@functools.cache
def local_registry(voices_dir: Path | None) -> EngineRegistry:
    """The engines `ttsd serve` would run, built once per process."""
    from ttsd.server.app import build_registry
    from ttsd.server.settings import Settings

    # One step at a time here: one ONNX session per voice is enough.
    return build_registry(Settings(voices_dir=voices_dir, parallel_steps=1))


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
