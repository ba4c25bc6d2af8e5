"""Sample encoders: float32 mono audio to the protocol's wire encodings and back.

Float samples in [-1, 1] map to 16-bit linear PCM as ``round(x * 32767)`` (symmetric, so
-32768 is never produced). G.711 μ-law and A-law are computed from that 16-bit value
exactly as the ITU-T G.191 Software Tool Library reference (``g711.c``) does, which is the
reference implementation of ITU-T Rec. G.711. The companders are evaluated once over all
65536 16-bit inputs (vectorized) into lookup tables, so encoding a chunk is one gather.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from ttsd.protocol.formats import BYTES_PER_SAMPLE, Encoding

__all__ = ["S16_MAX", "decode", "encode"]

#: Full-scale 16-bit value that float +-1.0 maps to.
S16_MAX: Final = 32767


def _bit_length(values: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Vectorized ``int.bit_length`` for non-negative values (frexp's exponent is exactly it)."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int32)


def _ulaw_compress(pcm: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """G.711 μ-law of 16-bit linear samples (G.191 ``ulaw_compress``, vectorized)."""
    # One's complement (~x == -x - 1) for negatives, as the reference does: the negative
    # half then mirrors the positive half around -0.5 LSB instead of being off by one.
    magnitude = np.where(pcm < 0, ~pcm, pcm) >> 2  # 14-bit magnitude
    # 33 is the bias that makes μ-law's segment boundaries powers of two.
    absno = np.minimum(magnitude + 33, 0x1FFF)
    segno = 1 + _bit_length(absno >> 6)
    high_nibble = 8 - segno
    low_nibble = 0xF - ((absno >> segno) & 0xF)
    code = (high_nibble << 4) | low_nibble
    signed: npt.NDArray[np.int32] = np.where(pcm >= 0, code | 0x80, code)
    return signed.astype(np.uint8)


def _alaw_compress(pcm: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """G.711 A-law of 16-bit linear samples (G.191 ``alaw_compress``, vectorized)."""
    ix = np.where(pcm < 0, ~pcm, pcm) >> 4  # 0 <= ix < 2048 (12-bit magnitude)
    # Segment 0 is linear (ix <= 15); above it the exponent is the position of the leading
    # one, which is then dropped from the 4-bit mantissa.
    exponent = np.maximum(_bit_length(ix) - 4, 0)
    mantissa = np.where(exponent > 0, (ix >> np.maximum(exponent - 1, 0)) & 0xF, ix)
    code = (exponent << 4) | mantissa
    code = np.where(pcm >= 0, code | 0x80, code)
    # A-law transmits with the even bits inverted.
    return (code ^ 0x55).astype(np.uint8)


def _ulaw_expand(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """16-bit linear value of each μ-law code (G.191 ``ulaw_expand``, vectorized)."""
    inverted = ~code & 0xFF
    exponent = (inverted >> 4) & 0x7
    mantissa = inverted & 0xF
    # Reconstruct at the middle of the quantization interval, then remove the bias.
    t = ((mantissa << 3) + 0x84) << exponent
    return np.where(code < 0x80, 0x84 - t, t - 0x84).astype(np.int32)


def _alaw_expand(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """16-bit linear value of each A-law code (G.191 ``alaw_expand``, vectorized)."""
    ix = code ^ 0x55
    exponent = (ix & 0x7F) >> 4
    mantissa = ix & 0xF
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)  # restore the leading one
    mantissa = (mantissa << 4) + 8  # middle of the quantization interval
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return np.where(ix > 127, mantissa, -mantissa).astype(np.int32)


# Indexed by the 16-bit sample reinterpreted as uint16, so encoding needs no arithmetic.
_ALL_S16: Final = np.arange(1 << 16, dtype=np.uint16).view(np.int16).astype(np.int32)
_ULAW_ENCODE: Final = _ulaw_compress(_ALL_S16)
_ALAW_ENCODE: Final = _alaw_compress(_ALL_S16)
_ALL_CODES: Final = np.arange(256, dtype=np.int32)
_ULAW_DECODE: Final = (_ulaw_expand(_ALL_CODES) / S16_MAX).astype(np.float32)
_ALAW_DECODE: Final = (_alaw_expand(_ALL_CODES) / S16_MAX).astype(np.float32)


def _as_mono_float32(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """View (or, only if needed, convert) the input as a 1-D float32 array."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"expected mono (1-D) samples, got shape {array.shape}")
    return array


def _to_s16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    """Clip to [-1, 1], scale and round to 16-bit linear PCM (NaN becomes silence)."""
    scaled = np.clip(samples, -1.0, 1.0)  # a fresh array, safe to modify in place
    np.nan_to_num(scaled, copy=False, nan=0.0)
    scaled *= S16_MAX
    np.rint(scaled, out=scaled)
    return scaled.astype(np.int16)


def encode(samples: npt.NDArray[np.float32], encoding: Encoding) -> bytes:
    """Encode float mono samples in [-1, 1] (values outside are clipped) as little-endian bytes.

    ``pcm_s16le`` rounds to the nearest 16-bit step; ``pcm_f32le`` keeps the float values;
    ``pcm_mulaw`` and ``pcm_alaw`` are G.711 of the 16-bit value, one byte per sample.
    """
    array = _as_mono_float32(samples)
    match encoding:
        case Encoding.PCM_F32LE:
            clipped = np.clip(array, -1.0, 1.0)
            np.nan_to_num(clipped, copy=False, nan=0.0)
            return clipped.astype("<f4", copy=False).tobytes()
        case Encoding.PCM_S16LE:
            return _to_s16(array).astype("<i2", copy=False).tobytes()
        case Encoding.PCM_MULAW:
            return _ULAW_ENCODE[_to_s16(array).view(np.uint16)].tobytes()
        case Encoding.PCM_ALAW:
            return _ALAW_ENCODE[_to_s16(array).view(np.uint16)].tobytes()
    raise ValueError(f"unsupported encoding: {encoding!r}")


def decode(data: bytes, encoding: Encoding) -> npt.NDArray[np.float32]:
    """Decode little-endian bytes of ``encoding`` back to float32 samples (inverse of encode).

    16-bit and G.711 values are scaled by 1/32767, the same full scale ``encode`` uses.
    """
    width = BYTES_PER_SAMPLE[encoding]
    if len(data) % width:
        raise ValueError(f"{len(data)} bytes is not a whole number of {width}-byte samples")
    match encoding:
        case Encoding.PCM_F32LE:
            return np.frombuffer(data, dtype="<f4").astype(np.float32)
        case Encoding.PCM_S16LE:
            s16 = np.frombuffer(data, dtype="<i2")
            return (s16 / np.float32(S16_MAX)).astype(np.float32, copy=False)
        case Encoding.PCM_MULAW:
            return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
        case Encoding.PCM_ALAW:
            return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
    raise ValueError(f"unsupported encoding: {encoding!r}")
