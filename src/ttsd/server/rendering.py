"""Turns engine audio into a context's frames: resampled, encoded, cut, base64'd.

One renderer per context keeps the stream state (resampler, audio clock) that makes
chunk edges seamless and timestamps relative to the start of the context's audio.
"""

from __future__ import annotations

import base64

from ttsd.audio.framing import split_frames
from ttsd.audio.stream import AudioEncoderStream
from ttsd.engines.base import AudioChunk, Timing
from ttsd.protocol.events import ContextSpec
from ttsd.protocol.frames import (
    Frame,
    chunk_frame,
    phoneme_timestamps_frame,
    timestamps_frame,
)


class ContextRenderer:
    """Frames for one context's audio, in order."""

    def __init__(self, spec: ContextSpec, max_frame_bytes: int) -> None:
        self._spec = spec
        self._max_frame_bytes = max_frame_bytes
        self._encoder: AudioEncoderStream | None = None
        #: seconds of audio in the context before the next chunk
        self.clock = 0.0

    def render(self, chunk: AudioChunk, flush_id: int, step_time_ms: float) -> list[Frame]:
        """Timestamps (if asked for) then audio frames for one engine chunk."""
        frames: list[Frame] = []
        spec = self._spec
        if spec.add_timestamps and chunk.words:
            frames.append(self._timestamps(chunk.words, flush_id, phonemes=False))
        if spec.add_phoneme_timestamps and chunk.phonemes:
            frames.append(self._timestamps(chunk.phonemes, flush_id, phonemes=True))
        encoder = self._encoder_for(chunk.sample_rate)
        frames.extend(self._audio_frames(encoder.push(chunk.samples), flush_id, step_time_ms))
        self.clock += chunk.duration
        return frames

    def end_segment(self, flush_id: int) -> list[Frame]:
        """Frames for the resampler's tail at the end of a segment."""
        if self._encoder is None:
            return []
        return self._audio_frames(self._encoder.finish(), flush_id, 0.0)

    def _encoder_for(self, sample_rate: int) -> AudioEncoderStream:
        if self._encoder is None or self._encoder.in_rate != sample_rate:
            fmt = self._spec.output_format
            self._encoder = AudioEncoderStream(sample_rate, fmt.encoding, fmt.sample_rate)
        return self._encoder

    def _audio_frames(self, data: bytes, flush_id: int, step_time_ms: float) -> list[Frame]:
        assert self._encoder is not None
        pieces = split_frames(data, self._max_frame_bytes, self._encoder.sample_width)
        share = step_time_ms / len(pieces) if pieces else 0.0
        context_id = self._spec.context_id
        return [
            chunk_frame(context_id, base64.b64encode(piece).decode("ascii"), share, flush_id)
            for piece in pieces
        ]

    def _timestamps(self, timings: list[Timing], flush_id: int, *, phonemes: bool) -> Frame:
        texts = [t.text for t in timings]
        starts = [round(self.clock + t.start, 4) for t in timings]
        ends = [round(self.clock + t.end, 4) for t in timings]
        build = phoneme_timestamps_frame if phonemes else timestamps_frame
        return build(self._spec.context_id, texts, starts, ends, flush_id)
