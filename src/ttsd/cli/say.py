"""`ttsd say`: speak text into an audio file, in-process or through a running server."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ttsd.cli.extras import needs_server
from ttsd.cli.output import DEFAULT_MP3_BIT_RATE, AudioSink, output_spec
from ttsd.protocol.formats import MP3_BIT_RATES, SAMPLE_RATES, Container, Encoding

#: Input longer than this gets a progress bar.
PROGRESS_MIN_CHARS = 400


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
    default=None,
    help=f"Sample encoding for .wav and .raw [default: {Encoding.PCM_S16LE.value}].",
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
    default=None,
    help=f"MP3 bit rate [default: {DEFAULT_MP3_BIT_RATE}].",
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
    encoding: str | None,
    sample_rate: str,
    bit_rate: str | None,
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
    if text is not None and text_file is not None:
        raise click.UsageError("give the text as an argument or with -f FILE, not both")
    if text is None and text_file is None:
        raise click.UsageError(
            "no text to say: give it as an argument, or with -f FILE ('-' for standard input)"
        )
    if url and voices_dir is not None:
        raise click.UsageError(
            "--voices-dir applies in-process only: the server at --url (or $TTSD_BASE_URL) "
            "serves its own voices"
        )
    content = text if text is not None else text_file.read()  # type: ignore[union-attr]
    if not content.strip():
        raise click.UsageError("the text is empty: nothing to say")
    spec = output_spec(
        output,
        format_,
        encoding,
        int(sample_rate),
        int(bit_rate) if bit_rate is not None else None,
    )
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
                with needs_server(
                    "`ttsd say` without --url", alternative=", or pass --url of a ttsd server"
                ):
                    from ttsd.cli.local import speak_in_process

                    speak_in_process(content, voice, speed, voices_dir, spec, sink, advance)
    except Exception:
        sink.discard()
        raise
    finally:
        sink.close()
    if not quiet:
        where = output if output else "standard output"
        stderr.print(f"wrote {sink.seconds:.1f} s of audio to {where}", highlight=False)
