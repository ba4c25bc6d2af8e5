"""Turns engine audio into the client's format, and that into frames.

`AudioRenderer` keeps one stream's state (resampler, audio clock) so chunk edges are
seamless and timestamps are relative to the start of the stream's audio; `audio_frames`
and `timestamp_frames` build the wire frames shared by the WebSocket and SSE endpoints.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from ttsd.audio.framing import split_frames
from ttsd.audio.stream import AudioEncoderStream
from ttsd.engines.base import AudioChunk, Timing
from ttsd.protocol.formats import Encoding
from ttsd.protocol.frames import (
    Frame,
    chunk_frame,
    phoneme_timestamps_frame,
    timestamps_frame,
)


@dataclass(slots=True)
class RenderedAudio:
    """One engine chunk in the client's format, timings shifted onto the stream's clock."""

    audio: bytes
    sample_width: int
    step_time_ms: float = 0.0
    words: list[Timing] = field(default_factory=list)
    phonemes: list[Timing] = field(default_factory=list)


class AudioRenderer:
    """Encodes one stream's engine chunks as `encoding` at `sample_rate`, in order."""

    def __init__(self, encoding: Encoding, sample_rate: int) -> None:
        self.encoding = encoding
        self.sample_rate = sample_rate
        self._encoder: AudioEncoderStream | None = None
        #: seconds of audio in the stream before the next chunk
        self.clock = 0.0

    @property
    def sample_width(self) -> int:
        """Bytes per sample of the output encoding."""
        return self._encoder_for(self.sample_rate).sample_width

    def render(self, chunk: AudioChunk, step_time_ms: float = 0.0) -> RenderedAudio:
        """Encode one chunk and place its timings on the stream's clock."""
        encoder = self._encoder_for(chunk.sample_rate)
        rendered = RenderedAudio(
            audio=encoder.push(chunk.samples),
            sample_width=encoder.sample_width,
            step_time_ms=step_time_ms,
            words=_shifted(chunk.words, self.clock),
            phonemes=_shifted(chunk.phonemes, self.clock),
        )
        self.clock += chunk.duration
        return rendered

    def finish(self) -> RenderedAudio:
        """The resampler's tail at the end of a segment (the stream can go on after)."""
        if self._encoder is None:
            return RenderedAudio(audio=b"", sample_width=self.sample_width)
        return RenderedAudio(audio=self._encoder.finish(), sample_width=self._encoder.sample_width)

    def _encoder_for(self, in_rate: int) -> AudioEncoderStream:
        if self._encoder is None or self._encoder.in_rate != in_rate:
            self._encoder = AudioEncoderStream(in_rate, self.encoding, self.sample_rate)
        return self._encoder


def audio_frames(
    context_id: str | None, rendered: RenderedAudio, flush_id: int | None, max_frame_bytes: int
) -> list[Frame]:
    """`chunk` frames of at most `max_frame_bytes` of audio each, whole samples only."""
    pieces = split_frames(rendered.audio, max_frame_bytes, rendered.sample_width)
    share = rendered.step_time_ms / len(pieces) if pieces else 0.0
    return [
        chunk_frame(context_id, base64.b64encode(piece).decode("ascii"), share, flush_id)
        for piece in pieces
    ]


def timestamp_frames(
    context_id: str | None,
    rendered: RenderedAudio,
    flush_id: int | None,
    *,
    words: bool,
    phonemes: bool,
) -> list[Frame]:
    """`timestamps` and/or `phoneme_timestamps` frames for a chunk's timings."""
    frames: list[Frame] = []
    if words and rendered.words:
        frames.append(timestamps_frame(context_id, *_columns(rendered.words), flush_id))
    if phonemes and rendered.phonemes:
        frames.append(phoneme_timestamps_frame(context_id, *_columns(rendered.phonemes), flush_id))
    return frames


def chunk_frames(
    context_id: str | None,
    rendered: RenderedAudio,
    flush_id: int | None,
    max_frame_bytes: int,
    *,
    words: bool,
    phonemes: bool,
) -> list[Frame]:
    """All frames of one chunk: its timestamps first, then the audio they describe."""
    frames = timestamp_frames(context_id, rendered, flush_id, words=words, phonemes=phonemes)
    return frames + audio_frames(context_id, rendered, flush_id, max_frame_bytes)


def _shifted(timings: list[Timing], offset: float) -> list[Timing]:
    return [Timing(t.text, t.start + offset, t.end + offset) for t in timings]


def _columns(timings: list[Timing]) -> tuple[list[str], list[float], list[float]]:
    return (
        [t.text for t in timings],
        [round(t.start, 4) for t in timings],
        [round(t.end, 4) for t in timings],
    )
