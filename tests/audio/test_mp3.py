"""`Mp3EncoderStream`: streaming MP3 whose frame headers say what was asked for."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.mp3 import assert_mp3, parse_frames
from ttsd.audio.mp3 import Mp3EncoderStream, mp3_bit_rate
from ttsd.protocol.formats import MP3_BIT_RATES, SAMPLE_RATES


def tone(seconds: float, rate: int) -> bytes:
    """A 440 Hz tone as 16-bit little-endian PCM."""
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes()


def encode_in_pieces(stream: Mp3EncoderStream, pcm: bytes, piece: int) -> tuple[bytes, int]:
    """Push `pcm` `piece` bytes at a time; return the MP3 and how many pushes gave bytes."""
    out, productive = [], 0
    for start in range(0, len(pcm), piece):
        encoded = stream.push(pcm[start : start + piece])
        productive += bool(encoded)
        out.append(encoded)
    out.append(stream.finish())
    return b"".join(out), productive


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("bit_rate", [32000, 128000])
def test_frames_carry_the_requested_rates(sample_rate: int, bit_rate: int) -> None:
    stream = Mp3EncoderStream(sample_rate, bit_rate)
    pcm = tone(1.0, sample_rate)
    data, _ = encode_in_pieces(stream, pcm, 4000)
    # 128 kbps is more than 8 kHz MPEG-2.5 allows: the stream says what it really wrote.
    assert stream.bit_rate == mp3_bit_rate(sample_rate, bit_rate)
    assert_mp3(data, sample_rate=sample_rate, bit_rate=stream.bit_rate, input_samples=len(pcm) // 2)


@pytest.mark.parametrize("bit_rate", MP3_BIT_RATES)
def test_every_bit_rate_at_44100(bit_rate: int) -> None:
    stream = Mp3EncoderStream(44100, bit_rate)
    data, _ = encode_in_pieces(stream, tone(0.5, 44100), 8820)
    assert stream.bit_rate == bit_rate
    frames = parse_frames(data)
    assert {f.version for f in frames} == {"1"}
    assert {f.bit_rate for f in frames} == {bit_rate}
    # Constant bit rate: the file size follows from the frame count.
    assert abs(len(data) - len(frames) * 144 * bit_rate / 44100) <= len(frames)


def test_bit_rate_caps_per_mpeg_version() -> None:
    assert mp3_bit_rate(44100, 192000) == 192000
    assert mp3_bit_rate(48000, 32000) == 32000
    assert mp3_bit_rate(24000, 192000) == 160000
    assert mp3_bit_rate(16000, 128000) == 128000
    assert mp3_bit_rate(8000, 96000) == 64000
    assert mp3_bit_rate(8000, 32000) == 32000


def test_output_streams_while_input_arrives() -> None:
    stream = Mp3EncoderStream(24000, 64000)
    pcm = tone(2.0, 24000)
    data, productive = encode_in_pieces(stream, pcm, 4800)  # 0.1 s per push
    assert productive >= 15, "MP3 frames should come out as the audio goes in"
    assert data[:2] == b"\xff\xf3"  # sync, MPEG-2 layer III, no CRC: a bare frame, no tag


def test_piece_size_does_not_change_the_frames() -> None:
    pcm = tone(1.0, 16000)
    whole, _ = encode_in_pieces(Mp3EncoderStream(16000, 64000), pcm, len(pcm))
    pieces, _ = encode_in_pieces(Mp3EncoderStream(16000, 64000), pcm, 202)
    assert len(parse_frames(whole)) == len(parse_frames(pieces))
    assert len(whole) == len(pieces)


def test_no_audio_gives_no_frames() -> None:
    stream = Mp3EncoderStream(44100, 128000)
    assert stream.push(b"") == b""
    assert stream.finish() == b""


def test_finish_ends_the_stream() -> None:
    stream = Mp3EncoderStream(44100, 128000)
    stream.push(tone(0.1, 44100))
    assert stream.finish()
    assert stream.finish() == b""
    with pytest.raises(RuntimeError, match="finished"):
        stream.push(tone(0.1, 44100))


def test_partial_samples_are_rejected() -> None:
    with pytest.raises(ValueError, match="16-bit"):
        Mp3EncoderStream(44100, 128000).push(b"\x00\x01\x02")


def test_bad_rates_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        Mp3EncoderStream(0, 128000)
