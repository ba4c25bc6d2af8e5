"""Audio formats, streaming resampling, encoders and framing."""

from ttsd.audio.encoders import S16_MAX, decode, encode
from ttsd.audio.framing import split_frames
from ttsd.audio.resample import RESAMPLE_QUALITY, StreamResampler
from ttsd.audio.stream import AudioEncoderStream
from ttsd.audio.wav import WAV_FORMAT_TAGS, WAV_UNKNOWN_SIZE, wav_header

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
