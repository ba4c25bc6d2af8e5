"""Output formats the protocol admits (docs/protocol.md §2.1.2).

These are protocol facts (which strings a client may send); the audio layer owns how
each one is produced.
"""

from __future__ import annotations

from enum import StrEnum


class Container(StrEnum):
    """Audio containers: `raw` on every endpoint, `wav` and `mp3` on `/tts/bytes` only."""

    RAW = "raw"
    WAV = "wav"
    MP3 = "mp3"


class Encoding(StrEnum):
    """Sample encodings for `raw` and `wav` output."""

    PCM_S16LE = "pcm_s16le"
    PCM_F32LE = "pcm_f32le"
    PCM_MULAW = "pcm_mulaw"
    PCM_ALAW = "pcm_alaw"


#: Sample rates every SDK enumerates (the Python SDK's and Cartesia's OpenAPI enum).
SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)

#: MP3 bit rates accepted by `/tts/bytes` (docs/protocol.md §2.1.2).
MP3_BIT_RATES: tuple[int, ...] = (32000, 64000, 96000, 128000, 192000)

#: Bytes per sample of each encoding (mono).
BYTES_PER_SAMPLE: dict[Encoding, int] = {
    Encoding.PCM_S16LE: 2,
    Encoding.PCM_F32LE: 4,
    Encoding.PCM_MULAW: 1,
    Encoding.PCM_ALAW: 1,
}
