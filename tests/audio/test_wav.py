"""WAV headers: parsed by the stdlib `wave` module (PCM) and by a RIFF chunk walker."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from ttsd.audio.encoders import encode
from ttsd.audio.wav import WAV_UNKNOWN_SIZE, wav_header
from ttsd.protocol.formats import BYTES_PER_SAMPLE, SAMPLE_RATES, Encoding

FORMAT_TAGS = {
    Encoding.PCM_S16LE: 1,
    Encoding.PCM_F32LE: 3,
    Encoding.PCM_ALAW: 6,
    Encoding.PCM_MULAW: 7,
}


def parse_riff(blob: bytes) -> tuple[int, dict[bytes, bytes]]:
    """Return the RIFF size and the chunks of a complete WAVE file, checking the layout."""
    tag, riff_size, form = struct.unpack_from("<4sI4s", blob, 0)
    assert (tag, form) == (b"RIFF", b"WAVE")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos < len(blob):
        chunk_id, size = struct.unpack_from("<4sI", blob, pos)
        chunks[chunk_id] = blob[pos + 8 : pos + 8 + size]
        assert len(chunks[chunk_id]) == size, f"{chunk_id!r} runs past the end"
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    assert pos == len(blob)
    return riff_size, chunks


def wav_file(rate: int, encoding: Encoding, num_samples: int) -> tuple[bytes, bytes]:
    """A complete file (header, data, pad byte) and its data."""
    x = np.sin(np.arange(num_samples) * 0.1).astype(np.float32) * 0.5
    data = encode(x, encoding)
    return wav_header(rate, encoding, num_samples) + data + b"\x00" * (len(data) & 1), data


@pytest.mark.parametrize("rate", SAMPLE_RATES)
@pytest.mark.parametrize("num_samples", [0, 1, 2205])
def test_s16_header_reads_with_wave_module(rate: int, num_samples: int) -> None:
    blob, data = wav_file(rate, Encoding.PCM_S16LE, num_samples)
    assert len(wav_header(rate, Encoding.PCM_S16LE, num_samples)) == 44
    with wave.open(io.BytesIO(blob), "rb") as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getframerate() == rate
        assert reader.getnframes() == num_samples
        assert reader.getcomptype() == "NONE"
        assert reader.readframes(num_samples) == data


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("rate", SAMPLE_RATES)
@pytest.mark.parametrize("num_samples", [0, 1, 2, 1001])
def test_header_fields(encoding: Encoding, rate: int, num_samples: int) -> None:
    blob, data = wav_file(rate, encoding, num_samples)
    riff_size, chunks = parse_riff(blob)
    assert riff_size == len(blob) - 8
    width = BYTES_PER_SAMPLE[encoding]
    fmt = chunks[b"fmt "]
    tag, channels, sample_rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    assert (tag, channels, sample_rate) == (FORMAT_TAGS[encoding], 1, rate)
    assert (byte_rate, block_align, bits) == (rate * width, width, 8 * width)
    if encoding is Encoding.PCM_S16LE:
        assert len(fmt) == 16
        assert b"fact" not in chunks
    else:
        assert len(fmt) == 18
        assert struct.unpack_from("<H", fmt, 16) == (0,)  # cbSize
        assert struct.unpack("<I", chunks[b"fact"]) == (num_samples,)
    assert chunks[b"data"] == data
    assert list(chunks)[-1] == b"data"  # data comes last, so the header is a prefix


@pytest.mark.parametrize("encoding", list(Encoding))
def test_streaming_header_uses_unknown_sizes(encoding: Encoding) -> None:
    header = wav_header(24000, encoding)
    assert struct.unpack_from("<4sI4s", header) == (b"RIFF", WAV_UNKNOWN_SIZE, b"WAVE")
    assert header[-8:] == b"data" + struct.pack("<I", WAV_UNKNOWN_SIZE)
    # Same layout as the sized header: only the size fields differ.
    sized = wav_header(24000, encoding, 10)
    assert len(header) == len(sized) == (44 if encoding is Encoding.PCM_S16LE else 58)
    assert (
        header[12:-8].replace(struct.pack("<I", WAV_UNKNOWN_SIZE), struct.pack("<I", 10))
        == (sized[12:-8])
    )


def test_odd_data_size_counts_the_pad_byte() -> None:
    header = wav_header(8000, Encoding.PCM_MULAW, 3)
    (riff_size,) = struct.unpack_from("<I", header, 4)
    assert riff_size == len(header) - 8 + 3 + 1


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        wav_header(0, Encoding.PCM_S16LE, 10)
    with pytest.raises(ValueError, match="num_samples"):
        wav_header(8000, Encoding.PCM_S16LE, -1)
    with pytest.raises(ValueError, match="fit"):
        wav_header(8000, Encoding.PCM_F32LE, 2**30)
