"""Where `ttsd say` writes audio: a `.wav`, `.mp3` or `.raw` file, or standard output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click

from ttsd.audio.mp3 import Mp3EncoderStream
from ttsd.audio.wav import wav_header
from ttsd.protocol.formats import BYTES_PER_SAMPLE, Container, Encoding

#: MP3 bit rate when `--bit-rate` is not given.
DEFAULT_MP3_BIT_RATE = 128_000

#: File extensions and the container each one means.
CONTAINERS_BY_SUFFIX = {
    ".wav": Container.WAV,
    ".mp3": Container.MP3,
    ".raw": Container.RAW,
    ".pcm": Container.RAW,
}


@dataclass(frozen=True)
class OutputSpec:
    """What to write: the container and the samples inside it."""

    container: Container
    encoding: Encoding
    sample_rate: int
    bit_rate: int

    @property
    def pcm_encoding(self) -> Encoding:
        """The encoding the synthesizer must produce (MP3 is made from s16)."""
        return Encoding.PCM_S16LE if self.container is Container.MP3 else self.encoding


def container_for(path: Path | None, requested: str | None) -> Container:
    """`--format` if given, else the file's extension; standard output defaults to raw.

    A `--format` that contradicts a known extension (`--format mp3 -o x.wav`) is refused
    rather than writing MP3 into a `.wav` file.
    """
    by_suffix = CONTAINERS_BY_SUFFIX.get(path.suffix.lower()) if path is not None else None
    if requested:
        container = Container(requested)
        if path is not None and by_suffix is not None and by_suffix is not container:
            raise click.UsageError(
                f"--format {requested} conflicts with -o {path.name}, a {_named(by_suffix)} "
                "file: give one of them, or make them agree"
            )
        return container
    if path is None:
        return Container.RAW
    if by_suffix is None:
        raise click.UsageError(
            f"cannot tell the format of {path.name!r} from its extension; "
            "use .wav, .mp3 or .raw, or pass --format"
        )
    return by_suffix


def output_spec(
    path: Path | None,
    format_: str | None,
    encoding: str | None,
    sample_rate: int,
    bit_rate: int | None,
) -> OutputSpec:
    """The options of `ttsd say` as an `OutputSpec`; an option that the container would
    ignore (`--bit-rate` for WAV, `--encoding` for MP3) is refused, naming both."""
    container = container_for(path, format_)
    target = f"-o {path.name}" if path is not None else "standard output"
    if encoding is not None and container is Container.MP3:
        raise click.UsageError(
            f"--encoding {encoding} applies to WAV and raw output, not to MP3 ({target}); "
            "MP3 is encoded from 16-bit samples"
        )
    if bit_rate is not None and container is not Container.MP3:
        raise click.UsageError(
            f"--bit-rate applies to MP3 only, not to {_named(container)} output ({target})"
        )
    return OutputSpec(
        container=container,
        encoding=Encoding(encoding) if encoding is not None else Encoding.PCM_S16LE,
        sample_rate=sample_rate,
        bit_rate=bit_rate if bit_rate is not None else DEFAULT_MP3_BIT_RATE,
    )


def _named(container: Container) -> str:
    """`WAV`, `MP3`, `raw`: a container as messages name it."""
    return "raw" if container is Container.RAW else container.value.upper()


class AudioSink:
    """Writes audio in `spec`'s container to `path` (None: standard output)."""

    def __init__(self, spec: OutputSpec, path: Path | None) -> None:
        if path is None and sys.stdout.isatty():
            raise click.UsageError(
                "refusing to write audio to a terminal: pass -o FILE, or pipe the output "
                "(e.g. `ttsd say ... | aplay`)"
            )
        self.spec = spec
        self._path = path
        self._closed = False
        try:
            self._file: BinaryIO = path.open("wb") if path else sys.stdout.buffer
        except OSError as exc:
            # A missing folder or no permission: click's one-line "Could not open file".
            raise click.FileError(str(path), hint=exc.strerror or str(exc)) from None
        self._mp3 = (
            Mp3EncoderStream(spec.sample_rate, spec.bit_rate)
            if spec.container is Container.MP3
            else None
        )
        self._samples = 0
        if spec.container is Container.WAV:
            # Size unknown until the end: a streaming header, fixed up below if we can seek.
            self._file.write(wav_header(spec.sample_rate, spec.encoding, None))

    def write(self, audio: bytes) -> None:
        """Append samples in `spec.pcm_encoding` at `spec.sample_rate`."""
        self._samples += len(audio) // BYTES_PER_SAMPLE[self.spec.pcm_encoding]
        self._file.write(self._mp3.push(audio) if self._mp3 else audio)

    def close(self) -> None:
        """Finish the container and close the file (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        if self._mp3 is not None:
            self._file.write(self._mp3.finish())
        if self.spec.container is Container.WAV:
            self._finish_wav()
        self._file.flush()
        if self._path is not None:
            self._file.close()

    def discard(self) -> None:
        """Close without finishing, and remove the file: a failed `ttsd say` leaves no
        half-written audio behind (standard output cannot be taken back)."""
        if self._closed:
            return
        self._closed = True
        if self._path is not None:
            self._file.close()
            self._path.unlink(missing_ok=True)

    @property
    def seconds(self) -> float:
        """Audio written so far, in seconds."""
        return self._samples / self.spec.sample_rate

    def _finish_wav(self) -> None:
        width = BYTES_PER_SAMPLE[self.spec.encoding]
        if (self._samples * width) % 2:
            self._file.write(b"\0")  # RIFF chunks are word-aligned
        if self._path is not None and self._file.seekable():
            self._file.seek(0)
            self._file.write(wav_header(self.spec.sample_rate, self.spec.encoding, self._samples))
