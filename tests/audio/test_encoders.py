"""Sample encoders: bit-exact G.711, s16/f32 scaling, clipping and round trips."""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt
import pytest

from ttsd.audio.encoders import S16_MAX, decode, encode
from ttsd.protocol.formats import BYTES_PER_SAMPLE, Encoding

G711 = (Encoding.PCM_MULAW, Encoding.PCM_ALAW)


# Scalar transcriptions of the ITU-T G.191 STL reference (g711.c), kept deliberately
# close to the C so the vectorized code is checked against an independent implementation.
def ref_ulaw_compress(lin: int) -> int:
    absno = ((~lin) >> 2) + 33 if lin < 0 else (lin >> 2) + 33
    absno = min(absno, 0x1FFF)
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x8 - segno
    low_nibble = 0xF - ((absno >> segno) & 0xF)
    log = (high_nibble << 4) | low_nibble
    return log | 0x80 if lin >= 0 else log


def ref_alaw_compress(lin: int) -> int:
    ix = (~lin) >> 4 if lin < 0 else lin >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if lin >= 0:
        ix |= 0x80
    return ix ^ 0x55


def ref_ulaw_expand(log: int) -> int:
    sign = -1 if log < 0x80 else 1
    mantissa = ~log
    exponent = (mantissa >> 4) & 0x7
    segment = exponent + 1
    mantissa &= 0xF
    step = 4 << segment
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)


def ref_alaw_expand(log: int) -> int:
    ix = log ^ 0x55
    ix &= 0x7F
    iexp = ix >> 4
    mant = ix & 0xF
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 0x8
    if iexp > 1:
        mant <<= iexp - 1
    return mant if log > 127 else -mant


REF_COMPRESS = {Encoding.PCM_MULAW: ref_ulaw_compress, Encoding.PCM_ALAW: ref_alaw_compress}
REF_EXPAND = {Encoding.PCM_MULAW: ref_ulaw_expand, Encoding.PCM_ALAW: ref_alaw_expand}

ALL_S16 = np.arange(-S16_MAX, S16_MAX + 1)


