"""Streaming sample-rate conversion of float32 mono audio (libsoxr)."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import soxr

__all__ = ["RESAMPLE_QUALITY", "StreamResampler"]

#: soxr quality recipe. "HQ" (20-bit precision, far below what 16-bit or G.711 output can
#: carry) has the shorter filter of the two high-quality recipes, so the first audio of a
#: stream comes out sooner than with "VHQ" (about half the look-ahead when downsampling).
RESAMPLE_QUALITY: Final = "HQ"

_EMPTY: Final = np.zeros(0, dtype=np.float32)
_EMPTY.flags.writeable = False  # shared by every caller, so nobody may write into it


class StreamResampler:
    """Converts a stream of float32 mono chunks from ``in_rate`` to ``out_rate``.

    Chunk edges leave no trace: the output of any sequence of ``process`` calls followed by
    ``flush`` equals that of one call on the whole signal. The filter needs look-ahead, so
    ``process`` may hold back the last few milliseconds (a tiny chunk may yield nothing);
    ``flush`` returns them and readies the resampler for a new, unrelated stream.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        """Create a resampler; equal rates make it a pass-through with no filter at all."""
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self._in_rate = in_rate
        self._out_rate = out_rate
        self._soxr: soxr.ResampleStream | None = None
        if in_rate != out_rate:
            self._soxr = soxr.ResampleStream(
                in_rate, out_rate, 1, dtype="float32", quality=RESAMPLE_QUALITY
            )

    @property
    def in_rate(self) -> int:
        """Sample rate of the input, Hz."""
        return self._in_rate

    @property
    def out_rate(self) -> int:
        """Sample rate of the output, Hz."""
        return self._out_rate

    def process(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Resample the next chunk of the stream; returns as many output samples as are ready.

        With equal rates the input comes back as is (no copy when it is already float32).
        """
        array = np.asarray(samples, dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"expected mono (1-D) samples, got shape {array.shape}")
        if self._soxr is None:
            return array
        if array.size == 0:
            return _EMPTY
        # soxr reads the buffer directly and needs it contiguous.
        out = self._soxr.resample_chunk(np.ascontiguousarray(array))
        return np.asarray(out, dtype=np.float32)

    def flush(self) -> npt.NDArray[np.float32]:
        """End the stream: return the held-back tail and reset for a fresh stream."""
        if self._soxr is None:
            return _EMPTY
        tail = self._soxr.resample_chunk(_EMPTY, last=True)
        # `last=True` may be given only once per signal; clear() starts the next one
        # without rebuilding the filter.
        self._soxr.clear()
        return np.asarray(tail, dtype=np.float32)
