"""FLAC and Ogg/Opus through libsndfile (the `soundfile` package).

Ogg/Opus streams: libsndfile appends a page about every second of audio, and each page
goes out as it is written. FLAC does not: its header (STREAMINFO) carries the sample count,
which libsndfile rewrites when the stream closes, and a FLAC sent before that says "length
unknown", which libsndfile's own reader (and so `soundfile`, and whoever decodes with it)
refuses. So a FLAC is sent whole once its audio is complete: its first byte waits for the
last sample (an estimate: 20,000 characters of input are ~25 min of speech, ~40 MB of FLAC).
`_StreamSink` is the file libsndfile writes to: it hands out each byte once and keeps a
rewrite of bytes not yet handed out.
"""

from __future__ import annotations

import io
from enum import StrEnum

import numpy as np
import soundfile  # type: ignore[import-untyped]


class SndfileFormat(StrEnum):
    """What `SndfileEncoderStream` can write."""

    FLAC = "flac"
    OPUS = "opus"


#: libsndfile's (format, subtype) for each.
_FORMATS = {SndfileFormat.FLAC: ("FLAC", "PCM_16"), SndfileFormat.OPUS: ("OGG", "OPUS")}
#: Rates libopus takes; other input is refused rather than resampled here.
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


class _StreamSink(io.RawIOBase):
    """A seekable file whose bytes are taken out as they are written (see the module)."""

    def __init__(self) -> None:
        self._pending = bytearray()  # bytes from offset `_sent` on, not yet taken
        self._sent = 0
        self._position = 0

    def take(self) -> bytes:
        """The bytes written since the last `take`, in file order."""
        data = bytes(self._pending)
        self._sent += len(data)
        self._pending.clear()
        return data

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        view = bytes(data)
        start = self._position - self._sent
        if start < 0:  # a rewrite of bytes already sent: only its tail can still land
            view, start = view[-start:], 0
        end = start + len(view)
        if end > len(self._pending):
            self._pending.extend(b"\0" * (end - len(self._pending)))
        self._pending[start:end] = view
        self._position += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        start = max(0, self._position - self._sent)
        end = len(self._pending) if size < 0 else min(len(self._pending), start + size)
        data = bytes(self._pending[start:end])
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        length = self._sent + len(self._pending)
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position


class SndfileEncoderStream:
    """Encodes a stream of 16-bit little-endian mono PCM as FLAC or Ogg/Opus.

    `push` returns whatever may be sent so far (Opus: whole Ogg pages; FLAC: nothing);
    `finish` returns the rest and ends the stream. The concatenation of everything
    returned is a valid file.
    """

    def __init__(self, kind: SndfileFormat, sample_rate: int) -> None:
        if kind is SndfileFormat.OPUS and sample_rate not in OPUS_RATES:
            raise ValueError(f"Opus takes {OPUS_RATES} Hz, not {sample_rate}")
        container, subtype = _FORMATS[kind]
        self._streams = kind is SndfileFormat.OPUS
        self._sink = _StreamSink()
        self._file = soundfile.SoundFile(
            self._sink,
            mode="w",
            samplerate=sample_rate,
            channels=1,
            format=container,
            subtype=subtype,
        )

    def push(self, pcm: bytes) -> bytes:
        """Encode `pcm` (s16le mono); the bytes ready so far (none for FLAC, see the module)."""
        if pcm:
            self._file.write(np.frombuffer(pcm, dtype="<i2"))
        return self._sink.take() if self._streams else b""

    def finish(self) -> bytes:
        """End the stream: the last bytes."""
        self._file.close()
        return self._sink.take()
