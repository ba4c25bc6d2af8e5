"""CPU ONNX Runtime sessions that share one copy of a model's weights.

An engine keeps one session per thread count the server's scheduler asks for (all cores
for a step that runs alone, one core for steps side by side; src/ttsd/server/scheduler.py).
Built naively, each session would copy the model's weights; handed the weights as
`OrtValue`s instead, every session reads the same arrays, so a second session costs
~15 MiB instead of the whole model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import onnxruntime

#: Initializers at least this large are shared between a model's sessions; small ones stay
#: in the graph, where ONNX Runtime needs their values to fold constants.
SHARED_WEIGHT_BYTES = 4096

T = TypeVar("T")


def session_thread_counts(intra_op_threads: int, shared_threads: int | None) -> tuple[int, ...]:
    """The thread counts to build sessions for: `intra_op_threads` (a step that runs alone;
    0: ONNX Runtime's default), then `shared_threads` (steps side by side) if different."""
    if shared_threads is None or shared_threads == intra_op_threads:
        return (intra_op_threads,)
    return (intra_op_threads, shared_threads)


def shared_weights(model: Any) -> dict[str, onnxruntime.OrtValue]:
    """The large initializers of `model` (an `onnx.ModelProto`) as `OrtValue`s, by name.

    ONNX Runtime does not own them: keep the dict alive as long as the sessions."""
    from onnx import numpy_helper

    return {
        tensor.name: onnxruntime.OrtValue.ortvalue_from_numpy(array)
        for tensor in model.graph.initializer
        if (array := numpy_helper.to_array(tensor)).nbytes >= SHARED_WEIGHT_BYTES
    }


def weights_of(model: Any, shared: dict[str, Any]) -> dict[str, Any]:
    """The shared weights `model` has (each half of a split model has some of them)."""
    names = {tensor.name for tensor in model.graph.initializer}
    return {name: value for name, value in shared.items() if name in names}


def cpu_session(
    model_bytes: bytes, threads: int, weights: dict[str, onnxruntime.OrtValue], *, spin: bool = True
) -> onnxruntime.InferenceSession:
    """A CPU session with `threads` intra-op threads, reading `weights` rather than copying them.
    `spin=False`: its pool never spins (see below)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # Pool threads that spin between the model's ops instead of sleeping make a step on
    # several cores ~5-15 % faster (one Piper sentence, in-process, same run). Such a step
    # runs only while its stream is alone, so nobody else wants the cores meanwhile; a one-
    # thread session has no pool to spin.
    # But the two halves of a split voice run one after the other, each with its own pool:
    # the encoder's threads would spin on the cores the decoder then needs (measured: an
    # encoder + decoder pair 24 % slower than the whole model with both spinning).
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if spin and threads > 1 else "0"
    )
    for name, value in weights.items():
        options.add_initializer(name, value)
    return onnxruntime.InferenceSession(
        model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
    )


def for_threads(by_threads: Mapping[int, T], threads: int | None) -> T:
    """What `by_threads` has for a step that may use `threads` cores: its entry for that
    count, else the first (the default), as when the scheduler gives no count."""
    found = by_threads.get(threads) if threads is not None else None
    return found if found is not None else next(iter(by_threads.values()))
