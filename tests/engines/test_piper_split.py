"""The Piper model cut into an encoder and a chunked decoder (src/ttsd/engines/piper/split.py),
on the real default voice: the halves give the whole model's audio, chunk by chunk too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper
from piper import PiperVoice
from piper.patch_voice_with_alignment import add_alignment_output

from ttsd.engines.piper import default_voice_file
from ttsd.engines.piper.split import (
    CONTEXT_FRAMES,
    SplitModel,
    Window,
    decoder_input,
    split_model,
    windows,
)

SENTENCE = (
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch "
    "and the children play in the yard near the old oak tree by the river."
)
#: noise_scale, length_scale, noise_w: no noise, so two runs of the model agree exactly.
NO_NOISE = np.array([0.0, 1.0, 0.0], dtype=np.float32)
#: The issue's fidelity target for chunked decoding against one whole decode (issue 10).
MIN_SNR_DB = 60.0


@dataclass
class Halves:
    whole: onnxruntime.InferenceSession
    encoder: onnxruntime.InferenceSession
    decoder: onnxruntime.InferenceSession
    split: SplitModel
    feeds: dict[str, npt.NDArray[np.generic]]


def _session(model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="module")
def halves() -> Iterator[Halves]:
    path = default_voice_file().model_path
    model = onnx.load(str(path))
    add_alignment_output(model)  # as the engine loads it
    split = split_model(model)
    assert split is not None
    voice = PiperVoice.load(str(path))
    ids = voice.phonemes_to_ids(voice.phonemize(SENTENCE)[0])
    feeds = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": NO_NOISE,
    }
    yield Halves(_session(model), _session(split.encoder), _session(split.decoder), split, feeds)


def _snr_db(reference: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> float:
    noise = float(np.sum((reference - other) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(reference**2)) / noise)


def test_the_cut_is_the_decoders_first_convolution() -> None:
    model = onnx.load(str(default_voice_file().model_path))
    assert decoder_input(model) == "/Mul_7_output_0"


def test_encoder_then_decoder_is_the_whole_model(halves: Halves) -> None:
    whole_audio, *whole_extra = halves.whole.run(None, halves.feeds)
    latent, *extra = halves.encoder.run(None, halves.feeds)
    audio = halves.decoder.run(None, {halves.split.latent: latent})[0]
    assert latent.shape[:2] == (1, 192)
    np.testing.assert_array_equal(audio, whole_audio)
    # The alignment output stays on the encoder, unchanged.
    assert halves.split.extra_outputs and len(extra) == len(whole_extra)
    for ours, theirs in zip(extra, whole_extra, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("sizes", [(40, 100), (32, 64, 128), (7,)])
def test_chunked_decoding_matches_one_whole_decode(halves: Halves, sizes: tuple[int, ...]) -> None:
    latent = halves.encoder.run(None, halves.feeds)[0]
    whole = halves.decoder.run(None, {halves.split.latent: latent})[0].reshape(-1)
    frames = latent.shape[2]
    hop = whole.size // frames
    assert hop * frames == whole.size and hop == 256
    parts = []
    for window in windows(frames, sizes):
        piece = latent[:, :, window.context_start : window.context_end]
        decoded = halves.decoder.run(None, {halves.split.latent: piece})[0].reshape(-1)
        parts.append(decoded[window.trim(hop)])
    chunked = np.concatenate(parts)
    assert chunked.size == whole.size
    assert _snr_db(whole, chunked) >= MIN_SNR_DB


def test_too_little_context_is_audible(halves: Halves) -> None:
    # The context is what makes chunks seamless: without it the edges are wrong.
    latent = halves.encoder.run(None, halves.feeds)[0]
    whole = halves.decoder.run(None, {halves.split.latent: latent})[0].reshape(-1)
    hop = whole.size // latent.shape[2]
    parts = []
    for window in windows(latent.shape[2], (40,), pad=0):
        piece = latent[:, :, window.start : window.end]
        parts.append(halves.decoder.run(None, {halves.split.latent: piece})[0].reshape(-1))
    assert _snr_db(whole, np.concatenate(parts)) < 40
    assert whole.size == sum(part.size for part in parts) == latent.shape[2] * hop


def test_a_graph_without_a_decoder_is_not_cut() -> None:
    node = helper.make_node("Relu", ["input"], ["output"], name="/enc/Relu")
    graph = helper.make_graph(
        [node],
        "plain",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
    )
    assert split_model(helper.make_model(graph)) is None


def test_a_decoder_that_reads_two_tensors_is_not_cut() -> None:
    # A multi-speaker voice's decoder also reads the speaker embedding.
    nodes = [
        helper.make_node("Relu", ["input"], ["latent"], name="/enc/Relu"),
        helper.make_node("Relu", ["speaker"], ["g"], name="/emb/Relu"),
        helper.make_node("Add", ["latent", "g"], ["output"], name="/dec/Add"),
    ]
    graph = helper.make_graph(
        nodes,
        "two-inputs",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("speaker", TensorProto.FLOAT, [1, 4]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
    )
    assert decoder_input(helper.make_model(graph)) is None


@pytest.mark.parametrize(
    ("frames", "sizes", "spans"),
    [
        (0, (40,), []),
        (10, (40,), [(0, 10)]),
        (100, (40, 100), [(0, 40), (40, 100)]),
        (230, (40, 100), [(0, 40), (40, 140), (140, 230)]),
        # A last sliver shorter than half a chunk joins the chunk before it.
        (145, (40, 100), [(0, 40), (40, 145)]),
        (95, (40,), [(0, 40), (40, 95)]),
        # ... and so does one no longer than its context would be (2 x 12 frames).
        (62, (40,), [(0, 62)]),
        (66, (40,), [(0, 40), (40, 66)]),
    ],
)
def test_windows_cover_every_frame_once_in_order(
    frames: int, sizes: tuple[int, ...], spans: list[tuple[int, int]]
) -> None:
    got = list(windows(frames, sizes))
    assert [(w.start, w.end) for w in got] == spans
    for window in got:
        assert window.context_start == max(0, window.start - CONTEXT_FRAMES)
        assert window.context_end == min(frames, window.end + CONTEXT_FRAMES)


def test_window_sizes_are_read_as_the_windows_are_asked_for() -> None:
    """A generator of sizes is read one size per window, when that window is asked for
    (the chunked decoder sizes each window by its step's lead)."""
    asked: list[int] = []

    def sizes() -> Iterator[int]:
        for size in (10, 30, 50):
            asked.append(size)
            yield size

    chunks = windows(200, sizes())
    assert asked == []
    assert (next(chunks).start, asked) == (0, [10])
    assert (next(chunks).end, asked) == (40, [10, 30])
    # The last size repeats once the sizes run out.
    assert [(w.start, w.end) for w in chunks] == [(40, 90), (90, 140), (140, 200)]


def test_a_window_trims_its_context() -> None:
    window = Window(start=40, end=140, context_start=28, context_end=152)
    assert window.trim(256) == slice(12 * 256, 112 * 256)
    with pytest.raises(ValueError):
        list(windows(10, (0,)))
