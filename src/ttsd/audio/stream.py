"""Streaming conversion of engine audio into the format a client asked for."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ttsd.audio.encoders import encode
from ttsd.audio.resample import StreamResampler
from ttsd.protocol.formats import BYTES_PER_SAMPLE, Encoding

__all__ = ["AudioEncoderStream"]


class AudioEncoderStream:
    """Turns float32 mono chunks at ``in_rate`` into ``encoding`` bytes at ``out_rate``.

    ``push`` each chunk as the engine produces it; ``finish`` at the end of a segment
    returns the resampler's held-back tail, after which the same object serves the next
    segment. ``samples_out`` counts every sample emitted over the object's lifetime (all
    segments), which is the output audio clock.
    """

    def __init__(self, in_rate: int, encoding: Encoding, out_rate: int) -> None:
        """Create a stream from the engine's rate to the client's encoding and rate."""
        self._encoding = encoding
        self._sample_width = BYTES_PER_SAMPLE[encoding]
        self._resampler = StreamResampler(in_rate, out_rate)
        self._samples_out = 0

    @property
    def in_rate(self) -> int:
        """Sample rate of the pushed audio, Hz."""
        return self._resampler.in_rate

    @property
    def out_rate(self) -> int:
        """Sample rate of the emitted audio, Hz."""
        return self._resampler.out_rate

    @property
    def encoding(self) -> Encoding:
        """Encoding of the emitted bytes."""
        return self._encoding

    @property
    def sample_width(self) -> int:
        """Bytes per emitted sample."""
        return self._sample_width

    @property
    def samples_out(self) -> int:
        """Total samples emitted so far (all segments), at ``out_rate``."""
        return self._samples_out

    def push(self, samples: npt.NDArray[np.float32]) -> bytes:
        """Convert the next chunk; may return less audio than pushed (resampler look-ahead)."""
        return self._emit(self._resampler.process(samples))

    def finish(self) -> bytes:
        """End the segment: return the remaining audio and get ready for the next segment."""
        return self._emit(self._resampler.flush())

    def _emit(self, samples: npt.NDArray[np.float32]) -> bytes:
        self._samples_out += samples.size
        return encode(samples, self._encoding) if samples.size else b""
