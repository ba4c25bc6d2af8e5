"""FLAC and Ogg/Opus through libsndfile: Opus streams page by page, FLAC comes whole."""

import io

import numpy as np
import pytest
import soundfile

from ttsd.audio.sndfile import SndfileEncoderStream, SndfileFormat

RATE = 24000


def _tone(seconds: float) -> bytes:
    t = np.arange(int(RATE * seconds))
    return (np.sin(2 * np.pi * 220 * t / RATE) * 8000).astype("<i2").tobytes()


def _encode(kind: SndfileFormat, pcm: bytes, step: int = 4800) -> list[bytes]:
    encoder = SndfileEncoderStream(kind, RATE)
    return [encoder.push(pcm[i : i + step]) for i in range(0, len(pcm), step)] + [encoder.finish()]


@pytest.mark.parametrize("kind", list(SndfileFormat))
def test_the_stream_decodes_to_the_same_audio(kind: SndfileFormat) -> None:
    pcm = _tone(3.0)
    decoded, rate = soundfile.read(io.BytesIO(b"".join(_encode(kind, pcm))), dtype="int16")
    assert rate == RATE
    original = np.frombuffer(pcm, dtype="<i2").astype(float)
    if kind is SndfileFormat.FLAC:
        assert np.array_equal(decoded, original)  # lossless
    else:
        assert abs(len(decoded) - len(original)) < RATE // 10
        rms = np.sqrt(np.mean(decoded.astype(float) ** 2))
        assert rms == pytest.approx(np.sqrt(np.mean(original**2)), rel=0.1)


def test_opus_pages_go_out_before_the_end_and_flac_waits_for_it() -> None:
    pcm = _tone(3.0)
    opus = _encode(SndfileFormat.OPUS, pcm)
    assert opus[0] and sum(1 for piece in opus[:-1] if piece) >= 3  # header, then ~1 s pages
    flac = _encode(SndfileFormat.FLAC, pcm)
    assert not any(flac[:-1]) and flac[-1].startswith(b"fLaC")


def test_opus_refuses_a_rate_it_cannot_take() -> None:
    with pytest.raises(ValueError, match="Opus"):
        SndfileEncoderStream(SndfileFormat.OPUS, 22050)
