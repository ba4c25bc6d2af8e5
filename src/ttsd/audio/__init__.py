"""Audio formats, streaming resampling, encoders and framing.

The names below are imported on first use (PEP 562), so that `ttsd.audio.wav` and
`ttsd.audio.mp3` serve the client-only install (`pip install ttsd`), which has neither
numpy nor soxr.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttsd.audio.encoders import S16_MAX, decode, encode
    from ttsd.audio.framing import split_frames
    from ttsd.audio.resample import RESAMPLE_QUALITY, StreamResampler
    from ttsd.audio.stream import AudioEncoderStream
    from ttsd.audio.wav import WAV_FORMAT_TAGS, WAV_UNKNOWN_SIZE, wav_header

#: Each public name and the module that defines it.
_MODULES = {
    "S16_MAX": "encoders",
    "decode": "encoders",
    "encode": "encoders",
    "split_frames": "framing",
    "RESAMPLE_QUALITY": "resample",
    "StreamResampler": "resample",
    "AudioEncoderStream": "stream",
    "WAV_FORMAT_TAGS": "wav",
    "WAV_UNKNOWN_SIZE": "wav",
    "wav_header": "wav",
}

__all__ = [
    "RESAMPLE_QUALITY",
    "S16_MAX",
    "WAV_FORMAT_TAGS",
    "WAV_UNKNOWN_SIZE",
    "AudioEncoderStream",
    "StreamResampler",
    "decode",
    "encode",
    "split_frames",
    "wav_header",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'ttsd.audio' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ttsd.audio.{module}"), name)