def floats_for_s16(values: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Floats that encode to exactly these 16-bit values."""
    return (values / S16_MAX).astype(np.float32)


def sine(freq: float, rate: int, amplitude: float, seconds: float = 1.0) -> npt.NDArray[np.float32]:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_float_to_s16_mapping_hits_every_value() -> None:
    out = np.frombuffer(encode(floats_for_s16(ALL_S16), Encoding.PCM_S16LE), dtype="<i2")
    np.testing.assert_array_equal(out, ALL_S16)


@pytest.mark.parametrize("encoding", G711)
def test_g711_encode_is_bit_exact_with_reference(encoding: Encoding) -> None:
    expected = bytes(REF_COMPRESS[encoding](int(v)) for v in ALL_S16)
    assert encode(floats_for_s16(ALL_S16), encoding) == expected


@pytest.mark.parametrize("encoding", G711)
def test_g711_decode_is_bit_exact_with_reference(encoding: Encoding) -> None:
    decoded = decode(bytes(range(256)), encoding)
    expected = np.array([REF_EXPAND[encoding](code) for code in range(256)]) / S16_MAX
    np.testing.assert_array_equal(decoded, expected.astype(np.float32))


@pytest.mark.parametrize(
    ("encoding", "value", "code"),
    [
        (Encoding.PCM_MULAW, 0.0, 0xFF),  # μ-law silence
        (Encoding.PCM_MULAW, 1.0, 0x80),
        (Encoding.PCM_MULAW, -1.0, 0x00),
        (Encoding.PCM_ALAW, 0.0, 0xD5),  # A-law silence
        (Encoding.PCM_ALAW, 1.0, 0xAA),
        (Encoding.PCM_ALAW, -1.0, 0x2A),
    ],
)
def test_g711_well_known_codes(encoding: Encoding, value: float, code: int) -> None:
    assert encode(np.array([value], dtype=np.float32), encoding) == bytes([code])


@pytest.mark.parametrize(
    ("encoding", "code", "linear"),
    [
        (Encoding.PCM_MULAW, 0xFF, 0),
        (Encoding.PCM_MULAW, 0x7F, 0),  # negative zero
        (Encoding.PCM_MULAW, 0x80, 32124),
        (Encoding.PCM_MULAW, 0x00, -32124),
        (Encoding.PCM_ALAW, 0xD5, 8),
        (Encoding.PCM_ALAW, 0x55, -8),
        (Encoding.PCM_ALAW, 0xAA, 32256),
        (Encoding.PCM_ALAW, 0x2A, -32256),
    ],
)
def test_g711_well_known_decoded_values(encoding: Encoding, code: int, linear: int) -> None:
    assert decode(bytes([code]), encoding)[0] * S16_MAX == pytest.approx(linear, abs=1e-3)


@pytest.mark.parametrize("encoding", G711)
def test_g711_codes_survive_decode_encode(encoding: Encoding) -> None:
    codes = bytes(range(256))
    again = encode(decode(codes, encoding), encoding)
    # Every code is its own reconstruction's code, except μ-law's negative zero (0x7F),
    # whose value 0 encodes as positive zero (0xFF).
    diff = [(a, b) for a, b in zip(codes, again, strict=True) if a != b]
    assert diff == ([(0x7F, 0xFF)] if encoding is Encoding.PCM_MULAW else [])


@pytest.mark.parametrize("encoding", G711)
def test_g711_is_monotonic(encoding: Encoding) -> None:
    decoded = decode(encode(floats_for_s16(ALL_S16), encoding), encoding)
    assert np.all(np.diff(decoded) >= 0)


@pytest.mark.parametrize("encoding", G711)
@pytest.mark.parametrize("amplitude", [0.9, 0.5, 0.1])
def test_g711_sine_snr_above_35_db(encoding: Encoding, amplitude: float) -> None:
    x = sine(440.3, 8000, amplitude)
    error = x - decode(encode(x, encoding), encoding)
    snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum(error.astype(np.float64) ** 2))
    assert snr > 35


def test_s16_round_trip_error_within_one_step() -> None:
    x = np.random.default_rng(1).uniform(-1, 1, 10_000).astype(np.float32)
    x[:3] = (-1.0, 0.0, 1.0)
    back = decode(encode(x, Encoding.PCM_S16LE), Encoding.PCM_S16LE)
    assert np.max(np.abs(back - x)) <= 1 / S16_MAX


def test_s16_is_little_endian_rounded_and_clipped() -> None:
    x = np.array([1.0, -1.0, 0.5, 2.0, -3.0, 1 / S16_MAX, 0.4 / S16_MAX], dtype=np.float32)
    expected = struct.pack("<7h", 32767, -32767, 16384, 32767, -32767, 1, 0)
    assert encode(x, Encoding.PCM_S16LE) == expected


def test_f32_is_little_endian_and_clipped() -> None:
    x = np.array([0.25, -0.5, 1.5, -7.0], dtype=np.float32)
    assert encode(x, Encoding.PCM_F32LE) == struct.pack("<4f", 0.25, -0.5, 1.0, -1.0)


def test_f32_round_trip_is_exact_in_range() -> None:
    x = np.random.default_rng(2).uniform(-1, 1, 1000).astype(np.float32)
    np.testing.assert_array_equal(decode(encode(x, Encoding.PCM_F32LE), Encoding.PCM_F32LE), x)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_clipping_matches_full_scale(encoding: Encoding) -> None:
    loud = np.array([1.5, -1.5, np.inf, -np.inf], dtype=np.float32)
    full = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)
    assert encode(loud, encoding) == encode(full, encoding)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_nan_encodes_as_silence(encoding: Encoding) -> None:
    nan = np.array([np.nan], dtype=np.float32)
    assert encode(nan, encoding) == encode(np.zeros(1, dtype=np.float32), encoding)


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_lengths_and_dtype(encoding: Encoding, n: int) -> None:
    x = np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)
    data = encode(x, encoding)
    assert len(data) == n * BYTES_PER_SAMPLE[encoding]
    back = decode(data, encoding)
    assert back.dtype == np.float32
    assert back.shape == (n,)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_float64_input_is_accepted(encoding: Encoding) -> None:
    x = np.linspace(-1, 1, 101)
    assert encode(x, encoding) == encode(x.astype(np.float32), encoding)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", list(Encoding))
def test_encode_rejects_multichannel(encoding: Encoding) -> None:
    with pytest.raises(ValueError, match="mono"):
        encode(np.zeros((4, 2), dtype=np.float32), encoding)


@pytest.mark.parametrize("encoding", [Encoding.PCM_S16LE, Encoding.PCM_F32LE])
def test_decode_rejects_partial_samples(encoding: Encoding) -> None:
    with pytest.raises(ValueError, match="whole number"):
        decode(b"\x00" * (BYTES_PER_SAMPLE[encoding] + 1), encoding)
