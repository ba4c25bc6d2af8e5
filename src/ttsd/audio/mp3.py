"""Streaming MP3 encoding of 16-bit mono PCM (LAME, through `lameenc`)."""

from __future__ import annotations

from typing import Final

import lameenc

__all__ = ["MP3_QUALITY", "Mp3EncoderStream", "mp3_bit_rate"]

#: LAME's algorithm quality: 2 is its best (about 7 ms of CPU per second of 44.1 kHz
#: audio, under 1% of real time, negligible next to synthesis).
MP3_QUALITY: Final = 2

#: The highest constant bit rate LAME writes at each sample rate: MPEG-2 (16–24 kHz) tops
#: out at 160 kbps, and LAME holds MPEG-2.5 (8–12 kHz) to 64 kbps.
_MAX_BIT_RATE: Final = {8000: 64000, 11025: 64000, 12000: 64000, 16000: 160000, 22050: 160000}


def mp3_bit_rate(sample_rate: int, bit_rate: int) -> int:
    """The bit rate an MP3 stream at `sample_rate` really gets when `bit_rate` is asked for:
    the request, capped where the MPEG version at that rate allows less."""
    return min(bit_rate, _MAX_BIT_RATE.get(sample_rate, 160000 if sample_rate < 32000 else 320000))


class Mp3EncoderStream:
    """Encodes a stream of 16-bit little-endian mono PCM as constant-bit-rate MP3.

    The output is a bare sequence of MPEG audio frames (no ID3 or Xing tag), so the bytes
    of each `push` can be sent at once and the concatenation is a valid file. LAME works
    in frames (1152 samples for 32 kHz and up, 576 below) and looks ahead, so `push` may
    return nothing; `finish` returns the rest, padded to a whole frame, and ends the
    stream. The MP3 has the input's sample rate (LAME is told not to resample).
    """

    def __init__(self, sample_rate: int, bit_rate: int) -> None:
        """Encode audio at `sample_rate` Hz at `bit_rate` bits per second (see `mp3_bit_rate`)."""
        if sample_rate <= 0 or bit_rate <= 0:
            raise ValueError(
                f"sample_rate and bit_rate must be positive: {sample_rate}, {bit_rate}"
            )
        self._sample_rate = sample_rate
        self._bit_rate = mp3_bit_rate(sample_rate, bit_rate)
        self._encoder = lameenc.Encoder()
        self._encoder.set_channels(1)
        self._encoder.set_in_sample_rate(sample_rate)
        self._encoder.set_out_sample_rate(sample_rate)
        self._encoder.set_bit_rate(self._bit_rate // 1000)
        self._encoder.set_quality(MP3_QUALITY)
        self._encoder.silence()
        self._samples_in = 0
        self._finished = False

    @property
    def sample_rate(self) -> int:
        """Sample rate of the input and of the MP3, Hz."""
        return self._sample_rate

    @property
    def bit_rate(self) -> int:
        """Bit rate of the MP3 frames, bits per second."""
        return self._bit_rate

    @property
    def samples_in(self) -> int:
        """Samples pushed so far."""
        return self._samples_in

    def push(self, pcm_s16le: bytes) -> bytes:
        """Encode the next samples; returns the MP3 frames completed so far (maybe none)."""
        if self._finished:
            raise RuntimeError("the MP3 stream is finished")
        if len(pcm_s16le) % 2:
            raise ValueError(f"{len(pcm_s16le)} bytes is not a whole number of 16-bit samples")
        if not pcm_s16le:
            return b""
        self._samples_in += len(pcm_s16le) // 2
        return bytes(self._encoder.encode(pcm_s16le))

    def finish(self) -> bytes:
        """End the stream: the last frames (nothing if no audio was ever pushed)."""
        if self._finished:
            return b""
        self._finished = True
        # LAME's flush fails on a stream that never started; no audio is no frames.
        return bytes(self._encoder.flush()) if self._samples_in else b""
