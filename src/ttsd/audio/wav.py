"""RIFF/WAVE headers for mono audio in the protocol's encodings."""

from __future__ import annotations

import struct
from typing import Final

from ttsd.protocol.formats import BYTES_PER_SAMPLE, Encoding

__all__ = ["WAV_FORMAT_TAGS", "WAV_UNKNOWN_SIZE", "wav_header"]

#: `wFormatTag` of each encoding (mmreg.h: WAVE_FORMAT_PCM, _IEEE_FLOAT, _ALAW, _MULAW).
WAV_FORMAT_TAGS: Final[dict[Encoding, int]] = {
    Encoding.PCM_S16LE: 1,
    Encoding.PCM_F32LE: 3,
    Encoding.PCM_ALAW: 6,
    Encoding.PCM_MULAW: 7,
}

#: Size written in the RIFF and data chunks of a stream whose length is not known yet.
WAV_UNKNOWN_SIZE: Final = 0xFFFFFFFF

_CHANNELS: Final = 1


def wav_header(sample_rate: int, encoding: Encoding, num_samples: int | None = None) -> bytes:
    """Return the RIFF/WAVE header that precedes ``num_samples`` mono samples of ``encoding``.

    PCM s16 gets the classic 16-byte ``fmt`` chunk. The other formats get the 18-byte
    ``WAVEFORMATEX`` (cbSize=0) and a ``fact`` chunk with the sample count, which the WAVE
    spec asks of every non-PCM format. With ``num_samples=None`` (streaming, length not
    known yet) the RIFF and data sizes, and the fact count, are 0xFFFFFFFF.

    RIFF chunks are word-aligned: when the data has an odd number of bytes (odd
    ``num_samples`` of a one-byte encoding), the RIFF size counts one pad byte, which the
    caller appends after the data.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if num_samples is not None and num_samples < 0:
        raise ValueError(f"num_samples must not be negative, got {num_samples}")
    width = BYTES_PER_SAMPLE[encoding]
    tag = WAV_FORMAT_TAGS[encoding]
    block_align = _CHANNELS * width
    fmt_fields = (tag, _CHANNELS, sample_rate, sample_rate * block_align, block_align, 8 * width)

    is_pcm = encoding is Encoding.PCM_S16LE
    if is_pcm:
        fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, *fmt_fields)
        fact = b""
    else:
        fmt = struct.pack("<4sIHHIIHHH", b"fmt ", 18, *fmt_fields, 0)
        fact_count = WAV_UNKNOWN_SIZE if num_samples is None else num_samples
        fact = struct.pack("<4sII", b"fact", 4, fact_count)

    if num_samples is None:
        riff_size = data_size = WAV_UNKNOWN_SIZE
    else:
        data_size = num_samples * width
        # "WAVE" + the chunks before data + the data chunk with its pad byte.
        riff_size = 4 + len(fmt) + len(fact) + 8 + data_size + (data_size & 1)
        if riff_size >= WAV_UNKNOWN_SIZE:
            raise ValueError(f"{num_samples} samples do not fit in a WAV file")

    return b"".join(
        (
            struct.pack("<4sI4s", b"RIFF", riff_size, b"WAVE"),
            fmt,
            fact,
            struct.pack("<4sI", b"data", data_size),
        )
    )
