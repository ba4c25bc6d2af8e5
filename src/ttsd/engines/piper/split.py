"""A Piper (VITS) model cut into an encoder and a decoder, and the decoder run in chunks.

A Piper voice is an encoder (phoneme ids → duration-expanded latent frames, through the
flow) followed by a convolutional decoder (latent frames → audio, `hop` samples a frame,
256 for every Piper voice). The decoder reads nothing of the rest of the graph but the
latent: in `en_US-joe-medium.onnx` one tensor, the input of `/dec/conv_pre/Conv`. Cut
there, the encoder gives a sentence's whole latent in about a third of the model's time
(and its per-phoneme durations, so timings are unchanged), and the decoder turns any
window of it into audio (issue 10).

A window decoded alone differs from the same frames decoded with the rest only near its
edges, where the convolutions' receptive field runs past it. So each chunk is decoded
with `pad` frames of context on each side that are then dropped: measured on this voice
against one whole decode of the same latent, 4 frames of context give 38 dB SNR, 8 give
68 dB, 12 give 135 dB (the float32 noise floor). `CONTEXT_FRAMES` is 12.

`split_model` finds the cut generically: the input of the decoder's first convolution
(`.../dec/conv_pre/Conv`), else the one tensor the `/dec/` nodes read from outside
themselves. A graph it cannot cut (another exporter's names, a decoder that reads more
than one tensor, such as a multi-speaker voice's speaker embedding) gives None, and the
engine synthesizes whole sentences as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import onnx
from onnx.utils import Extractor

#: Frames of latent decoded on each side of a chunk and then dropped (see the module).
CONTEXT_FRAMES = 12

#: Name suffix of the decoder's first convolution in Piper's exported graphs.
_CONV_PRE = "dec/conv_pre/Conv"
_DECODER_PREFIX = "/dec/"


@dataclass(frozen=True)
class SplitModel:
    """The two halves of a Piper model, and the tensor between them."""

    #: phoneme ids (+ lengths, scales) → the latent (and whatever else the model outputs
    #: besides its audio, e.g. the alignment output)
    encoder: onnx.ModelProto
    #: the latent → audio
    decoder: onnx.ModelProto
    #: name of the latent: the encoder's first output, the decoder's only input
    latent: str
    #: names of the encoder's other outputs, in order
    extra_outputs: tuple[str, ...]


def decoder_input(model: onnx.ModelProto) -> str | None:
    """The one tensor the decoder reads from the rest of the graph, or None."""
    graph = model.graph
    for node in graph.node:
        if node.name.endswith(_CONV_PRE) and node.input:
            return str(node.input[0])
    decoder = [node for node in graph.node if node.name.startswith(_DECODER_PREFIX)]
    if not decoder:
        return None
    inside = {name for node in decoder for name in node.output}
    weights = {tensor.name for tensor in graph.initializer}
    outside = {
        name
        for node in decoder
        for name in node.input
        if name and name not in inside and name not in weights
    }
    return outside.pop() if len(outside) == 1 else None


def split_model(model: onnx.ModelProto, audio_output: str = "output") -> SplitModel | None:
    """`model` cut at `decoder_input`, or None where it cannot be cut (see the module).

    The encoder keeps every graph output but `audio_output`; the decoder maps the latent
    to `audio_output`. Both keep the original's weights (their initializers by name).
    """
    latent = decoder_input(model)
    outputs = [output.name for output in model.graph.output]
    if latent is None or audio_output not in outputs:
        return None
    extra = tuple(name for name in outputs if name != audio_output)
    inputs = [graph_input.name for graph_input in model.graph.input]
    try:
        extractor = Extractor(model)
        encoder = extractor.extract_model(inputs, [latent, *extra])
        decoder = extractor.extract_model([latent], [audio_output])
    except Exception:  # onnx raises plain exceptions for a graph it cannot walk
        return None
    # The decoder must not reach back past the latent (then it is not a cut at all).
    if [graph_input.name for graph_input in decoder.graph.input] != [latent]:
        return None
    return SplitModel(encoder=encoder, decoder=decoder, latent=latent, extra_outputs=extra)


@dataclass(frozen=True)
class Window:
    """One chunk of latent frames: `[start, end)` is spoken, `[context_start,
    context_end)` is decoded (the chunk plus its context)."""

    start: int
    end: int
    context_start: int
    context_end: int

    @property
    def frames(self) -> int:
        """Frames spoken."""
        return self.end - self.start

    def trim(self, hop: int) -> slice:
        """The samples of the decoded window that belong to this chunk."""
        lead = (self.start - self.context_start) * hop
        return slice(lead, lead + self.frames * hop)


def windows(frames: int, sizes: Iterable[int], pad: int = CONTEXT_FRAMES) -> Iterator[Window]:
    """Chunks covering `frames` latent frames once each, in order: the first `sizes[0]`
    frames long, the next `sizes[1]`, ..., the last size repeating; each with up to `pad`
    frames of context on each side (less at the ends of the latent). `sizes` is read one
    size per chunk, when that chunk is asked for, so a generator can choose each size as
    late as possible (chunked.py sizes a window by the listener's lead at its step).

    A last chunk shorter than half the size it would have had, or no longer than its
    context would be (`2 * pad`), joins the one before it: decoding it apart would cost
    at least as much as decoding it along.
    """
    if frames < 0 or pad < 0:
        raise ValueError("windows: frames and pad must be >= 0")
    pending = iter(sizes)
    start, size = 0, 0
    while start < frames:
        size = next(pending, size)
        if size < 1:
            raise ValueError("windows: sizes must be positive")
        end = min(frames, start + size)
        if 0 < frames - end < max(size // 2, 2 * pad + 1):
            end = frames
        yield Window(start, end, max(0, start - pad), min(frames, end + pad))
        start = end
