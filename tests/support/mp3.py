"""An MPEG audio (layer III) frame walker for tests: no decoder is installed, so MP3
output is checked by its frame headers (ISO/IEC 11172-3 and 13818-3)."""

from __future__ import annotations

from dataclasses import dataclass

#: Bit rates (kbps) by header index: MPEG-1 layer III, and MPEG-2/2.5 layer III.
_BIT_RATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BIT_RATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
#: Sample rates by header index, per version bits (0 = 2.5, 2 = 2, 3 = 1).
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True)
class Mp3Frame:
    """One frame header's facts."""

    offset: int
    version: str  # "1", "2" or "2.5"
    bit_rate: int  # bits per second
    sample_rate: int
    samples: int  # per channel
    length: int  # bytes, header included
    mono: bool


def parse_frames(data: bytes) -> list[Mp3Frame]:
    """Walk `data` frame by frame from its start (an ID3v2 tag is skipped).

    Fails (AssertionError) on anything that is not a layer III frame where one must start,
    and on a truncated last frame, so a passing walk means the whole stream is frames.
    """
    offset = 0
    if data[:3] == b"ID3":
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        offset = 10 + size
    frames: list[Mp3Frame] = []
    while offset < len(data):
        assert len(data) - offset >= 4, f"{len(data) - offset} stray bytes at the end"
        b1, b2, b3, b4 = data[offset : offset + 4]
        assert b1 == 0xFF and b2 & 0xE0 == 0xE0, f"no frame sync at byte {offset}"
        version_bits = (b2 >> 3) & 0x3
        assert version_bits != 1, f"reserved MPEG version at byte {offset}"
        assert (b2 >> 1) & 0x3 == 1, f"not layer III at byte {offset}"
        bit_index, rate_index, padding = b3 >> 4, (b3 >> 2) & 0x3, (b3 >> 1) & 0x1
        assert 0 < bit_index < 15, f"free or bad bit rate index {bit_index} at byte {offset}"
        assert rate_index < 3, f"reserved sample rate index at byte {offset}"
        mpeg1 = version_bits == 3
        bit_rate = (_BIT_RATES_V1 if mpeg1 else _BIT_RATES_V2)[bit_index] * 1000
        sample_rate = _SAMPLE_RATES[version_bits][rate_index]
        samples = 1152 if mpeg1 else 576
        length = (samples // 8) * bit_rate // sample_rate + padding
        assert offset + length <= len(data), f"truncated frame at byte {offset}"
        frames.append(
            Mp3Frame(
                offset=offset,
                version={3: "1", 2: "2", 0: "2.5"}[version_bits],
                bit_rate=bit_rate,
                sample_rate=sample_rate,
                samples=samples,
                length=length,
                mono=(b4 >> 6) == 3,
            )
        )
        offset += length
    return frames


def mp3_samples(data: bytes) -> int:
    """Samples (per channel) the frames of `data` decode to, encoder delay and padding included."""
    return sum(frame.samples for frame in parse_frames(data))


#: LAME's encoder delay plus decoder delay is about 1105 samples; the end is padded up to
#: a whole frame: so an MP3 holds the input plus up to this many frames more.
MAX_EXTRA_FRAMES = 3


def assert_mp3(data: bytes, *, sample_rate: int, bit_rate: int, input_samples: int) -> None:
    """`data` is a whole CBR mono MP3 at `sample_rate`/`bit_rate` holding `input_samples`."""
    frames = parse_frames(data)
    assert frames, "no MP3 frames"
    assert {f.sample_rate for f in frames} == {sample_rate}
    assert {f.bit_rate for f in frames} == {bit_rate}
    assert all(f.mono for f in frames)
    decoded = sum(f.samples for f in frames)
    slack = MAX_EXTRA_FRAMES * frames[0].samples
    assert input_samples <= decoded <= input_samples + slack, (
        f"{len(frames)} frames decode to {decoded} samples for {input_samples} input samples"
    )
