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
    """`--format` if given, else the file's extension; standard output defaults to raw."""
    if requested:
        return Container(requested)
    if path is None:
        return Container.RAW
    container = CONTAINERS_BY_SUFFIX.get(path.suffix.lower())
    if container is None:
        raise click.UsageError(
            f"cannot tell the format of {path.name!r} from its extension; "
            "use .wav, .mp3 or .raw, or pass --format"
        )
    return container


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
        self._file: BinaryIO = path.open("wb") if path else sys.stdout.buffer
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
        """Finish the container and close the file."""
        if self._mp3 is not None:
            self._file.write(self._mp3.finish())
        if self.spec.container is Container.WAV:
            self._finish_wav()
        self._file.flush()
        if self._path is not None:
            self._file.close()

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
