"""One inference of a split Piper voice, spoken chunk by chunk (issue 10).

The encoder runs once for an inference's phonemes (a sentence, or a bounded part of a long
one) and gives its whole latent plus the per-phoneme durations; the decoder then turns
the latent into audio a window at a time (src/ttsd/engines/piper/split.py). The first
window is short, so a stream's first audio comes after the encoder and a fraction of the
decoder instead of after the whole sentence; later windows are longer, because each
window costs `2 × CONTEXT_FRAMES` frames of extra decoding: measured on this 2-core
machine, decoding a 7.6 s sentence whole takes 441 ms, its encoder 235 ms, and a first
window of 0.46 s 26 ms.

**Loudness.** Piper scales each inference to full range by its own peak, which needs the
whole inference's audio before the first sample goes out. A split voice instead applies
one gain per voice, `1 / peak` of a calibration text decoded at load (`calibrated_gain`).
The raw model's loudness is steadier from sentence to sentence than its peak (on this
voice, 15 sentences: raw RMS 0.047–0.078, raw peak 0.40–0.72), so a fixed gain keeps
sentences about as loud as each other, where per-sentence peak normalization made their
RMS range over 0.076–0.149; a sentence louder than the calibration clips at ±1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime

from ttsd.engines.base import step_lead
from ttsd.engines.onnx_sessions import for_threads
from ttsd.engines.piper.split import CONTEXT_FRAMES, Window, windows

#: Seconds of audio in the first window of a stream's first inference: short, so its first
#: audio comes early (the issue asks for 0.25-0.5 s), yet long enough that its context
#: (2 x 12 frames) does not double its cost.
FIRST_CHUNK_S = 0.4
#: Seconds of audio in the longest window: each window costs `2 x CONTEXT_FRAMES` frames of
#: extra decoding (~0.28 s of audio), ~6 % of a 4 s window; a step of it still takes only
#: ~0.2 s of one core, and its memory stays well under a whole inference's.
CHUNK_S = 4.0
#: Seconds of audio a window makes per second of audio its listener still holds when its
#: step starts (`step_lead()`), between `FIRST_CHUNK_S` and `CHUNK_S`. Decoding runs at
#: 7-10x real time on one core of this machine, so a window three times the lead is done in
#: under half of it, and the lead grows threefold from step to step: a lone stream goes
#: 0.4 s, ~1.1 s, ~3 s, 4 s, so a short sentence is one or two windows; a stream that
#: waited for a busy worker until it was nearly dry gets a short window at once instead
#: of a long one that would come too late (benchmarks/README.md, issue 10).
LEAD_WINDOW_RATIO = 3.0


def window_seconds(lead: float | None, *, first: bool) -> float:
    """Seconds of audio in the next window for a listener who holds `lead` seconds (None:
    unknown, outside the server: short for a stream's `first` window, else long)."""
    if lead is None:
        return FIRST_CHUNK_S if first else CHUNK_S
    return min(CHUNK_S, max(FIRST_CHUNK_S, lead * LEAD_WINDOW_RATIO))


#: Sentences decoded at load to find a voice's gain (several, so that one unusual
#: sentence does not set it). Their loudest raw peak becomes full scale.
CALIBRATION_TEXT = (
    "Thanks for calling our support line today. Is that really what you meant? "
    "Stop right there! According to the latest report, revenue grew by twelve percent."
)

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SplitSessions:
    """A voice's encoder and decoder sessions by intra-op thread count."""

    encoders: Mapping[int, onnxruntime.InferenceSession]
    decoders: Mapping[int, onnxruntime.InferenceSession]
    #: the latent's tensor name (the decoder's input)
    latent: str
    #: audio samples per latent frame
    hop: int

    def encode(
        self, threads: int | None, feeds: Mapping[str, npt.NDArray[np.generic]]
    ) -> tuple[Array, npt.NDArray[np.generic] | None]:
        """The latent `(1, channels, frames)` of one inference, and the model's per-id
        durations in frames (None when the voice has no alignment output)."""
        latent, *extra = for_threads(self.encoders, threads).run(None, dict(feeds))
        return latent, (extra[0] if extra else None)

    def decode(self, threads: int | None, latent: Array, window: Window) -> Array:
        """The audio of one window of the latent (decoded with its context, then trimmed)."""
        piece = latent[:, :, window.context_start : window.context_end]
        audio = for_threads(self.decoders, threads).run(None, {self.latent: piece})[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)[window.trim(self.hop)]

    def windows(self, latent: Array, sample_rate: int, *, first: bool) -> Iterator[Window]:
        """The windows an inference's latent is decoded in, each sized when its step asks
        for it, by the listener's lead then (`window_seconds`); `first`: the inference is a
        stream's first, whose first window is short even when the lead is unknown."""

        def sizes() -> Iterator[int]:
            seconds = window_seconds(step_lead(), first=first)
            while True:
                yield max(1, round(seconds * sample_rate / self.hop))
                seconds = window_seconds(step_lead(), first=False)

        return windows(latent.shape[2], sizes(), CONTEXT_FRAMES)

    def calibrated_gain(self, feeds: Sequence[Mapping[str, npt.NDArray[np.generic]]]) -> float:
        """`1 / peak` of the raw audio of `feeds` (the calibration text's inferences)."""
        peak = 0.0
        for one in feeds:
            latent, _ = self.encode(None, one)
            audio = for_threads(self.decoders, None).run(None, {self.latent: latent})[0]
            peak = max(peak, float(np.max(np.abs(audio))))
        return 1.0 / peak if peak > 1e-6 else 1.0
